"""Sensors: `sensorsOrError` for one repository, with the ids of their runs in progress.

A run launched by a sensor carries the tag `dagster/sensor_name` (and the hidden tag
`.dagster/repository`, which GraphQL filters accept but `Run.tags` leaves out). One paged
walk over all in-progress runs (usually few) maps them to sensors by name; only a sensor
whose name is used in more than one repository costs a query of its own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from extractor.client import DagsterClient, unwrap
from extractor.documents import SENSORS, SENSORS_WITHOUT_TYPE
from extractor.runs import PageSize, fetch_adapting, run_exists
from extractor.transforms import Row, sensor_row, sensor_run_name
from extractor.workspace import Repository

REPOSITORY_TAG = ".dagster/repository"
SENSOR_TAG = "dagster/sensor_name"
MAX_RESTARTS = 3  # walks started over because their cursor run vanished


async def _in_progress_runs(
    client: DagsterClient, statuses: tuple[str, ...], tags: list[dict[str, str]], page_size: int
) -> list[dict[str, Any]]:
    """Every run not finished yet (with these tags); the walk ends on an empty page.

    Runs finish (and may be deleted) while we walk: a cursor run that no longer exists makes
    Dagster answer an empty page, so the walk then starts over, keeping what it found.
    """
    runs_filter: dict[str, Any] = {"statuses": list(statuses)}
    if tags:
        runs_filter["tags"] = tags
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    restarts = 0
    size = PageSize(page_size)
    while True:
        runs = await fetch_adapting(client, runs_filter, cursor, size)
        if not runs:
            if cursor is None or restarts >= MAX_RESTARTS or await run_exists(client, cursor):
                return list(found.values())
            cursor, restarts = None, restarts + 1
            continue
        found.update((run["runId"], run) for run in runs)
        cursor = runs[-1]["runId"]


async def fetch_active_runs_by_sensor_name(
    client: DagsterClient, statuses: tuple[str, ...], page_size: int
) -> dict[str, list[str]]:
    """Ids of runs not finished yet launched by a sensor, keyed by the sensor's name."""
    active: dict[str, list[str]] = defaultdict(list)
    for run in await _in_progress_runs(client, statuses, [], page_size):
        name = sensor_run_name(run)
        if name is not None:
            active[name].append(run["runId"])
    return active


async def fetch_sensors(client: DagsterClient, repository: Repository) -> list[dict[str, Any]]:
    """The repository's `Sensor` objects."""
    data = await client.execute_compatible(
        [SENSORS, SENSORS_WITHOUT_TYPE], {"repositorySelector": repository.selector}
    )
    return unwrap(SENSORS.name, data["sensorsOrError"], "Sensors")["results"]


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
                runs = await _in_progress_runs(client, statuses, tags, page_size)
                run_ids = [run["runId"] for run in runs]
            rows[repository].append(sensor_row(sensor, repository, run_ids))
    return rows
