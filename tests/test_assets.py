"""Assets: `assetsOrError` paged by key, latest materializations batched per page."""

from aioresponses import aioresponses

from extractor.tables.assets import asset_pages
from extractor.client import DagsterClient
from extractor.config import parse_configuration
from tests.fake_dagster import ENDPOINT, FakeAsset, FakeDagster, FakeLocation, FakeRepository


def client():
    return DagsterClient(parse_configuration({"base_url": ENDPOINT, "requests_per_second": "1000"}))


async def pages_of(fake: FakeDagster, page_size: int):
    with aioresponses() as mocked:
        fake.install(mocked)
        async with client() as dagster:
            return [page async for page in asset_pages(dagster, page_size)]


def deployment() -> FakeDagster:
    analytics = FakeRepository(
        "__repository__",
        assets=[
            FakeAsset(["warehouse", "orders"], "Orders", latest=("run-1", "1700000000250")),
            FakeAsset(["warehouse", "customers"], latest=("", "1700000100000")),  # runless
            FakeAsset(["raw", "events"]),
            FakeAsset(["upstream", "not_defined_here"], stub=True),
        ],
    )
    ops = FakeRepository("ops_repo", assets=[FakeAsset(["ops", "report"], latest=("run-2", "1700000200000"))])
    fake = FakeDagster(locations=[FakeLocation("analytics", [analytics]), FakeLocation("ops", [ops])])
    fake.orphan_assets = [FakeAsset(["old", "dropped"], latest=("run-0", "1600000000000"))]  # events only
    return fake


async def test_every_defined_asset_once_across_pages_with_its_location():
    fake = deployment()
    pages = await pages_of(fake, page_size=2)
    rows = {row["id"]: (row, location) for page in pages for row, location in zip(page.rows, page.locations)}
    assert sorted(rows) == ["ops/report", "raw/events", "warehouse/customers", "warehouse/orders"]
    assert rows["ops/report"][1] == "ops" and rows["warehouse/orders"][1] == "analytics"
    orders = rows["warehouse/orders"][0]
    assert orders["last_materialization_run_id"] == "run-1" and orders["description"] == "Orders"
    assert rows["warehouse/customers"][0]["last_materialization_run_id"] is None  # runless
    assert rows["warehouse/customers"][0]["last_materialization_time"] is not None
    assert rows["raw/events"][0]["last_materialization_time"] is None
    assert sum(len(page.rows) for page in pages) == 4, "stubs and event-only keys are left out"
    pages_asked = fake.calls_of("ConnectorAssetsPage")
    assert all(variables["limit"] == 2 for variables in pages_asked)
    assert len(pages_asked) == 4  # 6 keys in pages of 2, then the empty page that ends the walk
    assert set(fake.calls) - {"ConnectorAssetsPage"} == set(), "one request per page, no other"


async def test_no_assets_one_empty_page():
    fake = FakeDagster(locations=[FakeLocation("empty", [FakeRepository("repo")])])
    assert await pages_of(fake, page_size=10) == []
    assert fake.calls["ConnectorAssetsPage"] == 1
