"""`dagster_ticks`: every schedule and sensor tick, from one batched request per repository and
kind, walks by `beforeTimestamp` where the batch does not reach the watermark, and re-reads of
ticks last seen STARTED; against a fake that answers as Dagster 1.13 (limit clamped to 1000,
strict bounds, newest first, pages cut wherever they fall among equal timestamps)."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from extractor.config import parse_configuration
from extractor.events import Checkpoint, Deletes, Rows
from extractor.state import SyncState
from extractor.sync import extract
from extractor.tables.ticks import BATCH_TICKS, NAME, TickSync, plan_batch
from extractor.tick_state import MAX_OPEN_TICKS, InstigatorPosition, TickWalk
from extractor.tick_walk import OVERLAP_SECONDS
from extractor.transforms import utc_datetime
from tests.fake_dagster import (
    BASE_TIME,
    ENDPOINT,
    FakeDagster,
    FakeLocation,
    FakeRepository,
    fast_retries,
    make_run,
    python_error,
    schedule,
    selector_id,
    sensor,
)

DEPLOYMENT = "dagster.test/graphql"
SPACING = 30.0


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def deployment() -> FakeDagster:
    """loc_a and loc_b, each with a schedule `nightly_<loc>` and a sensor `watch_<loc>`."""
    def repository(name: str) -> FakeRepository:
        return FakeRepository("repo", schedules=[schedule(f"nightly_{name}")], sensors=[sensor(f"watch_{name}")])

    locations = [FakeLocation(name, [repository(name)]) for name in ("loc_a", "loc_b")]
    return FakeDagster([make_run(0)], locations)


def run_sync(fake: FakeDagster, state: SyncState) -> list:
    with aioresponses() as mocked:
        fake.install(mocked)
        return list(extract(parse_configuration({"base_url": ENDPOINT, "requests_per_second": "5000"}), state))


def fresh() -> SyncState:
    return SyncState(deployment=DEPLOYMENT)


def rows_of(events: list) -> list[dict]:
    return [row for event in events if isinstance(event, Rows) and event.table == NAME for row in event.rows]


def by_id(events: list) -> dict[str, dict]:
    return {row["id"]: row for row in rows_of(events)}  # the last sent wins, as upserts do


def add_ticks(fake: FakeDagster, name: str, count: int, start: float = BASE_TIME, status: str = "SKIPPED",
              location: str = "loc_a") -> list[dict]:  # fmt: skip
    return [fake.add_tick(location, "repo", name, start + i * SPACING, status) for i in range(count)]


def forget_requests(fake: FakeDagster) -> None:
    fake.calls.clear()
    fake.requests.clear()


def tick_ids(ticks: list[dict]) -> set[str]:
    return {tick["tickId"] for tick in ticks}


def position(state: SyncState, name: str, location: str = "loc_a") -> dict:
    kind = "sensors" if name.startswith("watch") else "schedules"
    return state.tables[NAME]["instigators"][location]["repo"][kind][selector_id(location, "repo", name)]


# --- rows --------------------------------------------------------------------------------------


def test_a_tick_row_has_the_contract_columns():
    fake = deployment()
    fake.add_tick("loc_a", "repo", "watch_loc_a", BASE_TIME, "SUCCESS", runIds=["run-1", "run-2"], runKeys=["k1", "k2"])
    failed = fake.add_tick("loc_a", "repo", "nightly_loc_a", BASE_TIME + 60, "FAILURE",
                           error={"message": "dagster._core.errors.ScheduleExecutionError: boom\n"})  # fmt: skip
    rows = by_id(run_sync(fake, fresh()))
    assert rows["1"] == {
        "id": "1",
        "instigator_id": selector_id("loc_a", "repo", "watch_loc_a"),
        "instigator_name": "watch_loc_a",
        "instigator_type": "SENSOR",
        "code_location": "loc_a",
        "repository": "repo",
        "status": "SUCCESS",
        "timestamp": utc_datetime(BASE_TIME),
        "end_time": utc_datetime(BASE_TIME + 1.0),
        "run_ids": ["run-1", "run-2"],
        "run_keys": ["k1", "k2"],
        "skip_reason": None,
        "error_message": None,
    }
    row = rows[failed["tickId"]]
    assert row["instigator_type"] == "SCHEDULE" and row["status"] == "FAILURE"
    assert row["error_message"] == "dagster._core.errors.ScheduleExecutionError: boom\n"
    assert row["run_ids"] == [] and row["run_keys"] == []


# --- first sync --------------------------------------------------------------------------------


@pytest.mark.parametrize("clamp", [1000, 400])
def test_a_first_sync_of_thousands_of_ticks_in_clamped_pages_loses_nothing(clamp):
    fake = deployment()
    fake.tick_limit = clamp  # the connector asks for 1000: a server clamping lower is silent
    ticks = add_ticks(fake, "watch_loc_a", 2500)
    others = add_ticks(fake, "nightly_loc_b", 30, location="loc_b", status="SUCCESS")
    state = fresh()
    events = run_sync(fake, state)
    assert set(by_id(events)) == tick_ids(ticks) | tick_ids(others)
    walks = fake.calls_of("ConnectorInstigatorTicks")
    assert all(call["limit"] == 1000 for call in walks)
    pages = [call for call in walks if call["selector"]["name"] == "watch_loc_a"]
    # Each page repeats the oldest tick of the one before (the overlap); the walk ends with a
    # page holding that tick alone (then strictly below it), then an empty page: no more.
    assert len(pages) == -(-(2500 - BATCH_TICKS) // (clamp - 1)) + 2
    assert position(state, "watch_loc_a") == {"watermark": ticks[-1]["timestamp"], "max_id": int(ticks[-1]["tickId"])}
    assert position(state, "watch_loc_b", "loc_b") == {}  # walked, no tick yet


def test_a_long_walk_remembers_only_the_open_ticks_it_read(monkeypatch):
    """What a walk has read is kept only for the ticks that may need reading again (memory
    stays flat in the history); the open ticks it read are not read again."""
    fake = deployment()
    ticks = add_ticks(fake, "watch_loc_a", 2500)
    opened = [ticks[i] for i in (100, 400, 700, 1000, 1300, 2300)]  # all below the batch
    for tick in opened:
        tick["status"] = "STARTED"
    state = fresh()
    run_sync(fake, state)
    assert len(position(state, "watch_loc_a")["open"]) == len(opened)
    ticks.extend(add_ticks(fake, "watch_loc_a", 1500, start=BASE_TIME + 2500 * SPACING))
    sizes = []
    original = TickSync._reread_open

    async def spy(self, instigator, position, seen):
        sizes.append(len(seen))
        await original(self, instigator, position, seen)

    monkeypatch.setattr(TickSync, "_reread_open", spy)
    forget_requests(fake)
    rows = by_id(run_sync(fake, state))
    assert set(rows) == tick_ids(ticks[2500 - 1 :]) | tick_ids(opened)  # the gap, and the open ticks
    assert max(sizes) <= BATCH_TICKS + MAX_OPEN_TICKS
    rereads = [call for call in fake.calls_of("ConnectorInstigatorTicks") if call["after"] is not None]
    # The walk's last page (1,000 ticks down from 2,980) holds tick 2,300: it is not read again.
    assert sorted(call["before"] for call in rereads) == [
        tick["timestamp"] + OVERLAP_SECONDS for tick in opened[:-1]
    ]


def test_ticks_sharing_a_timestamp_across_page_boundaries_are_all_synced():
    fake = deployment()
    # 1,500 ticks, 7 per timestamp: the batch's cut (20) and every page's cut fall inside groups.
    ticks = [fake.add_tick("loc_a", "repo", "watch_loc_a", BASE_TIME + (i // 7) * SPACING, "SKIPPED") for i in range(1500)]
    events = run_sync(fake, fresh())
    assert set(by_id(events)) == tick_ids(ticks)


def test_a_page_full_of_one_timestamp_still_makes_progress(capsys):
    fake = deployment()
    fake.tick_limit = 50
    crowded = [fake.add_tick("loc_a", "repo", "watch_loc_a", BASE_TIME + 600, "SKIPPED") for _ in range(120)]
    older = add_ticks(fake, "watch_loc_a", 10)  # at BASE_TIME + 0..270
    events = run_sync(fake, fresh())
    synced = set(by_id(events))
    assert tick_ids(older) <= synced  # the walk went on below the crowded timestamp
    assert len(synced & tick_ids(crowded)) >= 50
    assert "ticks within 0.001s" in capsys.readouterr().out


# --- incremental syncs -------------------------------------------------------------------------


def test_nothing_new_costs_one_request_per_kind_and_sends_only_the_latest():
    fake = deployment()
    latest = {}
    for location in ("loc_a", "loc_b"):
        for name in (f"watch_{location}", f"nightly_{location}"):
            latest[name] = add_ticks(fake, name, 300, location=location, status="SUCCESS")[-1]
    state = fresh()
    run_sync(fake, state)
    forget_requests(fake)
    events = run_sync(fake, state)
    assert fake.calls["ConnectorScheduleTicks"] == 1 and fake.calls["ConnectorSensorTicks"] == 1
    assert len(fake.calls_of("ConnectorScheduleTicks")) == 2  # both repositories, under aliases
    assert fake.calls["ConnectorInstigatorTicks"] == 0
    assert sorted(row["id"] for row in rows_of(events)) == sorted(tick["tickId"] for tick in latest.values())


def test_new_ticks_beyond_the_batch_are_read_down_to_the_watermark():
    fake = deployment()
    old = add_ticks(fake, "watch_loc_a", 100)
    state = fresh()
    run_sync(fake, state)
    new = add_ticks(fake, "watch_loc_a", 1500, start=BASE_TIME + 100 * SPACING)
    forget_requests(fake)
    events = run_sync(fake, state)
    assert set(by_id(events)) == tick_ids(new) | {old[-1]["tickId"]}  # and the latest synced
    walks = fake.calls_of("ConnectorInstigatorTicks")
    assert len(walks) == 2 and all(call["selector"]["name"] == "watch_loc_a" for call in walks)
    assert walks[0]["before"] == new[-BATCH_TICKS]["timestamp"] + OVERLAP_SECONDS
    assert position(state, "watch_loc_a")["watermark"] == new[-1]["timestamp"]
    assert "walks" not in position(state, "watch_loc_a")


def test_a_tick_made_late_with_an_older_timestamp_is_synced():
    """A tick stored after the last sync (a larger tickId) whose timestamp is below the
    watermark (a clock behind): its id says it is new."""
    fake = deployment()
    add_ticks(fake, "watch_loc_a", 10)
    state = fresh()
    run_sync(fake, state)
    late = fake.add_tick("loc_a", "repo", "watch_loc_a", BASE_TIME + 8.5 * SPACING, "SUCCESS")
    rows = by_id(run_sync(fake, state))
    assert late["tickId"] in rows and len(rows) == 2


def test_a_started_tick_is_read_again_until_it_ends_even_below_the_batch():
    fake = deployment()
    started = fake.add_tick("loc_a", "repo", "watch_loc_a", BASE_TIME, "STARTED")
    state = fresh()
    assert by_id(run_sync(fake, state))[started["tickId"]]["status"] == "STARTED"
    assert position(state, "watch_loc_a")["open"] == {started["tickId"]: BASE_TIME}

    add_ticks(fake, "watch_loc_a", 30, start=BASE_TIME + SPACING)  # the batch no longer holds it
    rows = by_id(run_sync(fake, state))
    assert rows[started["tickId"]]["status"] == "STARTED"  # read by the walk down to the watermark

    add_ticks(fake, "watch_loc_a", 3, start=BASE_TIME + 31 * SPACING)
    started.update(status="SUCCESS", endTimestamp=BASE_TIME + 500, runIds=["run-9"])
    forget_requests(fake)
    rows = by_id(run_sync(fake, state))
    assert rows[started["tickId"]]["status"] == "SUCCESS" and rows[started["tickId"]]["run_ids"] == ["run-9"]
    [reread] = fake.calls_of("ConnectorInstigatorTicks")  # no walk: the batch reached the watermark
    assert reread["after"] < BASE_TIME < reread["before"]
    assert "open" not in position(state, "watch_loc_a")

    forget_requests(fake)
    rows = by_id(run_sync(fake, state))
    assert started["tickId"] not in rows and fake.calls["ConnectorInstigatorTicks"] == 0


def test_a_started_tick_that_was_purged_is_no_longer_tracked():
    fake = deployment()
    started = fake.add_tick("loc_a", "repo", "watch_loc_a", BASE_TIME, "STARTED")
    add_ticks(fake, "watch_loc_a", 25, start=BASE_TIME + SPACING)
    state = fresh()
    run_sync(fake, state)
    assert started["tickId"] in position(state, "watch_loc_a")["open"]
    fake.delete_tick(started["tickId"])
    run_sync(fake, state)
    assert "open" not in position(state, "watch_loc_a")


def test_a_schedule_tick_retried_in_place_is_updated():
    fake = deployment()
    add_ticks(fake, "nightly_loc_a", 5, status="SUCCESS")
    tick = fake.add_tick("loc_a", "repo", "nightly_loc_a", BASE_TIME + 3600, "FAILURE", error={"message": "boom"})
    state = fresh()
    assert by_id(run_sync(fake, state))[tick["tickId"]]["status"] == "FAILURE"

    tick.update(status="STARTED", endTimestamp=None, error=None)  # the scheduler retries it
    row = by_id(run_sync(fake, state))[tick["tickId"]]
    assert row["status"] == "STARTED" and row["error_message"] is None

    tick.update(status="SUCCESS", endTimestamp=BASE_TIME + 3700, runIds=["run-00000"])
    add_ticks(fake, "nightly_loc_a", 2, start=BASE_TIME + 7200, status="SUCCESS")
    row = by_id(run_sync(fake, state))[tick["tickId"]]
    assert row["status"] == "SUCCESS" and row["run_ids"] == ["run-00000"]
    assert row["end_time"] == utc_datetime(BASE_TIME + 3700)


# --- resuming, removals, failures ------------------------------------------------------------


def walk_of(saved: dict) -> float | None:
    """Where the walk of watch_loc_a goes on in a checkpoint's state (None: no walk under way)."""
    tree = saved["tables"].get(NAME, {}).get("instigators", {})
    entry = tree.get("loc_a", {}).get("repo", {}).get("sensors", {}).get(selector_id("loc_a", "repo", "watch_loc_a"), {})
    return entry["walks"][0]["before"] if entry.get("walks") else None


def test_a_sync_killed_mid_walk_resumes_from_its_checkpoint_and_loses_nothing():
    fake = deployment()
    ticks = add_ticks(fake, "watch_loc_a", 3500)
    committed: list[dict] = []
    pending: list[dict] = []
    saved = None
    with aioresponses() as mocked:
        fake.install(mocked)
        events = extract(parse_configuration({"base_url": ENDPOINT, "requests_per_second": "5000"}), fresh())
        for event in events:
            if isinstance(event, Rows) and event.table == NAME:
                pending += event.rows
            elif isinstance(event, Checkpoint):
                committed += pending
                pending = []
                position_now = walk_of(event.state)
                if position_now is not None and position_now < ticks[-BATCH_TICKS]["timestamp"]:
                    saved = event.state  # at least one page of the walk is saved
                    break  # killed: what was sent after this checkpoint is lost
        events.close()
    assert saved is not None
    before = walk_of(saved)
    assert len({row["id"] for row in committed} & tick_ids(ticks)) < len(ticks)

    state, warning = SyncState.from_dict(saved, DEPLOYMENT)
    assert warning is None
    newer = add_ticks(fake, "watch_loc_a", 60, start=BASE_TIME + 3500 * SPACING)  # a second gap meanwhile
    forget_requests(fake)
    events = run_sync(fake, state)
    walks = [call for call in fake.calls_of("ConnectorInstigatorTicks") if call["selector"]["name"] == "watch_loc_a"]
    assert walks[0]["before"] == before  # resumed where it was, not from the newest tick
    assert {row["id"] for row in committed} | set(by_id(events)) >= tick_ids(ticks) | tick_ids(newer)
    assert "walks" not in position(state, "watch_loc_a")


def test_an_instigator_removed_from_code_is_forgotten_and_its_ticks_stay():
    fake = deployment()
    add_ticks(fake, "watch_loc_a", 5)
    add_ticks(fake, "nightly_loc_a", 5, status="SUCCESS")
    state = fresh()
    run_sync(fake, state)
    fake.location("loc_a").repositories[0].sensors = []
    events = run_sync(fake, state)
    assert not [event for event in events if isinstance(event, Deletes) and event.table == NAME]
    assert state.tables[NAME]["instigators"]["loc_a"]["repo"]["sensors"] == {}
    assert selector_id("loc_a", "repo", "nightly_loc_a") in state.tables[NAME]["instigators"]["loc_a"]["repo"]["schedules"]


def test_a_location_removed_is_forgotten_and_one_that_failed_to_load_is_kept():
    fake = deployment()
    add_ticks(fake, "watch_loc_a", 5)
    add_ticks(fake, "watch_loc_b", 5, location="loc_b")
    state = fresh()
    run_sync(fake, state)
    fake.location("loc_b").error = "ModuleNotFoundError: No module named 'pandas'"
    run_sync(fake, state)
    assert set(state.tables[NAME]["instigators"]) == {"loc_a", "loc_b"}
    fake.locations = [fake.location("loc_a")]
    run_sync(fake, state)
    assert set(state.tables[NAME]["instigators"]) == {"loc_a"}


def test_an_empty_workspace_listing_forgets_nothing():
    fake = deployment()
    add_ticks(fake, "watch_loc_a", 5)
    state = fresh()
    run_sync(fake, state)
    fake.locations = []  # as during a redeploy
    run_sync(fake, state)
    assert position(state, "watch_loc_a")["watermark"] == BASE_TIME + 4 * SPACING


def test_a_failing_repository_is_a_warning_and_the_others_go_on(capsys):
    fake = deployment()
    add_ticks(fake, "watch_loc_a", 5)
    b_ticks = add_ticks(fake, "watch_loc_b", 5, location="loc_b")
    state = fresh()
    run_sync(fake, state)
    saved_b = position(state, "watch_loc_b", "loc_b")
    newer_a = add_ticks(fake, "watch_loc_a", 3, start=BASE_TIME + 10 * SPACING)
    add_ticks(fake, "watch_loc_b", 3, start=BASE_TIME + 10 * SPACING, location="loc_b")
    schedule_b = fake.add_tick("loc_b", "repo", "nightly_loc_b", BASE_TIME, "SUCCESS")

    def sensors(variables):
        if variables["repositorySelector"]["repositoryLocationName"] == "loc_b":
            return python_error("sensorsOrError", "dagster._core.errors.DagsterUserCodeUnreachableError: gone")
        return None

    fake.overrides["ConnectorSensorTicks"] = sensors
    rows = by_id(run_sync(fake, state))
    assert tick_ids(newer_a) | {schedule_b["tickId"]} <= set(rows)
    assert not tick_ids(b_ticks) & set(rows)
    assert position(state, "watch_loc_b", "loc_b") == saved_b  # kept as it was
    output = capsys.readouterr().out
    assert "skipping the sensors of repository repo@loc_b" in output and "DagsterUserCodeUnreachableError" in output


def test_a_failing_walk_is_resumed_by_the_next_sync(capsys):
    fake = deployment()
    ticks = add_ticks(fake, "watch_loc_a", 2200)
    fake.overrides["ConnectorInstigatorTicks"] = lambda variables: python_error(
        "instigationStateOrError", "sqlalchemy.exc.OperationalError: boom"
    ) if variables.get("before") and variables["before"] < ticks[1000]["timestamp"] else None
    state = fresh()
    first = run_sync(fake, state)
    assert "reading the ticks of sensor watch_loc_a of repo@loc_a stopped" in capsys.readouterr().out
    assert position(state, "watch_loc_a")["walks"][0]["before"] < ticks[1200]["timestamp"]
    del fake.overrides["ConnectorInstigatorTicks"]
    second = run_sync(fake, state)
    assert set(by_id(first)) | set(by_id(second)) == tick_ids(ticks)
    assert "walks" not in position(state, "watch_loc_a")


def test_a_malformed_position_is_read_again_from_the_start(capsys):
    fake = deployment()
    ticks = add_ticks(fake, "watch_loc_a", 30)
    state = fresh()
    state.tables[NAME] = {"instigators": {"loc_a": {"repo": {"sensors": {
        selector_id("loc_a", "repo", "watch_loc_a"): {"watermark": "soon", "walks": "none"}}}}}}  # fmt: skip
    assert set(by_id(run_sync(fake, state))) >= tick_ids(ticks)
    assert "malformed" in capsys.readouterr().out


# --- the batch plan ----------------------------------------------------------------------------


def tick(tick_id: int, timestamp: float, status: str = "SKIPPED") -> dict:
    return {"tickId": str(tick_id), "timestamp": timestamp, "status": status}


def test_plan_a_new_instigator_sends_its_batch_and_walks_below_it():
    position, send = plan_batch(None, [tick(3, 300.0), tick(2, 200.0)])
    assert [t["tickId"] for t in send] == ["3", "2"]
    assert position.walks == [TickWalk(200.0 + OVERLAP_SECONDS, None)]
    position, send = plan_batch(None, [])
    assert send == [] and position.walks == [TickWalk(None, None)]


def test_plan_an_instigator_whose_batch_reaches_its_watermark_needs_no_walk():
    saved = InstigatorPosition(watermark=200.0, max_id=2, open={"1": 100.0})
    position, send = plan_batch(saved, [tick(4, 400.0), tick(3, 300.0), tick(2, 200.0), tick(1, 100.0, "SUCCESS")])
    assert [t["tickId"] for t in send] == ["4", "3", "2", "1"]
    assert position.walks == []
    position, send = plan_batch(InstigatorPosition(watermark=200.0, max_id=2), [tick(2, 200.0), tick(1, 100.0)])
    assert [t["tickId"] for t in send] == ["2"]


def test_plan_a_batch_all_above_the_watermark_walks_down_to_it():
    saved = InstigatorPosition(watermark=100.0, max_id=1)
    position, _ = plan_batch(saved, [tick(5, 500.0), tick(4, 400.0)])
    assert position.walks == [TickWalk(400.0 + OVERLAP_SECONDS, 100.0)]
    # a walk still to finish from the newest ticks down reads that gap too
    saved = InstigatorPosition(walks=[TickWalk(None, None)])
    position, _ = plan_batch(saved, [tick(5, 500.0)])
    assert position.walks == [TickWalk(None, None)]
