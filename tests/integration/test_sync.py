"""End to end: the connector, run by the Fivetran SDK's local runner (`fivetran debug`),
against a real dagster-webserver; the DuckDB destination must equal what Dagster holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import (
    wait_for_state,
    assert_destination_equals_dagster,
    assert_token_absent,
    destination,
    runs_upserted,
    runs_to_reread,
    synced,
)
from tests.support.fivetran_runner import ConnectorProject

pytestmark = pytest.mark.integration




def test_first_sync_loads_all_four_tables_as_dagster_holds_them(make_project, demo):
    project = make_project(page_size="40")
    output = synced(project)

    assert_destination_equals_dagster(project, demo)
    tables = destination(project)
    assert len(tables["dagster_runs"]) >= 300
    assert {row["status"] for row in tables["dagster_runs"].values()} >= {"SUCCESS", "FAILURE"}
    assert any("." in row["key_path"] for row in tables["dagster_assets"].values())
    assert {row["status"] for row in tables["dagster_schedules"].values()} == {"RUNNING", "STOPPED"}
    assert any(row["active_run_ids"] for row in tables["dagster_sensors"].values())
    assert set(tables["dagster_code_locations"]) == {"analytics", "operations"}
    assert {row["name"] for row in tables["dagster_jobs"].values()} >= {"warehouse_refresh_job", "cleanup_job"}
    # The cross-location dependency is an edge, and its upstream asset one row, where it's defined.
    edge = tables["dagster_asset_dependencies"]["warehouse/marts/customer_ltv -> ml/churn_features"]
    assert edge["code_location"] == "operations"
    assert tables["dagster_assets"]["warehouse/marts/customer_ltv"]["code_location"] == "analytics"
    assert {row["code_location"] for row in tables["dagster_runs"].values()} == {"analytics", "operations"}
    state = project.state()
    assert state["runs"]["sync"] is None and state["runs"]["updated_until"] > 0
    assert "runs done:" in output and "Dagster sync complete" in output
    assert_token_absent(project, output)


def test_incremental_sync_loads_new_and_changed_runs_only(make_project, demo):
    project = make_project(page_size="25", lookback_seconds="0")
    in_progress_run = demo.seed("start-run")
    synced(project)
    assert destination(project)["dagster_runs"][in_progress_run]["status"] == "STARTED"

    state = project.state()
    new_runs = demo.seed("add-runs", "10")
    demo.seed("finish-run", in_progress_run, "--status", "SUCCESS")
    demo.set_schedule_running("analytics", "__repository__", "reports_daily_schedule", True)
    demo.set_sensor_running("operations", "__repository__", "multi_job_sensor", True)
    output = synced(project)

    # Only the runs changed since the watermark (the 10 new ones, the finished one) and those
    # last seen unfinished were read, each once.
    reread = runs_to_reread(demo, state)
    assert set(new_runs) | {in_progress_run} <= reread
    assert runs_upserted(output) == len(reread)
    tables = destination(project)
    assert tables["dagster_runs"][in_progress_run]["status"] == "SUCCESS"
    assert set(new_runs) <= set(tables["dagster_runs"])
    schedule_states = {row["name"]: row["status"] for row in tables["dagster_schedules"].values()}
    assert schedule_states["reports_daily_schedule"] == "RUNNING"
    assert_destination_equals_dagster(project, demo)
    assert_token_absent(project, output)

    demo.set_schedule_running("analytics", "__repository__", "reports_daily_schedule", False)
    demo.set_sensor_running("operations", "__repository__", "multi_job_sensor", False)


def run_sync(state: dict) -> dict:
    return (state.get("runs") or {}).get("sync") or {}


def walks(state: dict) -> list[dict]:
    return run_sync(state).get("walks", [])


def test_a_run_that_changes_during_a_sync_is_caught_by_the_next(make_project, demo, tmp_path):
    # A slow sync (4 requests/s shared by every table, one walk) leaves time to change a run
    # after its page was read (and if the sync ends first, the run was still read as STARTED).
    project = make_project(
        page_size="100", requests_per_second="4", max_concurrency="1", lookback_seconds="0"
    )
    run_id = demo.seed("start-run")  # the newest run: on the walk's first page
    process = project.start_sync(tmp_path / "sync1.log")
    wait_for_state(project, lambda state: any(walk["cursor"] for walk in walks(state)), process)
    demo.seed("finish-run", run_id, "--status", "FAILURE")
    assert process.wait(timeout=300) == 0, (tmp_path / "sync1.log").read_text()[-3000:]
    assert destination(project)["dagster_runs"][run_id]["status"] == "STARTED"

    state = project.state()
    project.configuration_path.write_text(project.configuration_path.read_text().replace(
        '"requests_per_second": "4"', '"requests_per_second": "50"'))
    output = synced(project)
    assert destination(project)["dagster_runs"][run_id]["status"] == "FAILURE"
    reread = runs_to_reread(demo, state)
    assert run_id in reread and runs_upserted(output) == len(reread)
    assert_destination_equals_dagster(project, demo)


def test_a_killed_sync_resumes_from_its_last_checkpoint(make_project, demo, tmp_path: Path):
    # Small pages at 5 requests/s: a first sync split into windows, slow enough to kill twice.
    project = make_project(page_size="10", requests_per_second="5")
    kills = []
    for attempt, rows_before_kill in enumerate((40, 120)):
        process = project.start_sync(tmp_path / f"killed{attempt}.log")
        wait_for_state(
            project,
            lambda state: run_sync(state).get("rows_done", 0) >= rows_before_kill,
            process,
        )
        ConnectorProject.kill_sync(process)
        saved = run_sync(project.state())  # the last checkpoint that made it to disk
        kills.append(saved)
        saved_rows = len(destination(project)["dagster_runs"])
        # Upserts are committed with each checkpoint: what is saved matches the cursors (give or
        # take one page written without its state, and runs on two windows' shared boundary).
        assert saved["rows_done"] - len(saved["walks"]) <= saved_rows
        assert saved_rows <= saved["rows_done"] + 10

    assert len(kills[0]["walks"]) > 1, "a first sync of this size is split into windows"
    windows = [{(w["created_after"], w["created_before"]) for w in kill["walks"]} for kill in kills]
    assert windows[1] <= windows[0], "the resumed sync kept its windows"
    assert kills[1]["rows_done"] > kills[0]["rows_done"]
    log = (tmp_path / "killed1.log").read_text()
    assert "resuming an interrupted sync" in log

    output = synced(project)
    assert "resuming an interrupted sync" in output
    for walk in kills[1]["walks"]:
        if walk["cursor"]:
            assert f"after run {walk['cursor']}" in output
    total_runs = len(demo.seed("dump-runs"))
    # The resumed sync read only what the saved cursors had not covered.
    remaining = total_runs - kills[1]["rows_done"]
    assert remaining <= runs_upserted(output) <= remaining + 2 * len(kills[1]["walks"])
    assert project.state()["runs"]["sync"] is None
    assert_destination_equals_dagster(project, demo)
    assert_token_absent(project, output, log)
