with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_ticks'), dagster.get_ticks_columns()) }}

), fields as (

    select
        id as tick_id,
        instigator_id,
        instigator_name,
        instigator_type,
        code_location,
        repository,
        status,
        {{ dagster.to_utc('timestamp_value') }} as tick_at,
        {{ dagster.to_utc('end_time') }} as ended_at,
        run_ids,
        run_keys,
        skip_reason,
        error_message,
        _fivetran_synced
    from base
)

select *
from fields
