"""`dagster_asset_events`: every asset event once; incremental syncs read only the assets whose
newest indexed event passed the watermark (and the observable ones); resumable."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from extractor.config import parse_configuration
from extractor.events import Checkpoint, Rows
from extractor.state import SyncState
from extractor.sync import extract
from extractor.tables.asset_events import storage_id
from tests.fake_dagster import (
    ENDPOINT, FakeAsset, FakeDagster, FakeLocation, FakeRepository, _event_cursor, fast_retries, make_run,
    resolver_error,
)  # fmt: skip

NAME = "dagster_asset_events"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def sync(fake: FakeDagster, state: SyncState) -> list:
    configuration = {"base_url": ENDPOINT, "requests_per_second": "5000"}
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(parse_configuration(configuration), state))


def rows(events: list) -> dict[str, dict]:
    return {row["id"]: row for e in events if isinstance(e, Rows) and e.table == NAME for row in e.rows}


def assets_read(fake: FakeDagster, since: int = 0) -> list[list[str]]:
    """The asset keys each events request asked for, after the `since`-th request."""
    asked = fake.calls_of("ConnectorAssetEvents")[since:]
    return [variables[name]["path"] for variables in asked for name in variables if name.startswith("k")]


def deployment() -> FakeDagster:
    repository = FakeRepository(
        "__repository__",
        assets=[
            FakeAsset(["warehouse", "orders"]),
            FakeAsset(["warehouse", "customers"]),
            FakeAsset(["raw", "feed"], observable=True),
            *[FakeAsset(["bulk", f"a{i:02d}"]) for i in range(30)],
        ],
    )
    fake = FakeDagster([make_run(0)], [FakeLocation("analytics", [repository])])
    for _ in range(130):  # more than a first page
        fake.add_event(["warehouse", "orders"], partition="2024-01-01")
    fake.add_event(["warehouse", "customers"], run_id="", stepKey=None)  # runless
    fake.add_event(
        ["warehouse", "customers"], "FailedToMaterializeEvent", tags=[{"key": "k", "value": "v"}],
        metadataEntries=[{"__typename": "TextMetadataEntry", "label": "why", "text": "boom"}],
    )  # fmt: skip
    fake.add_event(["raw", "feed"], "ObservationEvent", run_id="")
    fake.add_event(["old", "dropped"])  # a key no code location defines any more
    for i in range(30):
        fake.add_event(["bulk", f"a{i:02d}"])
    return fake


def expected(fake: FakeDagster) -> set[tuple]:
    return {(e["storage_id"],) for e in fake.asset_events}


def test_a_first_sync_reads_every_event_of_every_key_batching_assets():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    synced = rows(sync(fake, state))
    assert len(synced) == len(fake.asset_events) == 164
    by_key = {}
    for row in synced.values():
        by_key.setdefault(row["asset_key"], []).append(row)
    assert len(by_key["warehouse/orders"]) == 130 and len(by_key["old/dropped"]) == 1
    failed = next(r for r in by_key["warehouse/customers"] if r["event_type"] == "FAILED_TO_MATERIALIZE")
    assert failed["tags"] == {"k": "v"} and failed["metadata"] == {"why": "boom"}
    assert failed["failure_type"] == "FAILED" and failed["failure_reason"] == "FAILED_TO_MATERIALIZE"
    runless = next(r for r in by_key["warehouse/customers"] if r["event_type"] == "MATERIALIZATION")
    assert runless["run_id"] is None and runless["step_key"] is None
    assert by_key["raw/feed"][0]["event_type"] == "OBSERVATION"
    assert by_key["warehouse/orders"][0]["partition"] == "2024-01-01"
    requests = fake.calls["ConnectorAssetEvents"]
    assert requests < 34, f"34 keys in {requests} requests: several assets per request"
    assert state.tables[NAME] == {"until": max(e["storage_id"] for e in fake.asset_events if e["__typename"] == "MaterializationEvent")}


def test_an_incremental_sync_reads_only_the_assets_with_new_events_and_the_observable_ones():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    before = fake.calls["ConnectorAssetEvents"]
    nothing_new = sync(fake, state)
    assert assets_read(fake, before) == [["raw", "feed"]]
    assert {r["asset_key"] for r in rows(nothing_new).values()} <= {"raw/feed"}

    before = fake.calls["ConnectorAssetEvents"]
    new = fake.add_event(["bulk", "a07"], run_id="run-9")
    observed = fake.add_event(["raw", "feed"], "ObservationEvent", run_id="")
    synced = rows(sync(fake, state))
    assert sorted(assets_read(fake, before)) == [["bulk", "a07"], ["raw", "feed"]]
    timestamps = {row["timestamp"].timestamp() * 1000 for row in synced.values()}
    assert {int(new["timestamp"]), int(observed["timestamp"])} <= {round(t) for t in timestamps}


def test_a_re_read_event_keeps_its_id():
    fake = deployment()
    first = rows(sync(fake, SyncState(deployment="dagster.test/graphql")))
    again = rows(sync(fake, SyncState(deployment="dagster.test/graphql")))
    assert first.keys() == again.keys()


def test_a_sync_stopped_midway_resumes_after_the_assets_it_finished():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    answered = {"n": 0}

    def fail_sixth(variables):
        answered["n"] += 1
        return resolver_error("KeyError: 'partition'", ["w0"]) if answered["n"] == 6 else None

    fake.overrides["ConnectorAssetEvents"] = fail_sixth
    first = sync(fake, state)
    progress = dict(state.tables[NAME]["sync"])
    assert progress["done_until"] is not None and "until" not in state.tables[NAME]
    saved = [e for e in first if isinstance(e, Checkpoint)][-1].state["tables"][NAME]
    assert saved["sync"]["done_until"] == progress["done_until"]
    del fake.overrides["ConnectorAssetEvents"]
    before = fake.calls["ConnectorAssetEvents"]
    second = sync(fake, state)
    assert all(path > progress["done_until"] for path in assets_read(fake, before)), "done assets are not read again"
    assert set(rows(first)) | set(rows(second)) == set(rows(sync(fake, SyncState(deployment="dagster.test/graphql"))))
    assert "sync" not in state.tables[NAME] and state.tables[NAME]["until"] is not None


def test_a_key_gone_between_the_listing_and_its_walk_is_skipped():
    fake = deployment()
    original = fake._ConnectorAssetEvents

    def vanish(variables):
        fake.asset_events = [e for e in fake.asset_events if e["path"] != ["old", "dropped"]]
        return {"data": original(variables)}

    fake.overrides["ConnectorAssetEvents"] = vanish
    synced = rows(sync(fake, SyncState(deployment="dagster.test/graphql")))
    assert "old/dropped" not in {row["asset_key"] for row in synced.values()} and len(synced) == 163


def test_storage_ids_are_read_from_dagsters_cursor():
    assert storage_id(_event_cursor(4321)) == 4321
    assert storage_id("not a cursor") is None and storage_id(None) is None


def test_a_long_walk_checkpoints_its_rows_without_claiming_its_asset_done(monkeypatch):
    """The SDK holds upserted rows until a checkpoint: one asset's long history must not wait
    for its walk's end (memory), and the position must not move before it (a kill re-reads)."""
    monkeypatch.setattr("extractor.sync.CHECKPOINT_ROWS", 40)
    fake = deployment()
    events = sync(fake, SyncState(deployment="dagster.test/graphql"))
    orders = [i for i, e in enumerate(events) if isinstance(e, Rows) and e.table == NAME
              and any(row["asset_key"] == "warehouse/orders" for row in e.rows)]  # fmt: skip
    assert len(orders) >= 2  # 130 events: more than one page
    between = [e for e in events[orders[0] : orders[-1]] if isinstance(e, Checkpoint)]
    assert between, "no checkpoint while warehouse/orders was walked"
    for checkpoint in between:  # none claims warehouse/orders done before its last page
        done = (checkpoint.state["tables"].get(NAME, {}).get("sync") or {}).get("done_until")
        assert done is None or done < ["warehouse", "orders"]
    assert {row["id"] for row in rows(events).values()} == set(rows(events))
