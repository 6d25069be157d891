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

Definitions change only when a code location is (re)loaded, which gives it a new
`versionKey`. So when every loaded location has the version of the last full listing (made
less than a day ago), the walk lists only the bare keys, with their sort keys and checks'
names, and reads by key the definitions of the few assets whose rows may have moved: those
with events past the last listing's sort key, the partitioned ones (their counts move with
time and failed runs), and any key not synced before. An idle sync of 20,000 assets no
longer makes Dagster build 20,000 definitions. What the full listing was read against (the
versions, when, the highest sort key) is its `basis`, saved with the keys it listed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from extractor.client import Operation, unwrap
from extractor.connection import connection_pages
from extractor.errors import ResultError
from extractor.events import Rows
from extractor.log import log
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext
from extractor.transforms import asset_key_id
from extractor.workspace import Workspace

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

_ASSET_FIELDS = """
        key { path }
        latestEventSortKey
        assetMaterializations(limit: 1) { runId timestamp }
        definition {%s
        }""" % _DEFINITION_FIELDS

ASSET_GRAPH_PAGE = Operation(
    "ConnectorAssetGraph",
    """
query ConnectorAssetGraph($cursor: String, $limit: Int) {
  assetsOrError(cursor: $cursor, limit: $limit) {
    __typename
    ... on AssetConnection {
      nodes {%s
      }
      cursor
    }
    ... on Error { message }
  }
}"""
    % _ASSET_FIELDS,
)

# What an unchanged workspace still needs of every asset: whether its events moved, whether
# it is partitioned (its counts move with time and failed runs, which OSS gives no sort key),
# and its checks' names (the check executions table asks each of them).
ASSET_HEADS_PAGE = Operation(
    "ConnectorAssetHeads",
    """
query ConnectorAssetHeads($cursor: String, $limit: Int) {
  assetsOrError(cursor: $cursor, limit: $limit) {
    __typename
    ... on AssetConnection {
      nodes {
        key { path }
        latestEventSortKey
        definition {
          isAutoCreatedStub isObservable isPartitioned
          repository { location { name } }
          assetChecksOrError {
            __typename
            ... on AssetChecks { checks { name } }
            ... on Error { message }
          }
        }
      }
      cursor
    }
    ... on Error { message }
  }
}""",
)

ASSETS_BY_KEY = Operation(
    "ConnectorAssetsByKey",
    """
query ConnectorAssetsByKey($assetKeys: [AssetKeyInput!]) {
  assetsOrError(assetKeys: $assetKeys) {
    __typename
    ... on AssetConnection {
      nodes {%s
      }
    }
    ... on Error { message }
  }
}"""
    % _ASSET_FIELDS,
)

# The full listing is made again at least this often, whatever the versions say: it is what
# notices an asset wiped since (its latest materialization gone, no newer sort key).
FULL_LISTING_SECONDS = 24 * 3600


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
    sent: dict[str, int] = field(default_factory=dict)  # rows sent, by table
    pages: int = 0  # listing pages read

    def add_heads(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            definition = node.get("definition") or {}
            self.heads.append(
                AssetHead(
                    path=tuple(node["key"]["path"]),
                    sort_key=_int(node.get("latestEventSortKey")),
                    observable=bool(definition.get("isObservable")),
                )
            )

    def add_checks(self, defined: list[dict[str, Any]]) -> None:
        """Records the checks of these defined assets; an asset whose checks Dagster could not
        list leaves its location's checks unknown (none of them is deleted)."""
        from extractor.tables import asset_checks

        for node in defined:
            self.checks.extend(asset_checks.refs_of(node))
            if not asset_checks.listed(node):
                location = node["definition"]["repository"]["location"]["name"]
                self.listings[asset_checks.NAME].complete.discard(location)

    def sent_counts(self) -> str:
        return ", ".join(f"{name}: {self.sent.get(name, 0)}" for name in self.listings) + " rows new or changed"


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
    form = _listing_form(tables)
    basis = context.state.bases.get(assets.NAME)
    now = time.time()  # this machine's clock: only when to list everything again
    if is_current(basis, workspace, form, now):
        since = _int(basis.get("sort_key"))
        reread = await _read_changed(context, graph, tables, workspace, since)
        listed_at, how = basis["listed_at"], f"definitions unchanged, {reread} assets read again"
    else:
        since = None
        await _read_all(context, graph, tables)
        listed_at, how = now, "every definition"
    sort_keys = [head.sort_key for head in graph.heads if head.sort_key is not None]
    graph.listings[assets.NAME].basis = {
        "form": form,
        "versions": dict(workspace.versions),
        "listed_at": listed_at,
        "sort_key": max([*sort_keys, *([since] if since is not None else [])], default=None),
    }
    log.info(f"asset graph: {len(graph.heads)} asset keys in {graph.pages} pages ({how}; {graph.sent_counts()})")
    return graph


def is_current(basis: Any, workspace: Workspace, form: str, now: float) -> bool:
    """Whether the last full listing (`basis`) still holds every loaded location's definitions:
    made by this form of the listing, less than `FULL_LISTING_SECONDS` ago, and each loaded
    location's `versionKey` the same since."""
    if not isinstance(basis, dict) or basis.get("form") != form:
        return False
    versions, listed_at = basis.get("versions"), basis.get("listed_at")
    if not isinstance(versions, dict) or not isinstance(listed_at, (int, float)):
        return False
    if not 0 <= now - listed_at < FULL_LISTING_SECONDS:
        return False
    return bool(workspace.loaded) and all(
        workspace.versions.get(name) is not None and versions.get(name) == workspace.versions[name]
        for name in workspace.loaded
    )


async def _listed(
    context: SyncContext, graph: AssetGraph, operation: Operation
) -> AsyncIterator[list[dict[str, Any]]]:
    """Walks an asset listing by cursor, recording each page's heads and checks; yields the
    assets defined in the workspace, page by page."""
    async for nodes in connection_pages(context.client, operation, "assetsOrError", "AssetConnection", ASSET_PAGE_SIZE):
        graph.pages += 1
        graph.add_heads(nodes)
        defined = [node for node in nodes if is_defined(node)]
        graph.add_checks(defined)
        yield defined


async def _read_all(context: SyncContext, graph: AssetGraph, tables: tuple[ModuleType, ...]) -> None:
    """The full listing: every asset with its definition, page by page."""
    async for defined in _listed(context, graph, ASSET_GRAPH_PAGE):
        await _send_rows(context, graph, tables, defined)


async def _read_changed(
    context: SyncContext, graph: AssetGraph, tables: tuple[ModuleType, ...], workspace: Workspace, since: int | None
) -> int:
    """The listing of a workspace whose definitions did not change: the bare keys (with what
    tells a row may have changed), then, by key, the definitions of the assets whose events
    moved past `since`, the partitioned ones and any new one. The other rows stand as last
    synced. Returns how many assets were read again."""
    for listing in graph.listings.values():
        for location in workspace.loaded:
            listing.found[location].update(listing.previous.get(location, {}))
    known = graph.listings[tables[0].NAME].previous
    changed: list[dict[str, Any]] = []
    async for defined in _listed(context, graph, ASSET_HEADS_PAGE):
        for node in defined:
            definition, path = node["definition"], node["key"]["path"]
            sort_key = _int(node.get("latestEventSortKey"))
            if (
                definition.get("isPartitioned")
                or (sort_key is not None and (since is None or sort_key > since))
                or asset_key_id(path) not in known.get(definition["repository"]["location"]["name"], {})
            ):
                changed.append({"path": path})
    done = 0
    while done < len(changed):
        asked = changed[done : done + ASSET_PAGE_SIZE]
        data = await context.client.execute(ASSETS_BY_KEY, {"assetKeys": asked})
        nodes = unwrap(ASSETS_BY_KEY.name, data["assetsOrError"], "AssetConnection")["nodes"]
        if not nodes:
            raise ResultError(ASSETS_BY_KEY.name, "AssetConnection", f"no asset answered for {len(asked)} keys asked")
        done += len(nodes)  # in the order asked; a server that clamps answers fewer: the rest is asked again
        await _send_rows(context, graph, tables, [node for node in nodes if is_defined(node)])
    return len(changed)


async def _send_rows(
    context: SyncContext, graph: AssetGraph, tables: tuple[ModuleType, ...], defined: list[dict[str, Any]]
) -> None:
    """Sends each table's rows of these defined assets that are new or changed."""
    for table in tables:
        rows = []
        for node in defined:
            location = node["definition"]["repository"]["location"]["name"]
            for row in table.rows_of(node):
                if graph.listings[table.NAME].add(location, row):
                    rows.append(row)
        if rows:
            await context.send(Rows(table.NAME, rows))
            graph.sent[table.NAME] = graph.sent.get(table.NAME, 0) + len(rows)


def _listing_form(tables: tuple[ModuleType, ...]) -> str:
    """A fingerprint of what the full listing asks and the rows it makes: a connector that
    changed either lists everything again."""
    text = json.dumps([ASSET_GRAPH_PAGE.document, *(table.TABLE.columns for table in tables)], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
