{% macro get_code_locations_columns() %}
{#- The columns of dagster_code_locations that stg_dagster__code_locations reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "dagster_library_versions", "datatype": dbt.type_string()},
    {"name": "error", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "load_status", "datatype": dbt.type_string()},
    {"name": "name", "datatype": dbt.type_string()},
    {"name": "repositories", "datatype": dbt.type_string()},
    {"name": "updated_time", "datatype": dagster.type_timestamp_tz()}
] %}

{{ return(columns) }}

{% endmacro %}
