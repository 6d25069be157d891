"""`dagster_ticks`: every tick of every schedule and sensor (incremental, append-mostly).

Keyed by `tickId` (Dagster's storage id; `InstigationTick.id` differs between versions).
Ticks are never deleted: Dagster purges old skipped sensor ticks, the destination keeps them.

Each sync asks for every repository's schedules, and for their sensors, each with its latest
`BATCH_TICKS` ticks (`ticks(limit:)` with no other argument is answered for the whole
repository by one batched query), several repositories per request (`repository_batch.py`). Per instigator (state: `extractor/tick_state.py`):
  * the ticks at or after its watermark (the newest timestamp synced), those made since the
    last sync (a larger tickId), and those last seen STARTED are sent: when nothing is new,
    that is the latest tick alone (a schedule tick can be retried in place: FAILURE, then
    STARTED, then SUCCESS, with the same tickId, and it is always the latest);
  * when all of the batch is newer than the watermark, a walk (`extractor/tick_walk.py`) reads
    the gap, newest first, down to the watermark; an instigator never synced is walked whole;
  * a tick last seen STARTED that neither read is read again from the ticks around its
    timestamp, until it ends (or is purged).
Walks are saved after their pages, so a killed sync resumes them; a few instigators are
walked at once. A repository that fails is a warning: the others go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any

from extractor.client import DagsterClient, Operation, unwrap
from extractor.errors import ResultError
from extractor.events import Rows
from extractor.log import log
from extractor.repository_batch import REPOSITORIES_PER_REQUEST, RepositoryQuery, fetch_by_repository
from extractor.snapshot import SKIPPABLE
from extractor.table import SyncContext, Table
from extractor.tick_state import KINDS, MAX_OPEN_TICKS, InstigatorPosition, TickPositions, TickWalk
from extractor.tick_walk import OVERLAP_SECONDS, WALK_PAGE_SIZE, reread_tick, timestamp_of, walk_ticks
from extractor.transforms import Row, utc_datetime
from extractor.workspace import Repository

NAME = "dagster_ticks"
BATCH_TICKS = 20  # latest ticks per instigator in the per-repository request
CONCURRENT_INSTIGATORS = 3  # instigators walked at once
SEND_ROWS = 1000  # rows per `Rows` event
CHECKPOINT_ROWS = 1000  # a checkpoint once this many rows were sent since the last one
PROGRESS_INTERVAL_SECONDS = 30.0

_TICK_FIELDS = "tickId status timestamp endTimestamp runIds runKeys skipReason error { message }"

_BATCH = """
    __typename
    ... on {typename} {{
      results {{
        name
        {state} {{ selectorId instigationType ticks(limit: $limit) {{ {fields} }} }}
      }}
    }}
    ... on Error {{ message }}"""

SCHEDULE_TICKS = RepositoryQuery(
    "ConnectorScheduleTicks", "schedulesOrError", "Schedules",
    _BATCH.format(typename="Schedules", state="scheduleState", fields=_TICK_FIELDS), {"limit": "Int!"},
)  # fmt: skip
SENSOR_TICKS = RepositoryQuery(
    "ConnectorSensorTicks", "sensorsOrError", "Sensors",
    _BATCH.format(typename="Sensors", state="sensorState", fields=_TICK_FIELDS), {"limit": "Int!"},
)  # fmt: skip
# kind -> the per-repository query of its instigators with their latest ticks, and the state field
_BATCHES = {"schedules": (SCHEDULE_TICKS, "scheduleState"), "sensors": (SENSOR_TICKS, "sensorState")}

INSTIGATOR_TICKS = Operation(
    "ConnectorInstigatorTicks",
    f"""
query ConnectorInstigatorTicks(
  $selector: InstigationSelector!, $limit: Int!, $before: Float, $after: Float
) {{
  instigationStateOrError(instigationSelector: $selector) {{
    __typename
    ... on InstigationState {{
      selectorId
      ticks(limit: $limit, beforeTimestamp: $before, afterTimestamp: $after) {{ {_TICK_FIELDS} }}
    }}
    ... on Error {{ message }}
  }}
}}""",
)


@dataclass(frozen=True)
class Instigator:
    """A schedule or sensor of a repository."""

    repository: Repository
    kind: str  # "schedules" or "sensors"
    name: str
    selector_id: str
    instigation_type: str | None

    @property
    def selector(self) -> dict[str, str]:
        """Its `InstigationSelector`."""
        return {**self.repository.selector, "name": self.name}

    @property
    def label(self) -> str:
        return f"{self.kind[:-1]} {self.name} of {self.repository.label}"


def tick_row(tick: dict[str, Any], instigator: Instigator) -> Row:
    """A `dagster_ticks` row from an `InstigationTick`."""
    error = tick.get("error") or {}
    return {
        "id": str(tick["tickId"]),
        "instigator_id": instigator.selector_id,
        "instigator_name": instigator.name,
        "instigator_type": instigator.instigation_type,
        "code_location": instigator.repository.location_name,
        "repository": instigator.repository.name,
        "status": tick.get("status"),
        "timestamp": utc_datetime(tick.get("timestamp")),
        "end_time": utc_datetime(tick.get("endTimestamp")),
        "run_ids": list(tick.get("runIds") or []),
        "run_keys": list(tick.get("runKeys") or []),
        "skip_reason": tick.get("skipReason"),
        "error_message": error.get("message"),
    }


def plan_batch(
    saved: InstigatorPosition | None, ticks: list[dict[str, Any]]
) -> tuple[InstigatorPosition, list[dict[str, Any]]]:
    """From an instigator's latest ticks: the ones to send, and its position with the walk
    it needs, if any (not yet noting the ticks sent)."""
    oldest = min((timestamp_of(tick) for tick in ticks), default=None)
    if saved is None:  # never synced: all of it, and a walk over the rest of its history
        walk = TickWalk(None if oldest is None else oldest + OVERLAP_SECONDS, None)
        return InstigatorPosition(walks=[walk]), list(ticks)
    position, watermark = saved, saved.watermark
    send = [
        tick
        for tick in ticks
        if watermark is None
        or timestamp_of(tick) >= watermark - OVERLAP_SECONDS
        or tick["tickId"] in position.open
        or position.is_new(tick)
    ]
    gap = oldest is not None and (watermark is None or oldest > watermark + OVERLAP_SECONDS)
    covered = any(  # a walk still to finish that starts from the newest ticks reads the gap too
        walk.before is None and (walk.stop is None or (watermark is not None and walk.stop <= watermark))
        for walk in position.walks
    )
    if gap and not covered:
        assert oldest is not None
        position.walks.append(TickWalk(oldest + OVERLAP_SECONDS, watermark))
    return position, send


async def fetch_instigator_ticks(
    client: DagsterClient, instigator: Instigator, before: float | None, after: float | None
) -> list[dict[str, Any]]:
    """One instigator's ticks strictly between `after` and `before`, newest first."""
    variables = {"selector": instigator.selector, "limit": WALK_PAGE_SIZE, "before": before, "after": after}
    data = await client.execute(INSTIGATOR_TICKS, variables)
    state = unwrap(INSTIGATOR_TICKS.name, data["instigationStateOrError"], "InstigationState")
    if state["selectorId"] != instigator.selector_id:  # a sensor and a schedule of one name
        message = f"{instigator.label} names another instigator"
        raise ResultError(INSTIGATOR_TICKS.name, "InstigationState", message)
    return state["ticks"]


class TickSync:
    """One sync of the table; `state.tables["dagster_ticks"]` is updated as rows are sent."""

    def __init__(self, context: SyncContext) -> None:
        self._context = context
        self._positions = TickPositions(context.state.table(NAME))
        self._slots = asyncio.Semaphore(CONCURRENT_INSTIGATORS)
        self._unsaved_rows = 0
        self._rows = self._pages = self._walks = self._rechecked = self._batches = 0
        self._instigators = self._followed = 0
        self._last_progress = time.monotonic()

    async def run(self) -> None:
        workspace = await self._context.listed_workspace()
        dropped = 0
        if workspace.locations:  # none at all (a redeploy?) is not "every instigator is gone"
            dropped = self._positions.drop_gone_repositories(workspace)
        await _all(self._sync_kind(workspace.repositories, kind) for kind in KINDS)
        await self._context.checkpoint()
        log.info(
            f"{NAME}: {self._rows} rows; {self._batches} batch requests for {self._instigators} "
            f"schedules and sensors, {self._pages} pages of {self._walks} walks, "
            f"{self._rechecked} open ticks re-read"
            + (f"; {dropped} instigators gone from the workspace forgotten" if dropped else "")
        )

    async def _sync_kind(self, repositories: list[Repository], kind: str) -> None:
        """The latest ticks of every repository's schedules (or sensors), several repositories
        per request, then the walks and re-reads each of them needs."""
        query, _ = _BATCHES[kind]
        answers = await fetch_by_repository(self._context.client, [query], repositories, {"limit": BATCH_TICKS})
        self._batches += -(-len(repositories) // REPOSITORIES_PER_REQUEST)
        await _all(self._sync_repository(repository, kind, answer) for repository, answer in answers.items())

    async def _sync_repository(
        self, repository: Repository, kind: str, answer: dict[str, Any] | Exception
    ) -> None:
        try:
            if isinstance(answer, Exception):
                raise answer
            planned = await self._read_batch(repository, kind, answer["results"])
        except SKIPPABLE as error:
            log.warning(f"{NAME}: skipping the {kind} of repository {repository.label}: {error}")
            return
        await _all(
            self._follow(instigator, position, seen)
            for instigator, position, seen in planned
            if position.walks or set(position.open) - seen
        )

    async def _read_batch(
        self, repository: Repository, kind: str, results: list[dict[str, Any]]
    ) -> list[tuple[Instigator, InstigatorPosition, set[str]]]:
        """Sends what the batch holds to send; returns each instigator, its position and the
        ids of the ticks read."""
        saved = self._positions.of_kind(repository, kind)
        rows: list[Row] = []
        sent = 0
        planned: list[tuple[Instigator, InstigatorPosition, set[str]]] = []
        for result in results:
            if len(rows) >= SEND_ROWS:
                await self._send(rows)
                sent, rows = sent + len(rows), []
            state = result[_BATCHES[kind][1]]
            instigator = Instigator(
                repository, kind, result["name"], state["selectorId"], state.get("instigationType")
            )
            ticks = state.get("ticks") or []
            position, send = plan_batch(saved.get(instigator.selector_id), ticks)
            self._warn_dropped(instigator, position.note(send))
            rows += [tick_row(tick, instigator) for tick in send]
            planned.append((instigator, position, {tick["tickId"] for tick in ticks}))
        self._instigators += len(planned)
        await self._send(rows)
        for instigator, position, _ in planned:  # every row of the batch is sent
            self._positions.save(repository, kind, instigator.selector_id, position)
        self._positions.keep_only(repository, kind, {instigator.selector_id for instigator, _, _ in planned})
        await self._saved(sent + len(rows))
        return planned

    async def _follow(self, instigator: Instigator, position: InstigatorPosition, seen: set[str]) -> None:
        """The instigator's walks, then its open ticks that no page of this sync held.

        `seen`: the ids this sync has read of the batch's ticks and of the open ticks."""
        async with self._slots:
            for walk in list(position.walks):
                if not await self._walk(instigator, position, walk, seen):
                    break
            await self._reread_open(instigator, position, seen)
            self._followed += 1
            self._progress()

    async def _walk(
        self, instigator: Instigator, position: InstigatorPosition, walk: TickWalk, seen: set[str]
    ) -> bool:
        """Runs one walk, saving it after each page; False when it failed (it resumes later)."""

        async def fetch(before: float | None, after: float | None) -> list[dict[str, Any]]:
            return await fetch_instigator_ticks(self._context.client, instigator, before, after)

        self._walks += 1
        try:
            async for page in walk_ticks(fetch, walk, f"{NAME}: {instigator.label}", seen):
                send = [
                    tick
                    for tick in page.ticks
                    if walk.stop is None
                    or timestamp_of(tick) >= walk.stop - OVERLAP_SECONDS
                    or tick["tickId"] in position.open
                ]
                self._warn_dropped(instigator, position.note(send))
                # only the open ones: `seen` stays as small as `open`, however long the history
                seen.update(tick["tickId"] for tick in send if tick["tickId"] in position.open)
                if page.next_before is None:
                    position.walks.remove(walk)
                else:
                    walk.before = page.next_before
                self._pages += 1
                rows = [tick_row(tick, instigator) for tick in send]
                await self._send(rows)
                self._positions.save(instigator.repository, instigator.kind, instigator.selector_id, position)
                await self._saved(len(rows))
                self._progress()
        except SKIPPABLE as error:
            log.warning(
                f"{NAME}: reading the ticks of {instigator.label} stopped ({error}); the next "
                "sync goes on from there"
            )
            return False
        return True

    async def _reread_open(
        self, instigator: Instigator, position: InstigatorPosition, seen: set[str]
    ) -> None:
        """Reads again the ticks last seen STARTED that this sync has not read yet."""

        async def fetch(before: float | None, after: float | None) -> list[dict[str, Any]]:
            return await fetch_instigator_ticks(self._context.client, instigator, before, after)

        for tick_id, timestamp in list(position.open.items()):
            if tick_id in seen:
                continue
            try:
                tick = await reread_tick(fetch, tick_id, timestamp)
            except SKIPPABLE as error:
                log.warning(f"{NAME}: could not read tick {tick_id} of {instigator.label} again: {error}")
                continue
            self._rechecked += 1
            rows = []
            if tick is None:  # purged
                position.open.pop(tick_id, None)
            else:
                position.note([tick])
                rows = [tick_row(tick, instigator)]
            await self._send(rows)
            self._positions.save(instigator.repository, instigator.kind, instigator.selector_id, position)
            await self._saved(len(rows))

    async def _send(self, rows: list[Row]) -> None:
        for start in range(0, len(rows), SEND_ROWS):
            await self._context.send(Rows(NAME, rows[start : start + SEND_ROWS]))
        self._rows += len(rows)

    async def _saved(self, rows: int) -> None:
        """Checkpoints once enough rows were sent (the state already says what they were)."""
        self._unsaved_rows += rows
        if self._unsaved_rows >= CHECKPOINT_ROWS:
            self._unsaved_rows = 0
            await self._context.checkpoint()

    def _progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL_SECONDS:
            self._last_progress = now
            log.info(
                f"{NAME}: {self._rows:,} rows so far, {self._pages} walk pages; "
                f"{self._followed} instigators walked or re-read"
            )

    @staticmethod
    def _warn_dropped(instigator: Instigator, dropped: int) -> None:
        if dropped:
            log.warning(
                f"{NAME}: {instigator.label} has more than {MAX_OPEN_TICKS} ticks STARTED; the "
                f"oldest {dropped} are no longer read again until they end"
            )


async def _all(work: Iterable[Awaitable[None]]) -> None:
    """Awaits every one; then raises the first failure, if any (none is left running)."""
    outcomes = await asyncio.gather(*work, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def sync(context: SyncContext) -> None:
    await TickSync(context).run()


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "instigator_id": "STRING",
        "instigator_name": "STRING",
        "instigator_type": "STRING",
        "code_location": "STRING",
        "repository": "STRING",
        "status": "STRING",
        "timestamp": "UTC_DATETIME",
        "end_time": "UTC_DATETIME",
        "run_ids": "JSON",
        "run_keys": "JSON",
        "skip_reason": "STRING",
        "error_message": "STRING",
    },
    sync=sync,
)
