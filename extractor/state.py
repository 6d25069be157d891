"""The sync state saved with each checkpoint.

    {"version": 2,
     "deployment": "127.0.0.1:3000/graphql",  # which Dagster this state belongs to
     "runs": {
        "updated_until": 1718000000.0,     # newest run update time seen (Dagster's clock)
        "created_until": 1718000000.0,     # newest run creation time seen (Dagster's clock)
        "unfinished": {"a1b2...": 1717990000.0},  # runs last seen not finished -> creation time
        "unfinished_overflow_since": null, # creation time of the oldest unfinished run not tracked
        "sync": {                          # present only while a run sync is unfinished
           "first": true, "started_at": 1718003600.0, "rows_done": 2000,
           "updated_until": ..., "created_until": ...,   # what this sync has seen so far
           "walks": [{"created_after": null, "created_before": 1700000000.0,
                      "cursor": "a1b2...", "cursor_created": 1699990000.0, ...}]}},
     "snapshots": {"dagster_assets": {"analytics": {"warehouse/raw/orders": "3f2a...", ...}}},
     "tables": {"dagster_ticks": {...}},   # each incremental table's own position
     "bases": {"dagster_assets": {"versions": {"analytics": "..."}, ...}}}  # see below

Watermarks are Dagster's own times, never this machine's clock. `unfinished` holds at most
`MAX_TRACKED_UNFINISHED` ids; past that, the oldest untracked one's creation time is kept
instead and the next sync re-reads every run created since then. `snapshots` holds, per
snapshot table and code location, the primary keys last synced with a digest of each row:
what is gone from a complete listing is deleted, and what is unchanged is not sent again. `tables` holds each incremental table's position (its watermarks, the open
items it re-reads, its first sync's progress) as plain JSON that the table's module defines and
reads back itself; it must stay small (bounded by the number of definitions, not of events).
`bases` holds, per snapshot table, what its last listing was read against (the asset walk's:
each code location's `versionKey`), saved with its keys: a later sync may then list less.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.errors import StateError

STATE_VERSION = 2
MAX_TRACKED_UNFINISHED = 1000
RESET_ADVICE = "reset the connector's state (a full re-sync; `fivetran reset` when debugging)"

# Dagster compares creation times strictly: a window starts this much before its boundary, so
# a run created exactly on a boundary is in both neighbouring windows, never in neither.
WINDOW_OVERLAP_SECONDS = 0.001


@dataclass
class RunWalk:
    """One cursor walk over `runsOrError`, newest created first.

    The filter is `created_after` < creation < `created_before`, and, for the walk over changed
    runs, `updated_after` < update time (with every status listed, which lets Dagster use its
    (status, update time) index). `stop_created_below` ends the walk at the first run created
    before it (the walk over new runs asks for no filter at all). `cursor` is the last run
    saved and `cursor_created` its creation time, where the walk goes on if that run vanishes.
    """

    created_after: float | None = None
    created_before: float | None = None
    updated_after: float | None = None
    stop_created_below: float | None = None
    cursor: str | None = None
    cursor_created: float | None = None

    def runs_filter(self, statuses: tuple[str, ...]) -> dict[str, Any]:
        """The walk's `RunsFilter`; `statuses` are every status the server knows."""
        runs_filter: dict[str, Any] = {}
        if self.updated_after is not None:
            runs_filter["updatedAfter"] = self.updated_after
            runs_filter["statuses"] = list(statuses)
        if self.created_after is not None:
            runs_filter["createdAfter"] = self.created_after - WINDOW_OVERLAP_SECONDS
        if self.created_before is not None:
            runs_filter["createdBefore"] = self.created_before
        return runs_filter


@dataclass
class RunSync:
    """A run sync in progress: the walks still to finish and what they have seen."""

    first: bool
    started_at: float  # when the sync started, in Dagster's clock: no watermark goes past it
    walks: list[RunWalk] = field(default_factory=list)
    rows_done: int = 0
    changed_after: float | None = None  # the changed-runs walk's bound: it reads those runs
    updated_until: float | None = None
    created_until: float | None = None


@dataclass
class RunsState:
    updated_until: float | None = None
    created_until: float | None = None
    unfinished: dict[str, float] = field(default_factory=dict)
    unfinished_overflow_since: float | None = None
    sync: RunSync | None = None

    @property
    def synced_before(self) -> bool:
        return self.updated_until is not None and self.created_until is not None


@dataclass
class SyncState:
    """What the next sync needs to know; see the module docstring for the saved form."""

    deployment: str | None = None
    runs: RunsState = field(default_factory=RunsState)
    snapshots: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # incremental tables' positions
    bases: dict[str, dict[str, Any]] = field(default_factory=dict)  # what snapshot listings were read against

    def table(self, name: str) -> dict[str, Any]:
        """The position of incremental table `name`, created empty: the table changes it in place."""
        return self.tables.setdefault(name, {})

    def to_dict(self) -> dict[str, Any]:
        """A copy: `update()` saves it in another thread while the extractor goes on."""
        return {
            "version": STATE_VERSION,
            "deployment": self.deployment,
            "runs": asdict(self.runs),
            "snapshots": dict(self.snapshots),  # a table's keys are replaced, never changed
            "tables": copy.deepcopy(self.tables),  # changed in place by the tables
            "bases": dict(self.bases),  # a table's basis is replaced, never changed
        }

    @classmethod
    def from_dict(cls, raw: Any, deployment: str) -> tuple[SyncState, str | None]:
        """Reads saved state for `deployment`; returns it and a warning to log, if any.

        An empty state starts a full sync. A state of an older connector, or of another
        deployment, also starts a full sync of runs, with a warning: upserts are idempotent.

        Raises:
            StateError: the state claims our format but is malformed, or is from a newer version.
        """
        fresh = cls(deployment=deployment)
        if not raw:
            return fresh, None
        if not isinstance(raw, dict) or not isinstance(raw.get("version"), int):
            keys = sorted(raw)[:5] if isinstance(raw, dict) else type(raw).__name__
            return fresh, (
                f"the saved state is not this connector's (keys: {keys}); "
                "starting a full re-sync of runs"
            )
        if raw["version"] < STATE_VERSION:
            return fresh, (
                f"the saved state is from an older version of this connector ({raw['version']}); "
                "starting a full re-sync of runs (rows are replaced, nothing is lost)"
            )
        if raw["version"] != STATE_VERSION:
            raise StateError(
                f"the saved state has version {raw['version']!r}, this connector reads "
                f"version {STATE_VERSION}: {RESET_ADVICE}"
            )
        try:
            snapshots = _snapshots(raw.get("snapshots") or {})
            if raw.get("deployment") != deployment:
                fresh.snapshots = snapshots  # so the other deployment's definitions get deleted
                return fresh, (
                    f"the saved state belongs to another Dagster ({raw.get('deployment')}), not "
                    f"{deployment}: starting a full sync of this one. Runs already synced from "
                    "the other stay in the destination; use one connection per deployment"
                )
            tables = raw.get("tables") or {}
            if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
                raise TypeError("'tables' must map table names to objects")
            bases = raw.get("bases") or {}
            if not isinstance(bases, dict) or not all(isinstance(v, dict) for v in bases.values()):
                raise TypeError("'bases' must map table names to objects")
            return cls(deployment, _runs(raw["runs"]), snapshots, copy.deepcopy(tables), copy.deepcopy(bases)), None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StateError(f"the saved state is malformed ({error}): {RESET_ADVICE}") from None


def _runs(raw: dict[str, Any]) -> RunsState:
    unfinished = raw.get("unfinished") or {}
    if not isinstance(unfinished, dict):
        raise TypeError("'unfinished' must map run ids to creation times")
    sync = raw.get("sync")
    return RunsState(
        updated_until=_optional_float(raw.get("updated_until")),
        created_until=_optional_float(raw.get("created_until")),
        unfinished={str(run_id): float(created) for run_id, created in unfinished.items()},
        unfinished_overflow_since=_optional_float(raw.get("unfinished_overflow_since")),
        sync=None if sync is None else _run_sync(sync),
    )


def run_walk_from_dict(raw: dict[str, Any]) -> RunWalk:
    """A saved `RunWalk` (its `asdict` form), checked."""
    cursor = raw.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise TypeError("a walk's cursor must be a string")
    names = ("created_after", "created_before", "updated_after", "stop_created_below", "cursor_created")
    return RunWalk(cursor=cursor, **{name: _optional_float(raw.get(name)) for name in names})


def _run_sync(raw: dict[str, Any]) -> RunSync:
    walks = [run_walk_from_dict(walk) for walk in raw["walks"]]
    # `walks` may be empty: the sync read everything, and the next one completes it.
    return RunSync(
        first=bool(raw["first"]),
        started_at=float(raw["started_at"]),
        walks=walks,
        rows_done=int(raw.get("rows_done", 0)),
        changed_after=_optional_float(raw.get("changed_after")),
        updated_until=_optional_float(raw.get("updated_until")),
        created_until=_optional_float(raw.get("created_until")),
    )


def _snapshots(raw: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """Keys with the digests of their rows; a list of keys (an older connector's) has no
    digests, so each of its rows is sent again once."""
    return {
        str(table): {
            str(location): {str(key): str(digest) for key, digest in keys.items()}
            if isinstance(keys, dict)
            else dict.fromkeys(map(str, keys), "")
            for location, keys in by_location.items()
        }
        for table, by_location in raw.items()
    }


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
