"""Assets: the workspace's assets, one row per asset key, in bounded and batched pages.

`assetsOrError` pages the workspace's asset keys with their definition (resolved across code
locations, so a dependency on another location's asset is not a second asset) and their latest
materialization, one request per page. Keys that only have events
(no definition) and the stubs Dagster makes for undefined dependencies are not assets of the
workspace and are left out. The walk ends on an empty page or a missing cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from extractor.client import DagsterClient, unwrap
from extractor.documents import ASSETS_PAGE
from extractor.transforms import Row, asset_row

ASSET_PAGE_SIZE = 500


@dataclass(frozen=True)
class AssetPage:
    rows: list[Row]
    locations: list[str]  # the code location of each row


async def asset_pages(client: DagsterClient, page_size: int = ASSET_PAGE_SIZE) -> AsyncIterator[AssetPage]:
    """Yields the workspace's `dagster_assets` rows, a page at a time.

    The next page is asked for as soon as its cursor is known, while this one is handed on.
    """
    next_page = asyncio.ensure_future(_fetch(client, None, page_size))
    try:
        while True:
            connection = await next_page
            nodes, cursor = connection["nodes"], connection.get("cursor")
            if not nodes or cursor is None:
                return
            next_page = asyncio.ensure_future(_fetch(client, cursor, page_size))
            defined = [
                node for node in nodes
                if node.get("definition") and not node["definition"].get("isAutoCreatedStub")
            ]  # fmt: skip
            if defined:
                yield AssetPage(
                    rows=[asset_row(node, _first(node.get("assetMaterializations"))) for node in defined],
                    locations=[node["definition"]["repository"]["location"]["name"] for node in defined],
                )
    finally:
        next_page.cancel()


async def _fetch(client: DagsterClient, cursor: str | None, page_size: int) -> dict[str, Any]:
    data = await client.execute(ASSETS_PAGE, {"cursor": cursor, "limit": page_size})
    return unwrap(ASSETS_PAGE.name, data["assetsOrError"], "AssetConnection")


def _first(events: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    return events[0] if events else None
