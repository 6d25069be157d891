-- A job's failed runs in streaks are its FAILURE runs that ended; a recovery ends after its streak began.
with streaks as (
    select job_id, sum(failed_runs) as failed_runs
    from {{ ref('dagster__job_incidents') }}
    group by job_id
), failures as (
    select job_id, count(*) as failed_runs
    from {{ ref('int_dagster__runs') }}
    where status = 'FAILURE' and ended_at is not null
    group by job_id
)
select coalesce(streaks.job_id, failures.job_id) as job_id
from streaks
full outer join failures on failures.job_id = streaks.job_id
where coalesce(streaks.failed_runs, 0) <> coalesce(failures.failed_runs, 0)
union all
select job_id
from {{ ref('dagster__job_incidents') }}
where recovered_at < first_failure_at or time_to_recovery_seconds < 0
