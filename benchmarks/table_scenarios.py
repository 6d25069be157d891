"""The benchmark scenarios of issue #8, run by `run_benchmark.py` (`--scenarios asset_events,...`):

  asset_events       a full connector sync of a server holding `--asset-events` asset events
                     (and `--table-runs` runs), next to `destination_only` upserting the same
                     `dagster_asset_events` rows in-process; DuckDB is checked against the server.
  ticks              the same with `--ticks` schedule and sensor ticks (`dagster_ticks`).
  incremental_large  a deployment of `--runs` runs (and the `--repositories`, assets, schedules,
                     sensors and checks knobs) synced once at 0 ms latency (the set-up, not a
                     target), then `--repeat` incremental syncs with nothing new at
                     `--latency-ms`, next to the no-op connector: wall time, requests by operation.

Each scenario has its own simulated server; ratios are against baselines measured in the same
invocation.
"""

from __future__ import annotations

import inspect
import json
import random
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

from benchmarks.asset_history import expected_event_row
from benchmarks.dagster_model import REPOSITORY_NAME, DagsterModel, iso_utc, selector_id
from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster

TABLE_SCENARIOS = ("asset_events", "ticks", "incremental_large")
SPOT_ROWS = 200


def model_knobs(knobs: ServerKnobs) -> dict[str, Any]:
    """The `DagsterModel` keyword arguments the server was built with (but `now`)."""
    accepted = set(inspect.signature(DagsterModel).parameters) - {"now"}
    return {name: value for name, value in asdict(knobs).items() if name in accepted}


# ---- verification ---------------------------------------------------------------------------------


def _fetch_rows(rb: Any, warehouse: Path, table: str, where: str, ids: list[Any]) -> tuple[int, int, list[dict]]:
    """(count, rows marked deleted, the rows whose id is in `ids`) of `table` in DuckDB."""
    import duckdb

    from extractor.tables import declarations  # the measured connector's (run_benchmark's snapshot)

    TABLES = declarations()

    if not warehouse.exists():
        raise rb.BenchmarkFailure(f"no warehouse at {warehouse}")
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        count = connection.execute(f"SELECT count(*) FROM tester.{table}").fetchone()[0]
        deleted = connection.execute(f"SELECT count(*) FROM tester.{table} WHERE _fivetran_deleted").fetchone()[0]
        declared = next(t for t in TABLES if t["table"] == table)
        columns = rb._columns(connection, table, list(declared["columns"]))
        names = [name for name, _ in columns]
        found = connection.execute(rb._select(table, columns) + f" WHERE {where} IN (SELECT unnest(?))", [ids]).fetchall()
        return count, deleted, [rb._normalise(dict(zip(names, values)), columns) for values in found]
    finally:
        connection.close()


def _compare(rb: Any, table: str, expected: list[dict], got: list[dict]) -> None:
    by_id = {row["id"]: row for row in got}
    for want in expected:
        have = by_id.get(want["id"])
        if have is None:
            raise rb.BenchmarkFailure(f"{table}: row {want['id']} missing")
        if have != want:
            raise rb.BenchmarkFailure(f"{table} row differs:\n  DuckDB: {have}\n  server: {want}")


def verify_asset_events(rb: Any, warehouse: Path, server: SimulatedDagster) -> str:
    history = server.asset_history()
    total = history.events_total()
    rng = random.Random(total)
    picks = {(0, 0), (history.n - 1, history.count(history.n - 1) - 1)}
    while len(picks) < min(SPOT_ROWS, total):
        i = rng.randrange(history.n)
        picks.add((i, rng.randrange(history.count(i))))
    expected = [expected_event_row(history, i, k) for i, k in sorted(picks)]
    count, deleted, got = _fetch_rows(rb, warehouse, "dagster_asset_events", "id", [row["id"] for row in expected])
    if count != total:
        raise rb.BenchmarkFailure(f"dagster_asset_events has {count} rows, the server has {total} events")
    if deleted:
        raise rb.BenchmarkFailure(f"dagster_asset_events: {deleted} rows marked deleted")
    _compare(rb, "dagster_asset_events", expected, got)
    return f"{count:,} asset events (= the server's), {len(expected)} sampled rows equal"


def expected_tick_row(model: DagsterModel, g: int, j: int) -> dict[str, Any]:
    """Tick j of instigator g as the `dagster_ticks` contract says the connector writes it."""
    ticks = model.instigator_ticks
    r, kind, name = ticks.describe(g)
    tick, location = ticks.tick(g, j), model.location_name(r)
    return {
        "id": tick["tickId"], "instigator_id": selector_id(location, REPOSITORY_NAME, name), "instigator_name": name,
        "instigator_type": kind.upper(), "code_location": location, "repository": REPOSITORY_NAME,
        "status": tick["status"], "timestamp": iso_utc(tick["timestamp"]), "end_time": iso_utc(tick["endTimestamp"]),
        "run_ids": tick["runIds"], "run_keys": tick["runKeys"], "skip_reason": tick["skipReason"],
        "error_message": (tick["error"] or {}).get("message"),
    }  # fmt: skip


def verify_ticks(rb: Any, warehouse: Path, server: SimulatedDagster) -> str:
    model = server.model
    ticks = model.instigator_ticks
    total = sum(ticks.count(g) for g in range(ticks.instigators))
    rng = random.Random(total)
    counts = [(g, ticks.count(g)) for g in range(ticks.instigators) if ticks.count(g)]
    picks = {(counts[0][0], 0), (counts[-1][0], counts[-1][1] - 1)}
    while len(picks) < min(SPOT_ROWS, total):
        g, n = rng.choice(counts)
        picks.add((g, rng.randrange(n)))
    expected = [expected_tick_row(model, g, j) for g, j in sorted(picks)]
    count, deleted, got = _fetch_rows(rb, warehouse, "dagster_ticks", "id", [row["id"] for row in expected])
    if count != total:
        raise rb.BenchmarkFailure(f"dagster_ticks has {count} rows, the server has {total} ticks")
    if deleted:
        raise rb.BenchmarkFailure(f"dagster_ticks: {deleted} rows marked deleted")
    _compare(rb, "dagster_ticks", expected, got)
    return f"{count:,} ticks (= the server's), {len(expected)} sampled rows equal"


# ---- running -------------------------------------------------------------------------------------------


def _table_knobs(base: ServerKnobs, scenario: str, args: Any) -> ServerKnobs:
    if scenario == "asset_events":
        return replace(base, runs=args.table_runs, asset_events=args.asset_events)
    if scenario == "ticks":
        return replace(base, runs=args.table_runs, ticks=args.ticks)
    return base


def run_table_scenarios(rb: Any, args: Any, base_knobs: ServerKnobs, workdir: Path, snapshot: Path,
                        record: Callable[[Any], Any], failures: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Runs the scenarios of `TABLE_SCENARIOS` asked for; returns report lines and a summary."""
    from extractor.tables import declarations  # the measured connector's (run_benchmark's snapshot)

    lines: list[str] = []
    summary: dict[str, Any] = {}
    measured: dict[str, list[Any]] = {}

    def keep(measurement: Any) -> Any:
        measured.setdefault(measurement.scenario, []).append(record(measurement))
        return measurement

    def check(measurement: Any, verify: Callable[[], str]) -> None:
        if not measurement.ok:
            return
        try:
            result = verify()
            print(f"    verified: {result}", flush=True)
            summary.setdefault("verifications", []).append(f"{measurement.scenario} #{measurement.repeat}: {result}")
        except rb.BenchmarkFailure as error:
            measurement.ok = False
            measurement.error = f"verification failed: {error}"
            failures.append(f"{measurement.scenario} #{measurement.repeat}: {measurement.error}")
            print(f"    VERIFICATION FAILED: {error}", flush=True)

    for scenario in ("asset_events", "ticks"):
        if scenario not in args.scenario_list:
            continue
        knobs = _table_knobs(base_knobs, scenario, args)
        table = {"asset_events": "dagster_asset_events", "ticks": "dagster_ticks"}[scenario]
        rows = args.asset_events if scenario == "asset_events" else args.ticks
        print(f"{scenario}: {rows:,} rows of {table}, {knobs.runs:,} runs, latency {knobs.latency_ms:g} ms", flush=True)
        with SimulatedDagster(knobs) as server:
            configuration = rb.connector_configuration(args, server.url)
            verify = verify_asset_events if scenario == "asset_events" else verify_ticks
            baseline_config = {"table": table, "now": repr(server.model.now_ms / 1000),
                               "model": json.dumps(model_knobs(knobs)), "asset_events": str(knobs.asset_events)}  # fmt: skip
            for repeat in range(1, args.repeat + 1):
                project = rb.SnapshotProject(workdir / f"{scenario}-{repeat}", snapshot, configuration)
                full = rb.run_sync(project, scenario, repeat, server, args.timeout)
                full.code_digest = rb._files_digest(project.root)
                keep(full)
                check(full, lambda: verify(rb, project.warehouse_path, server))
                if not args.keep:
                    shutil.rmtree(project.root, ignore_errors=True)
                baseline = rb.BaselineProject(
                    workdir / f"{scenario}-destination-{repeat}", rb.BENCH_DIR / "destination_only", baseline_config,
                    extra_files=(rb.BENCH_DIR / "dagster_model.py", rb.BENCH_DIR / "asset_history.py"),
                    tables=declarations())
                bound = keep(rb.run_sync(baseline, f"{scenario}_destination_only", repeat, server, args.timeout))
                check(bound, lambda: verify(rb, baseline.warehouse_path, server))
                if not args.keep:
                    shutil.rmtree(baseline.root, ignore_errors=True)
        summary[scenario] = _ratios(rb, measured.get(scenario, []), measured.get(f"{scenario}_destination_only", []), rows)
        lines += _table_report(rb, scenario, table, rows, summary[scenario])

    if "incremental_large" in args.scenario_list:
        knobs = replace(base_knobs, latency_ms=0)
        print(f"incremental_large: {knobs.runs:,} runs, {knobs.repositories} repositories x "
              f"{knobs.assets_per_repository} assets, {knobs.schedules_per_repository} schedules, "
              f"{knobs.sensors_per_repository} sensors, {knobs.checks_per_repository} checks; set-up at 0 ms",
              flush=True)  # fmt: skip
        with SimulatedDagster(knobs) as server:
            configuration = rb.connector_configuration(args, server.url)
            project = rb.SnapshotProject(workdir / "incremental-large", snapshot, configuration)
            setup = keep(rb.run_sync(project, "incremental_large_setup", 1, server, args.timeout))
            check(setup, lambda: rb.verify_warehouse(project.warehouse_path, server.model, "count", check_others=False))
            server.knobs.latency_ms = base_knobs.latency_ms
            for repeat in range(1, args.repeat + 1):
                if setup.ok:
                    second = keep(rb.run_sync(project, "incremental_large", repeat, server, args.timeout))
                    check(second, lambda: rb.verify_warehouse(project.warehouse_path, server.model, "count",
                                                              check_others=False))  # fmt: skip
                noop = rb.BaselineProject(workdir / f"large-noop-{repeat}", rb.BENCH_DIR / "noop_connector", {})
                keep(rb.run_sync(noop, "incremental_large_noop", repeat, server, args.timeout))
                if not args.keep:
                    shutil.rmtree(noop.root, ignore_errors=True)
            if not args.keep:
                shutil.rmtree(project.root, ignore_errors=True)
        summary["incremental_large"] = _incremental(rb, measured)
        lines += _incremental_report(summary["incremental_large"])
    for line in lines:
        print(line)
    return lines, summary


def _stats(rb: Any, ok: list[Any]) -> dict[str, Any]:
    return {
        "syncs_ok": len(ok),
        "wall_seconds_median": rb._median([m.wall_seconds for m in ok]),
        "wall_seconds_all": [round(m.wall_seconds, 2) for m in ok],
        "peak_rss_tree_mb_median": rb._median([m.peak_rss_tree_mb for m in ok]),
        "peak_rss_wait4_mb_median": rb._median([m.peak_rss_wait4_mb for m in ok]),
        "requests_median": rb._median([m.requests for m in ok]),
        "request_mix": {op: rb._median([m.by_operation.get(op, 0) for m in ok])
                        for op in sorted({op for m in ok for op in m.by_operation})},  # fmt: skip
    }


def _ratios(rb: Any, connector: list[Any], bound: list[Any], rows: int) -> dict[str, Any]:
    c, d = _stats(rb, [m for m in connector if m.ok]), _stats(rb, [m for m in bound if m.ok])
    out: dict[str, Any] = {"rows": rows, "connector": c, "destination_only": d}
    if c["wall_seconds_median"] and d["wall_seconds_median"]:
        out["wall_ratio"] = c["wall_seconds_median"] / d["wall_seconds_median"]
        out["rss_excess_tree_mb"] = c["peak_rss_tree_mb_median"] - d["peak_rss_tree_mb_median"]
        out["rss_excess_wait4_mb"] = c["peak_rss_wait4_mb_median"] - d["peak_rss_wait4_mb_median"]
        out["rss_excess_by_progress"] = rb.excess_by_progress(connector, bound)
    return out


def _table_report(rb: Any, scenario: str, table: str, rows: int, entry: dict[str, Any]) -> list[str]:
    c, d = entry["connector"], entry["destination_only"]
    lines = [f"{scenario}: {rows:,} rows of {table}"]
    for name, stats in (("connector", c), ("destination_only", d)):
        if stats["wall_seconds_median"] is None:
            lines.append(f"  {name:<17} no successful sync")
            continue
        lines.append(f"  {name:<17} {stats['wall_seconds_median']:8.2f} s {stats['wall_seconds_all']}, "
                     f"{rows / stats['wall_seconds_median']:,.0f} rows/s, {stats['requests_median']:,.0f} requests, "
                     f"RSS {stats['peak_rss_tree_mb_median']:.1f} MB (tree) / {stats['peak_rss_wait4_mb_median']:.1f} MB (wait4)")  # fmt: skip
    if "wall_ratio" in entry:
        lines.append(f"  connector / destination_only wall: {entry['wall_ratio']:.2f}x (target <= 1.3); peak RSS "
                     f"excess {entry['rss_excess_tree_mb']:+.1f} MB (tree), {entry['rss_excess_wait4_mb']:+.1f} MB (wait4)")  # fmt: skip
        lines.append("  " + rb.excess_line("destination_only", entry["rss_excess_by_progress"]))
        lines.append(f"  connector request mix: {c['request_mix']}")
    return lines


def _incremental(rb: Any, measured: dict[str, list[Any]]) -> dict[str, Any]:
    setup = [m for m in measured.get("incremental_large_setup", []) if m.ok]
    inc = _stats(rb, [m for m in measured.get("incremental_large", []) if m.ok])
    noop = _stats(rb, [m for m in measured.get("incremental_large_noop", []) if m.ok])
    out = {"setup_wall_seconds": setup[0].wall_seconds if setup else None,
           "setup_requests": setup[0].requests if setup else None,
           "setup_request_mix": setup[0].by_operation if setup else None, "incremental": inc, "noop": noop}  # fmt: skip
    if inc["wall_seconds_median"] is not None and noop["wall_seconds_median"] is not None:
        out["over_noop_seconds"] = inc["wall_seconds_median"] - noop["wall_seconds_median"]
    return out


def _incremental_report(entry: dict[str, Any]) -> list[str]:
    inc, noop = entry["incremental"], entry["noop"]
    lines = [f"incremental_large: set-up (first sync, 0 ms) {entry['setup_wall_seconds'] or float('nan'):.1f} s, "
             f"{entry['setup_requests'] or 0:,} requests"]  # fmt: skip
    if inc["wall_seconds_median"] is None:
        return lines + ["  no successful incremental sync"]
    lines.append(f"  incremental (nothing new): {inc['wall_seconds_median']:.2f} s {inc['wall_seconds_all']}, "
                 f"{entry.get('over_noop_seconds', float('nan')):+.2f} s over the no-op connector "
                 f"({noop['wall_seconds_median'] or float('nan'):.2f} s); {inc['requests_median']:.0f} requests "
                 f"(target < 100, < 10 s); RSS {inc['peak_rss_tree_mb_median']:.1f} MB (tree)")  # fmt: skip
    mix = sorted(inc["request_mix"].items(), key=lambda item: -item[1])
    lines.append("  requests by operation: " + ", ".join(f"{op} {count:g}" for op, count in mix))
    return lines
