"""Runs one table's sync against the fake Dagster, recording what it sends and checkpoints."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aioresponses import aioresponses

from extractor.client import DagsterClient
from extractor.config import parse_configuration
from extractor.events import Deletes, Rows
from extractor.server import connect
from extractor.state import SyncState
from extractor.table import SyncContext, Table
from tests.fake_dagster import ENDPOINT, FakeDagster


@dataclass
class TableSync:
    """One sync's output: the rows sent (in order), each checkpoint's state and how many rows
    had been sent before it."""

    rows: list[dict] = field(default_factory=list)
    deletes: list[dict] = field(default_factory=list)
    checkpoints: list[dict] = field(default_factory=list)
    rows_at_checkpoint: list[int] = field(default_factory=list)
    # The state as each send found it, and the rows sent before: what another table's
    # checkpoint at that moment would commit.
    states_at_send: list[dict] = field(default_factory=list)
    rows_at_send: list[int] = field(default_factory=list)

    def saved_rows(self, checkpoint: int) -> list[dict]:
        """The rows committed by checkpoint number `checkpoint`."""
        return self.rows[: self.rows_at_checkpoint[checkpoint]]


async def sync_table(fake: FakeDagster, state: SyncState, table: Table, **tuning: str) -> TableSync:
    """Runs `table.sync` once; `fake.calls`/`fake.requests` then hold the table's requests only."""
    settings = parse_configuration({"base_url": ENDPOINT, "requests_per_second": "1000", **tuning})
    result = TableSync()

    async def send(event: Rows | Deletes) -> None:
        assert event.table == table.name
        result.states_at_send.append(state.to_dict())
        result.rows_at_send.append(len(result.rows))
        if isinstance(event, Rows):
            result.rows.extend(event.rows)
        else:
            result.deletes.extend(event.keys)

    async def checkpoint() -> None:
        result.checkpoints.append(state.to_dict())
        result.rows_at_checkpoint.append(len(result.rows))

    with aioresponses() as mocked:
        fake.install(mocked)
        async with DagsterClient(settings) as client:
            server = await connect(client, ENDPOINT)  # Dagster's clock (Date), as a sync has it
            fake.calls.clear()
            fake.requests.clear()
            workspace: asyncio.Future = asyncio.get_running_loop().create_future()
            context = SyncContext(settings, state, client, server, workspace, send, checkpoint)
            try:
                await table.sync(context)
            finally:
                workspace.cancel()
    return result


def resume_from(result: TableSync, checkpoint: int, deployment: str = "x") -> SyncState:
    """The state a sync killed right after checkpoint number `checkpoint` starts from."""
    state, warning = SyncState.from_dict(result.checkpoints[checkpoint], deployment)
    assert warning is None
    return state
