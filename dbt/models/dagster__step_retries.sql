{#- One row per job and step key: how often the step ran, how often it needed more than one
    attempt, and whether retried steps then succeeded. -#}
with steps as (

    select *
    from {{ ref('stg_dagster__run_steps') }}

), runs as (

    select run_id, job_id, job_name, code_location, repository
    from {{ ref('stg_dagster__runs') }}

), joined as (

    select
        runs.job_id,
        runs.job_name,
        runs.code_location,
        runs.repository,
        steps.step_key,
        steps.status,
        coalesce(steps.attempts, 1) as attempts,
        case when steps.started_at is not null and steps.ended_at is not null
            then {{ dagster.seconds_between('steps.started_at', 'steps.ended_at') }}
        end as duration_seconds
    from steps
    join runs on runs.run_id = steps.run_id

)

select
    {{ dbt.concat(['job_id', "':'", 'step_key']) }} as job_step_id,
    job_id,
    max(job_name) as job_name,
    max(code_location) as code_location,
    max(repository) as repository,
    step_key,
    count(*) as step_runs,
    sum(case when status = 'FAILURE' then 1 else 0 end) as failed_step_runs,
    sum(case when attempts > 1 then 1 else 0 end) as retried_step_runs,
    sum(attempts - 1) as retries,
    sum(case when attempts > 1 and status = 'SUCCESS' then 1 else 0 end) as succeeded_after_retry,
    sum(case when attempts > 1 then 1 else 0 end) * 1.0 / count(*) as retry_rate,
    {{ dagster.percentile('duration_seconds', 0.5) }} as duration_p50_seconds,
    {{ dagster.percentile('duration_seconds', 0.95) }} as duration_p95_seconds
from joined
group by job_id, step_key
