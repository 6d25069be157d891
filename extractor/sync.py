"""Orchestration: runs the extraction on an event loop in a worker thread, concurrently per
resource, and hands `update()` a stream of `Rows`, `Deletes` and `Checkpoint` events through a
bounded `Channel`.

Error policy: a failure of the run sync ends the sync, but only after the other resources have
finished and everything they sent is checkpointed (the run walks resume from their last saved
page); a failure of assets, or of one repository's schedules or sensors, is a warning: that
part is skipped, and nothing of it is deleted. When `update()` stops reading, the worker is
cancelled and stops promptly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from extractor.assets import asset_pages
from extractor.channel import Channel, ChannelClosed
from extractor.client import DagsterClient
from extractor.config import Settings
from extractor.errors import DagsterConnectorError
from extractor.events import Checkpoint, Deletes, Rows
from extractor.log import log
from extractor.run_sync import RunSyncer
from extractor.schedules import fetch_schedule_rows
from extractor.sensors import fetch_active_runs_by_sensor_name, fetch_sensors, sensor_rows
from extractor.server import ServerInfo, connect
from extractor.snapshot import SnapshotListing, reconcile
from extractor.state import SyncState
from extractor.tables import ASSETS_TABLE, SCHEDULES_TABLE, SENSORS_TABLE
from extractor.workspace import Repository, Workspace, load_workspace

T = TypeVar("T")
SNAPSHOT_TABLES = (ASSETS_TABLE, SCHEDULES_TABLE, SENSORS_TABLE)  # in the order they are synced
CHANNEL_ITEMS = 4  # events held between the extractor and update(): about 2 pages
STOP_TIMEOUT_SECONDS = 10.0

# Failures of a non-run resource that skip that part with a warning instead of ending the sync.
_SKIPPABLE = (DagsterConnectorError, KeyError, TypeError)


@dataclass(frozen=True)
class _Finished:
    pass


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _Extraction:
    """The async side: one client, the resource tasks, all writing to one channel."""

    def __init__(self, settings: Settings, state: SyncState, channel: Channel) -> None:
        self._settings = settings
        self._state = state
        self._channel = channel
        self._unsaved = False  # rows or deletes sent since the last checkpoint

    async def run(self) -> None:
        async with DagsterClient(self._settings) as client:
            # One request before the concurrent ones: reachability and credentials fail fast.
            server = await connect(client, self._settings.graphql_url)
            log.info(f"connected to Dagster {server.version} at {self._settings.graphql_url}")
            workspace = asyncio.ensure_future(load_workspace(client))
            try:
                run_failure, *listings = await asyncio.gather(
                    self._sync_runs(client, server),
                    self._skip_on_failure("assets", self._sync_assets(client, workspace)),
                    self._skip_on_failure("schedules", self._sync_schedules(client, workspace)),
                    self._skip_on_failure("sensors", self._sync_sensors(client, workspace, server)),
                )
                listed = {t: found for t, found in zip(SNAPSHOT_TABLES, listings) if found}
                if listed:
                    deleting = self._delete_gone(client, listed, workspace)
                    await self._skip_on_failure("deletions", deleting)
            finally:  # cancelled: the shared listing stops too
                workspace.cancel()
                await asyncio.gather(workspace, return_exceptions=True)
            log.info(
                f"requests sent: {client.requests_sent} "
                f"({client.throttle.rate_limited_answers} answered 429)"
            )
            if self._unsaved:
                # Everything is extracted: one last checkpoint commits the other resources' rows.
                await self._checkpoint()
            if run_failure is not None:
                raise run_failure

    async def _send(self, event: Rows | Deletes) -> None:
        await self._channel.put(event)
        self._unsaved = True

    async def _checkpoint(self) -> None:
        await self._channel.put(Checkpoint(self._state.to_dict()))
        self._unsaved = False

    async def _send_run_rows(self, rows: Rows | None) -> None:
        if rows is not None:
            await self._send(rows)
        await self._checkpoint()

    async def _skip_on_failure(self, resource: str, work: Awaitable[T]) -> T | None:
        try:
            return await work
        except _SKIPPABLE as error:
            log.warning(f"skipping {resource}: {type(error).__name__}: {error}")
            return None

    async def _sync_runs(self, client: DagsterClient, server: ServerInfo) -> Exception | None:
        """Runs the run sync; returns what ended it early, if anything (raised at the end)."""
        try:
            await RunSyncer(self._settings, self._state, server, self._send_run_rows).run(client)
        except Exception as error:
            log.error(
                f"runs: the sync stopped ({type(error).__name__}: {error}); everything up to "
                "the last checkpoint is saved and the next sync resumes from there"
            )
            return error
        return None

    async def _delete_gone(
        self,
        client: DagsterClient,
        listings: dict[str, SnapshotListing],
        listing: Awaitable[Workspace],
    ) -> None:
        """Deletes what the listings no longer hold, and records each table's new keys."""
        workspace = await asyncio.shield(listing)
        # A location that broke or reloaded while we listed may have been listed in part.
        still = await load_workspace(client, warn=False)
        if not workspace.locations or not still.locations:
            log.warning("the workspace lists no code location (a redeploy?): nothing is deleted")
            return
        for table, found in listings.items():
            found.complete &= still.loaded
            previous = self._state.snapshots.get(table, {})
            deleted, snapshot = reconcile(previous, found, workspace.locations)
            if deleted:
                log.info(f"{table}: {len(deleted)} row(s) gone from Dagster are marked deleted")
                await self._send(Deletes(table, [{"id": key} for key in deleted]))
            self._state.snapshots[table] = snapshot
            self._unsaved = True

    async def _sync_assets(
        self, client: DagsterClient, listing: Awaitable[Workspace]
    ) -> SnapshotListing:
        workspace = await asyncio.shield(listing)
        found = SnapshotListing(complete=set(workspace.loaded))
        rows = pages = 0
        async for page in asset_pages(client):
            pages += 1
            for row, location in zip(page.rows, page.locations):
                found.add(location, row["id"])
            await self._send(Rows(ASSETS_TABLE, page.rows))
            rows += len(page.rows)
        log.info(f"assets: {rows} rows in {pages} pages")
        return found

    async def _sync_schedules(
        self, client: DagsterClient, listing: Awaitable[Workspace]
    ) -> SnapshotListing:
        workspace = await asyncio.shield(listing)
        found = SnapshotListing(complete=set(workspace.loaded))
        results = await asyncio.gather(
            *(self._schedules_of(client, repo) for repo in workspace.repositories)
        )
        for repository, rows in zip(workspace.repositories, results):
            if rows is None:
                found.complete.discard(repository.location_name)
                continue
            for row in rows:
                found.add(repository.location_name, row["id"])
            if rows:
                await self._send(Rows(SCHEDULES_TABLE, rows))
        count = sum(len(rows) for rows in results if rows)
        log.info(f"schedules: {count} rows from {len(workspace.repositories)} repositories")
        return found

    async def _sync_sensors(
        self, client: DagsterClient, listing: Awaitable[Workspace], server: ServerInfo
    ) -> SnapshotListing:
        page_size = self._settings.page_size
        statuses = server.not_finished_statuses
        workspace, active_by_name = await asyncio.gather(
            asyncio.shield(listing), fetch_active_runs_by_sensor_name(client, statuses, page_size)
        )
        found = SnapshotListing(complete=set(workspace.loaded))
        fetched = await asyncio.gather(
            *(self._sensors_of(client, repo) for repo in workspace.repositories)
        )
        sensors_by_repository = {}
        for repository, sensors in zip(workspace.repositories, fetched):
            if sensors is None:
                found.complete.discard(repository.location_name)
            else:
                sensors_by_repository[repository] = sensors
        rows_by_repository = await sensor_rows(
            client, sensors_by_repository, active_by_name, statuses, page_size
        )
        count = 0
        for repository, rows in rows_by_repository.items():
            for row in rows:
                found.add(repository.location_name, row["id"])
            if rows:
                await self._send(Rows(SENSORS_TABLE, rows))
                count += len(rows)
        log.info(f"sensors: {count} rows from {len(workspace.repositories)} repositories")
        return found

    async def _schedules_of(self, client: DagsterClient, repository: Repository) -> list | None:
        try:
            return await fetch_schedule_rows(client, repository)
        except _SKIPPABLE as error:
            log.warning(f"schedules: skipping repository {repository.label}: {error}")
            return None

    async def _sensors_of(self, client: DagsterClient, repository: Repository) -> list | None:
        try:
            return await fetch_sensors(client, repository)
        except _SKIPPABLE as error:
            log.warning(f"sensors: skipping repository {repository.label}: {error}")
            return None


def extract(settings: Settings, state: SyncState) -> Iterator[Rows | Deletes | Checkpoint]:
    """Yields the sync's events in order; raises what ended the extraction, if anything.

    The extraction runs in a worker thread with its own event loop; leaving the iterator
    early (an exception in the caller) cancels it and waits for it to stop.
    """
    channel = Channel(maxsize=CHANNEL_ITEMS)
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
    try:
        while True:
            item = channel.get(producer_alive=worker.is_alive)
            if isinstance(item, (_Finished, _Failed)):
                ended = True
            if isinstance(item, _Finished):
                break
            if isinstance(item, _Failed):
                raise item.error
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
