"""The request throttle shared by every request of a sync: a cap on requests in flight and
one `aiolimiter` rate limiter, which slows down when the server answers 429.

Pacing is smooth (one request every 1/rate seconds, no bursts), so a server limit of R
requests/s is not overrun at start-up. On a 429 every request waits for `Retry-After`, and
the rate drops to 80% of the rate that was refused; it then climbs back by 2% a second up to
95% of the refused rate, and only slowly (0.5% a second) above it, up to the configured rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiolimiter import AsyncLimiter

from extractor.log import log

DECREASE_FACTOR = 0.8
FAST_RECOVERY_PER_SECOND = 0.02
SLOW_PROBING_PER_SECOND = 0.005
CEILING_MARGIN = 0.95
MIN_RATE = 0.2


class Throttle:
    def __init__(self, requests_per_second: float, max_concurrency: int) -> None:
        self.configured_rate = float(requests_per_second)
        self.rate = self.configured_rate
        self._refused_rate: float | None = None  # the rate of the last 429
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
        self._paused_until = max(self._paused_until, now + retry_after)
        if self._refused_rate is not None and self.rate < self._refused_rate * DECREASE_FACTOR:
            return  # requests sent before the last decrease; already slowed down
        self._refused_rate = self.rate
        self._set_rate(max(MIN_RATE, self.rate * DECREASE_FACTOR))
        self._last_adjusted = now
        log.warning(
            f"Dagster rate limit hit: pausing {retry_after:.1f}s, "
            f"then at most {self.rate:.1f} requests/s"
        )

    def _recover(self) -> None:
        now = time.monotonic()
        elapsed = now - self._last_adjusted
        if elapsed < 1.0 or self.rate >= self.configured_rate or now < self._paused_until:
            return
        self._last_adjusted = now
        ceiling = self._refused_rate * CEILING_MARGIN if self._refused_rate else None
        step = FAST_RECOVERY_PER_SECOND if ceiling and self.rate < ceiling else SLOW_PROBING_PER_SECOND
        target = self.rate * (1 + step * elapsed)
        if ceiling and self.rate < ceiling:
            target = min(target, ceiling)
        self._set_rate(min(self.configured_rate, target))

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self._limiter = self._new_limiter(rate)
