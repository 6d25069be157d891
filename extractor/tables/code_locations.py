"""`dagster_code_locations`: the workspace's code locations, whether they loaded, and the
Dagster library versions each reports (a snapshot, with soft deletes; keyed by name).

Read from the workspace listing every sync makes anyway: no request of its own. A location
that failed to load has `load_status` FAILED and the code's own error.
"""

from __future__ import annotations

import json
from typing import Any

from extractor.events import Rows
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext, Table
from extractor.transforms import Row, utc_datetime
from extractor.workspace import load_error

NAME = "dagster_code_locations"


def code_location_row(entry: dict[str, Any]) -> Row:
    """A row from a `WorkspaceLocationEntry`."""
    location = entry.get("locationOrLoadError") or {}
    failed = location.get("__typename") == "PythonError"
    loaded = location.get("__typename") == "RepositoryLocation"
    versions = location.get("dagsterLibraryVersions") if loaded else None
    return {
        "id": entry["name"],
        "name": entry["name"],
        "load_status": "FAILED" if failed else entry.get("loadStatus"),
        "error": load_error(location) if failed else None,
        "updated_time": utc_datetime(entry.get("updatedTimestamp")),
        "repositories": json.dumps([repo["name"] for repo in location.get("repositories") or []])
        if loaded
        else None,
        "dagster_library_versions": None
        if versions is None
        else {version["name"]: version["version"] for version in versions},
    }


async def sync(context: SyncContext) -> SnapshotListing:
    workspace = await context.listed_workspace()
    listing = SnapshotListing(complete=set(workspace.locations), previous=context.state.snapshots.get(NAME, {}))
    rows = [row for row in map(code_location_row, workspace.entries) if listing.add(row["id"], row)]
    if rows:
        await context.send(Rows(NAME, rows))
    return listing


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "name": "STRING",
        "load_status": "STRING",
        "error": "STRING",
        "updated_time": "UTC_DATETIME",
        "repositories": "STRING",
        "dagster_library_versions": "JSON",
    },
    sync=sync,
)
