"""The Dagster health report: reads the dbt package's marts (dbt/, built by `bash scripts/dbt.sh
build`) from the DuckDB warehouse, prints a one-screen summary (worst jobs by failure rate,
slowest jobs by p95 duration, stalest assets, failing schedules and sensors, failing checks)
and writes the same as one self-contained HTML page with inline SVG charts.

    .venv/bin/python scripts/health_report.py [--warehouse files/warehouse.db]
        [--schema main_dagster] [--html files/health_report.html] [--top 5]

Needs only the duckdb module (.venv or .venv-dbt).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date, datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import health_report_svg as svg  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
# Grid lines of the log-scale charts: round durations in seconds, and in hours.
SECOND_TICKS = (0.01, 0.1, 1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
HOUR_TICKS = tuple(t / 3600 for t in SECOND_TICKS)
GREEN, RED, GREY, BLUE, LIGHT_BLUE, AMBER = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0", "#90caf9", "#f9a825"
MARTS = (
    "dagster__job_health",
    "dagster__job_daily_metrics",
    "dagster__asset_freshness",
    "dagster__instigator_health",
    "dagster__asset_check_pass_rates",
)


@dataclass
class Marts:
    """What the report shows, read from the marts (rows as dicts, times naive UTC)."""

    warehouse: Path
    as_of: datetime
    jobs: list[dict[str, Any]]
    days: list[dict[str, Any]]
    assets: list[dict[str, Any]]
    instigators: list[dict[str, Any]]
    checks: list[dict[str, Any]]


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def load(warehouse: Path, schema: str) -> Marts:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        present = {
            name for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
            ).fetchall()
        }
        missing = [name for name in MARTS if name not in present]
        if missing:
            raise SystemExit(
                f"health report: {warehouse} has no {schema}.{missing[0]}: "
                "build the marts first with `bash scripts/dbt.sh build`"
            )
        as_of = connection.execute(
            f"SELECT max(as_of) FROM {schema}.dagster__asset_freshness"
        ).fetchone()[0] or datetime.now(timezone.utc).replace(tzinfo=None)
        return Marts(
            warehouse=warehouse,
            as_of=as_of,
            jobs=_rows(connection, f"SELECT * FROM {schema}.dagster__job_health WHERE runs > 0"),
            days=_rows(connection, f"""
                SELECT run_date, sum(runs) AS runs, sum(successful_runs) AS succeeded,
                       sum(failed_runs) AS failed, sum(runs - successful_runs - failed_runs) AS other
                FROM {schema}.dagster__job_daily_metrics GROUP BY run_date ORDER BY run_date"""),
            assets=_rows(connection, f"SELECT * FROM {schema}.dagster__asset_freshness"),
            instigators=_rows(connection, f"SELECT * FROM {schema}.dagster__instigator_health"),
            checks=_rows(connection, f"SELECT * FROM {schema}.dagster__asset_check_pass_rates"),
        )
    finally:
        connection.close()


# --- what to show ------------------------------------------------------------------------------


def worst_jobs(marts: Marts, top: int) -> list[dict[str, Any]]:
    """Jobs with failures, highest failure rate first (then most failures)."""
    failing = [job for job in marts.jobs if job["failed_runs"]]
    return sorted(failing, key=lambda job: (-job["failure_rate"], -job["failed_runs"], job["job_name"]))[:top]


def slowest_jobs(marts: Marts, top: int) -> list[dict[str, Any]]:
    timed = [job for job in marts.jobs if job["duration_p95_seconds"] is not None]
    return sorted(timed, key=lambda job: (-job["duration_p95_seconds"], job["job_name"]))[:top]


def stalest_assets(marts: Marts, top: int) -> list[dict[str, Any]]:
    """Materializable assets, never materialized first, then the longest ago; overdue ones
    (against their freshness policy) before the others."""
    assets = [a for a in marts.assets if a["is_materializable"] is not False]
    return sorted(
        assets,
        key=lambda a: (
            not a["is_overdue"],
            a["last_materialization_at"] is not None,
            -(a["hours_since_last_materialization"] or 0),
            a["asset_key"],
        ),
    )[:top]


def failing_instigators(marts: Marts, top: int) -> list[dict[str, Any]]:
    """Schedules and sensors with failed ticks: failing right now first, then by failure rate."""
    failing = [i for i in marts.instigators if i["failed_ticks"]]
    return sorted(
        failing,
        key=lambda i: (-i["consecutive_failed_ticks"], -(i["failure_rate"] or 0), i["instigator_name"]),
    )[:top]


def failing_checks(marts: Marts, top: int) -> list[dict[str, Any]]:
    failing = [c for c in marts.checks if c["failed"] or c["execution_failed"]]
    return sorted(failing, key=lambda c: (c["pass_rate"] if c["pass_rate"] is not None else 2, c["asset_check_id"]))[:top]


# --- formatting --------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def hours(value: float | None) -> str:
    return "-" if value is None else duration(value * 3600)


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def moment(value: datetime | date | None) -> str:
    if value is None:
        return "never"
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


def cut(text: str | None, width: int) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def open_streak(job: dict[str, Any]) -> str:
    if job["open_incident_since"] is None:
        return "-"
    return f"{job['open_incident_failed_runs']} failed since {moment(job['open_incident_since'])}"


def summary_lines(marts: Marts) -> list[str]:
    runs = sum(job["runs"] for job in marts.jobs)
    finished = sum(job["finished_runs"] for job in marts.jobs)
    failed = sum(job["failed_runs"] for job in marts.jobs)
    first = min((d["run_date"] for d in marts.days), default=None)
    last = max((d["run_date"] for d in marts.days), default=None)
    running = sum(1 for i in marts.instigators if i["status"] == "RUNNING")
    span = f" from {moment(first)} to {moment(last)}" if first else ""
    return [
        f"{runs} runs of {len(marts.jobs)} jobs{span}: {failed} failed "
        f"({percent(failed / finished if finished else None)} of {finished} finished), "
        f"{runs - finished} queued or in progress",
        f"{len(marts.assets)} assets, {len(marts.instigators)} schedules and sensors ({running} running), "
        f"{len(marts.checks)} asset checks",
    ]


# --- the terminal report -----------------------------------------------------------------------


def terminal(marts: Marts, top: int) -> str:
    out = [f"Dagster health report: {marts.warehouse} (as of {moment(marts.as_of)} UTC)"]
    out += summary_lines(marts)
    out += ["", f"{'Worst jobs by failure rate':<34}{'runs':>6}{'failed':>8}{'rate':>8}{'MTTR':>8}  open failure streak"]
    for job in worst_jobs(marts, top):
        out.append(
            f"  {cut(job['job_name'], 32):<32}{job['runs']:>6}{job['failed_runs']:>8}"
            f"{percent(job['failure_rate']):>8}{duration(job['mean_time_to_recovery_seconds']):>8}  {open_streak(job)}"
        )
    out += ["", f"{'Slowest jobs by p95 duration':<34}{'p50':>8}{'p95':>8}{'queue':>8}{'runs':>6}"]
    for job in slowest_jobs(marts, top):
        out.append(
            f"  {cut(job['job_name'], 32):<32}{duration(job['duration_p50_seconds']):>8}"
            f"{duration(job['duration_p95_seconds']):>8}{duration(job['queue_avg_seconds']):>8}{job['runs']:>6}"
        )
    out += ["", f"{'Stalest assets':<34}{'last materialized':<18}{'age':>7}{'per day':>9}  policy"]
    for asset in stalest_assets(marts, top):
        policy = "-" if asset["freshness_fail_window_hours"] is None else (
            f"{'OVERDUE' if asset['is_overdue'] else 'ok'} (<{hours(asset['freshness_fail_window_hours'])})"
        )
        per_day = asset["materializations_per_day"]
        out.append(
            f"  {cut(asset['asset_key'], 32):<32}{moment(asset['last_materialization_at']):<18}"
            f"{hours(asset['hours_since_last_materialization']):>7}"
            f"{'-' if per_day is None else f'{per_day:.1f}':>9}  {policy}"
        )
    out += ["", f"{'Failing schedules and sensors':<34}{'type':<9}{'status':<8}{'ticks':>6}{'failed':>7}"
                f"{'rate':>7}  failing now"]
    failing = failing_instigators(marts, top)
    for item in failing:
        now = f"{item['consecutive_failed_ticks']} in a row" if item["consecutive_failed_ticks"] else "no"
        out.append(
            f"  {cut(item['instigator_name'], 32):<32}{item['instigator_type'].lower():<9}{item['status'] or 'removed':<8}"
            f"{item['ticks']:>6}{item['failed_ticks']:>7}{percent(item['failure_rate']):>7}  {now}"
        )
    if not failing:
        ticks = sum(item["ticks"] for item in marts.instigators)
        out.append(f"  none: no failed tick among {ticks}" if ticks else "  no ticks in the warehouse")
    checks = failing_checks(marts, 3)
    if checks:
        out += ["", f"{'Failing asset checks':<50}{'pass rate':>10}  last"]
        for check in checks:
            out.append(f"  {cut(check['asset_check_id'], 48):<48}{percent(check['pass_rate']):>10}  {check['last_status']}")
    return "\n".join(out)


# --- the HTML page -----------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 900px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 6px; }
p.meta { color: #555; margin: 2px 0; } table { border-collapse: collapse; font-size: 13px; margin-top: 8px; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; } th { color: #555; font-weight: 600; }
.legend { font-size: 12px; color: #444; margin: 4px 0; } .key { margin-right: 14px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
.bad { color: #c62828; font-weight: 600; }
"""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(marts: Marts, top: int) -> str:
    e = escape
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>Dagster health report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Dagster health report</h1>",
        f"<p class=\"meta\">{e(str(marts.warehouse))}, as of {e(moment(marts.as_of))} UTC</p>",
        *(f"<p class=\"meta\">{e(line)}</p>" for line in summary_lines(marts)),
    ]

    days = marts.days
    parts += [
        "<h2>Runs per day</h2>",
        svg.legend([("succeeded", GREEN), ("failed", RED), ("canceled, queued or in progress", GREY)]),
        svg.stacked_columns(
            [d["run_date"].strftime("%m-%d") for d in days],
            [("succeeded", GREEN, [d["succeeded"] for d in days]),
             ("failed", RED, [d["failed"] for d in days]),
             ("other", GREY, [d["other"] for d in days])],
            "Runs per day by outcome",
        ),
    ]

    by_rate = sorted(marts.jobs, key=lambda j: (-(j["failure_rate"] or 0), j["job_name"]))
    worst = worst_jobs(marts, top)
    parts += [
        "<h2>Failure rate by job</h2>",
        svg.horizontal_bars(
            [(j["job_name"], [(j["failure_rate"], RED)]) for j in by_rate],
            "Failure rate by job", percent,
        ),
        _table(
            ["worst jobs", "runs", "failed", "rate", "mean time to recovery", "max", "open failure streak"],
            [[e(j["job_name"]), str(j["runs"]), str(j["failed_runs"]), percent(j["failure_rate"]),
              duration(j["mean_time_to_recovery_seconds"]), duration(j["max_time_to_recovery_seconds"]),
              f"<span class=\"bad\">{e(open_streak(j))}</span>" if j["open_incident_since"] else "-"]
             for j in worst],
        ),
    ]

    by_p95 = sorted((j for j in marts.jobs if j["duration_p95_seconds"] is not None),
                    key=lambda j: (-j["duration_p95_seconds"], j["job_name"]))
    parts += [
        "<h2>Run duration by job (log scale)</h2>",
        svg.legend([("p95", LIGHT_BLUE), ("p50", BLUE)]),
        svg.horizontal_bars(
            [(j["job_name"], [(j["duration_p95_seconds"], LIGHT_BLUE), (j["duration_p50_seconds"], BLUE)])
             for j in by_p95],
            "Run duration p50 and p95 by job", duration, log=True, log_ticks=SECOND_TICKS,
        ),
        _table(
            ["slowest jobs", "p50", "p95", "average queue time", "runs"],
            [[e(j["job_name"]), duration(j["duration_p50_seconds"]), duration(j["duration_p95_seconds"]),
              duration(j["queue_avg_seconds"]), str(j["runs"])] for j in slowest_jobs(marts, top)],
        ),
    ]

    materialized = sorted((a for a in marts.assets if a["hours_since_last_materialization"] is not None),
                          key=lambda a: (-a["hours_since_last_materialization"], a["asset_key"]))
    never = sorted(a["asset_key"] for a in marts.assets
                   if a["last_materialization_at"] is None and a["is_materializable"] is not False)
    parts += [
        "<h2>Hours since each asset's last materialization (log scale)</h2>",
        svg.legend([("fresh", GREEN), ("overdue against its freshness policy", RED)]),
        svg.horizontal_bars(
            [(a["asset_key"], [(a["hours_since_last_materialization"], RED if a["is_overdue"] else GREEN)])
             for a in materialized],
            "Hours since last materialization by asset", hours, log=True, log_ticks=HOUR_TICKS,
        ),
        f"<p class=\"meta\">Never materialized: {e(', '.join(never)) if never else 'none'}</p>",
        _table(
            ["stalest assets", "last materialized", "age", "materializations per day", "freshness policy"],
            [[e(a["asset_key"]), moment(a["last_materialization_at"]), hours(a["hours_since_last_materialization"]),
              "-" if a["materializations_per_day"] is None else f"{a['materializations_per_day']:.1f}",
              "-" if a["freshness_fail_window_hours"] is None else
              (f"<span class=\"bad\">overdue</span> (fail after {hours(a['freshness_fail_window_hours'])})"
               if a["is_overdue"] else f"ok (fail after {hours(a['freshness_fail_window_hours'])})")]
             for a in stalest_assets(marts, top)],
        ),
    ]

    instigators = sorted(marts.instigators, key=lambda i: (-(i["failure_rate"] or 0), -i["ticks"], i["instigator_name"]))
    parts += [
        "<h2>Schedule and sensor ticks</h2>",
        svg.legend([("launched runs", GREEN), ("skipped", GREY), ("failed", RED), ("in progress", AMBER)]),
        svg.split_bars(
            [(f"{i['instigator_name']} ({i['instigator_type'].lower()})",
              [("launched runs", GREEN, i["successful_ticks"]), ("skipped", GREY, i["skipped_ticks"]),
               ("failed", RED, i["failed_ticks"]),
               ("in progress", AMBER, i["ticks"] - i["successful_ticks"] - i["skipped_ticks"] - i["failed_ticks"])])
             for i in instigators],
            "Tick outcomes by schedule and sensor",
        ),
        _table(
            ["failing schedules and sensors", "type", "status", "ticks", "failed", "rate", "failing now", "last error"],
            [[e(i["instigator_name"]), i["instigator_type"].lower(), e(i["status"] or "removed"), str(i["ticks"]),
              str(i["failed_ticks"]), percent(i["failure_rate"]),
              f"<span class=\"bad\">{i['consecutive_failed_ticks']} in a row</span>" if i["consecutive_failed_ticks"] else "no",
              e(cut(i["last_tick_error"], 80)) if i["consecutive_failed_ticks"] else ""]
             for i in failing_instigators(marts, top)],
        ),
    ]

    checks = sorted((c for c in marts.checks if c["pass_rate"] is not None),
                    key=lambda c: (c["pass_rate"], c["asset_check_id"]))
    if checks:
        parts += [
            "<h2>Asset check pass rates</h2>",
            svg.horizontal_bars(
                [(c["asset_check_id"], [(c["pass_rate"], GREEN if c["pass_rate"] == 1 else AMBER)]) for c in checks],
                "Pass rate by asset check", percent, label_width=340,
            ),
        ]
    parts += [
        "<p class=\"meta\">Built from the dbt package's marts (dbt/README.md): "
        "dagster__job_health, dagster__job_daily_metrics, dagster__asset_freshness, "
        "dagster__instigator_health, dagster__asset_check_pass_rates.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=REPO_ROOT / "files" / "warehouse.db")
    parser.add_argument("--schema", default="main_dagster", help="the schema of the marts")
    parser.add_argument("--html", type=Path, default=REPO_ROOT / "files" / "health_report.html")
    parser.add_argument("--top", type=int, default=5, help="rows per section in the terminal")
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        raise SystemExit(f"health report: no warehouse at {args.warehouse}: run `bash scripts/demo.sh` first")
    marts = load(args.warehouse, args.schema)
    print(terminal(marts, args.top))
    args.html.parent.mkdir(parents=True, exist_ok=True)
    args.html.write_text(page(marts, args.top), encoding="utf-8")
    print(f"\nHTML report with charts: {args.html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
