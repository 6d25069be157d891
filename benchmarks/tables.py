"""The four tables as the connector declares them (extractor/tables.py), for the baselines.

Copied into each baseline project (they run in isolated copies, without `extractor/`), so a
baseline writes the same tables, keys and column types as the connector.
`test_tables_match_the_connector` (benchmarks/test_simulated_dagster.py) keeps them equal.
"""

TABLES = [
    {
        "table": "dagster_runs",
        "primary_key": ["run_id"],
        "columns": {
            "run_id": "STRING", "pipeline_name": "STRING", "status": "STRING", "mode": "STRING",
            "creation_time": "UTC_DATETIME", "start_time": "UTC_DATETIME", "end_time": "UTC_DATETIME",
            "update_time": "UTC_DATETIME", "tags": "JSON",
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
            "cron_schedule": "STRING", "pipeline_name": "STRING", "status": "STRING", "running_count": "INT",
        },
    },
    {
        "table": "dagster_sensors",
        "primary_key": ["id"],
        "columns": {
            "id": "STRING", "name": "STRING", "code_location": "STRING", "repository": "STRING",
            "sensor_type": "STRING", "pipeline_name": "STRING", "status": "STRING", "active_run_ids": "STRING",
        },
    },
]
