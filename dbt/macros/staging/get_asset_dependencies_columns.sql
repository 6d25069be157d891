{% macro get_asset_dependencies_columns() %}
{#- The columns of dagster_asset_dependencies that stg_dagster__asset_dependencies reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "downstream_key", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "upstream_key", "datatype": dbt.type_string()}
] %}

{{ return(columns) }}

{% endmacro %}
