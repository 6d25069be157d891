{% macro get_asset_check_executions_columns() %}
{#- The columns of dagster_asset_check_executions that stg_dagster__asset_check_executions reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "asset_key", "datatype": dbt.type_string()},
    {"name": "check_id", "datatype": dbt.type_string()},
    {"name": "check_name", "datatype": dbt.type_string()},
    {"name": "description", "datatype": dbt.type_string()},
    {"name": "evaluation_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "metadata", "datatype": dbt.type_string()},
    {"name": "partition", "datatype": dbt.type_string(), "quote": true, "alias": "partition_value"},
    {"name": "run_id", "datatype": dbt.type_string()},
    {"name": "severity", "datatype": dbt.type_string()},
    {"name": "status", "datatype": dbt.type_string()},
    {"name": "step_key", "datatype": dbt.type_string()},
    {"name": "success", "datatype": dbt.type_boolean()},
    {"name": "target_materialization_run_id", "datatype": dbt.type_string()},
    {"name": "timestamp", "datatype": dagster.type_timestamp_tz(), "quote": true, "alias": "timestamp_value"}
] %}

{{ return(columns) }}

{% endmacro %}
