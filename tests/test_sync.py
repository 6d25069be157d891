"""The orchestration: the event stream, deletions, failure isolation, cancellation."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from aioresponses import aioresponses

from extractor.channel import Channel
from extractor.config import parse_configuration
from extractor.errors import EndpointError, ServerFailure
from extractor.events import Checkpoint, Deletes, Rows
from extractor.state import SyncState
from extractor.sync import CheckpointPacer, extract
from extractor.tables import TABLES
from tests.fake_dagster import (
    ENDPOINT,
    FakeAsset,
    FakeDagster,
    FakeLocation,
    FakeRepository,
    fast_retries,
    html_page,
    job,
    make_run,
    python_error,
    resolver_error,
    schedule,
    selector_id,
    sensor,
    unknown_field,
)

LOAD_ERROR = "ModuleNotFoundError: No module named 'pandas'"
DEPLOYMENT = "dagster.test/graphql"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def settings(**tuning):
    return parse_configuration({"base_url": ENDPOINT, "requests_per_second": "2000", **tuning})


def run_extraction(fake: FakeDagster, state: SyncState, **tuning) -> list:
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(settings(**tuning), state))


def fresh() -> SyncState:
    return SyncState(deployment=DEPLOYMENT)


def rows_of(events: list, table: str) -> list[dict]:
    return [row for event in events if isinstance(event, Rows) and event.table == table for row in event.rows]


def deletes_of(events: list, table: str) -> list[dict]:
    return [key for event in events if isinstance(event, Deletes) and event.table == table for key in event.keys]


def two_locations() -> list[FakeLocation]:
    """loc_a and loc_b, each with schedules, sensors, a job and assets (customers depends on
    orders)."""
    return [
        FakeLocation(
            name,
            [
                FakeRepository(
                    "repo",
                    schedules=[schedule(f"nightly_{name}"), schedule(f"hourly_{name}", "STOPPED")],
                    sensors=[sensor(f"watch_{name}")],
                    assets=[
                        FakeAsset([name, "orders"], "Orders", latest=("run-00001", "1700000600250")),
                        FakeAsset([name, "customers"], deps=[[name, "orders"]]),
                    ],
                    jobs=[job(f"daily_{name}")],
                )
            ],
        )
        for name in ("loc_a", "loc_b")
    ]


# --- the event stream ------------------------------------------------------------------------


def test_every_run_page_is_followed_by_its_checkpoint_and_the_stream_ends_with_one(monkeypatch):
    monkeypatch.setattr("extractor.sync.CHECKPOINT_INTERVAL_SECONDS", 0.0)  # each is due at once
    fake = FakeDagster([make_run(i) for i in range(25)], two_locations())
    events = run_extraction(fake, fresh(), page_size="10")
    run_pages = [i for i, event in enumerate(events) if isinstance(event, Rows) and event.table == "dagster_runs"]
    assert len(run_pages) == 3
    # Each run page is committed by a checkpoint before the next run page (other tables' events
    # may come in between: every table runs concurrently).
    for index, following in zip(run_pages, [*run_pages[1:], len(events)]):
        assert any(isinstance(event, Checkpoint) for event in events[index + 1 : following])
    final = events[-1]
    assert isinstance(final, Checkpoint)
    assert final.state["version"] == 2 and final.state["deployment"] == DEPLOYMENT
    assert final.state["runs"]["sync"] is None and final.state["runs"]["updated_until"] is not None
    assert sorted(row["run_id"] for row in rows_of(events, "dagster_runs")) == [f"run-{i:05d}" for i in range(25)]
    assert len(rows_of(events, "dagster_schedules")) == 4
    assert len(rows_of(events, "dagster_sensors")) == 2
    assets = {row["id"]: row for row in rows_of(events, "dagster_assets")}
    assert sorted(assets) == ["loc_a/customers", "loc_a/orders", "loc_b/customers", "loc_b/orders"]
    assert assets["loc_a/orders"]["last_materialization_run_id"] == "run-00001"
    assert assets["loc_a/customers"]["last_materialization_time"] is None
    assert {location: sorted(keys) for location, keys in final.state["snapshots"]["dagster_schedules"].items()} == {
        name: sorted([selector_id(name, "repo", f"nightly_{name}"), selector_id(name, "repo", f"hourly_{name}")])
        for name in ("loc_a", "loc_b")
    }
    assert not any(isinstance(event, Deletes) for event in events)


def test_a_first_sync_with_a_clamped_limit_loads_every_run_and_every_active_run():
    runs = [
        make_run(i, "STARTED" if i % 4 == 0 else "SUCCESS", {"dagster/sensor_name": "watch_loc_a"})
        for i in range(60)
    ]
    fake = FakeDagster(runs, two_locations(), max_limit=7)
    events = run_extraction(fake, fresh(), page_size="10")
    assert len({row["run_id"] for row in rows_of(events, "dagster_runs")}) == 60
    [watch] = [row for row in rows_of(events, "dagster_sensors") if row["name"] == "watch_loc_a"]
    assert json.loads(watch["active_run_ids"]) == [f"run-{i:05d}" for i in range(0, 60, 4)]


def test_active_runs_are_mapped_to_sensors_even_when_names_repeat_across_repositories():
    in_progress = {"dagster/sensor_name": "shared", ".dagster/repository": "repo@loc_b"}
    fake = FakeDagster(
        [
            make_run(0, "SUCCESS", {"dagster/sensor_name": "unique"}),
            make_run(1, "STARTED", {"dagster/sensor_name": "unique"}),
            make_run(2, "QUEUED", in_progress),
        ],
        two_locations(),
    )
    fake.location("loc_a").repositories[0].sensors = [sensor("unique"), sensor("shared")]
    fake.location("loc_b").repositories[0].sensors = [sensor("shared")]
    events = run_extraction(fake, fresh())
    active = {}
    for row in rows_of(events, "dagster_sensors"):
        active[(row["code_location"], row["name"])] = json.loads(row["active_run_ids"])
    assert active == {
        ("loc_a", "unique"): ["run-00001"],
        ("loc_a", "shared"): [],
        ("loc_b", "shared"): ["run-00002"],
    }
    ids = {row["id"] for row in rows_of(events, "dagster_sensors")}
    assert len(ids) == 3, "the same sensor name in two repositories is two rows"


def test_an_older_schema_falls_back_once_and_still_syncs_sensors(capsys):
    fake = FakeDagster([make_run(i) for i in range(3)], two_locations())
    fake.overrides["ConnectorSensors"] = unknown_field("sensorType", "Sensor")
    events = run_extraction(fake, fresh())
    sensors = rows_of(events, "dagster_sensors")
    assert sorted(row["name"] for row in sensors) == ["watch_loc_a", "watch_loc_b"]
    assert all(row["sensor_type"] is None for row in sensors)
    assert fake.calls["ConnectorSensors"] == 1 and fake.calls["ConnectorSensorsUntyped"] == 1
    assert capsys.readouterr().out.count("can't run ConnectorSensors ") == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_checkpoint_is_taken_at_once_when_update_is_idle():
    pacer = CheckpointPacer(Clock())
    assert pacer.due(idle=True) is None  # none held
    pacer.hold(first := Checkpoint({"page": 1}))
    assert pacer.due(idle=True) is first
    assert pacer.due(idle=True) is None  # taken once


def test_while_rows_wait_only_the_newest_checkpoint_is_taken_once_the_interval_passed(monkeypatch):
    monkeypatch.setattr("extractor.sync.CHECKPOINT_INTERVAL_SECONDS", 2.0)
    clock = Clock()
    pacer = CheckpointPacer(clock)
    for page in range(1, 4):
        pacer.handed(Rows("dagster_runs", [{}] * 100))
        pacer.hold(Checkpoint({"page": page}))
        clock.now += 0.5
        assert pacer.due(idle=False) is None
    clock.now += 0.5  # 2 s since the pacer started
    assert pacer.due(idle=False).state == {"page": 3}
    pacer.hold(Checkpoint({"page": 4}))
    clock.now += 1.9
    assert pacer.due(idle=False) is None  # 1.9 s since the last taken
    assert pacer.take().state == {"page": 4}  # the end takes what is held
    assert pacer.take() is None


def test_a_checkpoint_is_due_once_enough_rows_were_handed_on_whatever_the_time(monkeypatch):
    monkeypatch.setattr("extractor.sync.CHECKPOINT_ROWS", 250)
    pacer = CheckpointPacer(Clock())
    pacer.handed(Rows("dagster_runs", [{}] * 200))
    pacer.hold(Checkpoint({"page": 1}))
    assert pacer.due(idle=False) is None
    pacer.handed(Deletes("dagster_assets", [{"id": "a"}] * 50))
    assert pacer.due(idle=False).state == {"page": 1}


def test_a_slow_destination_takes_fewer_checkpoints_and_still_ends_with_the_last(monkeypatch):
    monkeypatch.setattr("extractor.sync.CHECKPOINT_INTERVAL_SECONDS", 3600.0)
    fake = FakeDagster([make_run(i) for i in range(60)], two_locations())
    state = fresh()
    events = []
    with aioresponses() as mocked:
        fake.install(mocked)
        first_page = None
        for event in extract(settings(page_size="10"), state):
            events.append(event)
            if first_page is None and isinstance(event, Rows) and event.table == "dagster_runs":
                first_page = len(events)
                # This page takes long to write: everything else is extracted meanwhile, and
                # waits in the channel (the worker ends once its last word is in it).
                wait_until(lambda: not any(t.name == "dagster-extractor" for t in threading.enumerate()))
    assert len(rows_of(events, "dagster_runs")) == 60
    assert len([event for event in events[first_page:] if isinstance(event, Rows) and event.table == "dagster_runs"]) == 5
    later = [event for event in events[first_page:] if isinstance(event, Checkpoint)]
    assert later == [events[-1]]  # the five later pages' checkpoints: only the newest is taken
    assert events[-1].state == state.to_dict() and events[-1].state["runs"]["sync"] is None


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_an_incremental_sync_sends_no_count_and_only_what_changed():
    fake = FakeDagster([make_run(i) for i in range(30)], two_locations())
    state = fresh()
    run_extraction(fake, state, page_size="10")
    fake.runs += [make_run(i) for i in range(30, 33)]
    fake.calls.clear()
    events = run_extraction(fake, state, page_size="10")
    assert fake.calls["ConnectorRunsCount"] == 0
    run_ids = sorted(row["run_id"] for row in rows_of(events, "dagster_runs"))
    assert {"run-00030", "run-00031", "run-00032"} <= set(run_ids) and len(run_ids) < 10
    assert events[-1].state["runs"]["created_until"] == fake.run("run-00032")["creationTime"]


def test_an_unreachable_or_foreign_endpoint_fails_before_any_event():
    fake = FakeDagster()
    fake.overrides["ConnectorServerInfo"] = lambda variables: html_page("Sign in")
    seen = []
    with aioresponses() as mocked:
        fake.install(mocked)
        with pytest.raises(EndpointError, match="HTML"):
            for event in extract(settings(), fresh()):
                seen.append(event)
    assert seen == []
    assert fake.calls["ConnectorWorkspace"] == 0 and fake.calls["ConnectorRunsPage"] == 0


# --- code locations that failed to load, and deletions ------------------------------------------


def test_a_location_that_failed_to_load_is_neither_emitted_nor_deleted(capsys):
    fake = FakeDagster([make_run(i) for i in range(3)], two_locations())
    state = fresh()
    first = run_extraction(fake, state)
    assert {row["code_location"] for row in rows_of(first, "dagster_schedules")} == {"loc_a", "loc_b"}
    snapshots_before = first[-1].state["snapshots"]
    capsys.readouterr()

    fake.location("loc_b").error = LOAD_ERROR
    events = run_extraction(fake, state)

    for table in ("dagster_schedules", "dagster_sensors", "dagster_assets"):
        assert rows_of(events, table) == [], table  # loc_a's rows are unchanged: not sent again
        assert deletes_of(events, table) == [], table
        for location in ("loc_a", "loc_b"):  # loc_a listed again in full, loc_b left as it was
            assert events[-1].state["snapshots"][table][location] == snapshots_before[table][location]
    warnings = [line for line in capsys.readouterr().out.splitlines() if "loc_b" in line]
    assert any("No module named 'pandas'" in line and "WARNING" in line for line in warnings)


def test_a_location_still_loading_is_left_as_last_synced(capsys):
    fake = FakeDagster([make_run(0)], two_locations())
    state = fresh()
    run_extraction(fake, state)
    fake.location("loc_b").loading = True
    events = run_extraction(fake, state)
    assert not any(isinstance(event, Deletes) for event in events)
    assert rows_of(events, "dagster_sensors") == []  # loc_a's are unchanged, loc_b's left as they were
    assert set(events[-1].state["snapshots"]["dagster_sensors"]) == {"loc_a", "loc_b"}
    assert "'loc_b' is loading" in capsys.readouterr().out


def test_definitions_gone_from_a_loaded_location_are_deleted_by_id():
    fake = FakeDagster([make_run(0)], two_locations())
    state = fresh()
    run_extraction(fake, state)
    repository = fake.location("loc_a").repositories[0]
    repository.schedules = [item for item in repository.schedules if item["name"] != "hourly_loc_a"]
    repository.sensors = []
    repository.assets = [asset for asset in repository.assets if asset.path != ["loc_a", "customers"]]

    events = run_extraction(fake, state)
    assert deletes_of(events, "dagster_schedules") == [{"id": selector_id("loc_a", "repo", "hourly_loc_a")}]
    assert deletes_of(events, "dagster_sensors") == [{"id": selector_id("loc_a", "repo", "watch_loc_a")}]
    assert deletes_of(events, "dagster_assets") == [{"id": "loc_a/customers"}]
    last_delete = max(i for i, event in enumerate(events) if isinstance(event, Deletes))
    assert any(isinstance(event, Checkpoint) for event in events[last_delete:])
    assert selector_id("loc_a", "repo", "hourly_loc_a") not in events[-1].state["snapshots"]["dagster_schedules"]["loc_a"]


def test_a_location_removed_from_the_workspace_has_its_definitions_deleted():
    fake = FakeDagster([make_run(0)], two_locations())
    state = fresh()
    run_extraction(fake, state)
    fake.locations = [fake.location("loc_a")]
    events = run_extraction(fake, state)
    assert sorted(key["id"] for key in deletes_of(events, "dagster_assets")) == ["loc_b/customers", "loc_b/orders"]
    assert len(deletes_of(events, "dagster_schedules")) == 2
    assert "loc_b" not in events[-1].state["snapshots"]["dagster_schedules"]


def test_an_empty_workspace_deletes_nothing(capsys):
    """A workspace listing no location at all (as during a redeploy) is not taken as 'every
    definition is gone'."""
    fake = FakeDagster([make_run(0)], two_locations())
    state = fresh()
    run_extraction(fake, state)
    fake.locations = []
    events = run_extraction(fake, state)
    for table in ("dagster_schedules", "dagster_sensors", "dagster_assets"):
        assert deletes_of(events, table) == []
        assert set(events[-1].state["snapshots"][table]) == {"loc_a", "loc_b"}
    assert "lists no code location" in capsys.readouterr().out


def test_an_asset_that_moved_to_another_location_is_not_deleted():
    fake = FakeDagster([make_run(0)], two_locations())
    state = fresh()
    run_extraction(fake, state)
    moved = fake.location("loc_a").repositories[0].assets.pop()
    fake.location("loc_b").repositories[0].assets.append(moved)
    events = run_extraction(fake, state)
    assert deletes_of(events, "dagster_assets") == []
    [row] = [row for row in rows_of(events, "dagster_assets") if row["id"] == "/".join(moved.path)]
    assert row["code_location"] == "loc_b"


def test_a_failing_workspace_listing_skips_the_definitions_and_deletes_nothing(capsys):
    fake = FakeDagster([make_run(i) for i in range(3)], two_locations())
    state = fresh()
    run_extraction(fake, state)
    fake.overrides["ConnectorWorkspace"] = lambda variables: python_error(
        "workspaceOrError", "dagster._core.errors.DagsterUserCodeUnreachableError: gone"
    )
    events = run_extraction(fake, state)
    assert len(rows_of(events, "dagster_runs")) >= 1
    for table in ("dagster_schedules", "dagster_sensors", "dagster_assets"):
        assert rows_of(events, table) == [] and deletes_of(events, table) == []
        assert set(events[-1].state["snapshots"][table]) == {"loc_a", "loc_b"}
    output = capsys.readouterr().out
    assert output.count("DagsterUserCodeUnreachableError") >= 3  # one warning per resource


def test_a_location_that_breaks_during_the_sync_keeps_its_assets():
    """Regression (race): a location that broke after the workspace was listed but before
    assetsOrError answered counted as listed in full, and all its assets were deleted."""
    fake = FakeDagster([make_run(0)], two_locations())
    state = fresh()
    run_extraction(fake, state)

    def workspace_then_break(variables):
        answer = fake._ConnectorWorkspace(variables)  # loc_b loaded when listed...
        fake.location("loc_b").error = LOAD_ERROR  # ...then a deploy breaks it
        return {"data": answer}

    fake.overrides["ConnectorWorkspace"] = workspace_then_break
    events = run_extraction(fake, state)
    assert deletes_of(events, "dagster_schedules") == [] and deletes_of(events, "dagster_sensors") == []
    assert deletes_of(events, "dagster_assets") == []


def test_a_failing_repository_is_skipped_and_nothing_of_it_is_deleted():
    fake = FakeDagster([make_run(i) for i in range(3)], two_locations())
    state = fresh()
    run_extraction(fake, state)

    def schedules(variables):
        if variables["repositorySelector"]["repositoryLocationName"] == "loc_a":
            return python_error("schedulesOrError", "sqlalchemy.exc.InternalError: boom")
        return None

    fake.overrides["ConnectorSchedules"] = schedules
    fake.location("loc_b").repositories[0].schedules[0]["cronSchedule"] = "0 6 * * *"
    events = run_extraction(fake, state)
    assert [row["name"] for row in rows_of(events, "dagster_schedules")] == ["nightly_loc_b"]  # the one changed
    assert deletes_of(events, "dagster_schedules") == []
    assert len(events[-1].state["snapshots"]["dagster_schedules"]["loc_a"]) == 2
    for table in ("dagster_sensors", "dagster_assets"):  # the other tables are listed in full
        assert set(events[-1].state["snapshots"][table]) == {"loc_a", "loc_b"}


def test_a_failing_asset_listing_is_skipped_without_deleting_assets():
    fake = FakeDagster([make_run(0)], two_locations())
    state = fresh()
    run_extraction(fake, state)
    fake.overrides["ConnectorAssetGraph"] = lambda variables: resolver_error(
        "dagster._check.CheckError: Invariant failed", ["assetsOrError"]
    )
    events = run_extraction(fake, state)
    assert rows_of(events, "dagster_assets") == [] and deletes_of(events, "dagster_assets") == []
    assert len(events[-1].state["snapshots"]["dagster_assets"]["loc_a"]) == 2
    assert sum(map(len, events[-1].state["snapshots"]["dagster_schedules"].values())) == 4  # listed still


# --- failures and cancellation -----------------------------------------------------------------


def test_a_failing_run_walk_still_sends_the_other_tables_then_a_checkpoint_before_raising():
    fake = FakeDagster([make_run(i) for i in range(30)], two_locations())

    def runs_page(variables):
        if variables["filter"] == {} and variables.get("cursor") == "run-00020":
            return resolver_error("KeyError: 'pipeline_snapshot_id'", ["runsOrError", "results"])
        return None

    fake.overrides["ConnectorRunsPage"] = runs_page
    seen = []
    with aioresponses() as mocked:
        fake.install(mocked)
        with pytest.raises(ServerFailure, match="pipeline_snapshot_id"):
            for event in extract(settings(page_size="10"), fresh()):
                seen.append(event)
    assert sum(1 for v in fake.calls_of("ConnectorRunsPage") if v.get("cursor") == "run-00020") == 1, "not retried"
    other_tables = [i for i, event in enumerate(seen) if isinstance(event, Rows) and event.table != "dagster_runs"]
    final = seen[-1]
    incremental = set(final.state["tables"])  # their position is in the state, not keys
    definitions = {table.name for table in TABLES} - {"dagster_runs"} - incremental
    assert incremental and not incremental & set(final.state["snapshots"])
    assert {seen[i].table for i in other_tables} == definitions - {"dagster_asset_checks"}  # none here
    assert isinstance(final, Checkpoint) and max(other_tables) < len(seen) - 1
    assert set(final.state["snapshots"]) == definitions
    [walk] = final.state["runs"]["sync"]["walks"]
    assert walk["cursor"] == "run-00020"
    assert final.state["runs"]["sync"]["rows_done"] == 10


def test_a_consumer_that_stops_early_cancels_the_worker_promptly():
    # After the first run page every request hangs, and nothing waits on the channel: only
    # cancelling the worker's task can stop it.
    fake = FakeDagster([make_run(i) for i in range(50)], two_locations())
    hanging = threading.Event()

    async def hang(variables):
        hanging.set()
        await asyncio.sleep(60)

    def runs_page(variables):
        if variables["cursor"] is not None or "statuses" in variables["filter"]:
            return hang(variables)
        return None

    fake.overrides["ConnectorWorkspace"] = hang
    fake.overrides["ConnectorRunsPage"] = runs_page
    # No backfill and no finished run to read steps of: those tables send nothing (no hanging
    # request either: it would hold one of the client's few connections).
    fake.overrides["ConnectorBackfillsPage"] = lambda variables: {
        "data": {"partitionBackfillsOrError": {"__typename": "PartitionBackfills", "results": []}}
    }
    fake.overrides["ConnectorFinishedRunsPage"] = lambda variables: {
        "data": {"runsOrError": {"__typename": "Runs", "results": []}}
    }
    with aioresponses() as mocked:
        fake.install(mocked)
        events = extract(settings(page_size="5"), fresh())
        first = next(event for event in events if isinstance(event, Rows) and event.table == "dagster_runs")
        assert first.rows
        assert hanging.wait(5)
        workers = [thread for thread in threading.enumerate() if thread.name == "dagster-extractor"]
        assert workers, "the worker runs"
        began = time.monotonic()
        events.close()
        stopped_in = time.monotonic() - began
    assert not any(thread.is_alive() for thread in workers)
    assert stopped_in < 10.0


def get_within(channel: Channel, producer: threading.Thread, seconds: float = 5.0):
    """`channel.get` in a helper thread, so that a get that never returns fails the test."""
    outcome = []

    def consume():
        try:
            outcome.append(("item", channel.get(producer_alive=producer.is_alive)))
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(("error", error))

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(seconds)
    assert outcome, f"channel.get did not return within {seconds}s"
    return outcome[0]


def test_the_consumer_sees_an_error_when_the_producer_thread_died():
    channel = Channel(2)
    producer = threading.Thread(target=lambda: None)
    producer.start()
    producer.join()
    kind, error = get_within(channel, producer)
    assert kind == "error" and isinstance(error, RuntimeError)
    assert "stopped without finishing" in str(error)


def test_items_put_before_the_producer_died_are_still_delivered():
    channel = Channel(2)
    producer = threading.Thread(target=lambda: asyncio.run(channel.put("last words")))
    producer.start()
    producer.join()
    assert get_within(channel, producer) == ("item", "last words")
    kind, error = get_within(channel, producer)
    assert kind == "error" and isinstance(error, RuntimeError)


def test_the_channel_holds_rows_up_to_its_capacity_and_a_heavier_item_alone():
    """Bounded by weight: a producer waits while what is queued weighs the capacity; a light
    item fits beside others, an item heavier than the capacity passes once the queue is empty."""
    channel = Channel(10, weight=len)
    put = []

    def produce() -> None:
        async def main() -> None:
            for item in ("aaaa", "bbbb", "cc", "d" * 25, "e"):
                await channel.put(item)
                put.append(item)

        asyncio.run(main())

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    deadline = time.monotonic() + 5
    while len(put) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the producer would have put more by now if it could
    assert put == ["aaaa", "bbbb", "cc"]  # 10 of 10: the 25-row item waits
    assert get_within(channel, producer) == ("item", "aaaa")
    time.sleep(0.3)
    assert put == ["aaaa", "bbbb", "cc"]  # 6 queued: 25 more would pass 10, so it still waits
    assert get_within(channel, producer) == ("item", "bbbb")
    assert get_within(channel, producer) == ("item", "cc")
    assert get_within(channel, producer) == ("item", "d" * 25)  # alone in an empty queue
    assert get_within(channel, producer) == ("item", "e")
    producer.join(5)
    assert put == ["aaaa", "bbbb", "cc", "d" * 25, "e"]


def test_the_extraction_weighs_an_event_by_the_bytes_of_its_rows():
    """Runs with 30 tags of 200 characters take 10 times the memory of plain ones: a channel
    counting rows held 60 MB of them where it held 6 MB of plain runs."""
    from extractor.sync import _bytes_of
    from extractor.tables.runs import run_row

    plain = Rows("dagster_runs", [run_row(make_run(i)) for i in range(100)])
    tagged_runs = [make_run(i) for i in range(100)]
    for run in tagged_runs:
        run["tags"] = [{"key": f"team/tag_{t}", "value": "x" * 200} for t in range(30)]
    tagged = Rows("dagster_runs", [run_row(run) for run in tagged_runs])
    assert 300 * 100 < _bytes_of(plain) < 2000 * 100
    assert _bytes_of(tagged) > 10 * _bytes_of(plain)
    assert _bytes_of(Checkpoint({})) == 1


def test_a_finished_worker_ends_without_an_unhandled_exception(monkeypatch):
    """Regression: extract() cancelled the worker as soon as it read _Finished/_Failed; when the
    worker had not resumed yet from putting it, the CancelledError escaped and the thread died
    with an unhandled exception (a traceback after a successful sync, ~1 sync in 15)."""
    class LateToResume(Channel):
        """The producer resumes a moment after its last item became visible, as a busy
        event loop may: the consumer has read it by then."""

        async def put(self, item):
            await super().put(item)
            if type(item).__name__ in ("_Finished", "_Failed"):
                await asyncio.sleep(0.3)

    thread_errors = []
    monkeypatch.setattr("extractor.sync.Channel", LateToResume)
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_type))
    fake = FakeDagster([make_run(i) for i in range(3)], two_locations())
    events = run_extraction(fake, fresh())
    assert isinstance(events[-1], Checkpoint)
    assert thread_errors == []
