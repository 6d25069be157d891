with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_assets'), dagster.get_assets_columns()) }}

), fields as (

    select
        id as asset_key,
        key_path,
        description,
        code_location,
        repository,
        group_name,
        owners,
        tags,
        kinds,
        is_partitioned,
        partition_count,
        materialized_partition_count,
        failed_partition_count,
        freshness_policy,
        job_names,
        is_observable,
        is_materializable,
        last_materialization_run_id,
        {{ dagster.to_utc('last_materialization_time') }} as last_materialization_at,
        _fivetran_synced
    from base
)

select *
from fields
