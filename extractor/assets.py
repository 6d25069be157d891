"""Assets: the workspace's assets, one row per asset key, in bounded and batched pages.

`assetsOrError` pages the workspace's asset keys (with their definition, resolved across code
locations, so a dependency on another location's asset is not a second asset); each page's
latest materializations come in one `assetsLatestInfo` request. Keys that only have events
(no definition) and the stubs Dagster makes for undefined dependencies are not assets of the
workspace and are left out. The walk ends on an empty page or a missing cursor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from extractor.client import DagsterClient, unwrap
from extractor.documents import ASSETS_LATEST, ASSETS_PAGE
from extractor.transforms import Row, asset_row

ASSET_PAGE_SIZE = 500


@dataclass(frozen=True)
class AssetPage:
    rows: list[Row]
    locations: list[str]  # the code location of each row


async def asset_pages(client: DagsterClient, page_size: int = ASSET_PAGE_SIZE) -> AsyncIterator[AssetPage]:
    """Yields the workspace's `dagster_assets` rows, a page at a time."""
    cursor: str | None = None
    while True:
        data = await client.execute(ASSETS_PAGE, {"cursor": cursor, "limit": page_size})
        connection = unwrap(ASSETS_PAGE.name, data["assetsOrError"], "AssetConnection")
        nodes = connection["nodes"]
        defined = [
            node for node in nodes
            if node.get("definition") and not node["definition"].get("isAutoCreatedStub")
        ]  # fmt: skip
        if defined:
            latest = await _latest_materializations(client, [node["key"]["path"] for node in defined])
            yield AssetPage(
                rows=[asset_row(node, latest.get(tuple(node["key"]["path"]))) for node in defined],
                locations=[node["definition"]["repository"]["location"]["name"] for node in defined],
            )
        cursor = connection.get("cursor")
        if not nodes or cursor is None:
            return


async def _latest_materializations(
    client: DagsterClient, paths: list[list[str]]
) -> dict[tuple[str, ...], dict[str, Any]]:
    data = await client.execute(ASSETS_LATEST, {"assetKeys": [{"path": path} for path in paths]})
    return {
        tuple(info["assetKey"]["path"]): info["latestMaterialization"]
        for info in data["assetsLatestInfo"]
        if info.get("latestMaterialization")
    }
