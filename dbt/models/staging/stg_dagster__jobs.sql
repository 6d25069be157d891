with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_jobs'), dagster.get_jobs_columns()) }}

), fields as (

    select
        id as job_id,
        name as job_name,
        code_location,
        repository,
        description,
        is_asset_job,
        tags,
        owners,
        _fivetran_synced
    from base
)

select *
from fields
