"""Where the connector's memory goes: runs `extractor.sync.extract()` in this process against a
simulated Dagster running in a *separate* process (so the server's own allocations are not
counted), drops the rows as they come (the SDK's own costs are not here: they are the same in
the destination-only baseline), and reports the peak of Python's traced memory, this process's
peak RSS, and the top allocators (tracemalloc, grouped by the innermost `extractor/` frame)
at the moment the traced memory was highest.

    flock /tmp/heavy.lock .venv/bin/python benchmarks/memory_profile.py --runs 100000 --run-tags 30

Options: `--runs`, `--run-tags`, `--run-tag-chars`, `--asset-events`, `--ticks`, `--latency-ms`,
`--frames` (traceback depth, default 25), `--no-trace` (RSS only: tracemalloc's own overhead
off), `--top`, `--consumer-rows-per-second` (a destination as slow as the SDK's: the pages then
wait for it, as they do under `fivetran debug`).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SERVER = """
import json, sys
from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster
with SimulatedDagster(ServerKnobs(**json.loads(sys.argv[1]))) as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _where(trace: tracemalloc.Trace | tracemalloc.Statistic) -> str:
    """The innermost frame in the connector's code (else the innermost frame)."""
    frames = list(trace.traceback)[::-1]  # tracemalloc lists the oldest call first
    for frame in frames:
        if "/extractor/" in frame.filename:
            return f"{frame.filename.split('/extractor/')[-1]}:{frame.lineno}"
    frame = frames[0]
    return f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--run-tags", type=int, default=0)
    parser.add_argument("--run-tag-chars", type=int, default=200)
    parser.add_argument("--asset-events", type=int, default=0)
    parser.add_argument("--ticks", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--consumer-rows-per-second", type=float, default=0,
                        help="take this long over each event's rows, as the SDK writing DuckDB does "
                             "(about 1,700 runs/s on this machine); 0: drop them at once")  # fmt: skip
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    knobs = {"runs": args.runs, "run_tags": args.run_tags, "run_tag_chars": args.run_tag_chars,
             "asset_events": args.asset_events, "ticks": args.ticks, "latency_ms": args.latency_ms}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-c", SERVER, json.dumps(knobs)], cwd=REPO_ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = server.stdout.readline().strip()
        from fivetran_connector_sdk import Logging

        Logging.LOG_LEVEL = Logging.Level.WARNING
        from extractor.config import parse_configuration
        from extractor.events import Checkpoint, Rows
        from extractor.state import SyncState
        from extractor.sync import extract

        configuration = {"base_url": url, "requests_per_second": "1000"}
        for item in args.config:
            key, _, value = item.partition("=")
            configuration[key] = value
        settings = parse_configuration(configuration)
        state = SyncState(deployment=settings.deployment)
        rss_start = _rss_mb()
        if not args.no_trace:
            tracemalloc.start(args.frames)
        peak_traced, peak_snapshot, peak_rss, state_bytes = 0, None, rss_start, 0
        rows: Counter[str] = Counter()
        started = time.monotonic()
        events = 0
        for event in extract(settings, state):
            events += 1
            if isinstance(event, Rows):
                rows[event.table] += len(event.rows)
                if args.consumer_rows_per_second:
                    time.sleep(len(event.rows) / args.consumer_rows_per_second)
            elif isinstance(event, Checkpoint):
                state_bytes = max(state_bytes, len(json.dumps(event.state)))  # as op.checkpoint does
            del event
            peak_rss = max(peak_rss, _rss_mb())
            if not args.no_trace:
                current, _ = tracemalloc.get_traced_memory()
                if current > peak_traced * 1.05 or (current > peak_traced and events % 10 == 0):
                    peak_traced = current
                    peak_snapshot = tracemalloc.take_snapshot()
        elapsed = time.monotonic() - started
        traced_peak = tracemalloc.get_traced_memory()[1] if not args.no_trace else 0
        ru_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"knobs {knobs}; {elapsed:.1f} s; rows {dict(rows)}")
        print(f"RSS at start {rss_start:.1f} MB, sampled peak {peak_rss:.1f} MB (+{peak_rss - rss_start:.1f}), "
              f"ru_maxrss {ru_peak:.1f} MB; largest checkpoint state {state_bytes:,} bytes")  # fmt: skip
        if peak_snapshot is not None:
            print(f"tracemalloc: peak traced {traced_peak / 2**20:.1f} MB; at the largest snapshot "
                  f"{peak_traced / 2**20:.1f} MB held, by innermost connector frame:")
            by_place: Counter[str] = Counter()
            counts: Counter[str] = Counter()
            for stat in peak_snapshot.statistics("traceback"):
                place = _where(stat)
                by_place[place] += stat.size
                counts[place] += stat.count
            for place, size in by_place.most_common(args.top):
                print(f"  {size / 2**20:8.2f} MB {counts[place]:>9,} blocks  {place}")
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
