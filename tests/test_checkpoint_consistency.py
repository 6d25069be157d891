"""A checkpoint taken at any moment names only what was delivered before it.

Every table shares one state, and any table may checkpoint while another one is between
reading a page and sending its rows (its send waiting on a full channel). If a table moved its
position past a page before the page's rows were in the channel, a checkpoint taken in that
gap would commit the position without the rows, and a sync killed right after would lose
them for good. This test takes the worst moment of every send: the state as it is when the
send starts, with only the events already in the channel delivered; a sync resumed from
there must end with exactly what an uninterrupted sync lands, for every table.

It runs the whole extraction, in this process, against the simulated Dagster (every table).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from fivetran_connector_sdk_common.logger import Logging

from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster
from extractor import sync as sync_module
from extractor.config import Settings, parse_configuration
from extractor.events import Deletes, Rows
from extractor.state import SyncState
from extractor.sync import extract
from extractor.tables import TABLES

KEYS = {table.name: table.primary_key for table in TABLES}
KILLS_PER_TABLE = 4  # kill moments tried per table: its first, last and two sends between

Destination = dict[str, dict[tuple, dict[str, Any]]]


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.WARNING)


def land(destination: Destination, events: list[Rows | Deletes]) -> None:
    """Applies events as Fivetran does: upsert by primary key; a delete marks the row."""
    for event in events:
        table = destination.setdefault(event.table, {})
        if isinstance(event, Rows):
            for row in event.rows:
                table[tuple(row[key] for key in KEYS[event.table])] = {**row, "_deleted": False}
        elif isinstance(event, Deletes):
            for keys in event.keys:
                key = tuple(keys[name] for name in KEYS[event.table])
                if key in table:
                    table[key] = {**table[key], "_deleted": True}


def data(events: list) -> list[Rows | Deletes]:
    return [event for event in events if isinstance(event, (Rows, Deletes))]


def copy(destination: Destination) -> Destination:
    return {table: dict(rows) for table, rows in destination.items()}


class KillPoint:
    """The state at the start of one send, and the events in the channel by then."""

    def __init__(self, table: str, state: dict[str, Any], delivered: list[Rows | Deletes]) -> None:
        self.table, self.state, self.delivered = table, state, delivered


def kill_points(settings: Settings, state: SyncState, monkeypatch) -> list[KillPoint]:
    """Runs a sync to its end, noting every send's worst kill moment."""
    enqueued: list[Rows | Deletes] = []
    points: list[KillPoint] = []
    original = sync_module._Extraction._send

    async def send(self, event: Rows | Deletes) -> None:
        # A checkpoint of another table can get into the channel before these rows.
        points.append(KillPoint(event.table, json.loads(json.dumps(self._state.to_dict())), list(enqueued)))
        await original(self, event)
        enqueued.append(event)

    with monkeypatch.context() as patched:
        patched.setattr(sync_module._Extraction, "_send", send)
        list(extract(settings, state))
    return points


def sample(points: list[KillPoint]) -> list[KillPoint]:
    by_table: dict[str, list[KillPoint]] = defaultdict(list)
    for point in points:
        by_table[point.table].append(point)
    chosen = []
    for table_points in by_table.values():
        count = len(table_points)
        indexes = sorted({0, count // 3, (2 * count) // 3, count - 1})[:KILLS_PER_TABLE]
        chosen += [table_points[index] for index in indexes]
    return chosen


def assert_resumes_exact(
    settings: Settings, base: Destination, point: KillPoint, expected: Destination
) -> None:
    state, warning = SyncState.from_dict(point.state, settings.deployment)
    assert warning is None
    destination = copy(base)
    land(destination, point.delivered)
    land(destination, data(list(extract(settings, state))))
    for table, rows in expected.items():
        got = destination.get(table, {})
        lost = rows.keys() - got.keys()
        assert not lost, f"killed while sending {point.table}: {len(lost)} {table} rows lost, e.g. {sorted(lost)[:2]}"
        stale = [key for key, row in rows.items() if got[key] != row]
        assert not stale, f"killed while sending {point.table}: {len(stale)} {table} rows stale, e.g. {stale[:2]}"


KNOBS = dict(
    runs=600, repositories=2, assets_per_repository=6, schedules_per_repository=2, sensors_per_repository=2,
    ticks=400, asset_events=300, checks_per_repository=2, backfills=30, in_progress_runs=6,
)  # fmt: skip


def test_a_sync_killed_while_any_table_sends_resumes_to_exactly_what_an_uninterrupted_one_lands(monkeypatch):
    with SimulatedDagster(ServerKnobs(**KNOBS)) as server:
        settings = parse_configuration(
            {"base_url": server.url, "requests_per_second": "5000", "page_size": "50", "step_history_days": "0"}
        )
        expected: Destination = {}
        land(expected, data(list(extract(settings, SyncState(deployment=settings.deployment)))))
        points = kill_points(settings, SyncState(deployment=settings.deployment), monkeypatch)
        tables = {point.table for point in points}
        assert {"dagster_runs", "dagster_ticks", "dagster_asset_events", "dagster_asset_check_executions",
                "dagster_backfills", "dagster_run_steps"} <= tables  # fmt: skip
        for point in sample(points):
            assert_resumes_exact(settings, {}, point, expected)


def test_an_incremental_sync_killed_while_any_table_sends_resumes_exact(monkeypatch):
    with SimulatedDagster(ServerKnobs(**KNOBS)) as server:
        settings = parse_configuration(
            {"base_url": server.url, "requests_per_second": "5000", "page_size": "50", "step_history_days": "0"}
        )
        state = SyncState(deployment=settings.deployment)
        base: Destination = {}
        land(base, data(list(extract(settings, state))))
        synced = state.to_dict()
        server.add_runs(170)
        server.add_backfills(3)
        server.add_ticks("analytics_schedule_0", 120, "SUCCESS")

        def from_synced() -> SyncState:
            return SyncState.from_dict(json.loads(json.dumps(synced)), settings.deployment)[0]

        expected = copy(base)
        land(expected, data(list(extract(settings, from_synced()))))
        points = kill_points(settings, from_synced(), monkeypatch)
        assert {"dagster_runs", "dagster_ticks", "dagster_backfills"} <= {point.table for point in points}
        for point in sample(points):
            assert_resumes_exact(settings, base, point, expected)
