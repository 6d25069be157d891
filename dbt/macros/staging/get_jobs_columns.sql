{% macro get_jobs_columns() %}
{#- The columns of dagster_jobs that stg_dagster__jobs reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "description", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "is_asset_job", "datatype": dbt.type_boolean()},
    {"name": "name", "datatype": dbt.type_string()},
    {"name": "owners", "datatype": dbt.type_string()},
    {"name": "repository", "datatype": dbt.type_string()},
    {"name": "tags", "datatype": dbt.type_string()}
] %}

{{ return(columns) }}

{% endmacro %}
