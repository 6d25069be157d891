"""The run walk's paging, clamping, deleted cursors and heavy pages, against the fake Dagster."""

import pytest
from aioresponses import aioresponses

from extractor.client import DagsterClient
from extractor.config import parse_configuration
from extractor.runs import MIN_PAGE_SIZE, runs_by_id, walk_runs
from extractor.tables.sensors import fetch_active_runs_by_sensor_name
from extractor.server import FINISHED_STATUSES
from extractor.state import RunWalk
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


def client():
    return DagsterClient(parse_configuration({"base_url": ENDPOINT, "requests_per_second": "1000"}))


def ids(*indexes: int) -> list[str]:
    return [f"run-{i:05d}" for i in indexes]


async def walk(fake: FakeDagster, run_walk: RunWalk, page_size: int):
    with aioresponses() as mocked:
        fake.install(mocked)
        async with client() as dagster:
            return [page async for page in walk_runs(dagster, run_walk, RUN_STATUSES, page_size)]


def walked_ids(pages) -> list[str]:
    return [run["runId"] for page in pages for run in page.runs]


async def test_pages_follow_the_cursor_newest_first_until_an_empty_page():
    fake = FakeDagster([make_run(i) for i in range(25)])
    pages = await walk(fake, RunWalk(), page_size=10)
    assert [len(page.runs) for page in pages] == [10, 10, 5, 0]
    assert [page.finished for page in pages] == [False, False, False, True]
    assert walked_ids(pages) == ids(*range(24, -1, -1))
    assert pages[1].walk.cursor == "run-00005"
    assert pages[1].walk.cursor_created == fake.run("run-00005")["creationTime"]
    assert all(variables["limit"] == 10 for variables in fake.calls_of("ConnectorRunsPage"))


async def test_a_limit_clamped_by_the_server_does_not_end_the_walk():
    fake = FakeDagster([make_run(i) for i in range(25)], max_limit=7)
    pages = await walk(fake, RunWalk(), page_size=10)
    assert walked_ids(pages) == ids(*range(24, -1, -1))
    assert [len(page.runs) for page in pages] == [7, 7, 7, 4, 0]


async def test_a_resumed_walk_continues_after_its_cursor():
    fake = FakeDagster([make_run(i) for i in range(25)])
    resumed = RunWalk(cursor="run-00015", cursor_created=fake.run("run-00015")["creationTime"])
    pages = await walk(fake, resumed, page_size=10)
    assert walked_ids(pages) == ids(*range(14, -1, -1))


async def test_a_cursor_run_deleted_mid_walk_goes_on_from_its_creation_time():
    fake = FakeDagster([make_run(i) for i in range(30)])

    def delete_the_cursor_after_the_first_page(variables):
        if variables.get("cursor") is None and fake.calls["ConnectorRunsPage"] == 1:
            page = fake._ConnectorRunsPage(variables)
            fake.delete_run(page["runsOrError"]["results"][-1]["runId"])  # run-00020
            return {"data": page}
        return None

    fake.overrides["ConnectorRunsPage"] = delete_the_cursor_after_the_first_page
    pages = await walk(fake, RunWalk(), page_size=10)
    assert walked_ids(pages) == ids(*range(29, -1, -1))
    assert fake.calls["ConnectorRunExists"] >= 1
    deleted = 1700000000.0 + 20 * 600.0
    assert pages[1].walk.created_before == pytest.approx(deleted + 0.001)
    assert pages[-1].finished


async def test_a_resumed_walk_whose_cursor_was_deleted_reads_everything_older():
    fake = FakeDagster([make_run(i) for i in range(25)])
    created = fake.run("run-00015")["creationTime"]
    fake.delete_run("run-00015")
    pages = await walk(fake, RunWalk(cursor="run-00015", cursor_created=created), page_size=10)
    assert walked_ids(pages) == ids(*range(14, -1, -1))


async def test_a_walk_over_new_runs_stops_at_its_creation_time():
    fake = FakeDagster([make_run(i) for i in range(30)])
    stop = fake.run("run-00021")["creationTime"]
    pages = await walk(fake, RunWalk(stop_created_below=stop), page_size=4)
    assert walked_ids(pages) == ids(*range(29, 20, -1))
    assert pages[-1].finished
    assert all(variables["filter"] == {} for variables in fake.calls_of("ConnectorRunsPage"))
    assert fake.calls["ConnectorRunsPage"] == 3  # 4 + 4 + (1 kept of 4): no page past the stop


async def test_a_walk_over_changed_runs_lists_every_status_with_updated_after():
    fake = FakeDagster([make_run(i) for i in range(30)])
    since = fake.run("run-00019")["updateTime"]
    pages = await walk(fake, RunWalk(updated_after=since), page_size=100)
    assert walked_ids(pages) == ids(*range(29, 19, -1))  # strictly after
    [first, *_] = fake.calls_of("ConnectorRunsPage")
    assert first["filter"] == {"updatedAfter": since, "statuses": list(RUN_STATUSES)}


async def test_window_filters_are_strict_so_windows_overlap_by_a_millisecond():
    fake = FakeDagster([make_run(i) for i in range(30)])
    low, high = fake.run("run-00010")["creationTime"], fake.run("run-00020")["creationTime"]
    pages = await walk(fake, RunWalk(created_after=low, created_before=high), page_size=100)
    assert walked_ids(pages) == ids(*range(19, 9, -1))  # run-00010 on the boundary is included


async def test_heavy_pages_are_halved_and_the_walk_succeeds():
    fake = FakeDagster([make_run(i) for i in range(100)])

    def statement_timeout_above_30(variables):
        if variables["limit"] > 30:
            return resolver_error(STATEMENT_TIMEOUT, ["runsOrError", "results"])
        return None

    fake.overrides["ConnectorRunsPage"] = statement_timeout_above_30
    pages = await walk(fake, RunWalk(), page_size=100)
    assert walked_ids(pages) == ids(*range(99, -1, -1))
    limits = [variables["limit"] for variables in fake.calls_of("ConnectorRunsPage")]
    assert limits[:5] == [100, 100, 50, 50, 25]
    assert min(limits) == MIN_PAGE_SIZE


async def test_runs_by_id_finds_the_runs_that_still_exist_despite_a_clamped_limit():
    fake = FakeDagster([make_run(i) for i in range(40)], max_limit=7)
    wanted = ids(*range(0, 40, 2)) + ["run-gone"]
    with aioresponses() as mocked:
        fake.install(mocked)
        async with client() as dagster:
            found = [run["runId"] async for batch in runs_by_id(dagster, wanted, 15) for run in batch]
    assert sorted(found) == sorted(ids(*range(0, 40, 2)))


async def test_the_in_progress_walk_finds_every_in_progress_run_despite_a_clamped_limit():
    runs = [
        make_run(i, "STARTED" if i % 2 else "SUCCESS", {"dagster/sensor_name": f"s{i % 3}"})
        for i in range(60)
    ]
    fake = FakeDagster(runs, max_limit=7)
    with aioresponses() as mocked:
        fake.install(mocked)
        async with client() as dagster:
            active = await fetch_active_runs_by_sensor_name(dagster, NOT_FINISHED, 5000)
    assert sorted(run_id for run_ids in active.values() for run_id in run_ids) == ids(*range(1, 60, 2))
    assert sorted(active["s1"]) == ids(*range(1, 60, 6))


async def test_the_in_progress_walk_survives_its_cursor_run_being_deleted():
    runs = [make_run(i, "STARTED", {"dagster/sensor_name": "watch"}) for i in range(30)]
    fake = FakeDagster(runs)

    def delete_the_cursor_after_the_first_page(variables):
        if variables.get("cursor") is None and fake.calls["ConnectorRunsPage"] == 1:
            page = fake._ConnectorRunsPage(variables)
            fake.delete_run(page["runsOrError"]["results"][-1]["runId"])
            return {"data": page}
        return None

    fake.overrides["ConnectorRunsPage"] = delete_the_cursor_after_the_first_page
    with aioresponses() as mocked:
        fake.install(mocked)
        async with client() as dagster:
            active = await fetch_active_runs_by_sensor_name(dagster, NOT_FINISHED, 10)
    still_there = {run["runId"] for run in fake.runs}
    assert still_there <= set(active["watch"])
    assert len(active["watch"]) == len(set(active["watch"])), "no run twice"


def test_runs_heavy_in_tags_get_pages_of_about_the_same_bytes():
    from extractor.runs import PAGE_BYTES_TARGET, MIN_PAGE_SIZE, PageBudget, PageSize

    budget = PageBudget()
    assert budget.runs_per_page(5000) == 5000  # nothing learnt yet
    light = [{"runId": "r", "tags": [{"key": "team", "value": "data"}]}] * 10
    budget.learn(light)
    assert budget.runs_per_page(5000) == 5000
    heavy = [{"runId": "r", "tags": [{"key": f"k{i}", "value": "x" * 200} for i in range(30)]}] * 10
    budget.learn(heavy)
    per_page = budget.runs_per_page(5000)
    assert MIN_PAGE_SIZE <= per_page < 5000
    assert per_page * (400 + sum(len(f"k{i}") + 200 + 30 for i in range(30))) <= PAGE_BYTES_TARGET
    size = PageSize(5000)
    size.cap(per_page)
    assert size.current == per_page
    for _ in range(20):
        size.page_done()
    assert size.current == per_page, "good pages grow a page back to its ceiling, not beyond"
