"""Reading strategy shared by the asset tables: one walk over the workspace's assets per sync.

`assetsOrError` pages every asset key Dagster knows (defined in the workspace, or only present
in the event log), each with its definition (resolved across code locations), its latest
materialization and `latestEventSortKey` (the storage id of its newest event that Dagster
indexes: materializations on OSS; every kind on Dagster+). Every field here is read in memory
or in one batched query per page on the server; `partitionStats` is only computed for
partitioned assets, from Dagster's own partition status cache.

From each page the walk sends the rows of `dagster_assets`, `dagster_asset_dependencies` and
`dagster_asset_checks`, and keeps, for the event tables, a small summary of each asset (its
key, sort key, whether it is observable) and of each check: no table lists the assets again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extractor.client import Operation
from extractor.connection import connection_pages
from extractor.events import Rows
from extractor.log import log
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext

ASSET_PAGE_SIZE = 1000

_DEFINITION_FIELDS = """
          isAutoCreatedStub description repository { name location { name } }
          groupName
          owners { ... on UserAssetOwner { email } ... on TeamAssetOwner { team } }
          tags { key value }
          kinds
          isPartitioned isObservable isMaterializable
          jobNames
          partitionStats { numPartitions numMaterialized numFailed numMaterializing }
          freshnessPolicy { maximumLagMinutes cronSchedule cronScheduleTimezone }
          internalFreshnessPolicy {
            __typename
            ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
            ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
          }
          dependencyKeys { path }
          assetChecksOrError {
            __typename
            ... on AssetChecks {
              checks { name description blocking jobNames additionalAssetKeys { path } }
            }
            ... on Error { message }
          }"""

ASSET_GRAPH_PAGE = Operation(
    "ConnectorAssetGraph",
    """
query ConnectorAssetGraph($cursor: String, $limit: Int) {
  assetsOrError(cursor: $cursor, limit: $limit) {
    __typename
    ... on AssetConnection {
      nodes {
        key { path }
        latestEventSortKey
        assetMaterializations(limit: 1) { runId timestamp }
        definition {%s
        }
      }
      cursor
    }
    ... on Error { message }
  }
}"""
    % _DEFINITION_FIELDS,
)


@dataclass(frozen=True)
class AssetHead:
    """What the event tables need of one asset key."""

    path: tuple[str, ...]
    sort_key: int | None  # `latestEventSortKey`: None when Dagster indexed no event of it
    observable: bool  # an observable source asset: its observations are not in `sort_key` on OSS


@dataclass(frozen=True)
class CheckRef:
    """One asset check of the workspace."""

    id: str
    asset_path: tuple[str, ...]
    name: str


@dataclass
class AssetGraph:
    """What one walk found: each snapshot table's listing, and summaries for the event tables."""

    listings: dict[str, SnapshotListing]
    heads: list[AssetHead] = field(default_factory=list)
    checks: list[CheckRef] = field(default_factory=list)


def is_defined(asset: dict[str, Any]) -> bool:
    """Whether an `Asset` of the listing is an asset of the workspace: it has a definition,
    and not the stub Dagster makes for an undefined dependency."""
    definition = asset.get("definition")
    return bool(definition) and not definition.get("isAutoCreatedStub")


async def read(context: SyncContext) -> AssetGraph:
    """The sync's one walk over the assets, shared by every table that asks."""
    return await context.share("asset_graph", lambda: _walk(context))


async def _walk(context: SyncContext) -> AssetGraph:
    # The tables this walk fills (imported here: they import this module).
    from extractor.tables import asset_checks, asset_dependencies, assets

    workspace = await context.listed_workspace()
    tables = (assets, asset_dependencies, asset_checks)
    graph = AssetGraph({
        table.NAME: SnapshotListing(complete=set(workspace.loaded), previous=context.state.snapshots.get(table.NAME, {}))
        for table in tables
    })  # fmt: skip
    sent = dict.fromkeys((table.NAME for table in tables), 0)
    pages = 0
    async for nodes in connection_pages(
        context.client, ASSET_GRAPH_PAGE, "assetsOrError", "AssetConnection", ASSET_PAGE_SIZE
    ):
        pages += 1
        defined = [node for node in nodes if is_defined(node)]
        for node in nodes:
            definition = node.get("definition") or {}
            graph.heads.append(
                AssetHead(
                    path=tuple(node["key"]["path"]),
                    sort_key=_int(node.get("latestEventSortKey")),
                    observable=bool(definition.get("isObservable")),
                )
            )
        for table in tables:
            rows = []
            for node in defined:
                location = node["definition"]["repository"]["location"]["name"]
                for row in table.rows_of(node):
                    if graph.listings[table.NAME].add(location, row):  # new or changed
                        rows.append(row)
            if rows:
                await context.send(Rows(table.NAME, rows))
                sent[table.NAME] += len(rows)
        for node in defined:
            graph.checks.extend(asset_checks.refs_of(node))
            if not asset_checks.listed(node):  # its checks are unknown: none of them is deleted
                location = node["definition"]["repository"]["location"]["name"]
                graph.listings[asset_checks.NAME].complete.discard(location)
    counts = ", ".join(f"{name}: {count}" for name, count in sent.items())
    log.info(f"asset graph: {len(graph.heads)} asset keys in {pages} pages ({counts} rows new or changed)")
    return graph


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
