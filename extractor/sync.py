"""Orchestration: runs the extraction on an event loop in a worker thread, every table of the
registry (`extractor/tables/`) concurrently, and hands `update()` a stream of `Rows`, `Deletes`
and `Checkpoint` events through a bounded `Channel`. Of the checkpoints the tables ask for,
`update()` gets each at once when it is idle, else the newest at most every
`CHECKPOINT_INTERVAL_SECONDS` (`CheckpointPacer`).

Error policy: a required table's failure (runs) ends the sync, but only after the other tables
have finished and everything they sent is checkpointed (the run walks resume from their last
saved page); any other table's failure, or one repository's, is a warning: that part is
skipped, and nothing of it is deleted. When `update()` stops reading, the worker is cancelled
and stops promptly.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from extractor.channel import Channel, ChannelClosed
from extractor.client import DagsterClient
from extractor.config import Settings
from extractor.events import Checkpoint, Deletes, Rows
from extractor.log import log
from extractor.server import connect
from extractor.snapshot import SKIPPABLE, SnapshotListing, reconcile
from extractor.state import SyncState
from extractor.table import SyncContext, Table
from extractor.tables import TABLES
from extractor.workspace import Workspace, load_workspace

T = TypeVar("T")
# About this many bytes of rows (as JSON) held between the extractor and update(): two pages
# of 5,000 runs with a few tags (≈ 480 bytes a run), or 700 runs with 30 tags of 200 characters.
CHANNEL_BYTES = 5_000_000
# A checkpoint at least every this many rows sent, whichever tables sent them: the SDK holds
# upserted rows in memory until a checkpoint. Safe at any moment: a table's position never
# names rows not yet sent (extractor/table.py).
CHECKPOINT_ROWS = 5000
# `update()` takes a checkpoint the extraction sends at once when it has nothing else to do
# (the channel is empty); while rows wait, it takes the newest one at most this often, or once
# CHECKPOINT_ROWS rows were upserted since the last: each costs the destination a commit (and
# `fivetran debug` a look at every declared table), which is more than writing a page of runs
# with large tags. A later checkpoint commits everything an earlier one would have.
CHECKPOINT_INTERVAL_SECONDS = 2.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class _Finished:
    pass


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _Extraction:
    """The async side: one client; every table's sync concurrently, all writing to one channel."""

    def __init__(self, settings: Settings, state: SyncState, channel: Channel) -> None:
        self._settings = settings
        self._state = state
        self._channel = channel
        self._unsaved = False  # rows or deletes sent since the last checkpoint
        self._unsaved_rows = 0

    async def run(self) -> None:
        async with DagsterClient(self._settings) as client:
            # One request before the concurrent ones: reachability and credentials fail fast.
            server = await connect(client, self._settings.graphql_url)
            log.info(f"connected to Dagster {server.version} at {self._settings.graphql_url}")
            context = SyncContext(
                settings=self._settings,
                state=self._state,
                client=client,
                server=server,
                workspace=asyncio.ensure_future(load_workspace(client)),
                send=self._send,
                checkpoint=self._checkpoint,
            )
            try:
                outcomes = await asyncio.gather(*(self._sync(table, context) for table in TABLES))
                listed = {t.name: o for t, o in zip(TABLES, outcomes) if isinstance(o, SnapshotListing)}
                if listed:
                    deleting = self._delete_gone(client, listed, context.workspace)
                    await self._skip_on_failure("deletions", deleting)
            finally:  # cancelled: the reads the tables shared stop too
                shared = [context.workspace, *context.shared.values()]
                for future in shared:
                    future.cancel()
                await asyncio.gather(*shared, return_exceptions=True)
            log.info(
                f"requests sent: {client.requests_sent} "
                f"({client.throttle.rate_limited_answers} answered 429)"
            )
            if self._unsaved:
                # Everything is extracted: one last checkpoint commits the other tables' rows.
                await self._checkpoint()
            failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
            if failures:
                raise failures[0]

    async def _send(self, event: Rows | Deletes) -> None:
        await self._channel.put(event)
        self._unsaved = True
        self._unsaved_rows += len(event.rows) if isinstance(event, Rows) else len(event.keys)
        if self._unsaved_rows >= CHECKPOINT_ROWS:
            await self._checkpoint()

    async def _checkpoint(self) -> None:
        await self._channel.put(Checkpoint(self._state.to_dict()))
        self._unsaved = False
        self._unsaved_rows = 0

    async def _sync(self, table: Table, context: SyncContext) -> SnapshotListing | Exception | None:
        """Runs one table's sync. A required table's failure is returned (raised once every
        table is done); any other table's failure is a warning."""
        if not table.required:
            return await self._skip_on_failure(table.name, table.sync(context))
        try:
            return await table.sync(context)
        except Exception as error:
            log.error(
                f"{table.name}: the sync stopped ({type(error).__name__}: {error}); everything "
                "up to the last checkpoint is saved and the next sync resumes from there"
            )
            return error

    async def _skip_on_failure(self, part: str, work: Awaitable[T]) -> T | None:
        try:
            return await work
        except SKIPPABLE as error:
            log.warning(f"skipping {part}: {type(error).__name__}: {error}")
            return None

    async def _delete_gone(
        self,
        client: DagsterClient,
        listings: dict[str, SnapshotListing],
        listing: Awaitable[Workspace],
    ) -> None:
        """Deletes what the listings no longer hold, and records each table's new keys."""
        workspace = await asyncio.shield(listing)
        # A location that broke or reloaded (a new version) while we listed may have been
        # listed in part.
        still = await load_workspace(client, warn=False)
        if not workspace.locations or not still.locations:
            log.warning("the workspace lists no code location (a redeploy?): nothing is deleted")
            return
        for table, found in listings.items():
            found.complete &= still.unchanged_since(workspace)
            previous = self._state.snapshots.get(table, {})
            deleted, snapshot = reconcile(previous, found, workspace.locations)
            if deleted:
                log.info(f"{table}: {len(deleted)} row(s) gone from Dagster are marked deleted")
                await self._send(Deletes(table, [{"id": key} for key in deleted]))
            self._state.snapshots[table] = snapshot
            if found.basis is not None:
                self._state.bases[table] = found.basis
            self._unsaved = True


class CheckpointPacer:
    """Which of the extraction's checkpoints `update()` takes (`CHECKPOINT_INTERVAL_SECONDS`):
    the newest one held, once `update()` is idle, or the last was long or many rows ago."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: Checkpoint | None = None
        self._rows = 0  # rows and deletes handed on since the last checkpoint taken
        self._last = clock()

    def hold(self, checkpoint: Checkpoint) -> None:
        self._held = checkpoint  # it commits all that the one it replaces would have

    def handed(self, event: Rows | Deletes) -> None:
        self._rows += len(event.rows) if isinstance(event, Rows) else len(event.keys)

    def due(self, idle: bool) -> Checkpoint | None:
        """The checkpoint to take now, if one is held and due."""
        if self._held is None:
            return None
        if idle or self._rows >= CHECKPOINT_ROWS or self._clock() - self._last >= CHECKPOINT_INTERVAL_SECONDS:
            return self.take()
        return None

    def take(self) -> Checkpoint | None:
        """The checkpoint held, if any, now taken."""
        held, self._held = self._held, None
        if held is not None:
            self._rows, self._last = 0, self._clock()
        return held


def _bytes_of(event: Any) -> int:
    """About how many bytes an event holds: its rows (or deleted keys) times the JSON size of
    the first (the rows of one event are alike: one table, one page); a checkpoint: 1."""
    items = event.rows if isinstance(event, Rows) else event.keys if isinstance(event, Deletes) else None
    if not items:
        return 1
    return len(items) * len(json.dumps(items[0], default=str))


def extract(settings: Settings, state: SyncState) -> Iterator[Rows | Deletes | Checkpoint]:
    """Yields the sync's events in order; raises what ended the extraction, if anything.

    The extraction runs in a worker thread with its own event loop; leaving the iterator
    early (an exception in the caller) cancels it and waits for it to stop.
    """
    channel = Channel(CHANNEL_BYTES, weight=_bytes_of)
    loop = asyncio.new_event_loop()

    async def main() -> None:
        try:
            try:
                await _Extraction(settings, state, channel).run()
            except (ChannelClosed, asyncio.CancelledError):
                return
            except BaseException as error:  # handed to the consumer, which raises it
                await _put_final(channel, _Failed(error))
                return
            await _put_final(channel, _Finished())
        except asyncio.CancelledError:  # the consumer stopped reading meanwhile
            return

    task = loop.create_task(main())

    def produce() -> None:
        try:
            loop.run_until_complete(task)
        finally:
            loop.close()

    worker = threading.Thread(target=produce, name="dagster-extractor", daemon=True)
    worker.start()
    ended = False  # the worker sent its last word: it ends by itself
    pacer = CheckpointPacer()
    try:
        while True:
            checkpoint = pacer.due(idle=channel.empty())
            if checkpoint is not None:
                yield checkpoint
            item = channel.get(producer_alive=worker.is_alive)
            if isinstance(item, (_Finished, _Failed)):
                ended = True
                checkpoint = pacer.take()  # what was saved before the end (or the failure)
                if checkpoint is not None:
                    yield checkpoint
            if isinstance(item, _Finished):
                break
            if isinstance(item, _Failed):
                raise item.error
            if isinstance(item, Checkpoint):
                pacer.hold(item)
            else:
                pacer.handed(item)
                yield item
    finally:
        channel.close()
        if not ended and worker.is_alive():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed meanwhile
                pass
        worker.join(timeout=STOP_TIMEOUT_SECONDS)


async def _put_final(channel: Channel, item: _Finished | _Failed) -> None:
    try:
        await channel.put(item)
    except ChannelClosed:
        pass
