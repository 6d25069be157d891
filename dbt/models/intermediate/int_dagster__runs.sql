{#- Runs with what the marts compute from them: the UTC day of creation, whether and how the run
    ended, its duration and its queue time, and what triggered it (from its tags). -#}
with runs as (

    select *
    from {{ ref('stg_dagster__runs') }}

), enriched as (

    select
        run_id,
        job_id,
        job_name,
        code_location,
        repository,
        status,
        parent_run_id,
        created_at,
        started_at,
        ended_at,
        cast(created_at as date) as run_date,
        status in ('SUCCESS', 'FAILURE', 'CANCELED') as is_finished,
        case
            when status in ('SUCCESS', 'FAILURE', 'CANCELED')
                and started_at is not null and ended_at is not null
            then {{ dagster.seconds_between('started_at', 'ended_at') }}
        end as duration_seconds,
        case
            when started_at is not null
            then {{ dagster.seconds_between('created_at', 'started_at') }}
        end as queue_seconds,
        {{ dagster.json_extract_string('tags', 'dagster/schedule_name') }} as schedule_name,
        {{ dagster.json_extract_string('tags', 'dagster/sensor_name') }} as sensor_name,
        {{ dagster.json_extract_string('tags', 'dagster/backfill') }} as backfill_id
    from runs

)

select
    *,
    case
        when backfill_id is not null then 'backfill'
        when schedule_name is not null then 'schedule'
        when sensor_name is not null then 'sensor'
        when parent_run_id is not null then 're-execution'
        else 'manual'
    end as triggered_by
from enriched
