{#- One row per job (defined now, or with runs): its whole run history's failure rate and
    durations, its last run and last success, and how it recovers from failure streaks. -#}
with runs as (

    select *
    from {{ ref('int_dagster__runs') }}

), definitions as (

    select job_id, job_name, code_location, repository
    from {{ ref('stg_dagster__jobs') }}

), incidents as (

    select *
    from {{ ref('dagster__job_incidents') }}

), run_totals as (

    select
        job_id,
        max(job_name) as job_name,
        max(code_location) as code_location,
        max(repository) as repository,
        count(*) as runs,
        sum(case when is_finished then 1 else 0 end) as finished_runs,
        sum(case when status = 'FAILURE' then 1 else 0 end) as failed_runs,
        sum(case when status = 'FAILURE' then 1 else 0 end) * 1.0
            / nullif(sum(case when is_finished then 1 else 0 end), 0) as failure_rate,
        {{ dagster.percentile('duration_seconds', 0.5) }} as duration_p50_seconds,
        {{ dagster.percentile('duration_seconds', 0.95) }} as duration_p95_seconds,
        avg(queue_seconds) as queue_avg_seconds,
        min(created_at) as first_run_at,
        max(created_at) as last_run_at,
        max(case when status = 'SUCCESS' then ended_at end) as last_success_at,
        max(case when status = 'FAILURE' then ended_at end) as last_failure_at
    from runs
    group by job_id

), last_runs as (

    select job_id, status as last_run_status
    from (
        select
            job_id,
            status,
            row_number() over (partition by job_id order by created_at desc, run_id desc) as recency
        from runs
    ) as ranked
    where recency = 1

), recovery as (

    select
        job_id,
        count(*) as incidents,
        sum(case when is_recovered then 1 else 0 end) as recovered_incidents,
        avg(time_to_recovery_seconds) as mean_time_to_recovery_seconds,
        {{ dagster.percentile('time_to_recovery_seconds', 0.5) }} as median_time_to_recovery_seconds,
        max(time_to_recovery_seconds) as max_time_to_recovery_seconds,
        max(case when not is_recovered then first_failure_at end) as open_incident_since,
        max(case when not is_recovered then failed_runs end) as open_incident_failed_runs
    from incidents
    group by job_id

), jobs as (

    select job_id from run_totals
    union
    select job_id from definitions

)

select
    jobs.job_id,
    coalesce(definitions.job_name, run_totals.job_name) as job_name,
    coalesce(definitions.code_location, run_totals.code_location) as code_location,
    coalesce(definitions.repository, run_totals.repository) as repository,
    definitions.job_id is not null as is_defined,
    coalesce(run_totals.runs, 0) as runs,
    coalesce(run_totals.finished_runs, 0) as finished_runs,
    coalesce(run_totals.failed_runs, 0) as failed_runs,
    run_totals.failure_rate,
    run_totals.duration_p50_seconds,
    run_totals.duration_p95_seconds,
    run_totals.queue_avg_seconds,
    run_totals.first_run_at,
    run_totals.last_run_at,
    last_runs.last_run_status,
    run_totals.last_success_at,
    run_totals.last_failure_at,
    coalesce(recovery.incidents, 0) as incidents,
    coalesce(recovery.recovered_incidents, 0) as recovered_incidents,
    recovery.mean_time_to_recovery_seconds,
    recovery.median_time_to_recovery_seconds,
    recovery.max_time_to_recovery_seconds,
    recovery.open_incident_since,
    recovery.open_incident_failed_runs
from jobs
left join definitions on definitions.job_id = jobs.job_id
left join run_totals on run_totals.job_id = jobs.job_id
left join last_runs on last_runs.job_id = jobs.job_id
left join recovery on recovery.job_id = jobs.job_id
