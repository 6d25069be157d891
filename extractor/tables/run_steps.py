"""`dagster_run_steps`: each step of each finished run (`Run.stepStats`), read once per run,
when the run has reached SUCCESS, FAILURE or CANCELED.

The runs to read come from a cursor walk over `runsOrError(filter: {updatedAfter: W minus the
look-back, statuses: [SUCCESS, FAILURE, CANCELED]})`, newest created first (the run walk of
`extractor/runs.py`: clamp-safe, and safe when its cursor run is deleted); a first sync reads
the runs finished in the last `step_history_days` (0: every finished run). Their steps are then read `STEPS_BATCH` runs per request
(`extractor/step_stats.py`), `BATCHES_IN_FLIGHT` requests at a time, and saved in the walk's
order, each batch's last run then recorded as the walk's cursor, with a checkpoint at least
every `CHECKPOINT_SECONDS`: a sync killed at any point resumes after the last batch checkpointed. W is the newest update time of the
runs read, capped at the sync's start in Dagster's clock (a run that finishes while a walk is
under way has a later update time, so the next sync reads it). A run finished with an update
time more than the look-back before W (a worker clock far behind) is not read.

Runs read in the look-back window are remembered with their update time (`recent`, at most
`MAX_RECENT_RUNS`) so that the next sync, which lists them again, does not read their steps
again. Position (`state.tables["dagster_run_steps"]`):

    {"updated_until": 1718000000.0,          # W (Dagster's clock)
     "recent": {"a1b2...": 1717999900.0},    # runs read within the look-back -> update time
     "sync": {"first": true, "started_at": ..., "updated_until": ..., "runs_done": 2000,
              "steps_done": 9000, "walk": {RunWalk fields}}}   # only mid-sync

Never deleted: the steps of runs purged from Dagster stay in the destination.
`attempt_times` lists each attempt as `{"start_time", "end_time"}` ISO 8601 UTC strings
(`2024-06-10T08:00:00.000000Z`, null while unknown), oldest first.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

from extractor.client import unwrap
from extractor.concurrency import in_order
from extractor.documents import RUNS_COUNT
from extractor.errors import DagsterConnectorError
from extractor.events import Rows
from extractor.log import log
from extractor.positions import float_map, load_position, optional_float
from extractor.runs import COUNT_TRIES, walk_runs
from extractor.server import FINISHED_STATUSES, server_now
from extractor.state import RunWalk, run_walk_from_dict
from extractor.step_stats import FINISHED_RUNS_PAGE, StepStats, fetch_step_stats
from extractor.table import SyncContext, Table
from extractor.transforms import Row, utc_datetime

NAME = "dagster_run_steps"
STEPS_BATCH = 20  # runs per stepStats request (at most `page_size`)
BATCHES_IN_FLIGHT = 2
MAX_RECENT_RUNS = 500
PROGRESS_INTERVAL_SECONDS = 10.0
CHECKPOINT_SECONDS = 5.0  # at most this much work is read again after a kill


def iso_utc(epoch_seconds: float | None) -> str | None:
    moment = utc_datetime(epoch_seconds)
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def step_rows(run_id: str, steps: list[dict[str, Any]]) -> list[Row]:
    """The `dagster_run_steps` rows of a run's `stepStats`."""
    rows = []
    for step in steps:
        attempts = step.get("attempts") or []
        rows.append(
            {
                "run_id": run_id,
                "step_key": step["stepKey"],
                "status": step.get("status"),
                "start_time": utc_datetime(step.get("startTime")),
                "end_time": utc_datetime(step.get("endTime")),
                "attempts": len(attempts),
                "attempt_times": [
                    {"start_time": iso_utc(attempt.get("startTime")), "end_time": iso_utc(attempt.get("endTime"))}
                    for attempt in attempts
                ],
            }
        )
    return rows


@dataclass
class StepsProgress:
    first: bool
    started_at: float  # the sync's start in Dagster's clock: W never goes past it
    walk: RunWalk
    updated_until: float | None = None  # the newest update time this sync has read
    runs_done: int = 0
    steps_done: int = 0


@dataclass
class StepsPosition:
    updated_until: float | None = None
    recent: dict[str, float] = field(default_factory=dict)
    sync: StepsProgress | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> StepsPosition:
        sync = raw.get("sync")
        progress = None
        if sync is not None:
            progress = StepsProgress(
                first=bool(sync["first"]),
                started_at=float(sync["started_at"]),
                walk=run_walk_from_dict(sync["walk"]),
                updated_until=optional_float(sync.get("updated_until")),
                runs_done=int(sync.get("runs_done", 0)),
                steps_done=int(sync.get("steps_done", 0)),
            )
        return cls(
            updated_until=optional_float(raw.get("updated_until")),
            recent=float_map(raw.get("recent") or {}),
            sync=progress,
        )


class RunStepsSync:
    """One sync of `dagster_run_steps`; the position is saved into the state at each checkpoint."""

    def __init__(self, context: SyncContext) -> None:
        self._context = context
        self._saved = context.state.table(NAME)
        self._position, readable = load_position(NAME, self._saved, StepsPosition.parse, StepsPosition())
        # The position the state holds (None: unreadable, replaced at the end whatever happens).
        self._checkpointed: dict[str, Any] | None = self._position.to_dict() if readable else None
        self._total: int | None = None
        self._requests = 0
        self._started = time.monotonic()
        self._last_progress = self._started
        self._checkpointed_at = self._started
        self._runs_at_start = 0

    async def run(self) -> None:
        position = self._position
        if position.sync is None:
            position.sync = self._plan()
        else:
            log.info(f"{NAME}: resuming an interrupted sync after run {position.sync.walk.cursor}")
        sync = position.sync
        self._runs_at_start = sync.runs_done
        if sync.first:
            self._total = await self._count_finished_runs()
        settings = self._context.settings
        client = self._context.client
        pages = walk_runs(client, sync.walk, FINISHED_STATUSES, settings.page_size, FINISHED_RUNS_PAGE)
        batch_size = min(STEPS_BATCH, settings.page_size)
        async for page in pages:
            batches = [page.runs[i : i + batch_size] for i in range(0, len(page.runs), batch_size)]
            reads = [partial(self._read, batch) for batch in batches]
            # The next batches are read while this one is saved; each is saved in the walk's order.
            async for batch, found in in_order(reads, BATCHES_IN_FLIGHT):
                last = batch[-1]  # the walk's position once this batch is saved
                walk = replace(page.walk, cursor=last["runId"], cursor_created=last["creationTime"])
                await self._save(batch, found, walk)
            sync.walk = page.walk
        self._finish()
        if position.to_dict() != self._checkpointed:
            await self._checkpoint()

    def _plan(self) -> StepsProgress:
        position = self._position
        started_at = server_now(self._context.server)
        if position.updated_until is None:
            days = self._context.settings.step_history_days
            if days:
                log.info(f"{NAME}: first sync, reading the steps of the runs finished in the last "
                         f"{days} days (step_history_days; 0 reads every run)")
                return StepsProgress(first=True, started_at=started_at, walk=RunWalk(updated_after=started_at - days * 86400))
            log.info(f"{NAME}: first sync, reading the steps of every finished run")
            # `updatedAfter` 0 is no bound for Dagster, but makes the walk list only `statuses`.
            return StepsProgress(first=True, started_at=started_at, walk=RunWalk(updated_after=0.0))
        since = position.updated_until - self._context.settings.lookback_seconds
        return StepsProgress(first=False, started_at=started_at, walk=RunWalk(updated_after=since))

    async def _count_finished_runs(self) -> int | None:
        """How many finished runs a first sync reads (for its progress only)."""
        try:
            since = self._position.sync.walk.updated_after if self._position.sync else None
            runs_filter: dict[str, Any] = {"statuses": list(FINISHED_STATUSES)}
            if since:  # the first sync's window (step_history_days)
                runs_filter["updatedAfter"] = since
            variables = {"filter": runs_filter}
            data = await self._context.client.execute(RUNS_COUNT, variables, max_tries=COUNT_TRIES)
            return int(unwrap(RUNS_COUNT.name, data["runsOrError"], "Runs")["count"])
        except DagsterConnectorError as error:
            log.warning(f"{NAME}: could not count the finished runs ({error}); going on without")
            return None

    def _read_already(self, run: dict[str, Any]) -> bool:
        """Whether the last sync read this run's steps, at this update time."""
        return self._position.recent.get(run["runId"]) == run.get("updateTime")

    async def _read(self, batch: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], StepStats]:
        wanted = [run["runId"] for run in batch if not self._read_already(run)]
        if wanted:
            self._requests += 1
        return batch, await fetch_step_stats(self._context.client, wanted)

    async def _save(self, batch: list[dict[str, Any]], found: StepStats, walk: RunWalk) -> None:
        """Sends a batch's steps, then records its last run as the walk's cursor in the state;
        a checkpoint follows when the last one is `CHECKPOINT_SECONDS` old (a checkpoint makes
        the destination write what it holds: one per 20-run batch made it the bottleneck)."""
        sync = self._position.sync
        assert sync is not None
        rows = [row for run_id, steps in found.items() for row in step_rows(run_id, steps)]
        for run in batch:
            updated = run.get("updateTime")
            if updated is not None:
                sync.updated_until = updated if sync.updated_until is None else max(sync.updated_until, updated)
                if run["runId"] in found:
                    self._remember(run["runId"], updated)
        sync.walk = walk
        sync.runs_done += len(batch)
        sync.steps_done += len(rows)
        if rows:
            await self._context.send(Rows(NAME, rows))
        if found or rows:
            self._record()  # any table's next checkpoint saves it
            if time.monotonic() - self._checkpointed_at >= CHECKPOINT_SECONDS:
                await self._checkpoint()
        self._log_progress(final=False)

    def _forget_below(self) -> float | None:
        """Runs updated at or before this will not be listed by the next sync."""
        position = self._position
        sync = position.sync
        newest = position.updated_until
        if sync is not None and sync.updated_until is not None:
            seen = min(sync.updated_until, sync.started_at)
            newest = seen if newest is None else max(newest, seen)
        return None if newest is None else newest - self._context.settings.lookback_seconds

    def _remember(self, run_id: str, updated: float) -> None:
        """Keeps a run read within the look-back window, so the next sync does not read it again."""
        below, recent = self._forget_below(), self._position.recent
        if below is not None and updated <= below:
            return
        recent[run_id] = updated
        if len(recent) > MAX_RECENT_RUNS:
            self._prune()

    def _prune(self) -> None:
        """Drops the runs the next sync will not list, then the oldest past the limit (those
        are read again: no loss)."""
        below, recent = self._forget_below(), self._position.recent
        kept = {run_id: updated for run_id, updated in recent.items() if below is None or updated > below}
        if len(kept) > MAX_RECENT_RUNS:
            kept = dict(sorted(kept.items(), key=lambda item: item[1])[-MAX_RECENT_RUNS:])
        recent.clear()
        recent.update(kept)

    def _finish(self) -> None:
        """Moves what the walk saw into the watermark, capped at the sync's start."""
        position = self._position
        sync = position.sync
        assert sync is not None
        self._prune()
        if sync.updated_until is not None:
            seen = min(sync.updated_until, sync.started_at)
            position.updated_until = seen if position.updated_until is None else max(position.updated_until, seen)
        elif position.updated_until is None:  # a first sync found no finished run in its window
            position.updated_until = sync.walk.updated_after or 0.0
        self._log_progress(final=True)
        position.sync = None

    def _record(self) -> None:
        """Copies the position into the state (only ever after its rows were sent)."""
        self._checkpointed = self._position.to_dict()
        self._saved.clear()
        self._saved.update(self._checkpointed)

    async def _checkpoint(self) -> None:
        self._record()
        self._checkpointed_at = time.monotonic()
        await self._context.checkpoint()

    def _log_progress(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_progress = now
        sync = self._position.sync
        if sync is None:
            return
        share = ""
        if self._total:
            share = f" of {self._total:,} ({min(100.0, 100.0 * sync.runs_done / self._total):.1f}%)"
        rate = (sync.runs_done - self._runs_at_start) / max(now - self._started, 1e-6)
        label = "done" if final else "progress"
        log.info(
            f"{NAME} {label}: {sync.runs_done:,} finished runs{share}, {sync.steps_done:,} steps, "
            f"{self._requests:,} stepStats requests, {rate:,.0f} runs/s"
        )


async def sync(context: SyncContext) -> None:
    await RunStepsSync(context).run()


TABLE = Table(
    name=NAME,
    primary_key=["run_id", "step_key"],
    columns={
        "run_id": "STRING",
        "step_key": "STRING",
        "status": "STRING",
        "start_time": "UTC_DATETIME",
        "end_time": "UTC_DATETIME",
        "attempts": "INT",
        "attempt_times": "JSON",
    },
    sync=sync,
)
