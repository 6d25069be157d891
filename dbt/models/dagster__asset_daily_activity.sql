{#- One row per asset key and UTC day with events: materializations, observations, failed
    materializations, and the runs they came from. -#}
with events as (

    select
        asset_key,
        event_type,
        run_id,
        cast(event_at as date) as event_date
    from {{ ref('stg_dagster__asset_events') }}

)

select
    {{ dbt.concat(['asset_key', "':'", dbt.cast('event_date', dbt.type_string())]) }} as asset_day_id,
    asset_key,
    event_date,
    sum(case when event_type = 'MATERIALIZATION' then 1 else 0 end) as materializations,
    sum(case when event_type = 'OBSERVATION' then 1 else 0 end) as observations,
    sum(case when event_type = 'FAILED_TO_MATERIALIZE' then 1 else 0 end) as failed_materializations,
    count(distinct run_id) as runs
from events
group by asset_key, event_date
