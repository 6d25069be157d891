"""A simulated Dagster GraphQL server (aiohttp, 127.0.0.1 only) for benchmarks and fault tests.

    from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster

    with SimulatedDagster(ServerKnobs(runs=100_000, latency_ms=50)) as server:
        ...  # point the connector at server.url; read server.stats afterwards

    async with SimulatedDagster(ServerKnobs(runs=10)) as server:   # on the running loop
        ...

The sync form runs the server on its own event loop in a background thread; the async form
runs it on the caller's loop. Data comes from `dagster_model.DagsterModel` (runs derived from
their index: a million runs hold no memory).

It is not a GraphQL engine, but it reads queries as one: the operation's root fields (with
aliases and arguments: variables or literals) and their selection sets (nested fields, inline
fragments `... on Type`), and answers with only what was selected, as dagster-webserver 1.13
does. Root fields: `version`, `__type(name:)` (introspection of enums), `runsOrError`
(`results`, `count`), `workspaceOrError`, `repositoriesOrError`, `repositoryOrError` (a
repository's `jobs`), `schedulesOrError`, `sensorsOrError` (with each instigator's
`ticks(limit:)`, the repository batch), `instigationStateOrError` (`ticks(limit,
beforeTimestamp, afterTimestamp)`), `assetsOrError`, `assetsLatestInfo`,
`partitionBackfillsOrError` and `partitionBackfillOrError` (`backfills` derived backfills), and
`Run.stepStats` (derived from the run, through any `runsOrError` filter such as `runIds`). A field the schema lacks is
graphql-core's validation error (HTTP 400, `data: null`). With `old_schema` the server is
an older Dagster: no SUSPENDED run status and a `Job.isAssetJob` that fails to resolve (as 1.11),
and no `Sensor.sensorType` (older still); with
`introspection=False`, `__type` is refused as by graphql-core's NoSchemaIntrospectionCustomRule.

Server behaviours worth knowing:
  * `max_page_size` clamps `limit` of `runsOrError` and `assetsOrError` silently (absent or 0
    limits too), as some servers and proxies do;
  * `statement_timeout_rows`: a `runsOrError` page that would return more rows than this fails
    as Postgres's statement timeout makes Dagster fail (the "statement_timeout" answer below);
  * the answers are compact JSON (`separators=(",", ":")`), as Starlette's JSONResponse writes.

Faults (`failure_rate` at random from `fault_kinds`, scripted per operation with
`script_faults`, or on every matching request with `fail_always`):
  "500"/"502"/"503"/"504"  an HTML error page from a proxy (nginx's) with that status;
  "reset"                  the connection is closed with an RST, no response;
  "timeout"                no answer for `hang_seconds` (cancelled when the client hangs up);
  "truncated"              200, the JSON answer cut in half;
  "not_json"               200, an HTML sign-in page (an authenticating proxy);
  "429"                    with `Retry-After: 1`;  "401";
  "statement_timeout"      500 JSON, as dagster-webserver 1.13 answers when a resolver raised
                           "(psycopg2.errors.QueryCanceled) canceling statement due to statement
                           timeout": `{"data": null, "errors": [{message, locations, path,
                           extensions}]}`;
  "resolver_error"         the same with a deterministic error (a resolver's bug or bad data);
  "python_error"           500 JSON whose first `...OrError` root field is a `PythonError`
                           (an `...OrError` resolver raised and `capture_error` caught it).
`rate_limit_rps` is a token bucket (one second of burst): a request beyond it gets 429 with an
integer `Retry-After` >= 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import math
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web

try:  # as a package (benchmarks.simulated_dagster) or from the benchmarks directory
    from benchmarks.asset_history import AssetHistory, CheckHistory, definition_details
    from benchmarks.asset_history import event_cursor as history_cursor
    from benchmarks.dagster_model import (
        ALL_STATUSES, ALL_STATUSES_1_11, ORIGIN_FIELDS, REPOSITORY_NAME, RUN_FIELDS, TICK_LIMIT, DagsterModel,
        RunsFilterError, run_step_stats, selector_id,
    )  # fmt: skip
except ImportError:  # pragma: no cover
    from asset_history import AssetHistory, CheckHistory, definition_details  # type: ignore[no-redef]
    from asset_history import event_cursor as history_cursor  # type: ignore[no-redef]
    from dagster_model import (  # type: ignore[no-redef]
        ALL_STATUSES, ALL_STATUSES_1_11, ORIGIN_FIELDS, REPOSITORY_NAME, RUN_FIELDS, TICK_LIMIT, DagsterModel,
        RunsFilterError, run_step_stats, selector_id,
    )  # fmt: skip

FAULT_KINDS = ("500", "502", "503", "504", "reset", "timeout", "truncated", "not_json", "429", "401",
               "statement_timeout", "resolver_error", "python_error")  # fmt: skip
DAGSTER_VERSION = "1.13.28"
OLD_DAGSTER_VERSION = "1.11.16"

STATEMENT_TIMEOUT = "(psycopg2.errors.QueryCanceled) canceling statement due to statement timeout"
RESOLVER_ERROR = (
    "Could not deserialize the instigator state: dagster_shared.serdes.errors."
    "DeserializationError: Attempted to deserialize class \"InstigatorState\" which is not in "
    "the whitelist (simulated resolver error)"
)
_RUN_SQL = (
    "\n[SQL: SELECT runs.id, runs.run_body, runs.status, runs.create_timestamp, "
    "runs.update_timestamp, runs.start_time, runs.end_time \nFROM runs ORDER BY runs.id DESC "
    "\n LIMIT %(param_1)s]\n[parameters: {'param_1': %d}]\n"
    "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
)
_STACK = [
    '  File "/usr/local/lib/python3.11/site-packages/graphql/execution/execute.py", line 689, in '
    "execute_field\n    result = resolve_fn(source, info, **args)\n",
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/default.py", line 1192, in '
    "do_execute\n    cursor.execute(statement, parameters)\n",
]
_HTML_ERROR = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_SIGN_IN_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Sign in</title></head>\n'
    "<body>\n<h1>Sign in to Dagster</h1>\n<form method=\"post\" action=\"/oauth2/sign_in\">\n"
    '<button type="submit">Sign in with SSO</button>\n</form>\n</body>\n</html>\n'
)


@dataclass
class ServerKnobs:
    runs: int = 1000  # N runs, generated deterministically
    latency_ms: float = 0  # added to every request (asyncio.sleep)
    rate_limit_rps: float | None = None  # beyond it: 429 with Retry-After (integer seconds >= 1)
    failure_rate: float = 0.0  # fraction of requests answered with a random fault
    fault_kinds: tuple[str, ...] = ("500", "502", "503", "504", "reset", "timeout", "truncated",
                                    "not_json", "statement_timeout")  # fmt: skip
    seed: int = 0
    assets_per_repository: int = 50
    stub_assets_per_repository: int = 2  # dependencies nobody defines (isAutoCreatedStub)
    retired_assets_per_repository: int = 1  # keys with events but no definition
    repositories: int = 2  # code locations, one repository each
    schedules_per_repository: int = 3
    sensors_per_repository: int = 3
    old_schema: bool = False  # as 1.11: no SUSPENDED, Job.isAssetJob fails; no Sensor.sensorType (older)
    introspection: bool = True  # False: `__type` is refused (introspection disabled)
    max_page_size: int | None = None  # clamps `limit` of runs and assets pages silently
    statement_timeout_rows: int | None = None  # run pages above this many rows time out
    hang_seconds: float = 120.0  # how long a "timeout" fault stays silent
    in_progress_runs: int = 6  # the newest runs are STARTED/QUEUED, launched by a sensor
    now: float | None = None  # the end of the generated history (default: at start)
    shared_sensor_names: bool = False  # the same sensor names in every repository
    ticks: int = 0  # schedule and sensor ticks in all, derived (a million hold no memory)
    tick_ties: int = 1  # ticks sharing each timestamp (pages cut among them)
    asset_events: int = 0  # asset events in all, spread over the keys with events (>= 1 each)
    checks_per_repository: int = 0  # asset checks on each repository's first assets
    executions_per_check: int = 3
    backfills: int = 200  # backfills, derived; the newest 2 are REQUESTED
    run_tags: int = 0  # extra tags on every run, each of about `run_tag_chars` characters
    run_tag_chars: int = 200
    port: int = 0  # 0: any free port


@dataclass
class ServerStats:
    requests: int = 0
    by_operation: Counter = field(default_factory=Counter)
    responses_429: int = 0  # every 429 sent (rate limit and "429" faults)
    rate_limited: int = 0  # 429s sent by the rate limit
    faults: Counter = field(default_factory=Counter)  # injected faults by kind
    statement_timeouts: int = 0  # run pages refused by `statement_timeout_rows`
    status_codes: Counter = field(default_factory=Counter)  # answers by HTTP status
    in_flight: int = 0
    max_in_flight: int = 0
    answer_seconds: Counter = field(default_factory=Counter)  # CPU time building answers, per op
    answer_bytes: Counter = field(default_factory=Counter)
    run_pages: int = 0  # runsOrError answers with `results`
    runs_served: int = 0  # runs in those answers
    run_pages_seconds: float = 0.0  # CPU time building and serialising those answers
    limits_asked: Counter = field(default_factory=Counter)  # runsOrError `limit` values asked

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy (Counters as dicts), safe to keep while the server goes on."""
        return {
            name: dict(value) if isinstance(value, Counter) else value
            for name, value in ((f.name, getattr(self, f.name)) for f in fields(self))
        }


def fault_kind(kind: str) -> str:
    """A fault kind's canonical name ("statement timeout" -> "statement_timeout")."""
    canonical = re.sub(r"[\s-]+", "_", kind.strip().lower())
    canonical = {"html_200": "not_json", "html": "not_json"}.get(canonical, canonical)
    if canonical not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r} (known: {FAULT_KINDS})")
    return canonical


class GraphQLFailure(Exception):
    """A request graphql-core refuses before executing it (HTTP 400, `data: null`)."""

    def __init__(self, message: str, status: int = 400, locations: list[dict[str, int]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.locations = locations


class ResolverFailure(Exception):
    """A resolver raised: HTTP 500, `data: null`, the error located at `path`."""

    def __init__(self, message: str, path: list[str | int], exception: str = "sqlalchemy.exc.OperationalError") -> None:
        super().__init__(message)
        self.path = path
        self.exception = exception


# ---- reading the query text -------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """A field (`alias: name(args) { ... }`) or an inline fragment (`... on Type { ... }`)."""

    name: str  # the field's name, or "..." for an inline fragment
    alias: str | None = None
    arguments: str = ""  # the raw text between the parentheses
    children: tuple[Selection, ...] = ()
    on_type: str | None = None  # an inline fragment's type condition
    position: int = 0  # offset of the field in the document

    @property
    def key(self) -> str:
        return self.alias or self.name


_TOKEN = re.compile(
    r'\s+|,|#[^\n]*|"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|\.\.\.|[{}():$@!=\[\]]'
    r"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[_A-Za-z][_0-9A-Za-z]*"
)


def _tokens(text: str) -> list[tuple[str, int]]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise GraphQLFailure(f"Syntax Error: Unexpected character: '{text[position]}'.",
                                 locations=[_line_column(text, position)])  # fmt: skip
        token = match.group(0)
        if not (token.isspace() or token == "," or token.startswith("#")):
            tokens.append((token, match.start()))
        position = match.end()
    return tokens


def parse_operation(query: str) -> tuple[Selection, ...]:
    """The root selection set of the document's (first) operation; named fragments
    (`fragment F on T { ... }`, spread as `...F`) are read as inline fragments on `T`."""
    tokens = _tokens(query)
    fragments: dict[str, tuple[str, int]] = {}  # name -> (type condition, index of its "{")
    for index, (token, _) in enumerate(tokens[:-4]):
        if token == "fragment" and tokens[index + 2][0] == "on" and tokens[index + 4][0] == "{":
            fragments[tokens[index + 1][0]] = (tokens[index + 3][0], index + 4)
    _FRAGMENTS.set({name: (on, query, tokens, at) for name, (on, at) in fragments.items()})
    at = 0
    # Skip `query Name($a: T = default, ...)` up to the operation's selection set.
    depth = 0
    while at < len(tokens):
        token = tokens[at][0]
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token == "{" and depth == 0:
            break
        at += 1
    if at >= len(tokens):
        raise GraphQLFailure("Syntax Error: Unexpected <EOF>.")
    selections, at = _selection_set(query, tokens, at)
    return selections


def _selection_set(query: str, tokens: list[tuple[str, int]], at: int) -> tuple[tuple[Selection, ...], int]:
    """Parses `{ ... }` starting at tokens[at] == "{"; returns it and the index after `}`."""
    at += 1
    selections: list[Selection] = []
    while True:
        if at >= len(tokens):
            raise GraphQLFailure("Syntax Error: Expected Name, found <EOF>.")
        token, position = tokens[at]
        if token == "}":
            return tuple(selections), at + 1
        if token == "...":
            if at + 2 < len(tokens) and tokens[at + 1][0] == "on":
                type_name = tokens[at + 2][0]
                if tokens[at + 3][0] != "{":
                    raise GraphQLFailure("Syntax Error: Expected '{'.")
                children, at = _selection_set(query, tokens, at + 3)
                selections.append(Selection("...", children=children, on_type=type_name, position=position))
                continue
            fragment = _FRAGMENTS.get().get(tokens[at + 1][0]) if at + 1 < len(tokens) else None
            if fragment is None:
                raise GraphQLFailure(f'Unknown fragment "{tokens[at + 1][0] if at + 1 < len(tokens) else ""}".')
            on_type, text, fragment_tokens, start = fragment
            children, _ = _selection_set(text, fragment_tokens, start)
            selections.append(Selection("...", children=children, on_type=on_type, position=position))
            at += 2
            continue
        name, alias = token, None
        at += 1
        if at < len(tokens) and tokens[at][0] == ":":
            alias, name = token, tokens[at + 1][0]  # located at the alias, as graphql-core does
            at += 2
        arguments = ""
        if at < len(tokens) and tokens[at][0] == "(":
            start = tokens[at][1] + 1
            depth = 0
            while at < len(tokens):
                if tokens[at][0] == "(":
                    depth += 1
                elif tokens[at][0] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                at += 1
            arguments = query[start:tokens[at][1]]
            at += 1
        children: tuple[Selection, ...] = ()
        if at < len(tokens) and tokens[at][0] == "{":
            children, at = _selection_set(query, tokens, at)
        selections.append(Selection(name, alias, arguments, children, position=position))


_FRAGMENTS: contextvars.ContextVar[dict[str, tuple[str, str, list[tuple[str, int]], int]]] = contextvars.ContextVar(
    "fragments", default={}
)
_ARGUMENT = re.compile(r'(\w+)\s*:\s*(\$\w+|-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|null|true|false|[A-Z_]+\b)')


def arguments_of(selection: Selection, variables: dict[str, Any]) -> dict[str, Any]:
    """A field's arguments: variables or scalar literals (enum literals as strings)."""
    out: dict[str, Any] = {}
    for name, raw in _ARGUMENT.findall(selection.arguments):
        if raw.startswith("$"):
            out[name] = variables.get(raw[1:])
        elif raw[0].isupper() or raw[0] == "_":
            out[name] = raw
        else:
            out[name] = json.loads(raw)
    return out


def _line_column(query: str, position: int) -> dict[str, int]:
    line = query.count("\n", 0, position) + 1
    return {"line": line, "column": position - (query.rfind("\n", 0, position) + 1) + 1}


def _locate(query: str, root: Selection, path: list[str | int]) -> list[dict[str, int]]:
    """Where graphql-core locates the field at the end of `path` (1-based line and column)."""
    selection = root
    for part in path[1:]:
        if isinstance(part, int):
            continue
        found = _find_field(selection.children, part)
        if found is None:
            break
        selection = found
    return [_line_column(query, selection.position)]


def _find_field(selections: tuple[Selection, ...], name: str) -> Selection | None:
    for selection in selections:
        if selection.on_type is not None:
            inner = _find_field(selection.children, name)
            if inner is not None:
                return inner
        elif selection.key == name:
            return selection
    return None


# Each object type the server answers with, its fields, and the interfaces it implements.
_INTERFACES = {
    "PythonError": ("Error",), "ErrorChainLink": ("Error",), "RepositoryNotFoundError": ("Error",),
    "InvalidPipelineRunsFilterError": ("Error", "PipelineRunsError"),
    "InstigationStateNotFoundError": ("Error",),
    "PartitionBackfills": (), "PartitionBackfill": ("RunsFeedEntry",), "BackfillNotFoundError": ("Error",),
    "Runs": ("PipelineRuns",), "Schedules": (), "Sensors": (), "Workspace": (),
    "RepositoryConnection": (), "AssetConnection": (), "Repository": (), "Job": ("IPipelineSnapshot",),
    "MaterializationEvent": ("AssetResultEventType",), "ObservationEvent": ("AssetResultEventType",),
    "FailedToMaterializeEvent": ("AssetResultEventType",), "AssetNotFoundError": ("Error",),
    "IntMetadataEntry": ("MetadataEntry",), "TextMetadataEntry": ("MetadataEntry",),
    "PathMetadataEntry": ("MetadataEntry",), "JsonMetadataEntry": ("MetadataEntry",),
}  # fmt: skip
_RUN_OBJECT_FIELDS = {"runId", "id", "pipelineName", "jobName", "status", "mode", "creationTime", "stepStats",
                      "startTime", "endTime", "updateTime", "tags", "__typename", "repositoryOrigin",
                      "rootRunId", "parentRunId"}  # fmt: skip


def _matches_type(value: dict[str, Any], type_name: str) -> bool:
    typename = value.get("__typename")
    return typename == type_name or type_name in _INTERFACES.get(typename, ())


def project(value: Any, selections: tuple[Selection, ...], variables: dict[str, Any]) -> Any:
    """`value` with only the selected fields (aliases applied), as GraphQL answers it.

    A dict's values may be callables taking the field's arguments (fields with arguments).

    Raises:
        GraphQLFailure: a selected field that the value's type does not have.
    """
    if value is None or not selections:
        return value
    if isinstance(value, list):
        return [project(item, selections, variables) for item in value]
    out: dict[str, Any] = {}
    for selection in selections:
        if selection.on_type is not None:
            if _matches_type(value, selection.on_type):
                for key, item in project(value, selection.children, variables).items():
                    if isinstance(item, dict) and isinstance(out.get(key), dict):
                        out[key] = {**out[key], **item}
                    else:
                        out[key] = item
            continue
        if selection.name == "__typename":
            out[selection.key] = value.get("__typename")
            continue
        if selection.name not in value:
            raise GraphQLFailure(
                f'Cannot query field "{selection.name}" on type "{value.get("__typename", "?")}".'
            )
        item = value[selection.name]
        if callable(item):
            item = item(arguments_of(selection, variables))
        out[selection.key] = project(item, selection.children, variables)
    return out


# ---- the server ------------------------------------------------------------------------------


@dataclass
class _PersistentFault:
    operation: str
    kind: str
    variables: dict[str, Any] | None  # the request's variables must contain these (None: any)


def _per_repository(variables: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The variables of each root field of a request that asks one per repository, under
    aliases `r0`, `r1`, ... (`$r0: RepositorySelector!`), as `repositorySelector`."""
    shared = {key: value for key, value in variables.items() if not (key[:1] == "r" and key[1:].isdigit())}
    return [
        (key, {"repositorySelector": value, **shared})
        for key, value in variables.items()
        if key[:1] == "r" and key[1:].isdigit()
    ]


def _contains(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value) for key, value in wanted.items()
        )
    return actual == wanted


class SimulatedDagster:
    """The simulated server. Sync context manager (own thread and loop) or `async with`."""

    def __init__(self, knobs: ServerKnobs | None = None, **overrides: Any) -> None:
        self.knobs = knobs or ServerKnobs()
        for key, value in overrides.items():
            if not hasattr(self.knobs, key):
                raise TypeError(f"unknown server knob {key!r}")
            setattr(self.knobs, key, value)
        k = self.knobs
        k.fault_kinds = tuple(fault_kind(kind) for kind in k.fault_kinds)
        self.model = DagsterModel(
            runs=k.runs, seed=k.seed, repositories=k.repositories,
            assets_per_repository=k.assets_per_repository,
            schedules_per_repository=k.schedules_per_repository,
            sensors_per_repository=k.sensors_per_repository,
            in_progress_runs=k.in_progress_runs, now=k.now,
            shared_sensor_names=k.shared_sensor_names,
            stub_assets_per_repository=k.stub_assets_per_repository,
            retired_assets_per_repository=k.retired_assets_per_repository,
            ticks=k.ticks, tick_ties=k.tick_ties, backfills=k.backfills,
            run_tags=k.run_tags, run_tag_chars=k.run_tag_chars,
        )  # fmt: skip
        self.statuses = ALL_STATUSES_1_11 if k.old_schema else ALL_STATUSES
        self._asset_history: AssetHistory | None = None  # built on first use
        self._check_history: CheckHistory | None = None
        self.stats = ServerStats()
        self.url = ""
        self._random = random.Random(k.seed)
        self._scripted: dict[str, deque[str]] = {}
        self._persistent: list[_PersistentFault] = []
        self._parsed: dict[str, tuple[Selection, ...]] = {}
        self._served_page = False  # set while building a runs page (for stats)
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
        canonical = [fault_kind(kind) for kind in kinds]
        with self.model.lock:
            self._scripted.setdefault(operation, deque()).extend(canonical)

    def fail_always(self, operation: str, kind: str, variables: dict[str, Any] | None = None) -> None:
        """Every request of `operation` whose variables contain `variables` (a nested subset;
        None: every request) gets the fault `kind`, until `stop_failing`."""
        with self.model.lock:
            self._persistent.append(_PersistentFault(operation, fault_kind(kind), variables))

    def stop_failing(self, operation: str | None = None) -> None:
        """Ends `fail_always` faults (of `operation`, or all)."""
        with self.model.lock:
            self._persistent = [f for f in self._persistent if operation not in (None, f.operation)]

    def add_runs(self, n: int, status: str | None = None) -> list[str]:
        """Adds `n` new runs (created now); returns their ids."""
        return self.model.add_runs(n, status)

    def set_run_status(self, run_id: str, status: str) -> None:
        """Changes a run's status; its update time becomes now."""
        self.model.set_run_status(run_id, status)

    def delete_runs(self, run_ids: list[str]) -> None:
        """Deletes runs (`DagsterInstance.delete_run`)."""
        self.model.delete_runs(run_ids)

    def add_ticks(self, name: str, n: int, status: str | None = None, location: str | None = None) -> list[str]:
        """Adds `n` new ticks to the schedule or sensor `name` (of `location`, by default the
        first that has one); returns their tick ids."""
        ticks = self.model.instigator_ticks
        for r in range(self.model.repositories):
            if location in (None, self.model.location_name(r)):
                g = ticks.find(r, name)
                if g is not None:
                    return ticks.add(g, n, status)
        raise KeyError(name)

    def add_backfills(self, n: int, status: str = "REQUESTED") -> list[str]:
        """Adds `n` backfills created now; returns their ids."""
        return self.model.backfills.add(n, status)

    def set_backfill_status(self, backfill_id: str, status: str) -> None:
        """Changes a backfill's status (a final one ends now)."""
        self.model.backfills.set_status(backfill_id, status)

    def delete_backfills(self, backfill_ids: list[str]) -> None:
        self.model.backfills.delete(backfill_ids)

    def set_tick_status(self, tick_id: str, status: str) -> None:
        """Changes a tick's status (a STARTED tick ends, a schedule tick is retried in place)."""
        self.model.instigator_ticks.set_status(tick_id, status)

    def set_location_state(self, location: str, state: str) -> None:
        """A code location 'loaded', 'failed' (to load: a PythonError) or 'loading'."""
        self.model.set_location_state(location, state)

    def expected_runs(self) -> Iterator[dict[str, Any]]:
        """The `dagster_runs` rows the connector should write, oldest first (= run_id order)."""
        return self.model.expected_runs()

    def reset_stats(self) -> None:
        """Zeroes the counters (in place: requests in flight keep counting correctly)."""
        stats = self.stats
        stats.requests = stats.responses_429 = stats.rate_limited = stats.statement_timeouts = 0
        stats.run_pages = stats.runs_served = 0
        stats.run_pages_seconds = 0.0
        for counter in (stats.by_operation, stats.faults, stats.answer_seconds, stats.answer_bytes,
                        stats.status_codes, stats.limits_asked):  # fmt: skip
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
        return web.json_response({"dagster_webserver_version": self._version})

    @property
    def _version(self) -> str:
        return OLD_DAGSTER_VERSION if self.knobs.old_schema else DAGSTER_VERSION

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

    def _next_fault(self, operation: str, variables: dict[str, Any]) -> tuple[str | None, str | None]:
        """The fault to answer with, and the root field (alias) it strikes (None: the first)."""
        with self.model.lock:
            scripted = self._scripted.get(operation)
            if scripted:
                return scripted.popleft(), None
            for fault in self._persistent:
                if fault.operation != operation:
                    continue
                if fault.variables is None or _contains(variables, fault.variables):
                    return fault.kind, None
                for alias, one in _per_repository(variables):
                    if _contains(one, fault.variables):
                        return fault.kind, alias
        k = self.knobs
        if k.failure_rate > 0 and k.fault_kinds and self._random.random() < k.failure_rate:
            return self._random.choice(k.fault_kinds), None
        return None, None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        stats = self.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            response = await self._respond(request, stats)
            stats.status_codes[response.status] += 1
            return response
        finally:
            stats.in_flight -= 1

    async def _respond(self, request: web.Request, stats: ServerStats) -> web.StreamResponse:
        raw = await request.read()
        try:
            payload = json.loads(raw)
            if not isinstance(payload, dict):
                raise TypeError
        except (ValueError, TypeError):
            stats.requests += 1
            stats.by_operation["<invalid>"] += 1
            return web.Response(status=400, text=f"GraphQL request is invalid JSON:\n{raw.decode(errors='replace')}")
        query = payload.get("query")
        variables = payload.get("variables") or {}
        operation = payload.get("operationName") or "<anonymous>"
        stats.requests += 1
        stats.by_operation[operation] += 1
        if not isinstance(query, str):
            return web.Response(status=400, text="No GraphQL query found in the request")
        if not isinstance(variables, dict):
            return _json_response({"data": None, "errors": [{"message": "Variables must be an object."}]}, 400)

        wait = self._rate_limited()
        fault, struck = (None, None) if wait is not None else self._next_fault(operation, variables)
        if self.knobs.latency_ms > 0:
            await asyncio.sleep(self.knobs.latency_ms / 1000)
        if wait is not None:
            stats.responses_429 += 1
            stats.rate_limited += 1
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": str(wait)})
        if fault is not None:
            stats.faults[fault] += 1
            if fault not in ("truncated", "python_error"):
                return await self._fault(request, fault, query, stats, struck)

        started = time.perf_counter()
        self._served_page = False  # set by _runs; answers are built without awaiting
        status, answer = self._execute(query, variables, captured=struck or "" if fault == "python_error" else None)
        body = _dumps(answer).encode()
        elapsed = time.perf_counter() - started
        stats.answer_seconds[operation] += elapsed
        if self._served_page:
            stats.run_pages += 1
            stats.run_pages_seconds += elapsed
        stats.answer_bytes[operation] += len(body)
        if fault == "truncated":
            body = body[: len(body) // 2]
        return web.Response(body=body, status=status, content_type="application/json")

    def _execute(self, query: str, variables: dict[str, Any], captured: str | None = None) -> tuple[int, dict]:
        """The HTTP status and JSON answer of a query, as dagster-webserver 1.13 gives them."""
        try:
            roots = self._operation(query)
            if captured is not None:  # a resolver's exception caught by `capture_error`
                return 500, self._python_error_answer(roots, variables, captured or None)
            return 200, {"data": self._answer_roots(roots, variables)}
        except GraphQLFailure as failure:
            error: dict[str, Any] = {"message": str(failure)}
            if failure.locations:
                error["locations"] = failure.locations
            return failure.status, {"data": None, "errors": [error]}
        except ResolverFailure as failure:
            roots = self._operation(query)
            root = next(r for r in roots if r.key == failure.path[0])
            return 500, _resolver_error_answer(str(failure), failure.path, _locate(query, root, failure.path),
                                               failure.exception)  # fmt: skip

    async def _fault(
        self, request: web.Request, kind: str, query: str, stats: ServerStats, struck: str | None = None
    ) -> web.StreamResponse:
        if kind in ("500", "502", "503", "504"):
            reason = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Temporarily Unavailable",
                      "504": "Gateway Time-out"}[kind]  # fmt: skip
            return web.Response(status=int(kind), text=_HTML_ERROR.format(code=kind, reason=reason),
                                content_type="text/html")  # fmt: skip
        if kind == "429":
            stats.responses_429 += 1
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        if kind == "401":
            return web.Response(status=401, text="Unauthorized: invalid Dagster-Cloud-Api-Token")
        if kind == "not_json":
            return web.Response(status=200, text=_SIGN_IN_PAGE, content_type="text/html")
        if kind in ("statement_timeout", "resolver_error"):
            try:
                roots = self._operation(query)
            except GraphQLFailure:
                roots = ()
            return _json_response(self._fault_answer(kind, query, roots, struck), 500)
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

    @staticmethod
    def _fault_answer(kind: str, query: str, roots: tuple[Selection, ...], struck: str | None = None) -> dict[str, Any]:
        """A resolver failure of the operation's root field `struck` (None: the first), where
        Dagster would raise. One root's exception fails the whole answer (`data` is null)."""
        if not roots:
            return {"data": None, "errors": [{"message": STATEMENT_TIMEOUT if kind == "statement_timeout" else RESOLVER_ERROR}]}
        root = next((r for r in roots if r.key == struck), roots[0])
        path: list[str | int] = {
            "runsOrError": [root.key, "results"],
            "schedulesOrError": [root.key, "results", 0, "scheduleState"],
            "sensorsOrError": [root.key, "results", 0, "sensorState"],
            "assetsOrError": [root.key, "nodes", 0, "definition"],
            "repositoryOrError": [root.key, "jobs", 0, "owners"],
            "assetsLatestInfo": [root.key, 0, "latestMaterialization"],
            "instigationStateOrError": [root.key, "ticks"],
        }.get(root.name, [root.key])
        if kind == "statement_timeout":
            message = STATEMENT_TIMEOUT + _RUN_SQL.replace("%d", "5000")
            return _resolver_error_answer(message, path, _locate(query, root, path),
                                          "sqlalchemy.exc.OperationalError")  # fmt: skip
        return _resolver_error_answer(RESOLVER_ERROR, path, _locate(query, root, path),
                                      "dagster._core.errors.DagsterInvariantViolationError")  # fmt: skip

    def _python_error_answer(
        self, roots: tuple[Selection, ...], variables: dict[str, Any], struck: str | None = None
    ) -> dict[str, Any]:
        """The root `struck` (None: the first `...OrError` root) answers a PythonError
        (capture_error); the others as usual."""
        data: dict[str, Any] = {}
        replaced = False
        for root in roots:
            if not replaced and root.name.endswith("OrError") and struck in (None, root.key):
                replaced = True
                error = python_error(f"dagster._core.errors.DagsterInvariantViolationError: {RESOLVER_ERROR}\n",
                                     "DagsterInvariantViolationError")
                data[root.key] = project(error, root.children, variables)
            else:
                data[root.key] = self._resolve_root(root, variables)
        return {"data": data}

    # ---- answers ------------------------------------------------------------------------------

    def _operation(self, query: str) -> tuple[Selection, ...]:
        roots = self._parsed.get(query)
        if roots is None:
            roots = parse_operation(query)
            self._validate(roots)
            if len(self._parsed) < 1000:
                self._parsed[query] = roots
        return roots

    def _validate(self, roots: tuple[Selection, ...]) -> None:
        """What graphql-core's validation would refuse before executing (HTTP 400)."""
        for root in roots:
            if root.name == "__type" and not self.knobs.introspection:
                raise GraphQLFailure(
                    "GraphQL introspection has been disabled, but the requested query contained "
                    "the field '__type'."
                )
            if root.name == "runsOrError":
                results = _find_field(root.children, "results")
                if results is not None:
                    for child in results.children:
                        if child.on_type is None and child.name not in _RUN_OBJECT_FIELDS:
                            raise GraphQLFailure(f'Cannot query field "{child.name}" on type "Run".')
            if root.name == "sensorsOrError" and self.knobs.old_schema:
                if _mentions(root.children, "sensorType"):
                    raise GraphQLFailure('Cannot query field "sensorType" on type "Sensor".')

    def _answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The `data` of a successful answer (raises GraphQLFailure or ResolverFailure)."""
        return self._answer_roots(self._operation(query), variables)

    def _answer_roots(self, roots: tuple[Selection, ...], variables: dict[str, Any]) -> dict[str, Any]:
        return {root.key: self._resolve_root(root, variables) for root in roots}

    def _resolve_root(self, root: Selection, variables: dict[str, Any]) -> Any:
        name = root.name
        if name == "version":
            return self._version
        if name == "__typename":
            return "Query"
        if name == "__type":
            return project(self._introspect_type(arguments_of(root, variables).get("name")), root.children, variables)
        if name == "runsOrError":
            return self._runs(root, variables)
        if name == "workspaceOrError":
            return project(self._workspace(), root.children, variables)
        if name == "repositoriesOrError":
            nodes = [{"__typename": "Repository", "name": repo, "location": {"__typename": "RepositoryLocation", "name": loc}}
                     for loc, repo in self.model.repository_list()]  # fmt: skip
            value = {"__typename": "RepositoryConnection", "nodes": nodes}
            return project(value, root.children, variables)
        if name == "repositoryOrError":
            return project(self._repository(root, arguments_of(root, variables)), root.children, variables)
        if name in ("schedulesOrError", "sensorsOrError"):
            return project(self._instigators(name, arguments_of(root, variables)), root.children, variables)
        if name == "assetsOrError":
            return project(self._assets(root, variables), root.children, variables)
        if name == "assetOrError":
            return project(self._asset_or_error(arguments_of(root, variables)), root.children, variables)
        if name == "assetCheckExecutions":
            arguments = arguments_of(root, variables)
            executions = self.check_history().executions(
                (arguments.get("assetKey") or {}).get("path") or [], arguments.get("checkName"),
                arguments.get("limit") or 0, arguments.get("cursor"))  # fmt: skip
            return project(executions, root.children, variables)
        if name == "assetsLatestInfo":
            return project(self._assets_latest(root, variables), root.children, variables)
        if name == "partitionBackfillsOrError":
            return project(self._backfills(root, arguments_of(root, variables)), root.children, variables)
        if name == "partitionBackfillOrError":
            return project(self._backfill(arguments_of(root, variables)), root.children, variables)
        if name == "instigationStateOrError":
            return project(self._instigation_state(arguments_of(root, variables)), root.children, variables)
        raise GraphQLFailure(f'Cannot query field "{name}" on type "Query".')

    def _introspect_type(self, name: Any) -> dict[str, Any] | None:
        if name != "RunStatus":
            return None  # the simulated schema introspects its run statuses only
        values = [{"__typename": "__EnumValue", "name": status, "description": None,
                   "isDeprecated": False, "deprecationReason": None} for status in self.statuses]  # fmt: skip
        return {"__typename": "__Type", "kind": "ENUM", "name": "RunStatus",
                "description": "The status of run execution.",
                "enumValues": lambda arguments: values}  # fmt: skip

    def _limit(self, limit: Any, path: list[str | int]) -> int | None:
        """The limit the storage applies: none for absent or 0, clamped by `max_page_size`."""
        if limit is not None and not isinstance(limit, int):
            raise GraphQLFailure(f"Variable '$limit' got invalid value {json.dumps(limit)}; Int cannot represent non-integer value.")
        if limit is not None and limit < 0:
            raise ResolverFailure(
                "(psycopg2.errors.InvalidRowCountInLimitClause) LIMIT must not be negative", path
            )
        maximum = self.knobs.max_page_size
        if maximum:
            return min(limit, maximum) if limit else maximum
        return limit or None

    def _runs(self, root: Selection, variables: dict[str, Any]) -> dict[str, Any]:
        arguments = arguments_of(root, variables)
        runs_filter = arguments.get("filter")
        if runs_filter is not None and not isinstance(runs_filter, dict):
            raise GraphQLFailure("Variable '$filter' got invalid value; Expected type 'RunsFilter' to be an object.")
        try:
            normalised = self.model.normalise(runs_filter, self.statuses)
        except RunsFilterError as error:
            raise GraphQLFailure(f"Variable '$filter' got invalid value {json.dumps(runs_filter)}; {error}") from None
        cursor = arguments.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise GraphQLFailure(f"Variable '$cursor' got invalid value {json.dumps(cursor)}; String cannot represent a non string value.")
        answer: dict[str, Any] = {}
        for selection in root.children:
            if selection.on_type is None:
                if selection.name == "__typename":
                    answer[selection.key] = "Runs"
                    continue
                raise GraphQLFailure(f'Cannot query field "{selection.name}" on type "RunsOrError". '
                                     "Did you mean to use an inline fragment on \"Runs\"?")  # fmt: skip
            if selection.on_type not in ("Runs", "PipelineRuns"):
                continue  # `... on Error`, `... on PythonError`: not this answer's type
            for child in selection.children:
                if child.name == "__typename":
                    answer[child.key] = "Runs"
                elif child.name == "results":
                    answer[child.key] = self._run_results(root, child, normalised, cursor, arguments.get("limit"))
                elif child.name == "count":
                    answer[child.key] = self.model.count_runs(normalised, normalised=True)
                else:
                    raise GraphQLFailure(f'Cannot query field "{child.name}" on type "Runs".')
        return answer

    def _run_results(self, root: Selection, results: Selection, normalised: dict[str, Any],
                     cursor: str | None, asked: Any) -> Any:  # fmt: skip
        path: list[str | int] = [root.key, results.key]
        self.stats.limits_asked[asked] += 1
        limit = self._limit(asked, path)
        model = self.model
        with model.lock:
            timeout_rows = self.knobs.statement_timeout_rows
            fetch = limit if timeout_rows is None or (limit is not None and limit <= timeout_rows) else timeout_rows + 1
            indices = model.select_indices(normalised, cursor, fetch, normalised=True)
            if timeout_rows is not None and len(indices) > timeout_rows:
                self.stats.statement_timeouts += 1
                raise ResolverFailure(STATEMENT_TIMEOUT + _RUN_SQL.replace("%d", str(limit)), path)
            self.stats.runs_served += len(indices)
            self._served_page = True
            fields = tuple(child.key for child in results.children)
            names = tuple(child.name for child in results.children)
            tags = _find_field(results.children, "tags")
            plain_tags = tags is None or {c.name for c in tags.children} == {"key", "value"}
            origin = _find_field(results.children, "repositoryOrigin")
            plain_origin = origin is None or tuple(c.key for c in origin.children) == ORIGIN_FIELDS
            if fields == RUN_FIELDS and names == RUN_FIELDS and plain_tags and plain_origin:  # the connector's page
                return RawJSON("[" + ",".join(map(model.run_json, indices)) + "]")
            out = []
            for index in indices:
                run = model.run(index)
                values = run.graphql(tuple(name for name in names if name != "stepStats"))
                if "stepStats" in names:
                    values["stepStats"] = run_step_stats(model, run)
                if "repositoryOrigin" in values:
                    values["repositoryOrigin"] = _repository_origin(run.location)
                if "tags" in values:
                    values["tags"] = [{"__typename": "PipelineTag", **tag} for tag in values["tags"]]
                out.append({child.key: project(values[child.name], child.children, {})
                            for child in results.children})  # fmt: skip
            return out

    def _workspace(self) -> dict[str, Any]:
        entries = []
        for name, state in self.model.locations():
            r = len(entries)
            if state == "loaded":
                location = {"__typename": "RepositoryLocation", "id": name, "name": name,
                            "repositories": [{"__typename": "Repository", "id": f"{REPOSITORY_NAME}@{name}",
                                              "name": REPOSITORY_NAME}],
                            "dagsterLibraryVersions": [
                                {"__typename": "DagsterLibraryVersion", "name": library, "version": version}
                                for library, version in self.model.library_versions(r)]}  # fmt: skip
            elif state == "failed":
                # As a code server reports a definitions module that fails to import.
                cause = python_error(f"ModuleNotFoundError: No module named '{name}_helpers'\n", "ModuleNotFoundError")
                location = python_error(
                    "dagster._core.errors.DagsterUserCodeProcessError: Error occurred during the loading of "
                    f"Dagster definitions in\nexecutable_path=/usr/local/bin/python, module_name={name}.definitions, "
                    "working_directory=/opt/dagster/app\n", "DagsterUserCodeProcessError", causes=[cause])
            else:
                location = None
            entries.append({
                "__typename": "WorkspaceLocationEntry", "id": name, "name": name,
                "loadStatus": "LOADING" if state == "loading" else "LOADED",
                "locationOrLoadError": location, "updatedTimestamp": self.model.location_updated(r),
                "versionKey": self._version_key(name, r, state),
            })  # fmt: skip
        return {"__typename": "Workspace", "id": "Workspace", "locationEntries": entries}

    def _version_key(self, name: str, r: int, state: str) -> str:
        """`WorkspaceLocationEntry.versionKey` as `WorkspaceProcessContext` sets it: a location served
        by a gRPC code server gives `json.dumps([server_id, container_image])` (a new server id on each
        reload), one that failed to load gives `str(load_time)`."""
        updated = self.model.location_updated(r)
        if state != "loaded":
            return str(updated)
        server_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{name}@{updated}")
        return json.dumps([str(server_id), None])

    def _instigators(self, root: str, arguments: dict[str, Any]) -> dict[str, Any]:
        selector = arguments.get("repositorySelector")
        if not isinstance(selector, dict):
            raise GraphQLFailure("Variable '$repositorySelector' of required type 'RepositorySelector!' was not provided.")
        index = self.model.repository_index(selector)
        if index is None:
            return self._repository_not_found(selector)
        if root == "schedulesOrError":
            return {"__typename": "Schedules", "results": self._with_ticks(index, "schedule", self.model.schedules(index))}
        sensors = self._with_ticks(index, "sensor", self.model.sensors(index))
        if self.knobs.old_schema:
            sensors = [{k: v for k, v in s.items() if k != "sensorType"} for s in sensors]
        return {"__typename": "Sensors", "results": sensors}

    def _with_ticks(self, r: int, kind: str, instigators: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The instigators' states with `instigationType` and `ticks` (the repository batch)."""
        field = "scheduleState" if kind == "schedule" else "sensorState"
        for k, instigator in enumerate(instigators):
            g = self.model.instigator_ticks.index(r, kind, k)
            instigator[field] = {**instigator[field], "instigationType": kind.upper(),
                                 "ticks": lambda arguments, g=g: self._ticks(g, arguments)}  # fmt: skip
        return instigators

    def _ticks(self, g: int, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        """`InstigationState.ticks(limit, beforeTimestamp, afterTimestamp)`: `limit` None ->
        1000 and clamped to 1000 (1.13), unlimited when None in 1.11 (`old_schema`); 0: none."""
        unsupported = sorted(key for key in ("cursor", "statuses", "dayRange", "dayOffset") if arguments.get(key))
        if unsupported:
            raise GraphQLFailure(f"The simulated Dagster does not filter ticks by {', '.join(unsupported)}.")
        limit = arguments.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise GraphQLFailure(f"Variable '$limit' got invalid value {json.dumps(limit)}; Int cannot represent non-integer value.")
        if limit is not None and limit < 0:
            raise GraphQLFailure("(psycopg2.errors.InvalidRowCountInLimitClause) LIMIT must not be negative")
        if not self.knobs.old_schema:
            limit = TICK_LIMIT if limit is None else min(limit, TICK_LIMIT)
        bounds = [arguments.get("beforeTimestamp"), arguments.get("afterTimestamp")]
        for bound in bounds:
            if bound is not None and (not isinstance(bound, (int, float)) or isinstance(bound, bool)):
                raise GraphQLFailure(f"Variable got invalid value {json.dumps(bound)}; Float cannot represent non numeric value.")
        return self.model.instigator_ticks.page(g, limit or None, *bounds)

    def _instigation_state(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """`instigationStateOrError(instigationSelector)`: a schedule's or sensor's state (a
        sensor first, as Dagster looks), without the repository batch."""
        selector = arguments.get("instigationSelector")
        if not isinstance(selector, dict) or not isinstance(selector.get("name"), str):
            raise GraphQLFailure("Variable '$selector' of required type 'InstigationSelector!' was not provided.")
        r = self.model.repository_index(selector)
        ticks = self.model.instigator_ticks
        g = None if r is None else ticks.find(r, selector["name"])
        if r is None or g is None:
            return {"__typename": "InstigationStateNotFoundError", "name": selector["name"],
                    "message": f"Could not find instigation state for `{selector['name']}`"}  # fmt: skip
        _, kind, name = ticks.describe(g)
        location = self.model.location_name(r)
        return {"__typename": "InstigationState", "id": selector_id(location, REPOSITORY_NAME, name),
                "selectorId": selector_id(location, REPOSITORY_NAME, name), "name": name,
                "instigationType": kind.upper(), "repositoryName": REPOSITORY_NAME,
                "repositoryLocationName": location, "ticks": lambda arguments: self._ticks(g, arguments)}  # fmt: skip

    def _backfills(self, root: Selection, arguments: dict[str, Any]) -> dict[str, Any]:
        """`partitionBackfillsOrError(status, cursor, limit, filters)` (see `Backfills.page`);
        `status` with `filters` is Dagster's PythonError; `limit` clamped by `max_page_size`."""
        filters = arguments.get("filters")
        if filters is not None and not isinstance(filters, dict):
            raise GraphQLFailure("Variable '$filters' got invalid value; Expected type 'BulkActionsFilter' to be an object.")
        for key in filters or {}:
            if key not in ("statuses", "createdAfter", "createdBefore", "selectorId") or (
                    key == "selectorId" and self.knobs.old_schema):  # fmt: skip
                raise GraphQLFailure(f"Variable '$filters' got invalid value {json.dumps(filters)}; Field '{key}' "
                                     "is not defined by type 'BulkActionsFilter'.")  # fmt: skip
        if (filters or {}).get("selectorId"):
            raise GraphQLFailure("The simulated Dagster does not filter backfills by selectorId.")
        status = arguments.get("status")
        if status and filters:
            return python_error("dagster._core.errors.DagsterInvariantViolationError: Cannot provide status and "
                                "filters to get_backfills. Please use filters rather than status.\n",
                                "DagsterInvariantViolationError")  # fmt: skip
        if status:
            filters = {"statuses": [status]}
        cursor = arguments.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise GraphQLFailure(f"Variable '$cursor' got invalid value {json.dumps(cursor)}; String cannot represent a non string value.")
        limit = self._limit(arguments.get("limit"), [root.key, "results"])
        return {"__typename": "PartitionBackfills", "results": self.model.backfills.page(cursor, limit, filters)}

    def _backfill(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """`partitionBackfillOrError(backfillId)`."""
        backfill_id = arguments.get("backfillId")
        if not isinstance(backfill_id, str):
            raise GraphQLFailure("Variable '$backfillId' of required type 'String!' was not provided.")
        found = self.model.backfills.get(backfill_id)
        if found is None:
            return {"__typename": "BackfillNotFoundError", "backfillId": backfill_id,
                    "message": f"Backfill {backfill_id} could not be found."}  # fmt: skip
        return found

    def _repository(self, root: Selection, arguments: dict[str, Any]) -> dict[str, Any]:
        """`repositoryOrError(repositorySelector)`: a loaded repository, with its jobs.

        As an older Dagster (1.11), `Job.isAssetJob` fails on the first job that is not an
        implicit asset job: `GrapheneJob` has no `_batch_loader` there (HTTP 500, `data: null`).
        """
        selector = arguments.get("repositorySelector")
        if not isinstance(selector, dict):
            raise GraphQLFailure("Variable '$repositorySelector' of required type 'RepositorySelector!' was not provided.")
        index = self.model.repository_index(selector)
        if index is None:
            return self._repository_not_found(selector)
        location = self.model.location_name(index)
        jobs = self.model.jobs(index)
        if self.knobs.old_schema:
            selection = _find_field(root.children, "jobs")
            if selection is not None and _find_field(selection.children, "isAssetJob") is not None:
                for position, job in enumerate(jobs):
                    if not job["name"].startswith("__ASSET_JOB"):
                        raise ResolverFailure("'GrapheneJob' object has no attribute '_batch_loader'",
                                              [root.key, selection.key, position, "isAssetJob"], "AttributeError")  # fmt: skip
        return {"__typename": "Repository", "id": f"{REPOSITORY_NAME}@{location}", "name": REPOSITORY_NAME,
                "location": {"__typename": "RepositoryLocation", "id": location, "name": location},
                "origin": _repository_origin(location), "jobs": jobs}  # fmt: skip

    @staticmethod
    def _repository_not_found(selector: dict[str, Any]) -> dict[str, Any]:
        return {"__typename": "RepositoryNotFoundError",
                "repositoryName": selector.get("repositoryName"),
                "repositoryLocationName": selector.get("repositoryLocationName"),
                "message": f"Could not find Repository {selector.get('repositoryLocationName')}."
                           f"{selector.get('repositoryName')}"}  # fmt: skip

    def _assets(self, root: Selection, variables: dict[str, Any]) -> dict[str, Any]:
        arguments = arguments_of(root, variables)
        if arguments.get("prefix"):
            raise GraphQLFailure("The simulated Dagster does not filter assetsOrError by prefix.")
        limit = self._limit(arguments.get("limit"), [root.key])
        if arguments.get("assetKeys") is not None:
            keys = self.model.assets_of([key["path"] for key in arguments["assetKeys"]])[: limit or None]
            next_cursor = keys[-1].string if keys else None
        else:
            keys, next_cursor = self.model.assets_page(arguments.get("cursor"), limit)
        return {"__typename": "AssetConnection",
                "nodes": [self._asset_object(key) for key in keys], "cursor": next_cursor}  # fmt: skip

    def _asset_object(self, key: Any) -> dict[str, Any]:
        definition = None
        if key.definition is not None:
            location = key.definition["location"]
            definition = {
                "__typename": "AssetNode", "id": f"{location}.{REPOSITORY_NAME}.{'/'.join(key.path)}",
                "assetKey": {"__typename": "AssetKey", "path": key.path},
                "isAutoCreatedStub": key.definition["isAutoCreatedStub"],
                "description": key.definition["description"],
                "dependencyKeys": [{"__typename": "AssetKey", "path": path} for path in key.definition["dependencyKeys"]],
                "repository": {"__typename": "Repository", "id": f"{REPOSITORY_NAME}@{location}", "name": REPOSITORY_NAME,
                               "location": {"__typename": "RepositoryLocation", "id": location, "name": location}},
                **self._definition_details(key.path),
            }  # fmt: skip
        latest = key.latest

        def materializations(arguments: dict[str, Any]) -> list[dict[str, Any]]:
            return [] if latest is None or arguments.get("limit") == 0 else [_materialization(latest)]

        sort_key = self.asset_history().latest_sort_key(key.path)
        return {"__typename": "Asset", "id": json.dumps(key.path), "key": {"__typename": "AssetKey", "path": key.path},
                "definition": definition, "assetMaterializations": materializations,
                "latestEventSortKey": None if sort_key is None else str(sort_key)}  # fmt: skip

    def _definition_details(self, path: list[str]) -> dict[str, Any]:
        """The `AssetNode` fields beyond the key and location (checks on the first assets of
        each location)."""
        return definition_details(path, self.check_history().names_by_asset.get(tuple(path), []))

    def asset_history(self) -> AssetHistory:
        """The event log of the keys with events (built once, from the model's keys)."""
        if self._asset_history is None:
            with self.model.lock:
                _, with_events = self.model._asset_keys()
            self._asset_history = AssetHistory([key.path for key in with_events], self.knobs.asset_events, self.model.now_ms)
        return self._asset_history

    def check_history(self) -> CheckHistory:
        if self._check_history is None:
            checks = [(self.model._asset_path(r, j), f"check_{j}") for r in range(self.model.repositories)
                      for j in range(min(self.knobs.checks_per_repository, self.model.assets_per_repository))]  # fmt: skip
            self._check_history = CheckHistory(checks, self.knobs.executions_per_check, self.model.now_ms)
        return self._check_history

    def _asset_or_error(self, arguments: dict[str, Any]) -> dict[str, Any]:
        path = (arguments.get("assetKey") or {}).get("path") or []
        history = self.asset_history()
        if history.latest_sort_key(path) is None and self.model.asset(path) is None:
            return {"__typename": "AssetNotFoundError", "message": f"Asset key {path} not found."}

        def event_history(arguments: dict[str, Any]) -> dict[str, Any]:
            try:
                page = history.page(path, arguments["limit"], arguments.get("cursor"))
            except ValueError as error:
                raise ResolverFailure(f"dagster._check.CheckError: {error}", ["assetOrError", "assetEventHistory"]) from None
            return page or {"__typename": "AssetResultEventHistoryConnection", "results": [], "cursor": history_cursor(-1)}

        return {"__typename": "Asset", "key": {"__typename": "AssetKey", "path": path}, "assetEventHistory": event_history}

    def _assets_latest(self, root: Selection, variables: dict[str, Any]) -> list[dict[str, Any]]:
        arguments = arguments_of(root, variables)
        keys = arguments.get("assetKeys")
        if not isinstance(keys, list):
            raise GraphQLFailure("Variable '$assetKeys' of required type '[AssetKeyInput!]!' was not provided.")
        paths: dict[tuple[str, ...], None] = {}
        for key in keys:
            if not isinstance(key, dict) or not isinstance(key.get("path"), list):
                raise GraphQLFailure("Variable '$assetKeys' got invalid value; Field 'path' of required type '[String!]!' was not provided.")
            paths[tuple(key["path"])] = None
        infos = []
        # Dagster iterates over a set of AssetKeys: the order is not the request's.
        for path in sorted(paths, key=lambda p: hash(json.dumps(p)) & 0xFFFF):
            asset = self.model.asset(list(path))
            latest = asset.latest if asset is not None else None
            infos.append({
                "__typename": "AssetLatestInfo", "id": f"{json.dumps(list(path))}",
                "assetKey": {"__typename": "AssetKey", "path": list(path)},
                "latestMaterialization": _materialization(latest) if latest else None,
                "unstartedRunIds": [], "inProgressRunIds": [], "latestRun": None,
            })  # fmt: skip
        return infos


def python_error(message: str, class_name: str, causes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `PythonError` with every field of dagster-graphql's (`message` is the text of
    `traceback.format_exception_only`, as SerializableErrorInfo keeps it; `causes` the explicit
    `raise ... from` chain, outermost first)."""
    causes = causes or []
    return {
        "__typename": "PythonError", "message": message, "className": class_name, "stack": list(_STACK),
        "cause": causes[0] if causes else None, "causes": causes,
        "errorChain": [{"__typename": "ErrorChainLink", "message": cause["message"], "error": cause,
                        "isExplicitLink": True} for cause in causes],
    }  # fmt: skip


def _repository_origin(location: str) -> dict[str, Any]:
    """`Run.repositoryOrigin` of a run launched from `location` (a `RepositoryOrigin`)."""
    return {"__typename": "RepositoryOrigin", "id": hashlib.sha1(f"origin/{location}".encode()).hexdigest(),
            "repositoryLocationName": location, "repositoryName": REPOSITORY_NAME,
            "repositoryLocationMetadata": []}  # fmt: skip


def _materialization(latest: dict[str, str]) -> dict[str, Any]:
    return {"__typename": "MaterializationEvent", "runId": latest["runId"], "timestamp": latest["timestamp"]}


def _mentions(selections: tuple[Selection, ...], name: str) -> bool:
    return any(s.name == name or _mentions(s.children, name) for s in selections)


def _resolver_error_answer(message: str, path: list[str | int], locations: list[dict[str, int]],
                           exception: str) -> dict[str, Any]:  # fmt: skip
    """dagster-webserver's answer when a resolver raised: the error reaches the non-null root
    field, so `data` is null; `extensions.errorInfo` is the packed SerializableErrorInfo."""
    return {"data": None, "errors": [{
        "message": message, "locations": locations, "path": path,
        "extensions": {"errorInfo": {
            "__class__": "SerializableErrorInfo", "message": f"{exception}: {message}\n",
            "stack": list(_STACK), "cls_name": exception.rsplit(".", 1)[-1], "cause": None, "context": None,
        }},
    }]}  # fmt: skip


class RawJSON(str):
    """Text that is already JSON: `_dumps` puts it in the answer as it is."""


_RAW_MARK = "\u0000raw-json\u0000"


def _dumps(answer: dict[str, Any]) -> str:
    """Compact `json.dumps` (once per answer) that splices in at most one `RawJSON` value."""
    raw: list[RawJSON] = []

    def mark(value: Any) -> Any:
        if isinstance(value, RawJSON):
            raw.append(value)
            return _RAW_MARK
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        return value

    text = json.dumps(mark(answer), ensure_ascii=False, separators=(",", ":"))
    if not raw:
        return text
    assert len(raw) == 1, "one pre-serialised value per answer"
    return text.replace(json.dumps(_RAW_MARK), raw[0], 1)


def _json_response(answer: dict[str, Any], status: int) -> web.Response:
    return web.Response(body=_dumps(answer).encode(), status=status, content_type="application/json")


def main() -> None:  # pragma: no cover - manual use: python -m benchmarks.simulated_dagster
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--rate-limit-rps", type=float, default=None)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--max-page-size", type=int, default=None)
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--seconds", type=float, default=3600, help="serve this long, then stop")
    args = parser.parse_args()
    knobs = ServerKnobs(runs=args.runs, latency_ms=args.latency_ms, rate_limit_rps=args.rate_limit_rps,
                        failure_rate=args.failure_rate, max_page_size=args.max_page_size, port=args.port)  # fmt: skip
    with SimulatedDagster(knobs) as server:
        print(f"simulated Dagster at {server.url}/graphql ({args.runs} runs)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)
        print(json.dumps(server.stats.snapshot(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
