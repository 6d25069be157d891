"""A bounded queue from the extractor's event loop (producer thread) to `update()` (consumer).

It is bounded by weight (the extraction weighs events in bytes), not by items: a page of 5,000
runs and a batch of 50 steps do not cost the same memory, nor do runs with and without large
tags. When the consumer is slower than the API, producers wait at `put`
while the items held weigh `capacity` or more, so memory stays bounded whatever the size of the
history; an item heavier than the capacity still passes, alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

_POLL_SECONDS = 0.2


class ChannelClosed(Exception):
    """The consumer stopped reading; the producer should stop too."""


class Channel:
    def __init__(self, capacity: int, weight: Callable[[Any], int] = lambda item: 1) -> None:
        self._capacity = capacity
        self._weight = weight
        self._items: deque[tuple[Any, int]] = deque()
        self._held = 0  # the weight of the items queued
        self._changed = threading.Condition()
        self._closed = threading.Event()

    async def put(self, item: Any) -> None:
        """Adds `item`, waiting (without blocking the event loop) while the queue is full.

        Raises:
            ChannelClosed: the consumer has closed the channel.
        """
        if self._closed.is_set():
            raise ChannelClosed()
        weight = max(1, self._weight(item))
        with self._changed:
            if self._add(item, weight):
                return
        await asyncio.to_thread(self._put_blocking, item, weight)

    def _add(self, item: Any, weight: int) -> bool:
        """Queues `item` if it fits (or the queue is empty). Called holding `_changed`."""
        if self._items and self._held + weight > self._capacity:
            return False
        self._items.append((item, weight))
        self._held += weight
        self._changed.notify_all()
        return True

    def _put_blocking(self, item: Any, weight: int) -> None:
        with self._changed:
            while not self._closed.is_set():
                if self._add(item, weight):
                    return
                self._changed.wait(timeout=_POLL_SECONDS)
        raise ChannelClosed()

    def get(self, producer_alive: Callable[[], bool]) -> Any:
        """Takes the next item, blocking until there is one.

        Raises:
            RuntimeError: the producer died without a last word (nothing will come).
        """
        while True:
            with self._changed:
                if self._items:
                    item, weight = self._items.popleft()
                    self._held -= weight
                    self._changed.notify_all()
                    return item
                self._changed.wait(timeout=_POLL_SECONDS)
                if self._items:
                    continue
            if not producer_alive():
                with self._changed:
                    if not self._items:
                        raise RuntimeError("the extractor stopped without finishing")

    def empty(self) -> bool:
        """Whether nothing is queued (a `get` now would wait)."""
        with self._changed:
            return not self._items

    def close(self) -> None:
        """Tells producers to stop; items still queued are dropped."""
        self._closed.set()
        with self._changed:
            self._changed.notify_all()
