"""Snapshot tables (assets, schedules, sensors): what to delete once a listing is done.

The state keeps, per table and code location, the keys last synced. A key is deleted only
when its location was listed completely and no location lists it any more; a location that
failed to load keeps its keys (and its rows) untouched; a location gone from the workspace
has all its keys deleted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

Keys = dict[str, list[str]]  # code location -> primary keys


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
