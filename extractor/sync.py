"""Orchestration: runs the extraction on an event loop in a worker thread, concurrently per
resource, and hands `update()` a stream of `Rows` and `Checkpoint` events through a bounded
`Channel`.

Error policy: a failure of the run walk ends the sync (after its last checkpoint, so the
next sync resumes there); a failure of assets, or of one repository's schedules or sensors,
is logged as a warning and skips that part.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass

from extractor.assets import asset_pages
from extractor.channel import Channel, ChannelClosed
from extractor.client import DagsterClient
from extractor.config import Settings
from extractor.documents import SERVER_VERSION
from extractor.errors import DagsterConnectorError
from extractor.events import Checkpoint, Rows
from extractor.log import log
from extractor.repositories import Repository, list_repositories
from extractor.run_sync import RunSyncer
from extractor.schedules import fetch_schedule_rows
from extractor.sensors import fetch_active_runs_by_sensor_name, fetch_sensors, sensor_rows
from extractor.state import SyncState
from extractor.tables import ASSETS_TABLE, SCHEDULES_TABLE, SENSORS_TABLE

CHANNEL_ITEMS = 4  # events held between the extractor and update(): about 2 pages
MAX_ASSET_PAGE_SIZE = 500

# Failures of a non-run resource that skip that part with a warning instead of ending the sync.
_SKIPPABLE = (DagsterConnectorError, KeyError, TypeError)


@dataclass(frozen=True)
class _Finished:
    pass


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _Extraction:
    """The async side: one client, the three resource tasks, all writing to one channel."""

    def __init__(self, settings: Settings, state: SyncState, channel: Channel) -> None:
        self._settings = settings
        self._state = state
        self._channel = channel

    async def run(self) -> None:
        async with DagsterClient(self._settings) as client:
            # One request before the concurrent ones: reachability and credentials fail fast.
            version = (await client.execute(SERVER_VERSION))["version"]
            log.info(f"connected to Dagster {version} at {self._settings.graphql_url}")
            # Assets, schedules and sensors all start from the list of repositories.
            repositories = asyncio.ensure_future(list_repositories(client))
            await asyncio.gather(
                self._sync_runs(client),
                self._skip_on_failure("assets", self._sync_assets(client, repositories)),
                self._skip_on_failure("schedules", self._sync_schedules(client, repositories)),
                self._skip_on_failure("sensors", self._sync_sensors(client, repositories)),
            )
            log.info(
                f"requests sent: {client.requests_sent} "
                f"({client.throttle.rate_limited_answers} answered 429)"
            )

    async def _skip_on_failure(self, resource: str, work: Awaitable[None]) -> None:
        try:
            await work
        except _SKIPPABLE as error:
            log.warning(f"skipping {resource}: {type(error).__name__}: {error}")

    async def _sync_runs(self, client: DagsterClient) -> None:
        try:
            await RunSyncer(self._settings, self._state, self._channel).run(client)
        except DagsterConnectorError as error:
            log.error(
                f"runs: the sync stopped ({type(error).__name__}: {error}); everything up to "
                "the last checkpoint is saved and the next sync resumes from there"
            )
            raise

    async def _sync_assets(
        self, client: DagsterClient, listing: Awaitable[list[Repository]]
    ) -> None:
        repositories = await asyncio.shield(listing)
        page_size = min(self._settings.page_size, MAX_ASSET_PAGE_SIZE)
        counts = await asyncio.gather(
            *(self._sync_repository_assets(client, repo, page_size) for repo in repositories)
        )
        rows, pages = sum(c[0] for c in counts), sum(c[1] for c in counts)
        log.info(f"assets: {rows} rows, {pages} pages, from {len(repositories)} repositories")

    async def _sync_repository_assets(
        self, client: DagsterClient, repository: Repository, page_size: int
    ) -> tuple[int, int]:
        """Sends the repository's assets; returns (rows, pages)."""
        rows_sent = pages = 0
        async for rows in asset_pages(client, repository, page_size):
            pages += 1
            if rows:
                await self._channel.put(Rows(ASSETS_TABLE, rows))
                rows_sent += len(rows)
        return rows_sent, pages

    async def _sync_schedules(
        self, client: DagsterClient, listing: Awaitable[list[Repository]]
    ) -> None:
        repositories = await asyncio.shield(listing)
        counts = await asyncio.gather(
            *(self._schedules_of(client, repository) for repository in repositories)
        )
        log.info(f"schedules: {sum(counts)} rows from {len(repositories)} repositories")

    async def _sync_sensors(
        self, client: DagsterClient, listing: Awaitable[list[Repository]]
    ) -> None:
        page_size = self._settings.page_size
        repositories, active_by_name = await asyncio.gather(
            asyncio.shield(listing), fetch_active_runs_by_sensor_name(client, page_size)
        )
        found = await asyncio.gather(
            *(self._sensors_of(client, repository) for repository in repositories)
        )
        sensors_by_repository = {repo: sensors for repo, sensors in found if sensors is not None}
        rows_by_repository = await sensor_rows(
            client, sensors_by_repository, active_by_name, page_size
        )
        count = 0
        for rows in rows_by_repository.values():
            if rows:
                await self._channel.put(Rows(SENSORS_TABLE, rows))
                count += len(rows)
        log.info(f"sensors: {count} rows from {len(repositories)} repositories")

    async def _schedules_of(self, client: DagsterClient, repository: Repository) -> int:
        try:
            rows = await fetch_schedule_rows(client, repository)
        except _SKIPPABLE as error:
            log.warning(f"schedules: skipping repository {repository.label}: {error}")
            return 0
        if rows:
            await self._channel.put(Rows(SCHEDULES_TABLE, rows))
        return len(rows)

    async def _sensors_of(
        self, client: DagsterClient, repository: Repository
    ) -> tuple[Repository, list[dict] | None]:
        try:
            return repository, await fetch_sensors(client, repository)
        except _SKIPPABLE as error:
            log.warning(f"sensors: skipping repository {repository.label}: {error}")
            return repository, None


def extract(settings: Settings, state: SyncState) -> Iterator[Rows | Checkpoint]:
    """Yields the sync's events in order; raises what ended the extraction, if anything.

    The extraction runs in a worker thread with its own event loop; leaving the iterator
    early (an exception in the caller) stops it.
    """
    channel = Channel(maxsize=CHANNEL_ITEMS)

    def produce() -> None:
        async def main() -> None:
            try:
                await _Extraction(settings, state, channel).run()
            except ChannelClosed:
                return
            except BaseException as error:  # handed to the consumer, which raises it
                await _put_final(channel, _Failed(error))
                return
            await _put_final(channel, _Finished())

        asyncio.run(main())

    worker = threading.Thread(target=produce, name="dagster-extractor", daemon=True)
    worker.start()
    last_state = state.to_dict()
    rows_since_checkpoint = False
    try:
        while True:
            item = channel.get()
            if isinstance(item, _Finished):
                break
            if isinstance(item, _Failed):
                raise item.error
            if isinstance(item, Checkpoint):
                last_state = item.state
            rows_since_checkpoint = isinstance(item, Rows)
            yield item
    finally:
        channel.close()
        worker.join(timeout=30)
    if rows_since_checkpoint:
        # Everything is extracted: one last checkpoint commits the other resources' rows too.
        yield Checkpoint(last_state)


async def _put_final(channel: Channel, item: _Finished | _Failed) -> None:
    try:
        await channel.put(item)
    except ChannelClosed:
        pass
