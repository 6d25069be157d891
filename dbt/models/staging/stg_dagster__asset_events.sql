with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_asset_events'), dagster.get_asset_events_columns()) }}

), fields as (

    select
        id as asset_event_id,
        asset_key,
        event_type,
        run_id,
        step_key,
        partition_value as partition_key,
        {{ dagster.to_utc('timestamp_value') }} as event_at,
        tags,
        metadata,
        description,
        failure_type,
        failure_reason,
        _fivetran_synced
    from base
)

select *
from fields
