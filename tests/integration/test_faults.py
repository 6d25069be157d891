"""Full syncs through `fivetran debug` against the simulated Dagster (benchmarks/) while it
injects faults as dagster-webserver 1.13 and the proxies in front of it send them: every sync
must end with the destination equal to the source, no run lost, none duplicated, no status
change missed, nothing deleted that Dagster still has, and the API token nowhere.

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
FAULT_KINDS = ["500", "502", "503", "504", "reset", "timeout", "truncated", "not_json", "429",
               "statement_timeout"]  # fmt: skip
FAST = {
    "page_size": "250",  # 12 pages: the first sync splits into windows
    "request_timeout_seconds": "2",
    "requests_per_second": "200",
}
INGESTION = {"repositoryLocationName": "ingestion", "repositoryName": "__repository__"}


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


def failed_sync(project: ConnectorProject) -> str:
    result = project.sync(timeout=600)
    assert result.returncode != 0, result.output[-4000:]
    assert TOKEN not in result.output
    return result.output


def _keyed(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    keyed = {}
    for row in rows:
        row = {k: v for k, v in row.items() if not k.startswith("_fivetran")}
        keyed[row[key]] = row
    return keyed


def _live(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows not marked deleted; asserts none is (the simulator's definitions stay)."""
    deleted = [row for row in rows if row.get("_fivetran_deleted")]
    assert not deleted, f"{len(deleted)} rows marked deleted that Dagster still has, e.g. {deleted[0]}"
    return rows


def assert_definitions_equal(project: ConnectorProject, server: SimulatedDagster,
                             tables: dict[str, list[dict[str, Any]]] | None = None) -> None:  # fmt: skip
    """Assets, schedules, sensors, jobs, code locations and asset dependencies equal the
    simulator's, none marked deleted."""
    tables = tables or project.tables()
    model = server.model
    for table, rows in (
        ("dagster_assets", model.expected_assets()),
        ("dagster_schedules", model.expected_schedules()),
        ("dagster_sensors", model.expected_sensors()),
        ("dagster_jobs", model.expected_jobs()),
        ("dagster_code_locations", model.expected_code_locations()),
        ("dagster_asset_dependencies", model.expected_asset_dependencies()),
    ):
        actual = _keyed(_live(tables[table]), "id")
        if table == "dagster_sensors":
            for row in actual.values():
                row["active_run_ids"] = json.loads(row["active_run_ids"])
            rows = [{**row, "active_run_ids": json.loads(row["active_run_ids"])} for row in rows]
        expected = _keyed(rows, "id")
        assert actual.keys() == expected.keys(), (table, sorted(actual.keys() ^ expected.keys())[:5])
        wrong = [key for key in expected if actual[key] != expected[key]]
        assert not wrong, (table, actual[wrong[0]], expected[wrong[0]])


def lost_rows(project: ConnectorProject, server: SimulatedDagster, deleted_runs: set[str] = frozenset()) -> int:
    """Asserts the destination equals the source; returns the runs missing (always 0 here).

    `deleted_runs` were deleted in Dagster after being synced: they stay in the destination
    (run deletions are not propagated), and nothing else may be extra.
    """
    tables = project.tables()
    runs = _keyed(tables["dagster_runs"], "run_id")
    assert len(runs) == len(tables["dagster_runs"]), "duplicate run rows"
    expected = {row["run_id"]: row for row in server.expected_runs()}
    lost = expected.keys() - runs.keys()
    assert not lost, f"{len(lost)} runs lost, e.g. {sorted(lost)[:3]}"
    assert runs.keys() - expected.keys() <= set(deleted_runs), "runs the source doesn't have"
    wrong = [run_id for run_id, row in expected.items() if runs[run_id] != row]
    assert not wrong, f"{len(wrong)} runs differ, e.g. {runs[wrong[0]]} != {expected[wrong[0]]}"
    assert_definitions_equal(project, server, tables)
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
        f"faults={dict(stats.faults)} 429s={stats.responses_429} statuses={dict(stats.status_codes)}"
    )


def run_sync_state(project: ConnectorProject) -> dict[str, Any]:
    """The interrupted run sync in the saved state (state version 2), or {}."""
    return (project.state().get("runs") or {}).get("sync") or {}


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_transient_fault_is_retried_and_nothing_is_lost(kind, server, tmp_path):
    # An HTML page with status 200 is retried 3 times at most (then it is taken for a login
    # page: see test_an_html_page_every_time_fails_naming_base_url): one at a time here.
    page_faults = 1 if kind == "not_json" else 3
    scripted = {
        "ConnectorServerInfo": 1, "ConnectorRunsCount": 1, "ConnectorWorkspace": 1,
        "ConnectorRunsPage": page_faults, "ConnectorSchedules": 1, "ConnectorSensors": 1,
        "ConnectorAssetGraph": 1, "ConnectorJobs": 1, "ConnectorAssetEvents": 1,
        "ConnectorScheduleTicks": 1, "ConnectorBackfillsPage": 1, "ConnectorRunStepStats": 1,
    }  # fmt: skip
    for operation, count in scripted.items():
        server.script_faults(operation, [kind] * count)
    project = project_for(tmp_path, server)
    output = sync(project)
    assert sum(server.stats.faults.values()) == sum(scripted.values()), server.stats.faults
    assert "retry" in output  # each retry is logged with its reason and wait
    lost = lost_rows(project, server)

    # An incremental sync under the same faults still misses no new run or status change.
    new_runs = server.add_runs(40)
    in_progress = [row["run_id"] for row in server.expected_runs() if row["status"] == "STARTED"]
    server.set_run_status(in_progress[0], "SUCCESS")
    server.script_faults("ConnectorRunsPage", [kind] * min(page_faults, 2))
    sync(project)
    lost += lost_rows(project, server)
    assert set(new_runs) <= {row["run_id"] for row in project.tables()["dagster_runs"]}
    assert_no_token_in_files(project)
    report(kind, 2, lost, server)


def test_an_html_page_every_time_fails_naming_base_url(tmp_path):
    """A login page in front of Dagster: 3 retries at most, then a message naming base_url."""
    with SimulatedDagster(runs=50, failure_rate=1.0, fault_kinds=("not_json",)) as server:
        project = project_for(tmp_path, server)
        output = failed_sync(project)
        assert "base_url" in output and "HTML" in output
        assert server.stats.requests <= 4, "at most 3 retries of an HTML page"
        assert_no_token_in_files(project)
        report("HTML 200 on every request", 1, 0, server)


def test_statement_timeouts_on_big_pages_halve_the_page(tmp_path):
    """A Postgres statement timeout on pages above 400 runs (Dagster's HTTP 500 JSON answer):
    the connector halves its pages until they pass, and loses nothing."""
    with SimulatedDagster(runs=RUNS, statement_timeout_rows=400, assets_per_repository=10) as server:
        project = project_for(tmp_path, server, page_size="1000")
        output = sync(project)
        assert "retrying with pages of 500 runs" in output
        assert "retrying with pages of 250 runs" in output
        assert server.stats.statement_timeouts >= 2 and server.stats.status_codes[500] >= 2
        lost = lost_rows(project, server)
        server.add_runs(600)
        sync(project)
        lost += lost_rows(project, server)
        report("statement timeout above 400 rows (page_size 1000)", 2, lost, server)


@pytest.mark.parametrize("kind", ["resolver_error", "python_error"])
def test_a_failing_schedules_query_skips_that_repository_and_deletes_nothing(kind, server, tmp_path):
    """Dagster fails, every time, to answer the schedules of one repository (HTTP 500 JSON:
    an error at `schedulesOrError.results[0].scheduleState`, or a PythonError in the union)."""
    project = project_for(tmp_path, server)
    sync(project)
    lost = lost_rows(project, server)
    ingestion = {row["id"] for row in server.model.expected_schedules() if row["code_location"] == "ingestion"}
    assert ingestion

    server.fail_always("ConnectorSchedules", kind, {"repositorySelector": INGESTION})
    server.add_runs(10)
    output = sync(project)
    assert "schedules: skipping repository __repository__@ingestion" in output
    assert server.stats.faults[kind] >= 1 and server.stats.status_codes[500] >= 1
    lost += lost_rows(project, server)  # every schedule still there, none marked deleted

    # A first sync under the same failure: the other repository's schedules only.
    fresh = project_for(tmp_path, server, name="fresh")
    output = sync(fresh)
    assert "schedules: skipping repository __repository__@ingestion" in output
    schedules = _keyed(_live(fresh.tables()["dagster_schedules"]), "id")
    expected = _keyed(server.model.expected_schedules(), "id")
    assert schedules == {key: row for key, row in expected.items() if key not in ingestion}
    server.stop_failing()
    report(f"{kind} on one repository's schedules", 3, lost, server)


def test_a_failing_jobs_query_skips_only_that_repository_s_jobs(server, tmp_path):
    """Dagster fails, every time, to list one repository's jobs (HTTP 500 JSON, an error at
    `repositoryOrError.jobs[0].owners`): a warning, that repository's jobs left as they are,
    every other table complete."""
    project = project_for(tmp_path, server)
    sync(project)
    lost = lost_rows(project, server)
    server.fail_always("ConnectorJobs", "resolver_error", {"repositorySelector": INGESTION})
    server.add_runs(10)
    output = sync(project)
    assert "jobs: skipping repository __repository__@ingestion" in output
    skipped = [line for line in output.splitlines() if "skipping" in line]
    assert all("jobs: skipping repository __repository__@ingestion" in line for line in skipped), skipped
    assert server.stats.faults["resolver_error"] >= 1
    lost += lost_rows(project, server)  # every job still there, none marked deleted
    server.stop_failing()
    report("resolver_error on one repository's jobs", 2, lost, server)


def test_a_server_that_clamps_page_sizes_loses_nothing(tmp_path):
    """The server answers at most 100 runs whatever `limit` asks (5000 here)."""
    with SimulatedDagster(runs=RUNS, max_page_size=100, assets_per_repository=30) as server:
        project = project_for(tmp_path, server, page_size="5000")
        sync(project)
        assert server.stats.limits_asked[5000] >= RUNS // 100
        lost = lost_rows(project, server)

        server.add_runs(250)
        in_progress = [row["run_id"] for row in server.expected_runs() if row["status"] == "QUEUED"]
        server.set_run_status(in_progress[0], "CANCELED")
        sync(project)
        lost += lost_rows(project, server)
        report("limit clamped to 100 (page_size 5000)", 2, lost, server)


def test_a_deleted_cursor_run_is_walked_past(tmp_path):
    """A sync killed mid-walk, then the run its cursor names is deleted in Dagster (which
    then answers that cursor with an empty page): the next sync still reads every run."""
    with SimulatedDagster(runs=20_000, latency_ms=20, seed=5) as server:
        project = project_for(tmp_path, server, page_size="1000", requests_per_second="20")
        process = project.start_sync(tmp_path / "killed.log")
        cursors: list[str] = []
        while process.poll() is None:
            cursors = [walk["cursor"] for walk in run_sync_state(project).get("walks", []) if walk.get("cursor")]
            if cursors and run_sync_state(project).get("rows_done", 0) >= 3000:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the sync finished before it could be interrupted"
        ConnectorProject.kill_sync(process)
        cursors = [walk["cursor"] for walk in run_sync_state(project)["walks"] if walk.get("cursor")]
        assert cursors
        server.delete_runs(cursors)
        output = sync(project)
        assert "resuming an interrupted sync" in output and "was deleted meanwhile" in output
        sync(project)
        lost = lost_rows(project, server, deleted_runs=set(cursors))
        report(f"{len(cursors)} cursor run(s) deleted after a SIGKILL", 3, lost, server)


def test_a_mix_of_random_faults_and_a_server_rate_limit(tmp_path):
    with SimulatedDagster(
        runs=RUNS,
        failure_rate=0.1,
        fault_kinds=("500", "502", "503", "504", "reset", "truncated", "statement_timeout"),
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
            saved_before = run_sync_state(project).get("rows_done", 0)
            target = saved_before + chance.randint(500, 5000)
            while process.poll() is None:
                if run_sync_state(project).get("rows_done", 0) >= target:
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
    server.script_faults("ConnectorServerInfo", ["401"])
    project = project_for(tmp_path, server)
    result = project.sync()
    assert result.returncode != 0
    assert "api_token" in result.output
    assert server.stats.requests == 1, "no retry storm on 401"
    assert TOKEN not in result.output
    assert_no_token_in_files(project)


@pytest.mark.parametrize("introspection", [True, False])
def test_an_older_schema_is_synced_through_fallbacks(introspection, tmp_path):
    """Dagster without `Sensor.sensorType` and without the SUSPENDED run status; with
    introspection switched off the connector can't ask which statuses there are either."""
    with SimulatedDagster(runs=500, old_schema=True, introspection=introspection) as server:
        project = project_for(tmp_path, server)
        output = sync(project)
        assert "can't run ConnectorSensors " in output
        assert server.stats.by_operation["ConnectorServerVersion"] == (0 if introspection else 1)
        # The only 400s are the fallbacks' probes: the typed sensors query (once: both
        # repositories are in one request) and the introspection; no run filter named SUSPENDED.
        typed_probes = server.stats.by_operation["ConnectorSensors"]
        assert typed_probes == 1
        assert server.stats.status_codes[400] == typed_probes + (0 if introspection else 1)
        tables = project.tables()
        runs = _keyed(tables["dagster_runs"], "run_id")
        assert runs == {row["run_id"]: row for row in server.expected_runs()}
        sensors = _keyed(_live(tables["dagster_sensors"]), "id")
        assert all(row["sensor_type"] is None for row in sensors.values())
        expected = _keyed(server.model.expected_sensors(), "id")
        for row in expected.values():
            row["sensor_type"] = None
        assert sensors == expected
        assert _keyed(_live(tables["dagster_assets"]), "id") == _keyed(server.model.expected_assets(), "id")
        # 1.11 fails to resolve `Job.isAssetJob` (HTTP 500): jobs are listed without it.
        assert "can't run ConnectorJobs " in output and server.stats.by_operation["ConnectorJobsUnflagged"] == 1
        jobs = _keyed(server.model.expected_jobs(), "id")
        assert _keyed(_live(tables["dagster_jobs"]), "id") == {key: {**row, "is_asset_job": None} for key, row in jobs.items()}
