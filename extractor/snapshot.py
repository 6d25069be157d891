"""Snapshot tables (the workspace's definitions): listing them, and what to delete once done.

The state keeps, per table and code location, the keys last synced. A key is deleted only
when its location was listed completely and no location lists it any more; a location that
failed to load keeps its keys (and its rows) untouched; a location gone from the workspace
has all its keys deleted.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from extractor.errors import DagsterConnectorError
from extractor.events import Rows
from extractor.log import log
from extractor.transforms import Row
from extractor.workspace import Repository, Workspace

if TYPE_CHECKING:
    from extractor.table import SyncContext

T = TypeVar("T")
Keys = dict[str, list[str]]  # code location -> primary keys
# Failures of one part of a listing that skip that part with a warning.
SKIPPABLE = (DagsterConnectorError, KeyError, TypeError)


@dataclass
class SnapshotListing:
    """The keys one sync found for a table, by code location, and which locations it listed
    in full."""

    found: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    complete: set[str] = field(default_factory=set)

    def add(self, location: str, key: str) -> None:
        self.found[location].add(key)


def reconcile(
    previous: Keys, listing: SnapshotListing, workspace_locations: frozenset[str]
) -> tuple[list[str], Keys]:
    """Returns the keys to delete and the table's new snapshot."""
    listed = set().union(*listing.found.values()) if listing.found else set()
    deleted: set[str] = set()
    snapshot: Keys = {}
    for location in set(previous) | set(listing.found):
        before = set(previous.get(location, ()))
        now = listing.found.get(location, set())
        if location in listing.complete or location not in workspace_locations:
            deleted |= before - listed
            keep = now
        else:  # present but not listed in full: nothing of it is deleted
            keep = before | now
        if keep:
            snapshot[location] = sorted(keep)
    return sorted(deleted), snapshot


async def fetch_per_repository(
    context: SyncContext, what: str, fetch: Callable[[Repository], Awaitable[T]]
) -> tuple[Workspace, dict[Repository, T]]:
    """Runs `fetch` for every repository of the workspace, concurrently.

    A repository whose fetch fails is left out with a warning (so its location is not listed
    in full, and nothing of it is deleted).
    """
    workspace = await context.listed_workspace()

    async def guarded(repository: Repository) -> T | None:
        try:
            return await fetch(repository)
        except SKIPPABLE as error:
            log.warning(f"{what}: skipping repository {repository.label}: {error}")
            return None

    results = await asyncio.gather(*(guarded(repo) for repo in workspace.repositories))
    return workspace, {
        repository: result
        for repository, result in zip(workspace.repositories, results)
        if result is not None
    }


async def send_listing(
    context: SyncContext, table: str, workspace: Workspace, rows: dict[Repository, list[Row]]
) -> SnapshotListing:
    """Sends each repository's rows; returns what was listed, and which locations in full."""
    listing = SnapshotListing(complete=set(workspace.loaded))
    for repository in workspace.repositories:
        if repository not in rows:
            listing.complete.discard(repository.location_name)
            continue
        for row in rows[repository]:
            listing.add(repository.location_name, row["id"])
        if rows[repository]:
            await context.send(Rows(table, rows[repository]))
    count = sum(len(found) for found in rows.values())
    log.info(f"{table}: {count} rows from {len(workspace.repositories)} repositories")
    return listing
