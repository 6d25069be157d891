"""`dagster_asset_dependencies`: one row per edge of the asset graph, upstream to downstream,
in the downstream asset's location; paged by `assetsOrError`'s cursor (clamp-safe)."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from extractor.config import parse_configuration
from extractor.events import Deletes, Rows
from extractor.state import SyncState
from extractor.sync import extract
from extractor.asset_graph import ASSET_PAGE_SIZE
from tests.fake_dagster import (
    ENDPOINT,
    FakeAsset,
    FakeDagster,
    FakeLocation,
    FakeRepository,
    fast_retries,
    make_run,
)

LOAD_ERROR = "ModuleNotFoundError: No module named 'pandas'"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def sync(fake: FakeDagster, state: SyncState | None = None) -> list:
    configuration = {"base_url": ENDPOINT, "requests_per_second": "2000"}
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(parse_configuration(configuration), state or SyncState(deployment="dagster.test/graphql")))


def rows_of(events: list) -> dict[str, dict]:
    return {
        row["id"]: row
        for e in events
        if isinstance(e, Rows) and e.table == "dagster_asset_dependencies"
        for row in e.rows
    }


def deletes_of(events: list) -> list[dict]:
    return [key for e in events if isinstance(e, Deletes) and e.table == "dagster_asset_dependencies" for key in e.keys]


def deployment(max_limit: int | None = None) -> FakeDagster:
    raw = FakeRepository(
        "__repository__",
        assets=[
            FakeAsset(["raw", "orders"], deps=[["vendor", "feed"]]),
            FakeAsset(["vendor", "feed"], stub=True),  # a dependency nobody defines
        ],
    )
    marts = FakeRepository(
        "__repository__",
        assets=[
            FakeAsset(["marts", "orders"], deps=[["raw", "orders"]]),  # across locations
            FakeAsset(["marts", "revenue"], deps=[["marts", "orders"], ["raw", "orders"]]),
            FakeAsset(["marts", "standalone"]),
        ],
    )
    fake = FakeDagster([make_run(0)], [FakeLocation("raw", [raw]), FakeLocation("marts", [marts])], max_limit=max_limit)
    fake.orphan_assets = [FakeAsset(["old", "dropped"], latest=("run-00000", "1600000000000"))]
    return fake


EDGES = {
    "vendor/feed -> raw/orders": ("vendor/feed", "raw/orders", "raw"),
    "raw/orders -> marts/orders": ("raw/orders", "marts/orders", "marts"),
    "marts/orders -> marts/revenue": ("marts/orders", "marts/revenue", "marts"),
    "raw/orders -> marts/revenue": ("raw/orders", "marts/revenue", "marts"),
}


def test_one_row_per_edge_in_the_downstream_location():
    rows = rows_of(sync(deployment()))
    assert rows == {
        key: {"id": key, "upstream_key": up, "downstream_key": down, "code_location": location}
        for key, (up, down, location) in EDGES.items()
    }


def test_a_clamped_page_size_still_reads_every_edge():
    fake = deployment(max_limit=2)
    rows = rows_of(sync(fake))
    assert set(rows) == set(EDGES)
    asked = fake.calls_of("ConnectorAssetGraph")
    assert all(variables["limit"] == ASSET_PAGE_SIZE for variables in asked)
    # 6 keys (with the stub and the event-only key) in pages of 2, then the empty page:
    # one walk for every asset table.
    assert len(asked) == 4


def test_a_removed_edge_is_deleted_and_a_failed_location_keeps_its_edges():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    revenue = fake.location("marts").repositories[0].assets[1]
    revenue.deps = [["marts", "orders"]]  # no longer reads raw/orders directly
    fake.location("raw").error = LOAD_ERROR
    events = sync(fake, state)
    assert deletes_of(events) == [{"id": "raw/orders -> marts/revenue"}]
    assert set(rows_of(events)) == set()  # the edges still there are unchanged: not sent again
    assert set(events[-1].state["snapshots"]["dagster_asset_dependencies"]["marts"]) == {
        "raw/orders -> marts/orders", "marts/orders -> marts/revenue"}
    assert list(events[-1].state["snapshots"]["dagster_asset_dependencies"]["raw"]) == ["vendor/feed -> raw/orders"]
