{% macro get_assets_columns() %}
{#- The columns of dagster_assets that stg_dagster__assets reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "code_location", "datatype": dbt.type_string()},
    {"name": "description", "datatype": dbt.type_string()},
    {"name": "failed_partition_count", "datatype": dbt.type_int()},
    {"name": "freshness_policy", "datatype": dbt.type_string()},
    {"name": "group_name", "datatype": dbt.type_string()},
    {"name": "id", "datatype": dbt.type_string()},
    {"name": "is_materializable", "datatype": dbt.type_boolean()},
    {"name": "is_observable", "datatype": dbt.type_boolean()},
    {"name": "is_partitioned", "datatype": dbt.type_boolean()},
    {"name": "job_names", "datatype": dbt.type_string()},
    {"name": "key_path", "datatype": dbt.type_string()},
    {"name": "kinds", "datatype": dbt.type_string()},
    {"name": "last_materialization_run_id", "datatype": dbt.type_string()},
    {"name": "last_materialization_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "materialized_partition_count", "datatype": dbt.type_int()},
    {"name": "owners", "datatype": dbt.type_string()},
    {"name": "partition_count", "datatype": dbt.type_int()},
    {"name": "repository", "datatype": dbt.type_string()},
    {"name": "tags", "datatype": dbt.type_string()}
] %}

{{ return(columns) }}

{% endmacro %}
