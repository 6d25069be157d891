{#- One row per asset check (defined now, or with executions): how its evaluations came out, and
    its latest execution. The pass rate counts evaluated executions (SUCCEEDED, FAILED). -#}
with executions as (

    select *
    from {{ ref('stg_dagster__asset_check_executions') }}

), checks as (

    select *
    from {{ ref('stg_dagster__asset_checks') }}

), totals as (

    select
        asset_check_id,
        max(asset_key) as asset_key,
        max(check_name) as check_name,
        count(*) as executions,
        sum(case when status = 'SUCCEEDED' then 1 else 0 end) as succeeded,
        sum(case when status = 'FAILED' then 1 else 0 end) as failed,
        sum(case when status = 'EXECUTION_FAILED' then 1 else 0 end) as execution_failed,
        sum(case when status = 'SKIPPED' then 1 else 0 end) as skipped,
        sum(case when status = 'IN_PROGRESS' then 1 else 0 end) as in_progress,
        sum(case when status = 'SUCCEEDED' then 1 else 0 end) * 1.0
            / nullif(sum(case when status in ('SUCCEEDED', 'FAILED') then 1 else 0 end), 0) as pass_rate,
        max(started_at) as last_execution_at,
        max(case when status = 'FAILED' then started_at end) as last_failure_at
    from executions
    group by asset_check_id

), latest as (

    select asset_check_id, status as last_status, severity as last_severity
    from (
        select
            asset_check_id,
            status,
            severity,
            row_number() over (
                partition by asset_check_id order by started_at desc, asset_check_execution_id desc
            ) as recency
        from executions
    ) as ranked
    where recency = 1

), all_checks as (

    select asset_check_id from totals
    union
    select asset_check_id from checks

)

select
    all_checks.asset_check_id,
    coalesce(checks.asset_key, totals.asset_key) as asset_key,
    coalesce(checks.check_name, totals.check_name) as check_name,
    checks.is_blocking,
    checks.asset_check_id is not null as is_defined,
    coalesce(totals.executions, 0) as executions,
    coalesce(totals.succeeded, 0) as succeeded,
    coalesce(totals.failed, 0) as failed,
    coalesce(totals.execution_failed, 0) as execution_failed,
    coalesce(totals.skipped, 0) as skipped,
    coalesce(totals.in_progress, 0) as in_progress,
    totals.pass_rate,
    totals.last_execution_at,
    latest.last_status,
    latest.last_severity,
    totals.last_failure_at
from all_checks
left join checks on checks.asset_check_id = all_checks.asset_check_id
left join totals on totals.asset_check_id = all_checks.asset_check_id
left join latest on latest.asset_check_id = all_checks.asset_check_id
