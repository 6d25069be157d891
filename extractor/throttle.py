"""The request throttle shared by every request of a sync: a cap on requests in flight and
one `aiolimiter` rate limiter, which slows down when the server answers 429.

Pacing is smooth (one request every 1/rate seconds, no bursts), so a server limit of R
requests/s is not overrun at start-up. On a 429 every request waits for `Retry-After`; the
rate drops to 70% of the refused rate and the ceiling to 95% of it, and the rate climbs back
by 10% a second up to that ceiling. The ceiling never rises again during the sync, so once
the server's limit is found the sync runs just under it without further 429s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiolimiter import AsyncLimiter

from extractor.log import log

DECREASE_FACTOR = 0.7
CEILING_FACTOR = 0.95
RECOVERY_PER_SECOND = 0.10
MIN_RATE = 0.2


class Throttle:
    def __init__(self, requests_per_second: float, max_concurrency: int) -> None:
        self.ceiling = float(requests_per_second)
        self.rate = self.ceiling
        self._limiter = self._new_limiter(self.rate)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._paused_until = 0.0
        self._last_adjusted = time.monotonic()
        self.rate_limited_answers = 0

    @staticmethod
    def _new_limiter(rate: float) -> AsyncLimiter:
        return AsyncLimiter(1, 1.0 / rate)  # capacity 1: no bursts

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Waits for a free slot and this request's turn, then holds the slot."""
        async with self._slots:
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            self._recover()
            await self._limiter.acquire()
            yield

    def rate_limited(self, retry_after: float) -> None:
        """Records a 429: pause everyone for `retry_after` seconds and lower the rate."""
        self.rate_limited_answers += 1
        now = time.monotonic()
        already_slowed = now < self._paused_until  # sent before the last slow-down
        self._paused_until = max(self._paused_until, now + retry_after)
        if already_slowed:
            return
        self.ceiling = max(MIN_RATE, min(self.ceiling, self.rate * CEILING_FACTOR))
        self._set_rate(max(MIN_RATE, self.rate * DECREASE_FACTOR))
        self._last_adjusted = now
        log.warning(
            f"Dagster rate limit hit: pausing {retry_after:.1f}s, then {self.rate:.1f} "
            f"requests/s rising to at most {self.ceiling:.1f}"
        )

    def _recover(self) -> None:
        now = time.monotonic()
        elapsed = now - self._last_adjusted
        if elapsed < 1.0 or self.rate >= self.ceiling or now < self._paused_until:
            return
        self._last_adjusted = now
        self._set_rate(min(self.ceiling, self.rate * (1 + RECOVERY_PER_SECOND * elapsed)))

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self._limiter = self._new_limiter(rate)
