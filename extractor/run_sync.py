"""The run sync: plans its walks, runs them concurrently, and after each page sends the page's
rows and then a checkpoint of the whole sync's position down the channel.

The state in a checkpoint only ever names cursors whose rows were sent before it, so a sync
killed at any moment resumes every walk after its last saved page.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from extractor.channel import Channel
from extractor.client import DagsterClient
from extractor.config import Settings
from extractor.errors import DagsterConnectorError, GraphQLError
from extractor.events import Checkpoint, Rows
from extractor.log import log
from extractor.runs import RunPage, count_runs, next_run_sync, plan_windows, walk_runs
from extractor.state import RunSync, RunWalk, SyncState
from extractor.tables import RUNS_TABLE

PROGRESS_INTERVAL_SECONDS = 10.0
MIN_PAGES_PER_WINDOW = 2  # a first sync is split only when each window gets this many pages
PAGES_IN_FLIGHT = 3  # pages being fetched or waiting for the channel, over all walks


class RunSyncer:
    def __init__(self, settings: Settings, state: SyncState, channel: Channel) -> None:
        self._settings = settings
        self._synced_until = state.runs_synced_until
        self._run_sync: RunSync = next_run_sync(state, settings.lookback_seconds)
        self._resumed = state.run_sync is not None
        self._channel = channel
        self._lock = asyncio.Lock()
        self._page_slots = asyncio.Semaphore(PAGES_IN_FLIGHT)  # bounds memory, not speed
        self._total: int | None = None
        self._pages = 0
        self._rows_at_start = self._run_sync.rows_done
        self._started = time.monotonic()
        self._last_progress = self._started

    async def run(self, client: DagsterClient) -> None:
        run_sync = self._run_sync
        if self._resumed:
            cursors = [f"after run {walk.cursor}" for walk in run_sync.walks if walk.cursor]
            log.info(
                f"runs: resuming an interrupted sync: {len(run_sync.walks)} walk(s) left"
                + (f" ({', '.join(cursors)})" if cursors else "")
            )
        elif run_sync.updated_after is None:
            log.info("runs: first sync, reading the whole history")
        else:
            log.info("runs: reading runs created or changed since the last sync")
        counting = asyncio.ensure_future(self._count(client))
        if not self._resumed and run_sync.updated_after is None:
            await counting
            await self._split_history(client)
        try:
            walks = list(self._run_sync.walks)
            await asyncio.gather(*(self._walk(client, walk) for walk in walks))
        finally:
            counting.cancel()
        self._log_progress(final=True)

    async def _count(self, client: DagsterClient) -> None:
        """Counts the sync's runs, for progress and window planning; a failure only warns."""
        runs_filter = RunWalk().runs_filter(self._run_sync.updated_after)
        try:
            self._total = await count_runs(client, runs_filter)
        except DagsterConnectorError as error:
            log.warning(f"runs: could not count the runs to sync ({error}); no progress share")

    async def _split_history(self, client: DagsterClient) -> None:
        """Splits a first sync into creation-time windows when the history is long."""
        total = self._total or 0
        windows = min(
            2 * self._settings.max_concurrency,
            total // (MIN_PAGES_PER_WINDOW * self._settings.page_size),
        )
        if windows < 2:
            return
        try:
            walks = await plan_windows(client, self._run_sync.window_end, total, windows)
        except GraphQLError as error:
            if not error.is_schema_mismatch:
                raise
            log.warning(f"runs: this Dagster can't filter by creation time; one walk ({error})")
            return
        self._run_sync = replace(self._run_sync, walks=walks)
        log.info(f"runs: {total:,} runs split into {len(walks)} windows walked concurrently")

    async def _walk(self, client: DagsterClient, walk: RunWalk) -> None:
        updated_after = self._run_sync.updated_after
        pages = walk_runs(client, walk, updated_after, self._settings.page_size)
        while True:
            async with self._page_slots:
                page = await anext(pages, None)
                if page is None:
                    return
                await self._save(walk, page)
            walk = page.walk

    async def _save(self, walk: RunWalk, page: RunPage) -> None:
        """Sends the page's rows, then a checkpoint naming the walk's new position."""
        async with self._lock:
            if page.rows:
                await self._channel.put(Rows(RUNS_TABLE, page.rows))
            walks = [page.walk if w is walk else w for w in self._run_sync.walks]
            if page.finished:
                walks = [w for w in walks if w is not page.walk]
            self._run_sync = replace(
                self._run_sync, walks=walks, rows_done=self._run_sync.rows_done + len(page.rows)
            )
            if walks:
                state = SyncState(self._synced_until, self._run_sync)
            else:
                state = SyncState(runs_synced_until=self._run_sync.window_end)
            await self._channel.put(Checkpoint(state.to_dict()))
            self._pages += 1
            self._log_progress(final=False)

    def _log_progress(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_progress = now
        done = self._run_sync.rows_done
        rate = (done - self._rows_at_start) / max(now - self._started, 1e-6)
        share = ""
        if self._total:
            share = f" of {self._total:,} ({min(100.0, 100.0 * done / self._total):.1f}%)"
        label = "done" if final else "progress"
        log.info(f"runs {label}: {done:,} rows{share}, {self._pages} pages, {rate:,.0f} rows/s")
