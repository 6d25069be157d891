"""A simulated Dagster GraphQL server (aiohttp, 127.0.0.1 only) for benchmarks and fault tests.

    from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster

    with SimulatedDagster(ServerKnobs(runs=100_000, latency_ms=50)) as server:
        ...  # point the connector at server.url; read server.stats afterwards

    async with SimulatedDagster(ServerKnobs(runs=10)) as server:   # on the running loop
        ...

The sync form runs the server on its own event loop in a background thread; the async form
runs it on the caller's loop. Data comes from `dagster_model.DagsterModel` (runs derived from
their index: a million runs hold no memory).

It is not a GraphQL engine. It finds the root field of the query (`runsOrError`,
`repositoriesOrError`, `schedulesOrError`, `sensorsOrError`, `repositoryOrError`, `version`),
reads that field's arguments (variables or integer/string literals) and answers with the
object shapes the connector's documents (extractor/documents.py) select; for runs it honours
the `results { ... }` field list and `count`. Every answer to an `...OrError` field carries
`__typename`. With `old_schema`, a query that selects `assetNodesConnection` or
`sensorType` gets graphql-core's validation error with HTTP 400, like Dagster before 1.13.

Faults (`failure_rate` at random from `fault_kinds`, or scripted per operation with
`script_faults`): "500"/"502"/"503"/"504" (text body), "reset" (the connection is closed with
an RST, no response), "timeout" (no answer for `hang_seconds`; the handler is cancelled when
the client gives up), "truncated" (200, the JSON answer cut in half), "not_json" (200, an HTML
page), "429" (with `Retry-After: 1`), "401". `rate_limit_rps` is a token bucket (one second
of burst): a request beyond it gets 429 with an integer `Retry-After` >= 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web

try:  # as a package (benchmarks.simulated_dagster) or from the benchmarks directory
    from benchmarks.dagster_model import RUN_FIELDS, DagsterModel
except ImportError:  # pragma: no cover
    from dagster_model import RUN_FIELDS, DagsterModel  # type: ignore[no-redef]

FAULT_KINDS = ("500", "502", "503", "504", "reset", "timeout", "truncated", "not_json", "429", "401")
DAGSTER_VERSION = "1.13.28"


@dataclass
class ServerKnobs:
    runs: int = 1000  # N runs, generated deterministically
    latency_ms: float = 0  # added to every request (asyncio.sleep)
    rate_limit_rps: float | None = None  # beyond it: 429 with Retry-After (integer seconds >= 1)
    failure_rate: float = 0.0  # fraction of requests answered with a random fault
    fault_kinds: tuple[str, ...] = ("500", "502", "503", "504", "reset", "timeout", "truncated", "not_json")
    seed: int = 0
    assets_per_repository: int = 50
    repositories: int = 2  # code locations, one repository each
    schedules_per_repository: int = 3
    sensors_per_repository: int = 3
    old_schema: bool = False  # no Repository.assetNodesConnection, no Sensor.sensorType
    hang_seconds: float = 120.0  # how long a "timeout" fault stays silent
    in_progress_runs: int = 6  # the newest runs are STARTED/QUEUED, launched by a sensor
    now: float | None = None  # the end of the generated history (default: at start)
    shared_sensor_names: bool = False  # the same sensor names in every repository
    port: int = 0  # 0: any free port


@dataclass
class ServerStats:
    requests: int = 0
    by_operation: Counter = field(default_factory=Counter)
    responses_429: int = 0  # every 429 sent (rate limit and "429" faults)
    rate_limited: int = 0  # 429s sent by the rate limit
    faults: Counter = field(default_factory=Counter)  # injected faults by kind
    in_flight: int = 0
    max_in_flight: int = 0
    answer_seconds: Counter = field(default_factory=Counter)  # CPU time building answers, per op
    answer_bytes: Counter = field(default_factory=Counter)
    run_pages: int = 0  # runsOrError answers with `results`
    runs_served: int = 0  # runs in those answers
    run_pages_seconds: float = 0.0  # CPU time building and serialising those answers

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy (Counters as dicts), safe to keep while the server goes on."""
        return {
            name: dict(value) if isinstance(value, Counter) else value
            for name, value in ((f.name, getattr(self, f.name)) for f in fields(self))
        }


class GraphQLFailure(Exception):
    """An answer of `{"errors": [...]}` with an HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---- a very small reading of the query text ---------------------------------------------------

_ROOT_FIELD = re.compile(r"\{\s*(\w+)")
_ARGUMENT = re.compile(r'(\w+)\s*:\s*(\$\w+|-?\d+|"(?:[^"\\]|\\.)*"|null|true|false)')


def _block_after(text: str, marker: str) -> str | None:
    """The text inside the braces that follow the first `marker` in `text`."""
    at = text.find(marker)
    if at < 0:
        return None
    opening = text.find("{", at + len(marker))
    if opening < 0:
        return None
    depth = 0
    for position in range(opening, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text[opening + 1:position]
    return None


def _top_level_fields(selection: str) -> list[str]:
    """Field names at depth 0 of a selection set (`a b { c } d` -> a, b, d)."""
    depth = 0
    names = []
    for token in re.findall(r"[{}]|\.\.\.|\w+(?:\([^)]*\))?", selection):
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth == 0 and token != "...":
            names.append(token.split("(")[0])
    return names


def _arguments(query: str, field_name: str, variables: dict[str, Any]) -> dict[str, Any]:
    match = re.search(rf"\b{field_name}\s*\(([^)]*)\)", query)
    if not match:
        return {}
    arguments: dict[str, Any] = {}
    for name, raw in _ARGUMENT.findall(match.group(1)):
        if raw.startswith("$"):
            arguments[name] = variables.get(raw[1:])
        else:
            arguments[name] = json.loads(raw)
    return arguments


@dataclass(frozen=True)
class _Shape:
    """What a query asks for, parsed once per distinct query text."""

    root: str
    run_fields: tuple[str, ...] = ()
    wants_count: bool = False
    wants_results: bool = False
    asset_connection: bool = False


def _shape(query: str) -> _Shape:
    match = _ROOT_FIELD.search(query)
    if not match:
        raise GraphQLFailure("Syntax Error: the document has no selection set.")
    root = match.group(1)
    if root == "runsOrError":
        runs = _block_after(query, "on Runs") or ""
        top = _top_level_fields(runs)
        results = _block_after(runs, "results") if "results" in top else None
        fields = tuple(_top_level_fields(results)) if results is not None else ()
        return _Shape(root, run_fields=fields or RUN_FIELDS, wants_count="count" in top,
                      wants_results=results is not None)
    if root == "repositoryOrError":
        return _Shape(root, asset_connection="assetNodesConnection" in query)
    return _Shape(root)


# ---- the server ------------------------------------------------------------------------------


class SimulatedDagster:
    """The simulated server. Sync context manager (own thread and loop) or `async with`."""

    def __init__(self, knobs: ServerKnobs | None = None, **overrides: Any) -> None:
        self.knobs = knobs or ServerKnobs()
        for key, value in overrides.items():
            setattr(self.knobs, key, value)
        k = self.knobs
        for kind in k.fault_kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r} (known: {FAULT_KINDS})")
        self.model = DagsterModel(
            runs=k.runs, seed=k.seed, repositories=k.repositories,
            assets_per_repository=k.assets_per_repository,
            schedules_per_repository=k.schedules_per_repository,
            sensors_per_repository=k.sensors_per_repository,
            in_progress_runs=k.in_progress_runs, now=k.now,
            shared_sensor_names=k.shared_sensor_names,
        )
        self.stats = ServerStats()
        self.url = ""
        self._random = random.Random(k.seed)
        self._scripted: dict[str, deque[str]] = {}
        self._shapes: dict[str, _Shape] = {}
        self._served_page = False  # the answer being built is a runs page (for stats)
        self._tokens = float(max(1.0, k.rate_limit_rps or 1.0))
        self._tokens_at = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- public API -------------------------------------------------------------------------

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def script_faults(self, operation: str, kinds: list[str]) -> None:
        """The next `len(kinds)` requests with this operation name get these faults, in order."""
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r} (known: {FAULT_KINDS})")
        with self.model.lock:
            self._scripted.setdefault(operation, deque()).extend(kinds)

    def add_runs(self, n: int, status: str | None = None) -> list[str]:
        """Adds `n` new runs (created now); returns their ids."""
        return self.model.add_runs(n, status)

    def set_run_status(self, run_id: str, status: str) -> None:
        """Changes a run's status; its update time becomes now."""
        self.model.set_run_status(run_id, status)

    def expected_runs(self) -> Iterator[dict[str, Any]]:
        """The `dagster_runs` rows the connector should write, oldest first (= run_id order)."""
        return self.model.expected_runs()

    def reset_stats(self) -> None:
        """Zeroes the counters (in place: requests in flight keep counting correctly)."""
        stats = self.stats
        stats.requests = stats.responses_429 = stats.rate_limited = 0
        stats.run_pages = stats.runs_served = 0
        stats.run_pages_seconds = 0.0
        for counter in (stats.by_operation, stats.faults, stats.answer_seconds, stats.answer_bytes):
            counter.clear()
        stats.max_in_flight = stats.in_flight

    # ---- lifecycle ----------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/graphql", self._handle)
        app.router.add_get("/", self._root)
        app.router.add_get("/server_info", self._server_info)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self._app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.knobs.port, backlog=256)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimulatedDagster:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def __enter__(self) -> SimulatedDagster:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:  # reported to the caller below
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.close()

        self._thread = threading.Thread(target=serve, name="simulated-dagster", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError("the simulated Dagster did not start within 30 s")
        if failure:
            raise failure[0]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._thread = None
            self._loop = None

    # ---- request handling ---------------------------------------------------------------------

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Simulated Dagster</body></html>", content_type="text/html")

    async def _server_info(self, request: web.Request) -> web.Response:
        return web.json_response({"dagster_webserver_version": DAGSTER_VERSION})

    def _rate_limited(self) -> int | None:
        """Seconds to wait if this request is beyond the rate limit, else None (and a token is spent)."""
        rps = self.knobs.rate_limit_rps
        if not rps:
            return None
        now = time.monotonic()
        capacity = max(1.0, rps)
        self._tokens = min(capacity, self._tokens + (now - self._tokens_at) * rps)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self._tokens) / rps))

    def _next_fault(self, operation: str) -> str | None:
        with self.model.lock:
            scripted = self._scripted.get(operation)
            if scripted:
                return scripted.popleft()
        k = self.knobs
        if k.failure_rate > 0 and k.fault_kinds and self._random.random() < k.failure_rate:
            return self._random.choice(k.fault_kinds)
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        stats = self.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            return await self._respond(request, stats)
        finally:
            stats.in_flight -= 1

    async def _respond(self, request: web.Request, stats: ServerStats) -> web.StreamResponse:
        raw = await request.read()
        try:
            payload = json.loads(raw)
            query = payload["query"]
            variables = payload.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            stats.requests += 1
            stats.by_operation["<invalid>"] += 1
            return _errors("POST body must be a JSON object with 'query' (and 'variables')", 400)
        operation = payload.get("operationName") or "<anonymous>"
        stats.requests += 1
        stats.by_operation[operation] += 1

        wait = self._rate_limited()
        fault = None if wait is not None else self._next_fault(operation)
        if self.knobs.latency_ms > 0:
            await asyncio.sleep(self.knobs.latency_ms / 1000)
        if wait is not None:
            stats.responses_429 += 1
            stats.rate_limited += 1
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": str(wait)})
        if fault is not None:
            stats.faults[fault] += 1
            if fault not in ("truncated",):
                return await self._fault(request, fault, stats)

        started = time.perf_counter()
        self._served_page = False  # set by _runs; answers are built without awaiting
        try:
            status, body = 200, _dumps({"data": self._answer(query, variables)}).encode()
        except GraphQLFailure as failure:
            status, body = failure.status, json.dumps({"errors": [{"message": str(failure)}]}).encode()
        elapsed = time.perf_counter() - started
        stats.answer_seconds[operation] += elapsed
        if self._served_page:
            stats.run_pages += 1
            stats.run_pages_seconds += elapsed
        stats.answer_bytes[operation] += len(body)
        if fault == "truncated":
            body = body[: len(body) // 2]
        return web.Response(body=body, status=status, content_type="application/json")

    async def _fault(self, request: web.Request, kind: str, stats: ServerStats) -> web.StreamResponse:
        if kind in ("500", "502", "503", "504"):
            reason = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable",
                      "504": "Gateway Timeout"}[kind]
            return web.Response(status=int(kind), text=f"{kind} {reason} (simulated fault)")
        if kind == "429":
            stats.responses_429 += 1
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        if kind == "401":
            return web.Response(status=401, text="Unauthorized: invalid Dagster-Cloud-Api-Token")
        if kind == "not_json":
            return web.Response(
                status=200, content_type="text/html",
                text="<html><head><title>Sign in</title></head><body>Please sign in</body></html>",
            )
        if kind == "timeout":
            await asyncio.sleep(self.knobs.hang_seconds)  # cancelled when the client hangs up
            return web.Response(status=504, text="simulated hang ended")
        if kind == "reset":
            transport = request.transport
            if transport is not None:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            raise asyncio.CancelledError()  # nothing more to send on this connection
        raise AssertionError(kind)

    # ---- answers ------------------------------------------------------------------------------

    def _answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        shape = self._shapes.get(query)
        if shape is None:
            shape = _shape(query)
            if len(self._shapes) < 1000:
                self._shapes[query] = shape
        root = shape.root
        if root == "version":
            return {"version": DAGSTER_VERSION}
        if root == "runsOrError":
            return {"runsOrError": self._runs(query, shape, variables)}
        if root == "repositoriesOrError":
            nodes = [{"name": name, "location": {"name": location}}
                     for location, name in self.model.repository_list()]
            return {"repositoriesOrError": {"__typename": "RepositoryConnection", "nodes": nodes}}
        if root in ("schedulesOrError", "sensorsOrError"):
            return {root: self._instigators(root, query, variables)}
        if root == "repositoryOrError":
            return {root: self._repository(query, shape, variables)}
        raise GraphQLFailure(f'Cannot query field "{root}" on type "Query".')

    def _runs(self, query: str, shape: _Shape, variables: dict[str, Any]) -> dict[str, Any]:
        arguments = _arguments(query, "runsOrError", variables)
        runs_filter = arguments.get("filter") or {}
        if not isinstance(runs_filter, dict):
            raise GraphQLFailure("Variable '$filter' got invalid value; expected type 'RunsFilter'.")
        answer: dict[str, Any] = {"__typename": "Runs"}
        if shape.wants_results:
            limit = arguments.get("limit")
            model = self.model
            with model.lock:
                indices = model.select_indices(runs_filter, arguments.get("cursor"), limit)
                self.stats.runs_served += len(indices)
                self._served_page = True
                if shape.run_fields == RUN_FIELDS:  # the connector's page: pre-serialised runs
                    answer["results"] = RawJSON("[" + ", ".join(map(model.run_json, indices)) + "]")
                else:
                    fields = shape.run_fields
                    answer["results"] = [model.run(index).graphql(fields) for index in indices]
        if shape.wants_count:
            answer["count"] = self.model.count_runs(runs_filter)
        return answer

    def _repository_or_error(self, selector: Any) -> int | dict[str, Any]:
        index = self.model.repository_index(selector if isinstance(selector, dict) else None)
        if index is None:
            selector = selector if isinstance(selector, dict) else {}
            return {
                "__typename": "RepositoryNotFoundError",
                "message": f"Could not find Repository {selector.get('repositoryLocationName')}."
                           f"{selector.get('repositoryName')}",
            }
        return index

    def _instigators(self, root: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if root == "sensorsOrError" and self.knobs.old_schema and re.search(r"\bsensorType\b", query):
            raise GraphQLFailure('Cannot query field "sensorType" on type "Sensor".')
        selector = _arguments(query, root, variables).get("repositorySelector")
        found = self._repository_or_error(selector)
        if isinstance(found, dict):
            return found
        if root == "schedulesOrError":
            return {"__typename": "Schedules", "results": self.model.schedules(found)}
        sensors = self.model.sensors(found)
        if self.knobs.old_schema:
            sensors = [{k: v for k, v in s.items() if k != "sensorType"} for s in sensors]
        return {"__typename": "Sensors", "results": sensors}

    def _repository(self, query: str, shape: _Shape, variables: dict[str, Any]) -> dict[str, Any]:
        if shape.asset_connection and self.knobs.old_schema:
            raise GraphQLFailure('Cannot query field "assetNodesConnection" on type "Repository".')
        selector = _arguments(query, "repositoryOrError", variables).get("repositorySelector")
        found = self._repository_or_error(selector)
        if isinstance(found, dict):
            return found
        nodes = self.model.asset_nodes(found)
        answer: dict[str, Any] = {"__typename": "Repository"}
        if shape.asset_connection:
            arguments = _arguments(query, "assetNodesConnection", variables)
            limit, cursor = arguments.get("limit"), arguments.get("cursor")
            if not isinstance(limit, int) or limit <= 0 or limit > 10_000:
                return {
                    "__typename": "PythonError",
                    "message": "dagster._core.errors.DagsterInvariantViolationError: "
                               f"assetNodesConnection limit must be between 1 and 10000 (got {limit}).",
                }
            if cursor is not None:
                nodes = [item for item in nodes if item[0] > cursor]
            page = nodes[:limit]
            answer["assetNodesConnection"] = {
                "nodes": [node for _, node in page],
                "cursor": page[-1][0] if page else cursor,
                "hasMore": len(nodes) > limit,
            }
        if re.search(r"\bassetNodes\s*\{", query):
            answer["assetNodes"] = [node for _, node in nodes]
        return answer


class RawJSON(str):
    """Text that is already JSON: `_dumps` puts it in the answer as it is."""


_RAW_MARK = "\u0000raw-json\u0000"


def _dumps(answer: dict[str, Any]) -> str:
    """`json.dumps` (once per answer) that splices in at most one `RawJSON` value."""
    raw: list[RawJSON] = []

    def mark(value: Any) -> Any:
        if isinstance(value, RawJSON):
            raw.append(value)
            return _RAW_MARK
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        return value

    text = json.dumps(mark(answer))
    if not raw:
        return text
    assert len(raw) == 1, "one pre-serialised value per answer"
    return text.replace(json.dumps(_RAW_MARK), raw[0], 1)


def _errors(message: str, status: int) -> web.Response:
    return web.Response(
        body=json.dumps({"errors": [{"message": message}]}).encode(),
        status=status,
        content_type="application/json",
    )


def main() -> None:  # pragma: no cover - manual use: python -m benchmarks.simulated_dagster
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--rate-limit-rps", type=float, default=None)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--seconds", type=float, default=3600, help="serve this long, then stop")
    args = parser.parse_args()
    knobs = ServerKnobs(runs=args.runs, latency_ms=args.latency_ms, rate_limit_rps=args.rate_limit_rps,
                        failure_rate=args.failure_rate, port=args.port)
    with SimulatedDagster(knobs) as server:
        print(f"simulated Dagster at {server.url}/graphql ({args.runs} runs)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)
        print(json.dumps(server.stats.snapshot(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
