"""Runs: walks `runsOrError` newest-first with a cursor, one checkpointable page at a time.

Dagster returns runs newest-created first (storage id descending); `cursor` is a run id and
returns runs strictly older than it; `updatedAfter` compares strictly against the run's
update time. So one walk with `updatedAfter` = last watermark minus a look-back margin finds
both new runs and old runs whose status changed. The walk's `window_end` is fixed before the
first request: anything that changes while we walk has an update time after the start of
the next walk's window, so the next sync picks it up.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from extractor.client import DagsterClient, unwrap
from extractor.documents import RUN_EXISTS, RUNS_COUNT, RUNS_PAGE
from extractor.log import log
from extractor.state import RunWalk, SyncState
from extractor.transforms import Row, run_row


@dataclass(frozen=True)
class RunPage:
    """One page of run rows and the walk's position once those rows are saved."""

    rows: list[Row]
    walk: RunWalk
    finished: bool


def next_walk(state: SyncState, lookback_seconds: float, now: float | None = None) -> RunWalk:
    """The walk this sync makes: the interrupted one if any, else a new one ending now."""
    if state.run_walk is not None:
        return state.run_walk
    window_end = time.time() if now is None else now
    updated_after = (
        None if state.runs_synced_until is None else state.runs_synced_until - lookback_seconds
    )
    return RunWalk(window_end=window_end, updated_after=updated_after)


async def count_runs(client: DagsterClient, walk: RunWalk) -> int:
    """How many runs the walk will read in total (for progress)."""
    data = await client.execute(RUNS_COUNT, {"filter": walk.runs_filter()})
    return int(unwrap(RUNS_COUNT.name, data["runsOrError"], "Runs")["count"])


async def _cursor_run_exists(client: DagsterClient, run_id: str) -> bool:
    data = await client.execute(RUN_EXISTS, {"filter": {"runIds": [run_id]}})
    return bool(unwrap(RUN_EXISTS.name, data["runsOrError"], "Runs")["results"])


async def fetch_run_page(
    client: DagsterClient, runs_filter: dict, cursor: str | None, limit: int
) -> list[dict]:
    """One page of raw `Run` objects, newest first, strictly older than `cursor`."""
    variables = {"filter": runs_filter, "cursor": cursor, "limit": limit}
    data = await client.execute(RUNS_PAGE, variables)
    return unwrap(RUNS_PAGE.name, data["runsOrError"], "Runs")["results"]


async def walk_runs(client: DagsterClient, walk: RunWalk, page_size: int) -> AsyncIterator[RunPage]:
    """Yields the walk's pages in cursor order, resuming after `walk.cursor`.

    The last page yielded has `finished=True` (it may hold no rows).
    """
    if walk.cursor is not None and not await _cursor_run_exists(client, walk.cursor):
        # Dagster answers an unknown cursor with an empty page, which would end the walk early.
        log.warning(
            f"runs: the run the saved cursor points at ({walk.cursor}) was deleted; "
            "restarting this walk from its newest run"
        )
        walk = replace(walk, cursor=None, rows_done=0)
    runs_filter = walk.runs_filter()
    while True:
        runs = await fetch_run_page(client, runs_filter, walk.cursor, page_size)
        finished = len(runs) < page_size
        if runs:
            walk = replace(walk, cursor=runs[-1]["runId"], rows_done=walk.rows_done + len(runs))
        yield RunPage(rows=[run_row(run) for run in runs], walk=walk, finished=finished)
        if finished:
            return
