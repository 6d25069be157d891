with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_run_steps'), dagster.get_run_steps_columns()) }}

), fields as (

    select
        {{ dbt.concat(['run_id', "':'", 'step_key']) }} as run_step_id,
        run_id,
        step_key,
        status,
        {{ dagster.to_utc('start_time') }} as started_at,
        {{ dagster.to_utc('end_time') }} as ended_at,
        attempts,
        attempt_times,
        _fivetran_synced
    from base
)

select *
from fields
