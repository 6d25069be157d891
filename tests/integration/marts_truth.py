"""The dbt package's marts, computed here in Python from what Dagster's instance holds
(`demo/seed.py dump-*`: run storage, event log, tick storage), never from the warehouse or the
marts themselves: the ground truth of tests/integration/test_dbt_package.py.

Definitions follow dbt/README.md: days are UTC days; a run's duration is end - start of a
finished run (SUCCESS, FAILURE, CANCELED); queue time is start - creation; percentiles
interpolate linearly (SQL's percentile_cont); a failure streak is a job's consecutive FAILURE
runs in the order they ended (CANCELED and unfinished runs ignored), recovered by the next
SUCCESS, time to recovery from the end of the streak's first failure to the end of that success.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timezone
from typing import Any

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def utc_day(seconds: float) -> date:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).date()


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """percentile_cont: linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def job_id(run: dict[str, Any]) -> str:
    return f"{run['code_location'] or ''}:{run['repository'] or ''}:{run['job_name']}"


def job_daily_metrics(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By `job_id:YYYY-MM-DD`: runs, failed and finished runs, failure rate, duration p50/p95,
    average queue time."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[f"{job_id(run)}:{utc_day(run['creation_time']).isoformat()}"].append(run)
    out = {}
    for key, members in groups.items():
        finished = [run for run in members if run["status"] in FINISHED]
        failed = [run for run in members if run["status"] == "FAILURE"]
        durations = [
            run["end_time"] - run["start_time"]
            for run in finished
            if run["start_time"] is not None and run["end_time"] is not None
        ]
        queues = [
            run["start_time"] - run["creation_time"] for run in members if run["start_time"] is not None
        ]
        out[key] = {
            "runs": len(members),
            "finished_runs": len(finished),
            "failed_runs": len(failed),
            "failure_rate": len(failed) / len(finished) if finished else None,
            "duration_p50_seconds": percentile(durations, 0.5),
            "duration_p95_seconds": percentile(durations, 0.95),
            "queue_avg_seconds": sum(queues) / len(queues) if queues else None,
        }
    return out


def job_incidents(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Failure streaks by their first failed run: the job, how many runs failed in a row, the
    run that recovered and the time to recovery (None while open)."""
    outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        if run["status"] in ("SUCCESS", "FAILURE") and run["end_time"] is not None:
            outcomes[job_id(run)].append(run)
    incidents: dict[str, dict[str, Any]] = {}
    for job, job_runs in outcomes.items():
        open_incident: dict[str, Any] | None = None
        for run in sorted(job_runs, key=lambda r: (r["end_time"], r["run_id"])):
            if run["status"] == "FAILURE":
                if open_incident is None:
                    open_incident = {
                        "job_id": job,
                        "first_failed_run_id": run["run_id"],
                        "first_failure_at": run["end_time"],
                        "failed_runs": 0,
                        "recovery_run_id": None,
                        "time_to_recovery_seconds": None,
                    }
                    incidents[run["run_id"]] = open_incident
                open_incident["failed_runs"] += 1
            elif open_incident is not None:
                open_incident["recovery_run_id"] = run["run_id"]
                open_incident["time_to_recovery_seconds"] = run["end_time"] - open_incident["first_failure_at"]
                open_incident = None
    return incidents


def asset_freshness(
    defined_assets: Iterable[str], events: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """By defined asset key: materializations, the last one's time (epoch seconds) and run,
    and materializations per UTC day from the first's day to the last's."""
    materializations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["event_type"] == "MATERIALIZATION":
            materializations[event["asset_key"]].append(event)
    out = {}
    for key in defined_assets:
        found = sorted(materializations.get(key, []), key=lambda event: event["timestamp"])
        if not found:
            out[key] = {"materializations": 0, "last_materialization_at": None,
                        "last_materialization_run_id": None, "materializations_per_day": None}
            continue
        days = (utc_day(found[-1]["timestamp"]) - utc_day(found[0]["timestamp"])).days + 1
        out[key] = {
            "materializations": len(found),
            "last_materialization_at": found[-1]["timestamp"],
            "last_materialization_run_id": found[-1]["run_id"],
            "materializations_per_day": len(found) / days,
        }
    return out


def asset_daily_activity(events: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """By `asset_key:YYYY-MM-DD`: materializations and observations."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"materializations": 0, "observations": 0})
    for event in events:
        day = out[f"{event['asset_key']}:{utc_day(event['timestamp']).isoformat()}"]
        if event["event_type"] == "MATERIALIZATION":
            day["materializations"] += 1
        elif event["event_type"] == "OBSERVATION":
            day["observations"] += 1
    return dict(out)


def instigator_daily_ticks(ticks: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By `instigator_id:YYYY-MM-DD`: ticks by outcome and the runs they launched."""
    out: dict[str, dict[str, Any]] = {}
    for tick in ticks:
        key = f"{tick['instigator_id']}:{utc_day(tick['timestamp']).isoformat()}"
        day = out.setdefault(key, {"instigator_name": tick["instigator_name"], "ticks": 0,
                                   "successful_ticks": 0, "skipped_ticks": 0, "failed_ticks": 0,
                                   "runs_launched": 0})
        day["ticks"] += 1
        day["runs_launched"] += len(tick["run_ids"])
        status_column = {"SUCCESS": "successful_ticks", "SKIPPED": "skipped_ticks", "FAILURE": "failed_ticks"}
        if tick["status"] in status_column:
            day[status_column[tick["status"]]] += 1
    return out


def instigator_streaks(ticks: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By instigator id: its last tick's status and how many of its latest ticks failed in a row."""
    by_instigator: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for tick in ticks:
        by_instigator[tick["instigator_id"]].append(tick)
    out = {}
    for instigator, found in by_instigator.items():
        newest_first = sorted(found, key=lambda t: (t["timestamp"], t["id"]), reverse=True)
        streak = 0
        for tick in newest_first:
            if tick["status"] != "FAILURE":
                break
            streak += 1
        out[instigator] = {"last_tick_status": newest_first[0]["status"], "consecutive_failed_ticks": streak}
    return out


def check_pass_rates(executions: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By check id: executions, succeeded, failed, and the pass rate of the evaluated ones."""
    out: dict[str, dict[str, Any]] = {}
    for execution in executions:
        check = out.setdefault(execution["check_id"], {"executions": 0, "succeeded": 0, "failed": 0})
        check["executions"] += 1
        if execution["status"] == "SUCCEEDED":
            check["succeeded"] += 1
        elif execution["status"] == "FAILED":
            check["failed"] += 1
    for check in out.values():
        evaluated = check["succeeded"] + check["failed"]
        check["pass_rate"] = check["succeeded"] / evaluated if evaluated else None
    return out


def step_retries(
    runs: Sequence[dict[str, Any]], steps: Sequence[dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """By `job_id:step_key`, over the steps of finished runs: step runs, retried ones, retries."""
    jobs = {run["run_id"]: job_id(run) for run in runs}
    out: dict[str, dict[str, int]] = {}
    for step in steps:
        if step["run_status"] not in FINISHED:
            continue
        row = out.setdefault(f"{jobs[step['run_id']]}:{step['step_key']}",
                             {"step_runs": 0, "retried_step_runs": 0, "retries": 0})
        attempts = step["attempts"] if step["attempts"] is not None else 1
        row["step_runs"] += 1
        row["retried_step_runs"] += attempts > 1
        row["retries"] += attempts - 1
    return out
