"""Definition toggles shared by the demo code locations (not a code location itself).

Each location reads ``$DAGSTER_HOME/demo_toggles.json`` when it is imported, so a change
takes effect when the location is (re)loaded: ``reloadRepositoryLocation`` in GraphQL,
``DagsterDemo.reload_location``, a restart, or the next ``demo/seed.py`` command.
The code servers are started by the webserver with its environment, hence its DAGSTER_HOME.

    {"removed": ["schedule:NAME", "sensor:NAME", "asset:a/b/c", "check:a/b/c:CHECK_NAME"],
     "broken_locations": ["operations"]}

``removed`` definitions are left out of their location's ``Definitions``; a location named in
``broken_locations`` raises at import, i.e. it is a real code location that failed to load.
No file (or no DAGSTER_HOME) means no toggles.  ``DagsterDemo.set_toggles`` writes the file.

``partition_end_date()`` is the end of the demo's daily partitions, fixed per instance
(``$DAGSTER_HOME/demo_calendar.json``, written by the first process that asks) so that every
process serving or seeding one instance sees the same partitions, whatever the date.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

TOGGLES_FILE = "demo_toggles.json"
CALENDAR_FILE = "demo_calendar.json"
REMOVABLE_KINDS = ("schedule", "sensor", "asset", "check")

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

    Schedules and sensors are named by their name, assets by their key path joined with "/",
    asset checks by their asset's key path, ":" and the check's name.
    """
    removed = {
        entry.split(":", 1)[1]
        for entry in toggles["removed"]
        if entry.startswith(f"{kind}:")
    }
    if kind == "check":  # a removed asset takes its checks with it
        removed_assets = {
            entry.split(":", 1)[1] for entry in toggles["removed"] if entry.startswith("asset:")
        }
        definitions = [
            item for item in definitions
            if "/".join(item.check_key.asset_key.path) not in removed_assets
        ]  # fmt: skip
    if not removed:
        return list(definitions)
    return [item for item in definitions if _name(kind, item) not in removed]


def _name(kind: str, item: Any) -> str:
    if kind == "asset":
        return "/".join(item.key.path)
    if kind == "check":
        key = item.check_key
        return f"{'/'.join(key.asset_key.path)}:{key.name}"
    return item.name


def partition_end_date() -> date:
    """The (exclusive) end of the demo's daily partitions: the UTC day this instance first asked.

    Stored in ``$DAGSTER_HOME/demo_calendar.json`` by the first process (created exclusively, so
    concurrent code servers agree); today without a DAGSTER_HOME.
    """
    today = datetime.now(timezone.utc).date()
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return today
    path = Path(home) / CALENDAR_FILE
    try:
        with open(path, "x") as out:
            out.write(json.dumps({"partition_end_date": today.isoformat()}))
        return today
    except FileExistsError:
        pass
    for _ in range(50):  # another process is writing it
        text = path.read_text()
        if text:
            return date.fromisoformat(json.loads(text)["partition_end_date"])
        time.sleep(0.01)
    raise RuntimeError(f"{path} stays empty")
