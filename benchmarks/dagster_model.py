"""A deterministic, compact model of a Dagster deployment's metadata, for the simulated server.

Nothing here does I/O or imports anything outside the standard library, so a benchmark
connector can import it too (`destination_only` writes exactly the rows the connector would).

Runs are *derived*, not stored: run `i` (storage id `i + 1`) is a pure function of
`(seed, i)`, so a million runs cost no memory. Its id starts with `i` in 8 hex digits (a
cursor maps back to `i` in O(1), and ids sort like storage ids); its creation time is
monotonic in `i` (time filters are binary searches); its update time is creation plus a
duration of at most `MAX_DURATION_MS`. Only runs changed by `set_run_status` (a small
dict), runs added by `add_runs` (one integer each) and runs deleted by `delete_runs` (one
integer each) are held in memory.

Run semantics follow dagster 1.13 (`SqlRunStorage._runs_query`, `RunsFilter.to_selector`,
`dagster_graphql.implementation.fetch_runs.get_runs`):
  * runs are returned newest created first (storage id descending);
  * `cursor` is a run id and selects runs with a strictly lower storage id; a cursor whose run
    does not exist (never did, or was deleted) selects nothing (`id < (SELECT id ... )` is
    NULL); an empty cursor is no cursor;
  * `limit` 0 or absent: no limit (`if limit: query.limit(limit)`);
  * time bounds are floats turned into datetimes (`datetime.fromtimestamp`, rounded to the
    microsecond) and compared strictly with the stored timestamps; falsy bounds (0, null) and
    empty lists are ignored; `tags` is a dict (a repeated key keeps its last value);
  * `count` applies the filter, never the cursor or limit.

Assets follow `fetch_assets.get_assets` (the workspace's `assetsOrError`): the keys that have
events in the instance (first `limit` after the cursor, in the database's string order) merged
with every key of the workspace's asset graph after the cursor, sorted by `str(AssetKey)`,
cut to `limit`; the cursor is the last key's `to_string()` (its JSON). A key's `definition`
is null when no loaded code location defines it (an asset retired from code, or one of a
location that failed to load); `isAutoCreatedStub` marks the stubs Dagster makes for
dependencies nobody defines; `dependencyKeys` lists an asset's upstream keys (its own location's
assets, its stubs, and one asset of the previous location: an edge across locations). Schedules
and sensors carry their `InstigationState.selectorId`,
`create_snapshot_id(InstigatorSelector(location, repository, name))`, computed as Dagster does.

Each run belongs to a code location (`repositoryOrigin`) and runs one of its jobs; about 2% of
the base runs are re-executions of an older run of the same job (`parentRunId` = `rootRunId`,
with Dagster's `dagster/parent_run_id` and `dagster/root_run_id` tags). Each repository has
`JOBS_PER_REPOSITORY` jobs (some with tags and owners) and Dagster's implicit `__ASSET_JOB`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

try:  # as a package (benchmarks.dagster_model) or from the benchmarks directory
    from benchmarks.asset_history import expected_details
except ImportError:  # pragma: no cover
    from asset_history import expected_details  # type: ignore[no-redef]

MASK64 = (1 << 64) - 1
YEAR_MS = 365 * 86_400 * 1000
MIN_DURATION_MS = 5_000
MAX_DURATION_MS = 3_600_000  # a run's update time is at most this after its creation
MAX_QUEUE_DELAY_MS = 5_000

# dagster 1.13's DagsterRunStatus, in its declaration order (what `__type(name: "RunStatus")`
# lists); dagster 1.11 has no SUSPENDED.
ALL_STATUSES = (
    "QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED", "SUCCESS", "FAILURE",
    "CANCELING", "CANCELED",
)  # fmt: skip
ALL_STATUSES_1_11 = tuple(status for status in ALL_STATUSES if status != "SUSPENDED")
TERMINAL_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
NOT_FINISHED_STATUSES = tuple(status for status in ALL_STATUSES if status not in TERMINAL_STATUSES)
IN_PROGRESS_STATUSES = NOT_FINISHED_STATUSES  # the name older callers use
NOT_STARTED_STATUSES = ("QUEUED", "NOT_STARTED", "MANAGED")  # no start time yet
HIDDEN_TAG_PREFIX = ".dagster/"
REPOSITORY_TAG = ".dagster/repository"
SENSOR_TAG = "dagster/sensor_name"
SCHEDULE_TAG = "dagster/schedule_name"
REPOSITORY_NAME = "__repository__"  # what Dagster names the repository of a `Definitions`
PARENT_RUN_TAG = "dagster/parent_run_id"
ROOT_RUN_TAG = "dagster/root_run_id"
IMPLICIT_ASSET_JOB = "__ASSET_JOB"  # Dagster's implicit job of a repository's assets
JOBS_PER_REPOSITORY = 4  # JOB_NAMES[(r + k) % 6], k < 4: every job its schedules and sensors target
REEXECUTION_PER_MILLE = 20  # base runs that re-execute an older run
DAGSTER_LIBRARY_VERSION = "1.13.28"

LOCATION_NAMES = ("analytics", "ingestion", "ml_platform", "finance", "marketing", "ops")
LOCATION_STATES = ("loaded", "failed", "loading")
JOB_NAMES = ("daily_orders_job", "hourly_events_job", "customer_dim_job", "ml_features_job",
             "reporting_job", "backfill_job")  # fmt: skip
TEAMS = ("data", "ml", "finance", "platform")
LAYERS = ("raw", "staging", "marts")
CRONS = ("0 0 * * *", "0 * * * *", "*/15 * * * *", "0 6 * * 1-5", "30 2 * * 0")
SENSOR_TYPES = ("STANDARD", "RUN_STATUS", "ASSET", "MULTI_ASSET", "AUTOMATION")

# The connector's run page fields (extractor/documents.py), in its order: the server's fast path.
RUN_FIELDS = ("runId", "pipelineName", "status", "mode", "creationTime", "startTime", "endTime",
              "updateTime", "tags", "repositoryOrigin", "rootRunId", "parentRunId")  # fmt: skip
ORIGIN_FIELDS = ("repositoryLocationName", "repositoryName")  # the connector's `repositoryOrigin { }`
RUNS_FILTER_FIELDS = ("runIds", "pipelineName", "tags", "statuses", "snapshotId", "updatedAfter",
                      "updatedBefore", "createdBefore", "createdAfter", "mode")  # fmt: skip
_TIME_BOUNDS = ("updatedAfter", "updatedBefore", "createdAfter", "createdBefore")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def mix64(value: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def iso_utc(epoch_seconds: float | None) -> str | None:
    """A timestamp as the tests read it back from DuckDB (`strftime(..., '%Y-%m-%dT%H:%M:%S.%fZ')`)."""
    if epoch_seconds is None:
        return None
    moment = datetime.fromtimestamp(float(epoch_seconds), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dagster_bound_us(seconds: float) -> int:
    """A `RunsFilter` time bound as Dagster compares it: `datetime.fromtimestamp` (which rounds
    to the microsecond), in integer microseconds since the epoch."""
    return (datetime.fromtimestamp(float(seconds), tz=timezone.utc) - _EPOCH) // _MICROSECOND


_MICROSECOND = datetime.resolution


def selector_id(location: str, repository: str, name: str) -> str:
    """`InstigatorState.selector_id`: sha1 of the serialised `InstigatorSelector`."""
    serialised = json.dumps({"__class__": "InstigatorSelector", "location_name": location,
                             "name": name, "repository_name": repository})  # fmt: skip
    return hashlib.sha1(serialised.encode()).hexdigest()


def asset_key_string(path: list[str]) -> str:
    """`AssetKey.to_string()`: the JSON of the path (the assets cursor, the database's order)."""
    return json.dumps(path)


def asset_sort_key(path: list[str]) -> str:
    """`str(AssetKey)`, by which `get_assets` sorts (not quite the cursor's order)."""
    return f"AssetKey({list(path)})"


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


class Run:
    """One run's fields (times in integer milliseconds). Built on demand, never stored."""

    __slots__ = ("index", "run_id", "job", "status", "create_ms", "start_ms", "end_ms",
                 "update_ms", "tags", "repository_label", "location", "parent_run_id")  # fmt: skip

    def __init__(self, index: int, run_id: str, job: str, status: str, create_ms: int,
                 start_ms: int | None, end_ms: int | None, update_ms: int,
                 tags: tuple[tuple[str, str], ...], repository_label: str, location: str,
                 parent_run_id: str | None = None) -> None:  # fmt: skip
        self.index = index
        self.run_id = run_id
        self.job = job
        self.status = status
        self.create_ms = create_ms
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.update_ms = update_ms
        self.tags = tags  # visible tags only
        self.repository_label = repository_label  # the hidden `.dagster/repository` tag
        self.location = location  # its code location (the repository is REPOSITORY_NAME)
        self.parent_run_id = parent_run_id  # a re-execution's parent, which is also its root

    def graphql(self, fields: Iterable[str] = RUN_FIELDS) -> dict[str, Any]:
        """The `Run` object as dagster-graphql answers it, with only `fields`."""
        out: dict[str, Any] = {}
        for field in fields:
            if field == "runId" or field == "id":
                out[field] = self.run_id
            elif field == "pipelineName" or field == "jobName":
                out[field] = self.job
            elif field == "status":
                out[field] = self.status
            elif field == "mode":
                out[field] = "default"
            elif field == "creationTime":
                out[field] = _seconds(self.create_ms)
            elif field == "startTime":
                out[field] = _seconds(self.start_ms)
            elif field == "endTime":
                out[field] = _seconds(self.end_ms)
            elif field == "updateTime":
                out[field] = _seconds(self.update_ms)
            elif field == "tags":
                out[field] = [{"key": key, "value": value} for key, value in self.tags]
            elif field == "repositoryOrigin":
                out[field] = {"repositoryLocationName": self.location, "repositoryName": REPOSITORY_NAME}
            elif field == "rootRunId" or field == "parentRunId":
                out[field] = self.parent_run_id
            elif field == "__typename":
                out[field] = "Run"
            else:
                raise KeyError(field)
        return out

    def row(self) -> dict[str, Any]:
        """The `dagster_runs` row the connector writes for this run."""
        return {
            "run_id": self.run_id,
            "pipeline_name": self.job,
            "code_location": self.location,
            "repository": REPOSITORY_NAME,
            "parent_run_id": self.parent_run_id,
            "root_run_id": self.parent_run_id,
            "status": self.status,
            "mode": "default",
            "creation_time": iso_utc(_seconds(self.create_ms)),
            "start_time": iso_utc(_seconds(self.start_ms)),
            "end_time": iso_utc(_seconds(self.end_ms)),
            "update_time": iso_utc(_seconds(self.update_ms)),
            "tags": dict(self.tags),
        }

    def tag_value(self, key: str) -> str | None:
        if key == REPOSITORY_TAG:
            return self.repository_label
        for tag_key, value in self.tags:
            if tag_key == key:
                return value
        return None


class _CreateTimes:
    """The creation times of all runs (deleted ones included) as a sequence, for `bisect`."""

    def __init__(self, model: DagsterModel) -> None:
        self._model = model

    def __len__(self) -> int:
        return self._model.stored_runs

    def __getitem__(self, index: int) -> int:
        return self._model.create_ms(index)


class RunsFilterError(ValueError):
    """A `RunsFilter` value that GraphQL's variable coercion rejects (HTTP 400)."""


class DagsterModel:
    """The deployment: N generated runs plus few mutations, code locations, assets, instigators."""

    def __init__(
        self,
        runs: int = 1000,
        seed: int = 0,
        repositories: int = 2,
        assets_per_repository: int = 50,
        schedules_per_repository: int = 3,
        sensors_per_repository: int = 3,
        in_progress_runs: int = 6,
        now: float | None = None,
        shared_sensor_names: bool = False,
        stub_assets_per_repository: int = 2,
        retired_assets_per_repository: int = 1,
        ticks: int = 0,
        tick_ties: int = 1,
        backfills: int = 0,
        run_tags: int = 0,
        run_tag_chars: int = 200,
    ) -> None:
        if runs < 0 or runs >= 1 << 32:
            raise ValueError("runs must be between 0 and 2**32 - 1")
        self.base_runs = runs
        self.seed = seed
        self._salt = mix64(seed * 0x632BE59BD9B4E019 + 1)
        self.repositories = max(1, repositories)
        self.assets_per_repository = assets_per_repository
        self.schedules_per_repository = schedules_per_repository
        self.sensors_per_repository = sensors_per_repository
        self.stub_assets_per_repository = stub_assets_per_repository
        self.retired_assets_per_repository = retired_assets_per_repository
        self.shared_sensor_names = shared_sensor_names
        self.run_tags = max(0, run_tags)  # extra tags on every run (large tags: a k8s config, ...)
        self.run_tag_chars = max(16, run_tag_chars)
        self.now_ms = int(round((time.time() if now is None else now) * 1000))
        # Base runs are created over one year; the newest finishes by `now` at the latest.
        self._last_create_ms = self.now_ms - MAX_DURATION_MS
        self._first_create_ms = self._last_create_ms - YEAR_MS
        self._in_progress_base = min(in_progress_runs, runs)
        self._added_create = array("q")  # creation ms of runs added by add_runs, in order
        self._added_status: list[str] = []
        self._mutated: dict[int, tuple[str, int | None, int | None, int]] = {}
        self._mutated_sorted: list[int] = []
        self._deleted: set[int] = set()
        self._deleted_sorted: list[int] = []
        self._not_finished: set[int] = set(range(runs - self._in_progress_base, runs))
        self._clock_ms = self.now_ms
        self._creates = _CreateTimes(self)
        self._tags_json: dict[tuple[int, ...], str] = {}
        self._location_states = ["loaded"] * self.repositories
        # When each location was last (re)loaded: `WorkspaceLocationEntry.updatedTimestamp` (ms).
        self._location_updated = [self.now_ms - 86_400_000 + 60_000 * r for r in range(self.repositories)]
        self._assets_cache: tuple[list[_AssetKey], list[_AssetKey]] | None = None
        self._assets_by_path: tuple[list[_AssetKey], dict[tuple[str, ...], _AssetKey]] | None = None
        self.lock = threading.RLock()  # mutations vs. the server thread's reads
        # `ticks` schedule and sensor ticks in all, `tick_ties` of them per timestamp.
        self.instigator_ticks = InstigatorTicks(self, ticks, tick_ties)
        self.backfills = Backfills(self, backfills)  # `partitionBackfillsOrError`

    # ---- identity and times -------------------------------------------------------------

    @property
    def stored_runs(self) -> int:
        """Runs ever created (deleted ones included): the next index."""
        return self.base_runs + len(self._added_create)

    @property
    def total_runs(self) -> int:
        """Runs that exist now."""
        return self.stored_runs - len(self._deleted)

    def _hash(self, index: int) -> int:
        return mix64(self._salt ^ index)

    def run_id(self, index: int) -> str:
        """A uuid4-shaped id whose first 8 hex digits are the index (so ids sort like indices)."""
        h = self._hash(index)
        return self._format_id(index, h, h & 0x3FFFFFFF)

    _ID = "%08x-%04x-4%03x-%s%03x-%012x"

    @staticmethod
    def _id_parts(index: int, h: int, lo: int) -> tuple[int | str, ...]:
        return (index, h >> 48, (h >> 36) & 0xFFF, "89ab"[lo & 3], (h >> 24) & 0xFFF,
                ((h & 0xFFFFFF) << 24) | ((lo * 2654435761) & 0xFFFFFF))  # fmt: skip

    @classmethod
    def _format_id(cls, index: int, h: int, lo: int) -> str:
        return cls._ID % cls._id_parts(index, h, lo)

    def index_of(self, run_id: str) -> int | None:
        """The index of the run with this id, or None if there is none now (O(1))."""
        if not isinstance(run_id, str) or len(run_id) != 36:
            return None
        try:
            index = int(run_id[:8], 16)
        except ValueError:
            return None
        if index >= self.stored_runs or index in self._deleted or self.run_id(index) != run_id:
            return None
        return index

    def create_ms(self, index: int) -> int:
        if index < self.base_runs:
            return self._first_create_ms + ((index + 1) * YEAR_MS) // self.base_runs
        return self._added_create[index - self.base_runs]

    def _first_created_after(self, bound_us: int) -> int:
        """The smallest index created strictly after `bound_us` (create_ms * 1000 > bound_us)."""
        return bisect.bisect_right(self._creates, bound_us // 1000)

    def _first_created_at_or_after(self, bound_us: int) -> int:
        """The smallest index created at or after `bound_us` (create_ms * 1000 >= bound_us)."""
        return bisect.bisect_left(self._creates, -(-bound_us // 1000))

    def _tick(self) -> int:
        """'Now' in ms for a mutation: wall clock, strictly increasing, after every base time."""
        self._clock_ms = max(int(time.time() * 1000), self._clock_ms + 1)
        return self._clock_ms

    # ---- one run --------------------------------------------------------------------------

    def location_name(self, repository: int) -> str:
        if repository < len(LOCATION_NAMES):
            return LOCATION_NAMES[repository]
        return f"location_{repository}"

    _location = location_name

    def sensor_name(self, repository: int, k: int) -> str:
        if self.shared_sensor_names:
            return f"sensor_{k}"
        return f"{self.location_name(repository)}_sensor_{k}"

    def schedule_name(self, repository: int, k: int) -> str:
        return f"{self.location_name(repository)}_schedule_{k}"

    # Run i's pseudo-random fields come from two 30-bit halves of its hash (`lo`, `hi`):
    # small integers keep the arithmetic cheap, which matters at a million runs.

    def run(self, index: int) -> Run:
        """Run `index` as it is now (including mutations)."""
        h = self._hash(index)
        lo, hi = h & 0x3FFFFFFF, (h >> 30) & 0x3FFFFFFF
        repository = lo % self.repositories
        job = self._job(repository, lo)
        create = self.create_ms(index)
        in_progress_base = self.base_runs - self._in_progress_base <= index < self.base_runs
        parent = self._parent(index, lo, hi) if index < self.base_runs and not in_progress_base else None
        if parent is not None:  # a re-execution runs its parent's job, in its parent's location
            parent_h = self._hash(parent)
            parent_lo = parent_h & 0x3FFFFFFF
            repository = parent_lo % self.repositories
            job = self._job(repository, parent_lo)
            parent_id: str | None = self._format_id(parent, parent_h, parent_lo)
        else:
            parent_id = None
        if index < self.base_runs:
            duration = MIN_DURATION_MS + hi % (MAX_DURATION_MS - MIN_DURATION_MS)
            delay = min((hi >> 8) % MAX_QUEUE_DELAY_MS, duration)
            if in_progress_base:
                status = ("STARTED", "QUEUED")[(self.base_runs - 1 - index) % 2]
            else:
                bucket = (lo >> 16) % 100
                status = "SUCCESS" if bucket < 76 else "FAILURE" if bucket < 96 else "CANCELED"
            if status == "QUEUED":
                start, end, update = None, None, create
            elif status == "STARTED":
                start = create + delay
                end, update = None, start
            else:
                start, end, update = create + delay, create + duration, create + duration
        else:
            status = self._added_status[index - self.base_runs]
            if status in NOT_STARTED_STATUSES:
                start, end, update = None, None, create
            elif status in NOT_FINISHED_STATUSES:
                start, end, update = create, None, create
            else:
                start, end, update = create, create, create
        if index in self._mutated:
            status, start, end, update = self._mutated[index]
        if parent_id is not None:
            tags = [(PARENT_RUN_TAG, parent_id), (ROOT_RUN_TAG, parent_id), ("team", TEAMS[(hi >> 26) % len(TEAMS)])]
        else:
            tags = self._base_tags(lo, hi, repository, in_progress_base)
        if self.run_tags:
            tags = [*tags, *self._extra_tags(h)]
        location = self.location_name(repository)
        return Run(index, self._format_id(index, h, lo), job, status, create, start, end, update,
                   tuple(tags), f"{REPOSITORY_NAME}@{location}", location, parent_id)  # fmt: skip

    @staticmethod
    def _job(repository: int, lo: int) -> str:
        """The job of a run of `repository` (one of the repository's JOBS_PER_REPOSITORY)."""
        return JOB_NAMES[(repository + (lo >> 8) % JOBS_PER_REPOSITORY) % len(JOB_NAMES)]

    def _parent(self, index: int, lo: int, hi: int) -> int | None:
        """The run a base run re-executes (about 2% of them), else None. The parent is an
        older run that is not a re-execution itself, so it is also the root."""
        if (hi >> 12) % 1000 >= REEXECUTION_PER_MILLE:
            return None
        parent = index - 1 - (lo >> 4) % 1000
        if parent < 0:
            return None
        parent_h = self._hash(parent)
        if ((parent_h >> 42) & 0x3FFFF) % 1000 < REEXECUTION_PER_MILLE:  # (hi >> 12) of the parent
            return None
        return parent

    def _base_tags(self, lo: int, hi: int, repository: int, in_progress: bool = False) -> list[tuple[str, str]]:
        launcher = (lo >> 24) % 10  # 0-3: a schedule, 4-5: a sensor, else by hand
        tags: list[tuple[str, str]] = []
        if (in_progress or 4 <= launcher <= 5) and self.sensors_per_repository > 0:
            tags.append((SENSOR_TAG, self.sensor_name(repository, (hi >> 22) % self.sensors_per_repository)))
        elif launcher <= 3 and self.schedules_per_repository > 0:
            tags.append((SCHEDULE_TAG, self.schedule_name(repository, (hi >> 22) % self.schedules_per_repository)))
        tags.append(("team", TEAMS[(hi >> 26) % len(TEAMS)]))
        return tags

    def _extra_tags(self, h: int) -> list[tuple[str, str]]:
        """`run_tags` tags of about `run_tag_chars` characters each, distinct per run (a hash
        prefix) as deployment tags are (image digests, k8s configs, partitions, git hashes)."""
        filler = "x" * (self.run_tag_chars - 17)
        return [(f"org/label_{t:02d}", f"{mix64(h ^ t):016x}-{filler}") for t in range(self.run_tags)]

    # Compact, as Starlette's JSONResponse writes it (separators=(",", ":")).
    _RUN_JSON = ('{"runId":"' + _ID + '","pipelineName":"%s","status":"%s","mode":"default",'
                 '"creationTime":%d.%03d,"startTime":%d.%03d,"endTime":%d.%03d,'
                 '"updateTime":%d.%03d,"tags":%s,"repositoryOrigin":{"repositoryLocationName":"%s",'
                 '"repositoryName":"' + REPOSITORY_NAME + '"},"rootRunId":null,"parentRunId":null}')  # fmt: skip

    def run_json(self, index: int) -> str:
        """The JSON of `self.run(index).graphql()` (times as `%d.%03d`: the same floats), about
        three times faster than building it, for a page's runs."""
        if index >= self.base_runs - self._in_progress_base or index in self._mutated:
            return json.dumps(self.run(index).graphql(RUN_FIELDS), separators=(",", ":"))
        h = self._hash(index)
        lo, hi = h & 0x3FFFFFFF, (h >> 30) & 0x3FFFFFFF
        if (hi >> 12) % 1000 < REEXECUTION_PER_MILLE:  # perhaps a re-execution: the slow path
            return json.dumps(self.run(index).graphql(RUN_FIELDS), separators=(",", ":"))
        repository = lo % self.repositories
        bucket = (lo >> 16) % 100
        duration = MIN_DURATION_MS + hi % (MAX_DURATION_MS - MIN_DURATION_MS)
        delay = min((hi >> 8) % MAX_QUEUE_DELAY_MS, duration)
        create = self._first_create_ms + ((index + 1) * YEAR_MS) // self.base_runs
        start, end = create + delay, create + duration
        key = (repository, (lo >> 24) % 10, hi >> 22)
        tags = self._tags_json.get(key)
        if tags is None:
            pairs = self._base_tags(lo, hi, repository)
            tags = json.dumps([{"key": k, "value": v} for k, v in pairs], separators=(",", ":"))
            self._tags_json[key] = tags
        if self.run_tags:
            extra = json.dumps([{"key": k, "value": v} for k, v in self._extra_tags(h)], separators=(",", ":"))
            tags = tags[:-1] + "," + extra[1:]
        return self._RUN_JSON % (
            index, h >> 48, (h >> 36) & 0xFFF, "89ab"[lo & 3], (h >> 24) & 0xFFF,
            ((h & 0xFFFFFF) << 24) | ((lo * 2654435761) & 0xFFFFFF),
            JOB_NAMES[(repository + (lo >> 8) % JOBS_PER_REPOSITORY) % len(JOB_NAMES)],
            "SUCCESS" if bucket < 76 else "FAILURE" if bucket < 96 else "CANCELED",
            create // 1000, create % 1000, start // 1000, start % 1000, end // 1000, end % 1000,
            end // 1000, end % 1000, tags, self.location_name(repository),
        )  # fmt: skip

    # ---- mutations --------------------------------------------------------------------------

    def add_runs(self, n: int, status: str | None = None) -> list[str]:
        """Adds `n` runs created now (newest), finished at once unless `status` says otherwise."""
        if status is not None and status not in ALL_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        with self.lock:
            ids = []
            for _ in range(n):
                index = self.stored_runs
                run_status = status or ("SUCCESS" if self._hash(index) % 5 else "FAILURE")
                self._added_create.append(self._tick())
                self._added_status.append(run_status)
                if run_status in NOT_FINISHED_STATUSES:
                    self._not_finished.add(index)
                ids.append(self.run_id(index))
            return ids

    def set_run_status(self, run_id: str, status: str) -> None:
        """Changes a run's status; its update time becomes now (and its end time, if it ended)."""
        if status not in ALL_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        with self.lock:
            index = self.index_of(run_id)
            if index is None:
                raise KeyError(run_id)
            current = self.run(index)
            now = self._tick()
            start = current.start_ms
            if start is None and status not in NOT_STARTED_STATUSES:
                start = now
            end = now if status in TERMINAL_STATUSES else None
            if index not in self._mutated:
                bisect.insort(self._mutated_sorted, index)
            self._mutated[index] = (status, start, end, now)
            if status in NOT_FINISHED_STATUSES:
                self._not_finished.add(index)
            else:
                self._not_finished.discard(index)

    def delete_runs(self, run_ids: Iterable[str]) -> None:
        """Deletes runs, as `DagsterInstance.delete_run` does (their ids become unknown)."""
        with self.lock:
            for run_id in run_ids:
                index = self.index_of(run_id)
                if index is None:
                    raise KeyError(run_id)
                self._deleted.add(index)
                bisect.insort(self._deleted_sorted, index)
                self._not_finished.discard(index)

    def set_location_state(self, location: str, state: str) -> None:
        """'loaded', 'failed' (loaded with a PythonError) or 'loading' (no location yet)."""
        if state not in LOCATION_STATES:
            raise ValueError(f"unknown location state {state!r} (known: {LOCATION_STATES})")
        with self.lock:
            for r in range(self.repositories):
                if self.location_name(r) == location:
                    self._location_states[r] = state
                    self._location_updated[r] = self._tick()
                    self._assets_cache = None
                    return
            raise KeyError(location)

    def location_state(self, repository: int) -> str:
        return self._location_states[repository]

    def location_updated(self, repository: int) -> float:
        """`WorkspaceLocationEntry.updatedTimestamp` (seconds) of the location."""
        return self._location_updated[repository] / 1000

    def library_versions(self, repository: int) -> list[tuple[str, str]]:
        """`RepositoryLocation.dagsterLibraryVersions` of a loaded location (the code server's
        `DagsterLibraryRegistry`): dagster and dagster-shared, plus dagster-dbt in the first."""
        versions = [("dagster-shared", DAGSTER_LIBRARY_VERSION), ("dagster", DAGSTER_LIBRARY_VERSION)]
        if repository == 0:
            versions.append(("dagster-dbt", "0.29.28"))
        return versions

    # ---- run queries ----------------------------------------------------------------------

    @staticmethod
    def normalise(runs_filter: dict[str, Any] | None, statuses: tuple[str, ...] = ALL_STATUSES) -> dict[str, Any]:
        """A `RunsFilter` as Dagster applies it: falsy values dropped, time bounds in integer
        microseconds (`dagster_bound_us`), `tags` as a dict. A `statuses` list naming every
        status is dropped too (it matches every run).

        Raises:
            RunsFilterError: a field or status that the schema does not know.
        """
        f: dict[str, Any] = {}
        for key, value in (runs_filter or {}).items():
            if key not in RUNS_FILTER_FIELDS:
                raise RunsFilterError(f"Field '{key}' is not defined by type 'RunsFilter'.")
            if key == "statuses" and value:
                for position, status in enumerate(value):
                    if status not in statuses:
                        raise RunsFilterError(
                            f"Value '{status}' does not exist in 'RunStatus' enum."
                            f" (at 'filter.statuses[{position}]')"
                        )
                if set(value) >= set(statuses):
                    continue
            if not value:
                continue
            if key in _TIME_BOUNDS:
                f[key] = dagster_bound_us(value)
            elif key == "tags":
                f[key] = {tag["key"]: tag["value"] for tag in value}
            else:
                f[key] = value
        return f

    def _candidates(self, f: dict[str, Any], upper: int) -> Iterator[int]:
        """Indices below `upper`, descending, that may match `f` (a superset of the matches;
        deleted runs included)."""
        if "runIds" in f:
            found = {self.index_of(run_id) for run_id in f["runIds"]}
            yield from sorted((i for i in found if i is not None and i < upper), reverse=True)
            return
        if "statuses" in f and not set(f["statuses"]) & set(TERMINAL_STATUSES):
            yield from sorted((i for i in self._not_finished if i < upper), reverse=True)
            return
        lo, hi = 0, upper
        lo_updated = None
        if "createdAfter" in f:
            lo = max(lo, self._first_created_after(f["createdAfter"]))
        if "createdBefore" in f:
            hi = min(hi, self._first_created_at_or_after(f["createdBefore"]))
        if "updatedBefore" in f:  # update >= create, so update < t needs create < t
            hi = min(hi, self._first_created_at_or_after(f["updatedBefore"]))
        if "updatedAfter" in f:  # unchanged runs: update <= create + MAX_DURATION
            lo_updated = self._first_created_after(f["updatedAfter"] - (MAX_DURATION_MS + 1) * 1000)
        start = lo if lo_updated is None else max(lo, lo_updated)
        yield from range(hi - 1, start - 1, -1)
        if lo_updated is not None and lo_updated > lo:
            # changed runs may be older than the band: their update time is "now"
            right = bisect.bisect_left(self._mutated_sorted, min(lo_updated, hi))
            left = bisect.bisect_left(self._mutated_sorted, lo)
            yield from reversed(self._mutated_sorted[left:right])

    @staticmethod
    def matches(run: Run, f: dict[str, Any]) -> bool:
        """Whether `run` matches a `normalise`d filter."""
        if "runIds" in f and run.run_id not in f["runIds"]:
            return False
        if "statuses" in f and run.status not in f["statuses"]:
            return False
        if "pipelineName" in f and run.job != f["pipelineName"]:
            return False
        if "snapshotId" in f:
            return False  # no run of the model has a snapshot id anyone knows
        if "updatedAfter" in f and not run.update_ms * 1000 > f["updatedAfter"]:
            return False
        if "updatedBefore" in f and not run.update_ms * 1000 < f["updatedBefore"]:
            return False
        if "createdAfter" in f and not run.create_ms * 1000 > f["createdAfter"]:
            return False
        if "createdBefore" in f and not run.create_ms * 1000 < f["createdBefore"]:
            return False
        for key, wanted in (f.get("tags") or {}).items():
            if run.tag_value(key) != wanted:
                return False
        return True

    def select_indices(self, runs_filter: dict[str, Any] | None, cursor: str | None = None,
                       limit: int | None = None, *, normalised: bool = False) -> list[int]:  # fmt: skip
        """`runsOrError(filter, cursor, limit)` as run indices: newest created first, strictly
        older than `cursor`'s run; an unknown cursor selects nothing; limit 0/None: all."""
        f = runs_filter if normalised else self.normalise(runs_filter)
        with self.lock:
            upper = self.stored_runs
            if cursor:
                position = self.index_of(cursor)
                if position is None:
                    return []  # Dagster: `id < (subquery of a missing run)` matches nothing
                upper = position
            if not limit or limit < 0:
                limit = None
            deleted = self._deleted
            found: list[int] = []
            # Runs in [sure, hi) match for certain (creation-time bounds, and created after an
            # updatedAfter bound): listed without building them; the rest are checked one by one.
            sure, hi = self._sure_range(f, upper)
            for index in range(hi - 1, sure - 1, -1):
                if deleted and index in deleted:
                    continue
                found.append(index)
                if limit is not None and len(found) >= limit:
                    return found
            for index in self._candidates(f, sure):
                if index in deleted:
                    continue
                if self.matches(self.run(index), f):
                    found.append(index)
                    if limit is not None and len(found) >= limit:
                        break
            return found

    def _sure_range(self, f: dict[str, Any], upper: int) -> tuple[int, int]:
        """(sure, hi): every stored run with sure <= index < hi matches `f` (may be empty)."""
        if not set(f) <= {"createdAfter", "createdBefore", "updatedAfter"}:
            return upper, upper
        lo = self._first_created_after(f["createdAfter"]) if "createdAfter" in f else 0
        hi = upper
        if "createdBefore" in f:
            hi = min(hi, self._first_created_at_or_after(f["createdBefore"]))
        if "updatedAfter" in f:  # update >= create: created after the bound means updated after it
            lo = max(lo, self._first_created_after(f["updatedAfter"]))
        lo = min(lo, hi)
        return lo, hi

    def select_runs(self, runs_filter: dict[str, Any] | None, cursor: str | None = None,
                    limit: int | None = None) -> list[Run]:  # fmt: skip
        """Like `select_indices`, as `Run` objects."""
        with self.lock:
            return [self.run(index) for index in self.select_indices(runs_filter, cursor, limit)]

    def count_runs(self, runs_filter: dict[str, Any] | None, *, normalised: bool = False) -> int:
        """`Runs.count` with the filter (cursor and limit do not apply)."""
        f = runs_filter if normalised else self.normalise(runs_filter)
        with self.lock:
            stored = self.stored_runs
            if not f:
                return self.total_runs
            sure, hi = self._sure_range(f, stored)
            deleted_in_range = (bisect.bisect_left(self._deleted_sorted, hi)
                                - bisect.bisect_left(self._deleted_sorted, sure))  # fmt: skip
            return (hi - sure - deleted_in_range) + sum(
                1 for index in self._candidates(f, sure)
                if index not in self._deleted and self.matches(self.run(index), f)
            )  # fmt: skip

    # ---- code locations, assets, schedules, sensors -----------------------------------------

    def repository_list(self) -> list[tuple[str, str]]:
        """(location name, repository name) of every loaded code location, in the server's order."""
        return [(self.location_name(r), REPOSITORY_NAME) for r in range(self.repositories)
                if self._location_states[r] == "loaded"]  # fmt: skip

    def locations(self) -> list[tuple[str, str]]:
        """(name, state) of every code location of the workspace."""
        return [(self.location_name(r), self._location_states[r]) for r in range(self.repositories)]

    def repository_index(self, selector: dict[str, Any] | None) -> int | None:
        """The loaded repository a `RepositorySelector` names, else None."""
        selector = selector or {}
        for r in range(self.repositories):
            if (self._location_states[r] == "loaded"
                    and selector.get("repositoryLocationName") == self.location_name(r)
                    and selector.get("repositoryName") == REPOSITORY_NAME):  # fmt: skip
                return r
        return None

    def _asset_path(self, r: int, j: int) -> list[str]:
        if j % 7 == 3:
            return [f"{self.location_name(r)}_metric_{j:04d}"]
        return [self.location_name(r), LAYERS[j % len(LAYERS)], f"table_{j:04d}"]

    def _stub_path(self, r: int, k: int) -> list[str]:
        return ["external", self.location_name(r), f"source_{k}"]

    def _cross_location_upstream(self, r: int) -> list[str] | None:
        """The asset of location r - 1 that asset 2 of location r depends on, if any."""
        if r == 0 or self.assets_per_repository < 3:
            return None
        return self._asset_path(r - 1, 0)

    def _dependencies(self, r: int, j: int) -> list[list[str]]:
        """`AssetNode.dependencyKeys` of asset j of repository r: a staging or marts asset
        depends on the asset before it, the first ones on the location's stubs, and asset 2 on
        asset 0 of the previous location."""
        paths = []
        if j % len(LAYERS) != 0:
            paths.append(self._asset_path(r, j - 1))
        if j < self.stub_assets_per_repository:
            paths.append(self._stub_path(r, j))
        if j == 2 and (upstream := self._cross_location_upstream(r)) is not None:
            paths.append(upstream)
        return paths

    def _materialization(self, r: int, j: int, salt: int) -> dict[str, str] | None:
        """The latest materialization of asset j of repository r, if any: runless for some."""
        h = mix64(self._salt ^ (salt << 32) ^ (r << 20) ^ j)
        if h % 10 >= 8:
            return None
        if j % 11 == 5:  # reported without a run (`report_runless_asset_event`): runId ""
            return {"runId": "", "timestamp": str(self.now_ms - 60_000 * (1 + h % 1000))}
        if self.base_runs == 0:
            return None
        run = self.run((h >> 8) % self.base_runs)
        return {"runId": run.run_id, "timestamp": str(run.update_ms)}

    def _asset_keys(self) -> tuple[list[_AssetKey], list[_AssetKey]]:
        """(every key of the asset graph and of events, sorted by `str(AssetKey)`;
        the keys with events, sorted by `to_string()`)."""
        if self._assets_cache is not None:
            return self._assets_cache
        keys: list[_AssetKey] = []
        for r in range(self.repositories):
            location = self.location_name(r)
            loaded = self._location_states[r] == "loaded"
            for j in range(self.assets_per_repository):
                path = self._asset_path(r, j)
                h = mix64(self._salt ^ (0xA55E7 << 32) ^ (r << 20) ^ j)
                definition = None
                if loaded:
                    definition = {
                        "isAutoCreatedStub": False,
                        "description": None if h % 3 == 0 else f"{'.'.join(path)}: simulated asset",
                        "location": location,
                        "dependencyKeys": self._dependencies(r, j),
                    }
                keys.append(_AssetKey(path, definition, self._materialization(r, j, 0xA55E7)))
            if loaded:
                for k in range(self.stub_assets_per_repository):  # dependencies nobody defines
                    stub = {"isAutoCreatedStub": True, "description": None, "location": location,
                            "dependencyKeys": []}  # fmt: skip
                    keys.append(_AssetKey(self._stub_path(r, k), stub, None))
            for k in range(self.retired_assets_per_repository):  # events, no definition
                latest = self._materialization(r, 1000 + k, 0x0DD) or self._materialization(r, 1000 + k, 0x0DE)
                keys.append(_AssetKey(["retired", location, f"old_table_{k}"], None, latest))
        # An upstream asset of another location that is not loaded: the downstream location's
        # repository holds a stub for it (Dagster's `isAutoCreatedStub`).
        by_path = {tuple(key.path): key for key in keys}
        for r in range(1, self.repositories):
            upstream = self._cross_location_upstream(r)
            if upstream is None or self._location_states[r] != "loaded" or self._location_states[r - 1] == "loaded":
                continue
            stub = {"isAutoCreatedStub": True, "description": None, "location": self.location_name(r),
                    "dependencyKeys": []}  # fmt: skip
            key = by_path.get(tuple(upstream))
            if key is not None and key.definition is None:
                key.definition = stub
        # Keys in the graph, or with events: a stub or a location's asset that was never
        # materialized and whose location is down is in neither.
        keys = [key for key in keys if key.definition is not None or key.latest is not None]
        keys.sort(key=lambda key: key.sort_key)
        with_events = sorted((key for key in keys if key.latest is not None), key=lambda key: key.string)
        self._assets_cache = (keys, with_events)
        return self._assets_cache

    def assets_page(self, cursor: str | None, limit: int | None) -> tuple[list[_AssetKey], str | None]:
        """`assetsOrError(cursor, limit)`: the page's keys and the answer's cursor."""
        with self.lock:
            everything, with_events = self._asset_keys()
        after = cursor
        if after:
            try:
                after = json.dumps(json.loads(after))  # `_normalize_asset_cursor_str`
            except ValueError:
                pass
        events = [key for key in with_events if not after or key.string > after]
        if limit:
            events = events[:limit]
        graph = [key for key in everything if key.definition is not None and (not after or key.string > after)]
        merged = sorted({id(key): key for key in [*events, *graph]}.values(), key=lambda key: key.sort_key)
        if limit:
            merged = merged[:limit]
        return merged, (merged[-1].string if merged else None)

    def asset(self, path: list[str]) -> _AssetKey | None:
        with self.lock:
            everything, _ = self._asset_keys()
            if self._assets_by_path is None or self._assets_by_path[0] is not everything:
                self._assets_by_path = (everything, {tuple(key.path): key for key in everything})
            return self._assets_by_path[1].get(tuple(path))

    def assets_of(self, paths: list[list[str]]) -> list[_AssetKey]:
        """`assetsOrError(assetKeys)`: one `Asset` per key asked, in the order asked, known or not
        (`get_assets` wraps each key as it is: an unknown key has no definition and no events)."""
        return [self.asset(path) or _AssetKey(list(path), None, None) for path in paths]

    def _instigator_state(self, r: int, name: str, status: str, running_count: int | None) -> dict[str, Any]:
        location = self.location_name(r)
        state = {
            "__typename": "InstigationState",
            "id": selector_id(location, REPOSITORY_NAME, name),  # Dagster: the origin id
            "selectorId": selector_id(location, REPOSITORY_NAME, name),
            "name": name,
            "status": status,
            "repositoryName": REPOSITORY_NAME,
            "repositoryLocationName": location,
        }
        if running_count is not None:
            state["runningCount"] = running_count
        return state

    def schedules(self, r: int) -> list[dict[str, Any]]:
        """The repository's `Schedule` objects."""
        result = []
        for k in range(self.schedules_per_repository):
            running = k % 2 == 0
            name = self.schedule_name(r, k)
            result.append({
                "__typename": "Schedule",
                "id": hashlib.sha1(f"schedule/{self.location_name(r)}/{name}".encode()).hexdigest(),
                "name": name,
                "cronSchedule": CRONS[(r + k) % len(CRONS)],
                "pipelineName": JOB_NAMES[(r + k) % len(JOB_NAMES)],
                "scheduleState": self._instigator_state(r, name, "RUNNING" if running else "STOPPED",
                                                        1 if running else 0),
            })  # fmt: skip
        return result

    def sensors(self, r: int) -> list[dict[str, Any]]:
        """The repository's `Sensor` objects."""
        result = []
        for k in range(self.sensors_per_repository):
            name = self.sensor_name(r, k)
            targets = [{"__typename": "Target", "pipelineName": JOB_NAMES[(r + k + t) % len(JOB_NAMES)]}
                       for t in range(k % 3)]  # fmt: skip
            status = "RUNNING" if k % 3 != 2 else "STOPPED"
            result.append({
                "__typename": "Sensor",
                "id": hashlib.sha1(f"sensor/{self.location_name(r)}/{name}".encode()).hexdigest(),
                "name": name,
                "sensorType": SENSOR_TYPES[(r + k) % len(SENSOR_TYPES)],
                "targets": targets,
                "sensorState": self._instigator_state(r, name, status, 1 if status == "RUNNING" else 0),
            })  # fmt: skip
        return result

    def jobs(self, r: int) -> list[dict[str, Any]]:
        """The repository's `Job` objects, sorted by name as Dagster lists them: its
        JOBS_PER_REPOSITORY jobs and, when it has assets, the implicit `__ASSET_JOB`."""
        location = self.location_name(r)
        result = []
        names = {JOB_NAMES[(r + k) % len(JOB_NAMES)]: k for k in range(JOBS_PER_REPOSITORY)}
        if self.assets_per_repository:
            names[IMPLICIT_ASSET_JOB] = -1
        for name, k in names.items():
            tags, owners = [], []
            if k >= 0 and k % 2 == 0:
                tags = [{"__typename": "PipelineTag", "key": "team", "value": TEAMS[(r + k) % len(TEAMS)]},
                        {"__typename": "PipelineTag", "key": "dagster/max_retries", "value": "2"}]  # fmt: skip
            if k == 0:
                owners = [{"__typename": "UserDefinitionOwner", "email": f"{location}-owner@example.com"},
                          {"__typename": "TeamDefinitionOwner", "team": TEAMS[r % len(TEAMS)]}]  # fmt: skip
            elif k == 2:
                owners = [{"__typename": "TeamDefinitionOwner", "team": "platform"}]
            result.append({
                "__typename": "Job",
                "id": hashlib.sha1(f"job/{location}/{name}".encode()).hexdigest(),
                "name": name,
                "description": None if k < 0 or k == 3 else f"{name.replace('_', ' ')} ({location})",
                "isAssetJob": k < 0 or k == 1,
                "tags": tags,
                "owners": owners,
            })  # fmt: skip
        return sorted(result, key=lambda job: job["name"])

    # ---- what the connector should write ----------------------------------------------------

    def expected_runs(self) -> Iterator[dict[str, Any]]:
        """Every `dagster_runs` row, oldest first (= `run_id` order), generated lazily."""
        for index in range(self.stored_runs):
            if index not in self._deleted:
                yield self.run(index).row()

    def expected_run(self, run_id: str) -> dict[str, Any] | None:
        index = self.index_of(run_id)
        return None if index is None else self.run(index).row()

    def expected_assets(self) -> list[dict[str, Any]]:
        """The `dagster_assets` rows of the loaded code locations (stubs and keys without a
        definition are not assets of the workspace)."""
        with self.lock:
            everything, _ = self._asset_keys()
        rows = []
        for key in everything:
            definition = key.definition
            if definition is None or definition["isAutoCreatedStub"]:
                continue
            latest = key.latest or {}
            rows.append({
                "id": "/".join(key.path),
                "key_path": ".".join(key.path),
                "description": definition["description"],
                "code_location": definition["location"],
                "repository": REPOSITORY_NAME,
                **expected_details(key.path),
                "last_materialization_run_id": latest.get("runId") or None,
                "last_materialization_time": iso_utc(int(latest["timestamp"]) / 1000) if latest else None,
            })  # fmt: skip
        return rows

    def expected_schedules(self) -> list[dict[str, Any]]:
        """The `dagster_schedules` rows of the loaded code locations."""
        return [
            {"id": s["scheduleState"]["selectorId"], "name": s["name"],
             "code_location": self.location_name(r), "repository": REPOSITORY_NAME,
             "cron_schedule": s["cronSchedule"], "pipeline_name": s["pipelineName"],
             "status": s["scheduleState"]["status"], "running_count": s["scheduleState"]["runningCount"]}
            for r in range(self.repositories) if self._location_states[r] == "loaded"
            for s in self.schedules(r)
        ]  # fmt: skip

    def expected_jobs(self) -> list[dict[str, Any]]:
        """The `dagster_jobs` rows of the loaded code locations (implicit asset jobs left out)."""
        rows = []
        for r in range(self.repositories):
            if self._location_states[r] != "loaded":
                continue
            location = self.location_name(r)
            for job in self.jobs(r):
                if job["name"].startswith(IMPLICIT_ASSET_JOB):
                    continue
                owners = [owner.get("email") or f"team:{owner['team']}" for owner in job["owners"]]
                rows.append({
                    "id": f"{location}:{REPOSITORY_NAME}:{job['name']}", "name": job["name"],
                    "code_location": location, "repository": REPOSITORY_NAME,
                    "description": job["description"], "is_asset_job": job["isAssetJob"],
                    "tags": {tag["key"]: tag["value"] for tag in job["tags"]}, "owners": json.dumps(owners),
                })  # fmt: skip
        return rows

    def expected_code_locations(self) -> list[dict[str, Any]]:
        """The `dagster_code_locations` rows: every location of the workspace."""
        rows = []
        for r in range(self.repositories):
            state = self._location_states[r]
            loaded = state == "loaded"
            rows.append({
                "id": self.location_name(r), "name": self.location_name(r),
                "load_status": {"loaded": "LOADED", "failed": "FAILED", "loading": "LOADING"}[state],
                "error": f"ModuleNotFoundError: No module named '{self.location_name(r)}_helpers'"
                if state == "failed" else None,
                "updated_time": iso_utc(self.location_updated(r)),
                "repositories": json.dumps([REPOSITORY_NAME]) if loaded else None,
                "dagster_library_versions": dict(self.library_versions(r)) if loaded else None,
            })  # fmt: skip
        return rows

    def expected_asset_dependencies(self) -> list[dict[str, Any]]:
        """The `dagster_asset_dependencies` rows: each edge of a loaded location's assets,
        upstream to downstream, in the downstream asset's location."""
        with self.lock:
            everything, _ = self._asset_keys()
        rows = []
        for key in everything:
            definition = key.definition
            if definition is None or definition["isAutoCreatedStub"]:
                continue
            downstream = "/".join(key.path)
            for path in definition["dependencyKeys"]:
                upstream = "/".join(path)
                rows.append({"id": f"{upstream} -> {downstream}", "upstream_key": upstream,
                             "downstream_key": downstream, "code_location": definition["location"]})  # fmt: skip
        return rows

    def expected_ticks(self) -> Iterator[dict[str, Any]]:
        """Every `dagster_ticks` row of the loaded code locations' schedules and sensors, lazily."""
        return self.instigator_ticks.expected_rows()

    def expected_sensors(self) -> list[dict[str, Any]]:
        """The `dagster_sensors` rows of the loaded code locations; `active_run_ids` lists the
        sensor's runs not finished yet."""
        with self.lock:
            active = [self.run(i) for i in self._not_finished]
        rows = []
        for r in range(self.repositories):
            if self._location_states[r] != "loaded":
                continue
            label = f"{REPOSITORY_NAME}@{self.location_name(r)}"
            for s in self.sensors(r):
                ids = sorted(run.run_id for run in active
                             if run.tag_value(SENSOR_TAG) == s["name"]
                             and (not self.shared_sensor_names or run.repository_label == label))  # fmt: skip
                jobs = [t["pipelineName"] for t in s["targets"]]
                rows.append({
                    "id": s["sensorState"]["selectorId"], "name": s["name"],
                    "code_location": self.location_name(r), "repository": REPOSITORY_NAME,
                    "sensor_type": s["sensorType"], "pipeline_name": ", ".join(jobs) if jobs else None,
                    "status": s["sensorState"]["status"], "active_run_ids": json.dumps(ids),
                })  # fmt: skip
        return rows


class _AssetKey:
    """One key of `assetsOrError`: its path, definition (None: no loaded location defines it)
    and latest materialization (`{"runId", "timestamp"}` or None)."""

    __slots__ = ("path", "definition", "latest", "string", "sort_key")

    def __init__(self, path: list[str], definition: dict[str, Any] | None,
                 latest: dict[str, str] | None) -> None:  # fmt: skip
        self.path = path
        self.definition = definition
        self.latest = latest
        self.string = asset_key_string(path)
        self.sort_key = asset_sort_key(path)


# ---- ticks ------------------------------------------------------------------------------------

TICK_LIMIT = 1000  # dagster 1.13's DAGSTER_MAX_TICKS_QUERY_LIMIT: `ticks(limit)` is clamped to it
SCHEDULE_TICK_SPACING_US = 3_600_000_000  # an hourly cron: schedule ticks are at cron times
SENSOR_TICK_SPACING_US = 30_000_000  # a sensor's default minimum interval
STARTED_EVERY = 4  # the newest tick of every 4th instigator is still STARTED


class _TickTimes:
    """An instigator's tick timestamps (µs, oldest first) as a sequence, for `bisect`."""

    def __init__(self, ticks: InstigatorTicks, g: int) -> None:
        self._ticks, self._g = ticks, g

    def __len__(self) -> int:
        return self._ticks.count(self._g)

    def __getitem__(self, j: int) -> int:
        return self._ticks.timestamp_us(self._g, j)


class InstigatorTicks:
    """The ticks of every schedule and sensor, *derived* like runs: `total` ticks spread evenly
    over the instigators (instigator g = r * (schedules + sensors) + k, schedules first), tick j
    of g (0 = oldest) a pure function of (g, j). A million ticks hold no memory; only ticks added
    by `add` and statuses changed by `set_status` are stored.

    As dagster 1.13 (`get_instigation_ticks`, `SqlScheduleStorage._ticks_query`): newest first,
    strict `beforeTimestamp`/`afterTimestamp` compared in microseconds (falsy bounds ignored),
    `limit` None -> 1000, larger -> 1000, 0 -> no limit. The repository batch (`ticks(limit:)`
    of a listing, no other argument) keeps each instigator's first `limit` by timestamp: the same
    ticks. Ticks sharing a timestamp (`ties` per timestamp) come newest stored first.
    Schedule ticks are on the hour; sensor ticks 30 s apart with jitter, ending before `now`.
    Tick ids: base ticks `first_id(g) + j` (by instigator), added ticks after every base id.
    """

    def __init__(self, model: DagsterModel, total: int = 0, ties: int = 1) -> None:
        self.model = model
        self.total = max(0, total)
        self.ties = max(1, ties)
        self.per_repository = model.schedules_per_repository + model.sensors_per_repository
        self.instigators = model.repositories * self.per_repository
        self._added: dict[int, list[tuple[int, int, str | None]]] = {}  # g -> (tick id, µs, status)
        self._status: dict[int, str] = {}  # tick id -> status set by `set_status`
        self._next_id = self.total + 1
        self._end_us = model.now_ms * 1000

    # ---- identity ------------------------------------------------------------------------------

    def index(self, r: int, kind: str, k: int) -> int:
        """The instigator index of schedule (kind "schedule") or sensor k of repository r."""
        return r * self.per_repository + (k if kind == "schedule" else self.model.schedules_per_repository + k)

    def describe(self, g: int) -> tuple[int, str, str]:
        """(repository, "schedule" or "sensor", name) of instigator g."""
        r, k = divmod(g, self.per_repository)
        if k < self.model.schedules_per_repository:
            return r, "schedule", self.model.schedule_name(r, k)
        return r, "sensor", self.model.sensor_name(r, k - self.model.schedules_per_repository)

    def find(self, r: int, name: str) -> int | None:
        """The instigator of repository r named `name` (a sensor first, as Dagster looks)."""
        for k in range(self.model.sensors_per_repository):
            if self.model.sensor_name(r, k) == name:
                return self.index(r, "sensor", k)
        for k in range(self.model.schedules_per_repository):
            if self.model.schedule_name(r, k) == name:
                return self.index(r, "schedule", k)
        return None

    def base_count(self, g: int) -> int:
        if not self.instigators:
            return 0
        share, extra = divmod(self.total, self.instigators)
        return share + (1 if g < extra else 0)

    def count(self, g: int) -> int:
        return self.base_count(g) + len(self._added.get(g, ()))

    def _first_id(self, g: int) -> int:
        share, extra = divmod(self.total, self.instigators)
        return g * share + min(g, extra) + 1

    # ---- one tick ------------------------------------------------------------------------------

    def timestamp_us(self, g: int, j: int) -> int:
        base = self.base_count(g)
        if j >= base:
            return self._added[g][j - base][1]
        slot, slots = j // self.ties, -(-base // self.ties)
        if self.describe(g)[1] == "schedule":
            return (self._end_us // SCHEDULE_TICK_SPACING_US - (slots - slot)) * SCHEDULE_TICK_SPACING_US
        jitter = mix64(self.model._salt ^ (0x71C << 40) ^ (g << 24) ^ slot) % (SENSOR_TICK_SPACING_US // 2)
        return self._end_us - (slots - slot) * SENSOR_TICK_SPACING_US + jitter

    def tick_id(self, g: int, j: int) -> int:
        base = self.base_count(g)
        return self._first_id(g) + j if j < base else self._added[g][j - base][0]

    def tick(self, g: int, j: int) -> dict[str, Any]:
        """Tick j of instigator g as `InstigationTick` (every field the connector may select)."""
        r, kind, name = self.describe(g)
        tick_id, timestamp = self.tick_id(g, j), self.timestamp_us(g, j)
        h = mix64(self.model._salt ^ (0x71C0 << 40) ^ tick_id)
        base = self.base_count(g)
        status: str | None = self._status.get(tick_id)
        if status is None and j >= base:
            status = self._added[g][j - base][2]
        if status is None:
            bucket = h % 100
            if j == base - 1 and g % STARTED_EVERY == 0 and not self._added.get(g):
                status = "STARTED"  # in progress (it ends when a newer tick is added)
            elif kind == "sensor":
                status = "SKIPPED" if bucket < 80 else "SUCCESS" if bucket < 95 else "FAILURE"
            else:
                status = "SUCCESS" if bucket < 90 else "FAILURE" if bucket < 95 else "SKIPPED"
        runs = self.model.base_runs
        success = status == "SUCCESS"
        error = None
        if status == "FAILURE":
            message = (f"dagster._core.errors.{kind.capitalize()}ExecutionError: Error occurred during the "
                       f"execution of the {kind} function for {kind} {name}\n")  # fmt: skip
            error = {"__typename": "PythonError", "message": message, "className": f"{kind.capitalize()}ExecutionError",
                     "stack": [], "cause": None, "causes": [], "errorChain": []}  # fmt: skip
        location = self.model.location_name(r)
        return {
            "__typename": "InstigationTick",
            "id": f"{selector_id(location, REPOSITORY_NAME, name)}:{timestamp / 1e6}",
            "tickId": str(tick_id),
            "status": status,
            "timestamp": timestamp / 1e6,
            "endTimestamp": None if status == "STARTED" else (timestamp + 100_000 + (h >> 20) % 5_000_000) / 1e6,
            "runIds": [self.model.run_id((h >> 8) % runs)] if success and runs else [],
            "runKeys": [f"{name}:{tick_id}"] if success and kind == "sensor" else [],
            "skipReason": f"{kind.capitalize()} function returned an empty result" if status == "SKIPPED" else None,
            "error": error,
            "cursor": None,
            "instigationType": kind.upper(),
            "originRunIds": [],
            "logKey": None,
        }

    # ---- queries -------------------------------------------------------------------------------

    def page(self, g: int, limit: int | None, before: float | None = None,
             after: float | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """`InstigationState.ticks` with the limit the server applies (None: no limit)."""
        with self.model.lock:
            times = _TickTimes(self, g)
            hi = len(times) if not before else bisect.bisect_left(times, dagster_bound_us(before))
            lo = 0 if not after else bisect.bisect_right(times, dagster_bound_us(after))
            if limit is not None:
                lo = max(lo, hi - limit)
            return [self.tick(g, j) for j in range(hi - 1, lo - 1, -1)]

    # ---- mutations -----------------------------------------------------------------------------

    def add(self, g: int, n: int, status: str | None = None) -> list[str]:
        """Adds `n` ticks to instigator g, newer than its others (its STARTED tick, if any,
        ends: its status is derived again); returns their ids."""
        with self.model.lock:
            added = self._added.setdefault(g, [])
            ids = []
            for _ in range(n):
                count = self.count(g)
                last = self.timestamp_us(g, count - 1) if count else 0
                moment = max(self.model._tick() * 1000, last + 1_000_000)
                added.append((self._next_id, moment, status))
                ids.append(str(self._next_id))
                self._next_id += 1
            return ids

    def set_status(self, tick_id: str, status: str) -> None:
        """Changes a tick's status (a STARTED tick ending, a schedule tick retried in place)."""
        if status not in ("STARTED", "SKIPPED", "SUCCESS", "FAILURE"):
            raise ValueError(f"unknown tick status {status!r}")
        with self.model.lock:
            self._status[int(tick_id)] = status

    # ---- what the connector should write -------------------------------------------------------

    def expected_rows(self) -> Iterator[dict[str, Any]]:
        """The `dagster_ticks` rows of the loaded code locations' instigators, generated lazily."""
        for g in range(self.instigators):
            r, kind, name = self.describe(g)
            if self.model.location_state(r) != "loaded":
                continue
            location = self.model.location_name(r)
            for j in range(self.count(g)):
                tick = self.tick(g, j)
                yield {
                    "id": tick["tickId"], "instigator_id": selector_id(location, REPOSITORY_NAME, name),
                    "instigator_name": name, "instigator_type": kind.upper(), "code_location": location,
                    "repository": REPOSITORY_NAME, "status": tick["status"], "timestamp": iso_utc(tick["timestamp"]),
                    "end_time": iso_utc(tick["endTimestamp"]), "run_ids": tick["runIds"], "run_keys": tick["runKeys"],
                    "skip_reason": tick["skipReason"], "error_message": (tick["error"] or {}).get("message"),
                }  # fmt: skip


# ---- backfills and run steps -----------------------------------------------------------------

BACKFILL_TERMINAL_STATUSES = ("COMPLETED", "FAILED", "CANCELED", "COMPLETED_SUCCESS", "COMPLETED_FAILED")
BACKFILL_STATUSES = ("REQUESTED", *BACKFILL_TERMINAL_STATUSES, "CANCELING", "FAILING")  # BulkActionStatus
BACKFILLS_IN_PROGRESS = 2  # the newest base backfills are REQUESTED
STEP_NAMES = ("extract", "transform", "load", "validate")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Backfills:
    """The deployment's backfills (`bulk_actions`), *derived*: backfill i (storage id i + 1) is a
    pure function of (seed, i); only status changes, deletions and added backfills are stored.

    As dagster 1.13 (`SqlRunStorage.get_backfills`): newest first; `cursor` is a backfill id and
    selects older ones, an unknown cursor selects nothing; `limit` None or 0: every backfill;
    `filters.createdAfter`/`createdBefore` compared strictly in microseconds (falsy ignored) and
    `filters.statuses`. Ids are 8 lowercase letters like Dagster's (`make_new_backfill_id`), the
    first four the index in base 26 (so a cursor maps back in O(1)). About two thirds are asset
    backfills (1 to 3 of the location's assets), the rest a job's partition set.
    """

    def __init__(self, model: DagsterModel, total: int = 0) -> None:
        if not 0 <= total < 26**4:
            raise ValueError("backfills must be between 0 and 26**4 - 1")
        self.model = model
        self.base = total
        self._added_create: list[int] = []  # creation ms of backfills added by `add`
        self._added_status: list[str] = []
        self._status: dict[int, tuple[str, int | None]] = {}  # set_status: (status, end ms)
        self._deleted: set[int] = set()

    @property
    def stored(self) -> int:
        return self.base + len(self._added_create)

    def backfill_id(self, i: int) -> str:
        head = "".join(_LETTERS[(i // 26**p) % 26] for p in (3, 2, 1, 0))
        h = mix64(self.model._salt ^ (0xBAC4F111 << 24) ^ i)
        return head + "".join(_LETTERS[(h >> (5 * p)) % 26] for p in range(4))

    def index_of(self, backfill_id: Any) -> int | None:
        if not isinstance(backfill_id, str) or len(backfill_id) != 8 or not backfill_id.isalpha():
            return None
        i = 0
        for letter in backfill_id[:4]:
            if letter not in _LETTERS:
                return None
            i = i * 26 + _LETTERS.index(letter)
        if i >= self.stored or i in self._deleted or self.backfill_id(i) != backfill_id:
            return None
        return i

    def create_ms(self, i: int) -> int:
        if i < self.base:
            return self.model._first_create_ms + ((i + 1) * YEAR_MS) // (self.base + 1)
        return self._added_create[i - self.base]

    def backfill(self, i: int) -> dict[str, Any]:
        """Backfill i as `PartitionBackfill` (the fields the connector may ask for)."""
        model = self.model
        h = mix64(model._salt ^ (0xBAC4F222 << 24) ^ i)
        create = self.create_ms(i)
        if i >= self.base:
            status = self._added_status[i - self.base]
        elif i >= self.base - BACKFILLS_IN_PROGRESS:
            status = "REQUESTED"
        else:
            bucket = (h >> 8) % 100
            status = ("COMPLETED_SUCCESS" if bucket < 70 else "COMPLETED_FAILED" if bucket < 85
                      else "CANCELED" if bucket < 93 else "FAILED" if bucket < 98 else "COMPLETED")  # fmt: skip
        end = create + 60_000 + (h >> 16) % 3_600_000 if status in BACKFILL_TERMINAL_STATUSES else None
        if i in self._status:
            status, end = self._status[i]
        r = h % model.repositories
        team = TEAMS[(h >> 24) % len(TEAMS)]
        is_asset = h % 3 != 0
        if is_asset and model.assets_per_repository:
            count = 1 + (h >> 28) % 3
            selection = [{"__typename": "AssetKey", "path": model._asset_path(r, (h >> (32 + 4 * k)) % model.assets_per_repository)}
                         for k in range(count)]  # fmt: skip
            job = partition_set = None
        else:
            is_asset, selection = False, None
            job = JOB_NAMES[(r + (h >> 28) % JOBS_PER_REPOSITORY) % len(JOB_NAMES)]
            partition_set = f"{job}_partition_set"
        failed = status in ("FAILED", "COMPLETED_FAILED", "FAILING")
        return {
            "__typename": "PartitionBackfill",
            "id": self.backfill_id(i),
            "status": status,
            "isAssetBackfill": is_asset,
            "jobName": job,
            "partitionSetName": partition_set,
            "assetSelection": selection,
            "numPartitions": 1 + (h >> 40) % 60,
            "fromFailure": (h >> 48) % 17 == 0,
            "creationTime": create / 1000,
            "timestamp": create / 1000,
            "endTimestamp": None if end is None else end / 1000,
            "endTime": None if end is None else end / 1000,
            "tags": [{"__typename": "PipelineTag", "key": "team", "value": team}],
            "error": {"__typename": "PythonError", "className": "DagsterExecutionStepExecutionError",
                      "message": f"dagster._core.errors.DagsterExecutionStepExecutionError: partition {h % 97} failed\n",
                      "stack": [], "cause": None, "causes": []} if failed else None,  # fmt: skip
            "user": None if h % 4 == 0 else f"{team}@example.com",
            "title": None if h % 5 else f"Backfill of {job or 'assets'}",
            "description": None if h % 7 else "re-run after the upstream fix",
        }

    def page(self, cursor: str | None, limit: int | None, filters: dict[str, Any] | None) -> list[dict[str, Any]]:
        """`partitionBackfillsOrError(cursor, limit, filters)`: newest first."""
        filters = filters or {}
        after = dagster_bound_us(filters["createdAfter"]) if filters.get("createdAfter") else None
        before = dagster_bound_us(filters["createdBefore"]) if filters.get("createdBefore") else None
        statuses = set(filters.get("statuses") or ())
        with self.model.lock:
            upper = self.stored
            if cursor:
                position = self.index_of(cursor)
                if position is None:
                    return []
                upper = position
            found = []
            for i in range(upper - 1, -1, -1):
                if i in self._deleted:
                    continue
                created_us = self.create_ms(i) * 1000
                if before is not None and not created_us < before:
                    continue
                if after is not None and not created_us > after:
                    break  # creation times grow with the index
                backfill = self.backfill(i)
                if statuses and backfill["status"] not in statuses:
                    continue
                found.append(backfill)
                if limit and len(found) >= limit:
                    break
            return found

    def get(self, backfill_id: Any) -> dict[str, Any] | None:
        with self.model.lock:
            i = self.index_of(backfill_id)
            return None if i is None else self.backfill(i)

    def add(self, n: int, status: str = "REQUESTED") -> list[str]:
        """Adds `n` backfills created now; returns their ids."""
        if status not in BACKFILL_STATUSES:
            raise ValueError(f"unknown backfill status {status!r}")
        with self.model.lock:
            ids = []
            for _ in range(n):
                self._added_create.append(self.model._tick())
                self._added_status.append(status)
                ids.append(self.backfill_id(self.stored - 1))
            return ids

    def set_status(self, backfill_id: str, status: str) -> None:
        """Changes a backfill's status (its end time is now when the status is final)."""
        if status not in BACKFILL_STATUSES:
            raise ValueError(f"unknown backfill status {status!r}")
        with self.model.lock:
            i = self.index_of(backfill_id)
            if i is None:
                raise KeyError(backfill_id)
            self._status[i] = (status, self.model._tick() if status in BACKFILL_TERMINAL_STATUSES else None)

    def delete(self, backfill_ids: Iterable[str]) -> None:
        with self.model.lock:
            for backfill_id in backfill_ids:
                i = self.index_of(backfill_id)
                if i is None:
                    raise KeyError(backfill_id)
                self._deleted.add(i)

    def expected_rows(self) -> list[dict[str, Any]]:
        """Every `dagster_backfills` row, oldest first."""
        rows = []
        with self.model.lock:
            for i in range(self.stored):
                if i in self._deleted:
                    continue
                b = self.backfill(i)
                rows.append({
                    "id": b["id"], "status": b["status"], "is_asset_backfill": b["isAssetBackfill"],
                    "job_name": b["jobName"], "partition_set_name": b["partitionSetName"],
                    "asset_selection": None if b["assetSelection"] is None else ["/".join(k["path"]) for k in b["assetSelection"]],
                    "num_partitions": b["numPartitions"], "from_failure": b["fromFailure"],
                    "creation_time": iso_utc(b["creationTime"]), "end_time": iso_utc(b["endTimestamp"]),
                    "tags": {t["key"]: t["value"] for t in b["tags"]},
                    "error_message": (b["error"] or {}).get("message"), "user": b["user"],
                    "title": b["title"], "description": b["description"],
                })  # fmt: skip
        return rows


def run_step_stats(model: DagsterModel, run: Run) -> list[dict[str, Any]]:
    """`Run.stepStats` of a run, derived from its index: 1 to 4 steps run one after the other
    over the run's duration, about one in eight retried once. A run not started has none; the
    step a FAILURE run failed in is FAILURE and a step after it SKIPPED; the step a CANCELED or
    unfinished run was in is IN_PROGRESS without an end (no end event was written)."""
    if run.start_ms is None:
        return []
    h = mix64(model._salt ^ (0x57E95 << 32) ^ run.index)
    n = 1 + h % len(STEP_NAMES)
    end_ms = run.end_ms if run.end_ms is not None else max(run.update_ms, run.start_ms + n)
    span = max(end_ms - run.start_ms, n)
    failing = n - 2 if run.status == "FAILURE" and n >= 3 else n - 1
    out = []
    for k in range(n):
        start, stop = run.start_ms + span * k // n, run.start_ms + span * (k + 1) // n
        status = "SUCCESS"
        if k == failing and run.status == "FAILURE":
            status = "FAILURE"
        elif k > failing:
            status = "SKIPPED"
        elif k == n - 1 and run.status not in ("SUCCESS", "FAILURE"):
            status = "IN_PROGRESS"
        if status == "SKIPPED":
            out.append({"__typename": "RunStepStats", "runId": run.run_id, "stepKey": STEP_NAMES[k], "status": status,
                        "startTime": None, "endTime": None, "attempts": [], "markers": []})  # fmt: skip
            continue
        tries = 2 if (h >> (8 + 4 * k)) % 8 == 0 else 1
        bounds = [start + (stop - start) * t // tries for t in range(tries + 1)]
        attempts = [{"__typename": "RunMarker", "startTime": bounds[t] / 1000, "endTime": bounds[t + 1] / 1000}
                    for t in range(tries)]  # fmt: skip
        end: float | None = stop / 1000
        if status == "IN_PROGRESS":
            attempts[-1]["endTime"] = end = None
        out.append({"__typename": "RunStepStats", "runId": run.run_id, "stepKey": STEP_NAMES[k], "status": status,
                    "startTime": start / 1000, "endTime": end, "attempts": attempts, "markers": []})  # fmt: skip
    return out


def expected_run_steps(model: DagsterModel, updated_after_ms: int | None = None) -> Iterator[dict[str, Any]]:
    """Every `dagster_run_steps` row: the steps of each finished run (updated after
    `updated_after_ms`, if given: a first sync's `step_history_days`), lazily."""
    for index in range(model.stored_runs):
        if index in model._deleted:
            continue
        run = model.run(index)
        if run.status not in TERMINAL_STATUSES:
            continue
        if updated_after_ms is not None and run.update_ms <= updated_after_ms:
            continue
        for stats in run_step_stats(model, run):
            yield {
                "run_id": run.run_id, "step_key": stats["stepKey"], "status": stats["status"],
                "start_time": iso_utc(stats["startTime"]), "end_time": iso_utc(stats["endTime"]),
                "attempts": len(stats["attempts"]),
                "attempt_times": [{"start_time": iso_utc(a["startTime"]), "end_time": iso_utc(a["endTime"])}
                                  for a in stats["attempts"]],
            }  # fmt: skip
