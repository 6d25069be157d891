"""`dagster_schedules`: the workspace's schedules (a snapshot, with soft deletes).

Keyed by Dagster's selector id, a hash of code location, repository and name: it does not
change when a code location is redeployed from another path, image or host.
"""

from __future__ import annotations

from typing import Any

from extractor.repository_batch import RepositoryQuery
from extractor.snapshot import SnapshotListing, fetch_per_repository, send_listing
from extractor.table import SyncContext, Table
from extractor.transforms import Row
from extractor.workspace import Repository

NAME = "dagster_schedules"

SCHEDULES = RepositoryQuery(
    "ConnectorSchedules",
    "schedulesOrError",
    "Schedules",
    """
    __typename
    ... on Schedules {
      results {
        name cronSchedule pipelineName
        scheduleState { selectorId status runningCount }
      }
    }
    ... on Error { message }""",
)


def schedule_row(schedule: dict[str, Any], repository: Repository) -> Row:
    """A `dagster_schedules` row from a `Schedule` and its `InstigationState`."""
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


async def sync(context: SyncContext) -> SnapshotListing:
    def rows_of(repository: Repository, found: dict[str, Any]) -> list[Row]:
        return [schedule_row(schedule, repository) for schedule in found["results"]]

    workspace, rows = await fetch_per_repository(context, "schedules", [SCHEDULES], rows_of)
    return await send_listing(context, NAME, workspace, rows)


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "name": "STRING",
        "code_location": "STRING",
        "repository": "STRING",
        "cron_schedule": "STRING",
        "pipeline_name": "STRING",
        "status": "STRING",
        "running_count": "INT",
    },
    sync=sync,
)
