with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_backfills'), dagster.get_backfills_columns()) }}

), fields as (

    select
        id as backfill_id,
        status,
        is_asset_backfill,
        job_name,
        partition_set_name,
        asset_selection,
        num_partitions,
        from_failure as is_from_failure,
        {{ dagster.to_utc('creation_time') }} as created_at,
        {{ dagster.to_utc('end_time') }} as ended_at,
        tags,
        error_message,
        user_value as requested_by,
        title,
        description,
        _fivetran_synced
    from base
)

select *
from fields
