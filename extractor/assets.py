"""Assets: a repository's asset nodes in bounded pages, each with its latest materialization.

`Repository.assetNodesConnection` pages by asset key; servers that predate it get one
`assetNodes` answer per repository instead, with a warning.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from extractor.client import DagsterClient, unwrap
from extractor.documents import ASSET_NODES_ALL, ASSET_NODES_PAGE
from extractor.errors import GraphQLError
from extractor.repositories import Repository
from extractor.transforms import Row, asset_row


async def _pages_by_connection(
    client: DagsterClient, repository: Repository, page_size: int
) -> AsyncIterator[list[Row]]:
    cursor = None
    while True:
        variables = {"repositorySelector": repository.selector, "cursor": cursor, "limit": page_size}
        data = await client.execute(ASSET_NODES_PAGE, variables)
        found = unwrap(ASSET_NODES_PAGE.name, data["repositoryOrError"], "Repository")
        connection = found["assetNodesConnection"]
        yield [asset_row(node) for node in connection["nodes"]]
        if not connection["hasMore"] or not connection["nodes"]:
            return
        cursor = connection["cursor"]


async def _single_page(client: DagsterClient, repository: Repository) -> list[Row]:
    data = await client.execute(ASSET_NODES_ALL, {"repositorySelector": repository.selector})
    found = unwrap(ASSET_NODES_ALL.name, data["repositoryOrError"], "Repository")
    return [asset_row(node) for node in found["assetNodes"]]


async def asset_pages(
    client: DagsterClient, repository: Repository, page_size: int
) -> AsyncIterator[list[Row]]:
    """Yields the repository's `dagster_assets` rows, one page at a time."""
    if ASSET_NODES_PAGE.name not in client.unsupported_operations:
        try:
            async for page in _pages_by_connection(client, repository, page_size):
                yield page
            return
        except GraphQLError as error:
            if not error.is_schema_mismatch:
                raise
            client.mark_unsupported(ASSET_NODES_PAGE, error, ASSET_NODES_ALL.name)
    yield await _single_page(client, repository)
