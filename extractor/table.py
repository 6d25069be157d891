"""What a table is: its declaration for `schema()` and how one sync fills it.

A table module (`extractor/tables/*.py`) defines one `Table`: its name, primary key and column
types, and `sync`, which reads the table's data through the shared machinery and sends its
rows. A snapshot table (the workspace's definitions) returns what it listed, and the
orchestration deletes what is gone; an incremental table keeps its position in the state and
returns None. A `required` table's failure ends the sync (after the others finished); any
other table's failure is a warning that skips it.

Every table writes into one shared state, and any table may checkpoint it at any moment, even
while another table's rows wait for room in the channel. So a table moves its position past
rows only once `send` has returned for them: a checkpoint must never name rows that are not
yet in the channel (`tests/test_checkpoint_consistency.py` kills a sync at every send).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from extractor.client import DagsterClient
from extractor.config import Settings
from extractor.events import Deletes, Rows
from extractor.server import ServerInfo
from extractor.snapshot import SnapshotListing
from extractor.state import SyncState
from extractor.workspace import Workspace


@dataclass
class SyncContext:
    """What a table's sync may use: the settings, the state, the client, the server, the
    workspace listing (shared by every table), and the channel to `update()`."""

    settings: Settings
    state: SyncState
    client: DagsterClient
    server: ServerInfo
    workspace: asyncio.Future[Workspace]
    send: Callable[[Rows | Deletes], Awaitable[None]]  # rows, committed by a later checkpoint
    checkpoint: Callable[[], Awaitable[None]]  # commits everything sent, with the state
    shared: dict[str, asyncio.Future[Any]] = field(default_factory=dict)  # reads two tables share

    async def listed_workspace(self) -> Workspace:
        return await asyncio.shield(self.workspace)

    def share(self, key: str, read: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        """The result of `read()`, made once per sync for every table that asks for `key`."""
        if key not in self.shared:
            self.shared[key] = asyncio.ensure_future(read())
        return asyncio.shield(self.shared[key])


@dataclass(frozen=True)
class Table:
    name: str
    primary_key: list[str]
    columns: dict[str, str]
    sync: Callable[[SyncContext], Awaitable[SnapshotListing | None]]
    required: bool = False

    @property
    def declaration(self) -> dict[str, Any]:
        """The table as `schema()` declares it to Fivetran."""
        return {"table": self.name, "primary_key": self.primary_key, "columns": self.columns}
