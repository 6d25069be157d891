"""The asset walk lists everything only when some code location's definitions may have changed
(a new `versionKey`, a day since the last full listing, another connector's listing form);
otherwise it lists the bare keys and reads by key only the assets whose rows may have moved."""

from __future__ import annotations

import time

import pytest

from extractor import asset_graph
from extractor.events import Deletes
from extractor.state import SyncState
from tests.fake_dagster import FakeAsset, FakeDagster, FakeLocation, FakeRepository, fast_retries, make_run
from tests.test_assets import rows, sync

PARTITIONED = {
    "isPartitioned": True,
    "partitionStats": {"numPartitions": 3, "numMaterialized": 1, "numFailed": 0, "numMaterializing": 0},
}


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def deployment() -> FakeDagster:
    analytics = FakeRepository(
        "__repository__",
        assets=[
            FakeAsset(["warehouse", "orders"], "Orders", latest=("run-1", "1700000000250"), checks=["not_empty"]),
            FakeAsset(["warehouse", "customers"], deps=[["warehouse", "orders"]]),
            FakeAsset(["warehouse", "daily"], details=dict(PARTITIONED)),
        ],
    )
    ops = FakeRepository("ops_repo", assets=[FakeAsset(["ops", "report"], latest=("run-2", "1700000200000"))])
    return FakeDagster([make_run(0)], [FakeLocation("analytics", [analytics]), FakeLocation("ops", [ops])])


def synced_twice(fake: FakeDagster) -> tuple[SyncState, list]:
    """The state after a first sync, and the events of a second one with nothing new."""
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.calls.clear()
    fake.requests.clear()
    return state, sync(fake, state)


def asked_by_key(fake: FakeDagster) -> list[list[str]]:
    return [key["path"] for name, variables in fake.requests if name == "ConnectorAssetsByKey" for key in variables["assetKeys"]]


def test_an_idle_sync_lists_bare_keys_and_reads_only_the_partitioned_assets_again():
    fake = deployment()
    state, events = synced_twice(fake)
    assert fake.calls["ConnectorAssetGraph"] == 0 and fake.calls["ConnectorAssetHeads"] == 2  # a page, then the empty one
    assert asked_by_key(fake) == [["warehouse", "daily"]]  # its counts move without an event
    assert not rows(events, "dagster_assets") and not rows(events, "dagster_asset_dependencies")
    assert not [e for e in events if isinstance(e, Deletes)]
    assert sorted(key for keys in state.snapshots["dagster_assets"].values() for key in keys) == [
        "ops/report", "warehouse/customers", "warehouse/daily", "warehouse/orders"]  # fmt: skip
    assert state.snapshots["dagster_asset_dependencies"] and state.snapshots["dagster_asset_checks"]
    # The checks' names still come with the bare keys: their executions are still asked for.
    assert fake.calls["ConnectorCheckExecutions"] == 1


def test_a_new_materialization_reads_that_asset_again_and_sends_its_row():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.location("ops").repositories[0].assets[0].latest = ("run-9", "1700000900000")
    fake.calls.clear()
    fake.requests.clear()
    events = sync(fake, state)
    assert fake.calls["ConnectorAssetGraph"] == 0
    assert sorted(asked_by_key(fake)) == [["ops", "report"], ["warehouse", "daily"]]
    report = rows(events, "dagster_assets")["ops/report"]
    assert report["last_materialization_run_id"] == "run-9" and report["code_location"] == "ops"
    assert list(rows(events, "dagster_assets")) == ["ops/report"]  # daily's row did not change


def test_a_partition_count_that_moves_without_an_event_is_sent():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.location("analytics").repositories[0].assets[2].details["partitionStats"] = {
        "numPartitions": 4, "numMaterialized": 1, "numFailed": 1, "numMaterializing": 0}  # fmt: skip
    events = sync(fake, state)
    daily = rows(events, "dagster_assets")["warehouse/daily"]
    assert (daily["partition_count"], daily["failed_partition_count"]) == (4, 1)


def test_a_reloaded_location_is_listed_in_full_and_what_it_dropped_is_deleted():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    analytics = fake.location("analytics")
    analytics.repositories[0].assets = analytics.repositories[0].assets[:1]  # a redeploy: a new versionKey
    analytics.repositories[0].assets[0].description = "Orders, deduplicated"
    fake.calls.clear()
    events = sync(fake, state)
    assert fake.calls["ConnectorAssetGraph"] >= 1 and fake.calls["ConnectorAssetHeads"] == 0
    assert rows(events, "dagster_assets")["warehouse/orders"]["description"] == "Orders, deduplicated"
    deleted = {e.table: sorted(k["id"] for k in e.keys) for e in events if isinstance(e, Deletes)}
    assert deleted["dagster_assets"] == ["warehouse/customers", "warehouse/daily"]
    assert deleted["dagster_asset_dependencies"]
    # The next sync has the new version in its basis: bare keys again.
    fake.calls.clear()
    sync(fake, state)
    assert fake.calls["ConnectorAssetGraph"] == 0 and fake.calls["ConnectorAssetHeads"] >= 1


def test_a_location_gone_from_the_workspace_has_its_rows_deleted_without_a_full_listing():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.locations = [fake.location("analytics")]
    fake.calls.clear()
    events = sync(fake, state)
    assert fake.calls["ConnectorAssetGraph"] == 0
    deleted = {e.table: sorted(k["id"] for k in e.keys) for e in events if isinstance(e, Deletes)}
    assert deleted["dagster_assets"] == ["ops/report"]


def test_a_location_failing_to_load_keeps_its_rows_and_the_others_are_not_listed_again():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.location("ops").error = "ModuleNotFoundError: No module named 'ops_helpers'"
    fake.calls.clear()
    events = sync(fake, state)
    assert fake.calls["ConnectorAssetGraph"] == 0
    assert not [e for e in events if isinstance(e, Deletes) and e.table == "dagster_assets"]
    assert "ops/report" in state.snapshots["dagster_assets"]["ops"]


def test_a_day_after_the_last_full_listing_everything_is_listed_again():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    state.bases["dagster_assets"]["listed_at"] = time.time() - asset_graph.FULL_LISTING_SECONDS - 1
    fake.calls.clear()
    sync(fake, state)
    assert fake.calls["ConnectorAssetGraph"] >= 1 and fake.calls["ConnectorAssetHeads"] == 0
    assert time.time() - state.bases["dagster_assets"]["listed_at"] < 60


def test_a_listing_made_by_another_form_of_the_connector_is_not_trusted():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    state.bases["dagster_assets"]["form"] = "0000"
    fake.calls.clear()
    sync(fake, state)
    assert fake.calls["ConnectorAssetGraph"] >= 1


def test_a_state_without_a_basis_lists_everything_once():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    saved = state.to_dict()
    del saved["bases"]  # a state written before the bases existed
    older, warning = SyncState.from_dict(saved, "dagster.test/graphql")
    assert warning is None
    fake.calls.clear()
    events = sync(fake, older)
    assert fake.calls["ConnectorAssetGraph"] >= 1 and not rows(events, "dagster_assets")  # digests unchanged


def test_a_location_reloaded_during_the_sync_has_nothing_deleted():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    workspace_reads = {"count": 0}
    analytics = fake.location("analytics")

    def reload_between_the_two_reads(variables):
        workspace_reads["count"] += 1
        if workspace_reads["count"] == 2:  # after the listing, before the deletions
            analytics.updated += 60
        return None

    analytics.repositories[0].assets = analytics.repositories[0].assets[:1]
    fake.overrides["ConnectorWorkspace"] = reload_between_the_two_reads
    events = sync(fake, state)
    assert not [e for e in events if isinstance(e, Deletes) and e.table == "dagster_assets"]
    assert "warehouse/customers" in state.snapshots["dagster_assets"]["analytics"]  # kept until listed alike
    fake.overrides.clear()
    events = sync(fake, state)  # its new version: a full listing, which deletes
    deleted = [k["id"] for e in events if isinstance(e, Deletes) and e.table == "dagster_assets" for k in e.keys]
    assert sorted(deleted) == ["warehouse/customers", "warehouse/daily"]


def test_a_dagster_without_version_keys_lists_everything_every_time(capsys):
    fake = deployment()
    fake.version_keys = False
    state, events = synced_twice(fake)
    assert fake.calls["ConnectorAssetGraph"] >= 1 and fake.calls["ConnectorAssetHeads"] == 0
    assert state.bases["dagster_assets"]["versions"] == {}
    assert not rows(events, "dagster_assets")  # still only what changed is sent
    assert "no WorkspaceLocationEntry.versionKey" in capsys.readouterr().out


def test_a_server_that_clamps_the_keyed_read_is_asked_again_for_the_rest():
    fake = deployment()
    fake.max_limit = 1
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    analytics = fake.location("analytics").repositories[0]
    analytics.assets[0].latest = ("run-7", "1700000700000")
    fake.location("ops").repositories[0].assets[0].latest = ("run-8", "1700000800000")
    fake.calls.clear()
    events = sync(fake, state)
    assets = rows(events, "dagster_assets")
    assert (assets["warehouse/orders"]["last_materialization_run_id"], assets["ops/report"]["last_materialization_run_id"]) == ("run-7", "run-8")
    assert fake.calls["ConnectorAssetsByKey"] == 3  # 3 assets to read again, one an answer
