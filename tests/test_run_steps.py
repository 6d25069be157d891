"""`dagster_run_steps`: each finished run's `stepStats`, read once, in bounded batches, against
the fake Dagster 1.13."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from extractor.state import SyncState
from extractor.tables import run_steps
from extractor.tables.run_steps import step_rows
from tests.fake_dagster import (
    BASE_TIME,
    STATEMENT_TIMEOUT,
    FakeDagster,
    fast_retries,
    make_run,
    resolver_error,
    step,
)
from tests.support.table_sync import resume_from, sync_table

TABLE = run_steps.TABLE
NAME = "dagster_run_steps"
FINISHED = ["SUCCESS", "FAILURE", "CANCELED"]


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def run_with_steps(index: int, status: str = "SUCCESS") -> dict:
    """A run whose steps are `extract` and `load` (`load` only once it started)."""
    run = make_run(index, status)
    start = run["creationTime"] + 1.0
    steps = [step("extract", start=start)]
    if status != "QUEUED":
        steps.append(step("load", "FAILURE" if status == "FAILURE" else "SUCCESS", start=start + 10))
    if status == "STARTED":
        steps[-1] = step("load", "IN_PROGRESS", start=start + 10)
    run["stepStats"] = [] if status == "QUEUED" else steps
    return run


async def sync_steps(fake: FakeDagster, state: SyncState, table=TABLE, **tuning: str):
    """A sync of the table; the first sync reads every finished run (the fake's runs are old)
    unless a test sets `step_history_days`."""
    return await sync_table(fake, state, table, **{"step_history_days": "0", **tuning})


def ids(*indexes: int) -> list[str]:
    return [f"run-{i:05d}" for i in indexes]


def keys(rows: list[dict]) -> set[tuple[str, str]]:
    return {(row["run_id"], row["step_key"]) for row in rows}


def all_keys(*indexes: int) -> set[tuple[str, str]]:
    return {(run_id, key) for run_id in ids(*indexes) for key in ("extract", "load")}


def step_requests(fake: FakeDagster) -> list[list[str]]:
    return [variables["filter"]["runIds"] for variables in fake.calls_of("ConnectorRunStepStats")]


async def synced(fake: FakeDagster, **tuning) -> SyncState:
    state = SyncState(deployment="x")
    await sync_steps(fake, state, TABLE, **tuning)
    return state


# --- rows ------------------------------------------------------------------------------------


def test_a_retried_step_has_one_attempt_per_try():
    [row] = step_rows("run-1", [step("flaky", start=BASE_TIME, duration=5.0, retries=2)])
    assert row == {
        "run_id": "run-1",
        "step_key": "flaky",
        "status": "SUCCESS",
        "start_time": datetime.fromtimestamp(BASE_TIME, tz=timezone.utc),
        "end_time": datetime.fromtimestamp(BASE_TIME + 15.0, tz=timezone.utc),
        "attempts": 3,
        "attempt_times": [
            {"start_time": "2023-11-14T22:13:20.000000Z", "end_time": "2023-11-14T22:13:25.000000Z"},
            {"start_time": "2023-11-14T22:13:25.000000Z", "end_time": "2023-11-14T22:13:30.000000Z"},
            {"start_time": "2023-11-14T22:13:30.000000Z", "end_time": "2023-11-14T22:13:35.000000Z"},
        ],
    }
    assert list(row) == list(TABLE.columns)
    [running] = step_rows("run-2", [step("slow", "IN_PROGRESS")])
    assert running["end_time"] is None and running["attempt_times"][-1]["end_time"] is None
    skipped_step = {"stepKey": "s", "status": "SKIPPED", "startTime": None, "endTime": None, "attempts": []}
    [skipped] = step_rows("run-3", [skipped_step])
    assert skipped["attempts"] == 0 and skipped["attempt_times"] == []


# --- first syncs -------------------------------------------------------------------------------


async def test_a_first_sync_reads_the_steps_of_every_finished_run_in_bounded_batches(monkeypatch):
    monkeypatch.setattr("extractor.tables.run_steps.CHECKPOINT_SECONDS", 0.0)
    statuses = {3: "STARTED", 7: "QUEUED", 11: "FAILURE", 12: "CANCELED"}
    fake = FakeDagster([run_with_steps(i, statuses.get(i, "SUCCESS")) for i in range(45)])
    state = SyncState(deployment="x")
    result = await sync_steps(fake, state, TABLE, page_size="10")
    finished = [i for i in range(45) if i not in (3, 7)]
    assert keys(result.rows) == all_keys(*finished)
    rows = {(row["run_id"], row["step_key"]): row for row in result.rows}
    assert rows[("run-00011", "load")]["status"] == "FAILURE"
    requests = step_requests(fake)
    assert all(len(batch) <= 10 for batch in requests)  # `page_size` 10 caps the batch of 20
    assert sorted(run_id for batch in requests for run_id in batch) == ids(*finished), "each run once"
    listing = fake.calls_of("ConnectorFinishedRunsPage")
    assert all(v["filter"] == {"updatedAfter": 0.0, "statuses": FINISHED} and v["limit"] == 10 for v in listing)
    assert fake.calls_of("ConnectorRunsCount") == [{"filter": {"statuses": FINISHED}}]  # for the progress
    position = state.tables[NAME]
    assert position["sync"] is None
    assert position["updated_until"] == max(fake.run(i)["updateTime"] for i in ids(*finished))
    assert len(result.rows_at_checkpoint) >= 5, "a checkpoint after each batch"


async def test_a_clamped_limit_still_reads_every_run_of_a_batch():
    fake = FakeDagster([run_with_steps(i) for i in range(30)])
    fake.overrides["ConnectorRunStepStats"] = lambda variables: {
        "data": fake._ConnectorRunStepStats({**variables, "limit": min(variables["limit"], 4)})
    }
    result = await sync_steps(fake, SyncState(deployment="x"), TABLE, page_size="10")
    assert keys(result.rows) == all_keys(*range(30))
    assert [len(batch) for batch in step_requests(fake)][:3] == [10, 6, 2]  # the rest of the batch


async def test_batches_are_checkpointed_at_most_every_few_seconds_and_recorded_after_each_send(monkeypatch):
    """A checkpoint makes the destination write what it holds: one per 20-run batch was the
    first sync's bottleneck. The position is in the state after each batch all the same, so
    any table's checkpoint saves it: a sync stopped at any send resumes after the last batch
    sent, reading none twice."""
    monkeypatch.setattr("extractor.tables.run_steps.STEPS_BATCH", 5)
    fake = FakeDagster([run_with_steps(i) for i in range(40)])
    first = await sync_steps(fake, SyncState(deployment="x"), TABLE, page_size="20")
    assert len(first.checkpoints) == 1  # the final one: this sync took far less than CHECKPOINT_SECONDS
    expected = all_keys(*range(40))
    assert len(first.states_at_send) == 8 and keys(first.rows) == expected
    for stop in range(1, len(first.states_at_send)):
        saved = keys(first.rows[: first.rows_at_send[stop]])
        state, warning = SyncState.from_dict(first.states_at_send[stop], "x")
        assert warning is None
        resumed = await sync_steps(fake, state, TABLE, page_size="20")
        assert saved | keys(resumed.rows) == expected, f"stopped at send {stop}"
        assert not saved & keys(resumed.rows), "nothing read again"


async def test_a_first_sync_stopped_at_any_checkpoint_resumes_after_the_last_batch_saved(monkeypatch):
    monkeypatch.setattr("extractor.tables.run_steps.STEPS_BATCH", 5)  # 4 batches a page
    monkeypatch.setattr("extractor.tables.run_steps.CHECKPOINT_SECONDS", 0.0)
    fake = FakeDagster([run_with_steps(i, "STARTED" if i == 5 else "SUCCESS") for i in range(50)])
    first = await sync_steps(fake, SyncState(deployment="x"), TABLE, page_size="20")
    assert first.checkpoints[0]["tables"][NAME]["sync"]["walk"]["cursor"] == "run-00045"
    expected = all_keys(*(i for i in range(50) if i != 5))
    assert keys(first.rows) == expected
    for stop in range(len(first.checkpoints) - 1):
        saved = keys(first.saved_rows(stop))
        state = resume_from(first, stop)
        resumed = await sync_steps(fake, state, TABLE, page_size="20")
        assert saved | keys(resumed.rows) == expected, f"stopped at {stop}"
        assert not saved & keys(resumed.rows), "nothing read again"
        assert state.tables[NAME]["sync"] is None


async def test_the_watermark_never_passes_the_sync_start_in_dagsters_clock():
    """A run updated by a worker whose clock is ahead of the webserver's."""
    fake = FakeDagster([run_with_steps(i) for i in range(5)])
    fake.now = BASE_TIME + 10_000.0  # the webserver's clock (its answers' Date)
    fake.runs.append(run_with_steps(5))
    fake.update_run("run-00005", "SUCCESS", BASE_TIME + 20_000.0)
    state = await synced(fake)
    assert state.tables[NAME]["updated_until"] == pytest.approx(BASE_TIME + 10_000.0 - 1.0, abs=2.0)


# --- incremental syncs --------------------------------------------------------------------------


@pytest.mark.parametrize("history", [30, 300])
async def test_an_incremental_sync_with_nothing_new_reads_no_steps(history):
    fake = FakeDagster([run_with_steps(i) for i in range(history)])
    state = await synced(fake, page_size="50")
    watermark = state.tables[NAME]["updated_until"]
    result = await sync_steps(fake, state, TABLE, page_size="50")
    assert result.rows == [] and fake.calls["ConnectorRunStepStats"] == 0
    [first, second] = fake.calls_of("ConnectorFinishedRunsPage")
    assert first["filter"] == {"updatedAfter": watermark - 300, "statuses": FINISHED}
    assert first["cursor"] is None and second["cursor"] == f"run-{history - 1:05d}"  # then empty
    assert sum(fake.calls.values()) == 3  # the 2 pages, and whether the last cursor still exists
    assert state.tables[NAME]["updated_until"] == watermark


async def test_only_the_runs_finished_since_the_last_sync_have_their_steps_read():
    fake = FakeDagster([run_with_steps(i, "STARTED" if i == 3 else "SUCCESS") for i in range(40)])
    state = await synced(fake)
    newest = fake.run("run-00039")["updateTime"]
    fake.runs += [run_with_steps(i, "STARTED" if i == 42 else "SUCCESS") for i in range(40, 45)]
    fake.update_run("run-00003", "FAILURE", newest + 50_000)  # finished since
    fake.run("run-00003")["stepStats"][-1]["status"] = "FAILURE"

    result = await sync_steps(fake, state, TABLE)
    read = sorted(run_id for batch in step_requests(fake) for run_id in batch)
    assert read == ids(3, 40, 41, 43, 44)
    assert keys(result.rows) == all_keys(3, 40, 41, 43, 44)
    [load] = [row for row in result.rows if (row["run_id"], row["step_key"]) == ("run-00003", "load")]
    assert load["status"] == "FAILURE"

    fake.update_run("run-00042", "SUCCESS", newest + 60_000)
    again = await sync_steps(fake, state, TABLE)
    assert step_requests(fake) == [ids(42)]
    assert keys(again.rows) == all_keys(42)


async def test_a_run_read_within_the_look_back_is_read_again_only_if_it_changed():
    fake = FakeDagster([run_with_steps(i) for i in range(10)])
    state = await synced(fake, lookback_seconds="3600")
    assert set(state.tables[NAME]["recent"]) == set(ids(*range(4, 10)))  # updated in the last hour
    fake.run("run-00008")["updateTime"] += 1.0  # a tag added: Dagster updates the run
    await sync_steps(fake, state, TABLE, lookback_seconds="3600")
    assert step_requests(fake) == [ids(8)]


async def test_a_run_deleted_before_its_steps_are_read_is_skipped():
    fake = FakeDagster([run_with_steps(i) for i in range(12)])

    def delete_then_answer(variables):
        if fake.calls["ConnectorRunStepStats"] == 1:
            fake.delete_run("run-00010")  # purged between the listing and this request
        return None

    fake.overrides["ConnectorRunStepStats"] = delete_then_answer
    state = SyncState(deployment="x")
    result = await sync_steps(fake, state, TABLE, page_size="20")
    assert keys(result.rows) == all_keys(*(i for i in range(12) if i != 10))
    assert state.tables[NAME]["sync"] is None and state.tables[NAME]["updated_until"] is not None


async def test_a_run_whose_steps_dagster_cannot_read_is_skipped_and_the_rest_are_read(capsys):
    fake = FakeDagster([run_with_steps(i) for i in range(16)])

    def fail_with_run_6(variables):
        if "run-00006" in variables["filter"]["runIds"]:
            return resolver_error(
                "dagster_shared.serdes.errors.DeserializationError: bad event",
                ["runsOrError", "results", 0, "stepStats"],
            )
        return None

    fake.overrides["ConnectorRunStepStats"] = fail_with_run_6
    result = await sync_steps(fake, SyncState(deployment="x"), TABLE, page_size="20")
    assert keys(result.rows) == all_keys(*(i for i in range(16) if i != 6))
    assert "skipping run run-00006" in capsys.readouterr().out
    assert fake.calls["ConnectorRunStepStats"] <= 2 * 5, "halved down to the run: a few requests"


async def test_a_heavy_batch_is_split_until_it_passes():
    fake = FakeDagster([run_with_steps(i) for i in range(20)])

    def statement_timeout_above_5(variables):
        if len(variables["filter"]["runIds"]) > 5:
            return resolver_error(STATEMENT_TIMEOUT, ["runsOrError", "results", 3, "stepStats"])
        return None

    fake.overrides["ConnectorRunStepStats"] = statement_timeout_above_5
    result = await sync_steps(fake, SyncState(deployment="x"), TABLE, page_size="20", max_concurrency="1")
    assert keys(result.rows) == all_keys(*range(20))


async def test_a_first_sync_reads_the_steps_of_the_last_step_history_days_only():
    fake = FakeDagster([run_with_steps(i) for i in range(20)])
    fake.now = fake.run("run-00009")["updateTime"] + 2 * 86400  # runs 0-9 are older than 2 days
    for i in range(10, 20):
        fake.run(f"run-{i:05d}")["updateTime"] = fake.now - 3600
    state = SyncState(deployment="x")
    result = await sync_table(fake, state, TABLE, step_history_days="1")
    assert keys(result.rows) == all_keys(*range(10, 20))
    [counted] = fake.calls_of("ConnectorRunsCount")
    assert counted["filter"]["updatedAfter"] == pytest.approx(fake.now - 86400, abs=2)
