{% macro get_asset_checks_columns() %}
{#- The columns of dagster_asset_checks that stg_dagster__asset_checks reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "additional_asset_keys", "datatype": dbt.type_string()},
    {"name": "asset_key", "datatype": dbt.type_string()},
    {"name": "blocking", "datatype": dbt.type_boolean()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "description", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "job_names", "datatype": dbt.type_string()},
    {"name": "name", "datatype": dbt.type_string()},
    {"name": "repository", "datatype": dbt.type_string()}
] %}

{{ return(columns) }}

{% endmacro %}
