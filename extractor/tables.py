"""The destination tables, as `schema()` declares them (names, keys, types from the spec).

Keys: a run's `run_id`; an asset's key in Dagster's string form (`a/b/c`); a schedule's or
sensor's Dagster selector id (a hash of code location, repository and name).
"""

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
            "creation_time": "UTC_DATETIME",
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
            "code_location": "STRING",
            "repository": "STRING",
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
            "code_location": "STRING",
            "repository": "STRING",
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
            "code_location": "STRING",
            "repository": "STRING",
            "sensor_type": "STRING",
            "pipeline_name": "STRING",
            "status": "STRING",
            "active_run_ids": "STRING",
        },
    },
]
