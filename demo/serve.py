"""Start the demo Dagster deployment, seed it, and keep it running until Ctrl-C.

Run with the project's Python (stdlib only; Dagster runs from its own venv)::

    .venv/bin/python demo/serve.py                      # http://127.0.0.1:<free port>
    .venv/bin/python demo/serve.py --port 3000 --runs 300 --home .demo/dagster_home

An existing home is reused (populate only tops it up to --runs runs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.dagster_demo import DagsterDemo, default_dagster_python  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path(".demo/dagster_home"))
    parser.add_argument("--dagster-python", type=Path, default=default_dagster_python())
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    with DagsterDemo(args.home, args.dagster_python, args.port) as demo:
        summary = demo.seed("populate", "--runs", str(args.runs))
        print(json.dumps({"url": demo.url, "home": str(demo.home), "runs": summary["by_status"]}))
        print(f"Dagster UI: {demo.url}  (GraphQL: {demo.graphql_url}); Ctrl-C to stop", flush=True)
        try:
            while demo.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
