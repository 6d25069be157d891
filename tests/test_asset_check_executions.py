"""`dagster_asset_check_executions`: every execution once; an incremental sync asks each check
for what passed the watermark, many checks per request; executions in progress are re-read."""

from __future__ import annotations

import pytest

from extractor.state import SyncState
from tests.fake_dagster import FakeAsset, FakeDagster, FakeLocation, FakeRepository, fast_retries, make_run, validation_error
from tests.test_asset_events import sync

NAME = "dagster_asset_check_executions"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def rows(events: list) -> dict[str, dict]:
    return {row["id"]: row for e in events if getattr(e, "table", None) == NAME for row in e.rows}


def deployment(checks: int = 60) -> FakeDagster:
    assets = [FakeAsset(["t", f"a{i:02d}"], checks=["not_empty", "fresh"]) for i in range(checks // 2)]
    fake = FakeDagster([make_run(0)], [FakeLocation("analytics", [FakeRepository("__repository__", assets=assets)])])
    for i in range(checks // 2):
        fake.add_check_execution(["t", f"a{i:02d}"], "not_empty")
        fake.add_check_execution(["t", f"a{i:02d}"], "fresh", status="FAILED")
    return fake


def test_a_first_sync_reads_every_execution_with_its_evaluation():
    fake = deployment()
    synced = rows(sync(fake, SyncState(deployment="dagster.test/graphql")))
    assert len(synced) == 60
    row = next(r for r in synced.values() if r["check_id"] == "t/a03:fresh")
    assert (row["asset_key"], row["check_name"], row["status"], row["success"]) == ("t/a03", "fresh", "FAILED", False)
    assert row["metadata"] == {"rows": 3} and row["target_materialization_run_id"] == "run-1"
    assert fake.calls["ConnectorCheckExecutions"] < 60, "several checks per request"


def test_nothing_new_costs_a_few_requests_and_sends_nothing():
    fake = deployment()
    state = SyncState(deployment="dagster.test/graphql")
    sync(fake, state)
    before = fake.calls["ConnectorCheckExecutions"]
    assert rows(sync(fake, state)) == {}
    assert fake.calls["ConnectorCheckExecutions"] - before <= 3  # 60 checks, 20 per request


def test_an_execution_in_progress_is_re_read_until_it_ends_even_below_newer_ones():
    fake = deployment(checks=4)
    state = SyncState(deployment="dagster.test/graphql")
    running = fake.add_check_execution(["t", "a00"], "not_empty", status="IN_PROGRESS", run_id="run-2")
    sync(fake, state)
    assert state.tables[NAME]["open"] == {running["id"]: "t/a00:not_empty"}
    for _ in range(30):  # newer executions of the same check push it past a first page
        fake.add_check_execution(["t", "a00"], "not_empty")
    running["status"] = "SUCCEEDED"
    synced = rows(sync(fake, state))
    assert synced[running["id"]]["status"] == "SUCCEEDED" and len(synced) == 31
    assert state.tables[NAME]["open"] == {}


def test_an_older_dagster_without_partitions_falls_back_once():
    fake = deployment(checks=4)

    def no_partition(variables):
        return validation_error("Cannot query field 'partition' on type 'AssetCheckExecution'.")

    fake.overrides["ConnectorCheckExecutions"] = no_partition
    fake._ConnectorCheckExecutionsUnpartitioned = fake._ConnectorCheckExecutions
    synced = rows(sync(fake, SyncState(deployment="dagster.test/graphql")))
    assert len(synced) == 4 and fake.calls["ConnectorCheckExecutions"] == 1
