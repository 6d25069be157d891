with base as (

    {{ dagster.select_staging_columns(source('dagster', 'dagster_runs'), dagster.get_runs_columns()) }}

), fields as (

    select
        run_id,
        pipeline_name as job_name,
        code_location,
        repository,
        {{ dbt.concat(["coalesce(code_location, '')", "':'", "coalesce(repository, '')", "':'", 'pipeline_name']) }} as job_id,
        parent_run_id,
        root_run_id,
        status,
        mode,
        {{ dagster.to_utc('creation_time') }} as created_at,
        {{ dagster.to_utc('start_time') }} as started_at,
        {{ dagster.to_utc('end_time') }} as ended_at,
        {{ dagster.to_utc('update_time') }} as updated_at,
        tags,
        _fivetran_synced
    from base
)

select *
from fields
