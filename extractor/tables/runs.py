"""`dagster_runs`: every run, incrementally (the run cursor walks of `run_sync.py`).

Never deleted: a run purged from Dagster stays in the destination, the long-term archive.
"""

from __future__ import annotations

from typing import Any

from extractor.events import Rows
from extractor.run_sync import RunSyncer
from extractor.table import SyncContext, Table
from extractor.transforms import Row, utc_datetime

NAME = "dagster_runs"


def run_row(run: dict[str, Any]) -> Row:
    """A `dagster_runs` row from a `Run`; tags `[{key, value}]` become one JSON object.

    How a run was triggered (schedule, sensor, backfill, run key) is in its tags
    (`dagster/schedule_name`, `dagster/sensor_name`, `dagster/backfill`, `dagster/run_key`):
    Dagster exposes no fields for it.
    """
    origin = run.get("repositoryOrigin") or {}
    return {
        "run_id": run["runId"],
        "pipeline_name": run.get("pipelineName"),
        "code_location": origin.get("repositoryLocationName"),
        "repository": origin.get("repositoryName"),
        "parent_run_id": run.get("parentRunId"),
        "root_run_id": run.get("rootRunId"),
        "status": run.get("status"),
        "mode": run.get("mode"),
        "creation_time": utc_datetime(run.get("creationTime")),
        "start_time": utc_datetime(run.get("startTime")),
        "end_time": utc_datetime(run.get("endTime")),
        "update_time": utc_datetime(run.get("updateTime")),
        "tags": {tag["key"]: tag["value"] for tag in run.get("tags") or ()},
    }


async def sync(context: SyncContext) -> None:
    async def send(runs: list[dict[str, Any]]) -> None:
        await context.send(Rows(NAME, [run_row(run) for run in runs]))

    syncer = RunSyncer(context.settings, context.state, context.server, send, context.checkpoint)
    await syncer.run(context.client)


TABLE = Table(
    name=NAME,
    primary_key=["run_id"],
    columns={
        "run_id": "STRING",
        "pipeline_name": "STRING",
        "code_location": "STRING",
        "repository": "STRING",
        "parent_run_id": "STRING",
        "root_run_id": "STRING",
        "status": "STRING",
        "mode": "STRING",
        "creation_time": "UTC_DATETIME",
        "start_time": "UTC_DATETIME",
        "end_time": "UTC_DATETIME",
        "update_time": "UTC_DATETIME",
        "tags": "JSON",
    },
    sync=sync,
    required=True,
)
