"""`dagster_backfills`: first syncs, incremental syncs by creation time, unfinished backfills
re-read by id, resuming from any checkpoint, against the fake Dagster 1.13."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from extractor.state import SyncState
from extractor.tables import backfills
from extractor.tables.backfills import backfill_row
from tests.fake_dagster import BASE_TIME, RUN_SPACING, FakeDagster, fast_retries, make_backfill, resolver_error
from tests.support.table_sync import resume_from, sync_table

TABLE = backfills.TABLE
NAME = "dagster_backfills"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def ids(*indexes: int) -> list[str]:
    return [f"bf{i:06d}" for i in indexes]


def row_ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


def deployment(n: int, unfinished: tuple[int, ...] = (), **fake_options) -> FakeDagster:
    fake = FakeDagster(**fake_options)
    fake.backfills = [make_backfill(i, "REQUESTED" if i in unfinished else "COMPLETED_SUCCESS") for i in range(n)]
    return fake


async def synced(fake: FakeDagster, **tuning) -> SyncState:
    state = SyncState(deployment="x")
    await sync_table(fake, state, TABLE, **tuning)
    return state


# --- rows ---------------------------------------------------------------------------------


def test_a_row_holds_the_backfill_as_dagster_describes_it():
    job = make_backfill(3, "COMPLETED_FAILED", asset=False, tags={"team": "data"})
    row = backfill_row(job)
    assert row == {
        "id": "bf000003",
        "status": "COMPLETED_FAILED",
        "is_asset_backfill": False,
        "job_name": "partitioned_job",
        "partition_set_name": "partitioned_job_partition_set",
        "asset_selection": None,
        "num_partitions": 6,
        "from_failure": False,
        "creation_time": datetime.fromtimestamp(BASE_TIME + 3 * RUN_SPACING, tz=timezone.utc),
        "end_time": datetime.fromtimestamp(BASE_TIME + 3 * RUN_SPACING + 60.0, tz=timezone.utc),
        "tags": {"team": "data"},
        "error_message": "dagster._core.errors.DagsterError: boom\n",
        "user": "someone@example.com",
        "title": "Backfill 3",
        "description": None,
    }
    assert list(row) == list(TABLE.columns)
    asset = backfill_row(make_backfill(4, "REQUESTED"))
    assert asset["asset_selection"] == ["warehouse/orders", "daily_metrics"]
    assert asset["end_time"] is None and asset["error_message"] is None and asset["tags"] == {}


# --- first syncs ----------------------------------------------------------------------------


async def test_a_first_sync_reads_every_page_newest_first_and_checkpoints_each():
    fake = deployment(25, unfinished=(4, 20))
    state = SyncState(deployment="x")
    result = await sync_table(fake, state, TABLE, page_size="10")
    assert row_ids(result.rows) == ids(*range(24, -1, -1))
    pages = fake.calls_of("ConnectorBackfillsPage")
    assert [page["cursor"] for page in pages] == [None, "bf000015", "bf000005", "bf000000"]
    assert all(page["limit"] == 10 and page["filters"] is None for page in pages)
    assert result.rows_at_checkpoint[:3] == [10, 20, 25]
    assert result.checkpoints[0]["tables"][NAME]["sync"]["walk"]["cursor"] == "bf000015"
    position = state.tables[NAME]
    assert position["sync"] is None
    assert position["created_until"] == fake.backfill("bf000024")["creationTime"]
    assert position["open"] == {i: fake.backfill(i)["creationTime"] for i in ids(4, 20)}
    # The empty last page: is its cursor gone (the walk would go on) or is this the end?
    assert fake.calls_of("ConnectorBackfill") == [{"backfillId": "bf000000"}]


async def test_a_short_page_does_not_end_the_walk():
    """A server (or a proxy) that clamps `limit` answers short pages: only an empty one ends."""
    fake = deployment(25, max_limit=7)
    state = SyncState(deployment="x")
    result = await sync_table(fake, state, TABLE, page_size="10")
    assert sorted(row_ids(result.rows)) == ids(*range(25))
    assert fake.calls["ConnectorBackfillsPage"] == 5  # 7 + 7 + 7 + 4 + the empty page


async def test_no_backfill_at_all_costs_one_request_and_no_checkpoint():
    fake = FakeDagster()
    state = SyncState(deployment="x")
    result = await sync_table(fake, state, TABLE)
    assert result.rows == [] and result.checkpoints == []
    assert sum(fake.calls.values()) == 1
    again = await sync_table(fake, state, TABLE)
    assert again.checkpoints == [] and sum(fake.calls.values()) == 1


async def test_a_first_sync_stopped_at_any_checkpoint_resumes_without_reading_again():
    fake = deployment(35, unfinished=(2, 30))
    first = await sync_table(fake, SyncState(deployment="x"), TABLE, page_size="10")
    assert first.rows_at_checkpoint == [10, 20, 30, 35, 35]  # one per page, then the finished walk
    for stop in range(len(first.checkpoints) - 1):
        saved = row_ids(first.saved_rows(stop))
        state = resume_from(first, stop)
        resumed = await sync_table(fake, state, TABLE, page_size="10")
        assert sorted(set(saved + row_ids(resumed.rows))) == ids(*range(35)), f"stopped at {stop}"
        # The walk goes on after its cursor; only backfills tracked unfinished are read by id again.
        assert set(saved) & set(row_ids(resumed.rows)) <= set(ids(2, 30))
        assert len(resumed.rows) <= 35 - len(saved) + 2
        position = state.tables[NAME]
        assert position["sync"] is None
        assert position["created_until"] == fake.backfill("bf000034")["creationTime"]
        assert sorted(position["open"]) == ids(2, 30)


async def test_the_watermark_never_passes_the_sync_start_in_dagsters_clock():
    """A backfill created by a daemon whose clock is ahead of the webserver's."""
    fake = deployment(5)
    fake.now = BASE_TIME + 10_000.0  # the webserver's clock (its answers' Date)
    fake.backfills.append(make_backfill(5, created=BASE_TIME + 20_000.0))
    state = await synced(fake)
    assert state.tables[NAME]["created_until"] == pytest.approx(BASE_TIME + 10_000.0 - 1.0, abs=2.0)
    fake.now = BASE_TIME + 30_000.0
    result = await sync_table(fake, state, TABLE)
    assert "bf000005" in row_ids(result.rows), "read again while its creation time is ahead"


# --- incremental syncs -------------------------------------------------------------------------


@pytest.mark.parametrize("history", [30, 300])
async def test_an_incremental_sync_with_nothing_new_costs_the_same_few_requests(history):
    fake = deployment(history)
    state = await synced(fake, page_size="50")
    watermark = state.tables[NAME]["created_until"]
    result = await sync_table(fake, state, TABLE, page_size="50")
    [first, second] = fake.calls_of("ConnectorBackfillsPage")
    assert first["filters"] == {"createdAfter": watermark - 300} and first["cursor"] is None
    assert second["cursor"] == f"bf{history - 1:06d}"  # the one within the look-back; then empty
    assert fake.calls_of("ConnectorBackfill") == [{"backfillId": second["cursor"]}]  # still there: the end
    assert sum(fake.calls.values()) == 3
    assert row_ids(result.rows) == [f"bf{history - 1:06d}"]
    assert state.tables[NAME]["created_until"] == watermark


async def test_an_incremental_sync_reads_the_new_backfills():
    fake = deployment(20)
    state = await synced(fake)
    fake.backfills += [make_backfill(i, "REQUESTED" if i == 22 else "COMPLETED_SUCCESS") for i in range(20, 24)]
    result = await sync_table(fake, state, TABLE, page_size="2")
    assert set(ids(*range(20, 24))) <= set(row_ids(result.rows))
    assert len(result.rows) <= 5, "only what is new, and the look-back"
    assert list(state.tables[NAME]["open"]) == ids(22)
    assert state.tables[NAME]["created_until"] == fake.backfill("bf000023")["creationTime"]


async def test_a_backfill_that_completes_is_re_read_by_id_until_it_is_final():
    fake = deployment(20, unfinished=(3, 5))
    state = await synced(fake)
    assert sorted(state.tables[NAME]["open"]) == ids(3, 5)
    fake.backfill("bf000003").update(status="COMPLETED_SUCCESS", endTimestamp=BASE_TIME + 99_000)
    fake.backfill("bf000005")["status"] = "CANCELING"

    result = await sync_table(fake, state, TABLE)
    rows = {row["id"]: row for row in result.rows}
    assert rows["bf000003"]["status"] == "COMPLETED_SUCCESS"
    assert rows["bf000003"]["end_time"] == datetime.fromtimestamp(BASE_TIME + 99_000, tz=timezone.utc)
    assert rows["bf000005"]["status"] == "CANCELING"
    rechecked = [v["backfillId"] for v in fake.calls_of("ConnectorBackfill")]
    assert sorted(set(rechecked)) == ids(3, 5, 19)  # and the walk's last cursor
    assert list(state.tables[NAME]["open"]) == ids(5)

    fake.backfill("bf000005")["status"] = "CANCELED"
    result = await sync_table(fake, state, TABLE)
    assert {row["id"]: row["status"] for row in result.rows}["bf000005"] == "CANCELED"
    assert state.tables[NAME]["open"] == {}
    await sync_table(fake, state, TABLE)
    assert [v["backfillId"] for v in fake.calls_of("ConnectorBackfill")] == ids(19), "final: no longer re-read"


async def test_a_tracked_backfill_deleted_from_dagster_keeps_its_row_and_is_no_longer_tracked():
    fake = deployment(20, unfinished=(3, 7))
    state = await synced(fake)
    fake.delete_backfill("bf000003")
    result = await sync_table(fake, state, TABLE)
    assert result.deletes == [] and "bf000003" not in row_ids(result.rows)
    assert list(state.tables[NAME]["open"]) == ids(7)
    assert sorted(v["backfillId"] for v in fake.calls_of("ConnectorBackfill")) == ids(3, 7, 19)
    await sync_table(fake, state, TABLE)
    assert sorted(v["backfillId"] for v in fake.calls_of("ConnectorBackfill")) == ids(7, 19)


async def test_a_cursor_backfill_deleted_mid_walk_does_not_end_the_walk():
    fake = deployment(30)

    def delete_the_cursor_after_the_first_page(variables):
        if fake.calls["ConnectorBackfillsPage"] == 1:
            page = fake._ConnectorBackfillsPage(variables)
            fake.delete_backfill(page["partitionBackfillsOrError"]["results"][-1]["id"])  # bf000020
            return {"data": page}
        return None

    fake.overrides["ConnectorBackfillsPage"] = delete_the_cursor_after_the_first_page
    state = SyncState(deployment="x")
    result = await sync_table(fake, state, TABLE, page_size="10")
    assert sorted(row_ids(result.rows)) == ids(*range(30))
    pages = fake.calls_of("ConnectorBackfillsPage")
    created = BASE_TIME + 20 * RUN_SPACING
    assert pages[2]["filters"] == {"createdBefore": pytest.approx(created + 0.001)}
    assert pages[2]["cursor"] is None


async def test_unfinished_backfills_past_the_tracking_limit_are_read_again_by_creation_time(monkeypatch):
    monkeypatch.setattr("extractor.tables.backfills.MAX_TRACKED_OPEN", 2)
    unfinished = (2, 4, 6, 8)
    fake = deployment(30, unfinished=unfinished)
    state = await synced(fake, page_size="5")
    position = state.tables[NAME]
    assert sorted(position["open"]) == ids(6, 8)  # the newest, read first
    assert position["open_overflow_since"] == fake.backfill("bf000002")["creationTime"]
    for backfill_id in ids(*unfinished):
        fake.backfill(backfill_id)["status"] = "COMPLETED_FAILED"

    result = await sync_table(fake, state, TABLE, page_size="5")
    statuses = {row["id"]: row["status"] for row in result.rows}
    assert {i: statuses.get(i) for i in ids(*unfinished)} == dict.fromkeys(ids(*unfinished), "COMPLETED_FAILED")
    assert state.tables[NAME]["open"] == {} and state.tables[NAME]["open_overflow_since"] is None
    assert len(result.rows) < 30


async def test_an_incremental_sync_stopped_at_any_checkpoint_resumes_to_every_change():
    fake = deployment(20, unfinished=(3,))
    state = await synced(fake)
    fake.backfills += [make_backfill(i) for i in range(20, 32)]
    fake.backfill("bf000003")["status"] = "FAILED"
    result = await sync_table(fake, state, TABLE, page_size="4")
    for stop in range(len(result.checkpoints) - 1):
        saved = {row["id"]: row["status"] for row in result.saved_rows(stop)}
        resumed_state = resume_from(result, stop)
        resumed = await sync_table(fake, resumed_state, TABLE, page_size="4")
        statuses = {**saved, **{row["id"]: row["status"] for row in resumed.rows}}
        assert set(ids(*range(20, 32), 3)) <= set(statuses), f"stopped at {stop}"
        assert statuses["bf000003"] == "FAILED"
        assert resumed_state.tables[NAME]["open"] == {} and resumed_state.tables[NAME]["sync"] is None


# --- Dagster failing -----------------------------------------------------------------------------


async def test_a_page_whose_num_partitions_fails_is_read_again_without_it(capsys):
    fake = deployment(5)
    fake.overrides["ConnectorBackfillsPage"] = lambda variables: resolver_error(
        "dagster._check.CheckFailedError: Non-asset backfills should have a non-null partition_names field",
        ["partitionBackfillsOrError", "results", 2, "numPartitions"],
    )
    result = await sync_table(fake, SyncState(deployment="x"), TABLE)
    assert sorted(row_ids(result.rows)) == ids(*range(5))
    assert all(row["num_partitions"] is None for row in result.rows)
    assert fake.calls["ConnectorBackfillsPageLean"] == 2
    assert "without numPartitions" in capsys.readouterr().out


async def test_a_malformed_position_starts_the_table_over(capsys):
    fake = deployment(3)
    state = SyncState(deployment="x")
    state.tables[NAME] = {"created_until": "yesterday"}
    result = await sync_table(fake, state, TABLE)
    assert sorted(row_ids(result.rows)) == ids(0, 1, 2)
    assert state.tables[NAME]["created_until"] == fake.backfill("bf000002")["creationTime"]
    assert "malformed" in capsys.readouterr().out


async def test_a_malformed_position_is_replaced_even_when_there_is_nothing_to_read():
    state = SyncState(deployment="x")
    state.tables[NAME] = {"open": ["not", "an", "object"]}
    result = await sync_table(FakeDagster(), state, TABLE)
    assert len(result.checkpoints) == 1
    assert state.tables[NAME] == {"created_until": None, "open": {}, "open_overflow_since": None, "sync": None}


async def test_a_backfill_dagster_fails_to_re_read_stays_tracked_and_the_others_are_read(capsys):
    fake = deployment(20, unfinished=(3, 7))
    state = await synced(fake)
    for backfill_id in ids(3, 7):
        fake.backfill(backfill_id)["status"] = "COMPLETED_SUCCESS"

    def bad_body(variables):
        if variables["backfillId"] == "bf000003":
            return {"data": {"partitionBackfillOrError": {
                "__typename": "PythonError", "message": "DeserializationError: unknown field\n"}}}  # fmt: skip
        return None

    fake.overrides["ConnectorBackfill"] = bad_body
    result = await sync_table(fake, state, TABLE)
    assert {row["id"]: row["status"] for row in result.rows}["bf000007"] == "COMPLETED_SUCCESS"
    assert list(state.tables[NAME]["open"]) == ids(3)
    assert "could not re-read backfill bf000003" in capsys.readouterr().out
    fake.overrides.clear()
    result = await sync_table(fake, state, TABLE)
    assert {row["id"]: row["status"] for row in result.rows}["bf000003"] == "COMPLETED_SUCCESS"
    assert state.tables[NAME]["open"] == {}
