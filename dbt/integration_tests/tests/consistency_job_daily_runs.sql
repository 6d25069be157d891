-- Every staged run is counted once in the daily job metrics, and its failures too.
with daily as (
    select sum(runs) as runs, sum(failed_runs) as failed_runs
    from {{ ref('dagster__job_daily_metrics') }}
), staged as (
    select count(*) as runs, sum(case when status = 'FAILURE' then 1 else 0 end) as failed_runs
    from {{ ref('stg_dagster__runs') }}
)
select *
from daily, staged
where daily.runs <> staged.runs
    or coalesce(daily.failed_runs, 0) <> coalesce(staged.failed_runs, 0)
