import json

from extractor.transforms import (
    asset_row,
    utc_datetime,
    utc_datetime_from_millis,
    run_row,
    schedule_row,
    sensor_row,
    sensor_run_name,
)


def iso(moment):
    return moment.isoformat()


def test_timestamps_are_aware_utc_datetimes():
    assert iso(utc_datetime(0)) == "1970-01-01T00:00:00+00:00"
    assert iso(utc_datetime(1718000000.25)) == "2024-06-10T06:13:20.250000+00:00"
    assert utc_datetime(None) is None
    assert iso(utc_datetime_from_millis("1718000000250")) == "2024-06-10T06:13:20.250000+00:00"
    assert utc_datetime_from_millis(None) is None


def test_run_row_turns_tags_into_an_object():
    run = {
        "runId": "r1",
        "pipelineName": "daily",
        "status": "SUCCESS",
        "mode": "default",
        "startTime": 10.0,
        "endTime": None,
        "updateTime": 12.5,
        "tags": [{"key": "team", "value": "data"}, {"key": "dagster/sensor_name", "value": "s"}],
    }
    row = run_row(run)
    assert iso(row.pop("start_time")) == "1970-01-01T00:00:10+00:00"
    assert iso(row.pop("update_time")) == "1970-01-01T00:00:12.500000+00:00"
    assert row == {
        "run_id": "r1",
        "pipeline_name": "daily",
        "status": "SUCCESS",
        "mode": "default",
        "end_time": None,
        "tags": {"team": "data", "dagster/sensor_name": "s"},
    }


def test_asset_row_dot_joins_the_key_and_takes_the_latest_materialization():
    node = {
        "id": "loc.repo.warehouse/raw/orders",
        "assetKey": {"path": ["warehouse", "raw", "orders"]},
        "description": "Orders",
        "assetMaterializations": [{"runId": "r9", "timestamp": "1000"}],
    }
    row = asset_row(node)
    assert row["key_path"] == "warehouse.raw.orders"
    assert row["last_materialization_run_id"] == "r9"
    assert iso(row["last_materialization_time"]) == "1970-01-01T00:00:01+00:00"
    never = asset_row({**node, "assetMaterializations": []})
    assert never["last_materialization_run_id"] is None
    assert never["last_materialization_time"] is None


def test_schedule_and_sensor_rows():
    schedule = {
        "id": "s1",
        "name": "nightly",
        "cronSchedule": "0 0 * * *",
        "pipelineName": "job",
        "scheduleState": {"status": "RUNNING", "runningCount": 1},
    }
    assert schedule_row(schedule)["status"] == "RUNNING"
    assert schedule_row(schedule)["running_count"] == 1
    sensor = {
        "id": "x1",
        "name": "watch",
        "sensorType": "STANDARD",
        "targets": [{"pipelineName": "a"}, {"pipelineName": "b"}],
        "sensorState": {"status": "STOPPED"},
    }
    row = sensor_row(sensor, ["r2", "r1"])
    assert row["pipeline_name"] == "a, b"
    assert json.loads(row["active_run_ids"]) == ["r1", "r2"]
    assert sensor_row({**sensor, "targets": None}, [])["pipeline_name"] is None


def test_sensor_run_name_reads_the_launch_tag():
    run = {"runId": "r", "tags": [{"key": "dagster/sensor_name", "value": "watch"}]}
    assert sensor_run_name(run) == "watch"
    assert sensor_run_name({"runId": "r", "tags": [{"key": "team", "value": "x"}]}) is None
