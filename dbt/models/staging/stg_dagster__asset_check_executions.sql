with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_asset_check_executions'), dagster.get_asset_check_executions_columns()) }}

), fields as (

    select
        id as asset_check_execution_id,
        check_id as asset_check_id,
        asset_key,
        check_name,
        run_id,
        status,
        {{ dagster.to_utc('timestamp_value') }} as started_at,
        step_key,
        partition_value as partition_key,
        {{ dagster.to_utc('evaluation_time') }} as evaluated_at,
        success as is_success,
        severity,
        description,
        metadata,
        target_materialization_run_id,
        _fivetran_synced
    from base
)

select *
from fields
