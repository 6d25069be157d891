"""The run walk's paging and resume rules, against the scripted fake (see fake_dagster.py)."""

from aioresponses import aioresponses

from extractor.client import DagsterClient
from extractor.config import parse_configuration
from extractor.runs import walk_runs
from extractor.state import RunWalk
from tests.fake_dagster import BASE_TIME, ENDPOINT, FakeDagster, make_run


def client():
    return DagsterClient(parse_configuration({"base_url": ENDPOINT}))


async def walk(fake: FakeDagster, run_walk: RunWalk, page_size: int, updated_after=None):
    with aioresponses() as mocked:
        fake.install(mocked)
        async with client() as dagster:
            return [page async for page in walk_runs(dagster, run_walk, updated_after, page_size)]


async def test_pages_follow_the_cursor_newest_first_and_the_last_is_finished():
    fake = FakeDagster([make_run(i) for i in range(25)])
    pages = await walk(fake, RunWalk(), page_size=10)
    assert [len(page.rows) for page in pages] == [10, 10, 5]
    assert [page.finished for page in pages] == [False, False, True]
    assert pages[0].rows[0]["run_id"] == "run-00024"
    assert pages[-1].rows[-1]["run_id"] == "run-00000"
    assert pages[1].walk.cursor == "run-00005"


async def test_an_exact_multiple_ends_with_an_empty_finished_page():
    fake = FakeDagster([make_run(i) for i in range(20)])
    pages = await walk(fake, RunWalk(), page_size=10)
    assert [(len(page.rows), page.finished) for page in pages] == [(10, False), (10, False), (0, True)]
    assert pages[-1].walk.cursor == "run-00000"


async def test_a_resumed_walk_continues_after_its_cursor():
    fake = FakeDagster([make_run(i) for i in range(25)])
    resumed = RunWalk(cursor="run-00015")
    pages = await walk(fake, resumed, page_size=10)
    ids = [row["run_id"] for page in pages for row in page.rows]
    assert ids == [f"run-{i:05d}" for i in range(14, -1, -1)]


async def test_a_deleted_cursor_restarts_the_walk_instead_of_ending_it():
    fake = FakeDagster([make_run(i) for i in range(12)])
    resumed = RunWalk(cursor="run-gone")
    pages = await walk(fake, resumed, page_size=10)
    assert sum(len(page.rows) for page in pages) == 12


async def test_an_incremental_walk_sends_updated_after():
    fake = FakeDagster([make_run(i) for i in range(30)])
    pages = await walk(fake, RunWalk(), page_size=100, updated_after=BASE_TIME + 20.5)
    assert [row["run_id"] for row in pages[0].rows] == [f"run-{i:05d}" for i in range(29, 19, -1)]
