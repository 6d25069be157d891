with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_sensors'), dagster.get_sensors_columns()) }}

), fields as (

    select
        id as sensor_id,
        name as sensor_name,
        code_location,
        repository,
        sensor_type,
        pipeline_name as job_names,
        status,
        active_run_ids,
        _fivetran_synced
    from base
)

select *
from fields
