{#- One row per schedule and sensor (defined now, or with ticks): whether it is on, its tick
    outcomes, its last tick, and its current streak of failed ticks. -#}
with ticks as (

    select *
    from {{ ref('stg_dagster__ticks') }}

), definitions as (

    select
        schedule_id as instigator_id,
        schedule_name as instigator_name,
        'SCHEDULE' as instigator_type,
        code_location,
        repository,
        status,
        job_name as targets
    from {{ ref('stg_dagster__schedules') }}
    union all
    select
        sensor_id,
        sensor_name,
        'SENSOR',
        code_location,
        repository,
        status,
        job_names
    from {{ ref('stg_dagster__sensors') }}

), ranked as (

    select
        *,
        row_number() over (partition by instigator_id order by tick_at desc, tick_id desc) as recency
    from ticks

), last_not_failed as (

    select instigator_id, min(recency) as recency
    from ranked
    where status <> 'FAILURE'
    group by instigator_id

), tick_totals as (

    select
        instigator_id,
        max(instigator_name) as instigator_name,
        max(instigator_type) as instigator_type,
        max(code_location) as code_location,
        max(repository) as repository,
        count(*) as ticks,
        sum(case when status = 'SUCCESS' then 1 else 0 end) as successful_ticks,
        sum(case when status = 'SKIPPED' then 1 else 0 end) as skipped_ticks,
        sum(case when status = 'FAILURE' then 1 else 0 end) as failed_ticks,
        sum(case when status = 'FAILURE' then 1 else 0 end) * 1.0
            / nullif(sum(case when status in ('SUCCESS', 'SKIPPED', 'FAILURE') then 1 else 0 end), 0) as failure_rate,
        sum(coalesce({{ dagster.json_array_length('run_ids') }}, 0)) as runs_launched,
        min(tick_at) as first_tick_at,
        max(tick_at) as last_tick_at,
        max(case when status = 'SUCCESS' then tick_at end) as last_success_at,
        max(case when status = 'FAILURE' then tick_at end) as last_failure_at
    from ticks
    group by instigator_id

), last_ticks as (

    select instigator_id, status as last_tick_status, error_message as last_tick_error
    from ranked
    where recency = 1

), instigators as (

    select instigator_id from tick_totals
    union
    select instigator_id from definitions

)

select
    instigators.instigator_id,
    coalesce(definitions.instigator_name, tick_totals.instigator_name) as instigator_name,
    coalesce(definitions.instigator_type, tick_totals.instigator_type) as instigator_type,
    coalesce(definitions.code_location, tick_totals.code_location) as code_location,
    coalesce(definitions.repository, tick_totals.repository) as repository,
    definitions.instigator_id is not null as is_defined,
    definitions.status,
    definitions.targets,
    coalesce(tick_totals.ticks, 0) as ticks,
    coalesce(tick_totals.successful_ticks, 0) as successful_ticks,
    coalesce(tick_totals.skipped_ticks, 0) as skipped_ticks,
    coalesce(tick_totals.failed_ticks, 0) as failed_ticks,
    tick_totals.failure_rate,
    coalesce(tick_totals.runs_launched, 0) as runs_launched,
    tick_totals.first_tick_at,
    tick_totals.last_tick_at,
    last_ticks.last_tick_status,
    last_ticks.last_tick_error,
    tick_totals.last_success_at,
    tick_totals.last_failure_at,
    -- the failed ticks since its last tick that did not fail (all of them if none)
    case
        when tick_totals.instigator_id is null then 0
        else coalesce(last_not_failed.recency - 1, tick_totals.ticks)
    end as consecutive_failed_ticks
from instigators
left join definitions on definitions.instigator_id = instigators.instigator_id
left join tick_totals on tick_totals.instigator_id = instigators.instigator_id
left join last_ticks on last_ticks.instigator_id = instigators.instigator_id
left join last_not_failed on last_not_failed.instigator_id = instigators.instigator_id
