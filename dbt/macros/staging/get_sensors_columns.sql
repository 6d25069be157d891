{% macro get_sensors_columns() %}
{#- The columns of dagster_sensors that stg_dagster__sensors reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "active_run_ids", "datatype": dbt.type_string()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "name", "datatype": dbt.type_string()},
    {"name": "pipeline_name", "datatype": dbt.type_string()},
    {"name": "repository", "datatype": dbt.type_string()},
    {"name": "sensor_type", "datatype": dbt.type_string()},
    {"name": "status", "datatype": dbt.type_string()}
] %}

{{ return(columns) }}

{% endmacro %}
