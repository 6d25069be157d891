"""The destination tables, as `schema()` declares them (names, keys, types from the spec)."""

from __future__ import annotations

RUNS_TABLE = "dagster_runs"
ASSETS_TABLE = "dagster_assets"
SCHEDULES_TABLE = "dagster_schedules"
SENSORS_TABLE = "dagster_sensors"

TABLES: list[dict] = [
    {
        "table": RUNS_TABLE,
        "primary_key": ["run_id"],
        "columns": {
            "run_id": "STRING",
            "pipeline_name": "STRING",
            "status": "STRING",
            "mode": "STRING",
            "start_time": "UTC_DATETIME",
            "end_time": "UTC_DATETIME",
            "update_time": "UTC_DATETIME",
            "tags": "JSON",
        },
    },
    {
        "table": ASSETS_TABLE,
        "primary_key": ["id"],
        "columns": {
            "id": "STRING",
            "key_path": "STRING",
            "description": "STRING",
            "last_materialization_run_id": "STRING",
            "last_materialization_time": "UTC_DATETIME",
        },
    },
    {
        "table": SCHEDULES_TABLE,
        "primary_key": ["id"],
        "columns": {
            "id": "STRING",
            "name": "STRING",
            "cron_schedule": "STRING",
            "pipeline_name": "STRING",
            "status": "STRING",
            "running_count": "INT",
        },
    },
    {
        "table": SENSORS_TABLE,
        "primary_key": ["id"],
        "columns": {
            "id": "STRING",
            "name": "STRING",
            "sensor_type": "STRING",
            "pipeline_name": "STRING",
            "status": "STRING",
            "active_run_ids": "STRING",
        },
    },
]
