"""A deterministic, compact model of a Dagster deployment's metadata, for the simulated server.

Nothing here does I/O or imports anything outside the standard library, so a benchmark
connector can import it too (`destination_only` writes exactly the rows the connector would).

Runs are *derived*, not stored: run `i` (storage id `i + 1`) is a pure function of
`(seed, i)`, so a million runs cost no memory. Its id starts with `i` in 8 hex digits (a
cursor maps back to `i` in O(1), and ids sort like storage ids); its creation time is
monotonic in `i` (time filters are binary searches); its update time is creation plus a
duration of at most `MAX_DURATION_MS`. Only runs changed by `set_run_status` (a small
dict) and runs added by `add_runs` (one integer each) are held in memory.

Semantics follow dagster 1.13 (`SqlRunStorage`, `dagster_graphql`): runs are returned newest
created first; `cursor` is a run id and selects runs with a strictly lower storage id (an
unknown cursor selects nothing); time filters compare strictly as floats (epoch seconds) and
are ignored when falsy, as `RunsFilter.to_selector` does; empty list filters are ignored.
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

MASK64 = (1 << 64) - 1
YEAR_MS = 365 * 86_400 * 1000
MIN_DURATION_MS = 5_000
MAX_DURATION_MS = 3_600_000  # a run's update time is at most this after its creation
MAX_QUEUE_DELAY_MS = 5_000

IN_PROGRESS_STATUSES = ("QUEUED", "STARTING", "STARTED", "CANCELING")
TERMINAL_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
ALL_STATUSES = (
    "QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUCCESS", "FAILURE",
    "CANCELING", "CANCELED",
)
HIDDEN_TAG_PREFIX = ".dagster/"
REPOSITORY_TAG = ".dagster/repository"
SENSOR_TAG = "dagster/sensor_name"
SCHEDULE_TAG = "dagster/schedule_name"
REPOSITORY_NAME = "__repository__"  # what Dagster names the repository of a `Definitions`

LOCATION_NAMES = ("analytics", "ingestion", "ml_platform", "finance", "marketing", "ops")
JOB_NAMES = ("daily_orders_job", "hourly_events_job", "customer_dim_job", "ml_features_job",
             "reporting_job", "backfill_job")
TEAMS = ("data", "ml", "finance", "platform")
LAYERS = ("raw", "staging", "marts")
CRONS = ("0 0 * * *", "0 * * * *", "*/15 * * * *", "0 6 * * 1-5", "30 2 * * 0")
SENSOR_TYPES = ("STANDARD", "RUN_STATUS", "ASSET", "MULTI_ASSET", "AUTOMATION")

RUN_FIELDS = ("runId", "pipelineName", "status", "mode", "startTime", "endTime", "updateTime",
              "tags")


def mix64(value: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def iso_utc(epoch_seconds: float | None) -> str | None:
    """The connector's timestamp format (`extractor.transforms.iso_utc`), re-stated here."""
    if epoch_seconds is None:
        return None
    moment = datetime.fromtimestamp(float(epoch_seconds), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _hex_id(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


class Run:
    """One run's fields (times in integer milliseconds). Built on demand, never stored."""

    __slots__ = ("index", "run_id", "job", "status", "create_ms", "start_ms", "end_ms",
                 "update_ms", "tags", "repository_label")

    def __init__(self, index: int, run_id: str, job: str, status: str, create_ms: int,
                 start_ms: int | None, end_ms: int | None, update_ms: int,
                 tags: tuple[tuple[str, str], ...], repository_label: str) -> None:
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
            elif field == "startTime":
                out[field] = _seconds(self.start_ms)
            elif field == "endTime":
                out[field] = _seconds(self.end_ms)
            elif field == "updateTime":
                out[field] = _seconds(self.update_ms)
            elif field == "creationTime":
                out[field] = _seconds(self.create_ms)
            elif field == "tags":
                out[field] = [{"key": key, "value": value} for key, value in self.tags]
            elif field == "__typename":
                out[field] = "Run"
            else:
                out[field] = None
        return out

    def row(self) -> dict[str, Any]:
        """The `dagster_runs` row the connector writes for this run."""
        return {
            "run_id": self.run_id,
            "pipeline_name": self.job,
            "status": self.status,
            "mode": "default",
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
    """The creation times of all runs as a read-only sequence, for `bisect`."""

    def __init__(self, model: DagsterModel) -> None:
        self._model = model

    def __len__(self) -> int:
        return self._model.total_runs

    def __getitem__(self, index: int) -> int:
        return self._model.create_ms(index)


class DagsterModel:
    """The deployment: N generated runs plus few mutations, repositories, assets, instigators."""

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
        self.shared_sensor_names = shared_sensor_names
        self.now_ms = int(round((time.time() if now is None else now) * 1000))
        # Base runs are created over one year; the newest finishes by `now` at the latest.
        self._last_create_ms = self.now_ms - MAX_DURATION_MS
        self._first_create_ms = self._last_create_ms - YEAR_MS
        self._in_progress_base = min(in_progress_runs, runs)
        self._added_create = array("q")  # creation ms of runs added by add_runs, in order
        self._added_status: list[str] = []
        self._mutated: dict[int, tuple[str, int | None, int | None, int]] = {}
        self._mutated_sorted: list[int] = []
        self._in_progress: set[int] = set(range(runs - self._in_progress_base, runs))
        self._clock_ms = self.now_ms
        self._creates = _CreateTimes(self)
        self._tags_json: dict[tuple[int, ...], str] = {}
        self.lock = threading.RLock()  # mutations vs. the server thread's reads

    # ---- identity and times -------------------------------------------------------------

    @property
    def total_runs(self) -> int:
        return self.base_runs + len(self._added_create)

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
                ((h & 0xFFFFFF) << 24) | ((lo * 2654435761) & 0xFFFFFF))

    @classmethod
    def _format_id(cls, index: int, h: int, lo: int) -> str:
        return cls._ID % cls._id_parts(index, h, lo)

    def index_of(self, run_id: str) -> int | None:
        """The index of the run with this id, or None if there is none (O(1))."""
        if not isinstance(run_id, str) or len(run_id) != 36:
            return None
        try:
            index = int(run_id[:8], 16)
        except ValueError:
            return None
        if index >= self.total_runs or self.run_id(index) != run_id:
            return None
        return index

    def create_ms(self, index: int) -> int:
        if index < self.base_runs:
            return self._first_create_ms + ((index + 1) * YEAR_MS) // self.base_runs
        return self._added_create[index - self.base_runs]

    def _first_created_after(self, seconds: float) -> int:
        """The smallest index whose creation time (as float seconds) is > `seconds`."""
        # Creation ms are integers: create/1000 > s  <=>  create > floor(s * 1000) (checked).
        bound = int(seconds * 1000)
        while bound / 1000 > seconds:
            bound -= 1
        while (bound + 1) / 1000 <= seconds:
            bound += 1
        return bisect.bisect_right(self._creates, bound)

    def _first_created_at_or_after(self, seconds: float) -> int:
        """The smallest index whose creation time is >= `seconds`."""
        index = self._first_created_after(seconds)
        while index > 0 and self.create_ms(index - 1) / 1000 >= seconds:
            index -= 1
        return index

    def _tick(self) -> int:
        """'Now' in ms for a mutation: wall clock, strictly increasing, after every base time."""
        self._clock_ms = max(int(time.time() * 1000), self._clock_ms + 1)
        return self._clock_ms

    # ---- one run --------------------------------------------------------------------------

    def _location(self, repository: int) -> str:
        if repository < len(LOCATION_NAMES):
            return LOCATION_NAMES[repository]
        return f"location_{repository}"

    def sensor_name(self, repository: int, k: int) -> str:
        if self.shared_sensor_names:
            return f"sensor_{k}"
        return f"{self._location(repository)}_sensor_{k}"

    def schedule_name(self, repository: int, k: int) -> str:
        return f"{self._location(repository)}_schedule_{k}"

    # Run i's pseudo-random fields come from two 30-bit halves of its hash (`lo`, `hi`):
    # small integers keep the arithmetic cheap, which matters at a million runs.

    def run(self, index: int) -> Run:
        """Run `index` as it is now (including mutations)."""
        h = self._hash(index)
        lo, hi = h & 0x3FFFFFFF, (h >> 30) & 0x3FFFFFFF
        repository = lo % self.repositories
        job = JOB_NAMES[(lo >> 8) % len(JOB_NAMES)]
        create = self.create_ms(index)
        in_progress_base = self.base_runs - self._in_progress_base <= index < self.base_runs
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
            if status in ("QUEUED", "NOT_STARTED"):
                start, end, update = None, None, create
            elif status in IN_PROGRESS_STATUSES:
                start, end, update = create, None, create
            else:
                start, end, update = create, create, create
        if index in self._mutated:
            status, start, end, update = self._mutated[index]
        tags = self._base_tags(lo, hi, repository, in_progress_base)
        return Run(index, self._format_id(index, h, lo), job, status, create, start, end, update,
                   tuple(tags), f"{REPOSITORY_NAME}@{self._location(repository)}")

    def _base_tags(self, lo: int, hi: int, repository: int, in_progress: bool = False) -> list[tuple[str, str]]:
        launcher = (lo >> 24) % 10  # 0-3: a schedule, 4-5: a sensor, else by hand
        tags: list[tuple[str, str]] = []
        if (in_progress or 4 <= launcher <= 5) and self.sensors_per_repository > 0:
            tags.append((SENSOR_TAG, self.sensor_name(repository, (hi >> 22) % self.sensors_per_repository)))
        elif launcher <= 3 and self.schedules_per_repository > 0:
            tags.append((SCHEDULE_TAG, self.schedule_name(repository, (hi >> 22) % self.schedules_per_repository)))
        tags.append(("team", TEAMS[(hi >> 26) % len(TEAMS)]))
        return tags

    _RUN_JSON = ('{"runId": "' + _ID + '", "pipelineName": "%s", "status": "%s", "mode": "default", '
                 '"startTime": %d.%03d, "endTime": %d.%03d, "updateTime": %d.%03d, "tags": %s}')

    def run_json(self, index: int) -> str:
        """The JSON of `self.run(index).graphql()` (times as `%d.%03d`: the same floats), about
        three times faster than building it, for a page's runs."""
        if index >= self.base_runs - self._in_progress_base or index in self._mutated:
            return json.dumps(self.run(index).graphql(RUN_FIELDS))
        h = self._hash(index)
        lo, hi = h & 0x3FFFFFFF, (h >> 30) & 0x3FFFFFFF
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
            tags = json.dumps([{"key": k, "value": v} for k, v in pairs])
            self._tags_json[key] = tags
        return self._RUN_JSON % (
            index, h >> 48, (h >> 36) & 0xFFF, "89ab"[lo & 3], (h >> 24) & 0xFFF,
            ((h & 0xFFFFFF) << 24) | ((lo * 2654435761) & 0xFFFFFF),
            JOB_NAMES[(lo >> 8) % len(JOB_NAMES)],
            "SUCCESS" if bucket < 76 else "FAILURE" if bucket < 96 else "CANCELED",
            start // 1000, start % 1000, end // 1000, end % 1000, end // 1000, end % 1000, tags,
        )

    # ---- mutations --------------------------------------------------------------------------

    def add_runs(self, n: int, status: str | None = None) -> list[str]:
        """Adds `n` runs created now (newest), finished at once unless `status` says otherwise."""
        if status is not None and status not in ALL_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        with self.lock:
            ids = []
            for _ in range(n):
                index = self.total_runs
                run_status = status or ("SUCCESS" if self._hash(index) % 5 else "FAILURE")
                self._added_create.append(self._tick())
                self._added_status.append(run_status)
                if run_status in IN_PROGRESS_STATUSES:
                    self._in_progress.add(index)
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
            if start is None and status not in ("QUEUED", "NOT_STARTED", "MANAGED"):
                start = now
            end = now if status in TERMINAL_STATUSES else None
            if index not in self._mutated:
                bisect.insort(self._mutated_sorted, index)
            self._mutated[index] = (status, start, end, now)
            if status in IN_PROGRESS_STATUSES:
                self._in_progress.add(index)
            else:
                self._in_progress.discard(index)

    # ---- queries ------------------------------------------------------------------------

    @staticmethod
    def _normalise(runs_filter: dict[str, Any] | None) -> dict[str, Any]:
        """Drops what Dagster ignores: falsy time bounds and empty lists."""
        return {key: value for key, value in (runs_filter or {}).items() if value}

    def _candidates(self, f: dict[str, Any], upper: int) -> Iterator[int]:
        """Indices below `upper`, descending, that may match `f` (a superset of the matches)."""
        if "runIds" in f:
            found = {self.index_of(run_id) for run_id in f["runIds"]}
            yield from sorted((i for i in found if i is not None and i < upper), reverse=True)
            return
        if "statuses" in f and set(f["statuses"]) <= set(IN_PROGRESS_STATUSES):
            yield from sorted((i for i in self._in_progress if i < upper), reverse=True)
            return
        lo, hi = 0, upper
        lo_updated = None
        if "createdAfter" in f:
            lo = max(lo, self._first_created_after(float(f["createdAfter"])))
        if "createdBefore" in f:
            hi = min(hi, self._first_created_at_or_after(float(f["createdBefore"])))
        if "updatedBefore" in f:  # update >= create, so update < t needs create < t
            hi = min(hi, self._first_created_at_or_after(float(f["updatedBefore"])))
        if "updatedAfter" in f:  # unchanged runs: update <= create + MAX_DURATION
            lo_updated = self._first_created_after(float(f["updatedAfter"]) - MAX_DURATION_MS / 1000)
        start = lo if lo_updated is None else max(lo, lo_updated)
        yield from range(hi - 1, start - 1, -1)
        if lo_updated is not None and lo_updated > lo:
            # changed runs may be older than the band: their update time is "now"
            right = bisect.bisect_left(self._mutated_sorted, min(lo_updated, hi))
            left = bisect.bisect_left(self._mutated_sorted, lo)
            yield from reversed(self._mutated_sorted[left:right])

    @staticmethod
    def matches(run: Run, f: dict[str, Any]) -> bool:
        if "runIds" in f and run.run_id not in f["runIds"]:
            return False
        if "statuses" in f and run.status not in f["statuses"]:
            return False
        if "pipelineName" in f and run.job != f["pipelineName"]:
            return False
        if "mode" in f and f["mode"] != "default":
            return False
        if "updatedAfter" in f and not run.update_ms / 1000 > float(f["updatedAfter"]):
            return False
        if "updatedBefore" in f and not run.update_ms / 1000 < float(f["updatedBefore"]):
            return False
        if "createdAfter" in f and not run.create_ms / 1000 > float(f["createdAfter"]):
            return False
        if "createdBefore" in f and not run.create_ms / 1000 < float(f["createdBefore"]):
            return False
        for tag in f.get("tags") or ():
            value = run.tag_value(tag.get("key"))
            wanted = tag.get("value")
            if value is None or (wanted is not None and value != wanted):
                return False
        return True

    def select_indices(self, runs_filter: dict[str, Any] | None, cursor: str | None = None,
                       limit: int | None = None) -> list[int]:
        """`runsOrError(filter, cursor, limit)` as run indices: newest created first, strictly
        older than `cursor`'s run; an unknown cursor selects nothing."""
        f = self._normalise(runs_filter)
        with self.lock:
            upper = self.total_runs
            if cursor is not None:
                position = self.index_of(cursor)
                if position is None:
                    return []  # Dagster: `id < (subquery of a missing run)` matches nothing
                upper = position
            if limit is not None and limit <= 0:
                return []
            found: list[int] = []
            # Runs in [sure, hi) match for certain (creation-time bounds, and created after an
            # updatedAfter bound): listed without building them; the rest are checked one by one.
            sure, hi = self._sure_range(f, upper)
            for index in range(hi - 1, sure - 1, -1):
                found.append(index)
                if limit is not None and len(found) >= limit:
                    return found
            for index in self._candidates(f, sure):
                if self.matches(self.run(index), f):
                    found.append(index)
                    if limit is not None and len(found) >= limit:
                        break
            return found

    def _sure_range(self, f: dict[str, Any], upper: int) -> tuple[int, int]:
        """(sure, hi): every run with sure <= index < hi matches `f` (may be empty: sure == hi)."""
        if not set(f) <= {"createdAfter", "createdBefore", "updatedAfter"}:
            return upper, upper
        lo = self._first_created_after(float(f["createdAfter"])) if "createdAfter" in f else 0
        hi = upper
        if "createdBefore" in f:
            hi = min(hi, self._first_created_at_or_after(float(f["createdBefore"])))
        if "updatedAfter" in f:  # update >= create: created after the bound means updated after it
            lo = max(lo, self._first_created_after(float(f["updatedAfter"])))
        lo = min(lo, hi)
        return lo, hi

    def select_runs(self, runs_filter: dict[str, Any] | None, cursor: str | None = None,
                    limit: int | None = None) -> list[Run]:
        """Like `select_indices`, as `Run` objects."""
        with self.lock:
            return [self.run(index) for index in self.select_indices(runs_filter, cursor, limit)]

    def count_runs(self, runs_filter: dict[str, Any] | None) -> int:
        """`Runs.count` with the filter (cursor and limit do not apply)."""
        f = self._normalise(runs_filter)
        with self.lock:
            total = self.total_runs
            if not f:
                return total
            sure, hi = self._sure_range(f, total)
            return (hi - sure) + sum(
                1 for index in self._candidates(f, sure) if self.matches(self.run(index), f))

    # ---- repositories, assets, schedules, sensors -------------------------------------------

    def repository_list(self) -> list[tuple[str, str]]:
        """(location name, repository name) for every code location, in the server's order."""
        return [(self._location(r), REPOSITORY_NAME) for r in range(self.repositories)]

    def repository_index(self, selector: dict[str, Any] | None) -> int | None:
        selector = selector or {}
        for r, (location, name) in enumerate(self.repository_list()):
            if (selector.get("repositoryLocationName") == location
                    and selector.get("repositoryName") == name):
                return r
        return None

    def _asset_path(self, r: int, j: int) -> list[str]:
        if j % 7 == 3:
            return [f"{self._location(r)}_metric_{j:04d}"]
        return [self._location(r), LAYERS[j % len(LAYERS)], f"table_{j:04d}"]

    def asset_nodes(self, r: int) -> list[tuple[str, dict[str, Any]]]:
        """(cursor key, AssetNode) of a repository's assets, sorted by key as Dagster sorts them."""
        location = self._location(r)
        nodes = []
        for j in range(self.assets_per_repository):
            path = self._asset_path(r, j)
            h = mix64(self._salt ^ (0xA55E7 << 32) ^ (r << 20) ^ j)
            materializations = []
            if h % 10 < 8 and self.base_runs > 0:
                run = self.run((h >> 8) % self.base_runs)
                materializations.append({"runId": run.run_id, "timestamp": str(run.update_ms)})
            node = {
                "id": f"r.{location}.{REPOSITORY_NAME}.{'/'.join(path)}",
                "assetKey": {"path": path},
                "description": None if h % 3 == 0 else f"{'.'.join(path)}: simulated asset",
                "assetMaterializations": materializations,
            }
            nodes.append((json.dumps(path), node))
        nodes.sort(key=lambda item: item[0])
        return nodes

    def schedules(self, r: int) -> list[dict[str, Any]]:
        location = self._location(r)
        result = []
        for k in range(self.schedules_per_repository):
            running = k % 2 == 0
            result.append({
                "id": f"{_hex_id('origin', location)}:{_hex_id('schedule', location, k)}",
                "name": self.schedule_name(r, k),
                "cronSchedule": CRONS[(r + k) % len(CRONS)],
                "pipelineName": JOB_NAMES[(r + k) % len(JOB_NAMES)],
                "scheduleState": {"status": "RUNNING" if running else "STOPPED",
                                  "runningCount": 1 if running else 0},
            })
        return result

    def sensors(self, r: int) -> list[dict[str, Any]]:
        location = self._location(r)
        result = []
        for k in range(self.sensors_per_repository):
            sensor_type = SENSOR_TYPES[(r + k) % len(SENSOR_TYPES)]
            targets = [{"pipelineName": JOB_NAMES[(r + k + t) % len(JOB_NAMES)]}
                       for t in range(k % 3)]
            result.append({
                "id": f"{_hex_id('origin', location)}:{_hex_id('sensor', location, k)}",
                "name": self.sensor_name(r, k),
                "sensorType": sensor_type,
                "targets": targets,
                "sensorState": {"status": "RUNNING" if k % 3 != 2 else "STOPPED"},
            })
        return result

    # ---- what the connector should write ----------------------------------------------------

    def expected_runs(self) -> Iterator[dict[str, Any]]:
        """Every `dagster_runs` row, oldest first (= `run_id` order), generated lazily."""
        for index in range(self.total_runs):
            yield self.run(index).row()

    def expected_run(self, run_id: str) -> dict[str, Any] | None:
        index = self.index_of(run_id)
        return None if index is None else self.run(index).row()

    def expected_assets(self) -> list[dict[str, Any]]:
        rows = []
        for r in range(self.repositories):
            for _, node in self.asset_nodes(r):
                latest = node["assetMaterializations"][0] if node["assetMaterializations"] else {}
                rows.append({
                    "id": node["id"],
                    "key_path": ".".join(node["assetKey"]["path"]),
                    "description": node["description"],
                    "last_materialization_run_id": latest.get("runId"),
                    "last_materialization_time": iso_utc(int(latest["timestamp"]) / 1000)
                    if latest else None,
                })
        return rows

    def expected_schedules(self) -> list[dict[str, Any]]:
        return [
            {"id": s["id"], "name": s["name"], "cron_schedule": s["cronSchedule"],
             "pipeline_name": s["pipelineName"], "status": s["scheduleState"]["status"],
             "running_count": s["scheduleState"]["runningCount"]}
            for r in range(self.repositories) for s in self.schedules(r)
        ]

    def expected_sensors(self) -> list[dict[str, Any]]:
        with self.lock:
            active = [self.run(i) for i in self._in_progress]
        rows = []
        for r in range(self.repositories):
            label = f"{REPOSITORY_NAME}@{self._location(r)}"
            for s in self.sensors(r):
                ids = sorted(run.run_id for run in active
                             if run.tag_value(SENSOR_TAG) == s["name"]
                             and (not self.shared_sensor_names or run.repository_label == label))
                jobs = [t["pipelineName"] for t in s["targets"]]
                rows.append({
                    "id": s["id"], "name": s["name"], "sensor_type": s["sensorType"],
                    "pipeline_name": ", ".join(jobs) if jobs else None,
                    "status": s["sensorState"]["status"], "active_run_ids": json.dumps(ids),
                })
        return rows
