{% macro get_run_steps_columns() %}
{#- The columns of dagster_run_steps that stg_dagster__run_steps reads; one the table lacks is NULL. -#}

{% set columns = [
    {"name": "_fivetran_synced", "datatype": dagster.type_timestamp_tz()},
    {"name": "attempt_times", "datatype": dbt.type_string()},
    {"name": "attempts", "datatype": dbt.type_int()},
    {"name": "end_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "run_id", "datatype": dbt.type_string()},
    {"name": "start_time", "datatype": dagster.type_timestamp_tz()},
    {"name": "status", "datatype": dbt.type_string()},
    {"name": "step_key", "datatype": dbt.type_string()}
] %}

{{ return(columns) }}

{% endmacro %}
