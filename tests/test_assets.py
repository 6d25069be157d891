"""Assets: one walk of `assetsOrError` per sync fills `dagster_assets`, the dependencies and the
checks, with each asset's definition details and latest materialization."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from extractor.config import parse_configuration
from extractor.events import Deletes, Rows
from extractor.state import SyncState
from extractor.sync import extract
from tests.fake_dagster import FakeAsset, FakeDagster, FakeLocation, FakeRepository, ENDPOINT, fast_retries, make_run


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def sync(fake: FakeDagster, state: SyncState | None = None) -> list:
    configuration = {"base_url": ENDPOINT, "requests_per_second": "2000"}
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(parse_configuration(configuration), state or SyncState(deployment="dagster.test/graphql")))


def rows(events: list, table: str) -> dict[str, dict]:
    return {row["id"]: row for e in events if isinstance(e, Rows) and e.table == table for row in e.rows}


def deployment(max_limit: int | None = None) -> FakeDagster:
    details = {
        "groupName": "marts",
        "owners": [{"email": "ana@example.com"}, {"team": "data"}],
        "tags": [{"key": "dagster/kind/snowflake", "value": ""}, {"key": "tier", "value": "gold"}],
        "kinds": ["snowflake"],
        "isPartitioned": True,
        "partitionStats": {"numPartitions": 14, "numMaterialized": 12, "numFailed": 1, "numMaterializing": 0},
        "jobNames": ["__ASSET_JOB", "daily"],
        "freshnessPolicy": None,
        "internalFreshnessPolicy": {"__typename": "TimeWindowFreshnessPolicy", "failWindowSeconds": 3600, "warnWindowSeconds": None},
    }
    analytics = FakeRepository(
        "__repository__",
        assets=[
            FakeAsset(["warehouse", "orders"], "Orders", latest=("run-1", "1700000000250"), details=details, checks=["not_empty"]),
            FakeAsset(["warehouse", "customers"], latest=("", "1700000100000")),  # runless
            FakeAsset(["raw", "events"], observable=True),
            FakeAsset(["upstream", "not_defined_here"], stub=True),
        ],
    )
    ops = FakeRepository("ops_repo", assets=[FakeAsset(["ops", "report"], latest=("run-2", "1700000200000"))])
    fake = FakeDagster([make_run(0)], [FakeLocation("analytics", [analytics]), FakeLocation("ops", [ops])], max_limit=max_limit)
    fake.orphan_assets = [FakeAsset(["old", "dropped"], latest=("run-0", "1600000000000"))]  # events only
    return fake


def test_every_defined_asset_once_with_its_definition_details():
    fake = deployment(max_limit=2)
    assets = rows(sync(fake), "dagster_assets")
    assert sorted(assets) == ["ops/report", "raw/events", "warehouse/customers", "warehouse/orders"]
    orders = assets["warehouse/orders"]
    assert (orders["code_location"], orders["repository"], orders["group_name"]) == ("analytics", "__repository__", "marts")
    assert orders["owners"] == ["ana@example.com", "team:data"]  # as in definitions, and in dagster_jobs
    assert orders["tags"] == {"dagster/kind/snowflake": "", "tier": "gold"} and orders["kinds"] == ["snowflake"]
    assert (orders["is_partitioned"], orders["partition_count"], orders["materialized_partition_count"], orders["failed_partition_count"]) == (True, 14, 12, 1)
    assert orders["freshness_policy"] == {"type": "TimeWindow", "failWindowSeconds": 3600, "warnWindowSeconds": None}
    assert orders["job_names"] == ["__ASSET_JOB", "daily"] and orders["last_materialization_run_id"] == "run-1"
    assert (assets["raw/events"]["is_observable"], assets["raw/events"]["is_materializable"]) == (True, False)
    assert assets["warehouse/customers"]["last_materialization_run_id"] is None  # runless
    assert assets["raw/events"]["last_materialization_time"] is None
    # 6 keys in clamped pages of 2 then the empty page: one walk feeds every asset table.
    assert fake.calls["ConnectorAssetGraph"] == 4


def test_checks_are_listed_with_their_asset_and_deleted_when_gone():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    checks = rows(sync(fake, state), "dagster_asset_checks")
    assert checks == {
        "warehouse/orders:not_empty": {
            "id": "warehouse/orders:not_empty", "asset_key": "warehouse/orders", "name": "not_empty",
            "description": None, "blocking": False, "job_names": ["job"], "additional_asset_keys": [],
            "code_location": "analytics", "repository": "__repository__",
        }
    }  # fmt: skip
    fake.location("analytics").repositories[0].assets[0].checks = []
    events = sync(fake, state)
    deleted = [key for e in events if isinstance(e, Deletes) and e.table == "dagster_asset_checks" for key in e.keys]
    assert deleted == [{"id": "warehouse/orders:not_empty"}]


def test_checks_dagster_cannot_list_are_not_deleted():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.checks_error = "AssetCheckNeedsMigrationError"
    events = sync(fake, state)
    assert not [e for e in events if isinstance(e, Deletes) and e.table == "dagster_asset_checks"]
    assert {location: list(keys) for location, keys in state.snapshots["dagster_asset_checks"].items()} == {
        "analytics": ["warehouse/orders:not_empty"]}
