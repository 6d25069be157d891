"""Pure functions turning Dagster GraphQL objects into destination rows.

No I/O here: each function takes the dict the server sent and returns the row to upsert.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extractor.workspace import Repository

Row = dict[str, Any]


def utc_datetime(epoch_seconds: float | None) -> datetime | None:
    """Seconds since the epoch as an aware UTC datetime.

    The SDK writes it as UTC ISO 8601 (RFC 3339); handing it a datetime rather than a string
    spares it a `strptime` per value, which is most of the cost of a run row.
    """
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(float(epoch_seconds), tz=timezone.utc)


def utc_datetime_from_millis(epoch_millis: str | float | None) -> datetime | None:
    """Dagster event timestamps (milliseconds, often as a string) as an aware UTC datetime."""
    if epoch_millis in (None, ""):
        return None
    return utc_datetime(float(epoch_millis) / 1000.0)


def run_row(run: dict[str, Any]) -> Row:
    """A `dagster_runs` row from a `Run`; tags `[{key, value}]` become one JSON object."""
    return {
        "run_id": run["runId"],
        "pipeline_name": run.get("pipelineName"),
        "status": run.get("status"),
        "mode": run.get("mode"),
        "creation_time": utc_datetime(run.get("creationTime")),
        "start_time": utc_datetime(run.get("startTime")),
        "end_time": utc_datetime(run.get("endTime")),
        "update_time": utc_datetime(run.get("updateTime")),
        "tags": {tag["key"]: tag["value"] for tag in run.get("tags") or ()},
    }


def asset_key_id(path: list[str]) -> str:
    """Dagster's own string form of an asset key (`AssetKey.to_user_string`): `a/b/c`."""
    return "/".join(path)


def asset_row(asset: dict[str, Any], latest: dict[str, Any] | None) -> Row:
    """A `dagster_assets` row from an `Asset` with its definition, and its latest
    materialization (`None`: never materialized)."""
    definition = asset["definition"]
    repository = definition["repository"]
    latest = latest or {}
    return {
        "id": asset_key_id(asset["key"]["path"]),
        "key_path": ".".join(asset["key"]["path"]),
        "description": definition.get("description"),
        "code_location": repository["location"]["name"],
        "repository": repository["name"],
        "last_materialization_run_id": latest.get("runId") or None,  # runless events: ''
        "last_materialization_time": utc_datetime_from_millis(latest.get("timestamp")),
    }


def schedule_row(schedule: dict[str, Any], repository: Repository) -> Row:
    """A `dagster_schedules` row from a `Schedule` and its `InstigationState`.

    Its id is Dagster's selector id, which depends only on location, repository and name."""
    state = schedule["scheduleState"]
    return {
        "id": state["selectorId"],
        "name": schedule["name"],
        "code_location": repository.location_name,
        "repository": repository.name,
        "cron_schedule": schedule.get("cronSchedule"),
        "pipeline_name": schedule.get("pipelineName"),
        "status": state.get("status"),
        "running_count": state.get("runningCount"),
    }


def sensor_row(sensor: dict[str, Any], repository: Repository, active_run_ids: list[str]) -> Row:
    """A `dagster_sensors` row; `active_run_ids` are the sensor's runs not finished yet.

    A sensor may target several jobs: their names are joined with ", " in declared order.
    """
    targets = sensor.get("targets") or []
    job_names = [target["pipelineName"] for target in targets if target.get("pipelineName")]
    state = sensor["sensorState"]
    return {
        "id": state["selectorId"],
        "name": sensor["name"],
        "code_location": repository.location_name,
        "repository": repository.name,
        "sensor_type": sensor.get("sensorType"),
        "pipeline_name": ", ".join(job_names) if job_names else None,
        "status": state.get("status"),
        "active_run_ids": json.dumps(sorted(active_run_ids)),
    }


def sensor_run_name(run: dict[str, Any]) -> str | None:
    """The name of the sensor that launched a run (its `dagster/sensor_name` tag), else None."""
    for tag in run.get("tags") or ():
        if tag["key"] == "dagster/sensor_name":
            return tag["value"]
    return None
