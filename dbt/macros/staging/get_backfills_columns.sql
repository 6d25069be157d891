{% macro get_backfills_columns() %}
{#- The columns of dagster_backfills that stg_dagster__backfills reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "asset_selection", "datatype": dbt.type_string()},
    {"name": "creation_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "description", "datatype": dbt.type_string()},
    {"name": "end_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "error_message", "datatype": dbt.type_string()},
    {"name": "from_failure", "datatype": dbt.type_boolean()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "is_asset_backfill", "datatype": dbt.type_boolean()},
    {"name": "job_name", "datatype": dbt.type_string()},
    {"name": "num_partitions", "datatype": dbt.type_int()},
    {"name": "partition_set_name", "datatype": dbt.type_string()},
    {"name": "status", "datatype": dbt.type_string()},
    {"name": "tags", "datatype": dbt.type_string()},
    {"name": "title", "datatype": dbt.type_string()},
    {"name": "user", "datatype": dbt.type_string(), "quote": true, "alias": "user_value"}
] %}

{{ return(columns) }}

{% endmacro %}
