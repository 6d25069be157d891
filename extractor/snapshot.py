"""Snapshot tables (the workspace's definitions): listing them, what to send, and what to
delete once done.

The state keeps, per table and code location, the keys last synced, each with a digest of the
row last sent. A listed row is sent only when it is new or changed since: an idle sync of a
deployment with 20,000 assets sends none of them again. A key is deleted only when its
location was listed completely and no location lists it any more; a location that failed to
load keeps its keys (and its rows) untouched; a location gone from the workspace has all its
keys deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from extractor.errors import DagsterConnectorError
from extractor.events import Rows
from extractor.log import log
from extractor.repository_batch import RepositoryQuery, fetch_by_repository
from extractor.transforms import Row
from extractor.workspace import Repository, Workspace

if TYPE_CHECKING:
    from extractor.table import SyncContext

T = TypeVar("T")
Keys = dict[str, dict[str, str]]  # code location -> primary key -> digest of the row last sent
# Failures of one part of a listing that skip that part with a warning.
SKIPPABLE = (DagsterConnectorError, KeyError, TypeError)


def row_digest(row: Row) -> str:
    """A short fingerprint of a row's values (32 bits, to keep the state small: a change goes
    unnoticed once in 4 billion changes)."""
    text = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:8]


@dataclass
class SnapshotListing:
    """The rows one sync found for a table (key -> digest, by code location), and which
    locations it listed in full. `previous` is what the state held before this sync."""

    found: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    complete: set[str] = field(default_factory=set)
    previous: Keys = field(default_factory=dict)
    # What a later sync needs to list less (the asset walk's: the definitions' versions it
    # read); saved in the state's `bases` together with the keys, so the two always agree.
    basis: dict[str, Any] | None = None

    def add(self, location: str, row: Row) -> bool:
        """Records a listed row; returns whether it must be sent (new or changed)."""
        digest = row_digest(row)
        self.found[location][row["id"]] = digest
        return self.previous.get(location, {}).get(row["id"]) != digest


def reconcile(
    previous: Keys, listing: SnapshotListing, workspace_locations: frozenset[str]
) -> tuple[list[str], Keys]:
    """Returns the keys to delete and the table's new snapshot."""
    listed = set().union(*listing.found.values()) if listing.found else set()
    deleted: set[str] = set()
    snapshot: Keys = {}
    for location in set(previous) | set(listing.found):
        before = previous.get(location, {})
        now = listing.found.get(location, {})
        if location in listing.complete or location not in workspace_locations:
            deleted |= set(before) - listed
            keep = dict(now)
        else:  # present but not listed in full: nothing of it is deleted
            keep = {**before, **now}
        if keep:
            snapshot[location] = dict(sorted(keep.items()))
    return sorted(deleted), snapshot


async def fetch_per_repository(
    context: SyncContext,
    what: str,
    variants: Sequence[RepositoryQuery],
    read: Callable[[Repository, dict[str, Any]], T],
    variables: dict[str, Any] | None = None,
) -> tuple[Workspace, dict[Repository, T]]:
    """Asks `variants` (newest schema first) for every repository of the workspace, several
    repositories per request, and `read`s each repository's answer.

    A repository whose answer fails, or can't be read, is left out with a warning (so its
    location is not listed in full, and nothing of it is deleted).
    """
    workspace = await context.listed_workspace()
    answers = await fetch_by_repository(context.client, variants, workspace.repositories, variables)
    found: dict[Repository, T] = {}
    for repository, answer in answers.items():
        try:
            if isinstance(answer, Exception):
                raise answer
            found[repository] = read(repository, answer)
        except SKIPPABLE as error:
            log.warning(f"{what}: skipping repository {repository.label}: {error}")
    return workspace, found


async def send_listing(
    context: SyncContext, table: str, workspace: Workspace, rows: dict[Repository, list[Row]]
) -> SnapshotListing:
    """Sends each repository's rows that are new or changed; returns what was listed, and
    which locations in full."""
    listing = SnapshotListing(complete=set(workspace.loaded), previous=context.state.snapshots.get(table, {}))
    sent = 0
    for repository in workspace.repositories:
        if repository not in rows:
            listing.complete.discard(repository.location_name)
            continue
        changed = [row for row in rows[repository] if listing.add(repository.location_name, row)]
        if changed:
            await context.send(Rows(table, changed))
            sent += len(changed)
    count = sum(len(found) for found in rows.values())
    log.info(f"{table}: {count} rows from {len(workspace.repositories)} repositories, {sent} new or changed")
    return listing
