"""`dagster_asset_dependencies`: one row per edge of the workspace's asset graph, upstream key
to downstream key (a snapshot, with soft deletes), from the sync's one walk over the assets.

An edge belongs to its downstream asset's code location (where the dependency is declared);
an upstream asset in another location is an edge like any other.
"""

from __future__ import annotations

from typing import Any

from extractor import asset_graph
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext, Table
from extractor.transforms import Row, asset_key_id

NAME = "dagster_asset_dependencies"


def rows_of(asset: dict[str, Any]) -> list[Row]:
    """The edges into a defined `Asset` of the listing."""
    definition = asset["definition"]
    location = definition["repository"]["location"]["name"]
    downstream = asset_key_id(asset["key"]["path"])
    rows = []
    for upstream in definition.get("dependencyKeys") or ():
        upstream_key = asset_key_id(upstream["path"])
        rows.append(
            {
                "id": f"{upstream_key} -> {downstream}",
                "upstream_key": upstream_key,
                "downstream_key": downstream,
                "code_location": location,
            }
        )
    return rows


async def sync(context: SyncContext) -> SnapshotListing:
    return (await asset_graph.read(context)).listings[NAME]


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "upstream_key": "STRING",
        "downstream_key": "STRING",
        "code_location": "STRING",
    },
    sync=sync,
)
