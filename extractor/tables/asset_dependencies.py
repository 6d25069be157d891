"""`dagster_asset_dependencies`: one row per edge of the workspace's asset graph, upstream key
to downstream key (a snapshot, with soft deletes).

An edge belongs to its downstream asset's code location (where the dependency is declared);
an upstream asset in another location is an edge like any other.
"""

from __future__ import annotations

from extractor.client import Operation
from extractor.connection import connection_pages
from extractor.events import Rows
from extractor.log import log
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext, Table
from extractor.tables.assets import ASSET_PAGE_SIZE, is_defined
from extractor.transforms import Row, asset_key_id

NAME = "dagster_asset_dependencies"

DEPENDENCIES_PAGE = Operation(
    "ConnectorAssetDependencies",
    """
query ConnectorAssetDependencies($cursor: String, $limit: Int) {
  assetsOrError(cursor: $cursor, limit: $limit) {
    __typename
    ... on AssetConnection {
      nodes {
        key { path }
        definition { isAutoCreatedStub repository { location { name } } dependencyKeys { path } }
      }
      cursor
    }
    ... on Error { message }
  }
}""",
)


def dependency_row(upstream: list[str], downstream: list[str], location: str) -> Row:
    upstream_key, downstream_key = asset_key_id(upstream), asset_key_id(downstream)
    return {
        "id": f"{upstream_key} -> {downstream_key}",
        "upstream_key": upstream_key,
        "downstream_key": downstream_key,
        "code_location": location,
    }


async def sync(context: SyncContext) -> SnapshotListing:
    workspace = await context.listed_workspace()
    listing = SnapshotListing(complete=set(workspace.loaded))
    edges = 0
    pages = connection_pages(
        context.client, DEPENDENCIES_PAGE, "assetsOrError", "AssetConnection", ASSET_PAGE_SIZE
    )
    async for nodes in pages:
        rows = []
        for node in filter(is_defined, nodes):
            definition = node["definition"]
            location = definition["repository"]["location"]["name"]
            for upstream in definition.get("dependencyKeys") or []:
                rows.append(dependency_row(upstream["path"], node["key"]["path"], location))
        for row in rows:
            listing.add(row["code_location"], row["id"])
        if rows:
            await context.send(Rows(NAME, rows))
            edges += len(rows)
    log.info(f"{NAME}: {edges} rows")
    return listing


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
