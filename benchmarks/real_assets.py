"""How long the connector takes to sync a deployment's assets on a real dagster-webserver.

Writes a code location with N assets (chains of 50 dependencies), starts the demo Dagster
(`.venv-dagster`) on 127.0.0.1 with it, optionally reports one materialization per asset, and
runs `fivetran debug` several times; the time of the asset part is read from the connector's
log (from "connected" to "assets: N rows"). Prints each run and the median, per 1,000 assets.

    .venv/bin/python benchmarks/real_assets.py --assets 3000 --materialize --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from demo.dagster_demo import DAGSTER_YAML, default_dagster_python, free_port  # noqa: E402
from tests.support.fivetran_runner import ConnectorProject  # noqa: E402

DEFINITIONS = """
from dagster import AssetKey, Definitions, asset

def make(i):
    deps = [AssetKey(["bulk", f"group{{(i - 1) // 50}}", f"asset_{{i - 1}}"])] if i % 50 else []
    @asset(key=AssetKey(["bulk", f"group{{i // 50}}", f"asset_{{i}}"]), deps=deps)
    def _asset():
        return None
    return _asset

defs = Definitions(assets=[make(i) for i in range({count})])
"""
WORKSPACE = """load_from:
  - python_file: {relative_path: defs.py, location_name: bulk, working_directory: .}
"""
MATERIALIZE = """
from dagster import AssetKey, AssetMaterialization, DagsterInstance
instance = DagsterInstance.get()
for i in range({count}):
    key = AssetKey(["bulk", f"group{{i // 50}}", f"asset_{{i}}"])
    instance.report_runless_asset_event(AssetMaterialization(asset_key=key))
"""


def _loaded(url: str) -> bool:
    query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"})
    request = urllib.request.Request(
        f"{url}/graphql", data=query.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            entries = json.loads(answer.read())["data"]["workspaceOrError"]["locationEntries"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(entries) and entries[0]["loadStatus"] == "LOADED"


def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%H:%M:%S.%f").timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--materialize", action="store_true", help="one event per asset first")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    python = default_dagster_python()
    with tempfile.TemporaryDirectory(prefix="real_assets_") as scratch:
        root = Path(scratch)
        (root / "defs.py").write_text(DEFINITIONS.format(count=args.assets))
        (root / "workspace.yaml").write_text(WORKSPACE)
        home = root / "home"
        home.mkdir()
        shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
        env = dict(os.environ, DAGSTER_HOME=str(home))
        if args.materialize:
            script = root / "materialize.py"
            script.write_text(MATERIALIZE.format(count=args.assets))
            subprocess.run([str(python), str(script)], env=env, check=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        webserver = python.parent / "dagster-webserver"
        command = [str(webserver), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]
        with open(root / "webserver.log", "wb") as log:
            server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while not _loaded(url):
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("the webserver did not load the code location")
                time.sleep(1)
            timings = []
            for attempt in range(args.repeat):
                project = ConnectorProject(root / f"project{attempt}", {"base_url": url})
                result = project.sync()
                connected = re.search(r"^(\S+) .*connector connected to Dagster", result.output, re.M)
                done = re.search(r"^(\S+) .*connector assets: (\d+) rows", result.output, re.M)
                if result.returncode != 0 or not connected or not done:
                    sys.exit(f"sync {attempt} failed:\n{result.output[-3000:]}")
                seconds = _seconds(done.group(1)) - _seconds(connected.group(1))
                timings.append(seconds)
                print(f"run {attempt}: {done.group(2)} assets in {seconds:.2f} s")
        finally:
            server.terminate()
            server.wait(timeout=30)
    median = statistics.median(timings)
    print(
        f"median {median:.2f} s for {args.assets} assets "
        f"({'with' if args.materialize else 'without'} materializations): "
        f"{1000 * median / args.assets:.2f} s per 1,000"
    )


if __name__ == "__main__":
    main()
