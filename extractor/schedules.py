"""Schedules: `schedulesOrError` for one repository, as `dagster_schedules` rows."""

from __future__ import annotations

from extractor.client import DagsterClient, unwrap
from extractor.documents import SCHEDULES
from extractor.transforms import Row, schedule_row
from extractor.workspace import Repository


async def fetch_schedule_rows(client: DagsterClient, repository: Repository) -> list[Row]:
    """The repository's schedules with their state (RUNNING/STOPPED)."""
    data = await client.execute(SCHEDULES, {"repositorySelector": repository.selector})
    schedules = unwrap(SCHEDULES.name, data["schedulesOrError"], "Schedules")["results"]
    return [schedule_row(schedule, repository) for schedule in schedules]
