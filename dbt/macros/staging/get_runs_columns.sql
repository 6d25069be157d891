{% macro get_runs_columns() %}
{#- The columns of dagster_runs that stg_dagster__runs reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "creation_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "end_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "mode", "datatype": dbt.type_string()},
    {"name": "parent_run_id", "datatype": dbt.type_string()},
    {"name": "pipeline_name", "datatype": dbt.type_string()},
    {"name": "repository", "datatype": dbt.type_string()},
    {"name": "root_run_id", "datatype": dbt.type_string()},
    {"name": "run_id", "datatype": dbt.type_string()},
    {"name": "start_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "status", "datatype": dbt.type_string()},
    {"name": "tags", "datatype": dbt.type_string()},
    {"name": "update_time", "datatype": dagster.type_timestamp_tz()}
] %}

{{ return(columns) }}

{% endmacro %}
