{% macro get_asset_events_columns() %}
{#- The columns of dagster_asset_events that stg_dagster__asset_events reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "asset_key", "datatype": dbt.type_string()},
    {"name": "description", "datatype": dbt.type_string()},
    {"name": "event_type", "datatype": dbt.type_string()},
    {"name": "failure_reason", "datatype": dbt.type_string()},
    {"name": "failure_type", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "metadata", "datatype": dbt.type_string()},
    {"name": "partition", "datatype": dbt.type_string(), "quote": true, "alias": "partition_value"},
    {"name": "run_id", "datatype": dbt.type_string()},
    {"name": "step_key", "datatype": dbt.type_string()},
    {"name": "tags", "datatype": dbt.type_string()},
    {"name": "timestamp", "datatype": dagster.type_timestamp_tz(), "quote": true, "alias": "timestamp_value"}
] %}

{{ return(columns) }}

{% endmacro %}
