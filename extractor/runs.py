"""Runs: cursor walks over `runsOrError`, one checkpointable page at a time.

Dagster returns runs newest-created first (storage id descending); `cursor` is a run id and
returns runs strictly older than it; `updatedAfter`, `createdAfter` and `createdBefore`
compare strictly. A server may clamp `limit` silently, so a walk ends only on an empty page
or on its explicit stop (`stop_created_below`), never on a short page. A cursor run that was
deleted makes Dagster answer an empty page: the walk then checks that its cursor still exists
and, if not, goes on from that run's creation time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from extractor.client import DagsterClient, Operation, unwrap
from extractor.documents import RUN_EXISTS, RUNS_COUNT, RUNS_PAGE
from extractor.errors import HeavyQueryError, RequestTimeout, ServerError, TransientError
from extractor.log import log
from extractor.state import WINDOW_OVERLAP_SECONDS, RunWalk

MIN_PAGE_SIZE = 25  # heavy pages are halved down to this
TRIES_BEFORE_SHRINKING = 2  # a page that times out this often is retried at half the size
PAGES_BEFORE_GROWING = 5  # good pages in a row before a shrunken page size doubles again
# How far back from the newest run the planning probes look, in seconds: a first sync's
# history is cut where these counts say, in one concurrent round of requests.
PLANNING_PROBES = (3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400, 90 * 86400, 365 * 86400)


@dataclass(frozen=True)
class RunPage:
    """One page of runs, as read, and its walk's position once they are saved."""

    runs: list[dict[str, Any]]
    walk: RunWalk
    finished: bool


COUNT_TRIES = 2  # a count only plans and shows progress: not worth minutes of retries


async def count_runs(client: DagsterClient, runs_filter: dict) -> int:
    """How many runs match `runs_filter` (a full scan on Dagster's side: first syncs only)."""
    data = await client.execute(RUNS_COUNT, {"filter": runs_filter}, max_tries=COUNT_TRIES)
    return int(unwrap(RUNS_COUNT.name, data["runsOrError"], "Runs")["count"])


async def plan_windows(
    client: DagsterClient, newest_created: float, total: int, windows: int
) -> list[RunWalk]:
    """Splits the history up to `newest_created` into up to `windows` creation-time windows of
    similar run counts, from one concurrent round of `count(createdBefore: t)` probes.

    Returns the walks newest window first; the newest has no upper bound, the oldest no lower.
    """
    probes = [newest_created - age for age in PLANNING_PROBES]
    counts = await asyncio.gather(
        *(count_runs(client, {"createdBefore": moment}) for moment in probes)
    )
    known = sorted({**dict(zip(probes, counts)), newest_created + 1.0: total}.items())
    target = max(total // windows, 1)
    boundaries: list[float] = []
    below_previous = 0
    for (start, below_start), (end, below_end) in zip([(None, 0), *known], known):
        # Cut inside (start, end] by interpolation, assuming runs spread evenly there.
        while below_end - below_previous >= target and total - below_previous > target:
            wanted = below_previous + target
            if start is None or below_end == below_start:
                moment = end
            else:
                moment = start + (end - start) * (wanted - below_start) / (below_end - below_start)
            if boundaries and moment <= boundaries[-1]:
                break
            boundaries.append(moment)
            below_previous = wanted
    edges: list[float | None] = [None, *boundaries[: windows - 1], None]
    walks = [RunWalk(created_after=a, created_before=b) for a, b in zip(edges, edges[1:])]
    return list(reversed(walks))


async def run_exists(client: DagsterClient, run_id: str) -> bool:
    data = await client.execute(RUN_EXISTS, {"filter": {"runIds": [run_id]}})
    return bool(unwrap(RUN_EXISTS.name, data["runsOrError"], "Runs")["results"])


async def fetch_run_page(
    client: DagsterClient,
    runs_filter: dict,
    cursor: str | None,
    limit: int,
    max_tries: int | None = None,
    operation: Operation = RUNS_PAGE,
) -> list[dict]:
    """One page of raw `Run` objects, newest first, strictly older than `cursor`.

    `operation` is `RUNS_PAGE` or another query with its variables that selects fewer fields.
    """
    variables = {"filter": runs_filter, "cursor": cursor, "limit": limit}
    data = await client.execute(operation, variables, max_tries=max_tries)
    return unwrap(operation.name, data["runsOrError"], "Runs")["results"]


def _is_heavy_page_failure(error: Exception) -> bool:
    """A timeout, a gateway error or a statement timeout: the page may be too big."""
    return isinstance(error, (RequestTimeout, HeavyQueryError)) or (
        isinstance(error, ServerError) and error.status in (502, 504)
    )


PAGE_BYTES_TARGET = 4_000_000  # about this much JSON per run page, whatever the runs' tags


def _run_bytes(run: dict[str, Any]) -> int:
    """About how many bytes of JSON a run takes: its tags make most of it."""
    return 400 + sum(len(tag["key"]) + len(tag["value"]) + 30 for tag in run.get("tags") or ())


class PageBudget:
    """How many runs make a page of about `PAGE_BYTES_TARGET` bytes, learnt from the pages
    read: runs with many large tags get smaller pages, so the pages held at once (fetched,
    parsed, waiting for the destination) stay about the same size in memory."""

    def __init__(self) -> None:
        self._bytes_per_run: float | None = None

    def learn(self, runs: list[dict[str, Any]]) -> None:
        if runs:
            self._bytes_per_run = sum(map(_run_bytes, runs)) / len(runs)

    def runs_per_page(self, configured: int) -> int:
        if self._bytes_per_run is None:
            return configured
        return max(MIN_PAGE_SIZE, min(configured, int(PAGE_BYTES_TARGET / self._bytes_per_run)))


class PageSize:
    """The walk's page size: halved after heavy-page failures, doubled back after good pages,
    never above the ceiling (the configured size, or less for runs heavy in bytes)."""

    def __init__(self, configured: int) -> None:
        self.configured = configured
        self.ceiling = configured
        self.current = configured
        self._good_pages = 0

    def cap(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.current = min(self.current, ceiling)

    @property
    def can_shrink(self) -> bool:
        return self.current > MIN_PAGE_SIZE

    def shrink(self) -> None:
        self.current = max(MIN_PAGE_SIZE, self.current // 2)
        self._good_pages = 0

    def page_done(self) -> None:
        if self.current >= self.ceiling:
            return
        self._good_pages += 1
        if self._good_pages >= PAGES_BEFORE_GROWING:
            self.current = min(self.ceiling, self.current * 2)
            self._good_pages = 0


async def fetch_adapting(
    client: DagsterClient,
    runs_filter: dict,
    cursor: str | None,
    size: PageSize,
    operation: Operation = RUNS_PAGE,
) -> list[dict]:
    """A page at the current size; a page that is too heavy is retried at half the size."""
    while True:
        try:
            return await fetch_run_page(
                client,
                runs_filter,
                cursor,
                size.current,
                max_tries=TRIES_BEFORE_SHRINKING if size.can_shrink else None,
                operation=operation,
            )
        except TransientError as error:
            if not size.can_shrink:
                raise
            if not _is_heavy_page_failure(error):
                return await fetch_run_page(client, runs_filter, cursor, size.current, operation=operation)
            size.shrink()
            log.warning(f"runs: {error}; retrying with pages of {size.current} runs")


def walk_runs(
    client: DagsterClient,
    walk: RunWalk,
    statuses: tuple[str, ...],
    page_size: int,
    operation: Operation = RUNS_PAGE,
    budget: PageBudget | None = None,
) -> RunPages:
    """The walk's pages in cursor order, resuming after `walk.cursor` (an async iterator).

    `statuses` are the statuses a walk over changed runs lists (every status the server knows,
    unless the walk wants only some). `operation` selects the runs' fields (`RUNS_PAGE` or a
    lighter query taking the same variables; `runId` and `creationTime` are needed). The last
    page yielded has `finished=True` (it may hold no runs). A `budget` sizes pages by bytes.
    """
    return RunPages(client, walk, statuses, PageSize(page_size), operation, budget)


class RunPages:
    """The pages of one run walk. An iterator object rather than an async generator: a
    generator suspended at its `yield` keeps the page it yielded alive in its frame for as long
    as its consumer waits to ask for the next one (eight window walks waiting for a page slot
    held eight parsed pages)."""

    def __init__(
        self,
        client: DagsterClient,
        walk: RunWalk,
        statuses: tuple[str, ...],
        size: PageSize,
        operation: Operation,
        budget: PageBudget | None,
    ) -> None:
        self._client = client
        self._walk = walk
        self._statuses = statuses
        self._size = size
        self._operation = operation
        self._budget = budget
        self._finished = False

    def __aiter__(self) -> RunPages:
        return self

    async def __anext__(self) -> RunPage:
        if self._finished:
            raise StopAsyncIteration
        client, size, budget = self._client, self._size, self._budget
        while True:
            walk = self._walk
            if budget is not None:
                size.cap(budget.runs_per_page(size.configured))
            runs = await fetch_adapting(client, walk.runs_filter(self._statuses), walk.cursor, size, self._operation)
            size.page_done()
            if budget is not None:
                budget.learn(runs)
            if runs or walk.cursor is None or await run_exists(client, walk.cursor):
                break
            # Dagster answers a deleted cursor with an empty page: go on below its creation time.
            log.warning(
                f"runs: the walk's cursor run {walk.cursor} was deleted meanwhile; going on "
                "from its creation time"
            )
            resume_below = (walk.cursor_created or 0.0) + WINDOW_OVERLAP_SECONDS
            if walk.created_before is not None:
                resume_below = min(resume_below, walk.created_before)
            self._walk = replace(walk, created_before=resume_below, cursor=None, cursor_created=None)
        stop = walk.stop_created_below
        kept = runs if stop is None else [run for run in runs if run["creationTime"] >= stop]
        self._finished = not runs or len(kept) < len(runs)
        if kept:
            self._walk = replace(walk, cursor=kept[-1]["runId"], cursor_created=kept[-1]["creationTime"])
        return RunPage(runs=kept, walk=self._walk, finished=self._finished)


async def runs_by_id(
    client: DagsterClient, run_ids: list[str], page_size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yields the runs among `run_ids` that still exist, a batch at a time."""
    for start in range(0, len(run_ids), page_size):
        batch = run_ids[start : start + page_size]
        wanted, cursor = set(batch), None
        while wanted:  # all found: done; else until an empty page (the rest were deleted)
            runs = await fetch_run_page(client, {"runIds": batch}, cursor, len(batch))
            if not runs:
                break
            wanted -= {run["runId"] for run in runs}
            cursor = runs[-1]["runId"]
            yield runs


MAX_RESTARTS = 3  # unfinished-run walks started over because their cursor run vanished


async def unfinished_runs(
    client: DagsterClient, statuses: tuple[str, ...], tags: list[dict[str, str]], page_size: int
) -> list[dict[str, Any]]:
    """Every run not finished yet (with these tags); the walk ends on an empty page.

    `statuses` are the server's statuses of runs not finished.

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
