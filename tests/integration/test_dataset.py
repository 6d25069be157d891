"""End to end, the dataset tables of issue #8 (asset events, asset checks and their executions,
schedule and sensor ticks, backfills, run steps, and the assets' dataset columns): after a first
sync, after an incremental sync that follows a change in each of them, and after a first sync
killed part-way and resumed, the DuckDB destination of `fivetran debug` equals what the Dagster
instance holds (tests/integration/dataset_truth.py), row by row.

Uses the session's demo deployment (tests/integration/conftest.py); the definitions it changes
are put back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.dagster_demo import DagsterDemo
from tests.integration.conftest import (
    assert_destination_equals_dagster,
    assert_token_absent,
    destination,
    iso,
    synced,
)
from tests.integration.dataset_truth import (
    BACKFILLS,
    CHECKS,
    EVENTS,
    EXECUTIONS,
    STEPS,
    TICKS,
    actual_dataset,
    assert_dataset_equals_dagster,
    assert_dataset_is_rich,
    dataset_tables_mid_sync,
    most_ticks_of_one_instigator,
    tick_walk_under_way,
)
from tests.integration.conftest import wait_for_state
from tests.support.fivetran_runner import ConnectorProject

pytestmark = pytest.mark.integration

# Removed from code (demo toggles) by the incremental test: a check that has executions.
REMOVED_CHECK = "warehouse/raw/customers:customers_have_emails"
# Dagster 1.13 answers at most this many ticks per page (DAGSTER_MAX_TICKS_QUERY_LIMIT).
TICKS_CLAMP = 1000


def connector_warnings(output: str) -> list[str]:
    """The connector's warnings (a table that failed is skipped with one)."""
    return [line for line in output.splitlines() if "WARNING" in line and "connector" in line]


def test_first_sync_loads_the_dataset_tables_as_dagster_holds_them(make_project, demo):
    project = make_project()
    output = synced(project)

    assert not connector_warnings(output)
    assert_destination_equals_dagster(project, demo)  # assets with their dataset columns too
    assert_dataset_equals_dagster(project, demo)
    tables = actual_dataset(project)
    assert_dataset_is_rich(tables)
    # One sensor has more ticks than 1.13 answers in one page: its walk went past the clamp.
    assert most_ticks_of_one_instigator(tables) > TICKS_CLAMP
    assets = destination(project)["dagster_assets"]
    [partitioned] = [row for row in assets.values() if row["is_partitioned"]]
    assert partitioned["partition_count"] == 14 and partitioned["failed_partition_count"] == 1
    assert any(row["is_observable"] and not row["is_materializable"] for row in assets.values())
    assert_token_absent(project, output)


def _in_progress_check_run(demo: DagsterDemo) -> str:
    executions = demo.seed("dump-check-executions")
    runs = sorted({row["run_id"] for row in executions if row["status"] == "IN_PROGRESS"})
    assert runs, "the demo leaves a run with a planned asset check in progress"
    return runs[0]


def test_incremental_sync_follows_a_change_in_every_dataset_table(make_project, demo):
    project = make_project()
    synced(project)
    before = actual_dataset(project)
    assert REMOVED_CHECK in before[CHECKS]
    removed_executions = {
        key: row for key, row in before[EXECUTIONS].items() if row["check_id"] == REMOVED_CHECK
    }
    assert removed_executions

    try:
        # A check removed from code (its location reloaded), before the new run below, which
        # therefore does not execute it.
        demo.set_toggles(removed=[f"check:{REMOVED_CHECK}"])
        assert demo.reload_location("analytics")["error"] is None
        # A new run that materializes assets and executes checks (steps, events, executions).
        new_run = demo.seed("execute-run", "--location", "analytics", "--job", "warehouse_refresh_job")
        # The run with a check in progress fails: its planned check ends EXECUTION_FAILED.
        open_run = _in_progress_check_run(demo)
        demo.seed("finish-run", open_run, "--status", "FAILURE")
        # New ticks, and the tick in progress ends.
        new_ticks = [str(tick_id) for tick_id in demo.seed("add-ticks")]
        [started] = [key for key, row in before[TICKS].items() if row["status"] == "STARTED"]
        demo.seed("finish-tick", started, "--status", "SKIPPED")
        # The requested backfill completes, and a new one is requested.
        [requested] = [key for key, row in before[BACKFILLS].items() if row["status"] == "REQUESTED"]
        demo.seed("finish-backfill", requested, "--status", "COMPLETED_SUCCESS")
        new_backfill = demo.seed("add-backfill")
        # An external system reports an observation.
        observed = demo.seed("observe")

        output = synced(project)

        assert not connector_warnings(output)
        assert_destination_equals_dagster(project, demo)
        assert_dataset_equals_dagster(project, demo)
        after = actual_dataset(project)
        gone = actual_dataset(project, deleted=True)
        # The removed check is soft-deleted; its executions stay, unchanged.
        assert set(gone[CHECKS]) == {REMOVED_CHECK}
        for key, row in removed_executions.items():
            assert after[EXECUTIONS][key] == row
        assert not any(gone[table] for table in (EVENTS, EXECUTIONS, TICKS, BACKFILLS, STEPS))
        # Each change arrived.
        assert {row["run_id"] for row in after[STEPS].values()} >= {new_run["run_id"]}
        assert any(row["run_id"] == new_run["run_id"] for row in after[EVENTS].values())
        assert any(row["run_id"] == new_run["run_id"] for row in after[EXECUTIONS].values())
        assert {row["status"] for row in after[EXECUTIONS].values() if row["run_id"] == open_run} == {
            "EXECUTION_FAILED"
        }
        assert set(new_ticks) <= set(after[TICKS]) and after[TICKS][started]["status"] == "SKIPPED"
        assert after[BACKFILLS][requested]["status"] == "COMPLETED_SUCCESS"
        assert after[BACKFILLS][new_backfill]["status"] == "REQUESTED"
        runless = [row for row in after[EVENTS].values() if row["run_id"] is None]
        assert len(runless) == len([r for r in before[EVENTS].values() if r["run_id"] is None]) + 1
        assert max(row["timestamp"] for row in runless) == iso(int(observed["timestamp"] * 1000) / 1000)
        assert_token_absent(project, output)
    finally:
        demo.set_toggles()
        demo.reload_location("analytics")


def test_an_incremental_sync_without_a_reload_reads_again_only_the_assets_that_moved(make_project, demo):
    # No location reloads between the two syncs: their `versionKey`s are unchanged, so the
    # second lists the bare keys and reads by key the assets materialized since (and the
    # partitioned ones); every table must still equal Dagster.
    project = make_project()
    synced(project)
    demo.seed("execute-run", "--location", "analytics", "--job", "warehouse_refresh_job")
    demo.seed("observe")
    output = synced(project)
    [listing] = [line for line in output.splitlines() if "asset graph:" in line]
    assert "definitions unchanged" in listing, listing
    assert not connector_warnings(output)
    assert_destination_equals_dagster(project, demo)
    assert_dataset_equals_dagster(project, demo)


def test_a_killed_first_sync_resumes_and_ends_equal_to_dagster(make_project, demo, tmp_path: Path):
    # Small pages at a few requests per second: slow enough to be killed part-way through the
    # dataset tables' walks.
    project = make_project(page_size="10", requests_per_second="4")
    process = project.start_sync(tmp_path / "killed.log")
    # Killed once the biggest table (ticks: thousands) is part-way through a walk.
    wait_for_state(project, tick_walk_under_way, process, timeout=180)
    ConnectorProject.kill_sync(process)
    saved = project.state()  # the last checkpoint that made it to disk
    assert tick_walk_under_way(saved), saved.get("tables")
    assert len(destination(project).get(TICKS, {})) < len(demo.seed("dump-ticks"))

    project.configuration_path.write_text(
        project.configuration_path.read_text().replace(
            '"requests_per_second": "4"', '"requests_per_second": "200"'
        )
    )
    output = synced(project)

    assert not connector_warnings(output)
    assert not dataset_tables_mid_sync(project.state())
    assert_destination_equals_dagster(project, demo)
    assert_dataset_equals_dagster(project, demo)
    assert_token_absent(project, output, (tmp_path / "killed.log").read_text())
