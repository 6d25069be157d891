"""The run sync: plans its walks, runs them concurrently, and after each page sends the page's
rows, then moves the sync's position past the page, then checkpoints.

A first sync reads the whole history in creation-time windows walked concurrently. An
incremental sync costs what changed, in Dagster's own clock:
  * new runs: the newest runs, down to the newest creation time seen before (minus the
    look-back), with no filter for Dagster to scan;
  * changed runs: `updatedAfter` the newest update time seen before (minus the look-back),
    listing every status so that Dagster can use its (status, update time) index;
  * every run last seen unfinished, re-read by id until it has finished, whatever its update
    time says (workers' clocks differ, and their events may be written late).
The state only ever names cursors whose rows are already in the channel: another table may
checkpoint the shared state at any moment, even while a page's rows wait for room in the
channel. So a sync killed at any moment resumes every walk after a page it delivered.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from extractor.client import DagsterClient
from extractor.config import Settings
from extractor.errors import DagsterConnectorError
from extractor.log import log
from extractor.runs import PageBudget, RunPage, count_runs, fetch_run_page, plan_windows, runs_by_id, walk_runs
from extractor.server import ServerInfo
from extractor.state import MAX_TRACKED_UNFINISHED, WINDOW_OVERLAP_SECONDS, RunSync, RunWalk, SyncState

PROGRESS_INTERVAL_SECONDS = 10.0
MIN_PAGES_PER_WINDOW = 2  # a first sync is split only when each window gets this many pages
PAGES_IN_FLIGHT = 2  # pages being fetched or waiting for the channel, over all walks
RECHECK_BATCH = 100  # unfinished runs re-read per request
SKEW_WARNING_SECONDS = 60.0

SendRuns = Callable[[list[dict[str, Any]]], Awaitable[None]]  # `Run` objects as read
Checkpoint = Callable[[], Awaitable[None]]  # commits what was sent, with the state


class RunSyncer:
    """Runs one run sync; `state.runs` is updated as pages are saved."""

    def __init__(
        self, settings: Settings, state: SyncState, server: ServerInfo, send: SendRuns, checkpoint: Checkpoint
    ) -> None:
        self._settings = settings
        self._state = state
        self._server = server
        self._statuses = (*server.not_finished_statuses, "SUCCESS", "FAILURE", "CANCELED")
        self._send = send
        self._checkpoint = checkpoint
        self._lock = asyncio.Lock()
        self._page_slots = asyncio.Semaphore(PAGES_IN_FLIGHT)  # bounds memory, not speed
        self._budget = PageBudget()  # and pages of about the same bytes, however large the tags
        self._total: int | None = None
        self._pages = 0
        self._late_finishes: list[float] = []
        self._rechecked: set[str] = set()  # the runs re-read by id in this sync
        self._warned_ahead = False  # how far before the watermark they were updated
        self._started = time.monotonic()
        self._last_progress = self._started
        self._rows_at_start = 0

    async def run(self, client: DagsterClient) -> None:
        runs = self._state.runs
        if runs.sync is not None:
            cursors = [f"after run {walk.cursor}" for walk in runs.sync.walks if walk.cursor]
            log.info(
                f"runs: resuming an interrupted sync: {len(runs.sync.walks)} walk(s) left"
                + (f" ({', '.join(cursors)})" if cursors else "")
            )
        elif not runs.synced_before:
            log.info("runs: first sync, reading the whole history")
            started_at = self._server_now()
            runs.sync = RunSync(
                first=True, started_at=started_at, walks=await self._first_sync_walks(client)
            )
        else:
            changed_after = runs.updated_until - self._settings.lookback_seconds
            runs.sync = RunSync(
                first=False,
                started_at=self._server_now(),
                walks=self._incremental_walks(changed_after),
                changed_after=changed_after,
            )
            since = datetime.fromtimestamp(changed_after, tz=timezone.utc).isoformat(timespec="seconds")
            log.info(
                f"runs: reading runs created or changed since {since} (the newest change synced "
                f"minus lookback_seconds={self._settings.lookback_seconds:g}, so runs whose worker "
                "wrote late are not missed: those runs are read again), and "
                f"{len(runs.unfinished)} run(s) last seen unfinished"
            )
        self._rows_at_start = runs.sync.rows_done
        recheck = list(runs.unfinished) if not runs.sync.first else []
        self._rechecked = set(recheck)
        walks = list(runs.sync.walks)
        await asyncio.gather(
            self._recheck_unfinished(client, recheck),
            *(self._walk(client, walk) for walk in walks),
        )
        self._finish()
        await self._checkpoint()  # records the finished sync

    async def _first_sync_walks(self, client: DagsterClient) -> list[RunWalk]:
        """One walk, or creation-time windows walked concurrently when the history is long."""
        try:
            self._total, newest = await asyncio.gather(
                count_runs(client, {}), fetch_run_page(client, {}, None, 1)
            )
        except DagsterConnectorError as error:
            log.warning(f"runs: could not count the runs to sync ({error}); one walk")
            return [RunWalk()]
        windows = min(
            2 * self._settings.max_concurrency,
            self._total // (MIN_PAGES_PER_WINDOW * self._settings.page_size),
        )
        if windows < 2 or not newest:
            return [RunWalk()]
        try:
            walks = await plan_windows(client, newest[0]["creationTime"], self._total, windows)
        except DagsterConnectorError as error:  # planning is an optimisation: never fatal
            log.warning(f"runs: could not plan windows ({error}); one walk")
            return [RunWalk()]
        log.info(f"runs: {self._total:,} runs split into {len(walks)} windows walked concurrently")
        return walks

    def _incremental_walks(self, changed_after: float) -> list[RunWalk]:
        runs, lookback = self._state.runs, self._settings.lookback_seconds
        assert runs.created_until is not None
        walks = [
            RunWalk(stop_created_below=runs.created_until - lookback),
            RunWalk(updated_after=changed_after),
        ]
        if runs.unfinished_overflow_since is not None:
            log.warning(
                f"runs: more than {MAX_TRACKED_UNFINISHED} runs were unfinished last time; "
                "re-reading every run created since the oldest untracked one"
            )
            walks.append(RunWalk(created_after=runs.unfinished_overflow_since))
            runs.unfinished_overflow_since = None  # the walk stands for it; set again if need be
        return walks

    async def _walk(self, client: DagsterClient, walk: RunWalk) -> None:
        pages = walk_runs(client, walk, self._statuses, self._settings.page_size, budget=self._budget)
        while True:
            async with self._page_slots:
                page = await anext(pages, None)
                if page is None:
                    return
                await self._save_page(walk, page)
                walk = page.walk
                # Dropped before this walk waits for a slot again: eight walks each holding
                # their last page while they wait held eight parsed pages (+64 MB at 5,000 runs).
                del page

    async def _recheck_unfinished(self, client: DagsterClient, run_ids: list[str]) -> None:
        """Re-reads the runs last seen unfinished; those Dagster deleted are no longer tracked."""
        if not run_ids:
            return
        found: set[str] = set()
        async for runs in runs_by_id(client, run_ids, RECHECK_BATCH):
            found.update(run["runId"] for run in runs)
            async with self._lock:
                self._note_late_finishes(runs)
                await self._save_runs(self._not_read_elsewhere(runs), advance=lambda: None)
        async with self._lock:
            for run_id in set(run_ids) - found:
                self._state.runs.unfinished.pop(run_id, None)
        if self._late_finishes:
            log.warning(
                f"runs: {len(self._late_finishes)} run(s) finished with an update time up to "
                f"{max(self._late_finishes):.0f}s before the last sync's newest one (a worker's "
                "clock behind Dagster's, or events written late); re-read because they were "
                "tracked as unfinished"
            )

    def _note_late_finishes(self, runs: list[dict[str, Any]]) -> None:
        watermark = self._state.runs.updated_until
        if watermark is None:
            return
        bound = watermark - self._settings.lookback_seconds
        for run in runs:
            updated = run.get("updateTime")
            if run["status"] not in self._server.not_finished_statuses and updated is not None:
                if updated <= bound:
                    self._late_finishes.append(watermark - updated)

    async def _save_page(self, walk: RunWalk, page: RunPage) -> None:
        """Sends the page's rows, then moves the walk to its new position and checkpoints."""

        def advance() -> None:
            sync = self._state.runs.sync
            assert sync is not None
            walks = [page.walk if w is walk else w for w in sync.walks]
            if page.finished:
                walks = [w for w in walks if w is not page.walk]
            sync.walks = walks

        async with self._lock:
            runs = page.runs
            if walk.updated_after is None:  # the other walks leave out what the recheck reads
                runs = [run for run in self._not_read_elsewhere(runs) if run["runId"] not in self._rechecked]
            await self._save_runs(runs, advance)

    def _not_read_elsewhere(self, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Leaves out the runs that the changed-runs walk of this sync reads: each run is sent
        once per sync."""
        bound = self._state.runs.sync.changed_after if self._state.runs.sync else None
        if bound is None:
            return runs
        return [run for run in runs if run.get("updateTime") is None or run["updateTime"] <= bound]

    async def _save_runs(self, runs: list[dict[str, Any]], advance: Callable[[], None]) -> None:
        """Sends `runs`; once they are in the channel, records what they tell (watermarks,
        unfinished runs) and `advance`s the position, then checkpoints. Called under the lock."""
        if runs:
            await self._send(runs)
        state = self._state.runs
        sync = state.sync
        assert sync is not None
        for run in runs:
            self._track(run)
            sync.updated_until = _newest(sync.updated_until, run.get("updateTime"))
            sync.created_until = _newest(sync.created_until, run["creationTime"])
        sync.rows_done += len(runs)
        advance()
        await self._checkpoint()
        self._warn_if_ahead(runs)
        self._pages += 1
        self._log_progress(final=False)

    def _track(self, run: dict[str, Any]) -> None:
        state = self._state.runs
        if run["status"] not in self._server.not_finished_statuses:
            state.unfinished.pop(run["runId"], None)
        elif run["runId"] in state.unfinished or len(state.unfinished) < MAX_TRACKED_UNFINISHED:
            state.unfinished[run["runId"]] = run["creationTime"]
        else:
            since = state.unfinished_overflow_since
            state.unfinished_overflow_since = min(since or run["creationTime"], run["creationTime"])

    def _warn_if_ahead(self, runs: list[dict[str, Any]]) -> None:
        """Warns once of a run updated 'in the future' of Dagster's webserver clock."""
        offset = self._server.clock_offset
        if offset is None or self._warned_ahead:
            return
        server_now = time.time() + offset
        for run in runs:
            ahead = (run.get("updateTime") or 0.0) - server_now
            if ahead > SKEW_WARNING_SECONDS:
                self._warned_ahead = True
                log.warning(
                    f"runs: run {run['runId']} was updated {ahead:.0f}s in the future of "
                    "Dagster's webserver clock: a worker's clock is ahead"
                )
                return

    def _server_now(self) -> float:
        """This moment in the webserver's clock (this machine's, if it sent no `Date`), less the
        `Date` header's one-second resolution."""
        return time.time() + (self._server.clock_offset or 0.0) - 1.0

    def _finish(self) -> None:
        """Moves what this sync has seen into the watermarks; the sync is complete.

        A watermark never goes past the sync's start: a run that changed after a walk passed
        it has an update time after the start, so the next sync reads it.
        """
        runs = self._state.runs
        sync = runs.sync
        assert sync is not None and not sync.walks
        self._log_progress(final=True)
        for name in ("updated_until", "created_until"):
            seen = getattr(sync, name)
            seen = None if seen is None else min(seen, sync.started_at)
            setattr(runs, name, _newest(getattr(runs, name), seen) or 0.0)
        runs.sync = None

    def _log_progress(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_progress = now
        sync = self._state.runs.sync
        done = sync.rows_done if sync is not None else 0
        rate = (done - self._rows_at_start) / max(now - self._started, 1e-6)
        share = ""
        if self._total:
            share = f" of {self._total:,} ({min(100.0, 100.0 * done / self._total):.1f}%)"
        label = "done" if final else "progress"
        log.info(f"runs {label}: {done:,} rows{share}, {self._pages} pages, {rate:,.0f} rows/s")


def _newest(current: float | None, seen: float | None) -> float | None:
    if seen is None:
        return current
    return seen if current is None else max(current, seen)
