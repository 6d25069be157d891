with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_asset_dependencies'), dagster.get_asset_dependencies_columns()) }}

), fields as (

    select
        id as asset_dependency_id,
        upstream_key as upstream_asset_key,
        downstream_key as downstream_asset_key,
        code_location,
        _fivetran_synced
    from base
)

select *
from fields
