"""`dagster_jobs`: one row per job of each repository, implicit asset jobs left out; jobs gone
from a loaded location are deleted, a failing or failed location's are left as they are."""

from __future__ import annotations

import json

import pytest
from aioresponses import aioresponses

from extractor.config import parse_configuration
from extractor.events import Deletes, Rows
from extractor.state import SyncState
from extractor.sync import extract
from tests.fake_dagster import (
    ENDPOINT,
    FakeAsset,
    FakeDagster,
    FakeLocation,
    FakeRepository,
    fast_retries,
    job,
    make_run,
    python_error,
    resolver_error,
)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def sync(fake: FakeDagster, state: SyncState) -> list:
    configuration = {"base_url": ENDPOINT, "requests_per_second": "2000"}
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(parse_configuration(configuration), state))


def rows_of(events: list, table: str = "dagster_jobs") -> dict[str, dict]:
    return {row["id"]: row for e in events if isinstance(e, Rows) and e.table == table for row in e.rows}


def deletes_of(events: list, table: str = "dagster_jobs") -> list[dict]:
    return [key for e in events if isinstance(e, Deletes) and e.table == table for key in e.keys]


def deployment() -> FakeDagster:
    analytics = FakeRepository(
        "__repository__",
        jobs=[
            job("daily_orders", "Loads the orders", tags={"team": "data"}, owners=("ana@example.com", "team:data")),
            job("refresh_marts", asset_job=True),
        ],
        assets=[FakeAsset(["orders"])],  # so Dagster adds its implicit __ASSET_JOB
    )
    ops = FakeRepository("ops_repo", jobs=[job("daily_orders", owners=("team:platform",))])
    return FakeDagster([make_run(0)], [FakeLocation("analytics", [analytics]), FakeLocation("ops", [ops])])


def test_one_row_per_job_keyed_by_location_repository_and_name():
    fake = deployment()
    rows = rows_of(sync(fake, SyncState(deployment="dagster.test/graphql")))
    assert sorted(rows) == [
        "analytics:__repository__:daily_orders",
        "analytics:__repository__:refresh_marts",
        "ops:ops_repo:daily_orders",  # the same job name in another repository is another row
    ]
    assert rows["analytics:__repository__:daily_orders"] == {
        "id": "analytics:__repository__:daily_orders",
        "name": "daily_orders",
        "code_location": "analytics",
        "repository": "__repository__",
        "description": "Loads the orders",
        "is_asset_job": False,
        "tags": {"team": "data"},
        "owners": json.dumps(["ana@example.com", "team:data"]),
    }
    refresh = rows["analytics:__repository__:refresh_marts"]
    assert refresh["is_asset_job"] is True and refresh["tags"] == {} and json.loads(refresh["owners"]) == []
    assert json.loads(rows["ops:ops_repo:daily_orders"]["owners"]) == ["team:platform"]
    assert fake.calls["ConnectorJobs"] == 1  # one request for both repositories (aliases)
    assert len(fake.calls_of("ConnectorJobs")) == 2


def test_the_implicit_asset_job_is_left_out():
    fake = deployment()
    answered = fake._ConnectorJobs({"repositorySelector": {
        "repositoryLocationName": "analytics", "repositoryName": "__repository__"}})  # fmt: skip
    assert "__ASSET_JOB" in [item["name"] for item in answered["repositoryOrError"]["jobs"]]
    rows = rows_of(sync(fake, SyncState(deployment="dagster.test/graphql")))
    assert not any(row["name"].startswith("__ASSET_JOB") for row in rows.values())


def test_a_job_removed_from_code_is_deleted_and_a_failed_location_keeps_its_jobs():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    fake.location("analytics").repositories[0].jobs.pop()  # refresh_marts is gone
    fake.location("ops").error = "ModuleNotFoundError: No module named 'pandas'"
    events = sync(fake, state)
    assert deletes_of(events) == [{"id": "analytics:__repository__:refresh_marts"}]
    assert sorted(rows_of(events)) == []  # daily_orders is unchanged: not sent again
    assert list(events[-1].state["snapshots"]["dagster_jobs"]["analytics"]) == ["analytics:__repository__:daily_orders"]
    assert list(events[-1].state["snapshots"]["dagster_jobs"]["ops"]) == ["ops:ops_repo:daily_orders"]


def test_dagster_1_11_failing_is_asset_job_falls_back_once_without_the_flag(capsys):
    """Dagster 1.11's `Job.isAssetJob` raises (`GrapheneJob` has no `_batch_loader` there)."""
    fake = deployment()
    fake.version = "1.11.16"
    fake.overrides["ConnectorJobs"] = lambda variables: resolver_error(
        "'GrapheneJob' object has no attribute '_batch_loader'", ["repositoryOrError", "jobs", 1, "isAssetJob"]
    )
    rows = rows_of(sync(fake, SyncState(deployment="dagster.test/graphql")))
    assert len(rows) == 3 and all(row["is_asset_job"] is None for row in rows.values())
    assert rows["analytics:__repository__:daily_orders"]["tags"] == {"team": "data"}
    assert fake.calls["ConnectorJobs"] == 1 and fake.calls["ConnectorJobsUnflagged"] == 1
    assert capsys.readouterr().out.count("can't run ConnectorJobs ") == 1


def test_a_failing_jobs_query_skips_only_that_repository_with_a_warning(capsys):
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)

    def jobs(variables):
        if variables["repositorySelector"]["repositoryLocationName"] == "ops":
            return python_error("repositoryOrError", "dagster._core.errors.DagsterUserCodeUnreachableError: gone")
        return None

    fake.overrides["ConnectorJobs"] = jobs
    fake.location("analytics").repositories[0].jobs[0]["description"] = "Loads the orders, again"
    events = sync(fake, state)
    assert sorted(rows_of(events)) == ["analytics:__repository__:daily_orders"]  # the one changed
    assert deletes_of(events) == []
    assert list(events[-1].state["snapshots"]["dagster_jobs"]["ops"]) == ["ops:ops_repo:daily_orders"]
    assert sorted(events[-1].state["snapshots"]["dagster_code_locations"]) == ["analytics", "ops"]  # other tables go on
    output = capsys.readouterr().out
    assert "jobs: skipping repository ops_repo@ops" in output and "DagsterUserCodeUnreachableError" in output
