"""`dagster_sensors`: the workspace's sensors, with the ids of their runs not finished yet
(a snapshot, with soft deletes; keyed by Dagster's selector id).

A run launched by a sensor carries the tag `dagster/sensor_name` (and the hidden tag
`.dagster/repository`, which GraphQL filters accept but `Run.tags` leaves out). One paged
walk over the runs not finished yet (usually few) maps them to sensors by name; only a sensor
whose name is used in more than one repository costs a query of its own.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from typing import Any

from extractor.client import DagsterClient
from extractor.repository_batch import RepositoryQuery
from extractor.runs import unfinished_runs
from extractor.snapshot import SnapshotListing, fetch_per_repository, send_listing
from extractor.table import SyncContext, Table
from extractor.transforms import Row
from extractor.workspace import Repository

NAME = "dagster_sensors"
REPOSITORY_TAG = ".dagster/repository"
SENSOR_TAG = "dagster/sensor_name"

_SENSOR_FIELDS = """
    __typename
    ... on Sensors {{
      results {{ name {sensor_type} targets {{ pipelineName }} sensorState {{ selectorId status }} }}
    }}
    ... on Error {{ message }}"""

# For servers older than `Sensor.sensorType`: `sensor_type` stays empty.
SENSORS = (
    RepositoryQuery("ConnectorSensors", "sensorsOrError", "Sensors", _SENSOR_FIELDS.format(sensor_type="sensorType")),
    RepositoryQuery("ConnectorSensorsUntyped", "sensorsOrError", "Sensors", _SENSOR_FIELDS.format(sensor_type="")),
)


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
        if tag["key"] == SENSOR_TAG:
            return tag["value"]
    return None


async def fetch_active_runs_by_sensor_name(
    client: DagsterClient, statuses: tuple[str, ...], page_size: int
) -> dict[str, list[str]]:
    """Ids of runs not finished yet launched by a sensor, keyed by the sensor's name."""
    active: dict[str, list[str]] = defaultdict(list)
    for run in await unfinished_runs(client, statuses, [], page_size):
        name = sensor_run_name(run)
        if name is not None:
            active[name].append(run["runId"])
    return active


async def sensor_rows(
    client: DagsterClient,
    sensors_by_repository: dict[Repository, list[dict[str, Any]]],
    active_by_name: dict[str, list[str]],
    statuses: tuple[str, ...],
    page_size: int,
) -> dict[Repository, list[Row]]:
    """`dagster_sensors` rows per repository, each with its in-progress run ids."""
    name_uses = Counter(
        sensor["name"] for sensors in sensors_by_repository.values() for sensor in sensors
    )
    rows: dict[Repository, list[Row]] = {}
    for repository, sensors in sensors_by_repository.items():
        rows[repository] = []
        for sensor in sensors:
            name = sensor["name"]
            if name_uses[name] == 1:
                run_ids = active_by_name.get(name, [])
            else:  # the name alone is ambiguous: ask for this repository's runs only
                tags = [
                    {"key": SENSOR_TAG, "value": name},
                    {"key": REPOSITORY_TAG, "value": repository.label},
                ]
                runs = await unfinished_runs(client, statuses, tags, page_size)
                run_ids = [run["runId"] for run in runs]
            rows[repository].append(sensor_row(sensor, repository, run_ids))
    return rows


async def sync(context: SyncContext) -> SnapshotListing:
    statuses, page_size = context.server.not_finished_statuses, context.settings.page_size
    active_by_name, (workspace, sensors) = await asyncio.gather(
        fetch_active_runs_by_sensor_name(context.client, statuses, page_size),
        fetch_per_repository(context, "sensors", SENSORS, lambda _, found: found["results"]),
    )
    rows = await sensor_rows(context.client, sensors, active_by_name, statuses, page_size)
    return await send_listing(context, NAME, workspace, rows)


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "name": "STRING",
        "code_location": "STRING",
        "repository": "STRING",
        "sensor_type": "STRING",
        "pipeline_name": "STRING",
        "status": "STRING",
        "active_run_ids": "STRING",
    },
    sync=sync,
)
