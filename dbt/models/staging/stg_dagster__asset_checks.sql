with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_asset_checks'), dagster.get_asset_checks_columns()) }}

), fields as (

    select
        id as asset_check_id,
        asset_key,
        name as check_name,
        description,
        blocking as is_blocking,
        job_names,
        additional_asset_keys,
        code_location,
        repository,
        _fivetran_synced
    from base
)

select *
from fields
