"""Memory of one 5,000-run page in the connector (tracemalloc): its decoded text, the parsed
JSON, and the `dagster_runs` rows made from it (which share the parsed strings).

    PYTHONPATH=. .venv/bin/python benchmarks/page_cost.py [RUN_TAGS] [RUN_TAG_CHARS]
"""

import gc
import json
import sys
import tracemalloc

from benchmarks.dagster_model import DagsterModel
from extractor.tables.runs import run_row


def main() -> None:
    tags = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    chars = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    n = 5000
    model = DagsterModel(runs=100_000, run_tags=tags, run_tag_chars=chars)
    body = ('{"data":{"runsOrError":{"__typename":"Runs","results":['
            + ",".join(model.run_json(i) for i in range(50_000, 50_000 + n)) + "]}}}").encode()  # fmt: skip
    print(f"run_tags {tags} x {chars} chars: body {len(body) / 2**20:.1f} MB")
    tracemalloc.start()
    text = body.decode()
    a = tracemalloc.get_traced_memory()[0]
    data = json.loads(text)
    b = tracemalloc.get_traced_memory()[0]
    del text
    c = tracemalloc.get_traced_memory()[0]
    runs = data["data"]["runsOrError"]["results"]
    rows = [run_row(run) for run in runs]
    d = tracemalloc.get_traced_memory()[0]
    del data, runs
    gc.collect()
    e = tracemalloc.get_traced_memory()[0]
    print(f"decoded str {a / 2**20:.1f} MB, parsed page {(b - a) / 2**20:.1f} MB, rows on top "
          f"{(d - c) / 2**20:.1f} MB, rows alone once the page is dropped {e / 2**20:.1f} MB ({len(rows)} rows)")  # fmt: skip


if __name__ == "__main__":
    main()
