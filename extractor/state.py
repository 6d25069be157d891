"""The sync state saved with each checkpoint: a watermark and, mid-sync, the run walks left.

State stays a few hundred bytes however long the history: no lists of run ids.

    {"version": 1,
     "runs_synced_until": 1718000000.0,      # every run updated before this is loaded
     "run_sync": {                           # present only while a run sync is unfinished
        "window_end": 1718003600.0,          # fixed before the sync's first request
        "updated_after": 1717999700.0,       # null on a first sync: the whole history
        "rows_done": 2000,                   # for progress only
        "walks": [                           # the walks not finished yet
           {"created_after": null, "created_before": 1700000000.0, "cursor": "a1b2..."}]}}

A first sync splits the history into creation-time windows walked concurrently; each walk
has its own cursor (the last run id checkpointed; null: not started).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.errors import StateError

STATE_VERSION = 1
RESET_ADVICE = "reset the connector's state (a full re-sync; `fivetran reset` when debugging)"

# Dagster compares createdAfter strictly (>): a window starts this much before its boundary,
# so a run created exactly on the boundary is in both neighbouring windows, never in neither.
WINDOW_OVERLAP_SECONDS = 0.001


@dataclass
class RunWalk:
    """One cursor walk over `runsOrError`, newest first, within a creation-time window."""

    created_after: float | None = None
    created_before: float | None = None
    cursor: str | None = None

    def runs_filter(self, updated_after: float | None) -> dict[str, Any]:
        """The `RunsFilter` of this walk in a sync reading runs changed after `updated_after`."""
        runs_filter: dict[str, Any] = {}
        if updated_after is not None:
            runs_filter["updatedAfter"] = updated_after
        if self.created_after is not None:
            runs_filter["createdAfter"] = self.created_after - WINDOW_OVERLAP_SECONDS
        if self.created_before is not None:
            runs_filter["createdBefore"] = self.created_before
        return runs_filter


@dataclass
class RunSync:
    """A run sync in progress: its fixed window end and the walks still to finish."""

    window_end: float
    updated_after: float | None = None
    rows_done: int = 0
    walks: list[RunWalk] = field(default_factory=list)


@dataclass
class SyncState:
    """What the next sync needs to know; see the module docstring for the saved form."""

    runs_synced_until: float | None = None
    run_sync: RunSync | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "runs_synced_until": self.runs_synced_until,
            "run_sync": asdict(self.run_sync) if self.run_sync else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> tuple[SyncState, str | None]:
        """Reads saved state; returns it and a warning to log, if any.

        An empty state starts a full sync. A state without our `version` key (an older
        connector's) also starts a full sync, with a warning: upserts are idempotent, so
        reloading loses nothing.

        Raises:
            StateError: the state claims our format but is malformed, or is from a newer version.
        """
        if not raw:
            return cls(), None
        if not isinstance(raw, dict) or "version" not in raw:
            keys = sorted(raw)[:5] if isinstance(raw, dict) else type(raw).__name__
            return cls(), (
                f"the saved state is not this connector's (keys: {keys}); "
                "starting a full re-sync of runs"
            )
        if raw["version"] != STATE_VERSION:
            raise StateError(
                f"the saved state has version {raw['version']!r}, this connector reads "
                f"version {STATE_VERSION}: {RESET_ADVICE}"
            )
        try:
            return cls(
                runs_synced_until=_optional_float(raw.get("runs_synced_until")),
                run_sync=_run_sync(raw.get("run_sync")),
            ), None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StateError(f"the saved state is malformed ({error}): {RESET_ADVICE}") from None


def _run_sync(raw: dict[str, Any] | None) -> RunSync | None:
    if raw is None:
        return None
    walks = []
    for walk in raw["walks"]:
        cursor = walk.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise TypeError("a walk's cursor must be a string")
        walks.append(
            RunWalk(
                created_after=_optional_float(walk.get("created_after")),
                created_before=_optional_float(walk.get("created_before")),
                cursor=cursor,
            )
        )
    if not walks:
        raise ValueError("an unfinished run sync has no walks")
    return RunSync(
        window_end=float(raw["window_end"]),
        updated_after=_optional_float(raw.get("updated_after")),
        rows_done=int(raw.get("rows_done", 0)),
        walks=walks,
    )


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
