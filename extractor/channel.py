"""A bounded queue from the extractor's event loop (producer thread) to `update()` (consumer).

When the consumer is slower than the API, producers wait at `put`, so at most `maxsize`
pages are held in memory whatever the size of the history.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

_POLL_SECONDS = 0.2


class ChannelClosed(Exception):
    """The consumer stopped reading; the producer should stop too."""


class Channel:
    def __init__(self, maxsize: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._closed = threading.Event()

    async def put(self, item: Any) -> None:
        """Adds `item`, waiting (without blocking the event loop) while the queue is full.

        Raises:
            ChannelClosed: the consumer has closed the channel.
        """
        if self._closed.is_set():
            raise ChannelClosed()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._put_blocking, item)

    def _put_blocking(self, item: Any) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue
        raise ChannelClosed()

    def get(self, producer_alive: Callable[[], bool]) -> Any:
        """Takes the next item, blocking until there is one.

        Raises:
            RuntimeError: the producer died without a last word (nothing will come).
        """
        while True:
            try:
                return self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not producer_alive() and self._queue.empty():
                    raise RuntimeError("the extractor stopped without finishing") from None

    def close(self) -> None:
        """Tells producers to stop; items still queued are dropped."""
        self._closed.set()
