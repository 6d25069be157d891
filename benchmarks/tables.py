"""The tables as the connector declares them (`extractor.tables.declarations()`), for the baselines.

Copied into each baseline project (they run in isolated copies, without `extractor/`), so a
baseline writes the same tables, keys and column types as the connector.
`test_tables_match_the_connector` (benchmarks/test_simulated_dagster.py) keeps them equal.
"""

TABLES = [
    {
        "table": "dagster_runs",
        "primary_key": ["run_id"],
        "columns": {
            "run_id": "STRING", "pipeline_name": "STRING", "code_location": "STRING",
            "repository": "STRING", "parent_run_id": "STRING", "root_run_id": "STRING",
            "status": "STRING", "mode": "STRING", "creation_time": "UTC_DATETIME", "start_time":
            "UTC_DATETIME", "end_time": "UTC_DATETIME", "update_time": "UTC_DATETIME", "tags":
            "JSON",
        },
    },
    {
        "table": "dagster_assets",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "key_path": "STRING", "description": "STRING", "code_location":
            "STRING", "repository": "STRING", "group_name": "STRING", "owners": "JSON", "tags":
            "JSON", "kinds": "JSON", "is_partitioned": "BOOLEAN", "partition_count": "INT",
            "materialized_partition_count": "INT", "failed_partition_count": "INT",
            "freshness_policy": "JSON", "job_names": "JSON", "is_observable": "BOOLEAN",
            "is_materializable": "BOOLEAN", "last_materialization_run_id": "STRING",
            "last_materialization_time": "UTC_DATETIME",
        },
    },
    {
        "table": "dagster_schedules",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "name": "STRING", "code_location": "STRING", "repository": "STRING",
            "cron_schedule": "STRING", "pipeline_name": "STRING", "status": "STRING",
            "running_count": "INT",
        },
    },
    {
        "table": "dagster_sensors",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "name": "STRING", "code_location": "STRING", "repository": "STRING",
            "sensor_type": "STRING", "pipeline_name": "STRING", "status": "STRING",
            "active_run_ids": "STRING",
        },
    },
    {
        "table": "dagster_ticks",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "instigator_id": "STRING", "instigator_name": "STRING",
            "instigator_type": "STRING", "code_location": "STRING", "repository": "STRING",
            "status": "STRING", "timestamp": "UTC_DATETIME", "end_time": "UTC_DATETIME",
            "run_ids": "JSON", "run_keys": "JSON", "skip_reason": "STRING", "error_message":
            "STRING",
        },
    },
    {
        "table": "dagster_jobs",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "name": "STRING", "code_location": "STRING", "repository": "STRING",
            "description": "STRING", "is_asset_job": "BOOLEAN", "tags": "JSON", "owners":
            "STRING",
        },
    },
    {
        "table": "dagster_code_locations",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "name": "STRING", "load_status": "STRING", "error": "STRING",
            "updated_time": "UTC_DATETIME", "repositories": "STRING",
            "dagster_library_versions": "JSON",
        },
    },
    {
        "table": "dagster_asset_dependencies",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "upstream_key": "STRING", "downstream_key": "STRING",
            "code_location": "STRING",
        },
    },
    {
        "table": "dagster_asset_checks",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "asset_key": "STRING", "name": "STRING", "description": "STRING",
            "blocking": "BOOLEAN", "job_names": "JSON", "additional_asset_keys": "JSON",
            "code_location": "STRING", "repository": "STRING",
        },
    },
    {
        "table": "dagster_asset_events",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "asset_key": "STRING", "event_type": "STRING", "run_id": "STRING",
            "step_key": "STRING", "partition": "STRING", "timestamp": "UTC_DATETIME", "tags":
            "JSON", "metadata": "JSON", "description": "STRING", "failure_type": "STRING",
            "failure_reason": "STRING",
        },
    },
    {
        "table": "dagster_asset_check_executions",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "check_id": "STRING", "asset_key": "STRING", "check_name": "STRING",
            "run_id": "STRING", "status": "STRING", "timestamp": "UTC_DATETIME", "step_key":
            "STRING", "partition": "STRING", "evaluation_time": "UTC_DATETIME", "success":
            "BOOLEAN", "severity": "STRING", "description": "STRING", "metadata": "JSON",
            "target_materialization_run_id": "STRING",
        },
    },
    {
        "table": "dagster_backfills",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "status": "STRING", "is_asset_backfill": "BOOLEAN", "job_name":
            "STRING", "partition_set_name": "STRING", "asset_selection": "JSON",
            "num_partitions": "INT", "from_failure": "BOOLEAN", "creation_time": "UTC_DATETIME",
            "end_time": "UTC_DATETIME", "tags": "JSON", "error_message": "STRING", "user":
            "STRING", "title": "STRING", "description": "STRING",
        },
    },
    {
        "table": "dagster_run_steps",
        "primary_key": ["run_id", "step_key"],
        "columns": {
            "run_id": "STRING", "step_key": "STRING", "status": "STRING", "start_time":
            "UTC_DATETIME", "end_time": "UTC_DATETIME", "attempts": "INT", "attempt_times":
            "JSON",
        },
    },
]
