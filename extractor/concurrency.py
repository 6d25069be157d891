"""Concurrent awaits that leave nothing running behind them when one fails or the caller stops."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def gather_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """The results of `awaitables`, run concurrently, in order. When one fails (or this is
    cancelled), the others are cancelled and awaited before the error propagates, so that no
    request outlives the sync that made it."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def in_order(fetches: Iterable[Callable[[], Awaitable[T]]], in_flight: int) -> AsyncIterator[T]:
    """The results of `fetches`, each started up to `in_flight` ahead of the consumer, yielded
    in the order given. On exit (an error, a cancellation, or a consumer that stops early),
    nothing started is left running."""
    waiting = iter(fetches)
    started: deque[asyncio.Future[T]] = deque()
    try:
        while True:
            while len(started) < in_flight and (fetch := next(waiting, None)) is not None:
                started.append(asyncio.ensure_future(fetch()))
            if not started:
                return
            yield await started.popleft()
    finally:
        for task in started:
            task.cancel()
        await asyncio.gather(*started, return_exceptions=True)
