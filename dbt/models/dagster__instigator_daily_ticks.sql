{#- One row per schedule or sensor and UTC day of its ticks: tick outcomes and the runs they
    launched. -#}
with ticks as (

    select
        *,
        cast(tick_at as date) as tick_date
    from {{ ref('stg_dagster__ticks') }}

)

select
    {{ dbt.concat(['instigator_id', "':'", dbt.cast('tick_date', dbt.type_string())]) }} as instigator_day_id,
    instigator_id,
    max(instigator_name) as instigator_name,
    max(instigator_type) as instigator_type,
    max(code_location) as code_location,
    max(repository) as repository,
    tick_date,
    count(*) as ticks,
    sum(case when status = 'SUCCESS' then 1 else 0 end) as successful_ticks,
    sum(case when status = 'SKIPPED' then 1 else 0 end) as skipped_ticks,
    sum(case when status = 'FAILURE' then 1 else 0 end) as failed_ticks,
    sum(case when status = 'STARTED' then 1 else 0 end) as started_ticks,
    sum(case when status = 'FAILURE' then 1 else 0 end) * 1.0
        / nullif(sum(case when status in ('SUCCESS', 'SKIPPED', 'FAILURE') then 1 else 0 end), 0) as failure_rate,
    sum(coalesce({{ dagster.json_array_length('run_ids') }}, 0)) as runs_launched
from ticks
group by instigator_id, tick_date
