-- Every staged tick is counted once, per day and per instigator.
with daily as (
    select count(*) as rows_, sum(ticks) as ticks from {{ ref('dagster__instigator_daily_ticks') }}
), health as (
    select sum(ticks) as ticks from {{ ref('dagster__instigator_health') }}
), staged as (
    select count(*) as ticks from {{ ref('stg_dagster__ticks') }}
)
select *
from daily, health, staged
where coalesce(daily.ticks, 0) <> staged.ticks or coalesce(health.ticks, 0) <> staged.ticks
