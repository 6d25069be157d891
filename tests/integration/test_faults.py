"""Full syncs through `fivetran debug` against the simulated Dagster (benchmarks/) while it
injects faults: every sync must end with the destination equal to the source, no run lost,
none duplicated, no status change missed, and the API token nowhere.

Each test prints one `FAULTS ...` line (kind, syncs run, rows lost) for the issue's report.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.simulated_dagster import SimulatedDagster
from tests.support.fivetran_runner import ConnectorProject

pytestmark = pytest.mark.integration

TOKEN = "fault-test-token-5d1c0b7e"
RUNS = 3000
FAULT_KINDS = ["500", "502", "503", "504", "reset", "timeout", "truncated", "not_json", "429"]
FAST = {
    "page_size": "250",  # 12 pages: the first sync splits into windows
    "request_timeout_seconds": "2",
    "requests_per_second": "200",
}


@pytest.fixture
def server() -> Iterator[SimulatedDagster]:
    with SimulatedDagster(runs=RUNS, hang_seconds=5.0, assets_per_repository=30) as simulated:
        yield simulated


def project_for(tmp_path: Path, server: SimulatedDagster, name: str = "p", **tuning: str):
    configuration = {"base_url": server.url, "api_token": TOKEN, **FAST, **tuning}
    return ConnectorProject(tmp_path / name, configuration)


def sync(project: ConnectorProject) -> str:
    result = project.sync(timeout=600)
    assert result.returncode == 0, result.output[-4000:]
    assert TOKEN not in result.output
    return result.output


def _keyed(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    keyed = {}
    for row in rows:
        row = {k: v for k, v in row.items() if not k.startswith("_fivetran")}
        keyed[row[key]] = row
    return keyed


def lost_rows(project: ConnectorProject, server: SimulatedDagster) -> int:
    """Asserts the destination equals the source; returns the runs missing (always 0 here)."""
    tables = project.tables()
    runs = _keyed(tables["dagster_runs"], "run_id")
    assert len(runs) == len(tables["dagster_runs"]), "duplicate run rows"
    expected = {row["run_id"]: row for row in server.expected_runs()}
    lost = expected.keys() - runs.keys()
    assert not lost, f"{len(lost)} runs lost, e.g. {sorted(lost)[:3]}"
    assert not runs.keys() - expected.keys(), "runs the source doesn't have"
    wrong = [run_id for run_id, row in expected.items() if runs[run_id] != row]
    assert not wrong, f"{len(wrong)} runs differ, e.g. {runs[wrong[0]]} != {expected[wrong[0]]}"
    model = server.model
    for table, key, rows in (
        ("dagster_assets", "id", model.expected_assets()),
        ("dagster_schedules", "id", model.expected_schedules()),
        ("dagster_sensors", "id", model.expected_sensors()),
    ):
        actual = _keyed(tables[table], key)
        if table == "dagster_sensors":
            for row in actual.values():
                row["active_run_ids"] = json.loads(row["active_run_ids"])
            rows = [{**row, "active_run_ids": json.loads(row["active_run_ids"])} for row in rows]
        assert actual == _keyed(rows, key), table
    return len(lost)


def assert_no_token_in_files(project: ConnectorProject) -> None:
    for folder in ("files", "crash-reports"):
        for path in project.root.joinpath(folder).rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


def report(kind: str, syncs: int, lost: int, server: SimulatedDagster) -> None:
    stats = server.stats
    print(
        f"\nFAULTS kind={kind} syncs={syncs} rows_lost={lost} requests={stats.requests} "
        f"faults={dict(stats.faults)} 429s={stats.responses_429}"
    )


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_transient_fault_is_retried_and_nothing_is_lost(kind, server, tmp_path):
    for operation in ("ConnectorServerVersion", "ConnectorRunsCount", "ConnectorRepositories"):
        server.script_faults(operation, [kind])
    server.script_faults("ConnectorRunsPage", [kind, kind, kind])
    server.script_faults("ConnectorSchedules", [kind])
    server.script_faults("ConnectorAssetNodesPage", [kind])
    project = project_for(tmp_path, server)
    output = sync(project)
    assert sum(server.stats.faults.values()) + server.stats.responses_429 >= 8
    assert "retry" in output  # each retry is logged with its reason and wait
    lost = lost_rows(project, server)

    # An incremental sync under the same faults still misses no new run or status change.
    new_runs = server.add_runs(40)
    in_progress = [row["run_id"] for row in server.expected_runs() if row["status"] == "STARTED"]
    server.set_run_status(in_progress[0], "SUCCESS")
    server.script_faults("ConnectorRunsPage", [kind, kind])
    sync(project)
    lost += lost_rows(project, server)
    assert set(new_runs) <= {row["run_id"] for row in project.tables()["dagster_runs"]}
    assert_no_token_in_files(project)
    report(kind, 2, lost, server)


def test_a_mix_of_random_faults_and_a_server_rate_limit(tmp_path):
    with SimulatedDagster(
        runs=RUNS,
        failure_rate=0.1,
        fault_kinds=("500", "502", "503", "504", "reset", "truncated", "not_json"),
        rate_limit_rps=10,
        hang_seconds=5.0,
        seed=7,
    ) as server:
        project = project_for(tmp_path, server, requests_per_second="40")
        lost = 0
        for round_number in range(3):
            # Besides the server's own limit (which the throttle may stay under), some 429s.
            server.script_faults("ConnectorRunsPage", ["429", "503", "429"])
            if round_number:
                server.add_runs(100)
                in_progress = [r["run_id"] for r in server.expected_runs() if r["status"] == "STARTED"]
                server.set_run_status(in_progress[0], "FAILURE")
            sync(project)
            lost += lost_rows(project, server)
        assert sum(server.stats.faults.values()) > 0 and server.stats.responses_429 > 0
        assert_no_token_in_files(project)
        assert server.stats.responses_429 < server.stats.requests / 4, "429s slowed us down"
        report("mix: 10% random faults + server limit 10 req/s", 3, lost, server)


def test_killed_again_and_again_at_random_moments_the_sync_still_ends_exact(tmp_path):
    with SimulatedDagster(runs=30_000, latency_ms=20, seed=3) as server:
        project = project_for(tmp_path, server, page_size="1000", requests_per_second="20")
        chance = random.Random(11)
        kills = 0
        for attempt in range(5):
            process = project.start_sync(tmp_path / f"killed{attempt}.log")
            # Past a random number of saved rows, plus a random part of a page's time.
            saved_before = (project.state().get("run_sync") or {}).get("rows_done", 0)
            target = saved_before + chance.randint(500, 5000)
            while process.poll() is None:
                if (project.state().get("run_sync") or {}).get("rows_done", 0) >= target:
                    break
                time.sleep(0.02)
            time.sleep(chance.uniform(0.0, 0.3))
            if process.poll() is not None:
                break  # finished before the kill
            ConnectorProject.kill_sync(process)
            kills += 1
            if attempt == 2:  # the source changes between crashes too
                server.add_runs(500)
        assert kills >= 3
        output = sync(project)
        assert "resuming an interrupted sync" in output
        # Runs created after the interrupted sync's window_end are the next sync's work.
        sync(project)
        lost = lost_rows(project, server)
        for log in tmp_path.glob("killed*.log"):
            assert TOKEN not in log.read_text()
        assert_no_token_in_files(project)
        report(f"SIGKILL x{kills} at random moments", kills + 2, lost, server)


def test_bad_credentials_fail_fast_with_advice_and_no_token(server, tmp_path):
    server.script_faults("ConnectorServerVersion", ["401"])
    project = project_for(tmp_path, server)
    result = project.sync()
    assert result.returncode != 0
    assert "api_token" in result.output
    assert server.stats.requests == 1, "no retry storm on 401"
    assert TOKEN not in result.output
    assert_no_token_in_files(project)


def test_an_older_schema_is_synced_through_fallbacks(tmp_path):
    with SimulatedDagster(runs=500, old_schema=True) as server:
        project = project_for(tmp_path, server)
        output = sync(project)
        assert "can't run ConnectorAssetNodesPage" in output
        assert "can't run ConnectorSensors " in output
        tables = project.tables()
        assert len(tables["dagster_runs"]) == 500
        assert all(row["sensor_type"] is None for row in tables["dagster_sensors"])
        assert len(tables["dagster_assets"]) == len(server.model.expected_assets())
