"""The main job: start the bundled demo Dagster, sync it with `fivetran debug`, show the result.

Run by `scripts/demo.sh` with the project's Python. The demo Dagster keeps its instance in
`.demo/dagster_home` and the SDK's runner writes `files/warehouse.db` and `files/state.json`,
so a second run is an incremental sync (it adds a few new runs first, to have something new).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from demo.dagster_demo import DagsterDemo, default_dagster_python  # noqa: E402

DEMO_HOME = REPO_ROOT / ".demo" / "dagster_home"
CONFIGURATION = REPO_ROOT / "configuration.json"
WAREHOUSE = REPO_ROOT / "files" / "warehouse.db"
INITIAL_RUNS = 300


def demo_port() -> int:
    """The port of `base_url` in configuration.json, which must be a free local port."""
    base_url = json.loads(CONFIGURATION.read_text())["base_url"]
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        sys.exit(f"demo: configuration.json's base_url ({base_url}) is not a local demo URL")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", parts.port)) == 0:
            sys.exit(f"demo: port {parts.port} is busy; stop what uses it or change base_url")
    return parts.port


def print_warehouse() -> None:
    connection = duckdb.connect(str(WAREHOUSE), read_only=True)
    try:
        print("\nWhat landed in files/warehouse.db (schema tester):")
        tables = [row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tester' "
            "AND table_name LIKE 'dagster_%' ORDER BY 1"
        ).fetchall()]
        for table in tables:
            count = connection.execute(f"SELECT count(*) FROM tester.{table}").fetchone()[0]
            print(f"  {table:<32} {count:>7} rows")
        print("\nRuns by status:")
        for status, count in connection.execute(
            "SELECT status, count(*) FROM tester.dagster_runs GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall():
            print(f"  {status:<10} {count:>6}")
        print("\nFailure rate by job:")
        for job, runs, failure_rate in connection.execute(
            "SELECT pipeline_name, count(*), round(100.0 * avg((status = 'FAILURE')::INT), 1) "
            "FROM tester.dagster_runs GROUP BY 1 ORDER BY 3 DESC, 1"
        ).fetchall():
            print(f"  {job:<24} {runs:>5} runs  {failure_rate:>5}% failed")
        print("\nSchedules and sensors:")
        for kind, name, status, extra in connection.execute(
            "SELECT 'schedule', name, status, cron_schedule FROM tester.dagster_schedules "
            "UNION ALL SELECT 'sensor', name, status, 'active runs: ' || active_run_ids "
            "FROM tester.dagster_sensors ORDER BY 1, 2"
        ).fetchall():
            print(f"  {kind:<8} {name:<28} {status:<8} {extra}")
        print("\nAssets (latest materialization):")
        for key_path, last_time in connection.execute(
            "SELECT key_path, strftime(last_materialization_time, '%Y-%m-%d %H:%M:%S') "
            "FROM tester.dagster_assets ORDER BY 1"
        ).fetchall():
            print(f"  {key_path:<36} {last_time or 'never'}")
    finally:
        connection.close()


def pypi_reachable() -> bool:
    """Whether PyPI answers: `fivetran debug` checks requirements.txt with pipreqs, which asks
    PyPI; offline that check retries for ~13 s and prints a traceback, then gives up."""
    try:
        with socket.create_connection(("pypi.org", 443), timeout=3):
            return True
    except OSError:
        return False


def sync_environment(venv_bin: Path, scratch: Path) -> dict[str, str]:
    """The environment of `fivetran debug`: the venv first on PATH (as if activated) and, only
    when PyPI is unreachable, a stand-in `pipreqs` that skips the SDK's requirements check."""
    path = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    if not pypi_reachable():
        print("demo: PyPI is unreachable, so the SDK's requirements.txt check (pipreqs) is skipped "
              "for this demo run; with internet it runs as usual", flush=True)
        scratch.mkdir(parents=True, exist_ok=True)
        stub = scratch / "pipreqs"
        stub.write_text("#!/bin/sh\n# demo only: pipreqs needs PyPI, which is unreachable\nexit 0\n")
        stub.chmod(0o755)
        path = f"{scratch}{os.pathsep}{path}"
    return {**os.environ, "PATH": path}


def main() -> int:
    port = demo_port()
    first_time = not WAREHOUSE.exists()
    print(f"demo: starting Dagster on 127.0.0.1:{port} (instance in {DEMO_HOME})", flush=True)
    with DagsterDemo(DEMO_HOME, default_dagster_python(), port) as demo:
        summary = demo.seed("populate", "--runs", str(INITIAL_RUNS))
        if not first_time:
            demo.seed("add-runs", "5")
        print(f"demo: Dagster holds {summary['total_runs']}+ runs; running `fivetran debug`", flush=True)
        venv_bin = Path(sys.executable).parent  # as if the venv were activated
        sync = subprocess.run(
            [str(venv_bin / "fivetran"), "debug", "--configuration", str(CONFIGURATION)],
            cwd=REPO_ROOT,
            env=sync_environment(venv_bin, REPO_ROOT / ".demo" / "offline-bin"),
        )
    if sync.returncode != 0:
        print(f"demo: fivetran debug failed (exit code {sync.returncode})", file=sys.stderr)
        return sync.returncode
    print_warehouse()
    print(
        f"\ndemo: the demo Dagster is stopped; bring it back (UI at http://127.0.0.1:{port}) with\n"
        f"  .venv/bin/python demo/serve.py --port {port} --home {DEMO_HOME.relative_to(REPO_ROOT)}\n"
        "and sync it again with `bash scripts/demo.sh` (an incremental sync)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
