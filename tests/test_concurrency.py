"""`in_order`: results in the order given, at most `in_flight` started ahead, nothing left
running when a fetch fails or the consumer stops."""

from __future__ import annotations

import asyncio

import pytest

from extractor.concurrency import in_order


class Fetches:
    """Fetches that take longer the later they come (a failing one fails at once), recording
    how many run at once."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.running = 0
        self.most_running = 0
        self.started: list[int] = []

    def fetch(self, index: int, fail: bool = False):
        async def run() -> int:
            self.started.append(index)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            try:
                if fail:
                    raise RuntimeError(f"fetch {index} failed")
                await asyncio.sleep(0.005 * (index + 1))
                return index
            finally:
                self.running -= 1

        return run


def test_results_come_in_the_order_given_with_at_most_in_flight_running():
    fetches = Fetches(10)

    async def consume() -> list[int]:
        return [result async for result in in_order([fetches.fetch(i) for i in range(10)], in_flight=3)]

    assert asyncio.run(consume()) == list(range(10))
    assert fetches.most_running == 3


def test_a_failing_fetch_cancels_those_running_and_starts_no_more():
    fetches = Fetches(10)

    async def consume() -> None:
        seen = []
        with pytest.raises(RuntimeError, match="fetch 4 failed"):
            async for result in in_order([fetches.fetch(i, fail=i == 4) for i in range(10)], in_flight=3):
                seen.append(result)
        assert seen == [0, 1, 2, 3] and fetches.running == 0  # before asyncio.run's own clean-up

    asyncio.run(consume())
    assert max(fetches.started) <= 4 + 3 - 1  # none started beyond the window of the failure


def test_a_consumer_that_stops_early_leaves_nothing_running():
    fetches = Fetches(10)

    async def consume() -> None:
        pages = in_order([fetches.fetch(i) for i in range(10)], in_flight=3)
        async for result in pages:
            if result == 1:
                break
        await pages.aclose()
        assert fetches.running == 0

    asyncio.run(consume())
    assert max(fetches.started) <= 1 + 3 - 1
