"""The run sync: first syncs, incremental syncs in Dagster's clock, runs last seen unfinished."""

from __future__ import annotations

import asyncio

import pytest
from aioresponses import aioresponses

from extractor.client import DagsterClient
from extractor.config import parse_configuration
from extractor.tables.runs import run_row
from extractor.run_sync import RunSyncer
from extractor.runs import COUNT_TRIES, PLANNING_PROBES
from extractor.server import FINISHED_STATUSES, connect
from extractor.state import SyncState
from tests.fake_dagster import (
    ENDPOINT,
    RUN_STATUSES,
    STATEMENT_TIMEOUT,
    FakeDagster,
    fast_retries,
    make_run,
    resolver_error,
)

NOT_FINISHED = tuple(status for status in RUN_STATUSES if status not in FINISHED_STATUSES)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def ids(*indexes: int) -> list[str]:
    return [f"run-{i:05d}" for i in indexes]


class Sync:
    """One run sync's output: rows by id (the last version), and the checkpointed states."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.checkpoints: list[dict] = []
        self.rows_at_checkpoint: list[int] = []  # rows sent before each checkpoint

    @property
    def statuses(self) -> dict[str, str]:
        return {row["run_id"]: row["status"] for row in self.rows}


async def sync_runs(fake: FakeDagster, state: SyncState, page_size: int = 10, **tuning) -> Sync:
    settings = parse_configuration(
        {"base_url": ENDPOINT, "requests_per_second": "1000", "page_size": str(page_size), **tuning}
    )
    result = Sync()

    async def send(runs: list[dict]) -> None:
        result.rows.extend(run_row(run) for run in runs)

    async def checkpoint() -> None:
        result.checkpoints.append(state.to_dict())
        result.rows_at_checkpoint.append(len(result.rows))

    fake.calls.clear()
    fake.requests.clear()
    with aioresponses() as mocked:
        fake.install(mocked)
        async with DagsterClient(settings) as client:
            server = await connect(client, ENDPOINT)  # the statuses, and Dagster's clock (Date)
            assert server.not_finished_statuses == NOT_FINISHED
            await RunSyncer(settings, state, server, send, checkpoint).run(client)
    return result


# --- first syncs ---------------------------------------------------------------------------


async def test_a_first_sync_with_a_clamped_limit_loads_every_run():
    runs = [make_run(i, "STARTED" if i in (3, 17) else "SUCCESS") for i in range(50)]
    fake = FakeDagster(runs, max_limit=7)
    state = SyncState(deployment="x")
    result = await sync_runs(fake, state, page_size=10)
    assert sorted(result.statuses) == ids(*range(50))
    assert state.runs.sync is None
    assert state.runs.created_until == fake.run("run-00049")["creationTime"]
    assert state.runs.updated_until == max(run["updateTime"] for run in fake.runs)
    assert sorted(state.runs.unfinished) == ids(3, 17)
    assert result.checkpoints[-1]["runs"]["sync"] is None


async def test_first_sync_planning_costs_one_count_one_newest_run_and_one_round_of_probes():
    fake = FakeDagster([make_run(i) for i in range(200)])
    state = SyncState(deployment="x")
    result = await sync_runs(fake, state, page_size=10, max_concurrency="4")
    assert sorted(result.statuses) == ids(*range(200))
    assert len(result.checkpoints[0]["runs"]["sync"]["walks"]) > 1, "split into windows"
    assert fake.calls["ConnectorRunsCount"] <= 1 + len(PLANNING_PROBES)
    newest_run_requests = [
        variables for variables in fake.calls_of("ConnectorRunsPage")
        if variables["limit"] == 1 and variables["filter"] == {} and variables["cursor"] is None
    ]  # fmt: skip
    assert len(newest_run_requests) == 1
    assert len(result.rows) - 200 <= len(result.checkpoints[0]["runs"]["sync"]["walks"])


async def test_planning_probes_that_time_out_leave_one_walk_and_lose_nothing():
    fake = FakeDagster([make_run(i) for i in range(200)])

    def heavy_probes(variables):
        if "createdBefore" in variables["filter"]:  # the probes, not the total
            return resolver_error(STATEMENT_TIMEOUT, ["runsOrError", "count"])
        return None

    fake.overrides["ConnectorRunsCount"] = heavy_probes
    state = SyncState(deployment="x")
    result = await sync_runs(fake, state, page_size=10, max_concurrency="4")
    assert sorted(result.statuses) == ids(*range(200))
    assert len(result.checkpoints[0]["runs"]["sync"]["walks"]) == 1
    probes = [v for v in fake.calls_of("ConnectorRunsCount") if "createdBefore" in v["filter"]]
    assert 0 < len(probes) <= len(PLANNING_PROBES) * COUNT_TRIES, "a count is not retried for long"


async def test_a_small_first_sync_is_one_walk():
    fake = FakeDagster([make_run(i) for i in range(15)])
    state = SyncState(deployment="x")
    result = await sync_runs(fake, state, page_size=10)
    assert sorted(result.statuses) == ids(*range(15))
    assert fake.calls["ConnectorRunsCount"] == 1


# --- incremental syncs ---------------------------------------------------------------------


async def synced(fake: FakeDagster, **kwargs) -> SyncState:
    state = SyncState(deployment="x")
    await sync_runs(fake, state, **kwargs)
    return state


async def test_an_incremental_sync_reads_new_and_changed_runs_without_counting():
    fake = FakeDagster([make_run(i) for i in range(40)])
    state = await synced(fake)
    watermark = state.runs.updated_until
    fake.runs += [make_run(i) for i in range(40, 45)]
    fake.update_run("run-00005", "FAILURE", fake.run("run-00044")["updateTime"] + 10)  # changed
    result = await sync_runs(fake, state)

    assert set(ids(*range(40, 45), 5)) <= set(result.statuses)
    assert result.statuses["run-00005"] == "FAILURE"
    assert len(result.rows) < 15, "the history was not read again"
    assert fake.calls["ConnectorRunsCount"] == 0
    pages = fake.calls_of("ConnectorRunsPage")
    changed = [v for v in pages if "updatedAfter" in v["filter"]]
    assert changed and changed[0]["filter"] == {
        "updatedAfter": watermark - 300,
        "statuses": [*NOT_FINISHED, "SUCCESS", "FAILURE", "CANCELED"],
    }
    assert set(changed[0]["filter"]["statuses"]) == set(RUN_STATUSES)
    new = [v for v in pages if v["filter"] == {}]
    assert new, "a walk over new runs asks for no filter (nothing for Dagster to scan)"
    assert state.runs.created_until == fake.run("run-00044")["creationTime"]


async def test_a_run_last_seen_unfinished_is_re_read_even_with_a_back_dated_finish():
    runs = [make_run(i, "STARTED" if i == 3 else "SUCCESS") for i in range(20)]
    fake = FakeDagster(runs)
    state = await synced(fake)
    assert list(state.runs.unfinished) == ["run-00003"]
    # Its worker's clock is behind: it finished with an update time long before the watermark.
    back_dated = fake.run("run-00003")["creationTime"] + 60
    assert back_dated < state.runs.updated_until - 300
    fake.update_run("run-00003", "SUCCESS", back_dated)

    result = await sync_runs(fake, state)
    assert result.statuses["run-00003"] == "SUCCESS"
    assert state.runs.unfinished == {}

    again = await sync_runs(fake, state)
    assert "run-00003" not in again.statuses, "no longer tracked"
    assert not any("runIds" in v["filter"] for v in fake.calls_of("ConnectorRunsPage"))


async def test_a_run_still_unfinished_stays_tracked():
    fake = FakeDagster([make_run(i, "QUEUED" if i == 3 else "SUCCESS") for i in range(20)])
    state = await synced(fake)
    fake.update_run("run-00003", "STARTED", fake.run("run-00003")["creationTime"] + 30)
    result = await sync_runs(fake, state)
    assert result.statuses["run-00003"] == "STARTED"
    assert list(state.runs.unfinished) == ["run-00003"]


async def test_the_newest_run_still_unfinished_is_sent_once():
    """The newest run is both "new" (its creation time is the watermark, and the look-back is
    0: kept) and tracked as unfinished: the new-runs walk leaves it to the re-read by id."""
    fake = FakeDagster([make_run(i, "STARTED" if i == 19 else "SUCCESS") for i in range(20)])
    state = await synced(fake, lookback_seconds="0")
    assert list(state.runs.unfinished) == ["run-00019"]
    result = await sync_runs(fake, state, lookback_seconds="0")
    assert [row["run_id"] for row in result.rows] == ["run-00019"]


async def test_a_tracked_run_deleted_in_dagster_is_no_longer_tracked():
    fake = FakeDagster([make_run(i, "STARTED" if i in (3, 7) else "SUCCESS") for i in range(20)])
    state = await synced(fake)
    assert sorted(state.runs.unfinished) == ids(3, 7)
    fake.delete_run("run-00003")
    await sync_runs(fake, state)
    assert list(state.runs.unfinished) == ["run-00007"]


async def test_unfinished_runs_past_the_tracking_limit_are_re_read_by_creation_time(monkeypatch):
    monkeypatch.setattr("extractor.run_sync.MAX_TRACKED_UNFINISHED", 2)
    unfinished = (2, 4, 6, 8)
    fake = FakeDagster([make_run(i, "STARTED" if i in unfinished else "SUCCESS") for i in range(30)])
    state = await synced(fake)
    assert sorted(state.runs.unfinished) == ids(6, 8)  # the newest, read first
    assert state.runs.unfinished_overflow_since == fake.run("run-00002")["creationTime"]
    for index in unfinished:  # all finish, back-dated: only tracking can find them
        run_id = f"run-{index:05d}"
        fake.update_run(run_id, "FAILURE", fake.run(run_id)["creationTime"] + 30)

    result = await sync_runs(fake, state)
    assert {run_id: result.statuses.get(run_id) for run_id in ids(*unfinished)} == dict.fromkeys(
        ids(*unfinished), "FAILURE"
    )
    assert state.runs.unfinished == {} and state.runs.unfinished_overflow_since is None
    assert len(result.rows) < 40


async def test_an_incremental_sync_stopped_at_any_checkpoint_resumes_to_every_new_run():
    fake = FakeDagster([make_run(i, "STARTED" if i == 3 else "SUCCESS") for i in range(20)])
    state = await synced(fake)
    fake.runs += [make_run(i) for i in range(20, 50)]
    fake.update_run("run-00003", "SUCCESS", fake.run("run-00003")["creationTime"] + 60)
    result = await sync_runs(fake, state, page_size=5)
    assert set(ids(*range(20, 50), 3)) <= set(result.statuses)
    assert len(result.rows) == len(set(result.statuses)), "each run sent once per sync"
    for stop in range(len(result.checkpoints) - 1):
        saved = {row["run_id"] for row in result.rows[: result.rows_at_checkpoint[stop]]}
        resumed_state, warning = SyncState.from_dict(result.checkpoints[stop], "x")
        assert warning is None
        resumed = await sync_runs(fake, resumed_state, page_size=5)
        assert set(ids(*range(20, 50), 3)) <= saved | set(resumed.statuses), f"stopped at {stop}"
        assert resumed_state.runs.sync is None and resumed_state.runs.unfinished == {}
        assert resumed_state.runs.created_until == fake.run("run-00049")["creationTime"]


async def test_a_first_sync_stopped_at_any_checkpoint_resumes_to_the_full_history():
    fake = FakeDagster([make_run(i) for i in range(120)])
    state = SyncState(deployment="x")
    result = await sync_runs(fake, state, page_size=10, max_concurrency="2")
    assert len(result.checkpoints[0]["runs"]["sync"]["walks"]) > 1
    for stop in [*range(1, len(result.checkpoints) - 1, 3), len(result.checkpoints) - 2]:
        saved = {row["run_id"] for row in result.rows[: result.rows_at_checkpoint[stop]]}
        resumed_state, _ = SyncState.from_dict(result.checkpoints[stop], "x")
        resumed = await sync_runs(fake, resumed_state, page_size=10, max_concurrency="2")
        assert saved | set(resumed.statuses) == set(ids(*range(120)))
        assert len(resumed.rows) < 120 - len(saved) + 10 * 4, "resumed, not restarted"
        assert fake.calls["ConnectorRunsCount"] == 0, "a resumed sync plans nothing again"


async def test_every_checkpoint_of_a_run_sync_can_be_read_back():
    """Regression: after the last walk finished, the checkpoint held `walks: []` until the final
    one, and the state reader rejected it as malformed (a sync killed there needed a reset)."""
    fake = FakeDagster([make_run(i) for i in range(30)])
    state = SyncState(deployment="x")
    result = await sync_runs(fake, state, page_size=10)
    for checkpoint in result.checkpoints:
        SyncState.from_dict(checkpoint, "x")


async def test_a_run_updated_after_the_changed_walk_passed_it_is_still_synced():
    """The changed-runs walk reads runs updated after `changed_after` *when it reaches their
    position*; a run that changes after the walk passed it must still be sent, now or by the
    next sync. Regression: the new-runs walk left it out as "read elsewhere" and the sync's
    watermark went past its update (a later update was seen), so it never landed; watermarks
    now stop at the sync's start in Dagster's clock (the `Date` of its answers)."""
    runs = [make_run(i) for i in range(20)]
    runs.append(make_run(20, "QUEUED"))  # N: created after the last sync's newest run
    runs.append(make_run(21, "SUCCESS"))
    fake = FakeDagster(runs)
    base = 1_700_000_000.0
    fake.update_run("run-00021", "SUCCESS", base + 12_900)  # changed after the bound: 12_700
    fake.update_run("run-00015", "SUCCESS", base + 12_800)
    state = SyncState(deployment="x")
    state.runs.created_until = fake.run("run-00019")["creationTime"]  # base + 11_400
    state.runs.updated_until = base + 13_000
    fake.now = base + 12_950  # Dagster's clock when this sync starts (its answers' Date)

    n_changed = asyncio.Event()

    async def interleave(variables):
        changed_walk = "updatedAfter" in variables["filter"]
        if not changed_walk and variables["cursor"] == "run-00021":
            await n_changed.wait()  # the new-runs walk reads N after it changed
        if changed_walk and variables["cursor"] == "run-00021":
            answer = fake._ConnectorRunsPage(variables)  # this page passes N's position
            fake.now = base + 13_000
            fake.update_run("run-00020", "SUCCESS", fake.now)  # then N finishes...
            fake.now = base + 14_000
            fake.update_run("run-00010", "FAILURE", fake.now)  # ...and another run changes
            n_changed.set()
            return {"data": answer}
        return None

    fake.overrides["ConnectorRunsPage"] = interleave
    first = await sync_runs(fake, state, page_size=1)
    fake.overrides.clear()
    fake.now = base + 14_100
    second = await sync_runs(fake, state, page_size=1)
    assert {**first.statuses, **second.statuses}.get("run-00020") == "SUCCESS"
