"""Runs: cursor walks over `runsOrError`, one checkpointable page at a time.

Dagster returns runs newest-created first (storage id descending); `cursor` is a run id and
returns runs strictly older than it; `updatedAfter`, `createdAfter` and `createdBefore`
compare strictly. So one walk with `updatedAfter` = last watermark minus a look-back margin
finds both new runs and old runs whose status changed. The sync's `window_end` is fixed before
its first request: anything that changes while we walk has an update time after the start of
the next sync's window, so the next sync picks it up.

A first sync of a long history is split into creation-time windows walked concurrently, so
that request latency is hidden; an incremental sync is a single walk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from extractor.client import DagsterClient, unwrap
from extractor.documents import RUN_EXISTS, RUNS_COUNT, RUNS_PAGE
from extractor.errors import RequestTimeout, ServerError, TransientError
from extractor.log import log
from extractor.state import RunSync, RunWalk, SyncState
from extractor.transforms import Row, run_row

MIN_PAGE_SIZE = 25  # heavy pages are halved down to this
TRIES_BEFORE_SHRINKING = 2  # a page that times out this often is retried at half the size
PAGES_BEFORE_GROWING = 5  # good pages in a row before a shrunken page size doubles again
PROBES_PER_INTERVAL = 8  # count queries per interval and round when planning windows
MAX_PLANNING_ROUNDS = 8
DAGSTER_EPOCH = 1514764800.0  # 2018-01-01, before Dagster's first release


@dataclass(frozen=True)
class RunPage:
    """One page of run rows and its walk's position once those rows are saved."""

    rows: list[Row]
    walk: RunWalk
    finished: bool


def next_run_sync(state: SyncState, lookback_seconds: float, now: float | None = None) -> RunSync:
    """The run sync to make: the interrupted one if any, else a new one ending now."""
    if state.run_sync is not None:
        return state.run_sync
    window_end = time.time() if now is None else now
    updated_after = (
        None if state.runs_synced_until is None else state.runs_synced_until - lookback_seconds
    )
    return RunSync(window_end=window_end, updated_after=updated_after, walks=[RunWalk()])


async def count_runs(client: DagsterClient, runs_filter: dict) -> int:
    """How many runs match `runs_filter`."""
    data = await client.execute(RUNS_COUNT, {"filter": runs_filter})
    return int(unwrap(RUNS_COUNT.name, data["runsOrError"], "Runs")["count"])


async def plan_windows(
    client: DagsterClient, window_end: float, total: int, windows: int
) -> list[RunWalk]:
    """Splits the history before `window_end` into about `windows` creation-time windows of
    similar run counts, by probing `count(createdBefore: t)` in a few concurrent rounds.

    Returns the walks newest window first; the newest has no upper bound.
    """
    target = max(total // windows, 1)
    known: dict[float, int] = {0.0: 0, window_end: total}
    if window_end > DAGSTER_EPOCH:  # nearly every history starts after this: probe it first
        known[DAGSTER_EPOCH] = await count_runs(client, {"createdBefore": DAGSTER_EPOCH})
    for _ in range(MAX_PLANNING_ROUNDS):
        times = sorted(known)
        probes = []
        for start, end in zip(times, times[1:]):
            if known[end] - known[start] > target and end - start > 1.0:
                step = (end - start) / (PROBES_PER_INTERVAL + 1)
                probes += [start + step * i for i in range(1, PROBES_PER_INTERVAL + 1)]
        if not probes:
            break
        counts = await asyncio.gather(
            *(count_runs(client, {"createdBefore": probe}) for probe in probes)
        )
        known.update(zip(probes, counts))
    boundaries = []
    last_cut = 0
    for moment in sorted(known)[1:-1]:
        if known[moment] - last_cut >= target and total - known[moment] >= target // 2:
            boundaries.append(moment)
            last_cut = known[moment]
    edges: list[float | None] = [None, *boundaries, None]
    walks = [RunWalk(created_after=a, created_before=b) for a, b in zip(edges, edges[1:])]
    return list(reversed(walks))


async def _cursor_run_exists(client: DagsterClient, run_id: str) -> bool:
    data = await client.execute(RUN_EXISTS, {"filter": {"runIds": [run_id]}})
    return bool(unwrap(RUN_EXISTS.name, data["runsOrError"], "Runs")["results"])


async def fetch_run_page(
    client: DagsterClient,
    runs_filter: dict,
    cursor: str | None,
    limit: int,
    max_tries: int | None = None,
) -> list[dict]:
    """One page of raw `Run` objects, newest first, strictly older than `cursor`."""
    variables = {"filter": runs_filter, "cursor": cursor, "limit": limit}
    data = await client.execute(RUNS_PAGE, variables, max_tries=max_tries)
    return unwrap(RUNS_PAGE.name, data["runsOrError"], "Runs")["results"]


def _is_heavy_page_failure(error: Exception) -> bool:
    """A timeout or gateway error: the server may be struggling with the page's size."""
    return isinstance(error, RequestTimeout) or (
        isinstance(error, ServerError) and error.status in (502, 504)
    )


class _PageSize:
    """The walk's page size: halved after heavy-page failures, doubled back after good pages."""

    def __init__(self, configured: int) -> None:
        self.configured = configured
        self.current = configured
        self._good_pages = 0

    @property
    def can_shrink(self) -> bool:
        return self.current > MIN_PAGE_SIZE

    def shrink(self) -> None:
        self.current = max(MIN_PAGE_SIZE, self.current // 2)
        self._good_pages = 0

    def page_done(self) -> None:
        if self.current == self.configured:
            return
        self._good_pages += 1
        if self._good_pages >= PAGES_BEFORE_GROWING:
            self.current = min(self.configured, self.current * 2)
            self._good_pages = 0


async def walk_runs(
    client: DagsterClient, walk: RunWalk, updated_after: float | None, page_size: int
) -> AsyncIterator[RunPage]:
    """Yields the walk's pages in cursor order, resuming after `walk.cursor`.

    The last page yielded has `finished=True` (it may hold no rows).
    """
    if walk.cursor is not None and not await _cursor_run_exists(client, walk.cursor):
        # Dagster answers an unknown cursor with an empty page, which would end the walk early.
        log.warning(
            f"runs: the run the saved cursor points at ({walk.cursor}) was deleted; "
            "restarting its walk from the newest run of its window"
        )
        walk = replace(walk, cursor=None)
    runs_filter = walk.runs_filter(updated_after)
    size = _PageSize(page_size)
    while True:
        try:
            runs = await fetch_run_page(
                client,
                runs_filter,
                walk.cursor,
                size.current,
                max_tries=TRIES_BEFORE_SHRINKING if size.can_shrink else None,
            )
        except TransientError as error:
            if not size.can_shrink:
                raise
            if _is_heavy_page_failure(error):
                size.shrink()
                log.warning(f"runs: {error}; retrying with pages of {size.current} runs")
                continue
            runs = await fetch_run_page(client, runs_filter, walk.cursor, size.current)
        limit = size.current
        size.page_done()
        finished = len(runs) < limit
        if runs:
            walk = replace(walk, cursor=runs[-1]["runId"])
        yield RunPage(rows=[run_row(run) for run in runs], walk=walk, finished=finished)
        if finished:
            return
