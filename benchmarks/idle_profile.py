"""Where an idle incremental sync spends its time, in-process: the simulated Dagster and
`extractor.sync.extract()` in one process, every log line timed, then the server's own time per
operation (`stats.answer_seconds`). Not a benchmark (no `fivetran debug`, no destination); a
way to tell the connector's time from the server's.

    .venv/bin/python benchmarks/idle_profile.py [--repositories 20] [--assets-per-repository 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fivetran_connector_sdk_common.logger import Logging  # noqa: E402

import extractor.log as connector_log  # noqa: E402
from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster  # noqa: E402
from extractor.config import parse_configuration  # noqa: E402
from extractor.events import Rows  # noqa: E402
from extractor.state import SyncState  # noqa: E402
from extractor.sync import extract  # noqa: E402

started = [time.monotonic()]


def timed(message: str) -> None:
    print(f"{time.monotonic() - started[0]:7.2f} {message[:160]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=20)
    parser.add_argument("--assets-per-repository", type=int, default=1000)
    parser.add_argument("--instigators-per-repository", type=int, default=25)
    parser.add_argument("--checks-per-repository", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    Logging.LOG_LEVEL = Logging.Level.INFO
    for level in ("info", "warning", "error"):
        setattr(connector_log._Log, level, staticmethod(timed))
    knobs = ServerKnobs(
        runs=2000, repositories=args.repositories, assets_per_repository=args.assets_per_repository,
        schedules_per_repository=args.instigators_per_repository,
        sensors_per_repository=args.instigators_per_repository, checks_per_repository=args.checks_per_repository,
    )  # fmt: skip
    with SimulatedDagster(knobs) as server:
        fast = parse_configuration({"base_url": server.url, "requests_per_second": "2000", "step_history_days": "1"})
        state = SyncState(deployment=fast.deployment)
        started[0] = time.monotonic()
        rows = sum(len(event.rows) for event in extract(fast, state) if isinstance(event, Rows))
        print(f"first sync (0 ms): {time.monotonic() - started[0]:.1f} s, {rows:,} rows\n", flush=True)
        server.knobs.latency_ms = args.latency_ms
        server.reset_stats()
        started[0] = time.monotonic()
        rows = sum(len(event.rows) for event in extract(parse_configuration({"base_url": server.url}), state)
                   if isinstance(event, Rows))  # fmt: skip
        print(f"idle incremental ({args.latency_ms:g} ms): {time.monotonic() - started[0]:.1f} s, {rows} rows, "
              f"{server.stats.requests} requests")  # fmt: skip
        busy = sorted(server.stats.answer_seconds.items(), key=lambda item: -item[1])
        print("server time building answers: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in busy[:5]))


if __name__ == "__main__":
    main()
