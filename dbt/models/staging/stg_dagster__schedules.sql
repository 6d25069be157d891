with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_schedules'), dagster.get_schedules_columns()) }}

), fields as (

    select
        id as schedule_id,
        name as schedule_name,
        code_location,
        repository,
        cron_schedule,
        pipeline_name as job_name,
        status,
        running_count,
        _fivetran_synced
    from base
)

select *
from fields
