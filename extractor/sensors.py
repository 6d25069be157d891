"""Sensors: `sensorsOrError` for one repository, with the ids of their runs in progress.

A run launched by a sensor carries the tags `dagster/sensor_name` and `dagster/repository`.
Rather than one query per sensor, one paged walk over all in-progress runs (usually few)
maps them to their sensors.
"""

from __future__ import annotations

from collections import defaultdict

from extractor.client import DagsterClient, unwrap
from extractor.documents import SENSORS
from extractor.repositories import Repository
from extractor.runs import fetch_run_page
from extractor.transforms import IN_PROGRESS_STATUSES, Row, sensor_row, sensor_run_key

ActiveRuns = dict[tuple[str, str], list[str]]


async def fetch_active_sensor_runs(client: DagsterClient, page_size: int) -> ActiveRuns:
    """Run ids in progress, keyed by (repository label, sensor name) of the launching sensor."""
    active: ActiveRuns = defaultdict(list)
    runs_filter = {"statuses": list(IN_PROGRESS_STATUSES)}
    cursor = None
    while True:
        runs = await fetch_run_page(client, runs_filter, cursor, page_size)
        for run in runs:
            key = sensor_run_key(run)
            if key is not None:
                active[key].append(run["runId"])
        if len(runs) < page_size:
            return active
        cursor = runs[-1]["runId"]


async def fetch_sensor_rows(
    client: DagsterClient, repository: Repository, active_runs: ActiveRuns
) -> list[Row]:
    """The repository's sensors with their state and in-progress run ids."""
    data = await client.execute(SENSORS, {"repositorySelector": repository.selector})
    sensors = unwrap(SENSORS.name, data["sensorsOrError"], "Sensors")["results"]
    return [
        sensor_row(sensor, active_runs.get((repository.label, sensor["name"]), []))
        for sensor in sensors
    ]
