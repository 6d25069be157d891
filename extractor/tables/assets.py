"""`dagster_assets`: the workspace's assets, one row per asset key (a snapshot, with soft
deletes), in bounded pages, one request each.

`assetsOrError` pages the workspace's asset keys with their definition (resolved across code
locations, so a dependency on another location's asset is not a second asset) and their latest
materialization (Dagster batches `Asset.assetMaterializations` over a page: 3,000 assets with
events in 2.2 s, where `assetsLatestInfo` took 15 s). Keys that only have events (no
definition) and the stubs Dagster makes for undefined dependencies are not assets of the
workspace and are left out. The walk ends on an empty page or a missing cursor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from extractor.client import DagsterClient, Operation
from extractor.connection import connection_pages
from extractor.events import Rows
from extractor.log import log
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext, Table
from extractor.transforms import Row, asset_key_id, utc_datetime_from_millis

NAME = "dagster_assets"
ASSET_PAGE_SIZE = 500

ASSETS_PAGE = Operation(
    "ConnectorAssetsPage",
    """
query ConnectorAssetsPage($cursor: String, $limit: Int) {
  assetsOrError(cursor: $cursor, limit: $limit) {
    __typename
    ... on AssetConnection {
      nodes {
        key { path }
        definition { isAutoCreatedStub description repository { name location { name } } }
        assetMaterializations(limit: 1) { runId timestamp }
      }
      cursor
    }
    ... on Error { message }
  }
}""",
)


def asset_row(asset: dict[str, Any], latest: dict[str, Any] | None) -> Row:
    """A `dagster_assets` row from an `Asset` with its definition, and its latest
    materialization (`None`: never materialized)."""
    definition = asset["definition"]
    repository = definition["repository"]
    latest = latest or {}
    return {
        "id": asset_key_id(asset["key"]["path"]),
        "key_path": ".".join(asset["key"]["path"]),
        "description": definition.get("description"),
        "code_location": repository["location"]["name"],
        "repository": repository["name"],
        "last_materialization_run_id": latest.get("runId") or None,  # runless events: ''
        "last_materialization_time": utc_datetime_from_millis(latest.get("timestamp")),
    }


@dataclass(frozen=True)
class AssetPage:
    rows: list[Row]
    locations: list[str]  # the code location of each row


async def asset_pages(client: DagsterClient, page_size: int = ASSET_PAGE_SIZE) -> AsyncIterator[AssetPage]:
    """Yields the workspace's `dagster_assets` rows, a page at a time."""
    async for nodes in connection_pages(client, ASSETS_PAGE, "assetsOrError", "AssetConnection", page_size):
        defined = [node for node in nodes if is_defined(node)]
        if defined:
            yield AssetPage(
                rows=[asset_row(node, _first(node.get("assetMaterializations"))) for node in defined],
                locations=[node["definition"]["repository"]["location"]["name"] for node in defined],
            )


def is_defined(asset: dict[str, Any]) -> bool:
    """Whether an `Asset` of the listing is an asset of the workspace: it has a definition,
    and not the stub Dagster makes for an undefined dependency."""
    definition = asset.get("definition")
    return bool(definition) and not definition.get("isAutoCreatedStub")


def _first(events: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    return events[0] if events else None


async def sync(context: SyncContext) -> SnapshotListing:
    workspace = await context.listed_workspace()
    listing = SnapshotListing(complete=set(workspace.loaded))
    rows = pages = 0
    async for page in asset_pages(context.client):
        pages += 1
        for row, location in zip(page.rows, page.locations):
            listing.add(location, row["id"])
        await context.send(Rows(NAME, page.rows))
        rows += len(page.rows)
    log.info(f"{NAME}: {rows} rows in {pages} pages")
    return listing


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "key_path": "STRING",
        "description": "STRING",
        "code_location": "STRING",
        "repository": "STRING",
        "last_materialization_run_id": "STRING",
        "last_materialization_time": "UTC_DATETIME",
    },
    sync=sync,
)
