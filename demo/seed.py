"""Write real runs into the demo Dagster instance.

Run with the Python of the Dagster virtualenv and ``DAGSTER_HOME`` pointing at
the instance directory (which must contain a copy of ``demo/dagster.yaml``)::

    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py populate --runs 300
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py add-runs 5
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py start-run
    DAGSTER_HOME=/tmp/home .venv-dagster/bin/python demo/seed.py finish-run RUN_ID --status FAILURE

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

All runs carry a remote job origin pointing at the workspace's code locations,
so they are tagged ``dagster/code_location=<location>`` and
``.dagster/repository=__repository__@<location>`` exactly like runs launched
from the UI, schedules or sensors; runs attributed to a schedule or sensor also
carry ``dagster/schedule_name`` / ``dagster/sensor_name``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

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
)

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

MIN_POPULATE_RUNS = len(EXECUTED_RUNS) + len(IN_PROGRESS_RUNS)

log = logging.getLogger("demo.seed")


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    sys.stdout.flush()


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
        self.locations = self._load_locations()
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

    # -- run creation ---------------------------------------------------------

    def _job(self, location: str, job_name: str) -> Any:
        return self.locations[location].repo_def.get_job(job_name)

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

    def _report(self, run: Any, event_type: Any, message: str, data: Any = None) -> None:
        from dagster import DagsterEvent

        self.instance.report_dagster_event(
            DagsterEvent(
                event_type_value=event_type.value,
                job_name=run.job_name,
                message=message,
                event_specific_data=data,
            ),
            run_id=run.run_id,
        )

    def report_started(self, run: Any) -> None:
        from dagster import DagsterEventType

        self._report(
            run, DagsterEventType.RUN_START, f'Started execution of run for "{run.job_name}".'
        )

    def report_queued(self, run: Any) -> None:
        from dagster import DagsterEventType

        self._report(run, DagsterEventType.RUN_ENQUEUED, "Run was added to the queue (demo seed).")

    def report_finished(self, run: Any, status: str) -> None:
        from dagster import DagsterEventType
        from dagster._core.events import JobFailureData, RunFailureReason
        from dagster._utils.error import SerializableErrorInfo

        if status == "SUCCESS":
            self._report(
                run,
                DagsterEventType.RUN_SUCCESS,
                f'Finished execution of run for "{run.job_name}".',
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
            )
        elif status == "CANCELED":
            self._report(
                run, DagsterEventType.RUN_CANCELED, "This run has been marked as canceled."
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

    # -- helpers -------------------------------------------------------------

    def status_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for record in self.instance.get_run_records():
            counts[record.dagster_run.status.value] += 1
        return dict(sorted(counts.items()))

    def materialized_asset_counts(self) -> dict[str, int]:
        from dagster import AssetKey

        out = {}
        for loc in self.locations.values():
            for key in loc.repo_def.asset_graph.get_all_asset_keys():
                assert isinstance(key, AssetKey)
                records = self.instance.fetch_materializations(key, limit=1000).records
                out[key.to_user_string()] = len(records)
        return dict(sorted(out.items()))


# --- subcommands --------------------------------------------------------------


def cmd_populate(seeder: Seeder, runs: int) -> dict[str, Any]:
    if runs < MIN_POPULATE_RUNS:
        raise SystemExit(f"populate needs --runs >= {MIN_POPULATE_RUNS}")
    started = time.perf_counter()
    existing = seeder.instance.get_runs_count()
    executed = in_progress = reported = 0
    executed_seconds = reported_seconds = 0.0
    in_progress_ids: list[str] = []
    if existing == 0:
        t0 = time.perf_counter()
        for location, job_name, tags in EXECUTED_RUNS:
            seeder.execute(location, job_name, {SEED_TAG: "populate", **tags})
            executed += 1
        executed_seconds = time.perf_counter() - t0
        for location, job_name, status, tags in IN_PROGRESS_RUNS:
            run = seeder.reported_run(location, job_name, status, {SEED_TAG: "populate", **tags})
            in_progress_ids.append(run.run_id)
            in_progress += 1
    else:
        log.info("instance already has %s runs; only topping up to %s", existing, runs)
    missing = runs - seeder.instance.get_runs_count()
    t0 = time.perf_counter()
    for i in range(max(missing, 0)):
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
        "seconds": {
            "total": round(time.perf_counter() - started, 3),
            "executed": round(executed_seconds, 3),
            "executed_per_run": round(executed_seconds / executed, 4) if executed else None,
            "reported": round(reported_seconds, 3),
            "reported_per_run": round(reported_seconds / reported, 4) if reported else None,
        },
    }


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


def cmd_finish_run(seeder: Seeder, run_id: str, status: str) -> dict[str, Any]:
    run = seeder.instance.get_run_by_id(run_id)
    if run is None:
        raise SystemExit(f"run {run_id} not found")
    if run.is_finished:
        raise SystemExit(f"run {run_id} is already finished ({run.status.value})")
    if run.status.value in ("QUEUED", "NOT_STARTED"):
        # a queued run has to start before it can finish
        seeder.report_started(run)
    seeder.report_finished(run, status)
    record = seeder.instance.get_run_record_by_id(run_id)
    assert record is not None
    return {
        "run_id": run_id,
        "status": record.dagster_run.status.value,
        "update_timestamp": record.update_timestamp.timestamp(),
    }


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
            "start_time": seconds(record.start_time),
            "end_time": seconds(record.end_time),
            "update_time": record.update_timestamp.timestamp(),
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
    for location in seeder.locations.values():
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
    p = sub.add_parser("add-runs", help="add N finished runs (SUCCESS and FAILURE)")
    p.add_argument("count", type=int)
    p = sub.add_parser("start-run", help="create one run and move it to STARTED")
    p.add_argument("--location", default="operations")
    p.add_argument("--job", default="healthcheck_job")
    p = sub.add_parser("finish-run", help="move an in-progress run to a terminal status")
    p.add_argument("run_id")
    p.add_argument("--status", choices=["SUCCESS", "FAILURE", "CANCELED"], default="SUCCESS")
    sub.add_parser("dump-runs", help="print every run from run storage, as JSON")
    sub.add_parser("dump-materializations", help="print each asset's latest materialization")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Dagster logs every op/run event of executed runs to stderr at DEBUG level.
    logging.getLogger("dagster").setLevel(logging.WARNING)

    seeder = Seeder()
    if args.command == "populate":
        _emit(cmd_populate(seeder, args.runs))
    elif args.command == "add-runs":
        _emit(cmd_add_runs(seeder, args.count))
    elif args.command == "start-run":
        _emit(cmd_start_run(seeder, args.location, args.job))
    elif args.command == "finish-run":
        _emit(cmd_finish_run(seeder, args.run_id, args.status))
    elif args.command == "dump-runs":
        _emit(cmd_dump_runs(seeder))
    elif args.command == "dump-materializations":
        _emit(cmd_dump_materializations(seeder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
