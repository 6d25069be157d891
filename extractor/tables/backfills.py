"""`dagster_backfills`: every backfill, incrementally by creation time; the ones not finished
are re-read by id until they are.

Position (`state.tables["dagster_backfills"]`):

    {"created_until": 1718000000.0,   # newest creation time seen (Dagster's clock), <= a sync's start
     "open": {"abcdefgh": 1717990000.0},  # backfills last seen not finished -> creation time
     "open_overflow_since": null,     # creation time of the oldest unfinished one not tracked
     "sync": {"first": false, "started_at": ..., "created_until": ..., "rows_done": 120,
              "walk": {"created_after": ..., "created_before": null,
                       "cursor": "abcdefgh", "cursor_created": ...}}}   # only mid-sync

A first sync walks every backfill, newest first, and checkpoints after each page with the
walk's cursor. An incremental sync walks the backfills created after `created_until` minus
the look-back (`filters.createdAfter`: with nothing new, a page of the look-back's backfills,
an empty page and a check that the last cursor still exists), then re-reads by
id (`partitionBackfillOrError`) each backfill tracked in `open` that the walk did not read; one
gone from Dagster (`BackfillNotFoundError`) keeps its row and is no longer tracked, one Dagster
fails to answer for stays tracked (a warning; the next sync tries again). At most
`MAX_TRACKED_OPEN` are tracked; past that, the oldest untracked one's creation time is kept
and the next sync walks every backfill created since then. Never deleted: the destination
keeps backfills purged from Dagster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.backfills import TERMINAL_STATUSES, BackfillWalk, fetch_backfill, walk_backfills
from extractor.concurrency import gather_all
from extractor.errors import ResultError, ServerFailure
from extractor.events import Rows
from extractor.log import log
from extractor.positions import float_map, load_position, optional_float
from extractor.server import server_now
from extractor.table import SyncContext, Table
from extractor.transforms import Row, asset_key_id, utc_datetime

NAME = "dagster_backfills"
PAGE_SIZE = 100  # backfills per page (at most `page_size`): each body is deserialized
MAX_TRACKED_OPEN = 1000
RECHECK_BATCH = 20  # backfills re-read by id concurrently, then saved together
_UNREADABLE: dict[str, Any] = {}  # a re-read that Dagster failed to answer


def backfill_row(backfill: dict[str, Any]) -> Row:
    """A `dagster_backfills` row from a `PartitionBackfill` (`numPartitions` may be absent)."""
    error = backfill.get("error") or {}
    selection = backfill.get("assetSelection")
    return {
        "id": backfill["id"],
        "status": backfill.get("status"),
        "is_asset_backfill": backfill.get("isAssetBackfill"),
        "job_name": backfill.get("jobName"),
        "partition_set_name": backfill.get("partitionSetName"),
        "asset_selection": None if selection is None else [asset_key_id(key["path"]) for key in selection],
        "num_partitions": backfill.get("numPartitions"),
        "from_failure": backfill.get("fromFailure"),
        "creation_time": utc_datetime(backfill.get("creationTime")),
        "end_time": utc_datetime(backfill.get("endTimestamp")),
        "tags": {tag["key"]: tag["value"] for tag in backfill.get("tags") or ()},
        "error_message": error.get("message"),
        "user": backfill.get("user"),
        "title": backfill.get("title"),
        "description": backfill.get("description"),
    }


@dataclass
class WalkProgress:
    """A walk in progress: where it is and what it has seen."""

    first: bool
    started_at: float  # the sync's start in Dagster's clock: the watermark never goes past it
    walk: BackfillWalk
    created_until: float | None = None
    rows_done: int = 0


@dataclass
class BackfillsPosition:
    created_until: float | None = None
    open: dict[str, float] = field(default_factory=dict)
    open_overflow_since: float | None = None
    sync: WalkProgress | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> BackfillsPosition:
        sync = raw.get("sync")
        progress = None
        if sync is not None:
            walk = sync["walk"]
            cursor = walk.get("cursor")
            if cursor is not None and not isinstance(cursor, str):
                raise TypeError("the walk's cursor must be a string")
            progress = WalkProgress(
                first=bool(sync["first"]),
                started_at=float(sync["started_at"]),
                walk=BackfillWalk(
                    created_after=optional_float(walk.get("created_after")),
                    created_before=optional_float(walk.get("created_before")),
                    cursor=cursor,
                    cursor_created=optional_float(walk.get("cursor_created")),
                ),
                created_until=optional_float(sync.get("created_until")),
                rows_done=int(sync.get("rows_done", 0)),
            )
        return cls(
            created_until=optional_float(raw.get("created_until")),
            open=float_map(raw.get("open") or {}),
            open_overflow_since=optional_float(raw.get("open_overflow_since")),
            sync=progress,
        )


class BackfillSync:
    """One sync of `dagster_backfills`; the position is saved into the state at each checkpoint."""

    def __init__(self, context: SyncContext) -> None:
        self._context = context
        self._saved = context.state.table(NAME)
        self._position, readable = load_position(NAME, self._saved, BackfillsPosition.parse, BackfillsPosition())
        # The position the state holds (None: unreadable, replaced at the end whatever happens).
        self._checkpointed: dict[str, Any] | None = self._position.to_dict() if readable else None

    async def run(self) -> None:
        position = self._position
        if position.sync is None:
            position.sync = self._plan()
        else:
            log.info(f"{NAME}: resuming an interrupted sync after backfill {position.sync.walk.cursor}")
        to_recheck = set(position.open)
        seen: set[str] = set()  # the tracked backfills the walk read
        page_size = min(PAGE_SIZE, self._context.settings.page_size)
        async for page in walk_backfills(self._context.client, position.sync.walk, page_size):
            seen.update(backfill["id"] for backfill in page.backfills if backfill["id"] in to_recheck)
            await self._save_page(page.backfills, page.walk)
        self._finish_walk()
        if position.to_dict() != self._checkpointed:
            await self._checkpoint()  # the walk is done, whatever the re-reads meet
        await self._recheck([backfill_id for backfill_id in position.open if backfill_id in to_recheck - seen])

    def _plan(self) -> WalkProgress:
        position, lookback = self._position, self._context.settings.lookback_seconds
        started_at = server_now(self._context.server)
        if position.created_until is None:
            log.info(f"{NAME}: first sync, reading every backfill")
            return WalkProgress(first=True, started_at=started_at, walk=BackfillWalk())
        created_after = position.created_until - lookback
        if position.open_overflow_since is not None:
            log.warning(
                f"{NAME}: more than {MAX_TRACKED_OPEN} backfills were unfinished last time; "
                "reading every backfill created since the oldest untracked one"
            )
            created_after = min(created_after, position.open_overflow_since - lookback)
            position.open_overflow_since = None  # the walk stands for it; set again if need be
        walk = BackfillWalk(created_after=created_after)
        return WalkProgress(first=False, started_at=started_at, walk=walk)

    async def _save_page(self, backfills: list[dict[str, Any]], walk: BackfillWalk) -> None:
        sync = self._position.sync
        assert sync is not None
        for backfill in backfills:
            self._track(backfill)
            created = backfill.get("creationTime")
            if created is not None:
                sync.created_until = created if sync.created_until is None else max(sync.created_until, created)
        sync.walk = walk
        sync.rows_done += len(backfills)
        if backfills:
            await self._send(backfills)
            await self._checkpoint()

    def _track(self, backfill: dict[str, Any]) -> None:
        position, backfill_id = self._position, backfill["id"]
        if backfill.get("status") in TERMINAL_STATUSES:
            position.open.pop(backfill_id, None)
            return
        created = float(backfill.get("creationTime") or 0.0)
        if backfill_id in position.open or len(position.open) < MAX_TRACKED_OPEN:
            position.open[backfill_id] = created
        else:
            since = position.open_overflow_since
            position.open_overflow_since = created if since is None else min(since, created)

    def _finish_walk(self) -> None:
        """Moves what the walk saw into the watermark, capped at the sync's start."""
        position = self._position
        sync = position.sync
        assert sync is not None
        if sync.created_until is not None:
            seen = min(sync.created_until, sync.started_at)
            position.created_until = seen if position.created_until is None else max(position.created_until, seen)
        log.info(f"{NAME}: {sync.rows_done} backfill(s) read by the walk; {len(position.open)} tracked unfinished")
        position.sync = None

    async def _recheck(self, backfill_ids: list[str]) -> None:
        """Re-reads tracked backfills by id; those gone from Dagster are no longer tracked."""
        if backfill_ids:
            log.info(f"{NAME}: re-reading {len(backfill_ids)} backfill(s) last seen unfinished")
        for start in range(0, len(backfill_ids), RECHECK_BATCH):
            batch = backfill_ids[start : start + RECHECK_BATCH]
            found = await gather_all(self._reread(backfill_id) for backfill_id in batch)
            for backfill_id, backfill in zip(batch, found):
                if backfill is None:
                    log.info(f"{NAME}: backfill {backfill_id} is gone from Dagster; its row is kept")
                    self._position.open.pop(backfill_id, None)
                elif backfill is not _UNREADABLE:
                    self._track(backfill)
            read = [backfill for backfill in found if backfill is not None and backfill is not _UNREADABLE]
            if read:
                await self._send(read)
            if read or self._position.to_dict() != self._checkpointed:
                await self._checkpoint()

    async def _reread(self, backfill_id: str) -> dict[str, Any] | None:
        """The backfill as it is now (None: gone); `_UNREADABLE` when Dagster fails to answer
        for it (it stays tracked, and the next sync tries again)."""
        try:
            return await fetch_backfill(self._context.client, backfill_id)
        except (ServerFailure, ResultError) as error:
            log.warning(f"{NAME}: could not re-read backfill {backfill_id} ({error}); trying again next sync")
            return _UNREADABLE

    async def _send(self, backfills: list[dict[str, Any]]) -> None:
        await self._context.send(Rows(NAME, [backfill_row(backfill) for backfill in backfills]))

    async def _checkpoint(self) -> None:
        """Commits the rows sent, with the position (every send is followed by one)."""
        self._checkpointed = self._position.to_dict()
        self._saved.clear()
        self._saved.update(self._checkpointed)
        await self._context.checkpoint()


async def sync(context: SyncContext) -> None:
    await BackfillSync(context).run()


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "status": "STRING",
        "is_asset_backfill": "BOOLEAN",
        "job_name": "STRING",
        "partition_set_name": "STRING",
        "asset_selection": "JSON",
        "num_partitions": "INT",
        "from_failure": "BOOLEAN",
        "creation_time": "UTC_DATETIME",
        "end_time": "UTC_DATETIME",
        "tags": "JSON",
        "error_message": "STRING",
        "user": "STRING",
        "title": "STRING",
        "description": "STRING",
    },
    sync=sync,
)
