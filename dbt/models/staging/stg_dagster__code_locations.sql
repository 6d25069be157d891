with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_code_locations'), dagster.get_code_locations_columns()) }}

), fields as (

    select
        id as code_location_id,
        name as code_location,
        load_status,
        error as load_error,
        {{ dagster.to_utc('updated_time') }} as updated_at,
        repositories,
        dagster_library_versions,
        _fivetran_synced
    from base
)

select *
from fields
