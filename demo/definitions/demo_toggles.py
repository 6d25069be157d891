"""Definition toggles shared by the demo code locations (not a code location itself).

Each location reads ``$DAGSTER_HOME/demo_toggles.json`` when it is imported, so a change
takes effect when the location is (re)loaded: ``reloadRepositoryLocation`` in GraphQL,
``DagsterDemo.reload_location``, a restart, or the next ``demo/seed.py`` command.
The code servers are started by the webserver with its environment, hence its DAGSTER_HOME.

    {"removed": ["schedule:NAME", "sensor:NAME", "asset:a/b/c"], "broken_locations": ["operations"]}

``removed`` definitions are left out of their location's ``Definitions``; a location named in
``broken_locations`` raises at import, i.e. it is a real code location that failed to load.
No file (or no DAGSTER_HOME) means no toggles.  ``DagsterDemo.set_toggles`` writes the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

TOGGLES_FILE = "demo_toggles.json"
REMOVABLE_KINDS = ("schedule", "sensor", "asset")

T = TypeVar("T")


class BrokenLocationError(RuntimeError):
    """Raised at import by a location listed in ``broken_locations``."""


def toggles_path() -> Path | None:
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) / TOGGLES_FILE if home else None


def load_toggles() -> dict[str, Any]:
    path = toggles_path()
    if path is None or not path.exists():
        return {"removed": [], "broken_locations": []}
    data = json.loads(path.read_text())
    return {
        "removed": list(data.get("removed") or []),
        "broken_locations": list(data.get("broken_locations") or []),
    }


def check_not_broken(location: str, toggles: dict[str, Any]) -> None:
    if location in toggles["broken_locations"]:
        raise BrokenLocationError(
            f"demo toggle: code location {location!r} is broken on purpose "
            f"(listed in broken_locations of {toggles_path()})"
        )


def keep(kind: str, definitions: Iterable[T], toggles: dict[str, Any]) -> list[T]:
    """``definitions`` of one kind without those listed as ``"<kind>:<name>"`` in ``removed``.

    Schedules and sensors are named by their name, assets by their key path joined with "/".
    """
    removed = {
        entry.split(":", 1)[1]
        for entry in toggles["removed"]
        if entry.startswith(f"{kind}:")
    }
    if not removed:
        return list(definitions)
    return [item for item in definitions if _name(kind, item) not in removed]


def _name(kind: str, item: Any) -> str:
    if kind == "asset":
        return "/".join(item.key.path)
    return item.name
