"""Paging strategy: many small cursor walks (one per asset, or per check), several per request.

Dagster pages an asset's events, or a check's executions, one item at a time. With thousands
of items, one request each would cost thousands of round trips; this strategy puts several
walks in one request (GraphQL aliases `w0`, `w1`, ...), keeps a few requests in flight, and
hands each walk's page on as it comes. A walk's first page is small (most items have few new
events); a walk whose last page was full asks for bigger pages, fewer at a time, so one
answer holds at most about `budget` results. (A short page does not end a walk: only an empty
page or the walk's own stop condition does.)

Walks finish out of order; `on_progress(n)` reports that the first `n` items (in the order
given) are done, which is what a checkpoint may record for a resumed sync to skip.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Walk(Generic[T]):
    """One item's walk: its position in the order given, and where it has got to."""

    index: int
    item: T
    cursor: str | None = None
    pages: int = 0
    limit: int = 0  # the limit of its next page

    @property
    def alias(self) -> str:
        return f"w{self.index}"


@dataclass(frozen=True)
class Step:
    """What one page of a walk gave: its results, and the cursor to go on from (None: done)."""

    results: list
    next_cursor: str | None


FetchBatch = Callable[[list[tuple[Walk[T], int]]], Awaitable[list[Step]]]


async def walk_all(
    items: Sequence[T],
    fetch: FetchBatch[T],
    on_page: Callable[[Walk[T], Step], Awaitable[None]],
    on_progress: Callable[[int], Awaitable[None]],
    first_limit: int = 50,
    next_limit: int = 500,
    budget: int = 1000,
    in_flight: int = 3,
) -> None:
    """Walks every item to its end. `fetch` gets (walk, limit) pairs and returns one `Step`
    per pair, in order."""
    waiting: deque[Walk[T]] = deque(Walk(index, item, limit=first_limit) for index, item in enumerate(items))
    done: set[int] = set()
    progress = 0
    running: set[asyncio.Task[tuple[list[tuple[Walk[T], int]], list[Step]]]] = set()

    async def run(batch: list[tuple[Walk[T], int]]) -> tuple[list[tuple[Walk[T], int]], list[Step]]:
        return batch, await fetch(batch)

    def next_batch() -> list[tuple[Walk[T], int]]:
        batch: list[tuple[Walk[T], int]] = []
        used = 0
        while waiting:
            limit = waiting[0].limit
            if batch and used + limit > budget:
                break
            batch.append((waiting.popleft(), limit))
            used += limit
        return batch

    try:
        while waiting or running:
            while waiting and len(running) < in_flight:
                running.add(asyncio.ensure_future(run(next_batch())))
            finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            going_on = []
            for task in sorted(finished, key=lambda t: t.result()[0][0][0].index):
                batch, steps = task.result()
                for (walk, limit), step in zip(batch, steps):
                    walk.pages += 1
                    await on_page(walk, step)
                    if step.next_cursor is None:
                        done.add(walk.index)
                    else:
                        walk.cursor = step.next_cursor
                        walk.limit = next_limit if len(step.results) >= limit else first_limit
                        going_on.append(walk)
            waiting.extendleft(reversed(going_on))  # walks that go on keep their turn, in order
            advanced = progress
            while advanced in done:
                done.discard(advanced)
                advanced += 1
            if advanced > progress:
                progress = advanced
                await on_progress(progress)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
