"""Dagster objects -> destination rows (pure functions)."""

import json

from extractor.tables.assets import rows_of as asset_rows
from extractor.tables.runs import run_row
from extractor.tables.schedules import schedule_row
from extractor.tables.sensors import sensor_row, sensor_run_name
from extractor.transforms import asset_key_id, utc_datetime, utc_datetime_from_millis
from extractor.workspace import Repository

REPOSITORY = Repository("analytics", "__repository__")


def iso(moment):
    return moment.isoformat()


def test_timestamps_are_aware_utc_datetimes():
    assert iso(utc_datetime(0)) == "1970-01-01T00:00:00+00:00"
    assert iso(utc_datetime(1718000000.25)) == "2024-06-10T06:13:20.250000+00:00"
    assert utc_datetime(None) is None
    assert iso(utc_datetime_from_millis("1718000000250")) == "2024-06-10T06:13:20.250000+00:00"
    assert utc_datetime_from_millis(None) is None
    assert utc_datetime_from_millis("") is None


def test_run_row_keeps_the_creation_time_and_turns_tags_into_an_object():
    run = {
        "runId": "r1",
        "pipelineName": "daily",
        "status": "SUCCESS",
        "mode": "default",
        "creationTime": 9.5,
        "startTime": 10.0,
        "endTime": None,
        "updateTime": 12.5,
        "tags": [{"key": "team", "value": "data"}, {"key": "dagster/sensor_name", "value": "s"}],
        "repositoryOrigin": {"repositoryLocationName": "analytics", "repositoryName": "__repository__"},
        "rootRunId": "r0",
        "parentRunId": "r0",
    }
    row = run_row(run)
    assert iso(row.pop("creation_time")) == "1970-01-01T00:00:09.500000+00:00"
    assert iso(row.pop("start_time")) == "1970-01-01T00:00:10+00:00"
    assert iso(row.pop("update_time")) == "1970-01-01T00:00:12.500000+00:00"
    assert row == {
        "run_id": "r1",
        "pipeline_name": "daily",
        "code_location": "analytics",
        "repository": "__repository__",
        "parent_run_id": "r0",
        "root_run_id": "r0",
        "status": "SUCCESS",
        "mode": "default",
        "end_time": None,
        "tags": {"team": "data", "dagster/sensor_name": "s"},
    }
    bare = run_row({"runId": "q", "creationTime": 1.0, "tags": None, "repositoryOrigin": None})
    assert bare["tags"] == {}
    assert (bare["code_location"], bare["repository"], bare["parent_run_id"], bare["root_run_id"]) == (None,) * 4


def asset_row(node, latest):
    return asset_rows({**node, "assetMaterializations": [latest] if latest else []})[0]


def asset(path, description="Orders", location="analytics"):
    return {
        "key": {"path": path},
        "definition": {
            "isAutoCreatedStub": False,
            "description": description,
            "repository": {"name": "__repository__", "location": {"name": location}},
        },
    }


def test_an_asset_id_is_its_key_in_dagsters_string_form():
    node = asset(["warehouse", "raw", "orders"])
    row = asset_row(node, {"runId": "r9", "timestamp": "1000"})
    assert row["id"] == "warehouse/raw/orders" == asset_key_id(["warehouse", "raw", "orders"])
    assert row["key_path"] == "warehouse.raw.orders"
    assert row["description"] == "Orders"
    assert (row["code_location"], row["repository"]) == ("analytics", "__repository__")
    assert row["last_materialization_run_id"] == "r9"
    assert iso(row["last_materialization_time"]) == "1970-01-01T00:00:01+00:00"


def test_an_asset_never_materialized_has_no_materialization():
    row = asset_row(asset(["a"]), None)
    assert row["id"] == "a"
    assert row["last_materialization_run_id"] is None and row["last_materialization_time"] is None


def test_a_runless_materialization_has_no_run_id():
    row = asset_row(asset(["a", "b"]), {"runId": "", "timestamp": "1718000000250"})
    assert row["last_materialization_run_id"] is None
    assert iso(row["last_materialization_time"]) == "2024-06-10T06:13:20.250000+00:00"


def test_a_schedule_row_is_keyed_by_its_selector_id():
    schedule = {
        "name": "nightly",
        "cronSchedule": "0 0 * * *",
        "pipelineName": "job",
        "scheduleState": {"selectorId": "5f1e0c9a", "status": "RUNNING", "runningCount": 1},
    }
    row = schedule_row(schedule, REPOSITORY)
    assert row == {
        "id": "5f1e0c9a",
        "name": "nightly",
        "code_location": "analytics",
        "repository": "__repository__",
        "cron_schedule": "0 0 * * *",
        "pipeline_name": "job",
        "status": "RUNNING",
        "running_count": 1,
    }


def test_a_sensor_row_is_keyed_by_its_selector_id_with_its_jobs_and_active_runs():
    sensor = {
        "name": "watch",
        "sensorType": "STANDARD",
        "targets": [{"pipelineName": "a"}, {"pipelineName": "b"}],
        "sensorState": {"selectorId": "9d2b77e1", "status": "STOPPED"},
    }
    row = sensor_row(sensor, REPOSITORY, ["r2", "r1"])
    assert row["id"] == "9d2b77e1"
    assert (row["name"], row["code_location"], row["repository"]) == ("watch", "analytics", "__repository__")
    assert row["pipeline_name"] == "a, b"
    assert row["status"] == "STOPPED" and row["sensor_type"] == "STANDARD"
    assert json.loads(row["active_run_ids"]) == ["r1", "r2"]
    untargeted = sensor_row({**sensor, "targets": None, "sensorType": None}, REPOSITORY, [])
    assert untargeted["pipeline_name"] is None and untargeted["sensor_type"] is None
    assert json.loads(untargeted["active_run_ids"]) == []


def test_sensor_run_name_reads_the_launch_tag():
    run = {"runId": "r", "tags": [{"key": "dagster/sensor_name", "value": "watch"}]}
    assert sensor_run_name(run) == "watch"
    assert sensor_run_name({"runId": "r", "tags": [{"key": "team", "value": "x"}]}) is None
    assert sensor_run_name({"runId": "r", "tags": None}) is None
