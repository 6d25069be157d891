"""The position of `dagster_ticks` in the sync state (`state.tables["dagster_ticks"]`).

    {"instigators": {
       "<code location>": {"<repository>": {"schedules": {"<selectorId>": {
          "watermark": 1718000000.5,       # newest tick timestamp synced (Dagster's clock)
          "max_id": 1234,                  # largest tickId synced (ids grow as ticks are made)
          "open": {"1230": 1717999000.0},  # ticks last seen STARTED -> their timestamp
          "walks": [{"before": 1717990000.0, "stop": 1717000000.0}]}},  # unfinished walks
        "sensors": {...}}}}}

One entry per schedule or sensor, so the state is bounded by the definitions, never by the
ticks. A key is left out when it has no value: an entry of an instigator that has no tick yet
is `{}`, and an instigator with no entry has never been synced (its first sync walks its whole
history). A walk reads the instigator's ticks newest first, strictly before `before` (None:
from the newest), down to `stop` (None: to the oldest tick); it is saved after each page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extractor.log import log
from extractor.workspace import Repository, Workspace

KINDS = ("schedules", "sensors")
MAX_OPEN_TICKS = 20  # ticks tracked as STARTED per instigator (the newest ones)


@dataclass
class TickWalk:
    before: float | None  # the next page's `beforeTimestamp` (None: the newest ticks)
    stop: float | None  # the walk ends once a page reaches this timestamp (None: empty page)

    def to_json(self) -> dict[str, Any]:
        return {"before": self.before, "stop": self.stop}


@dataclass
class InstigatorPosition:
    """What was synced of one instigator's ticks."""

    watermark: float | None = None
    max_id: int | None = None
    open: dict[str, float] = field(default_factory=dict)
    walks: list[TickWalk] = field(default_factory=list)

    def note(self, ticks: list[dict[str, Any]]) -> int:
        """Records ticks that were sent; returns how many open ticks were dropped (over
        `MAX_OPEN_TICKS`, the oldest go)."""
        for tick in ticks:
            tick_id, timestamp = tick["tickId"], float(tick["timestamp"])
            if self.watermark is None or timestamp > self.watermark:
                self.watermark = timestamp
            number = tick_number(tick_id)
            if number is not None and (self.max_id is None or number > self.max_id):
                self.max_id = number
            if tick["status"] == "STARTED":
                self.open[tick_id] = timestamp
            else:
                self.open.pop(tick_id, None)
        dropped = 0
        while len(self.open) > MAX_OPEN_TICKS:
            del self.open[min(self.open, key=lambda tick_id: self.open[tick_id])]
            dropped += 1
        return dropped

    def is_new(self, tick: dict[str, Any]) -> bool:
        """Made after the newest tick synced (a larger tickId), whatever its timestamp says."""
        number = tick_number(tick["tickId"])
        return number is not None and self.max_id is not None and number > self.max_id

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.watermark is not None:
            out["watermark"] = self.watermark
        if self.max_id is not None:
            out["max_id"] = self.max_id
        if self.open:
            out["open"] = dict(self.open)
        if self.walks:
            out["walks"] = [walk.to_json() for walk in self.walks]
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> InstigatorPosition:
        """Raises TypeError/ValueError/KeyError on a malformed entry."""
        return cls(
            watermark=_optional_float(raw.get("watermark")),
            max_id=None if raw.get("max_id") is None else int(raw["max_id"]),
            open={str(key): float(value) for key, value in (raw.get("open") or {}).items()},
            walks=[
                TickWalk(_optional_float(walk["before"]), _optional_float(walk["stop"]))
                for walk in raw.get("walks") or []
            ],
        )


def _is_tree(tree: Any) -> bool:
    """Whether `instigators` has the shape location -> repository -> kind -> selectorId -> entry."""
    return isinstance(tree, dict) and all(
        isinstance(repositories, dict)
        and all(
            isinstance(kinds, dict)
            and all(kind in KINDS and isinstance(entries, dict) for kind, entries in kinds.items())
            for kinds in repositories.values()
        )
        for repositories in tree.values()
    )


def tick_number(tick_id: str) -> int | None:
    """A tickId as the integer it is in Dagster's storage (None if it is not one)."""
    try:
        return int(tick_id)
    except (TypeError, ValueError):
        return None


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


class TickPositions:
    """The positions of every instigator, read from and written back into the table's state."""

    def __init__(self, state: dict[str, Any], table: str = "dagster_ticks") -> None:
        self._state = state
        self._table = table
        if not _is_tree(state.setdefault("instigators", {})):
            log.warning(f"{table}: the saved position is malformed; every instigator is read again")
            state["instigators"] = {}

    @property
    def _tree(self) -> dict[str, Any]:
        return self._state["instigators"]

    def of_kind(self, repository: Repository, kind: str) -> dict[str, InstigatorPosition]:
        """The saved positions of a repository's schedules or sensors, by selectorId (an
        entry that can't be read is dropped: that instigator is synced again from scratch)."""
        raw = self._tree.get(repository.location_name, {}).get(repository.name, {}).get(kind, {})
        positions = {}
        for selector_id, entry in raw.items():
            try:
                positions[selector_id] = InstigatorPosition.from_json(entry)
            except (TypeError, ValueError, KeyError, AttributeError) as error:
                log.warning(
                    f"{self._table}: the saved position of instigator {selector_id} is malformed "
                    f"({error}); its ticks are read again from the start"
                )
        return positions

    def save(self, repository: Repository, kind: str, selector_id: str, position: InstigatorPosition) -> None:
        by_kind = self._tree.setdefault(repository.location_name, {}).setdefault(repository.name, {})
        by_kind.setdefault(kind, {})[selector_id] = position.to_json()

    def keep_only(self, repository: Repository, kind: str, selector_ids: set[str]) -> int:
        """Drops the entries of this repository's schedules or sensors that are gone from
        its listing; returns how many."""
        by_kind = self._tree.get(repository.location_name, {}).get(repository.name, {})
        entries = by_kind.get(kind, {})
        gone = [selector_id for selector_id in entries if selector_id not in selector_ids]
        for selector_id in gone:
            del entries[selector_id]
        return len(gone)

    def drop_gone_repositories(self, workspace: Workspace) -> int:
        """Drops the entries of code locations gone from the workspace, and of repositories
        gone from a location that loaded (a location that failed to load keeps its entries);
        returns how many instigators were dropped."""
        present = set(workspace.repositories)
        dropped = 0
        for location in list(self._tree):
            repositories = self._tree[location]
            for name in list(repositories):
                gone = location not in workspace.locations or (
                    location in workspace.loaded and Repository(location, name) not in present
                )
                if gone:
                    dropped += sum(len(entries) for entries in repositories.pop(name).values())
            if not repositories:
                del self._tree[location]
        return dropped
