{#- One row per job and UTC day (of the runs' creation): how many runs, how many failed, how
    long they took and how long they waited to start. -#}
with runs as (

    select *
    from {{ ref('int_dagster__runs') }}

)

select
    {{ dbt.concat(['job_id', "':'", dbt.cast('run_date', dbt.type_string())]) }} as job_day_id,
    job_id,
    job_name,
    code_location,
    repository,
    run_date,
    count(*) as runs,
    sum(case when is_finished then 1 else 0 end) as finished_runs,
    sum(case when status = 'SUCCESS' then 1 else 0 end) as successful_runs,
    sum(case when status = 'FAILURE' then 1 else 0 end) as failed_runs,
    sum(case when status = 'CANCELED' then 1 else 0 end) as canceled_runs,
    sum(case when is_finished then 0 else 1 end) as unfinished_runs,
    sum(case when status = 'FAILURE' then 1 else 0 end) * 1.0
        / nullif(sum(case when is_finished then 1 else 0 end), 0) as failure_rate,
    {{ dagster.percentile('duration_seconds', 0.5) }} as duration_p50_seconds,
    {{ dagster.percentile('duration_seconds', 0.95) }} as duration_p95_seconds,
    max(duration_seconds) as duration_max_seconds,
    avg(queue_seconds) as queue_avg_seconds,
    {{ dagster.percentile('queue_seconds', 0.95) }} as queue_p95_seconds,
    sum(case when triggered_by = 'schedule' then 1 else 0 end) as scheduled_runs,
    sum(case when triggered_by = 'sensor' then 1 else 0 end) as sensor_runs,
    sum(case when triggered_by = 'backfill' then 1 else 0 end) as backfill_runs
from runs
group by job_id, job_name, code_location, repository, run_date
