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
            "status": "STRING", "mode": "STRING", "creation_time": "UTC_DATETIME",
            "start_time": "UTC_DATETIME", "end_time": "UTC_DATETIME", "update_time": "UTC_DATETIME",
            "tags": "JSON",
        },
    },
    {
        "table": "dagster_assets",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "key_path": "STRING", "description": "STRING", "code_location": "STRING",
            "repository": "STRING", "last_materialization_run_id": "STRING",
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
        "table": "dagster_jobs",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "name": "STRING", "code_location": "STRING", "repository": "STRING",
            "description": "STRING", "is_asset_job": "BOOLEAN", "tags": "JSON", "owners": "STRING",
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
]
