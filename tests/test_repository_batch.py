"""Per-repository listings (jobs, schedules, sensors, their latest ticks): many repositories per
request, and one repository's failure is that repository's alone."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from extractor.config import parse_configuration
from extractor.events import Rows
from extractor.repository_batch import REPOSITORIES_PER_REQUEST
from extractor.state import SyncState
from extractor.sync import extract
from tests.fake_dagster import (
    ENDPOINT, FakeDagster, FakeLocation, FakeRepository, fast_retries, job, make_run, python_error, resolver_error,
    schedule, sensor,
)  # fmt: skip

LISTINGS = ("ConnectorJobs", "ConnectorSchedules", "ConnectorSensors", "ConnectorScheduleTicks", "ConnectorSensorTicks")
TABLES = ("dagster_jobs", "dagster_schedules", "dagster_sensors")


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def many_locations(count: int) -> FakeDagster:
    locations = [
        FakeLocation(f"loc_{i:02d}", [FakeRepository(
            f"repo_{i:02d}", schedules=[schedule(f"nightly_{i:02d}")], sensors=[sensor(f"watch_{i:02d}")],
            jobs=[job(f"job_{i:02d}")],
        )])  # fmt: skip
        for i in range(count)
    ]
    return FakeDagster([make_run(0)], locations)


def sync(fake: FakeDagster) -> list:
    configuration = {"base_url": ENDPOINT, "requests_per_second": "5000"}
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(parse_configuration(configuration), SyncState(deployment="dagster.test/graphql")))


def locations_of(events: list, table: str) -> set[str]:
    return {row["code_location"] for e in events if isinstance(e, Rows) and e.table == table for row in e.rows}


def test_many_repositories_cost_a_few_requests_per_listing():
    count = 2 * REPOSITORIES_PER_REQUEST + 3
    fake = many_locations(count)
    events = sync(fake)
    for table in TABLES:
        assert len(locations_of(events, table)) == count
    for operation in LISTINGS:
        assert fake.calls[operation] == 3, operation  # ceil(23 / 10)
        assert len(fake.calls_of(operation)) == count  # every repository asked once


def test_a_python_error_of_one_repository_skips_only_that_repository(capsys):
    fake = many_locations(5)

    def broken(variables):
        if variables["repositorySelector"]["repositoryLocationName"] == "loc_03":
            return python_error("schedulesOrError", "dagster._core.errors.DagsterUserCodeUnreachableError: gone")
        return None

    fake.overrides["ConnectorSchedules"] = broken
    events = sync(fake)
    assert locations_of(events, "dagster_schedules") == {"loc_00", "loc_01", "loc_02", "loc_04"}
    assert fake.calls["ConnectorSchedules"] == 1
    assert "skipping repository repo_03@loc_03" in capsys.readouterr().out


def test_a_resolver_failure_fails_the_request_and_each_repository_is_asked_alone():
    fake = many_locations(4)

    def broken(variables):
        if variables["repositorySelector"]["repositoryLocationName"] == "loc_01":
            return resolver_error("boom", ["jobs", 0, "owners"])
        return None

    fake.overrides["ConnectorJobs"] = broken
    events = sync(fake)
    assert locations_of(events, "dagster_jobs") == {"loc_00", "loc_02", "loc_03"}
    assert fake.calls["ConnectorJobs"] == 1 + 4  # the batch, then each repository alone


def test_an_unreachable_server_is_not_asked_once_per_repository(monkeypatch):
    monkeypatch.setattr("extractor.retry.MAX_RETRY_SECONDS", 0.3)  # the budget of one request
    fake = many_locations(4)
    fake.overrides["ConnectorSensors"] = lambda variables: python_error(
        "sensorsOrError", "psycopg2.OperationalError: could not connect to server", status=500
    )
    events = sync(fake)
    assert locations_of(events, "dagster_sensors") == set()
    # Retried as a whole (a database failing for a moment), never split per repository.
    assert fake.calls["ConnectorSensors"] == len(fake.calls_of("ConnectorSensors")) // 4
