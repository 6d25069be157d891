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
* ticks of schedules and sensors (`add_tick`), newest first: `ticks(limit:)` of the
  schedules/sensors listing (the repository batch) and `instigationStateOrError { ticks(limit,
  beforeTimestamp, afterTimestamp) }` (strict bounds) both cut at `limit`, clamped to 1000 as
  1.13 does (None: 1000), wherever the cut falls among ticks sharing a timestamp;
* `assetsOrError` paged by key (sorted by the key's JSON form, cursor = that form; `limit`
  clamped by `max_limit` too), with keys that only have materializations (no definition) and
  auto-created stubs, `Asset.assetMaterializations` (a runless materialization has runId "")
  and `AssetNode.dependencyKeys`.
* backfills (`partitionBackfillsOrError`): newest first, cursor = a backfill id (a gone one
  matches nothing), strict `createdAfter`/`createdBefore` filters, no `limit` default (clamped
  by `max_limit` only when set); `partitionBackfillOrError` answers `BackfillNotFoundError` for an
  unknown id; a run's `stepStats` (its "stepStats", see `step`) through the `runIds` filter.

Errors are built as dagster-webserver sends them (see `dagster_webserver/graphql.py`):
`validation_error` (HTTP 400, `{"data": null, "errors": [{message, locations}]}`),
`resolver_error` (HTTP 500, `{"data": null, "errors": [{message, locations, path}]}`) and
`python_error` (an `...OrError` field holding a `PythonError`, HTTP 500 by default).
Tests inject them with `fake.overrides[operation] = fn(variables)`; `fn` returns an answer
(a `CallbackResult`, or a dict sent as the JSON body) or None to let the fake answer normally.
"""

from __future__ import annotations

import dataclasses
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


BACKFILL_TERMINAL = ("COMPLETED", "FAILED", "CANCELED", "COMPLETED_SUCCESS", "COMPLETED_FAILED")
BULK_ACTIONS_FILTER_FIELDS = {"statuses", "createdAfter", "createdBefore", "selectorId"}


def make_backfill(
    index: int,
    status: str = "COMPLETED_SUCCESS",
    created: float | None = None,
    asset: bool = True,
    tags: dict[str, str] | None = None,
) -> dict:
    """Backfill `index` as `partitionBackfillsOrError` answers it, created at BASE_TIME +
    index * RUN_SPACING (or `created`); an asset backfill of two keys, or a job's."""
    created = BASE_TIME + index * RUN_SPACING if created is None else created
    return {
        "id": f"bf{index:06d}",
        "status": status,
        "isAssetBackfill": asset,
        "jobName": None if asset else "partitioned_job",
        "partitionSetName": None if asset else "partitioned_job_partition_set",
        "assetSelection": [{"path": ["warehouse", "orders"]}, {"path": ["daily_metrics"]}] if asset else None,
        "numPartitions": 3 + index % 5,
        "fromFailure": False,
        "creationTime": created,
        "endTimestamp": created + 60.0 if status in BACKFILL_TERMINAL else None,
        "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()],
        "error": {"message": "dagster._core.errors.DagsterError: boom\n"} if "FAIL" in status else None,
        "user": "someone@example.com" if index % 2 else None,
        "title": f"Backfill {index}" if index % 3 == 0 else None,
        "description": None,
    }


def step(
    key: str, status: str = "SUCCESS", start: float = BASE_TIME, duration: float = 10.0, retries: int = 0
) -> dict:
    """A `RunStepStats` of `stepStats`: `retries` failed attempts before the last one."""
    attempts = [
        {"startTime": start + k * duration, "endTime": start + (k + 1) * duration} for k in range(retries + 1)
    ]
    end = None if status == "IN_PROGRESS" else start + (retries + 1) * duration
    if end is None:
        attempts[-1]["endTime"] = None
    return {"stepKey": key, "status": status, "startTime": start, "endTime": end, "attempts": attempts}


@dataclass
class FakeAsset:
    path: list[str]
    description: str | None = None
    # (runId, timestamp in ms as a string) of the latest materialization; runId "" when runless
    latest: tuple[str, str] | None = None
    stub: bool = False  # an auto-created stub for a dependency nobody defines
    deps: list[list[str]] = field(default_factory=list)  # `dependencyKeys`: upstream key paths
    observable: bool = False  # an observable source asset
    checks: list[str] = field(default_factory=list)  # the names of its asset checks
    details: dict = field(default_factory=dict)  # other `AssetNode` fields (groupName, kinds, ...)


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

    @property
    def version_key(self) -> str:
        """`versionKey`: new whenever the definitions change, as a reload makes it (what events
        move, an asset's `latest` and its partition counts, is not a definition)."""

        def definition(asset: FakeAsset) -> FakeAsset:
            details = {k: v for k, v in asset.details.items() if k != "partitionStats"}
            return dataclasses.replace(asset, latest=None, details=details)

        definitions = [
            (repo.name, repo.schedules, repo.sensors, repo.jobs, [definition(a) for a in repo.assets])
            for repo in self.repositories
        ]
        return hashlib.sha1(repr((self.updated, definitions)).encode()).hexdigest()[:12]


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
        # The event log's asset events and check executions, each with its storage id (one
        # sequence, as in Dagster's SQL storage); see `add_event` and `add_check_execution`.
        self.asset_events: list[dict] = []
        self.check_executions: list[dict] = []
        self.next_storage_id = 1
        self.checks_error: str | None = None  # the typename `assetChecksOrError` answers instead
        self.version_keys = True  # False: a Dagster whose schema has no `versionKey`
        self._latest_ids: dict[str, tuple[tuple[str, str], int]] = {}  # key -> (latest, its storage id)
        # Backfills, oldest first (storage order): `PartitionBackfill` objects (see `make_backfill`).
        self.backfills: list[dict] = []
        # Ticks by instigator selectorId, in storage order (see `add_tick`); `limit` clamp of ticks.
        self.ticks: dict[str, list[dict]] = {}
        self.next_tick_id = 1
        self.tick_limit = 1000  # DAGSTER_MAX_TICKS_QUERY_LIMIT
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

    def add_event(
        self, path: list[str], kind: str = "MaterializationEvent", run_id: str = "run-1",
        timestamp_ms: int | None = None, partition: str | None = None, **fields: Any,
    ) -> dict:
        """Logs an asset event (`kind` is its GraphQL typename); returns it."""
        storage_id = self.next_storage_id
        self.next_storage_id += 1
        event = {
            "storage_id": storage_id, "path": path, "__typename": kind, "runId": run_id,
            "stepKey": fields.pop("stepKey", "step"), "partition": partition,
            "timestamp": str(timestamp_ms if timestamp_ms is not None else 1_700_000_000_000 + storage_id),
            "description": None, "tags": [], "metadataEntries": [], **fields,
        }  # fmt: skip
        if kind == "FailedToMaterializeEvent":
            event.setdefault("materializationFailureType", "FAILED")
            event.setdefault("materializationFailureReason", "FAILED_TO_MATERIALIZE")
        self.asset_events.append(event)
        return event

    def add_check_execution(self, path: list[str], check: str, status: str = "SUCCEEDED", run_id: str = "run-1") -> dict:
        """Records an asset check execution; change its `status` later to finish it."""
        execution_id = self.next_storage_id
        self.next_storage_id += 1
        execution = {
            "id": str(execution_id), "path": path, "check": check, "runId": run_id, "status": status,
            "timestamp": BASE_TIME + execution_id, "stepKey": "check_step", "partition": None,
            "evaluation": None if status == "IN_PROGRESS" else {
                "timestamp": BASE_TIME + execution_id, "success": status == "SUCCEEDED",
                "severity": "ERROR", "description": None, "targetMaterialization": {"runId": run_id},
                "metadataEntries": [{"__typename": "IntMetadataEntry", "label": "rows", "intValue": 3, "intRepr": "3"}],
            },
        }  # fmt: skip
        self.check_executions.append(execution)
        return execution

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
        if "r0" in variables:  # one root field per repository, under aliases r0, r1, ...
            return await self._answer_aliased(name, variables)
        self.requests.append((name, variables))
        if not self.version_keys and "versionKey" in body.get("query", ""):  # an older Dagster's schema
            return validation_error('Cannot query field "versionKey" on type "WorkspaceLocationEntry".')
        return await self._answer_one(name, variables)

    async def _answer_aliased(self, name: str, variables: dict) -> CallbackResult:
        """Answers each alias as its own request would be (recorded as such). An alias's
        `PythonError` is that alias's alone (with the status it has alone); a resolver's
        exception (`errors`) or a non-GraphQL answer fails the whole answer, as in Dagster."""
        shared = {key: value for key, value in variables.items() if not key[1:].isdigit()}
        data, status = {}, 200
        for index in range(len(variables) - len(shared)):
            one = {"repositorySelector": variables[f"r{index}"], **shared}
            self.requests.append((name, one))
            answer = await self._answer_one(name, one)
            payload = answer.payload
            if not isinstance(payload, dict) or payload.get("errors") or not isinstance(payload.get("data"), dict):
                return answer
            (value,) = payload["data"].values()
            data[f"r{index}"] = value
            status = max(status, answer.status)
        return CallbackResult(status=status, payload={"data": data})

    async def _answer_one(self, name: str, variables: dict) -> CallbackResult:
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

    def _ConnectorSetupFeatures(self, variables: dict) -> dict | CallbackResult:
        """The setup test's `__type` introspection, answered with dagster-graphql 1.13.28's schema."""
        if not self.introspection:
            return validation_error(INTROSPECTION_DISABLED)
        names = lambda values: [{"name": value} for value in values]  # noqa: E731
        return {
            "RunStatus": {"enumValues": names(RUN_STATUSES)},
            "AssetCheckExecution": {
                "fields": names(["id", "runId", "status", "evaluation", "timestamp", "partition", "stepKey", "run"])
            },
            "BulkActionsFilter": {"inputFields": names(["statuses", "createdBefore", "createdAfter", "selectorId"])},
        }

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
            if self.version_keys:
                entry["versionKey"] = location.version_key
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
                        "isObservable": asset.observable,
                        "isMaterializable": not asset.observable,
                        "assetChecksOrError": self._checks_of(asset),
                        **asset.details,
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

    def _ConnectorAssetGraph(self, variables: dict) -> dict:
        return self._assets_or_error(variables)

    def _ConnectorAssetHeads(self, variables: dict) -> dict:
        return self._assets_or_error(variables)

    def _ConnectorAssetsByKey(self, variables: dict) -> dict:
        """`assetsOrError(assetKeys:)`: a node for each key asked, in that order (one Dagster
        does not know has no definition)."""
        return self._assets_or_error({}, asked=[json.dumps(key["path"]) for key in variables["assetKeys"]])

    def _checks_of(self, asset: FakeAsset) -> dict:
        if self.checks_error:
            return {"__typename": self.checks_error, "message": "checks need a migration"}
        checks = [
            {"name": name, "description": None, "blocking": False, "jobNames": ["job"], "additionalAssetKeys": []}
            for name in asset.checks
        ]
        return {"__typename": "AssetChecks", "checks": checks}

    def _sort_key(self, key: str) -> int | None:
        """`latestEventSortKey` as OSS storage fills it: the newest materialization's id. A
        new `latest` set on an asset is a materialization stored when first seen."""
        ids = [e["storage_id"] for e in self.asset_events if json.dumps(e["path"]) == key and e["__typename"] == "MaterializationEvent"]
        latest = self._latest().get(key)
        if latest is not None:
            seen = self._latest_ids.get(key)
            if seen is None or seen[0] != latest:
                seen = self._latest_ids[key] = (latest, self.next_storage_id)
                self.next_storage_id += 1
            ids.append(seen[1])
        return max(ids, default=None)

    def _ConnectorAssetEvents(self, variables: dict) -> dict:
        """Aliased `assetOrError { assetEventHistory }`: newest first, storage-id cursor; a
        `limit` over 10000 raises, as Dagster's event-log record cap does."""
        data = {}
        for name in variables:
            if not name.startswith("k"):
                continue
            i, path = name[1:], variables[name]["path"]
            limit, cursor = variables[f"l{i}"], variables[f"c{i}"]
            if limit > 10000:
                return resolver_error(f"Limit of {limit} is too large. Max is 10000", [f"w{i}"])
            known = {json.dumps(key[0]) for key in self._asset_keys().values()} | {json.dumps(e["path"]) for e in self.asset_events}
            if json.dumps(path) not in known:
                data[f"w{i}"] = {"__typename": "AssetNotFoundError", "message": "not found"}
                continue
            below = _cursor_id(cursor) if cursor else None
            events = sorted(
                (e for e in self.asset_events if e["path"] == path and (below is None or e["storage_id"] < below)),
                key=lambda e: -e["storage_id"],
            )[:limit]
            results = [{k: v for k, v in e.items() if k not in ("storage_id", "path")} for e in events]
            last = events[-1]["storage_id"] if events else -1
            data[f"w{i}"] = {"__typename": "Asset", "assetEventHistory": {"results": results, "cursor": _event_cursor(last)}}
        return data

    def _ConnectorCheckExecutions(self, variables: dict) -> dict:
        """Aliased `assetCheckExecutions`: newest first; the cursor is an execution id."""
        data = {}
        for name in variables:
            if not name.startswith("k"):
                continue
            i = name[1:]
            path, check, limit, cursor = variables[name]["path"], variables[f"n{i}"], variables[f"l{i}"], variables[f"c{i}"]
            found = sorted(
                (e for e in self.check_executions
                 if e["path"] == path and e["check"] == check and (cursor is None or int(e["id"]) < int(cursor))),
                key=lambda e: -int(e["id"]),
            )[:limit]  # fmt: skip
            data[f"w{i}"] = [{k: v for k, v in e.items() if k not in ("path", "check")} for e in found]
        return data

    def _assets_or_error(self, variables: dict, asked: list[str] | None = None) -> dict:
        """`assetsOrError(cursor, limit)` (or of the `asked` keys), with every field any
        operation selects."""
        keys = self._asset_keys()
        for key in [*self._latest(), *(json.dumps(e["path"]) for e in self.asset_events)]:
            if key not in keys:  # keys with events are listed, defined or not
                keys[key] = (json.loads(key), None)
        if asked is not None:
            for key in asked:
                keys.setdefault(key, (json.loads(key), None))
            ordered = asked if self.max_limit is None else asked[: self.max_limit]  # a clamping proxy
        else:
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
                "latestEventSortKey": None if self._sort_key(key) is None else str(self._sort_key(key)),
            }
            for key in ordered
        ]
        connection = {"__typename": "AssetConnection", "nodes": nodes, "cursor": ordered[-1] if ordered else None}
        return {"assetsOrError": connection}

    # -- backfills and run steps --

    def backfill(self, backfill_id: str) -> dict:
        return next(item for item in self.backfills if item["id"] == backfill_id)

    def delete_backfill(self, backfill_id: str) -> None:
        self.backfills = [item for item in self.backfills if item["id"] != backfill_id]

    def _ConnectorBackfillsPage(self, variables: dict, lean: bool = False) -> dict | CallbackResult:
        """`partitionBackfillsOrError(cursor, limit, filters)`: newest first; the cursor is a
        backfill id (one that is gone matches nothing); `createdAfter`/`createdBefore` are strict
        and ignored when 0; no `limit`: every backfill (clamped by `max_limit` when set, as a
        proxy might)."""
        filters = variables.get("filters") or {}
        for key in filters:
            if key not in BULK_ACTIONS_FILTER_FIELDS:
                return validation_error(
                    f"Variable '$filters' got invalid value {json.dumps(filters)}; Field '{key}' is not "
                    "defined by type 'BulkActionsFilter'."
                )
        found = list(reversed(self.backfills))
        cursor = variables.get("cursor")
        if cursor:
            ids = [item["id"] for item in self.backfills]
            found = [] if cursor not in ids else list(reversed(self.backfills[: ids.index(cursor)]))
        if filters.get("createdAfter"):
            found = [item for item in found if item["creationTime"] > filters["createdAfter"]]
        if filters.get("createdBefore"):
            found = [item for item in found if item["creationTime"] < filters["createdBefore"]]
        if filters.get("statuses"):
            found = [item for item in found if item["status"] in filters["statuses"]]
        limit = variables.get("limit")
        if self.max_limit is not None:
            limit = min(limit, self.max_limit) if limit else self.max_limit
        if limit:
            found = found[:limit]
        results = [{k: v for k, v in item.items() if not (lean and k == "numPartitions")} for item in found]
        return {"partitionBackfillsOrError": {"__typename": "PartitionBackfills", "results": results}}

    def _ConnectorBackfillsPageLean(self, variables: dict) -> dict | CallbackResult:
        return self._ConnectorBackfillsPage(variables, lean=True)

    def _ConnectorBackfill(self, variables: dict, lean: bool = False) -> dict:
        backfill_id = variables["backfillId"]
        found = [item for item in self.backfills if item["id"] == backfill_id]
        if not found:
            value = {"__typename": "BackfillNotFoundError", "message": f"Backfill {backfill_id} could not be found."}
        else:
            value = {"__typename": "PartitionBackfill", **found[0]}
            if lean:
                value.pop("numPartitions")
        return {"partitionBackfillOrError": value}

    def _ConnectorBackfillLean(self, variables: dict) -> dict:
        return self._ConnectorBackfill(variables, lean=True)

    def _ConnectorFinishedRunsPage(self, variables: dict) -> dict | CallbackResult:
        fields = ("runId", "status", "creationTime", "updateTime")
        return self._check_filter(variables.get("filter")) or {
            "runsOrError": {
                "__typename": "Runs",
                "results": [{k: run[k] for k in fields} for run in self._page(variables)],
            }
        }

    def _ConnectorRunStepStats(self, variables: dict) -> dict | CallbackResult:
        """`runsOrError(filter: {runIds}, limit) { results { runId stepStats } }`: a run's
        `stepStats` is its "stepStats" (none: no step event)."""
        invalid = self._check_filter(variables.get("filter"))
        if invalid is not None:
            return invalid
        results = [{"runId": run["runId"], "stepStats": run.get("stepStats", [])} for run in self._page(variables)]
        return {"runsOrError": {"__typename": "Runs", "results": results}}

    # -- ticks --

    def add_tick(
        self, location: str, repository: str, name: str, timestamp: float, status: str = "SUCCESS", **fields: Any
    ) -> dict:
        """Stores a tick of schedule or sensor `name`, with the next tickId; returns it (change
        its fields to update it in place, as the scheduler does when it retries a tick)."""
        tick_id = self.next_tick_id
        self.next_tick_id += 1
        tick = {
            "tickId": str(tick_id), "status": status, "timestamp": timestamp,
            "endTimestamp": None if status == "STARTED" else timestamp + 1.0,
            "runIds": [], "runKeys": [], "skipReason": None, "error": None, **fields,
        }  # fmt: skip
        self.ticks.setdefault(selector_id(location, repository, name), []).append(tick)
        return tick

    def delete_tick(self, tick_id: str) -> None:
        """Purges a tick (Dagster's tick retention)."""
        for ticks in self.ticks.values():
            ticks[:] = [tick for tick in ticks if tick["tickId"] != tick_id]

    def _ticks_of(self, selector: str, limit: int | None, before: float | None = None, after: float | None = None) -> list[dict]:
        """`InstigationState.ticks`: newest first (ties: newest stored first), strictly
        between the bounds (falsy bounds ignored), cut at the clamped limit."""
        limit = self.tick_limit if limit is None else min(limit, self.tick_limit)
        ticks = sorted(self.ticks.get(selector, []), key=lambda tick: (tick["timestamp"], int(tick["tickId"])), reverse=True)
        if before:
            ticks = [tick for tick in ticks if tick["timestamp"] < before]
        if after:
            ticks = [tick for tick in ticks if tick["timestamp"] > after]
        return [dict(tick) for tick in ticks[:limit]]

    def _instigator_ticks(self, variables: dict, kind: str) -> dict:
        root, typename, state = {
            "schedules": ("schedulesOrError", "Schedules", "scheduleState"),
            "sensors": ("sensorsOrError", "Sensors", "sensorState"),
        }[kind]
        selector = variables["repositorySelector"]
        found = self._repository(selector)
        if found is None:
            return self._not_found(root, selector)
        location, repository = found
        results = []
        for item in getattr(repository, kind):
            selected = selector_id(location.name, repository.name, item["name"])
            results.append({"name": item["name"], state: {
                "selectorId": selected, "instigationType": "SCHEDULE" if kind == "schedules" else "SENSOR",
                "ticks": self._ticks_of(selected, variables.get("limit")),
            }})  # fmt: skip
        return {root: {"__typename": typename, "results": results}}

    def _ConnectorScheduleTicks(self, variables: dict) -> dict:
        return self._instigator_ticks(variables, "schedules")

    def _ConnectorSensorTicks(self, variables: dict) -> dict:
        return self._instigator_ticks(variables, "sensors")

    def _ConnectorInstigatorTicks(self, variables: dict) -> dict:
        selector = variables["selector"]
        found = self._repository(selector)
        if found is not None:
            location, repository = found
            for item in [*repository.sensors, *repository.schedules]:  # a sensor first, as Dagster looks
                if item["name"] == selector["name"]:
                    selected = selector_id(location.name, repository.name, item["name"])
                    ticks = self._ticks_of(selected, variables.get("limit"), variables.get("before"), variables.get("after"))
                    return {"instigationStateOrError": {"__typename": "InstigationState", "selectorId": selected, "ticks": ticks}}
        message = f"Could not find instigation state for `{selector['name']}`"
        return {"instigationStateOrError": {"__typename": "InstigationStateNotFoundError", "message": message}}


def _event_cursor(storage_id: int) -> str:
    """Dagster's event-log cursor (`EventLogCursor.from_storage_id(...).to_string()`)."""
    import base64

    return base64.b64encode(json.dumps({"type": "STORAGE_ID", "value": storage_id}).encode()).decode()


def _cursor_id(cursor: str) -> int:
    import base64

    return int(json.loads(base64.b64decode(cursor))["value"])


# --- test helpers ----------------------------------------------------------------------------


def fast_retries(monkeypatch: Any) -> None:
    """Backoff waits of at most 10 ms, so that retried requests don't slow the tests down."""
    monkeypatch.setattr("extractor.retry.MAX_BACKOFF_SECONDS", 0.01)
