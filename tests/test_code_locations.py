"""`dagster_code_locations`: every location of the workspace listing (no request of its own),
a failed one with the code's own error; a location gone from the workspace is deleted."""

from __future__ import annotations

import json

import pytest
from aioresponses import aioresponses

from extractor.config import parse_configuration
from extractor.events import Deletes, Rows
from extractor.state import SyncState
from extractor.sync import extract
from tests.fake_dagster import ENDPOINT, FakeDagster, FakeLocation, FakeRepository, fast_retries, make_run

LOAD_ERROR = "ModuleNotFoundError: No module named 'pandas'"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def sync(fake: FakeDagster, state: SyncState) -> list:
    configuration = {"base_url": ENDPOINT, "requests_per_second": "2000"}
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(parse_configuration(configuration), state))


def rows_of(events: list) -> dict[str, dict]:
    return {
        row["id"]: row
        for e in events
        if isinstance(e, Rows) and e.table == "dagster_code_locations"
        for row in e.rows
    }


def deletes_of(events: list) -> list[dict]:
    return [key for e in events if isinstance(e, Deletes) and e.table == "dagster_code_locations" for key in e.keys]


def deployment() -> FakeDagster:
    return FakeDagster(
        [make_run(0)],
        [
            FakeLocation(
                "analytics",
                [FakeRepository("__repository__"), FakeRepository("extra")],
                updated=1_700_000_123.5,
                library_versions={"dagster": "1.13.28", "dagster-dbt": "0.29.28"},
            ),
            FakeLocation("ingestion", [FakeRepository("__repository__")], error=LOAD_ERROR),
            FakeLocation("ml", loading=True),
        ],
    )


def test_a_row_per_location_loaded_failed_or_loading():
    fake = deployment()
    rows = rows_of(sync(fake, SyncState(deployment="dagster.test/graphql")))
    analytics = rows["analytics"]
    assert analytics["updated_time"].isoformat() == "2023-11-14T22:15:23.500000+00:00"
    assert {**analytics, "updated_time": None} == {
        "id": "analytics",
        "name": "analytics",
        "load_status": "LOADED",
        "error": None,
        "updated_time": None,
        "repositories": json.dumps(["__repository__", "extra"]),
        "dagster_library_versions": {"dagster": "1.13.28", "dagster-dbt": "0.29.28"},
    }
    failed = rows["ingestion"]
    assert failed["load_status"] == "FAILED"
    assert failed["error"] == LOAD_ERROR  # the code's own exception, not Dagster's generic message
    assert failed["repositories"] is None and failed["dagster_library_versions"] is None
    assert rows["ml"]["load_status"] == "LOADING" and rows["ml"]["error"] is None
    assert fake.calls["ConnectorWorkspace"] == 2  # the listing, and the re-listing before deletes
    assert not [name for name in fake.calls if "Location" in name], "no operation of its own"


def test_a_location_gone_from_the_workspace_is_deleted_a_failing_one_is_not():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.locations = [fake.location("analytics"), fake.location("ingestion")]  # ml removed
    fake.location("analytics").error = LOAD_ERROR  # and analytics breaks
    events = sync(fake, state)
    assert deletes_of(events) == [{"id": "ml"}]
    rows = rows_of(events)
    assert rows["analytics"]["load_status"] == "FAILED" and rows["analytics"]["error"] == LOAD_ERROR
    assert set(events[-1].state["snapshots"]["dagster_code_locations"]) == {"analytics", "ingestion"}


def test_an_empty_workspace_deletes_no_location():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.locations = []
    events = sync(fake, state)
    assert deletes_of(events) == [] and rows_of(events) == {}
    assert set(events[-1].state["snapshots"]["dagster_code_locations"]) == {"analytics", "ingestion", "ml"}
