"""The sync state saved with each checkpoint: a watermark and, mid-sync, one run walk.

State stays a few hundred bytes however long the history: no lists of run ids.

    {"version": 1,
     "runs_synced_until": 1718000000.0,        # every run updated before this is loaded
     "run_walk": {"window_end": 1718003600.0,  # fixed before the walk's first request
                  "updated_after": 1717999700.0,  # null on the first sync: whole history
                  "cursor": "a1b2...",          # last run id checkpointed; null: not started
                  "rows_done": 2000}}           # for progress only
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.errors import StateError

STATE_VERSION = 1
RESET_ADVICE = "reset the connector's state (a full re-sync; `fivetran reset` when debugging)"


@dataclass
class RunWalk:
    """One pass over `runsOrError`, newest first, with the cursor of the last saved page."""

    window_end: float
    updated_after: float | None = None
    cursor: str | None = None
    rows_done: int = 0

    def runs_filter(self) -> dict[str, Any]:
        """The `RunsFilter` this walk sends: runs changed after `updated_after`, if set."""
        return {} if self.updated_after is None else {"updatedAfter": self.updated_after}


@dataclass
class SyncState:
    """What the next sync needs to know; see the module docstring for the saved form."""

    runs_synced_until: float | None = None
    run_walk: RunWalk | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "runs_synced_until": self.runs_synced_until,
            "run_walk": asdict(self.run_walk) if self.run_walk else None,
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
        if "version" not in raw:
            return cls(), (
                f"the saved state is not this connector's (keys: {sorted(raw)[:5]}); "
                "starting a full re-sync of runs"
            )
        if raw["version"] != STATE_VERSION:
            raise StateError(
                f"the saved state has version {raw['version']!r}, this connector reads "
                f"version {STATE_VERSION}: {RESET_ADVICE}"
            )
        try:
            synced_until = _optional_float(raw.get("runs_synced_until"))
            walk_raw = raw.get("run_walk")
            walk = None
            if walk_raw is not None:
                cursor = walk_raw.get("cursor")
                if cursor is not None and not isinstance(cursor, str):
                    raise TypeError("cursor must be a string")
                walk = RunWalk(
                    window_end=float(walk_raw["window_end"]),
                    updated_after=_optional_float(walk_raw.get("updated_after")),
                    cursor=cursor,
                    rows_done=int(walk_raw.get("rows_done", 0)),
                )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StateError(f"the saved state is malformed ({error}): {RESET_ADVICE}") from None
        return cls(runs_synced_until=synced_until, run_walk=walk), None


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("expected a number")
    return float(value)
