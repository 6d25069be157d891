"""How fast a real dagster-webserver answers the connector's asset listing, by reading shape.

Writes a code location with N assets (chains of 50 dependencies), starts the demo Dagster
(`.venv-dagster`) on 127.0.0.1 with it, optionally reports one materialization per asset, then
times, alternately and `--repeat` times each, ways of reading every asset with the
connector's own selections (`extractor.asset_graph`):

  cursor  `assetsOrError(cursor, limit: 1000)` walked page after page, the next page asked for
          as soon as its cursor is known: the connector's shape;
  keyed   the bare keys by cursor (5,000 a page), then the details by key,
          `assetsOrError(assetKeys: [...])`, 1,000 keys a request, `--in-flight` requests at
          once: tried and measured slower (RESULTS.md), so not the connector's;
  heads   what the connector lists when no code location was reloaded since its last full
          listing (`extractor.asset_graph.ASSET_HEADS_PAGE`, 1,000 a page, by cursor as
          `cursor`), before it reads by key the few assets whose rows may have moved.

Prints each run and the medians, per 1,000 assets.

    .venv/bin/python benchmarks/real_assets.py --assets 10000 --materialize --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from demo.dagster_demo import DAGSTER_YAML, default_dagster_python, free_port  # noqa: E402
from extractor.asset_graph import ASSET_GRAPH_PAGE, ASSET_HEADS_PAGE, ASSET_PAGE_SIZE  # noqa: E402
from extractor.concurrency import in_order  # noqa: E402

KEY_PAGE_SIZE = 5000
_CURSOR_HEADER = "query ConnectorAssetGraph($cursor: String, $limit: Int) {\n  assetsOrError(cursor: $cursor, limit: $limit) {"
_KEYED_HEADER = "query KeyedAssetGraph($assetKeys: [AssetKeyInput!]) {\n  assetsOrError(assetKeys: $assetKeys) {"
assert ASSET_GRAPH_PAGE.document.count(_CURSOR_HEADER) == 1
CURSOR_WALK = ASSET_GRAPH_PAGE.document
KEYED = CURSOR_WALK.replace(_CURSOR_HEADER, _KEYED_HEADER)  # the same selection, by key
KEYS_PAGE = """
query AssetKeys($cursor: String, $limit: Int) {
  assetsOrError(cursor: $cursor, limit: $limit) {
    __typename
    ... on AssetConnection { nodes { key { path } } cursor }
    ... on Error { message }
  }
}"""

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


async def _data(session: aiohttp.ClientSession, url: str, document: str, variables: dict) -> dict:
    async with session.post(f"{url}/graphql", json={"query": document, "variables": variables}) as answer:
        body = await answer.json()
    if answer.status != 200 or body.get("errors"):
        raise RuntimeError(f"HTTP {answer.status}: {json.dumps(body)[:500]}")
    connection = body["data"]["assetsOrError"]
    if connection["__typename"] != "AssetConnection":
        raise RuntimeError(json.dumps(connection)[:500])
    return connection


async def cursor_walk(session: aiohttp.ClientSession, url: str, in_flight: int, document: str = CURSOR_WALK) -> int:
    """Every asset's details by cursor, the next page asked for while this one is read."""
    count = 0

    async def page(cursor: str | None) -> dict:
        return await _data(session, url, document, {"cursor": cursor, "limit": ASSET_PAGE_SIZE})

    pending = asyncio.ensure_future(page(None))
    while True:
        connection = await pending
        if not connection["nodes"] or connection["cursor"] is None:
            return count
        pending = asyncio.ensure_future(page(connection["cursor"]))
        count += len(connection["nodes"])


async def heads_walk(session: aiohttp.ClientSession, url: str, in_flight: int) -> int:
    """The listing of an unchanged workspace: keys, sort keys, checks' names, by cursor."""
    return await cursor_walk(session, url, in_flight, ASSET_HEADS_PAGE.document)


async def keyed_walk(session: aiohttp.ClientSession, url: str, in_flight: int) -> int:
    """The bare keys by cursor, then their details by key, `in_flight` requests at once."""
    keys, cursor = [], None
    while True:
        connection = await _data(session, url, KEYS_PAGE, {"cursor": cursor, "limit": KEY_PAGE_SIZE})
        if not connection["nodes"] or connection["cursor"] is None:
            break
        keys += [node["key"] for node in connection["nodes"]]
        cursor = connection["cursor"]
    batches = [keys[start : start + ASSET_PAGE_SIZE] for start in range(0, len(keys), ASSET_PAGE_SIZE)]

    def fetch(batch: list[dict]):
        return lambda: _data(session, url, KEYED, {"assetKeys": batch})

    count = 0
    async for connection in in_order([fetch(batch) for batch in batches], in_flight):
        count += len(connection["nodes"])
    return count


async def _timed(walk, url: str, in_flight: int) -> tuple[int, float]:
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        count = await walk(session, url, in_flight)
        return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--materialize", action="store_true", help="one event per asset first")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=3, help="keyed: detail requests at once")
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
            timings: dict[str, list[float]] = {"cursor": [], "keyed": [], "heads": []}
            for attempt in range(args.repeat):
                for shape, walk in (("cursor", cursor_walk), ("keyed", keyed_walk), ("heads", heads_walk)):
                    count, seconds = asyncio.run(_timed(walk, url, args.in_flight))
                    if count < args.assets:
                        sys.exit(f"{shape}: {count} assets read, {args.assets} defined")
                    timings[shape].append(seconds)
                    print(f"run {attempt} {shape}: {count} assets in {seconds:.2f} s", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    medians = {shape: statistics.median(values) for shape, values in timings.items()}
    for shape, median in medians.items():
        print(f"{shape}: median {median:.2f} s for {args.assets} assets "
              f"({'with' if args.materialize else 'without'} materializations): "
              f"{1000 * median / args.assets:.2f} s per 1,000")  # fmt: skip
    print(f"keyed / cursor: {medians['keyed'] / medians['cursor']:.2f}")
    print(f"heads / cursor: {medians['heads'] / medians['cursor']:.2f}")


if __name__ == "__main__":
    main()
