"""Paging strategy: a GraphQL connection walked by its cursor (`nodes` and `cursor`).

The walk ends on an empty page or a missing cursor, never on a short page (servers clamp
`limit`). The next page is asked for as soon as its cursor is known, while this one is handed
on: the server's work on it overlaps ours on this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from extractor.client import DagsterClient, Operation, unwrap


async def connection_pages(
    client: DagsterClient, operation: Operation, field: str, typename: str, page_size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yields the `nodes` of each page of `field` (a `typename` connection), in cursor order."""

    async def fetch(cursor: str | None) -> dict[str, Any]:
        data = await client.execute(operation, {"cursor": cursor, "limit": page_size})
        return unwrap(operation.name, data[field], typename)

    next_page = asyncio.ensure_future(fetch(None))
    try:
        while True:
            connection = await next_page
            nodes, cursor = connection["nodes"], connection.get("cursor")
            if not nodes or cursor is None:
                return
            next_page = asyncio.ensure_future(fetch(cursor))
            yield nodes
    finally:
        next_page.cancel()
        await asyncio.gather(next_page, return_exceptions=True)
