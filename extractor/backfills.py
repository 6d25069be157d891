"""Backfills: a cursor walk over `partitionBackfillsOrError`, and re-reads by id.

Dagster returns backfills newest first (`bulk_actions.id` descending); `cursor` is a backfill
id and returns backfills strictly older than it; a cursor whose backfill is gone matches
nothing (`id < (SELECT id ... WHERE key = cursor)` is NULL): an empty page. `limit` has no
default and no clamp on Dagster's side (none: every backfill), so one is always sent, and a
walk ends on an empty page only, never on a short one. `filters.createdAfter`/`createdBefore`
compare the creation time strictly; it is the creator's clock (webserver or daemon).

`numPartitions` deserializes an asset backfill against the workspace's asset graph (in memory,
no query); it can raise for odd job backfills, so a page that fails is asked again without it.
Fields that query per backfill (`runs`, `partitionStatusCounts`, `partitionStatuses`,
`logEvents`) are never asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from extractor.client import DagsterClient, Operation, unwrap
from extractor.errors import ResultError, ServerFailure
from extractor.log import log
from extractor.state import WINDOW_OVERLAP_SECONDS

# BULK_ACTION_TERMINAL_STATUSES (dagster/_core/execution/bulk_actions.py), the same in 1.11 and
# 1.13; REQUESTED, CANCELING and FAILING are not final. A status this list does not know is
# taken as not final: re-read until it is one of these.
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED", "COMPLETED_SUCCESS", "COMPLETED_FAILED"})

_FIELDS = (
    "id status isAssetBackfill jobName partitionSetName assetSelection { path } fromFailure "
    "creationTime endTimestamp tags { key value } error { message } user title description"
)


def _page_operation(name: str, fields: str) -> Operation:
    return Operation(
        name,
        f"""
query {name}($cursor: String, $limit: Int, $filters: BulkActionsFilter) {{
  partitionBackfillsOrError(cursor: $cursor, limit: $limit, filters: $filters) {{
    __typename
    ... on PartitionBackfills {{ results {{ {fields} }} }}
    ... on Error {{ message }}
  }}
}}""",
    )


def _one_operation(name: str, fields: str) -> Operation:
    return Operation(
        name,
        f"""
query {name}($backfillId: String!) {{
  partitionBackfillOrError(backfillId: $backfillId) {{
    __typename
    ... on PartitionBackfill {{ {fields} }}
    ... on Error {{ message }}
  }}
}}""",
    )


BACKFILLS_PAGE = _page_operation("ConnectorBackfillsPage", f"{_FIELDS} numPartitions")
BACKFILLS_PAGE_LEAN = _page_operation("ConnectorBackfillsPageLean", _FIELDS)  # no numPartitions
BACKFILL = _one_operation("ConnectorBackfill", f"{_FIELDS} numPartitions")
BACKFILL_LEAN = _one_operation("ConnectorBackfillLean", _FIELDS)


@dataclass(frozen=True)
class BackfillWalk:
    """One walk over backfills, newest first: created_after < creation < created_before
    (None: unbounded), resuming after `cursor` (created at `cursor_created`)."""

    created_after: float | None = None
    created_before: float | None = None
    cursor: str | None = None
    cursor_created: float | None = None

    def filters(self) -> dict[str, float] | None:
        filters = {}
        if self.created_after is not None:
            filters["createdAfter"] = self.created_after
        if self.created_before is not None:
            filters["createdBefore"] = self.created_before
        return filters or None


async def _execute_with_fallback(
    client: DagsterClient, full: Operation, lean: Operation, variables: dict[str, Any], what: str
) -> dict[str, Any]:
    """`full`, or `lean` (without `numPartitions`) when Dagster fails to resolve `full`."""
    try:
        return await client.execute(full, variables)
    except ServerFailure as error:
        log.warning(f"backfills: {what} failed ({error}); reading it again without numPartitions")
        return await client.execute(lean, variables)


async def fetch_backfill_page(client: DagsterClient, walk: BackfillWalk, limit: int) -> list[dict[str, Any]]:
    """One page of `PartitionBackfill` objects, newest first, strictly older than the cursor."""
    variables = {"cursor": walk.cursor, "limit": limit, "filters": walk.filters()}
    data = await _execute_with_fallback(client, BACKFILLS_PAGE, BACKFILLS_PAGE_LEAN, variables, "a page")
    return unwrap(BACKFILLS_PAGE.name, data["partitionBackfillsOrError"], "PartitionBackfills")["results"]


async def fetch_backfill(client: DagsterClient, backfill_id: str) -> dict[str, Any] | None:
    """The backfill with this id, or None when Dagster no longer has it."""
    variables = {"backfillId": backfill_id}
    data = await _execute_with_fallback(client, BACKFILL, BACKFILL_LEAN, variables, f"backfill {backfill_id}")
    try:
        return unwrap(BACKFILL.name, data["partitionBackfillOrError"], "PartitionBackfill")
    except ResultError as error:
        if error.typename == "BackfillNotFoundError":
            return None
        raise


@dataclass(frozen=True)
class BackfillPage:
    backfills: list[dict[str, Any]]
    walk: BackfillWalk  # the walk's position once these backfills are saved
    finished: bool


async def walk_backfills(
    client: DagsterClient, walk: BackfillWalk, page_size: int
) -> AsyncIterator[BackfillPage]:
    """Yields the walk's pages, resuming after `walk.cursor`; the last one (empty) is
    `finished`. A cursor backfill deleted meanwhile makes the walk go on below its creation
    time."""
    while True:
        backfills = await fetch_backfill_page(client, walk, page_size)
        if not backfills and walk.cursor is not None and await fetch_backfill(client, walk.cursor) is None:
            log.warning(
                f"backfills: the walk's cursor backfill {walk.cursor} was deleted meanwhile; going "
                "on from its creation time"
            )
            below = None
            if walk.cursor_created is not None:
                below = walk.cursor_created + WINDOW_OVERLAP_SECONDS
                if walk.created_before is not None:
                    below = min(below, walk.created_before)
            else:
                below = walk.created_before  # unknown: the window again (upserts: no harm)
            walk = replace(walk, created_before=below, cursor=None, cursor_created=None)
            continue
        if backfills:
            last = backfills[-1]
            walk = replace(walk, cursor=last["id"], cursor_created=last["creationTime"])
        yield BackfillPage(backfills, walk, finished=not backfills)
        if not backfills:
            return
