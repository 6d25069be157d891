"""Write real runs into the demo Dagster instance.

Run with the Python of the Dagster virtualenv and ``DAGSTER_HOME`` pointing at
the instance directory (which must contain a copy of ``demo/dagster.yaml``)::

    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py populate --runs 300 --days 28
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py add-runs 5
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py start-run
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py finish-run RUN_ID --status FAILURE
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py finish-run RUN_ID --event-time 1718000000
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py delete-run RUN_ID

Every subcommand prints exactly one line of JSON on stdout (logs go to stderr).

How runs are produced
---------------------
* "Executed" runs: the job is really executed in this process (in-process
  executor) via ``dagster._core.execution.api.execute_run`` so assets get real
  materializations and ``always_fails_job`` produces a real FAILURE.
* "Reported" runs: a run is created with ``instance.create_run_for_job`` and
  moved through its lifecycle by reporting run events with
  ``instance.report_dagster_event``: RUN_ENQUEUED for queued runs; RUN_START,
  then RUN_SUCCESS / RUN_FAILURE / RUN_CANCELED otherwise.  This is what a run
  worker does too, minus the op execution, and is ~8x faster (~30 ms vs
  ~230 ms per run); it is used for bulk runs and for the in-progress runs.
* "History" runs: the reported runs with which ``populate`` fills an empty
  instance are back-dated over the past ``--days`` days (deterministically,
  ``random.Random(HISTORY_SEED)``): the run's ``create_timestamp`` is set in the
  runs table right after it is created (an UPDATE through the run storage's
  connection, as ``SqlRunStorage.add_historical_run`` would have inserted it),
  and its lifecycle events are reported with their own timestamps, from which
  Dagster's run storage derives ``start_time``, ``end_time`` and
  ``update_timestamp`` exactly as when a run worker writes them
  (``SqlRunStorage.handle_run_event`` uses the event's timestamp).
  They are created oldest first and before the executed and in-progress runs,
  so run ids (storage order) increase with creation time, as in a real deployment.

All runs carry a remote job origin pointing at the workspace's code locations,
so they are tagged ``dagster/code_location=<location>`` and
``.dagster/repository=__repository__@<location>`` exactly like runs launched
from the UI, schedules or sensors; runs attributed to a schedule or sensor also
carry ``dagster/schedule_name`` / ``dagster/sensor_name``.

A code location that fails to import (e.g. made broken with
``$DAGSTER_HOME/demo_toggles.json``, see ``definitions/demo_toggles.py``) is
skipped with a warning; commands that need one of its jobs fail with a message.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import seed_activity as activity
import seed_dumps as dumps

DEMO_DIR = Path(__file__).resolve().parent
WORKSPACE_YAML = DEMO_DIR / "workspace.yaml"
REPOSITORY_NAME = "__repository__"  # name of the implicit repository of a Definitions object
DEFS_ATTRIBUTE = "defs"
SEED_TAG = "demo/seed"  # which seed.py subcommand created a run
IN_PROCESS_RUN_CONFIG: Mapping[str, Any] = {"execution": {"config": {"in_process": {}}}}

# --- what populate creates ---------------------------------------------------

# (location, job, extra tags) executed for real, in this order.
EXECUTED_RUNS: Sequence[tuple[str, str, Mapping[str, str]]] = (
    ("analytics", "warehouse_refresh_job", {"dagster/schedule_name": "warehouse_hourly_schedule"}),
    ("analytics", "warehouse_refresh_job", {"dagster/schedule_name": "warehouse_hourly_schedule"}),
    ("analytics", "warehouse_refresh_job", {}),
    ("analytics", "reports_job", {"dagster/sensor_name": "raw_orders_asset_sensor"}),
    ("operations", "inventory_job", {}),
    ("operations", "cleanup_job", {"dagster/schedule_name": "nightly_cleanup_schedule"}),
    ("operations", "healthcheck_job", {"dagster/sensor_name": "healthcheck_sensor"}),
    ("operations", "always_fails_job", {}),
    ("operations", "supplier_prices_observation_job", {}),
)
# Partition runs of the backfill that populate executes (the middle one fails): see
# ``_executed_backfill``.
BACKFILL_RUNS = 3

# (location, job, status, extra tags): runs left in progress.
IN_PROGRESS_RUNS: Sequence[tuple[str, str, str, Mapping[str, str]]] = (
    ("operations", "healthcheck_job", "STARTED", {"dagster/sensor_name": "healthcheck_sensor"}),
    ("operations", "healthcheck_job", "STARTED", {"dagster/sensor_name": "healthcheck_sensor"}),
    ("operations", "cleanup_job", "QUEUED", {"dagster/sensor_name": "multi_job_sensor"}),
    ("analytics", "reports_job", "STARTED", {"dagster/sensor_name": "raw_orders_asset_sensor"}),
    ("operations", "cleanup_job", "STARTED", {"dagster/schedule_name": "nightly_cleanup_schedule"}),
)

# Bulk (reported) finished runs cycle through this list: (location, job, status, extra tags).
# Only op jobs, so no asset materializations are implied by a reported run.
BULK_PATTERN: Sequence[tuple[str, str, str, Mapping[str, str]]] = (
    ("operations", "healthcheck_job", "SUCCESS", {"dagster/schedule_name": "healthcheck_schedule"}),
    ("operations", "cleanup_job", "SUCCESS", {"dagster/schedule_name": "nightly_cleanup_schedule"}),
    ("operations", "healthcheck_job", "SUCCESS", {"dagster/sensor_name": "healthcheck_sensor"}),
    ("operations", "always_fails_job", "FAILURE", {}),
    ("operations", "healthcheck_job", "SUCCESS", {"dagster/schedule_name": "healthcheck_schedule"}),
    ("operations", "cleanup_job", "SUCCESS", {}),
    ("operations", "healthcheck_job", "FAILURE", {"dagster/schedule_name": "healthcheck_schedule"}),
    ("operations", "healthcheck_job", "SUCCESS", {}),
)

MIN_POPULATE_RUNS = len(EXECUTED_RUNS) + BACKFILL_RUNS + len(IN_PROGRESS_RUNS)

# --- the back-dated history written by populate --------------------------------

HISTORY_SEED = 20240604  # fixed: the same --runs/--days give the same history (relative to now)
DEFAULT_HISTORY_DAYS = 28.0
# The newest history run is created this long before populate runs: every history run has
# ended (queue delay + longest duration < margin) before the executed and in-progress runs.
HISTORY_END_MARGIN_SECONDS = 45 * 60


@dataclass(frozen=True)
class HistoryJob:
    """How one job behaves in the generated history (op jobs only: no materializations implied)."""

    location: str
    job: str
    weight: float  # share of the history's runs
    tags: Sequence[tuple[float, Mapping[str, str]]]  # (weight, tags): who launched the run
    seconds: tuple[float, float]  # duration range of a successful run
    always_fails: bool = False
    flaky: float = 0.0  # chance that a healthy run fails once
    breaks: float = 0.0  # chance that a healthy job starts a failure streak
    recovers: float = 1.0  # chance, after each failed run of a streak, that the next succeeds


HISTORY_JOBS: Sequence[HistoryJob] = (
    HistoryJob(
        "operations", "healthcheck_job", 0.55,
        ((0.7, {"dagster/schedule_name": "healthcheck_schedule"}),
         (0.2, {"dagster/sensor_name": "healthcheck_sensor"}),
         (0.1, {})),
        seconds=(20, 180), flaky=0.03, breaks=0.025, recovers=0.3,
    ),
    HistoryJob(
        "operations", "cleanup_job", 0.3,
        ((0.75, {"dagster/schedule_name": "nightly_cleanup_schedule"}), (0.25, {})),
        seconds=(120, 30 * 60), flaky=0.03, breaks=0.05, recovers=0.4,
    ),
    HistoryJob(
        "operations", "always_fails_job", 0.15, ((1.0, {}),),
        seconds=(10, 60), always_fails=True,
    ),
    # An asset job: its history runs write step, materialization and asset check events.
    HistoryJob(
        "analytics", "warehouse_refresh_job", 0.06,
        ((0.8, {"dagster/schedule_name": "warehouse_hourly_schedule"}), (0.2, {})),
        seconds=(120, 20 * 60), flaky=0.04, breaks=0.02, recovers=0.5,
    ),
)  # fmt: skip
# History runs of these jobs report the events of their steps (asset jobs).
STEP_HISTORY_JOBS = frozenset({"warehouse_refresh_job", "page_views_job"})
# The daily partitions of events/page_views are loaded each night for the day before; the
# load of the 4th newest partition failed (the tracker export was missing).
PARTITION_HISTORY_SHARE = 5  # at most 1 history run in 5 is a partition load
FAILED_PARTITION_INDEX = -4


@dataclass(frozen=True)
class HistoryRun:
    location: str
    job: str
    status: str
    tags: Mapping[str, str]
    created: float  # epoch seconds
    started: float
    ended: float
    partition: str | None = None


def plan_history(
    count: int, days: float, now: float, jobs: Sequence[HistoryJob] = HISTORY_JOBS
) -> list[HistoryRun]:
    """``count`` finished runs spread over ``days`` days before ``now``, oldest first.

    Deterministic for given (count, days, jobs) relative to ``now``.  Runs are created at
    jittered, evenly spaced moments; each starts a few seconds after its creation (launch
    latency) and ends after a duration drawn per job (failed runs stop part-way).  Each job
    except ``always_fails_job`` alternates between healthy periods (occasional one-off failures)
    and failure streaks that end with a recovery.
    """
    rng = random.Random(HISTORY_SEED)
    if count <= 0 or not jobs:
        return []
    window_end = now - HISTORY_END_MARGIN_SECONDS
    window_start = now - days * 86400.0
    slot = (window_end - window_start) / count
    broken = {job.job: False for job in jobs}
    runs = []
    for i in range(count):
        job = rng.choices(jobs, weights=[j.weight for j in jobs])[0]
        tags = rng.choices([t for _, t in job.tags], weights=[w for w, _ in job.tags])[0]
        if job.always_fails:
            failed = True
        elif broken[job.job]:
            failed = True
            broken[job.job] = rng.random() >= job.recovers
        else:
            draw = rng.random()
            broken[job.job] = draw < job.breaks
            failed = draw < job.breaks + job.flaky
        low, high = job.seconds
        duration = low * (high / low) ** rng.betavariate(2, 3)  # log scale: mostly short
        if failed and not job.always_fails:
            duration = max(low, duration * rng.uniform(0.3, 1.0))  # failed part-way
        created = window_start + (i + rng.uniform(0.05, 0.95)) * slot
        started = created + rng.uniform(0.8, 12.0)
        runs.append(
            HistoryRun(
                location=job.location,
                job=job.job,
                status="FAILURE" if failed else "SUCCESS",
                tags=tags,
                created=round(created, 6),
                started=round(started, 6),
                ended=round(started + duration, 6),
            )
        )
    return runs


def plan_partition_history(keys: Sequence[str], count: int, now: float) -> list[HistoryRun]:
    """One ``page_views_job`` run per daily partition for the newest ``count`` of ``keys``, each
    the night after its day (at most ``count``; none less than the margin before ``now``).
    The run of the partition at ``FAILED_PARTITION_INDEX`` failed."""
    rng = random.Random(HISTORY_SEED + 2)
    failed = keys[FAILED_PARTITION_INDEX] if len(keys) >= -FAILED_PARTITION_INDEX else None
    runs = []
    for key in keys[-count:] if count > 0 else []:
        day = datetime.fromisoformat(key).replace(tzinfo=timezone.utc).timestamp()
        created = day + 86400 + 3600 + rng.uniform(0, 900)
        if created > now - HISTORY_END_MARGIN_SECONDS:
            continue
        started = created + rng.uniform(0.8, 12.0)
        runs.append(
            HistoryRun(
                location="analytics",
                job="page_views_job",
                status="FAILURE" if key == failed else "SUCCESS",
                tags={"dagster/partition": key},
                created=round(created, 6),
                started=round(started, 6),
                ended=round(started + rng.uniform(40, 240), 6),
                partition=key,
            )
        )
    return runs

log = logging.getLogger("demo.seed")


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    sys.stdout.flush()


def _speed_up_run_storage(instance: Any) -> None:
    """Answer some of the run storage's existence checks from memory (speed only).

    ``SqlRunStorage`` opens a new SQLite connection for each check: it inspects the runs table's
    columns on every run event and run read, and looks the job and execution plan snapshots up
    (deserializing the plan) for every new run; together ~1/3 of the cost of a reported run.
    The schema does not change while seed.py runs and a stored snapshot stays stored, so the
    schema probes are asked once and a snapshot found once is not looked up again.  What is
    written to storage is unchanged.
    """
    storage = instance.run_storage
    for name in ("has_run_stats_index_cols", "has_backfill_id_column"):
        probe = getattr(storage, name, None)
        if callable(probe):
            answer = probe()
            setattr(storage, name, lambda answer=answer: answer)
    for name in ("has_job_snapshot", "has_execution_plan_snapshot"):
        lookup = getattr(storage, name, None)
        if callable(lookup):
            setattr(storage, name, _remember_found(lookup))


def _remember_found(lookup: Any) -> Any:
    found: set[str] = set()

    def cached(snapshot_id: str) -> bool:
        if snapshot_id in found:
            return True
        exists = bool(lookup(snapshot_id))
        if exists:
            found.add(snapshot_id)
        return exists

    return cached


@dataclass
class _Location:
    name: str
    origin: Any  # ManagedGrpcPythonEnvCodeLocationOrigin
    recon_repo: Any  # ReconstructableRepository

    @cached_property
    def repo_def(self) -> Any:
        return self.recon_repo.get_definition()

    @cached_property
    def remote_repo_origin(self) -> Any:
        from dagster._core.remote_origin import RemoteRepositoryOrigin

        return RemoteRepositoryOrigin(self.origin, REPOSITORY_NAME)


class Seeder:
    def __init__(self) -> None:
        from dagster import DagsterInstance

        if not os.environ.get("DAGSTER_HOME"):
            raise SystemExit("DAGSTER_HOME must be set")
        self.instance = DagsterInstance.get()
        _speed_up_run_storage(self.instance)
        self.locations = self._load_locations()
        self._load_errors: dict[str, str] = {}
        self._plans: dict[tuple[str, str], Any] = {}

    @staticmethod
    def _load_locations() -> dict[str, _Location]:
        from dagster._core.definitions.reconstruct import ReconstructableRepository
        from dagster._core.workspace.load import location_origins_from_yaml_paths

        locations = {}
        for origin in location_origins_from_yaml_paths([str(WORKSPACE_YAML)]):
            target = origin.loadable_target_origin
            recon_repo = ReconstructableRepository.for_file(
                target.python_file,
                target.attribute or DEFS_ATTRIBUTE,
                target.working_directory,
            )
            locations[origin.location_name] = _Location(origin.location_name, origin, recon_repo)
        return locations

    def is_loadable(self, location: str) -> bool:
        """Whether the location's definitions import (a broken location is warned about once)."""
        if location in self._load_errors:
            return False
        try:
            self.locations[location].repo_def  # noqa: B018 - imports the definitions file
        except Exception as exc:  # a location that fails to load: skip it
            self._load_errors[location] = f"{type(exc).__name__}: {exc}"
            log.warning("code location %r failed to import; skipping it (%s)", location, exc)
            return False
        return True

    def loadable_locations(self) -> list[_Location]:
        return [loc for name, loc in self.locations.items() if self.is_loadable(name)]

    def require(self, location: str) -> _Location:
        if location not in self.locations:
            raise SystemExit(f"unknown code location {location!r}")
        if not self.is_loadable(location):
            raise SystemExit(
                f"code location {location!r} failed to import: {self._load_errors[location]}"
            )
        return self.locations[location]

    # -- run creation ---------------------------------------------------------

    def _job(self, location: str, job_name: str) -> Any:
        return self.require(location).repo_def.get_job(job_name)

    def _plan(self, location: str, job_name: str) -> Any:
        key = (location, job_name)
        if key not in self._plans:
            from dagster._core.execution.api import create_execution_plan

            self._plans[key] = create_execution_plan(
                self._job(location, job_name),
                run_config=IN_PROCESS_RUN_CONFIG,
                instance_ref=self.instance.get_ref(),
            )
        return self._plans[key]

    def create_run(
        self,
        location: str,
        job_name: str,
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> Any:
        loc = self.locations[location]
        return self.instance.create_run_for_job(
            self._job(location, job_name),
            execution_plan=self._plan(location, job_name),
            run_config=IN_PROCESS_RUN_CONFIG,
            status=status,
            tags=dict(tags),
            remote_job_origin=loc.remote_repo_origin.get_job_origin(job_name),
            job_code_origin=loc.recon_repo.get_reconstructable_job(job_name).get_python_origin(),
        )

    def execute(self, location: str, job_name: str, tags: Mapping[str, str]) -> Any:
        """Create a run and really execute it in this process."""
        from dagster._core.execution.api import execute_run

        run = self.create_run(location, job_name, tags)
        recon_job = self.locations[location].recon_repo.get_reconstructable_job(job_name)
        execute_run(recon_job, run, self.instance, raise_on_error=False)
        return self.instance.get_run_by_id(run.run_id)

    def set_update_time(self, run_id: str, updated: float) -> None:
        """Set the run's ``update_timestamp`` (runs table) to ``updated`` (epoch seconds)."""
        from dagster._core.storage.runs.schema import RunsTable

        with self.instance.run_storage.connect() as conn:
            conn.execute(
                RunsTable.update()
                .where(RunsTable.c.run_id == run_id)
                .values(update_timestamp=datetime.fromtimestamp(updated, tz=timezone.utc))
            )

    def set_creation_time(self, run_id: str, created: float) -> None:
        """Back-date the run's ``create_timestamp`` (runs table), as ``add_historical_run`` would.

        Stored like Dagster stores it: a UTC datetime (``get_current_datetime()`` in ``add_run``).
        """
        from dagster._core.storage.runs.schema import RunsTable

        with self.instance.run_storage.connect() as conn:
            conn.execute(
                RunsTable.update()
                .where(RunsTable.c.run_id == run_id)
                .values(create_timestamp=datetime.fromtimestamp(created, tz=timezone.utc))
            )

    def _report(
        self,
        run: Any,
        event_type: Any,
        message: str,
        data: Any = None,
        timestamp: float | None = None,
    ) -> None:
        """Report a run event; ``timestamp`` (epoch seconds) is the event's time, default now.

        The run storage takes the run's update_timestamp, start_time and end_time from it.
        """
        from dagster import DagsterEvent

        self.instance.report_dagster_event(
            DagsterEvent(
                event_type_value=event_type.value,
                job_name=run.job_name,
                message=message,
                event_specific_data=data,
            ),
            run_id=run.run_id,
            timestamp=timestamp,
        )

    def report_started(self, run: Any, timestamp: float | None = None) -> None:
        from dagster import DagsterEventType

        self._report(
            run,
            DagsterEventType.RUN_START,
            f'Started execution of run for "{run.job_name}".',
            timestamp=timestamp,
        )

    def report_queued(self, run: Any) -> None:
        from dagster import DagsterEventType

        self._report(run, DagsterEventType.RUN_ENQUEUED, "Run was added to the queue (demo seed).")

    def report_finished(self, run: Any, status: str, timestamp: float | None = None) -> None:
        """Report the terminal event; ``timestamp`` (epoch seconds) is its time, default now.

        On a FAILURE, Dagster 1.11 then tags the run with its failure reason through
        ``add_run_tags``, which stamps ``update_timestamp`` with the writer's clock (1.13 writes
        the tag together with the status, at the event's time).  A worker writing the event at
        ``timestamp`` would have stamped that time, so the update time is set to it here.
        """
        self._report_finished(run, status, timestamp)
        if timestamp is not None and status == "FAILURE":
            self.set_update_time(run.run_id, timestamp)

    def _report_finished(self, run: Any, status: str, timestamp: float | None) -> None:
        from dagster import DagsterEventType
        from dagster._core.events import JobFailureData, RunFailureReason
        from dagster._utils.error import SerializableErrorInfo

        if status == "SUCCESS":
            self._report(
                run,
                DagsterEventType.RUN_SUCCESS,
                f'Finished execution of run for "{run.job_name}".',
                timestamp=timestamp,
            )
        elif status == "FAILURE":
            error = SerializableErrorInfo(
                message="RuntimeError: demo failure reported by demo/seed.py\n",
                stack=[],
                cls_name="RuntimeError",
            )
            self._report(
                run,
                DagsterEventType.RUN_FAILURE,
                f'Execution of run for "{run.job_name}" failed. An exception was thrown during execution.',
                JobFailureData(error=error, failure_reason=RunFailureReason.STEP_FAILURE),
                timestamp=timestamp,
            )
        elif status == "CANCELED":
            self._report(
                run,
                DagsterEventType.RUN_CANCELED,
                "This run has been marked as canceled.",
                timestamp=timestamp,
            )
        else:
            raise ValueError(f"unsupported terminal status {status!r}")

    def reported_run(
        self, location: str, job_name: str, status: str, tags: Mapping[str, str]
    ) -> Any:
        """Create a run and move it to ``status`` by reporting lifecycle events."""
        if status == "QUEUED":
            run = self.create_run(location, job_name, tags, status="QUEUED")
            self.report_queued(run)
            return run
        run = self.create_run(location, job_name, tags)
        self.report_started(run)
        if status != "STARTED":
            self.report_finished(run, status)
        return run

    def history_run(self, planned: HistoryRun, tags: Mapping[str, str], rng: random.Random) -> Any:
        """Create a finished run back-dated to ``planned``'s creation, start and end times.

        A run of an asset job (``STEP_HISTORY_JOBS``) also reports the events of its steps
        (materializations, asset check evaluations), and its asset check executions are dated
        from its creation.
        """
        run = self.create_run(planned.location, planned.job, tags)
        self.set_creation_time(run.run_id, planned.created)
        self.report_started(run, timestamp=planned.started)
        if planned.job in STEP_HISTORY_JOBS:
            activity.report_asset_run_steps(
                self.instance,
                run,
                activity.plan_steps(self._plan(planned.location, planned.job)),
                planned.started + 0.5,
                planned.ended - 0.5,
                failed=planned.status == "FAILURE",
                rng=rng,
                partition=planned.partition,
            )
            activity.back_date_check_executions(self.instance, run.run_id, planned.created)
        self.report_finished(run, planned.status, timestamp=planned.ended)
        return run

    # -- helpers -------------------------------------------------------------

    def status_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for record in self.instance.get_run_records():
            counts[record.dagster_run.status.value] += 1
        return dict(sorted(counts.items()))

    def materialized_asset_counts(self) -> dict[str, int]:
        from dagster import AssetKey

        out = {}
        for loc in self.loadable_locations():
            for key in loc.repo_def.asset_graph.get_all_asset_keys():
                assert isinstance(key, AssetKey)
                records = self.instance.fetch_materializations(key, limit=1000).records
                out[key.to_user_string()] = len(records)
        return dict(sorted(out.items()))


# --- subcommands --------------------------------------------------------------


def cmd_populate(seeder: Seeder, runs: int, days: float) -> dict[str, Any]:
    if runs < MIN_POPULATE_RUNS:
        raise SystemExit(f"populate needs --runs >= {MIN_POPULATE_RUNS}")
    if days * 86400 <= 2 * HISTORY_END_MARGIN_SECONDS:
        raise SystemExit(f"populate needs --days > {2 * HISTORY_END_MARGIN_SECONDS / 86400:.3f}")
    started = time.perf_counter()
    existing = seeder.instance.get_runs_count()
    executed = in_progress = reported = 0
    executed_seconds = reported_seconds = activity_seconds = 0.0
    in_progress_ids: list[str] = []
    extra: dict[str, Any] = {}
    if existing == 0:
        # An empty instance: the back-dated history first (oldest first, so that run ids grow
        # with creation time), then the runs executed now, then the runs left in progress;
        # then the ticks of all of them.
        now = time.time()
        partitioned = seeder.is_loadable(activity.PARTITIONED_LOCATION)
        executed_runs = [r for r in EXECUTED_RUNS if seeder.is_loadable(r[0])]
        in_progress_runs = [r for r in IN_PROGRESS_RUNS if seeder.is_loadable(r[0])]
        history_jobs = [j for j in HISTORY_JOBS if seeder.is_loadable(j.location)]
        history_count = (
            runs - len(executed_runs) - len(in_progress_runs) - (BACKFILL_RUNS if partitioned else 0)
        )
        if not history_jobs:
            log.warning("no history: the code location of its jobs failed to import")
            history_count = 0
        keys = activity.partition_keys(seeder) if partitioned else []
        partition_runs = plan_partition_history(
            keys, min(len(keys), history_count // PARTITION_HISTORY_SHARE), now
        )
        history = plan_history(history_count - len(partition_runs), days, now, history_jobs)
        history = sorted(history + partition_runs, key=lambda planned: planned.created)
        for job in {(planned.location, planned.job) for planned in history}:
            seeder._plan(*job)  # planned outside the batch below
        t0 = time.perf_counter()
        steps_rng = random.Random(HISTORY_SEED + 1)
        with activity.batched_events(seeder.instance):
            for planned in history:
                seeder.history_run(planned, {SEED_TAG: "populate", **planned.tags}, steps_rng)
                reported += 1
        reported_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        extra.update(_populate_history_activity(seeder, now, days, keys))
        activity_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        for location, job_name, tags in executed_runs:
            seeder.execute(location, job_name, {SEED_TAG: "populate", **tags})
            executed += 1
        if partitioned:
            extra["backfills"] += _executed_backfill(seeder, keys)
            executed += BACKFILL_RUNS
        executed_seconds = time.perf_counter() - t0
        for location, job_name, status, tags in in_progress_runs:
            run = seeder.reported_run(location, job_name, status, {SEED_TAG: "populate", **tags})
            in_progress_ids.append(run.run_id)
            in_progress += 1
        t0 = time.perf_counter()
        if seeder.is_loadable("operations"):
            activity.report_observation(seeder.instance, 5300)  # runless, now
        ticks = activity.plan_ticks(
            seeder.instance.get_run_records(),
            activity.instigators(seeder),
            now - days * 86400.0,
            time.time(),
            random.Random(HISTORY_SEED + 3),
        )
        activity.create_ticks(seeder.instance, ticks)
        extra["ticks"] = len(ticks)
        activity_seconds += time.perf_counter() - t0
    else:
        # Topping up adds runs at the current time, like add-runs: history is only written into
        # an empty instance (a run created later with an older creation time never happens).
        log.info("instance already has %s runs; only topping up to %s", existing, runs)
        t0 = time.perf_counter()
        for i in range(max(runs - existing, 0)):
            location, job_name, status, tags = BULK_PATTERN[i % len(BULK_PATTERN)]
            seeder.reported_run(location, job_name, status, {SEED_TAG: "populate", **tags})
            reported += 1
        reported_seconds = time.perf_counter() - t0
    return {
        "total_runs": seeder.instance.get_runs_count(),
        "by_status": seeder.status_counts(),
        "created": {"executed": executed, "reported": reported, "in_progress": in_progress},
        "in_progress_run_ids": in_progress_ids,
        "materializations": seeder.materialized_asset_counts(),
        **extra,
        "seconds": {
            "total": round(time.perf_counter() - started, 3),
            "executed": round(executed_seconds, 3),
            "executed_per_run": round(executed_seconds / executed, 4) if executed else None,
            "reported": round(reported_seconds, 3),
            "reported_per_run": round(reported_seconds / reported, 4) if reported else None,
            "ticks_backfills_observations": round(activity_seconds, 3),
        },
    }


def _populate_history_activity(
    seeder: Seeder, now: float, days: float, keys: Sequence[str]
) -> dict[str, Any]:
    """The history's runless observations and its canceled job backfill."""
    out: dict[str, Any] = {"observations": 0, "backfills": []}
    window_start = now - days * 86400.0
    if seeder.is_loadable("operations"):
        with activity.batched_events(seeder.instance):
            out["observations"] = activity.observation_history(
                seeder.instance,
                window_start,
                now - HISTORY_END_MARGIN_SECONDS,
                random.Random(HISTORY_SEED + 4),
            )
    if keys:
        # A job backfill someone started two-thirds into the past and canceled minutes later.
        created = now - days * 86400.0 * 2 / 3
        backfill = activity.job_backfill(
            seeder, keys[:5], created, {SEED_TAG: "populate", "user": "alice@example.com"}
        )
        seeder.instance.add_backfill(backfill)
        activity.end_backfill(seeder.instance, backfill, "CANCELED", created + 240.0)
        out["backfills"].append(backfill.backfill_id)
    return out


def _executed_backfill(seeder: Seeder, keys: Sequence[str]) -> list[str]:
    """Two asset backfills of events/page_views created now: one that re-ran the partitions
    around the failed one (its runs executed here; the failed partition fails again, so it
    ends COMPLETED_FAILED), and one of every partition that stays REQUESTED (no daemon)."""
    from dagster._core.storage.tags import BACKFILL_ID_TAG, PARTITION_NAME_TAG

    failed = keys[FAILED_PARTITION_INDEX]
    around = keys[FAILED_PARTITION_INDEX - 1 : FAILED_PARTITION_INDEX + 2]
    assert len(around) == BACKFILL_RUNS
    rerun = activity.asset_backfill(
        seeder, around, time.time(), {SEED_TAG: "populate"},
        title="Re-process page views after the tracker outage",
        description=f"The tracker export for {failed} was missing; re-run the days around it.",
    )  # fmt: skip
    seeder.instance.add_backfill(rerun)
    for key in around:
        seeder.execute(
            activity.PARTITIONED_LOCATION,
            activity.PARTITIONED_JOB,
            {
                SEED_TAG: "populate",
                BACKFILL_ID_TAG: rerun.backfill_id,
                PARTITION_NAME_TAG: key,
                activity.FAIL_PARTITION_TAG: failed,
            },
        )
    activity.end_backfill(seeder.instance, rerun, "COMPLETED_FAILED", time.time())
    full = activity.asset_backfill(
        seeder, keys, time.time(), {SEED_TAG: "populate", "user": "bob@example.com"},
        title="Full reload of page views",
    )  # fmt: skip
    seeder.instance.add_backfill(full)
    return [rerun.backfill_id, full.backfill_id]


def cmd_add_runs(seeder: Seeder, count: int) -> list[str]:
    ids = []
    for i in range(count):
        location, job_name, status, tags = BULK_PATTERN[i % len(BULK_PATTERN)]
        run = seeder.reported_run(location, job_name, status, {SEED_TAG: "add-runs", **tags})
        ids.append(run.run_id)
    return ids


def cmd_start_run(seeder: Seeder, location: str, job_name: str) -> str:
    run = seeder.reported_run(location, job_name, "STARTED", {SEED_TAG: "start-run"})
    return run.run_id


def cmd_finish_run(
    seeder: Seeder, run_id: str, status: str, event_time: float | None = None
) -> dict[str, Any]:
    """Finish an in-progress run.  With ``event_time`` the terminal event carries that time
    (a worker whose clock is behind, or an event written late): the run's end time and update
    time are that time, not now."""
    run = seeder.instance.get_run_by_id(run_id)
    if run is None:
        raise SystemExit(f"run {run_id} not found")
    if run.is_finished:
        raise SystemExit(f"run {run_id} is already finished ({run.status.value})")
    if run.status.value in ("QUEUED", "NOT_STARTED"):
        # a queued run has to start before it can finish
        seeder.report_started(run, timestamp=event_time)
    seeder.report_finished(run, status, timestamp=event_time)
    record = seeder.instance.get_run_record_by_id(run_id)
    assert record is not None
    return {
        "run_id": run_id,
        "status": record.dagster_run.status.value,
        "update_timestamp": record.update_timestamp.timestamp(),
        "end_time": None if record.end_time is None else float(record.end_time),
    }


def cmd_delete_run(seeder: Seeder, run_id: str) -> dict[str, Any]:
    """Delete a run and its events with ``DagsterInstance.delete_run`` (as the UI's delete does)."""
    run = seeder.instance.get_run_by_id(run_id)
    if run is None:
        raise SystemExit(f"run {run_id} not found")
    seeder.instance.delete_run(run_id)
    return {
        "run_id": run_id,
        "deleted": seeder.instance.get_run_by_id(run_id) is None,
        "status": run.status.value,
        "total_runs": seeder.instance.get_runs_count(),
    }


def cmd_execute_run(
    seeder: Seeder, location: str, job_name: str, partition: str | None = None
) -> dict[str, Any]:
    """Execute one run of a job for real now (materializations, checks, observations, steps)."""
    from dagster._core.storage.tags import PARTITION_NAME_TAG

    tags = {SEED_TAG: "execute-run"}
    if partition is not None:
        tags[PARTITION_NAME_TAG] = partition
    run = seeder.execute(location, job_name, tags)
    return {"run_id": run.run_id, "status": run.status.value}


def cmd_add_ticks(seeder: Seeder) -> list[int]:
    """New ticks now, as the daemon would write them: a SKIPPED and a SUCCESS sensor tick and a
    FAILURE schedule tick (for the instigators of loadable locations)."""
    known = activity.instigators(seeder)
    now = time.time()
    planned = []
    for offset, (location, name, status) in enumerate(
        (
            ("operations", "healthcheck_sensor", "SKIPPED"),
            ("analytics", "raw_orders_asset_sensor", "SUCCESS"),
            ("operations", "healthcheck_schedule", "FAILURE"),
        )
    ):
        instigator = known.get((location, name))
        if instigator is None:
            continue
        moment = now - 3.0 + offset
        planned.append(
            activity.PlannedTick(
                instigator, status, moment, moment + 0.4,
                skip_reason="demo sensor: no alerts" if status == "SKIPPED" else None,
                error=activity.SCHEDULE_FAILURE if status == "FAILURE" else None,
            )
        )  # fmt: skip
    return activity.create_ticks(seeder.instance, planned)


def cmd_finish_tick(seeder: Seeder, tick_id: int, status: str) -> dict[str, Any]:
    """End a STARTED tick now (``instance.update_tick``)."""
    tick = activity.finish_tick(seeder.instance, tick_id, status, time.time())
    return {"tick_id": tick.tick_id, "status": tick.status.value, "end_timestamp": tick.end_timestamp}


def cmd_add_backfill(seeder: Seeder) -> str:
    """A new REQUESTED asset backfill of the two newest partitions of events/page_views."""
    keys = activity.partition_keys(seeder)
    backfill = activity.asset_backfill(
        seeder, keys[-2:], time.time(), {SEED_TAG: "add-backfill"}, title="Reload the last two days"
    )
    seeder.instance.add_backfill(backfill)
    return backfill.backfill_id


def cmd_finish_backfill(seeder: Seeder, backfill_id: str, status: str) -> dict[str, Any]:
    """The daemon's last update of a backfill: a terminal status and the end time (now)."""
    backfill = seeder.instance.get_backfill(backfill_id)
    if backfill is None:
        raise SystemExit(f"backfill {backfill_id} not found")
    ended = activity.end_backfill(seeder.instance, backfill, status, time.time())
    return {"backfill_id": backfill_id, "status": ended.status.value, "end_timestamp": ended.backfill_end_timestamp}


def cmd_observe(seeder: Seeder, price_count: int) -> dict[str, Any]:
    """A runless observation of external/supplier_prices now (``report_runless_asset_event``)."""
    seeder.require("operations")
    activity.report_observation(seeder.instance, price_count)
    from dagster import AssetKey

    [record] = seeder.instance.fetch_observations(AssetKey(list(activity.OBSERVED_SOURCE)), limit=1).records
    return {"asset_key": "/".join(activity.OBSERVED_SOURCE), "timestamp": record.timestamp}


def cmd_dump_runs(seeder: Seeder) -> list[dict[str, Any]]:
    """Every run as the instance's run storage holds it (ground truth for tests).

    Read from storage, not through GraphQL. Tags hidden from GraphQL (prefix `.dagster/`)
    are left out, as Dagster's UI and API leave them out.
    """
    from dagster._core.storage.tags import TagType, get_tag_type

    def seconds(value: Any) -> Any:
        return None if value is None else float(value)

    return [
        {
            "run_id": record.dagster_run.run_id,
            "job_name": record.dagster_run.job_name,
            "status": record.dagster_run.status.value,
            "creation_time": record.create_timestamp.timestamp(),
            "start_time": seconds(record.start_time),
            "end_time": seconds(record.end_time),
            "update_time": record.update_timestamp.timestamp(),
            "code_location": (
                record.dagster_run.remote_job_origin.repository_origin.code_location_origin.location_name
                if record.dagster_run.remote_job_origin
                else None
            ),
            "repository": (
                record.dagster_run.remote_job_origin.repository_origin.repository_name
                if record.dagster_run.remote_job_origin
                else None
            ),
            "parent_run_id": record.dagster_run.parent_run_id,
            "root_run_id": record.dagster_run.root_run_id,
            # Stored as the hidden run tag `.dagster/repository` (DagsterRun.tags_for_storage).
            "repository_label": (
                record.dagster_run.remote_job_origin.repository_origin.get_label()
                if record.dagster_run.remote_job_origin
                else None
            ),
            "tags": {
                key: value
                for key, value in record.dagster_run.tags.items()
                if get_tag_type(key) != TagType.HIDDEN
            },
        }
        for record in seeder.instance.get_run_records()
    ]


def cmd_dump_materializations(seeder: Seeder) -> dict[str, Any]:
    """Each defined asset's latest materialization from the event log (ground truth for tests).

    Keyed by the asset key's path joined with "/"; None for an asset never materialized.
    """
    out: dict[str, Any] = {}
    for location in seeder.loadable_locations():
        for key in location.repo_def.asset_graph.get_all_asset_keys():
            event = seeder.instance.get_latest_materialization_event(key)
            out["/".join(key.path)] = (
                None if event is None else {"run_id": event.run_id, "timestamp": event.timestamp}
            )
    return dict(sorted(out.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("populate", help="initial population (tops up to --runs total runs)")
    p.add_argument("--runs", type=int, default=300)
    p.add_argument(
        "--days",
        type=float,
        default=DEFAULT_HISTORY_DAYS,
        help="spread the history (reported runs of an empty instance) over this many past days",
    )
    p = sub.add_parser("add-runs", help="add N finished runs (SUCCESS and FAILURE)")
    p.add_argument("count", type=int)
    p = sub.add_parser("start-run", help="create one run and move it to STARTED")
    p.add_argument("--location", default="operations")
    p.add_argument("--job", default="healthcheck_job")
    p = sub.add_parser("finish-run", help="move an in-progress run to a terminal status")
    p.add_argument("run_id")
    p.add_argument("--status", choices=["SUCCESS", "FAILURE", "CANCELED"], default="SUCCESS")
    p.add_argument(
        "--event-time",
        type=float,
        default=None,
        metavar="EPOCH",
        help="timestamp of the terminal event (default: now); back-dates end and update time",
    )
    p = sub.add_parser("delete-run", help="delete a run (and its events) from the instance")
    p.add_argument("run_id")
    sub.add_parser("dump-runs", help="print every run from run storage, as JSON")
    sub.add_parser("dump-materializations", help="print each asset's latest materialization")
    p = sub.add_parser("execute-run", help="execute one run of a job for real, now")
    p.add_argument("--location", default="analytics")
    p.add_argument("--job", default="warehouse_refresh_job")
    p.add_argument("--partition", default=None)
    sub.add_parser("add-ticks", help="write new schedule and sensor ticks, now")
    p = sub.add_parser("finish-tick", help="end a STARTED tick, now")
    p.add_argument("tick_id", type=int)
    p.add_argument("--status", choices=["SUCCESS", "SKIPPED", "FAILURE"], default="SKIPPED")
    sub.add_parser("add-backfill", help="request a new asset backfill of events/page_views")
    p = sub.add_parser("finish-backfill", help="move a backfill to a terminal status, now")
    p.add_argument("backfill_id")
    p.add_argument(
        "--status",
        choices=["COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"],
        default="COMPLETED_SUCCESS",
    )
    p = sub.add_parser("observe", help="report a runless observation of external/supplier_prices")
    p.add_argument("--price-count", type=int, default=5321)
    for name, _ in dumps.DUMPS:
        sub.add_parser(name, help=f"print {name[5:]} as Dagster's instance holds them, as JSON")
    p = sub.add_parser("dump", help="several dataset dumps at once: {name: what it prints}")
    p.add_argument("names", nargs="+", choices=[name for name, _ in dumps.DUMPS])
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Dagster logs every op/run event of executed runs to stderr at DEBUG level.
    logging.getLogger("dagster").setLevel(logging.WARNING)

    seeder = Seeder()
    if args.command == "populate":
        _emit(cmd_populate(seeder, args.runs, args.days))
    elif args.command == "add-runs":
        _emit(cmd_add_runs(seeder, args.count))
    elif args.command == "start-run":
        _emit(cmd_start_run(seeder, args.location, args.job))
    elif args.command == "finish-run":
        _emit(cmd_finish_run(seeder, args.run_id, args.status, args.event_time))
    elif args.command == "delete-run":
        _emit(cmd_delete_run(seeder, args.run_id))
    elif args.command == "dump-runs":
        _emit(cmd_dump_runs(seeder))
    elif args.command == "dump-materializations":
        _emit(cmd_dump_materializations(seeder))
    elif args.command == "execute-run":
        _emit(cmd_execute_run(seeder, args.location, args.job, args.partition))
    elif args.command == "add-ticks":
        _emit(cmd_add_ticks(seeder))
    elif args.command == "finish-tick":
        _emit(cmd_finish_tick(seeder, args.tick_id, args.status))
    elif args.command == "add-backfill":
        _emit(cmd_add_backfill(seeder))
    elif args.command == "finish-backfill":
        _emit(cmd_finish_backfill(seeder, args.backfill_id, args.status))
    elif args.command == "observe":
        _emit(cmd_observe(seeder, args.price_count))
    elif args.command == "dump":
        _emit({name: dict(dumps.DUMPS)[name](seeder) for name in args.names})
    elif args.command in dict(dumps.DUMPS):
        _emit(dict(dumps.DUMPS)[args.command](seeder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
