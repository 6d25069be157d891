"""The orchestration's event stream and error policy, against the scripted fake."""

import json

import pytest
from aioresponses import CallbackResult, aioresponses

from extractor.config import parse_configuration
from extractor.errors import ServerError
from extractor.state import SyncState
from extractor.events import Checkpoint, Rows
from extractor.sync import extract
from tests.fake_dagster import ENDPOINT, FakeDagster, make_run, unknown_field


def settings(**tuning):
    return parse_configuration({"base_url": ENDPOINT, "requests_per_second": "2000", **tuning})


def run_extraction(fake: FakeDagster, state: SyncState, **tuning) -> list:
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(settings(**tuning), state))


def rows_of(events: list, table: str) -> list[dict]:
    return [row for event in events if isinstance(event, Rows) and event.table == table for row in event.rows]


def sensor(name: str) -> dict:
    return {
        "id": f"id-{name}",
        "name": name,
        "sensorType": "STANDARD",
        "targets": [{"pipelineName": "job"}],
        "sensorState": {"status": "RUNNING"},
    }


def test_every_run_page_is_followed_by_its_checkpoint_and_the_stream_ends_with_one():
    fake = FakeDagster([make_run(i) for i in range(25)])
    events = run_extraction(fake, SyncState(), page_size="10")
    run_pages = [i for i, event in enumerate(events) if isinstance(event, Rows) and event.table == "dagster_runs"]
    assert len(run_pages) == 3
    for index in run_pages:
        assert isinstance(events[index + 1], Checkpoint)
    final = events[-1]
    assert isinstance(final, Checkpoint)
    assert final.state["run_sync"] is None and final.state["runs_synced_until"] is not None
    assert len(rows_of(events, "dagster_runs")) == 25
    assert len(rows_of(events, "dagster_schedules")) == 2
    assert len(rows_of(events, "dagster_assets")) == 2


def test_active_runs_are_mapped_to_sensors_even_when_names_repeat_across_repositories():
    in_progress = {"dagster/sensor_name": "shared", ".dagster/repository": "repo@loc_b"}
    fake = FakeDagster(
        [
            make_run(0, "SUCCESS", {"dagster/sensor_name": "unique"}),
            make_run(1, "STARTED", {"dagster/sensor_name": "unique"}),
            make_run(2, "QUEUED", in_progress),
        ]
    )
    fake.sensors = {"loc_a": [sensor("unique"), sensor("shared")], "loc_b": [sensor("shared")]}
    events = run_extraction(fake, SyncState())
    active = {}
    for row in rows_of(events, "dagster_sensors"):
        active.setdefault(row["name"], []).append(json.loads(row["active_run_ids"]))
    assert active["unique"] == [["run-00001"]]
    assert sorted(active["shared"]) == [[], ["run-00002"]]


def test_a_failing_repository_is_skipped_and_the_rest_is_synced():
    fake = FakeDagster([make_run(i) for i in range(3)])

    def schedules(variables):
        if variables["repositorySelector"]["repositoryLocationName"] == "loc_a":
            return {"data": {"schedulesOrError": {"__typename": "PythonError", "message": "boom"}}}
        return {"data": fake.ConnectorSchedules(variables)}

    fake.overrides["ConnectorSchedules"] = schedules
    events = run_extraction(fake, SyncState())
    assert [row["name"] for row in rows_of(events, "dagster_schedules")] == ["nightly_loc_b"]
    assert len(rows_of(events, "dagster_runs")) == 3


def test_a_failing_run_walk_ends_the_sync_after_its_last_checkpoint(monkeypatch):
    monkeypatch.setattr("extractor.retry.MAX_RETRY_SECONDS", 0.5)
    fake = FakeDagster([make_run(i) for i in range(30)])
    pages_served = []

    def runs_page(variables):
        if pages_served and variables.get("cursor") == "run-00020":
            return CallbackResult(status=500, body="database is on fire")
        pages_served.append(variables.get("cursor"))
        return {"data": fake.ConnectorRunsPage(variables)}

    fake.overrides["ConnectorRunsPage"] = runs_page
    seen = []
    with aioresponses() as mocked:
        fake.install(mocked)
        with pytest.raises(ServerError, match="500"):
            for event in extract(settings(page_size="10"), SyncState()):
                seen.append(event)
    checkpoints = [event.state for event in seen if isinstance(event, Checkpoint)]
    [walk] = checkpoints[-1]["run_sync"]["walks"]
    assert walk["cursor"] == "run-00020"
    assert checkpoints[-1]["run_sync"]["rows_done"] == 10


def test_a_long_first_sync_is_split_into_windows_that_together_cover_every_run():
    fake = FakeDagster([make_run(i) for i in range(200)])
    events = run_extraction(fake, SyncState(), page_size="10", max_concurrency="4")
    first = next(event for event in events if isinstance(event, Checkpoint))
    assert len(first.state["run_sync"]["walks"]) > 2, "the history was split into windows"
    run_ids = [row["run_id"] for row in rows_of(events, "dagster_runs")]
    assert set(run_ids) == {f"run-{i:05d}" for i in range(200)}
    assert len(run_ids) - 200 <= len(first.state["run_sync"]["walks"])  # boundary overlaps only
    assert events[-1].state["run_sync"] is None


def test_a_first_sync_stopped_at_any_checkpoint_resumes_to_the_full_history():
    fake = FakeDagster([make_run(i) for i in range(120)])
    events = run_extraction(fake, SyncState(), page_size="10", max_concurrency="2")
    checkpoints = [i for i, event in enumerate(events) if isinstance(event, Checkpoint)]
    for stop in checkpoints[1:-2:3]:
        saved_rows = {row["run_id"] for row in rows_of(events[: stop + 1], "dagster_runs")}
        state, _ = SyncState.from_dict(events[stop].state)
        resumed = run_extraction(fake, state, page_size="10", max_concurrency="2")
        resumed_rows = {row["run_id"] for row in rows_of(resumed, "dagster_runs")}
        assert saved_rows | resumed_rows == {f"run-{i:05d}" for i in range(120)}
        assert len(resumed_rows) < 120 - len(saved_rows) + 10, "resumed, not restarted"


def test_heavy_pages_are_halved_instead_of_failing_the_sync(monkeypatch):
    monkeypatch.setattr("extractor.retry.MAX_RETRY_SECONDS", 5)
    fake = FakeDagster([make_run(i) for i in range(100)])
    limits = []

    def runs_page(variables):
        if "statuses" in variables["filter"]:  # the sensors' small query is not heavy
            return {"data": fake.ConnectorRunsPage(variables)}
        limits.append(variables["limit"])
        if variables["limit"] > 30:
            return CallbackResult(status=504, body="gateway timeout")
        return {"data": fake.ConnectorRunsPage(variables)}

    fake.overrides["ConnectorRunsPage"] = runs_page
    events = run_extraction(fake, SyncState(), page_size="100", max_concurrency="1")
    assert len({row["run_id"] for row in rows_of(events, "dagster_runs")}) == 100
    assert limits[:4] == [100, 100, 50, 50] and 25 in limits


def test_an_older_schema_falls_back_once_and_still_syncs_sensors_and_assets(capsys):
    fake = FakeDagster([make_run(i) for i in range(3)])
    fake.sensors = {"loc_a": [sensor("a")], "loc_b": [sensor("b")]}
    fake.overrides["ConnectorSensors"] = unknown_field("sensorType", "Sensor")
    fake.overrides["ConnectorAssetNodesPage"] = unknown_field("assetNodesConnection", "Repository")
    events = run_extraction(fake, SyncState())
    sensors = rows_of(events, "dagster_sensors")
    assert sorted(row["name"] for row in sensors) == ["a", "b"]
    assert all(row["sensor_type"] is None for row in sensors)
    assert len(rows_of(events, "dagster_assets")) == 2
    assert fake.calls["ConnectorSensors"] + fake.calls["ConnectorAssetNodesPage"] <= 4
    output = capsys.readouterr().out
    assert output.count("can't run ConnectorSensors ") == 1
    assert output.count("can't run ConnectorAssetNodesPage") == 1
