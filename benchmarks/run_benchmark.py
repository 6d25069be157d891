"""Performance benchmark: the connector vs. baselines, through `fivetran debug`, against the
simulated Dagster server (benchmarks/simulated_dagster.py). One command:

    .venv/bin/python benchmarks/run_benchmark.py --runs 100000 --latency-ms 50 --repeat 3

Scenarios (each run --repeat times, interleaved, one sync at a time):
  connector         the real connector (an isolated copy of the project), full sync -> DuckDB
  incremental       right after each connector sync, a second sync of the same copy (nothing new)
  naive             benchmarks/naive_connector: sequential urllib, pages of 100, one final checkpoint
  destination_only  benchmarks/destination_only: upserts the same N rows built in-process
  destination_steps the same, followed by the `dagster_run_steps` rows the connector's first
                    sync writes (the finished runs of its `step_history_days`): the bound for
                    the same rows as the connector
  noop              benchmarks/noop_connector: the fixed cost of a `fivetran debug` run
  network_only      computed, not run: run pages x latency / concurrency

Wall time is the `fivetran debug` subprocess's, from fork to exit, taken by a fresh wrapper
interpreter (benchmarks/_measure.py) that also reads the runner's exact peak RSS (`ru_maxrss`
from `os.wait4`: a fresh wrapper per run, because a child forked from this big process would
inherit its RSS high-water mark). psutil also samples the runner's process tree (sum of RSS of
the runner and its children) every 50 ms. Requests and 429s
come from the server's counters, reset before each sync. Every connector sync is verified:
DuckDB must hold exactly the server's runs (row by row, or sampled for big N), and the asset,
schedule, sensor, job, code location and asset dependency tables must equal what the server holds. Any failure exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.dagster_model import DagsterModel  # noqa: E402
from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster, _dumps  # noqa: E402
from benchmarks.table_scenarios import TABLE_SCENARIOS, model_knobs, run_table_scenarios  # noqa: E402
from benchmarks.tables import TABLES  # noqa: E402
from tests.support.fivetran_runner import ConnectorProject  # noqa: E402

SCENARIOS = ("connector", "incremental", "naive", "destination_only", "destination_steps", "noop")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Fallback only: the defaults are read from the connector's own extractor/config.py.
CONNECTOR_DEFAULTS = {"page_size": 5000, "max_concurrency": 4, "requests_per_second": 20}
NAIVE_PAGE_SIZE = 100
RSS_POLL_SECONDS = 0.05
RSS_TIMELINE_SECONDS = 1.0
# Where the running peak RSS is compared, as fractions of each sync's wall time: equal
# fractions are about equal progress (a sync and its bound write the same rows at close
# rates), so an excess that is the same at each is flat in the rows written.
PROGRESS_POINTS = (0.25, 0.5, 0.75, 1.0)
RUN_COLUMNS = ["run_id", "pipeline_name", "code_location", "repository", "parent_run_id", "root_run_id",
               "status", "mode", "creation_time", "start_time", "end_time", "update_time", "tags"]


class BenchmarkFailure(Exception):
    pass


class BaselineProject(ConnectorProject):
    """An isolated project like `ConnectorProject`, made of a baseline connector's files."""

    def __init__(self, root: Path, source: Path, configuration: dict[str, str],
                 extra_files: tuple[Path, ...] = (), tables: list[dict] | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "connector.py", root / "connector.py")
        (root / "requirements.txt").write_text("")
        for path in (BENCH_DIR / "tables.py", *extra_files):
            shutil.copy2(path, root / path.name)
        if tables is not None:  # the measured connector's own declarations
            (root / "tables.py").write_text(f"TABLES = {tables!r}\n")
        self.root = root
        self.configuration_path = root / "configuration.json"
        self.configuration_path.write_text(json.dumps(configuration))
        self._env = self._runner_env(root / ".runner")


class SnapshotProject(ConnectorProject):
    """A `ConnectorProject` copied from a snapshot of the connector taken when the benchmark
    started, so that every repeat measures the same code even if the tree changes meanwhile."""

    def __init__(self, root: Path, snapshot: Path, configuration: dict[str, str]) -> None:
        shutil.copytree(snapshot, root, ignore=shutil.ignore_patterns("__pycache__"))
        self.root = root
        self.configuration_path = root / "configuration.json"
        self.configuration_path.write_text(json.dumps(configuration))
        self._env = self._runner_env(root / ".runner")


def snapshot_connector(destination: Path) -> Path:
    """Copies the connector's project files (as `ConnectorProject` does) once, now."""
    from tests.support.fivetran_runner import PROJECT_DIRS, PROJECT_FILES

    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        shutil.copy2(REPO_ROOT / name, destination / name)
    for name in PROJECT_DIRS:
        shutil.copytree(REPO_ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


@dataclass
class Measurement:
    scenario: str
    repeat: int
    ok: bool
    wall_seconds: float
    peak_rss_tree_mb: float  # psutil, sum over the process tree, sampled every 50 ms
    peak_rss_wait4_mb: float  # ru_maxrss of the runner process (exact; via benchmarks/_measure.py)
    requests: int = 0
    responses_429: int = 0
    faults: int = 0
    max_in_flight: int = 0
    runs_rows: int | None = None
    rows_in_sync: dict[str, int] = field(default_factory=dict)  # from the connector's summary
    connector_update_seconds: float | None = None  # the connector's own "sync complete in"
    sdk_peak_over_baseline_mb: float | None = None  # the SDK's own "connector process memory usage"
    server_answer_seconds: float = 0.0
    server_run_pages: int = 0  # runsOrError answers with results
    server_runs_served: int = 0
    server_run_pages_seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    log: str = ""
    code_digest: str | None = None  # sha256 (16 hex) of the connector files copied for this sync
    load_average_before: float | None = None  # 1-minute load average when the sync started
    rss_timeline_mb: list[float] = field(default_factory=list)  # tree RSS, one sample a second


# ---- running one sync -------------------------------------------------------------------------


def _poll_rss(pid: int, stop: threading.Event, peak: list[int], timeline: list[float]) -> None:
    """Samples the summed RSS of `pid`'s descendants (not `pid`: the measuring wrapper): the
    peak into `peak[0]`, and one sample a second (MB) into `timeline`."""
    try:
        wrapper = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    started = time.monotonic()
    while not stop.is_set():
        total = 0
        try:
            processes = wrapper.children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for process in processes:
            try:
                total += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        peak[0] = max(peak[0], total)
        if time.monotonic() - started >= len(timeline) * RSS_TIMELINE_SECONDS:
            timeline.append(round(total / 2**20, 1))
        stop.wait(RSS_POLL_SECONDS)


def running_peaks(timeline: list[float], points: tuple[float, ...] = PROGRESS_POINTS) -> list[float | None]:
    """The highest RSS sampled up to each fraction of the sync's duration."""
    if not timeline:
        return [None for _ in points]
    return [max(timeline[: max(1, round(point * len(timeline)))]) for point in points]


def excess_by_progress(connector: list[Measurement], bound: list[Measurement]) -> list[float | None]:
    """At each of `PROGRESS_POINTS`: the median running peak of the connector's syncs less the
    bound's (MB). Flat memory: about the same excess at every point."""
    ours = [running_peaks(m.rss_timeline_mb) for m in connector if m.ok]
    theirs = [running_peaks(m.rss_timeline_mb) for m in bound if m.ok]
    excess: list[float | None] = []
    for i in range(len(PROGRESS_POINTS)):
        a, b = _median([p[i] for p in ours]), _median([p[i] for p in theirs])
        excess.append(None if a is None or b is None else round(a - b, 1))
    return excess


def excess_line(name: str, excess: list[float | None]) -> str:
    points = "/".join(f"{round(p * 100)}%" for p in PROGRESS_POINTS)
    values = ", ".join("-" if value is None else f"{value:+.1f}" for value in excess)
    return f"running peak RSS - {name}'s at {points} of each sync (medians): {values} MB"


def run_sync(project: ConnectorProject, scenario: str, repeat: int, server: SimulatedDagster,
             timeout: float) -> Measurement:
    """Runs one `fivetran debug` in `project`, measuring wall time, peak RSS and requests.

    The runner is started by a fresh wrapper interpreter (`_measure.py`), which times it and
    reads its exact peak RSS with `os.wait4`; psutil samples the runner's process tree.
    """
    stamp = int(time.time() * 1000)
    log_path = project.root / f"sync-{scenario}-{stamp}.log"
    result_path = project.root / f"sync-{scenario}-{stamp}.json"
    command = [sys.executable, str(BENCH_DIR / "_measure.py"), str(result_path), "--", *project.command()]
    server.reset_stats()
    load = os.getloadavg()[0]
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(command, env=project._env, cwd=project.root, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    stop, peak, timeline = threading.Event(), [0], []
    poller = threading.Thread(target=_poll_rss, args=(process.pid, stop, peak, timeline), daemon=True)
    poller.start()
    try:
        process.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill(process)
        process.wait(timeout=30)
        timed_out = True
    stop.set()
    poller.join(timeout=5)
    try:
        measured = json.loads(result_path.read_text())
    except (OSError, ValueError):
        measured = {"returncode": process.returncode, "wall_seconds": float("nan"), "ru_maxrss_kb": 0}
    wall = measured["wall_seconds"]
    usage_mb = measured["ru_maxrss_kb"] / 1024
    stats = server.stats.snapshot()
    output = log_path.read_text(errors="replace")
    measurement = Measurement(
        scenario=scenario, repeat=repeat, ok=measured["returncode"] == 0 and not timed_out,
        wall_seconds=wall, peak_rss_tree_mb=peak[0] / 2**20, peak_rss_wait4_mb=usage_mb,
        requests=stats["requests"], responses_429=stats["responses_429"],
        faults=sum(stats["faults"].values()), max_in_flight=stats["max_in_flight"],
        server_answer_seconds=sum(stats["answer_seconds"].values()),
        server_run_pages=stats["run_pages"], server_runs_served=stats["runs_served"],
        server_run_pages_seconds=stats["run_pages_seconds"],
        by_operation=stats["by_operation"], log=str(log_path), load_average_before=load,
        rss_timeline_mb=timeline,
    )
    summary = re.search(r"Dagster sync complete in ([\d.]+)s \(([^)]*)\)", output)
    if summary:
        measurement.connector_update_seconds = float(summary.group(1))
        for part in summary.group(2).split(","):
            if ":" in part:
                table, count = part.split(":")
                measurement.rows_in_sync[table.strip()] = int(count)
    for count, table in re.findall(r"(\d+) rows of (dagster_\w+)", output):  # destination_only's own line
        measurement.rows_in_sync.setdefault(table, int(count))
    memory = re.search(r"connector process memory usage: average [\d.]+ MB, peak ([\d.]+) MB", output)
    if memory:
        measurement.sdk_peak_over_baseline_mb = float(memory.group(1))
    if not measurement.ok:
        if timed_out:
            measurement.error = f"killed after the {timeout:.0f} s timeout"
        else:
            measurement.error = f"exit code {measured['returncode']}"
        measurement.error += "; log tail:\n" + "\n".join(output.splitlines()[-25:])
    return measurement


def _kill(process: subprocess.Popen) -> None:
    """SIGKILLs the runner's process group (it was started in its own session)."""
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass


# ---- verification --------------------------------------------------------------------------------


def _select(table: str, columns: list[tuple[str, str]]) -> str:
    parts = []
    for name, data_type in columns:
        if data_type.startswith("TIMESTAMP"):
            parts.append(f"strftime({name}, '{TIMESTAMP_FORMAT}') AS {name}")
        elif data_type == "JSON":
            parts.append(f"{name}::VARCHAR AS {name}")
        else:
            parts.append(name)
    return f"SELECT {', '.join(parts)} FROM tester.{table}"


def _columns(connection: duckdb.DuckDBPyConnection, table: str, wanted: list[str]) -> list[tuple[str, str]]:
    types = dict(connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'tester' AND table_name = ?", [table]).fetchall())
    missing = [name for name in wanted if name not in types]
    if missing:
        raise BenchmarkFailure(f"{table}: columns {missing} missing from DuckDB")
    return [(name, types[name]) for name in wanted]


def _normalise(row: dict[str, Any], columns: list[tuple[str, str]]) -> dict[str, Any]:
    for name, data_type in columns:
        if data_type == "JSON" and row[name] is not None:
            row[name] = json.loads(row[name])
    return row


def verify_warehouse(warehouse: Path, model: DagsterModel, mode: str, check_others: bool = True) -> str:
    """Checks DuckDB's runs (count, and rows: all or sampled) and the other tables."""
    if not warehouse.exists():
        raise BenchmarkFailure(f"no warehouse at {warehouse}")
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        expected_total = model.total_runs
        count = connection.execute("SELECT count(*) FROM tester.dagster_runs").fetchone()[0]
        if count != expected_total:
            raise BenchmarkFailure(f"dagster_runs has {count} rows, the server has {expected_total} runs")
        run_columns = _columns(connection, "dagster_runs", RUN_COLUMNS)
        names = [name for name, _ in run_columns]
        checked = 0
        if mode == "full":
            cursor = connection.execute(_select("dagster_runs", run_columns) + " ORDER BY run_id")
            expected = model.expected_runs()  # oldest first = run_id order
            while True:
                batch = cursor.fetchmany(20_000)
                if not batch:
                    break
                for values in batch:
                    got = _normalise(dict(zip(names, values)), run_columns)
                    want = next(expected)
                    if got != want:
                        raise BenchmarkFailure(f"dagster_runs row differs:\n  DuckDB: {got}\n  server: {want}")
                    checked += 1
        elif mode == "spot":
            rng = random.Random(expected_total)
            indices = sorted({0, expected_total - 1, *rng.sample(range(expected_total), min(200, expected_total))})
            ids = [model.run_id(i) for i in indices]
            rows = connection.execute(
                _select("dagster_runs", run_columns) + " WHERE run_id IN (SELECT unnest(?)) ORDER BY run_id",
                [ids]).fetchall()
            if len(rows) != len(ids):
                raise BenchmarkFailure(f"dagster_runs: {len(ids) - len(rows)} sampled runs missing")
            for values, index in zip(rows, indices):
                got = _normalise(dict(zip(names, values)), run_columns)
                want = model.run(index).row()
                if got != want:
                    raise BenchmarkFailure(f"dagster_runs row differs:\n  DuckDB: {got}\n  server: {want}")
                checked += 1
        others = ""
        if check_others:
            declared = {table["table"]: list(table["columns"]) for table in TABLES}
            for table, expected_rows, key in (
                ("dagster_assets", model.expected_assets(), "id"),
                ("dagster_schedules", model.expected_schedules(), "id"),
                ("dagster_sensors", model.expected_sensors(), "id"),
                ("dagster_jobs", model.expected_jobs(), "id"),
                ("dagster_code_locations", model.expected_code_locations(), "id"),
                ("dagster_asset_dependencies", model.expected_asset_dependencies(), "id"),
            ):
                columns = _columns(connection, table, declared[table])
                deleted = connection.execute(
                    f"SELECT count(*) FROM tester.{table} WHERE _fivetran_deleted").fetchone()[0]
                if deleted:
                    raise BenchmarkFailure(f"{table}: {deleted} rows marked deleted; the server deleted none")
                got_rows = [
                    _normalise(dict(zip([c for c, _ in columns], values)), columns)
                    for values in connection.execute(_select(table, columns) + f" ORDER BY {key}").fetchall()
                ]
                want_rows = sorted(expected_rows, key=lambda row: row[key])
                if got_rows != want_rows:
                    diff = next(((g, w) for g, w in zip(got_rows, want_rows) if g != w), None)
                    raise BenchmarkFailure(
                        f"{table}: {len(got_rows)} rows in DuckDB vs {len(want_rows)} on the server; "
                        f"first difference: {diff}")
            others = ", assets/schedules/sensors/jobs/code locations/asset dependencies equal"
        return f"{count} runs, {checked} rows compared ({mode}){others}"
    finally:
        connection.close()


# ---- the server's own cost -------------------------------------------------------------------------


def server_page_cost(server: SimulatedDagster, page_size: int, samples: int = 20) -> dict[str, float]:
    """Milliseconds to build and serialise one runs page (no HTTP), median over cursors."""
    from extractor.documents import RUNS_PAGE  # the connector's own document

    model = server.model
    total = model.total_runs
    timings = []
    size = 0
    server._answer(RUNS_PAGE.document, {"filter": {}, "cursor": None, "limit": page_size})  # warm-up
    for k in range(samples):
        position = total - 1 - (k * max(1, total // samples))
        cursor = model.run_id(position) if k else None
        started = time.perf_counter()
        body = _dumps({"data": server._answer(RUNS_PAGE.document,
                                              {"filter": {}, "cursor": cursor, "limit": page_size})})
        timings.append(time.perf_counter() - started)
        size = max(size, len(body))
    return {"page_size": page_size, "median_ms": statistics.median(timings) * 1000,
            "max_ms": max(timings) * 1000, "bytes": size}


# ---- reporting --------------------------------------------------------------------------------------


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(measurements: list[Measurement], runs: int) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for scenario in SCENARIOS:
        ok = [m for m in measurements if m.scenario == scenario and m.ok]
        failed = [m for m in measurements if m.scenario == scenario and not m.ok]
        if not ok and not failed:
            continue
        walls = [m.wall_seconds for m in ok]
        entry: dict[str, Any] = {
            "syncs_ok": len(ok), "syncs_failed": len(failed),
            "wall_seconds_median": _median(walls),
            "wall_seconds_min": min(walls) if walls else None,
            "wall_seconds_max": max(walls) if walls else None,
            "peak_rss_tree_mb_median": _median([m.peak_rss_tree_mb for m in ok]),
            "peak_rss_wait4_mb_median": _median([m.peak_rss_wait4_mb for m in ok]),
            "requests_median": _median([m.requests for m in ok]),
            "responses_429_median": _median([m.responses_429 for m in ok]),
            "faults_median": _median([m.faults for m in ok]),
            "connector_update_seconds_median": _median([m.connector_update_seconds for m in ok]),
            "sdk_peak_over_baseline_mb_median": _median([m.sdk_peak_over_baseline_mb for m in ok]),
            "max_in_flight": max((m.max_in_flight for m in ok), default=0),
        }
        if scenario in ("connector", "naive", "destination_only") and entry["wall_seconds_median"]:
            entry["rows_per_second"] = runs / entry["wall_seconds_median"]
        if ok:
            operations = sorted({op for m in ok for op in m.by_operation})
            entry["request_mix"] = {op: _median([m.by_operation.get(op, 0) for m in ok]) for op in operations}
        entry["run_steps_rows_median"] = _median([m.rows_in_sync.get("dagster_run_steps", 0) for m in ok])
        if scenario == "incremental":
            entry["runs_reread_median"] = _median([m.rows_in_sync.get("dagster_runs", 0) for m in ok])
        summary[scenario] = entry
    connector = [m for m in measurements if m.scenario == "connector"]
    for bound in ("destination_only", "destination_steps"):
        if "connector" in summary and bound in summary:
            summary["connector"][f"rss_excess_over_{bound}_by_progress"] = excess_by_progress(
                connector, [m for m in measurements if m.scenario == bound])
    return summary


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _memory_lines(connector: dict[str, Any], name: str, bound: dict[str, Any]) -> list[str]:
    """The connector's peak RSS less a bound's, at the end and along the sync."""
    lines = []
    if connector.get("peak_rss_tree_mb_median") and bound.get("peak_rss_tree_mb_median"):
        lines.append(
            f"connector peak RSS - {name} peak RSS: "
            f"{connector['peak_rss_tree_mb_median'] - bound['peak_rss_tree_mb_median']:+.1f} MB (tree), "
            f"{connector['peak_rss_wait4_mb_median'] - bound['peak_rss_wait4_mb_median']:+.1f} MB (wait4)")
    if connector.get(f"rss_excess_over_{name}_by_progress"):
        lines.append(excess_line(name, connector[f"rss_excess_over_{name}_by_progress"]))
    return lines


def print_report(summary: dict[str, dict[str, Any]], network_only: dict[str, Any], runs: int) -> list[str]:
    lines = []
    header = (f"{'scenario':<17} {'wall s':>8} {'(min-max)':>15} {'rows/s':>9} {'requests':>9} "
              f"{'429s':>5} {'RSS tree MB':>11} {'RSS wait4 MB':>12} {'SDK +MB':>8} {'ok':>4}")
    lines += [header, "-" * len(header)]
    for scenario, entry in summary.items():
        spread = (f"{_fmt(entry['wall_seconds_min'])}-{_fmt(entry['wall_seconds_max'])}"
                  if entry["wall_seconds_min"] is not None else "-")
        lines.append(
            f"{scenario:<17} {_fmt(entry['wall_seconds_median'], 2):>8} {spread:>15} "
            f"{_fmt(entry.get('rows_per_second'), 0):>9} {_fmt(entry['requests_median'], 0):>9} "
            f"{_fmt(entry['responses_429_median'], 0):>5} {_fmt(entry['peak_rss_tree_mb_median']):>11} "
            f"{_fmt(entry['peak_rss_wait4_mb_median']):>12} "
            f"{_fmt(entry['sdk_peak_over_baseline_mb_median']):>8} "
            f"{entry['syncs_ok']}/{entry['syncs_ok'] + entry['syncs_failed']:>2}")
    lines.append(
        f"{'network_only':<17} {_fmt(network_only['seconds'], 2):>8} {'(computed)':>15} "
        f"{_fmt(runs / network_only['seconds'] if network_only['seconds'] else None, 0):>9} "
        f"{network_only['pages']:>9,}")
    lines.append("")
    lines.append(
        f"network_only = {network_only['pages']} run pages of {network_only['page_size']} x "
        f"{network_only['latency_ms']:g} ms / concurrency {network_only['concurrency']} (max_concurrency); "
        f"one page at a time it would be {network_only['sequential_seconds']:.2f} s; the client's "
        f"rate limit alone ({network_only['requests_per_second']} req/s) needs "
        f"{network_only['rate_floor_seconds']:.2f} s for those pages")
    c, n, d = (summary.get(k, {}) for k in ("connector", "naive", "destination_only"))
    inc, noop = summary.get("incremental", {}), summary.get("noop", {})

    def ratio(a: dict, b: dict, key: str = "wall_seconds_median") -> str:
        if a.get(key) and b.get(key):
            return f"{a[key] / b[key]:.2f}x"
        return "-"

    lines.append(f"connector / naive            wall: {ratio(c, n)}   peak RSS (tree): "
                 f"{ratio(c, n, 'peak_rss_tree_mb_median')}")
    lines.append(f"connector / destination_only wall: {ratio(c, d)}")
    lines += _memory_lines(c, "destination_only", d)
    steps = summary.get("destination_steps", {})
    if steps:
        lines.append(f"connector / destination_steps wall: {ratio(c, steps)} (the same rows: runs and the first "
                     f"sync's steps; dagster_run_steps rows: connector {c.get('run_steps_rows_median')}, "
                     f"destination_steps {steps.get('run_steps_rows_median')})")
    lines += _memory_lines(c, "destination_steps", steps)
    if c.get("wall_seconds_median") and network_only["seconds"]:
        lines.append(f"connector / network_only     wall: {c['wall_seconds_median'] / network_only['seconds']:.2f}x")
    if c.get("requests_median"):
        rps = network_only["requests_per_second"]
        lines.append(
            f"connector: its {c['requests_median']:.0f} requests at the client's {rps} req/s limit need "
            f">= {max(0.0, (c['requests_median'] - rps) / rps):.2f} s; request mix: {c.get('request_mix')}")
    if c.get("connector_update_seconds_median") is not None and c.get("wall_seconds_median"):
        lines.append(
            f"connector: update() reports {c['connector_update_seconds_median']:.2f} s of the "
            f"{c['wall_seconds_median']:.2f} s wall (the rest: runner start-up, schema, final flush)")
    if inc.get("wall_seconds_median") is not None:
        extra = (f"{inc['wall_seconds_median'] - noop['wall_seconds_median']:+.2f} s over the no-op "
                 f"connector ({noop['wall_seconds_median']:.2f} s)" if noop.get("wall_seconds_median") else "")
        lines.append(
            f"incremental (nothing new): {inc['wall_seconds_median']:.2f} s wall, {extra}, "
            f"{_fmt(inc['requests_median'], 0)} requests, {_fmt(inc.get('runs_reread_median'), 0)} runs "
            f"re-read (lookback)")
    for line in lines:
        print(line)
    return lines


# ---- main -------------------------------------------------------------------------------------------


def _files_digest(root: Path) -> str:
    """sha256 (16 hex) of `connector.py` and every module of `extractor/`, subpackages too."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted([root / "connector.py", *(root / "extractor").rglob("*.py")]):
        if "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def connector_fingerprint() -> dict[str, Any]:
    """Which connector code was measured: the commit, and whether its files had local changes."""
    def git(*arguments: str) -> str:
        try:
            return subprocess.run(["git", *arguments], cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted_changes": bool(git("status", "--porcelain", "--", "connector.py", "extractor")),
            "files_digest_now": _files_digest(REPO_ROOT)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000, help="runs on the simulated server")
    parser.add_argument("--latency-ms", type=float, default=50, help="server latency per request")
    parser.add_argument("--repeat", type=int, default=3, help="syncs per scenario (medians)")
    parser.add_argument("--rate-limit-rps", type=float, default=None, help="server-side rate limit (429s)")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="fraction of requests faulted")
    parser.add_argument("--fault-kinds", default=",".join(ServerKnobs().fault_kinds))
    parser.add_argument("--hang-seconds", type=float, default=120.0, help="duration of a 'timeout' fault")
    parser.add_argument("--max-page-size", type=int, default=None,
                        help="the server clamps every page's limit to this, silently")
    parser.add_argument("--statement-timeout-rows", type=int, default=None,
                        help="run pages above this many rows fail with Dagster's statement-timeout error")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated subset of {','.join(SCENARIOS + TABLE_SCENARIOS)} "
                             "(incremental implies connector; see benchmarks/table_scenarios.py)")
    parser.add_argument("--table-runs", type=int, default=1000, help="runs on the asset_events/ticks servers")
    parser.add_argument("--asset-events", type=int, default=1_000_000, help="asset events (asset_events)")
    parser.add_argument("--ticks", type=int, default=1_000_000, help="schedule and sensor ticks (ticks)")
    knob_defaults = ServerKnobs()
    for knob in ("run_tags", "run_tag_chars", "repositories", "assets_per_repository",
                 "schedules_per_repository", "sensors_per_repository", "checks_per_repository"):
        parser.add_argument("--" + knob.replace("_", "-"), type=int, default=getattr(knob_defaults, knob),
                            help=f"server knob {knob} (default {getattr(knob_defaults, knob)})")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="connector configuration override (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a sync is killed")
    parser.add_argument("--verify", choices=("auto", "full", "spot", "count"), default="auto",
                        help="row check of the connector's DuckDB (auto: full up to 200,000 runs)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the project copies go (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the project copies and logs")
    parser.add_argument("--output", type=Path, default=None, help="JSON results (default benchmarks/results/)")
    args = parser.parse_args(argv)
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenario_list) - set(SCENARIOS) - set(TABLE_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    if "incremental" in args.scenario_list:
        for needed in ("connector", "noop"):
            if needed not in args.scenario_list:
                args.scenario_list.append(needed)
    if args.verify == "auto":
        args.verify = "full" if args.runs <= 200_000 else "spot"
    return args


def connector_settings(configuration: dict[str, str]) -> dict[str, int]:
    """page_size, max_concurrency, requests_per_second as the measured connector reads them."""
    try:
        from extractor.config import parse_configuration

        parsed = parse_configuration(configuration)
        return {key: int(getattr(parsed, key)) for key in CONNECTOR_DEFAULTS}
    except Exception as error:  # the connector's config API changed: fall back, and say so
        print(f"note: could not read the connector's defaults ({error}); assuming {CONNECTOR_DEFAULTS}")
        return {**CONNECTOR_DEFAULTS, **{k: int(v) for k, v in configuration.items() if k in CONNECTOR_DEFAULTS}}


def step_history_days(configuration: dict[str, str]) -> int:
    """The first sync's window of run steps, as the measured connector reads it."""
    from extractor.config import parse_configuration

    return int(parse_configuration(configuration).step_history_days)


def connector_configuration(args: argparse.Namespace, base_url: str) -> dict[str, str]:
    configuration = {"base_url": base_url}
    for item in args.config:
        key, _, value = item.partition("=")
        if not key or not _:
            raise SystemExit(f"--config expects KEY=VALUE, got {item!r}")
        configuration[key.strip()] = value.strip()
    kinds = [k for k in args.fault_kinds.split(",") if k]
    if args.failure_rate > 0 and "timeout" in kinds and "request_timeout_seconds" not in configuration:
        configuration["request_timeout_seconds"] = "5"
        print("note: 'timeout' faults are on: the connector's request_timeout_seconds is set to 5")
    return configuration


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = tuple(k for k in args.fault_kinds.split(",") if k)
    knobs = ServerKnobs(runs=args.runs, latency_ms=args.latency_ms, rate_limit_rps=args.rate_limit_rps,
                        failure_rate=args.failure_rate, fault_kinds=kinds, seed=args.seed,
                        hang_seconds=args.hang_seconds, max_page_size=args.max_page_size,
                        statement_timeout_rows=args.statement_timeout_rows, run_tags=args.run_tags,
                        run_tag_chars=args.run_tag_chars, repositories=args.repositories,
                        assets_per_repository=args.assets_per_repository,
                        schedules_per_repository=args.schedules_per_repository,
                        sensors_per_repository=args.sensors_per_repository,
                        checks_per_repository=args.checks_per_repository)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dagster-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    measurements: list[Measurement] = []
    failures: list[str] = []
    verifications: list[str] = []
    started_at = time.strftime("%Y%m%dT%H%M%S")
    print(f"benchmark: {args.runs:,} runs, latency {args.latency_ms:g} ms, repeat {args.repeat}, "
          f"rate limit {args.rate_limit_rps or 'none'}, failure rate {args.failure_rate:g}, "
          f"scenarios {','.join(args.scenario_list)}; work dir {workdir}", flush=True)

    snapshot = snapshot_connector(workdir / "connector-snapshot")
    sys.path.insert(0, str(snapshot))  # `extractor` (documents, defaults) as measured
    fingerprint = connector_fingerprint()
    print(f"connector code snapshot: {_files_digest(snapshot)} (commit {fingerprint['commit'][:12]}"
          f"{', with uncommitted changes' if fingerprint['uncommitted_changes'] else ''})", flush=True)

    with SimulatedDagster(knobs) as server:
        configuration = connector_configuration(args, server.url)
        settings = connector_settings(configuration)
        page_cost = server_page_cost(server, settings["page_size"])
        page_cost_1000 = server_page_cost(server, 1000) if settings["page_size"] != 1000 else page_cost
        print(f"server: {server.url}; building one {settings['page_size']}-run page costs "
              f"{page_cost['median_ms']:.2f} ms (median, {page_cost['bytes']:,} bytes)", flush=True)
        server_model_now = server.model.now_ms / 1000

        def record(measurement: Measurement) -> Measurement:
            measurements.append(measurement)
            status = "ok" if measurement.ok else "FAILED"
            code = f" [code {measurement.code_digest}]" if measurement.code_digest else ""
            print(f"  {measurement.scenario:<17} #{measurement.repeat}: {status}{code} "
                  f"{measurement.wall_seconds:7.2f} s, {measurement.requests:,} requests, "
                  f"{measurement.responses_429} 429s, {measurement.faults} faults, RSS {measurement.peak_rss_tree_mb:.0f} MB (tree) / "
                  f"{measurement.peak_rss_wait4_mb:.0f} MB (wait4), load {measurement.load_average_before:.2f}",
                  flush=True)
            if not measurement.ok:
                failures.append(f"{measurement.scenario} #{measurement.repeat}: {measurement.error}")
                print(f"    {measurement.error}", flush=True)
            return measurement

        def verified(measurement, project, mode: str, check_others: bool) -> str | None:
            """Checks a successful sync's warehouse; marks the measurement failed if it's wrong."""
            if not measurement.ok:
                return None
            try:
                return verify_warehouse(project.warehouse_path, server.model, mode,
                                        check_others=check_others)
            except BenchmarkFailure as error:
                measurement.ok = False
                measurement.error = f"verification failed: {error}"
                failures.append(f"{measurement.scenario} #{measurement.repeat}: {measurement.error}")
                print(f"    VERIFICATION FAILED: {error}", flush=True)
                return None

        for repeat in range(1, args.repeat + 1):
            print(f"repeat {repeat}/{args.repeat}", flush=True)
            if "connector" in args.scenario_list:
                project = SnapshotProject(workdir / f"connector-{repeat}", snapshot, configuration)
                digest = _files_digest(project.root)
                full = run_sync(project, "connector", repeat, server, args.timeout)
                full.code_digest = digest
                record(full)
                summary = verified(full, project, args.verify, check_others=args.verify != "count")
                if summary:
                    verifications.append(summary)
                    print(f"    verified: {summary}", flush=True)
                if "incremental" in args.scenario_list and full.ok:
                    second = run_sync(project, "incremental", repeat, server, args.timeout)
                    second.code_digest = digest
                    record(second)
                    verified(second, project, "count", check_others=False)
                if not args.keep:
                    shutil.rmtree(project.root, ignore_errors=True)
            if "naive" in args.scenario_list:
                project = BaselineProject(workdir / f"naive-{repeat}", BENCH_DIR / "naive_connector",
                                          {"base_url": server.url})
                naive = record(run_sync(project, "naive", repeat, server, args.timeout))
                verified(naive, project, "count", check_others=False)
                if not args.keep:
                    shutil.rmtree(project.root, ignore_errors=True)
            for scenario in ("destination_only", "destination_steps"):
                if scenario not in args.scenario_list:
                    continue
                rows_configuration = {"runs": str(args.runs), "seed": str(args.seed), "now": repr(server_model_now),
                                      "model": json.dumps(model_knobs(knobs))}
                if scenario == "destination_steps":
                    rows_configuration["step_history_days"] = str(step_history_days(configuration))
                project = BaselineProject(
                    workdir / f"{scenario}-{repeat}", BENCH_DIR / "destination_only", rows_configuration,
                    extra_files=(BENCH_DIR / "dagster_model.py", BENCH_DIR / "asset_history.py"))
                record(run_sync(project, scenario, repeat, server, args.timeout))
                if not args.keep:
                    shutil.rmtree(project.root, ignore_errors=True)
            if "noop" in args.scenario_list:
                project = BaselineProject(workdir / f"noop-{repeat}", BENCH_DIR / "noop_connector", {})
                record(run_sync(project, "noop", repeat, server, args.timeout))
                if not args.keep:
                    shutil.rmtree(project.root, ignore_errors=True)

        connector_page_stats = [m for m in measurements if m.scenario == "connector" and m.ok]

    table_report, table_summary = [], {}
    if set(args.scenario_list) & set(TABLE_SCENARIOS):
        table_report, table_summary = run_table_scenarios(
            sys.modules[__name__], args, knobs, workdir, snapshot, record, failures)

    page_size = settings["page_size"]
    pages = -(-args.runs // page_size) + 1  # a walk ends on an empty page (never on a short one)
    concurrency = settings["max_concurrency"]
    network_only = {
        "pages": pages, "page_size": page_size, "latency_ms": args.latency_ms,
        "concurrency": concurrency,
        "seconds": pages * args.latency_ms / 1000 / concurrency,
        "sequential_seconds": pages * args.latency_ms / 1000,
        "requests_per_second": settings["requests_per_second"],
        # aiolimiter lets a burst of `rate` requests through, then `rate` per second
        "rate_floor_seconds": max(0.0, (pages - settings["requests_per_second"]) / settings["requests_per_second"]),
    }
    summary = summarise(measurements, args.runs)
    print()
    print(f"results: {args.runs:,} runs, {args.latency_ms:g} ms latency, {args.repeat} repeats "
          f"(medians), connector configuration {dict((k, v) for k, v in configuration.items() if k != 'base_url') or 'default'}")
    report = print_report(summary, network_only, args.runs)
    server_cost = None
    if connector_page_stats:
        per_1000 = [m.server_run_pages_seconds / m.server_runs_served * 1e6
                    for m in connector_page_stats if m.server_runs_served]
        per_page = [m.server_run_pages_seconds / m.server_run_pages * 1000
                    for m in connector_page_stats if m.server_run_pages]
        server_cost = {"ms_per_1000_runs_served": statistics.median(per_1000) if per_1000 else None,
                       "ms_per_run_page": statistics.median(per_page) if per_page else None,
                       "run_pages": statistics.median([m.server_run_pages for m in connector_page_stats])}
        line = (f"server's own cost while serving the connector: {_fmt(server_cost['ms_per_1000_runs_served'], 2)} ms "
                f"per 1,000 runs served, {_fmt(server_cost['ms_per_run_page'], 2)} ms per runs answer "
                f"({server_cost['run_pages']:.0f} runs answers a sync); one 1,000-run page built alone: "
                f"{page_cost_1000['median_ms']:.2f} ms (no HTTP)")
        print(line)
        report.append(line)
    output = args.output or BENCH_DIR / "results" / f"{started_at}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "started_at": started_at,
        "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "server_knobs": asdict(knobs),
        "connector_configuration": {k: v for k, v in configuration.items() if k != "base_url"},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "rss_method": "tree: psutil, sum of RSS over the fivetran process tree, sampled every 50 ms; "
                      "wait4: ru_maxrss of the fivetran process from os.wait4 in a fresh wrapper "
                      "process per sync (benchmarks/_measure.py)",
        "server_page_cost": {"configured": page_cost, "page_1000": page_cost_1000,
                             "while_serving_connector": server_cost},
        "connector_source": {**fingerprint, "files_digest_measured": _files_digest(snapshot)},
        "connector_settings": settings,
        "network_only": network_only,
        "summary": summary,
        "report": report,
        "table_scenarios": {"summary": table_summary, "report": table_report},
        "verifications": verifications,
        "failures": failures,
        "measurements": [asdict(m) for m in measurements],
    }
    output.write_text(json.dumps(result, indent=2))
    print(f"\nresults written to {output}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        print(f"\nFAILED: {len(failures)} problem(s):", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
