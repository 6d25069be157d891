-- A job's whole-history totals equal the sum of its days; percentiles are ordered.
with days as (
    select job_id, sum(runs) as runs, sum(failed_runs) as failed_runs
    from {{ ref('dagster__job_daily_metrics') }}
    group by job_id
)
select health.job_id
from {{ ref('dagster__job_health') }} as health
left join days on days.job_id = health.job_id
where health.runs <> coalesce(days.runs, 0)
    or health.failed_runs <> coalesce(days.failed_runs, 0)
    or health.duration_p50_seconds > health.duration_p95_seconds
    or health.failure_rate < 0 or health.failure_rate > 1
