"""Ground truth of the dataset tables (issue #8) and their comparison with the destination.

The truth is what the Dagster instance holds, read by `demo/seed.py dump-*` through Dagster's
instance API (`fetch_materializations`, `get_ticks`, `get_backfills`, `get_run_step_stats`,
`get_asset_check_execution_history`, ...) and, for asset checks, from the snapshots Dagster
builds from the code - never through GraphQL or the connector's own queries.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from demo.dagster_demo import DagsterDemo
from tests.integration.conftest import FINISHED, destination, differences, iso
from tests.support.fivetran_runner import ConnectorProject

EVENTS = "dagster_asset_events"
CHECKS = "dagster_asset_checks"
EXECUTIONS = "dagster_asset_check_executions"
TICKS = "dagster_ticks"
BACKFILLS = "dagster_backfills"
STEPS = "dagster_run_steps"
DATASET_TABLES = (EVENTS, CHECKS, EXECUTIONS, TICKS, BACKFILLS, STEPS)
DUMPS = (
    "dump-asset-events", "dump-asset-checks", "dump-check-executions", "dump-ticks",
    "dump-backfills", "dump-run-steps",
)  # fmt: skip


def event_identity(row: dict[str, Any]) -> tuple:
    """What tells two asset events apart (Dagster exposes no per-event id through its API)."""
    return (
        row["asset_key"], row["event_type"], row["run_id"], row["step_key"], row["partition"],
        row["timestamp"],
    )  # fmt: skip


def _millis(seconds: float) -> str | None:
    """An event time as the API gives it: whole milliseconds, truncated."""
    return iso(int(seconds * 1000) / 1000)


def expected_dataset(demo: DagsterDemo) -> dict[str, dict[Any, dict[str, Any]]]:
    """The dataset tables as Dagster holds them, keyed like `actual_dataset`."""
    dumps = demo.seed("dump", *DUMPS)  # one process for all of them
    events: dict[Any, dict[str, Any]] = {}
    for event in dumps["dump-asset-events"]:
        row = {
            "asset_key": event["asset_key"],
            "event_type": event["event_type"],
            "run_id": event["run_id"],
            "step_key": event["step_key"],
            "partition": event["partition"],
            "timestamp": _millis(event["timestamp"]),
            "tags": event["tags"],
            "metadata": event["metadata"],
            "description": event["description"],
            "failure_type": None,  # OSS Dagster records no failed materializations
            "failure_reason": None,
        }
        identity = event_identity(row)
        assert identity not in events, f"two events Dagster holds look alike: {identity}"
        events[identity] = row
    checks = {row["id"]: row for row in dumps["dump-asset-checks"]}
    executions = {
        row["id"]: {
            **row,
            "timestamp": iso(row["timestamp"]),
            "evaluation_time": iso(row["evaluation_time"]),
        }
        for row in dumps["dump-check-executions"]
    }
    ticks = {
        row["id"]: {**row, "timestamp": iso(row["timestamp"]), "end_time": iso(row["end_time"])}
        for row in dumps["dump-ticks"]
    }
    backfills = {
        row["id"]: {
            **row,
            "creation_time": iso(row["creation_time"]),
            "end_time": iso(row["end_time"]),
        }
        for row in dumps["dump-backfills"]
    }
    steps = {}
    for step in dumps["dump-run-steps"]:
        if step["run_status"] not in FINISHED:  # the table holds the steps of finished runs
            continue
        steps[(step["run_id"], step["step_key"])] = {
            "run_id": step["run_id"],
            "step_key": step["step_key"],
            "status": step["status"],
            "start_time": iso(step["start_time"]),
            "end_time": iso(step["end_time"]),
            "attempts": len(step["attempt_times"]),
            "attempt_times": [
                {"start_time": iso(start), "end_time": iso(end)}
                for start, end in step["attempt_times"]
            ],
        }
    return {
        EVENTS: events,
        CHECKS: checks,
        EXECUTIONS: executions,
        TICKS: ticks,
        BACKFILLS: backfills,
        STEPS: steps,
    }


def actual_dataset(
    project: ConnectorProject, deleted: bool = False
) -> dict[str, dict[Any, dict[str, Any]]]:
    """The dataset tables in the destination (rows not deleted, or only the deleted ones);
    asset events keyed by what tells them apart, their hash id checked and dropped."""
    tables = destination(project, deleted=deleted)
    for table in DATASET_TABLES:
        assert table in tables or deleted, f"{table} is not in the destination"
    events = {}
    for row in tables.get(EVENTS, {}).values():
        row = dict(row)
        assert row.pop("id"), row
        identity = event_identity(row)
        assert identity not in events, f"two rows for one asset event: {identity}"
        events[identity] = row
    return {**{table: tables.get(table, {}) for table in DATASET_TABLES}, EVENTS: events}


def assert_dataset_equals_dagster(project: ConnectorProject, demo: DagsterDemo) -> None:
    """Every dataset table equals, row by row and column by column, what Dagster holds."""
    actual = actual_dataset(project)
    expected = expected_dataset(demo)
    problems = {
        table: differences(actual[table], expected[table])[:15]
        for table in DATASET_TABLES
        if differences(actual[table], expected[table])
    }
    assert not problems, problems


def assert_dataset_is_rich(tables: dict[str, dict[Any, dict[str, Any]]]) -> None:
    """The demo put every kind of content the tables are about into Dagster (so that equality
    above is not vacuous)."""
    events = tables[EVENTS].values()
    assert {row["event_type"] for row in events} == {"MATERIALIZATION", "OBSERVATION"}
    assert any(row["run_id"] is None for row in events), "runless observations"
    assert any(row["partition"] for row in events), "partitioned materializations"
    assert any(row["blocking"] for row in tables[CHECKS].values())
    statuses = {row["status"] for row in tables[EXECUTIONS].values()}
    assert {"SUCCEEDED", "FAILED", "IN_PROGRESS"} <= statuses, statuses
    ticks = tables[TICKS].values()
    assert {"SUCCESS", "SKIPPED", "FAILURE", "STARTED"} <= {row["status"] for row in ticks}
    assert any(row["run_ids"] for row in ticks) and any(row["skip_reason"] for row in ticks)
    assert any(row["error_message"] for row in ticks)
    assert {row["instigator_type"] for row in ticks} == {"SCHEDULE", "SENSOR"}
    backfills = tables[BACKFILLS].values()
    assert {"REQUESTED", "COMPLETED_FAILED", "CANCELED"} <= {row["status"] for row in backfills}
    assert {row["is_asset_backfill"] for row in backfills} == {True, False}
    steps = tables[STEPS].values()
    assert any(row["attempts"] > 1 for row in steps), "a step that was retried"
    assert {"SUCCESS", "FAILURE"} <= {row["status"] for row in steps}


def most_ticks_of_one_instigator(tables: dict[str, dict[Any, dict[str, Any]]]) -> int:
    return max(Counter(row["instigator_id"] for row in tables[TICKS].values()).values())




def _unfinished(position: Any) -> bool:
    """Whether a table's position records a walk in progress (a `sync` entry, or a tick walk)."""
    if isinstance(position, dict):
        if position.get("sync") or position.get("walks"):
            return True
        return any(_unfinished(value) for value in position.values())
    return False


def dataset_tables_mid_sync(state: dict) -> list[str]:
    """The dataset tables whose saved position is part-way through a walk."""
    positions = state.get("tables") or {}
    return [table for table in DATASET_TABLES if _unfinished(positions.get(table))]


def _walked_a_page(position: Any) -> bool:
    if isinstance(position, dict):
        walks = position.get("walks")
        if isinstance(walks, list) and any(walk.get("before") is not None for walk in walks):
            return True
        return any(_walked_a_page(value) for value in position.values())
    return False


def tick_walk_under_way(state: dict) -> bool:
    """Whether the saved ticks position is part-way through an instigator's history: a walk
    that has read at least one page and has not ended."""
    return _walked_a_page((state.get("tables") or {}).get(TICKS))
