"""What ``seed.py populate`` writes besides bare runs, through Dagster's own instance API.

* Asset runs of the history (reported, back-dated): the step, materialization and asset-check
  events a run worker writes, at the times it would have written them.
* Runless observations of ``external/supplier_prices`` (an external system reporting them).
* Schedule and sensor ticks (``instance.create_tick`` / ``update_tick``), as the daemon writes
  them: SUCCESS ticks for the runs a schedule or sensor launched, SKIPPED ones with their skip
  reasons, a few FAILUREs with an error, and one sensor tick still STARTED.
* Backfills (``PartitionBackfill`` + ``instance.add_backfill`` / ``update_backfill``).

Used by seed.py only (run with the Dagster virtualenv's Python); functions take its ``Seeder``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

REPOSITORY_NAME = "__repository__"
PARTITIONED_LOCATION = "analytics"
PARTITIONED_JOB = "page_views_job"
PARTITIONED_ASSET = ("events", "page_views")
FAIL_PARTITION_TAG = "demo/fail_partition"  # read by analytics.page_views
OBSERVED_SOURCE = ("external", "supplier_prices")
OBSERVATION_INTERVAL_SECONDS = 6 * 3600

# History outcomes of the asset checks (chance that a check fails, severity when it does).
CHECK_FAILURE_RATE: Mapping[str, float] = {"payments_match_orders": 0.3, "ltv_not_negative": 0.5}
DEFAULT_CHECK_FAILURE_RATE = 0.04
WARN_CHECKS = frozenset({"ltv_not_negative"})
NEVER_FAILING_CHECKS = frozenset({"orders_not_empty"})  # blocking: a failure would stop the run


# --- speed: one transaction for a batch of writes -------------------------------------------


@contextmanager
def one_transaction(storage: Any, method: str) -> Iterator[None]:
    """Route every ``storage.<method>()`` connection inside the block through one open
    connection and transaction, committed at the end (speed only).

    The SQLite storages open a new engine, connection and transaction for every statement;
    thousands of ticks or events then cost ~2.5-9 ms each, ~0.3 ms in one transaction. What is
    written is unchanged. ``method`` is ``connect`` (schedule storage) or ``_connect`` (the
    consolidated SQLite event log).
    """
    original = getattr(storage, method)
    with original() as shared:

        @contextmanager
        def reuse(*args: Any, **kwargs: Any) -> Iterator[Any]:
            yield shared

        setattr(storage, method, reuse)
        try:
            yield
        finally:
            setattr(storage, method, original)


def memoize_table_probes(instance: Any) -> None:
    """Answer the schedule storage's "has the instigators table" probe once (speed only)."""
    storage = instance.schedule_storage
    probe = getattr(storage, "has_instigators_table", None)
    if callable(probe):
        answer = probe()
        storage.has_instigators_table = lambda answer=answer: answer


@contextmanager
def batched_events(instance: Any) -> Iterator[None]:
    """Event log writes in one transaction (the demo's consolidated SQLite event log)."""
    storage = instance.event_log_storage
    if not hasattr(storage, "_connect"):
        yield
        return
    with one_transaction(storage, "_connect"):
        yield


# --- events a run worker writes ---------------------------------------------------------------


def report(
    instance: Any,
    run: Any,
    event_type: Any,
    message: str,
    data: Any = None,
    step_key: str | None = None,
    timestamp: float | None = None,
) -> None:
    from dagster import DagsterEvent

    instance.report_dagster_event(
        DagsterEvent(
            event_type_value=event_type.value,
            job_name=run.job_name,
            message=message,
            event_specific_data=data,
            step_key=step_key,
        ),
        run_id=run.run_id,
        timestamp=timestamp,
    )


@dataclass(frozen=True)
class PlannedStep:
    key: str
    asset_key: Any = None  # AssetKey of an asset step
    check_key: Any = None  # AssetCheckKey of a check step


def plan_steps(plan: Any) -> list[PlannedStep]:
    """The steps of an execution plan in execution order, with the asset or check each outputs."""
    steps = []
    for step in plan.get_steps_to_execute_in_topo_order():
        asset_key = check_key = None
        for output in step.step_outputs:
            properties = output.properties
            if properties is None:
                continue
            asset_key = asset_key or properties.asset_key
            check_key = check_key or properties.asset_check_key
        steps.append(PlannedStep(step.key, asset_key, check_key))
    return steps


def report_asset_run_steps(
    instance: Any,
    run: Any,
    steps: Sequence[PlannedStep],
    started: float,
    ended: float,
    failed: bool,
    rng: random.Random,
    partition: str | None = None,
) -> None:
    """The step events of a back-dated asset run between ``started`` and ``ended``.

    Steps run one after the other; each asset step materializes its asset, each check step
    evaluates its check against the materialization of that run. A failed run fails in one
    of its asset steps; the steps after it never start (their planned checks stay planned).
    """
    from dagster import AssetCheckSeverity, AssetMaterialization, DagsterEventType
    from dagster._core.events import StepMaterializationData
    from dagster._core.execution.plan.objects import StepFailureData, StepSuccessData
    from dagster._utils.error import SerializableErrorInfo

    asset_steps = [i for i, step in enumerate(steps) if step.asset_key is not None]
    failing = rng.choice(asset_steps) if failed and asset_steps else None
    slot = (ended - started) / max(len(steps), 1)
    materialized: dict[Any, Any] = {}  # asset key -> storage id of this run's materialization
    for i, step in enumerate(steps):
        begin = started + i * slot + 0.02 * slot
        report(instance, run, DagsterEventType.STEP_START, f'Started execution of step "{step.key}".',
               step_key=step.key, timestamp=begin)  # fmt: skip
        if i == failing:
            error = SerializableErrorInfo(
                message="RuntimeError: demo failure: the source database refused the connection\n",
                stack=[],
                cls_name="RuntimeError",
            )
            report(instance, run, DagsterEventType.STEP_FAILURE,
                   f'Execution of step "{step.key}" failed.', StepFailureData(error=error, user_failure_data=None),
                   step_key=step.key, timestamp=begin + 0.8 * slot)  # fmt: skip
            return
        if step.asset_key is not None:
            rows = rng.randint(80, 20000)
            report(instance, run, DagsterEventType.ASSET_MATERIALIZATION,
                   f"Materialized value {step.asset_key.to_user_string()}.",
                   StepMaterializationData(AssetMaterialization(
                       asset_key=step.asset_key, metadata={"row_count": rows}, partition=partition)),
                   step_key=step.key, timestamp=begin + 0.6 * slot)  # fmt: skip
            materialized[step.asset_key] = _latest_materialization(instance, step.asset_key)
        if step.check_key is not None:
            name = step.check_key.name
            passed = name in NEVER_FAILING_CHECKS or rng.random() >= CHECK_FAILURE_RATE.get(
                name, DEFAULT_CHECK_FAILURE_RATE
            )
            severity = AssetCheckSeverity.WARN if name in WARN_CHECKS else AssetCheckSeverity.ERROR
            report(instance, run, DagsterEventType.ASSET_CHECK_EVALUATION,
                   f"Asset check '{name}' on '{step.check_key.asset_key.to_user_string()}' "
                   f"{'passed' if passed else 'did not pass'}.",
                   _evaluation(step.check_key, passed, severity, materialized.get(step.check_key.asset_key),
                               {"checked_rows": rng.randint(100, 20000)}),
                   step_key=step.key, timestamp=begin + 0.7 * slot)  # fmt: skip
        report(instance, run, DagsterEventType.STEP_SUCCESS,
               f'Finished execution of step "{step.key}".', StepSuccessData(duration_ms=0.9 * slot * 1000),
               step_key=step.key, timestamp=begin + 0.9 * slot)  # fmt: skip


def _latest_materialization(instance: Any, asset_key: Any) -> Any:
    records = instance.fetch_materializations(asset_key, limit=1).records
    return records[0] if records else None


def _evaluation(
    check_key: Any, passed: bool, severity: Any, target: Any, metadata: Mapping[str, Any]
) -> Any:
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluation,
        AssetCheckEvaluationTargetMaterializationData,
    )

    return AssetCheckEvaluation(
        asset_key=check_key.asset_key,
        check_name=check_key.name,
        passed=passed,
        metadata=dict(metadata),
        target_materialization_data=AssetCheckEvaluationTargetMaterializationData(
            storage_id=target.storage_id, run_id=target.run_id, timestamp=target.timestamp
        )
        if target is not None
        else None,
        severity=severity,
        description=None if passed else f"{check_key.name} found problems",
    )


def back_date_check_executions(instance: Any, run_id: str, created: float) -> None:
    """Set ``create_timestamp`` of the run's asset check executions to ``created``.

    The row is inserted when the run is planned and stamped with the database's clock
    (server default); the history's runs were planned at ``created``, as for the run's own
    ``create_timestamp`` (seed.py ``set_creation_time``).
    """
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

    with instance.event_log_storage.index_connection() as conn:
        conn.execute(
            AssetCheckExecutionsTable.update()
            .where(AssetCheckExecutionsTable.c.run_id == run_id)
            .values(create_timestamp=datetime.fromtimestamp(created, tz=timezone.utc).replace(tzinfo=None))
        )


# --- observations -----------------------------------------------------------------------------


def report_observation(instance: Any, price_count: int, timestamp: float | None = None) -> None:
    """A runless observation of the supplier's price list, as an external system reports it:
    ``instance.report_runless_asset_event``, or the same event with its own time."""
    from dagster import AssetKey, AssetObservation, DagsterEvent, DagsterEventType
    from dagster._core.events import AssetObservationData
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    observation = AssetObservation(
        asset_key=AssetKey(list(OBSERVED_SOURCE)),
        description="Reported by the supplier's webhook",
        metadata={"price_count": price_count},
        tags={"source": "supplier-webhook"},
    )
    if timestamp is None:
        instance.report_runless_asset_event(observation)
        return
    instance.report_dagster_event(
        DagsterEvent(
            event_type_value=DagsterEventType.ASSET_OBSERVATION.value,
            job_name=RUNLESS_JOB_NAME,
            event_specific_data=AssetObservationData(observation),
        ),
        run_id=RUNLESS_RUN_ID,
        timestamp=timestamp,
    )


def observation_history(instance: Any, start: float, end: float, rng: random.Random) -> int:
    """Runless observations every ~6 hours from ``start`` to ``end``; returns how many."""
    count = 0
    moment = start + rng.uniform(0, OBSERVATION_INTERVAL_SECONDS)
    prices = 5200
    while moment < end:
        prices += rng.randint(-15, 25)
        report_observation(instance, prices, moment)
        count += 1
        moment += OBSERVATION_INTERVAL_SECONDS * rng.uniform(0.9, 1.1)
    return count


# --- ticks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instigator:
    location: str
    name: str
    kind: str  # "SCHEDULE" | "SENSOR"
    origin_id: str
    selector_id: str


def instigators(seeder: Any) -> dict[tuple[str, str], Instigator]:
    """Every schedule and sensor of the loadable locations, by (location, name), with the ids
    the webserver gives them (remote origin id, selector id)."""
    from dagster._core.definitions.selector import InstigatorSelector

    found = {}
    for loc in seeder.loadable_locations():
        repo = loc.repo_def
        for kind, definitions in (("SCHEDULE", repo.schedule_defs), ("SENSOR", repo.sensor_defs)):
            for definition in definitions:
                found[(loc.name, definition.name)] = Instigator(
                    location=loc.name,
                    name=definition.name,
                    kind=kind,
                    origin_id=loc.remote_repo_origin.get_instigator_origin(definition.name).get_id(),
                    selector_id=InstigatorSelector(
                        location_name=loc.name, repository_name=REPOSITORY_NAME, name=definition.name
                    ).get_id(),
                )
    return found


@dataclass(frozen=True)
class SensorRhythm:
    """How often a sensor ticked, over which part of the history, and what it said."""

    interval: float  # seconds between evaluations
    skip_reason: str
    failure_rate: float = 0.0
    failure: str = "ConnectionError: the alert manager did not answer within 10s"
    first_day_share: float = 1.0  # ticks over the newest share of the history (1.0: all of it)
    last_day_share: float = 0.0  # ... up to this share before now (0.0: until now)
    success_after_failed_run: bool = False  # a run-status sensor: SUCCESS after a failed run


SENSOR_RHYTHMS: Mapping[str, SensorRhythm] = {
    # > 1000 ticks over 28 days: more than one page at Dagster 1.13's clamp of 1000.
    "healthcheck_sensor": SensorRhythm(1800, "demo sensor: no alerts", failure_rate=0.02),
    "raw_orders_asset_sensor": SensorRhythm(
        3600, "No new materializations of warehouse/raw/orders", failure_rate=0.005,
        failure="DagsterUserCodeUnreachableError: Could not reach user code server",
    ),
    "failed_run_alert_sensor": SensorRhythm(
        3600, "No new failed runs", first_day_share=0.5, success_after_failed_run=True
    ),
    # Ran for the first week of the history, then was stopped.
    "new_files_sensor": SensorRhythm(
        7200, "demo sensor: no new files", first_day_share=1.0, last_day_share=0.75
    ),
}  # fmt: skip

SCHEDULE_FAILURES: Mapping[str, int] = {"healthcheck_schedule": 3, "nightly_cleanup_schedule": 1}
SCHEDULE_FAILURE = (
    "DagsterUserCodeUnreachableError: Could not reach user code server. "
    "gRPC Error code: UNAVAILABLE"
)


@dataclass
class PlannedTick:
    instigator: Instigator
    status: str
    timestamp: float
    end_timestamp: float | None
    run_ids: list[str] = field(default_factory=list)
    run_keys: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    error: str | None = None


def plan_ticks(
    runs: Sequence[Any],
    known: Mapping[tuple[str, str], Instigator],
    start: float,
    now: float,
    rng: random.Random,
) -> list[PlannedTick]:
    """The ticks of the history from ``start`` to ``now``, oldest first.

    ``runs``: run records; each run tagged with a schedule or sensor of a loadable location gets
    the SUCCESS tick that launched it, just before its creation. Sensors also tick on their
    rhythm (SKIPPED with their skip reason, a few FAILUREs); schedules fail now and then.
    The newest tick of ``healthcheck_sensor`` is still STARTED.
    """
    ticks: list[PlannedTick] = []
    failed_runs: list[float] = []
    for record in runs:
        run = record.dagster_run
        created = record.create_timestamp.timestamp()
        if run.status.value == "FAILURE":
            failed_runs.append(created)
        location = _run_location(run)
        name = run.tags.get("dagster/schedule_name") or run.tags.get("dagster/sensor_name")
        instigator = known.get((location, name)) if name else None
        if instigator is None:
            continue
        moment = created - rng.uniform(0.3, 3.0)
        ticks.append(
            PlannedTick(
                instigator, "SUCCESS", moment, created + rng.uniform(0.05, 0.8),
                run_ids=[run.run_id],
                run_keys=[f"{name}:{int(moment)}"] if instigator.kind == "SENSOR" else [],
            )
        )  # fmt: skip
    window = now - start
    for (location, name), instigator in sorted(known.items()):
        rhythm = SENSOR_RHYTHMS.get(name)
        if rhythm is not None:
            ticks.extend(_sensor_ticks(instigator, rhythm, now - rhythm.first_day_share * window,
                                       now - rhythm.last_day_share * window, failed_runs, rng))  # fmt: skip
        for _ in range(SCHEDULE_FAILURES.get(name, 0)):
            moment = rng.uniform(start, now - 3600)
            ticks.append(PlannedTick(instigator, "FAILURE", moment, moment + rng.uniform(5, 30),
                                     error=SCHEDULE_FAILURE))  # fmt: skip
    ticks.sort(key=lambda tick: tick.timestamp)
    open_sensor = known.get(("operations", "healthcheck_sensor"))
    if open_sensor is not None:
        ticks.append(PlannedTick(open_sensor, "STARTED", now - rng.uniform(2, 8), None))
    return ticks


def _sensor_ticks(
    instigator: Instigator,
    rhythm: SensorRhythm,
    start: float,
    end: float,
    failed_runs: Sequence[float],
    rng: random.Random,
) -> list[PlannedTick]:
    ticks = []
    moment = start + rng.uniform(0, rhythm.interval)
    failed = sorted(failed_runs)
    seen = 0
    while moment < end - 60:
        fresh = 0
        while seen < len(failed) and failed[seen] < moment:
            fresh += 1
            seen += 1
        duration = rng.uniform(0.05, 1.5)
        if rng.random() < rhythm.failure_rate:
            ticks.append(PlannedTick(instigator, "FAILURE", moment, moment + duration,
                                     error=rhythm.failure))  # fmt: skip
        elif rhythm.success_after_failed_run and fresh:
            ticks.append(PlannedTick(instigator, "SUCCESS", moment, moment + duration))
        else:
            ticks.append(PlannedTick(instigator, "SKIPPED", moment, moment + duration,
                                     skip_reason=rhythm.skip_reason))  # fmt: skip
        moment += rhythm.interval * rng.uniform(0.97, 1.03)
    return ticks


def _run_location(run: Any) -> str | None:
    origin = run.remote_job_origin
    return origin.repository_origin.code_location_origin.location_name if origin else None


def tick_data(tick: PlannedTick) -> Any:
    from dagster._core.scheduler.instigation import InstigatorType, TickData, TickStatus
    from dagster._utils.error import SerializableErrorInfo

    error = (
        SerializableErrorInfo(message=tick.error + "\n", stack=[], cls_name=tick.error.split(":")[0])
        if tick.error
        else None
    )
    return TickData(
        instigator_origin_id=tick.instigator.origin_id,
        instigator_name=tick.instigator.name,
        instigator_type=InstigatorType(tick.instigator.kind),
        status=TickStatus(tick.status),
        timestamp=tick.timestamp,
        run_ids=list(tick.run_ids),
        run_keys=list(tick.run_keys),
        error=error,
        skip_reason=tick.skip_reason,
        selector_id=tick.instigator.selector_id,
        end_timestamp=tick.end_timestamp,
    )


def create_ticks(instance: Any, ticks: Sequence[PlannedTick]) -> list[int]:
    """``instance.create_tick`` for each, in one schedule-storage transaction; returns tick ids."""
    memoize_table_probes(instance)
    ids = []
    with one_transaction(instance.schedule_storage, "connect"):
        for tick in ticks:
            ids.append(instance.create_tick(tick_data(tick)).tick_id)
    return ids


def finish_tick(instance: Any, tick_id: int, status: str, end_timestamp: float) -> Any:
    """A STARTED tick ends, as the daemon ends it: ``instance.update_tick``."""
    from dagster._core.scheduler.instigation import TickStatus

    tick = instance.schedule_storage.get_tick(tick_id)
    extra: dict[str, Any] = {"end_timestamp": end_timestamp}
    if status == "SKIPPED":
        extra["skip_reason"] = "demo sensor: no alerts"
    return instance.update_tick(tick._replace(tick_data=tick.tick_data.with_status(TickStatus(status), **extra)))


# --- backfills --------------------------------------------------------------------------------


def asset_backfill(
    seeder: Any,
    partitions: Sequence[str],
    created: float,
    tags: Mapping[str, str],
    title: str | None = None,
    description: str | None = None,
) -> Any:
    """A new asset backfill of ``events/page_views`` (REQUESTED), as the UI's "Launch backfill"
    creates it."""
    from dagster import AssetKey
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    loc = seeder.require(PARTITIONED_LOCATION)
    return PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=loc.repo_def.asset_graph,
        partition_names=list(partitions),
        asset_selection=[AssetKey(list(PARTITIONED_ASSET))],
        backfill_timestamp=created,
        tags=dict(tags),
        dynamic_partitions_store=seeder.instance,
        all_partitions=False,
        title=title,
        description=description,
        run_config=None,
    )


def job_backfill(seeder: Any, partitions: Sequence[str], created: float, tags: Mapping[str, str]) -> Any:
    """A backfill of ``page_views_job``'s partition set (a job backfill, not an asset one)."""
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.remote_representation.external_data import (
        partition_set_snap_name_for_job_name,
    )
    from dagster._core.utils import make_new_backfill_id

    loc = seeder.require(PARTITIONED_LOCATION)
    return PartitionBackfill(
        backfill_id=make_new_backfill_id(),
        status=BulkActionStatus.REQUESTED,
        from_failure=False,
        tags=dict(tags),
        backfill_timestamp=created,
        partition_set_origin=loc.remote_repo_origin.get_partition_set_origin(
            partition_set_snap_name_for_job_name(PARTITIONED_JOB)
        ),
        partition_names=list(partitions),
    )


def end_backfill(instance: Any, backfill: Any, status: str, ended: float, error: str | None = None) -> Any:
    """The daemon's last update of a backfill: its terminal status and end time."""
    from dagster._core.execution.backfill import BulkActionStatus
    from dagster._utils.error import SerializableErrorInfo

    ended_backfill = backfill.with_status(BulkActionStatus(status)).with_end_timestamp(ended)
    if error:
        ended_backfill = ended_backfill.with_error(
            SerializableErrorInfo(message=error + "\n", stack=[], cls_name=error.split(":")[0])
        )
    instance.update_backfill(ended_backfill)
    return ended_backfill


def partition_keys(seeder: Any) -> list[str]:
    """The partitions of ``events/page_views``, oldest first."""
    loc = seeder.require(PARTITIONED_LOCATION)
    job = loc.repo_def.get_job(PARTITIONED_JOB)
    return list(job.partitions_def.get_partition_keys(dynamic_partitions_store=seeder.instance))
