"""The orchestration's event stream and error policy, against the scripted fake."""

import json

import pytest
from aioresponses import CallbackResult, aioresponses

from extractor.config import parse_configuration
from extractor.errors import ServerError
from extractor.state import SyncState
from extractor.sync import Checkpoint, Rows, extract
from tests.fake_dagster import ENDPOINT, FakeDagster, make_run


def settings(**tuning):
    return parse_configuration({"base_url": ENDPOINT, **tuning})


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
    assert final.state["run_walk"] is None and final.state["runs_synced_until"] is not None
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
    assert checkpoints[-1]["run_walk"]["cursor"] == "run-00020"
    assert checkpoints[-1]["run_walk"]["rows_done"] == 10
