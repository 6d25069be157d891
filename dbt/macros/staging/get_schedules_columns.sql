{% macro get_schedules_columns() %}
{#- The columns of dagster_schedules that stg_dagster__schedules reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "cron_schedule", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "name", "datatype": dbt.type_string()},
    {"name": "pipeline_name", "datatype": dbt.type_string()},
    {"name": "repository", "datatype": dbt.type_string()},
    {"name": "running_count", "datatype": dbt.type_int()},
    {"name": "status", "datatype": dbt.type_string()}
] %}

{{ return(columns) }}

{% endmacro %}
