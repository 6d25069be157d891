"""A small in-memory Dagster 1.13 GraphQL server for unit tests, plugged into aioresponses.

It answers the connector's operations by operation name, as dagster-webserver 1.13 would:

* runs newest-created first (storage order), each with `creationTime`; `cursor` is a run id and
  returns runs strictly older than it, and a cursor whose run was deleted matches nothing (an
  empty page, as `id < (SELECT id ... WHERE run_id = cursor)` does in SQL); `createdAfter`,
  `createdBefore` and `updatedAfter` compare strictly; an unknown `RunsFilter` key or run
  status is a validation error (HTTP 400); `limit` may be clamped silently (`max_limit`);
  hidden tags (`.dagster/...`) match filters but are left out of `Run.tags`;
* `__type(name: "RunStatus")` introspection (or a 400 when introspection is disabled);
* runs carry `repositoryOrigin` (null for runs launched outside a code location) and, for a
  re-execution, `rootRunId`/`parentRunId`;
* `workspaceOrError` with code locations that loaded, failed (a `PythonError`) or are loading,
  each with its `updatedTimestamp`, and a loaded one's `dagsterLibraryVersions`; only loaded
  locations have repositories, jobs, schedules, sensors and asset definitions;
* `repositoryOrError` with the repository's `jobs` sorted by name, including Dagster's implicit
  `__ASSET_JOB` when the repository has assets;
* schedules and sensors with their `selectorId` (a hash of location, repository and name);
* `assetsOrError` paged by key (sorted by the key's JSON form, cursor = that form; `limit`
  clamped by `max_limit` too), with keys that only have materializations (no definition) and
  auto-created stubs, `Asset.assetMaterializations` (a runless materialization has runId "")
  and `AssetNode.dependencyKeys`.

Errors are built as dagster-webserver sends them (see `dagster_webserver/graphql.py`):
`validation_error` (HTTP 400, `{"data": null, "errors": [{message, locations}]}`),
`resolver_error` (HTTP 500, `{"data": null, "errors": [{message, locations, path}]}`) and
`python_error` (an `...OrError` field holding a `PythonError`, HTTP 500 by default).
Tests inject them with `fake.overrides[operation] = fn(variables)`; `fn` returns an answer
(a `CallbackResult`, or a dict sent as the JSON body) or None to let the fake answer normally.
"""

from __future__ import annotations

import email.utils
import hashlib
import inspect
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aioresponses import CallbackResult, aioresponses

ENDPOINT = "http://dagster.test/graphql"
BASE_TIME = 1_700_000_000.0
RUN_SPACING = 600.0  # seconds between two runs' creation times in `make_run`

RUN_STATUSES = (
    "QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED",
    "SUCCESS", "FAILURE", "CANCELING", "CANCELED",
)  # fmt: skip  (GrapheneRunStatus in dagster-graphql 1.13.28, in its order)
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
RUNS_FILTER_FIELDS = {
    "runIds", "pipelineName", "tags", "statuses", "snapshotId",
    "updatedAfter", "updatedBefore", "createdBefore", "createdAfter", "mode",
}  # fmt: skip
STATEMENT_TIMEOUT = "(psycopg2.errors.QueryCanceled) canceling statement due to statement timeout"
INTROSPECTION_DISABLED = (
    "GraphQL introspection has been disabled, but the requested query contained the field "
    "'__type'."
)

Answer = CallbackResult | dict | None


# --- answers as dagster-webserver sends them -----------------------------------------------


def validation_error(message: str, status: int = 400) -> CallbackResult:
    """A query the schema rejects (graphql-core validation): HTTP 400, no `path`."""
    error = {"message": message, "locations": [{"line": 2, "column": 3}]}
    return CallbackResult(status=status, payload={"data": None, "errors": [error]})


def resolver_error(message: str, path: list[str | int], status: int = 500) -> CallbackResult:
    """A resolver raised outside `capture_error`: the null reaches the root, `data` is null."""
    error = {"message": message, "locations": [{"line": 3, "column": 3}], "path": path}
    return CallbackResult(status=status, payload={"data": None, "errors": [error]})


def python_error(root_field: str, message: str, status: int = 500) -> CallbackResult:
    """An `...OrError` resolver raised and `capture_error` answered a `PythonError`."""
    value = {"__typename": "PythonError", "message": message}
    return CallbackResult(status=status, payload={"data": {root_field: value}})


def html_page(title: str = "Sign in", status: int = 200) -> CallbackResult:
    """What an authenticating proxy in front of Dagster serves instead of GraphQL."""
    body = (
        f'<!DOCTYPE html>\n<html lang="en"><head><title>{title}</title></head>'
        "<body><form method='post' action='/oauth2/sign_in'></form></body></html>"
    )
    return CallbackResult(status=status, body=body, content_type="text/html")


def unknown_field(field_name: str, type_name: str) -> Callable[[dict], CallbackResult]:
    """An override answering as an older Dagster whose schema lacks `type_name.field_name`."""
    message = f"Cannot query field '{field_name}' on type '{type_name}'."
    return lambda variables: validation_error(message)


def selector_id(location: str, repository: str, name: str) -> str:
    """A stable id per (location, repository, name), like `InstigatorSelector.get_id()`."""
    return hashlib.sha1(f"{location}\0{repository}\0{name}".encode()).hexdigest()


# --- the deployment's contents -------------------------------------------------------------


def make_run(
    index: int,
    status: str = "SUCCESS",
    tags: dict[str, str] | None = None,
    created: float | None = None,
    location: str | None = "loc_a",
    repository: str = "repo",
    parent: str | None = None,
    root: str | None = None,
) -> dict:
    """Run `index` of a history, created at BASE_TIME + index * RUN_SPACING (or `created`),
    launched from `location` (None: no `repositoryOrigin`, as for runs launched in-process);
    `parent`/`root`: the run it re-executes, and the first of the chain (default: parent)."""
    created = BASE_TIME + index * RUN_SPACING if created is None else created
    finished = status in FINISHED
    return {
        "runId": f"run-{index:05d}",
        "pipelineName": "job",
        "status": status,
        "mode": "default",
        "creationTime": created,
        "startTime": None if status in ("QUEUED", "NOT_STARTED") else created + 1.0,
        "endTime": created + 5.0 if finished else None,
        "updateTime": created + 5.0 if finished else created + 1.0,
        "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()],
        "repositoryOrigin": None
        if location is None
        else {"repositoryLocationName": location, "repositoryName": repository},
        "rootRunId": root or parent,
        "parentRunId": parent,
    }


@dataclass
class FakeAsset:
    path: list[str]
    description: str | None = None
    # (runId, timestamp in ms as a string) of the latest materialization; runId "" when runless
    latest: tuple[str, str] | None = None
    stub: bool = False  # an auto-created stub for a dependency nobody defines
    deps: list[list[str]] = field(default_factory=list)  # `dependencyKeys`: upstream key paths


@dataclass
class FakeRepository:
    name: str
    schedules: list[dict] = field(default_factory=list)  # {"name", "cronSchedule", ...}
    sensors: list[dict] = field(default_factory=list)  # {"name", "sensorType", "targets", ...}
    assets: list[FakeAsset] = field(default_factory=list)
    jobs: list[dict] = field(default_factory=list)  # `Job` objects (see `job`), no implicit one


@dataclass
class FakeLocation:
    name: str
    repositories: list[FakeRepository] = field(default_factory=list)
    error: str | None = None  # the code's exception when the location failed to load
    loading: bool = False
    updated: float = BASE_TIME  # `updatedTimestamp`: when the location was last (re)loaded
    library_versions: dict[str, str] = field(
        default_factory=lambda: {"dagster-shared": "1.13.28", "dagster": "1.13.28"}
    )


def schedule(name: str, status: str = "RUNNING", job: str = "job") -> dict:
    return {"name": name, "cronSchedule": "0 0 * * *", "pipelineName": job, "status": status}


def sensor(name: str, status: str = "RUNNING", jobs: tuple[str, ...] = ("job",)) -> dict:
    return {"name": name, "sensorType": "STANDARD", "jobs": list(jobs), "status": status}


def job(
    name: str,
    description: str | None = None,
    asset_job: bool = False,
    tags: dict[str, str] | None = None,
    owners: tuple[str, ...] = (),
) -> dict:
    """A `Job` as `repositoryOrError { jobs }` answers it; `owners` as Dagster stores them
    (an email, or `team:name`)."""

    def owner(value: str) -> dict:
        if value.startswith("team:"):
            return {"__typename": "TeamDefinitionOwner", "team": value[5:]}
        return {"__typename": "UserDefinitionOwner", "email": value}

    return {
        "name": name,
        "description": description,
        "isAssetJob": asset_job,
        "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()],
        "owners": [owner(value) for value in owners],
    }


IMPLICIT_ASSET_JOB = job("__ASSET_JOB", asset_job=True)


def default_locations() -> list[FakeLocation]:
    """Two loaded locations, each with one repository, one schedule and one asset."""
    return [
        FakeLocation(
            name,
            [
                FakeRepository(
                    "repo",
                    schedules=[schedule(f"nightly_{name}")],
                    assets=[FakeAsset([name, "table"], latest=("run-00000", "1700000000250"))],
                )
            ],
        )
        for name in ("loc_a", "loc_b")
    ]


class FakeDagster:
    """The deployment: `runs` (oldest first: storage order) and `locations`."""

    def __init__(
        self,
        runs: list[dict] | None = None,
        locations: list[FakeLocation] | None = None,
        max_limit: int | None = None,
        introspection: bool = True,
    ) -> None:
        self.runs: list[dict] = list(runs or [])
        self.locations = default_locations() if locations is None else locations
        self.max_limit = max_limit  # `limit` is silently clamped to this when set
        self.introspection = introspection
        self.version = "1.13.28"
        # Materialization events of keys no code location defines (e.g. a failed location's).
        self.orphan_assets: list[FakeAsset] = []
        # Dagster's clock, sent in each answer's `Date` header as uvicorn does (None: real time).
        self.now: float | None = None
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict]] = []
        self.overrides: dict[str, Callable[[dict], Any]] = {}

    # -- changing the deployment --

    def run(self, run_id: str) -> dict:
        return next(run for run in self.runs if run["runId"] == run_id)

    def delete_run(self, run_id: str) -> None:
        self.runs = [run for run in self.runs if run["runId"] != run_id]

    def update_run(self, run_id: str, status: str, update_time: float) -> None:
        run = self.run(run_id)
        run["status"], run["updateTime"] = status, update_time
        if status in FINISHED:
            run["endTime"] = update_time

    def location(self, name: str) -> FakeLocation:
        return next(location for location in self.locations if location.name == name)

    # -- serving --

    def install(self, mocked: aioresponses) -> None:
        mocked.post(ENDPOINT, callback=self._answer, repeat=True)

    def calls_of(self, operation: str) -> list[dict]:
        """The variables of every request of `operation`, in order."""
        return [variables for name, variables in self.requests if name == operation]

    async def _answer(self, url: Any, **kwargs: Any) -> CallbackResult:
        answer = await self._answer_body(kwargs)
        date = email.utils.formatdate(time.time() if self.now is None else self.now, usegmt=True)
        answer.headers = {**(answer.headers or {}), "Date": date}
        return answer

    async def _answer_body(self, kwargs: dict[str, Any]) -> CallbackResult:
        body = json.loads(kwargs["data"])
        name = body.get("operationName")
        variables = body.get("variables") or {}
        self.calls[name] += 1
        self.requests.append((name, variables))
        if name in self.overrides:
            answer = self.overrides[name](variables)
            if inspect.isawaitable(answer):
                answer = await answer
            if isinstance(answer, CallbackResult):
                return answer
            if answer is not None:
                return CallbackResult(payload=answer)
        handler = getattr(self, f"_{name}", None)
        if handler is None:
            return validation_error(f"Unknown operation named '{name}'.")
        answer = handler(variables)
        return answer if isinstance(answer, CallbackResult) else CallbackResult(payload={"data": answer})

    # -- runs --

    def _check_filter(self, runs_filter: dict | None) -> CallbackResult | None:
        for key in runs_filter or {}:
            if key not in RUNS_FILTER_FIELDS:
                return validation_error(
                    f"Variable '$filter' got invalid value {json.dumps(runs_filter)}; Field "
                    f"'{key}' is not defined by type 'RunsFilter'."
                )
        for status in (runs_filter or {}).get("statuses") or []:
            if status not in RUN_STATUSES:
                return validation_error(
                    f"Variable '$filter' got invalid value '{status}' at 'filter.statuses'; "
                    "Value 'statuses' does not exist in 'RunStatus' enum."
                )
        return None

    def _matching(self, runs_filter: dict | None) -> list[dict]:
        """Runs matching the filter, newest first."""
        f = runs_filter or {}
        runs = list(reversed(self.runs))
        if f.get("runIds"):
            runs = [run for run in runs if run["runId"] in f["runIds"]]
        if f.get("statuses"):
            runs = [run for run in runs if run["status"] in f["statuses"]]
        if f.get("updatedAfter") is not None:
            runs = [run for run in runs if run["updateTime"] > f["updatedAfter"]]
        if f.get("updatedBefore") is not None:
            runs = [run for run in runs if run["updateTime"] < f["updatedBefore"]]
        if f.get("createdAfter") is not None:
            runs = [run for run in runs if run["creationTime"] > f["createdAfter"]]
        if f.get("createdBefore") is not None:
            runs = [run for run in runs if run["creationTime"] < f["createdBefore"]]
        if f.get("pipelineName"):
            runs = [run for run in runs if run["pipelineName"] == f["pipelineName"]]
        for tag in f.get("tags") or []:
            wanted = {"key": tag["key"], "value": tag["value"]}
            runs = [run for run in runs if wanted in run["tags"]]
        return runs

    @staticmethod
    def _public(run: dict) -> dict:
        tags = [tag for tag in run["tags"] if not tag["key"].startswith(".dagster/")]
        return {**run, "tags": tags}

    def _page(self, variables: dict) -> list[dict]:
        runs = self._matching(variables.get("filter"))
        cursor = variables.get("cursor")
        if cursor is not None:
            ids = [run["runId"] for run in self.runs]
            if cursor not in ids:
                return []
            position = ids.index(cursor)
            older = {run["runId"] for run in self.runs[:position]}
            runs = [run for run in runs if run["runId"] in older]
        limit = variables.get("limit")
        if limit is not None:
            if self.max_limit is not None:
                limit = min(limit, self.max_limit)
            runs = runs[:limit]
        return [self._public(run) for run in runs]

    def _ConnectorRunsPage(self, variables: dict) -> dict | CallbackResult:
        return self._check_filter(variables.get("filter")) or {
            "runsOrError": {"__typename": "Runs", "results": self._page(variables)}
        }

    def _ConnectorRunExists(self, variables: dict) -> dict | CallbackResult:
        return self._check_filter(variables.get("filter")) or {
            "runsOrError": {
                "__typename": "Runs",
                "results": [{"runId": r["runId"]} for r in self._page({**variables, "limit": 1})],
            }
        }

    def _ConnectorRunsCount(self, variables: dict) -> dict | CallbackResult:
        return self._check_filter(variables.get("filter")) or {
            "runsOrError": {"__typename": "Runs", "count": len(self._matching(variables.get("filter")))}
        }

    # -- the server --

    def _ConnectorServerInfo(self, variables: dict) -> dict | CallbackResult:
        if not self.introspection:
            return validation_error(INTROSPECTION_DISABLED)
        values = [{"name": status} for status in RUN_STATUSES]
        return {"version": self.version, "runStatuses": {"enumValues": values}}

    def _ConnectorServerVersion(self, variables: dict) -> dict:
        return {"version": self.version}

    # -- the workspace --

    def _ConnectorWorkspace(self, variables: dict) -> dict:
        entries = []
        for location in self.locations:
            if location.loading:
                entry = {"name": location.name, "loadStatus": "LOADING", "locationOrLoadError": None}
            elif location.error is not None:
                # Dagster's own message is generic; the code's exception is the last cause.
                error = {
                    "__typename": "PythonError",
                    "message": (
                        "dagster._core.errors.DagsterUserCodeLoadError: Error occurred during the "
                        "loading of Dagster definitions in\nmodule_name=definitions.%s\n" % location.name
                    ),
                    "causes": [{"message": location.error + "\n"}],
                }
                entry = {"name": location.name, "loadStatus": "LOADED", "locationOrLoadError": error}
            else:
                repositories = [{"name": repository.name} for repository in location.repositories]
                versions = [{"name": name, "version": version} for name, version in location.library_versions.items()]
                value = {
                    "__typename": "RepositoryLocation",
                    "repositories": repositories,
                    "dagsterLibraryVersions": versions,
                }
                entry = {"name": location.name, "loadStatus": "LOADED", "locationOrLoadError": value}
            entry["updatedTimestamp"] = location.updated
            entries.append(entry)
        return {"workspaceOrError": {"__typename": "Workspace", "locationEntries": entries}}

    def _loaded(self) -> list[FakeLocation]:
        return [loc for loc in self.locations if loc.error is None and not loc.loading]

    def _repository(self, selector: dict) -> tuple[FakeLocation, FakeRepository] | None:
        for location in self._loaded():
            if location.name == selector["repositoryLocationName"]:
                for repository in location.repositories:
                    if repository.name == selector["repositoryName"]:
                        return location, repository
        return None

    @staticmethod
    def _not_found(root: str, selector: dict) -> dict:
        message = (
            f"Could not find Repository {selector['repositoryLocationName']}."
            f"{selector['repositoryName']}"
        )
        return {root: {"__typename": "RepositoryNotFoundError", "message": message}}

    def _ConnectorJobs(self, variables: dict) -> dict:
        selector = variables["repositorySelector"]
        found = self._repository(selector)
        if found is None:
            return self._not_found("repositoryOrError", selector)
        _, repository = found
        jobs = list(repository.jobs)
        if any(not asset.stub for asset in repository.assets):
            jobs.append(IMPLICIT_ASSET_JOB)  # Dagster's implicit job of the repository's assets
        jobs.sort(key=lambda item: item["name"])
        return {"repositoryOrError": {"__typename": "Repository", "jobs": jobs}}

    def _ConnectorJobsUnflagged(self, variables: dict) -> dict:
        """`ConnectorJobs` without `isAssetJob` (which Dagster 1.11 fails to resolve)."""
        answer = self._ConnectorJobs(variables)
        found = answer["repositoryOrError"]
        if "jobs" in found:
            found["jobs"] = [{k: v for k, v in item.items() if k != "isAssetJob"} for item in found["jobs"]]
        return answer

    def _ConnectorSchedules(self, variables: dict) -> dict:
        selector = variables["repositorySelector"]
        found = self._repository(selector)
        if found is None:
            return self._not_found("schedulesOrError", selector)
        location, repository = found
        results = [
            {
                "name": item["name"],
                "cronSchedule": item["cronSchedule"],
                "pipelineName": item["pipelineName"],
                "scheduleState": {
                    "selectorId": selector_id(location.name, repository.name, item["name"]),
                    "status": item["status"],
                    "runningCount": 1 if item["status"] == "RUNNING" else 0,
                },
            }
            for item in repository.schedules
        ]
        return {"schedulesOrError": {"__typename": "Schedules", "results": results}}

    def _ConnectorSensors(self, variables: dict, typed: bool = True) -> dict:
        selector = variables["repositorySelector"]
        found = self._repository(selector)
        if found is None:
            return self._not_found("sensorsOrError", selector)
        location, repository = found
        results = []
        for item in repository.sensors:
            result = {
                "name": item["name"],
                "targets": [{"pipelineName": job} for job in item["jobs"]],
                "sensorState": {
                    "selectorId": selector_id(location.name, repository.name, item["name"]),
                    "status": item["status"],
                },
            }
            if typed:
                result["sensorType"] = item["sensorType"]
            results.append(result)
        return {"sensorsOrError": {"__typename": "Sensors", "results": results}}

    def _ConnectorSensorsUntyped(self, variables: dict) -> dict:
        return self._ConnectorSensors(variables, typed=False)

    # -- assets --

    def _asset_keys(self) -> dict[str, tuple[list[str], dict | None]]:
        """Every asset key, by its JSON form: its definition (None: events only)."""
        keys: dict[str, tuple[list[str], dict | None]] = {}
        for asset in self.orphan_assets:
            keys[json.dumps(asset.path)] = (asset.path, None)
        for location in self._loaded():
            for repository in location.repositories:
                for asset in repository.assets:
                    definition = {
                        "isAutoCreatedStub": asset.stub,
                        "description": asset.description,
                        "repository": {"name": repository.name, "location": {"name": location.name}},
                        "dependencyKeys": [{"path": path} for path in asset.deps],
                    }
                    keys[json.dumps(asset.path)] = (asset.path, definition)
        return keys

    def _latest(self) -> dict[str, tuple[str, str]]:
        latest = {}
        for location in self.locations:  # events stay even when the location failed to load
            for repository in location.repositories:
                for asset in repository.assets:
                    if asset.latest is not None:
                        latest[json.dumps(asset.path)] = asset.latest
        for asset in self.orphan_assets:
            if asset.latest is not None:
                latest[json.dumps(asset.path)] = asset.latest
        return latest

    def _ConnectorAssetsPage(self, variables: dict) -> dict:
        return self._assets_or_error(variables)

    def _ConnectorAssetDependencies(self, variables: dict) -> dict:
        return self._assets_or_error(variables)

    def _assets_or_error(self, variables: dict) -> dict:
        """`assetsOrError(cursor, limit)`, with every field either operation selects."""
        keys = self._asset_keys()
        for key in self._latest():  # materialized keys are listed, defined or not
            if key not in keys:
                keys[key] = (json.loads(key), None)
        cursor = variables.get("cursor")
        if cursor:
            cursor = json.dumps(json.loads(cursor))
        ordered = sorted(key for key in keys if not cursor or key > cursor)
        limit = variables.get("limit")
        if self.max_limit is not None:
            limit = min(limit, self.max_limit) if limit else self.max_limit
        if limit:
            ordered = ordered[:limit]
        latest = self._latest()

        def materializations(key: str) -> list[dict]:
            found = latest.get(key)
            return [] if found is None else [{"runId": found[0], "timestamp": found[1]}]

        nodes = [
            {
                "key": {"path": keys[key][0]},
                "definition": keys[key][1],
                "assetMaterializations": materializations(key),
            }
            for key in ordered
        ]
        connection = {"__typename": "AssetConnection", "nodes": nodes, "cursor": ordered[-1] if ordered else None}
        return {"assetsOrError": connection}


# --- test helpers ----------------------------------------------------------------------------


def fast_retries(monkeypatch: Any) -> None:
    """Backoff waits of at most 10 ms, so that retried requests don't slow the tests down."""
    monkeypatch.setattr("extractor.retry.MAX_BACKOFF_SECONDS", 0.01)
