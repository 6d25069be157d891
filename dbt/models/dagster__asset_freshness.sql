{#- One row per asset defined now: when it was last materialized (from its events, or from the
    asset table when the event table is empty: an older connector), how many hours ago (as of
    the build), how often it is materialized, and whether that breaks its freshness policy. -#}
with assets as (

    select *
    from {{ ref('stg_dagster__assets') }}

), events as (

    select *
    from {{ ref('stg_dagster__asset_events') }}

), materializations as (

    select
        asset_key,
        count(*) as materializations,
        min(event_at) as first_materialization_at,
        max(event_at) as last_materialization_at
    from events
    where event_type = 'MATERIALIZATION'
    group by asset_key

), latest_materialization as (

    select asset_key, run_id
    from (
        select
            asset_key,
            run_id,
            row_number() over (partition by asset_key order by event_at desc, asset_event_id desc) as recency
        from events
        where event_type = 'MATERIALIZATION'
    ) as ranked
    where recency = 1

), observations as (

    select asset_key, max(event_at) as last_observation_at, count(*) as observations
    from events
    where event_type = 'OBSERVATION'
    group by asset_key

), failed as (

    select asset_key, max(event_at) as last_failed_materialization_at
    from events
    where event_type = 'FAILED_TO_MATERIALIZE'
    group by asset_key

), joined as (

    select
        assets.asset_key,
        assets.group_name,
        assets.code_location,
        assets.repository,
        assets.is_materializable,
        assets.is_observable,
        assets.is_partitioned,
        coalesce(materializations.last_materialization_at, assets.last_materialization_at) as last_materialization_at,
        coalesce(latest_materialization.run_id, assets.last_materialization_run_id) as last_materialization_run_id,
        materializations.first_materialization_at,
        coalesce(materializations.materializations, 0) as materializations,
        observations.last_observation_at,
        coalesce(observations.observations, 0) as observations,
        failed.last_failed_materialization_at,
        cast({{ dagster.json_extract_string('assets.freshness_policy', 'failWindowSeconds') }} as {{ dbt.type_float() }})
            / 3600.0 as freshness_fail_window_hours,
        {{ dagster.to_utc(dbt.current_timestamp()) }} as as_of
    from assets
    left join materializations on materializations.asset_key = assets.asset_key
    left join latest_materialization on latest_materialization.asset_key = assets.asset_key
    left join observations on observations.asset_key = assets.asset_key
    left join failed on failed.asset_key = assets.asset_key

)

select
    *,
    {{ dagster.seconds_between('last_materialization_at', 'as_of') }} / 3600.0 as hours_since_last_materialization,
    -- over the UTC days from the first materialization's to the last's, both included
    materializations * 1.0 / nullif(
        {{ dbt.datediff('cast(first_materialization_at as date)', 'cast(last_materialization_at as date)', 'day') }} + 1,
        0) as materializations_per_day,
    case
        when freshness_fail_window_hours is null then null
        when last_materialization_at is null then true
        else {{ dagster.seconds_between('last_materialization_at', 'as_of') }} / 3600.0 > freshness_fail_window_hours
    end as is_overdue
from joined
