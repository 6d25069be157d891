"""End to end, the dbt package (dbt/) on what the connector lands.

After a real sync of the demo Dagster, `dbt build` (every model and its dbt tests) passes on the
warehouse `fivetran debug` wrote, and the marts hold the figures computed in Python from what
Dagster's instance holds (demo/seed.py dump-*; tests/integration/marts_truth.py): runs and
failures per job per day, durations and queue times, failure streaks and time to recovery, asset
freshness, tick outcomes per schedule and sensor per day, check pass rates, step retries. The
health report then runs on those marts. A second test builds the package on a warehouse shaped
as an older connector left it: the build passes and what is missing reads as empty or NULL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.integration import marts_truth as truth
from tests.integration.conftest import synced

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
MARTS = "main_dagster"
SECONDS = 1e-3  # timestamps land with microseconds, event times in whole milliseconds


def dbt_build(warehouse: Path, scratch: Path) -> str:
    """`bash scripts/dbt.sh build` on `warehouse`, its target/ and logs/ in `scratch`."""
    env = {
        **os.environ,
        "DAGSTER_WAREHOUSE": str(warehouse),
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
    }
    result = subprocess.run(
        ["bash", "scripts/dbt.sh", "build", "--no-use-colors"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:]
    assert "Completed successfully" in result.stdout, result.stdout[-5000:]
    return result.stdout


def mart(warehouse: Path, name: str, key: str) -> dict[str, dict[str, Any]]:
    """A mart's rows by `key`; times (naive UTC timestamps) as epoch seconds."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = connection.execute(f"SELECT * FROM {MARTS}.{name}")
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, values)) for values in cursor.fetchall()]
    finally:
        connection.close()
    for row in rows:
        for column, value in row.items():
            if isinstance(value, datetime):
                row[column] = value.replace(tzinfo=timezone.utc).timestamp()
    return {row[key]: row for row in rows}


def close(actual: float | None, expected: float | None, tolerance: float = SECONDS) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return abs(actual - expected) <= tolerance


def mismatches(
    actual: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]], floats: tuple[str, ...] = ()
) -> list[str]:
    """Differences between mart rows and expected rows (the expected columns only)."""
    lines = [f"missing {key}" for key in expected.keys() - actual.keys()]
    lines += [f"unexpected {key}" for key in actual.keys() - expected.keys()]
    for key in expected.keys() & actual.keys():
        for column, value in expected[key].items():
            got = actual[key][column]
            same = close(got, value) if column in floats else got == value
            if not same:
                lines.append(f"{key}.{column}: mart has {got!r}, Dagster gives {value!r}")
    return sorted(lines)


def test_the_marts_hold_what_dagster_holds(make_project, demo, tmp_path: Path):
    project = make_project()
    synced(project)
    # Ground truth, read from Dagster's instance right after the sync (nothing runs in between:
    # the demo has no daemon).
    runs = demo.seed("dump-runs")
    dumps = demo.seed(
        "dump", "dump-asset-events", "dump-ticks", "dump-check-executions", "dump-run-steps",
        "dump-asset-definitions",
    )
    build_started = time.time()
    output = dbt_build(project.warehouse_path, tmp_path)
    build_ended = time.time()
    warehouse = project.warehouse_path

    # The demo has a history worth reporting on: several days, failures, a recovery, ticks.
    assert len({truth.utc_day(run["creation_time"]) for run in runs}) > 1
    incidents = truth.job_incidents(runs)
    assert any(incident["recovery_run_id"] for incident in incidents.values())
    assert dumps["dump-ticks"] and dumps["dump-asset-events"]

    floats = ("failure_rate", "duration_p50_seconds", "duration_p95_seconds", "queue_avg_seconds")
    daily = mart(warehouse, "dagster__job_daily_metrics", "job_day_id")
    problems = mismatches(daily, truth.job_daily_metrics(runs), floats)
    assert not problems, problems[:20]

    expected_incidents = {
        key: {column: incident[column] for column in
              ("job_id", "failed_runs", "recovery_run_id", "first_failure_at", "time_to_recovery_seconds")}
        for key, incident in incidents.items()
    }
    problems = mismatches(
        mart(warehouse, "dagster__job_incidents", "first_failed_run_id"), expected_incidents,
        ("first_failure_at", "time_to_recovery_seconds"),
    )
    assert not problems, problems[:20]

    health = mart(warehouse, "dagster__job_health", "job_id")
    for job, row in health.items():
        recovered = [i["time_to_recovery_seconds"] for i in incidents.values()
                     if i["job_id"] == job and i["recovery_run_id"]]
        expected_mean = sum(recovered) / len(recovered) if recovered else None
        assert close(row["mean_time_to_recovery_seconds"], expected_mean), (job, row, recovered)

    defined = [asset["id"] for asset in dumps["dump-asset-definitions"]]
    freshness = mart(warehouse, "dagster__asset_freshness", "asset_key")
    problems = mismatches(
        freshness, truth.asset_freshness(defined, dumps["dump-asset-events"]),
        ("last_materialization_at", "materializations_per_day"),
    )
    assert not problems, problems[:20]
    for key, row in freshness.items():
        if row["last_materialization_at"] is not None:  # as of the build, whenever it ran
            low = (build_started - row["last_materialization_at"]) / 3600 - SECONDS
            high = (build_ended - row["last_materialization_at"]) / 3600 + SECONDS
            assert low <= row["hours_since_last_materialization"] <= high, (key, row)

    activity = mart(warehouse, "dagster__asset_daily_activity", "asset_day_id")
    problems = mismatches(activity, truth.asset_daily_activity(dumps["dump-asset-events"]))
    assert not problems, problems[:20]

    ticks = dumps["dump-ticks"]
    problems = mismatches(
        mart(warehouse, "dagster__instigator_daily_ticks", "instigator_day_id"),
        truth.instigator_daily_ticks(ticks),
    )
    assert not problems, problems[:20]
    instigators = mart(warehouse, "dagster__instigator_health", "instigator_id")
    problems = mismatches(
        {key: row for key, row in instigators.items() if row["ticks"]}, truth.instigator_streaks(ticks)
    )
    assert not problems, problems[:20]
    assert any(row["failed_ticks"] for row in instigators.values())

    checks = mart(warehouse, "dagster__asset_check_pass_rates", "asset_check_id")
    problems = mismatches(
        {key: row for key, row in checks.items() if row["executions"]},
        truth.check_pass_rates(dumps["dump-check-executions"]), ("pass_rate",),
    )
    assert not problems, problems[:20]

    problems = mismatches(
        mart(warehouse, "dagster__step_retries", "job_step_id"),
        truth.step_retries(runs, dumps["dump-run-steps"]),
    )
    assert not problems, problems[:20]

    # The health report reads those marts: the terminal summary and one self-contained page.
    html = tmp_path / "health_report.html"
    report = subprocess.run(
        [sys.executable, "scripts/health_report.py", "--warehouse", str(warehouse), "--html", str(html)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
    )
    assert report.returncode == 0, report.stdout
    worst = max(
        (row for row in health.values() if row["failure_rate"] is not None),
        key=lambda row: (row["failure_rate"], row["failed_runs"]),
    )
    assert worst["job_name"] in report.stdout.split("Slowest jobs")[0], report.stdout
    assert len(report.stdout.splitlines()) <= 50, report.stdout
    page = html.read_text()
    assert page.count("<svg") >= 4 and worst["job_name"] in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    print(output.splitlines()[-1])


# An older connector's warehouse: the first four tables, with the columns they had then.
LEGACY_TABLES = """
CREATE SCHEMA tester;
CREATE TABLE tester.dagster_runs (run_id VARCHAR, pipeline_name VARCHAR, status VARCHAR,
    creation_time TIMESTAMPTZ, start_time TIMESTAMPTZ, end_time TIMESTAMPTZ, tags JSON,
    _fivetran_synced TIMESTAMPTZ, _fivetran_deleted BOOLEAN);
CREATE TABLE tester.dagster_assets (id VARCHAR, key_path VARCHAR, last_materialization_time TIMESTAMPTZ,
    _fivetran_synced TIMESTAMPTZ, _fivetran_deleted BOOLEAN);
CREATE TABLE tester.dagster_schedules (id VARCHAR, name VARCHAR, status VARCHAR,
    _fivetran_synced TIMESTAMPTZ, _fivetran_deleted BOOLEAN);
CREATE TABLE tester.dagster_sensors (id VARCHAR, name VARCHAR, status VARCHAR,
    _fivetran_synced TIMESTAMPTZ, _fivetran_deleted BOOLEAN);
INSERT INTO tester.dagster_runs VALUES
    ('r1', 'etl', 'FAILURE', '2024-06-01 10:00:00+00', '2024-06-01 10:00:05+00', '2024-06-01 10:01:05+00', '{}', now(), false),
    ('r2', 'etl', 'FAILURE', '2024-06-01 11:00:00+00', '2024-06-01 11:00:10+00', '2024-06-01 11:02:10+00', '{}', now(), false),
    ('r3', 'etl', 'SUCCESS', '2024-06-01 12:00:00+00', '2024-06-01 12:00:00+00', '2024-06-01 12:03:00+00',
        '{"dagster/schedule_name": "etl_hourly"}', now(), false),
    ('r4', 'etl', 'STARTED', '2024-06-02 00:30:00+00', '2024-06-02 00:30:30+00', NULL, '{}', now(), false);
INSERT INTO tester.dagster_assets VALUES
    ('a/b', 'a.b', '2024-06-01 12:02:00+00', now(), false),
    ('gone', 'gone', '2024-05-01 00:00:00+00', now(), true);
INSERT INTO tester.dagster_schedules VALUES ('s1', 'etl_hourly', 'RUNNING', now(), false);
"""


def test_an_older_connectors_warehouse_builds_with_what_it_has(tmp_path: Path):
    warehouse = tmp_path / "warehouse.db"
    connection = duckdb.connect(str(warehouse))
    connection.execute(LEGACY_TABLES)
    connection.close()

    output = dbt_build(warehouse, tmp_path)

    assert "dagster_ticks\" does not exist yet" in output
    day = mart(warehouse, "dagster__job_daily_metrics", "job_day_id")["::etl:2024-06-01"]
    assert (day["runs"], day["failed_runs"], day["finished_runs"]) == (3, 2, 3)
    assert day["duration_p50_seconds"] == pytest.approx(120)  # 60, 120, 180 seconds
    assert day["duration_p95_seconds"] == pytest.approx(174)
    assert day["queue_avg_seconds"] == pytest.approx(5) and day["scheduled_runs"] == 1
    [incident] = mart(warehouse, "dagster__job_incidents", "incident_id").values()
    assert (incident["first_failed_run_id"], incident["failed_runs"], incident["recovery_run_id"]) == ("r1", 2, "r3")
    assert incident["time_to_recovery_seconds"] == pytest.approx(7315)  # 10:01:05 -> 12:03:00
    # No event table: the last materialization comes from the asset table; a deleted asset is gone.
    freshness = mart(warehouse, "dagster__asset_freshness", "asset_key")
    assert set(freshness) == {"a/b"}
    assert freshness["a/b"]["last_materialization_at"] == datetime(2024, 6, 1, 12, 2, tzinfo=timezone.utc).timestamp()
    assert freshness["a/b"]["group_name"] is None and freshness["a/b"]["materializations"] == 0
    instigators = mart(warehouse, "dagster__instigator_health", "instigator_id")
    assert instigators["s1"]["ticks"] == 0 and instigators["s1"]["status"] == "RUNNING"
    assert not mart(warehouse, "dagster__instigator_daily_ticks", "instigator_day_id")
