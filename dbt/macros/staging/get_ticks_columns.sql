{% macro get_ticks_columns() %}
{#- The columns of dagster_ticks that stg_dagster__ticks reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "end_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "error_message", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "instigator_id", "datatype": dbt.type_string()},
    {"name": "instigator_name", "datatype": dbt.type_string()},
    {"name": "instigator_type", "datatype": dbt.type_string()},
    {"name": "repository", "datatype": dbt.type_string()},
    {"name": "run_ids", "datatype": dbt.type_string()},
    {"name": "run_keys", "datatype": dbt.type_string()},
    {"name": "skip_reason", "datatype": dbt.type_string()},
    {"name": "status", "datatype": dbt.type_string()},
    {"name": "timestamp", "datatype": dagster.type_timestamp_tz(), "quote": true, "alias": "timestamp_value"}
] %}

{{ return(columns) }}

{% endmacro %}
