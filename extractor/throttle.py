"""The request throttle shared by every request of a sync: a cap on requests in flight and
one `aiolimiter` rate limiter, which slows down when the server answers 429.

Pacing is smooth (one request every 1/rate seconds, no bursts), so a server limit of R
requests/s is not overrun at start-up. On a 429 every request waits for `Retry-After`, and the
ceiling drops to 95% of the rate the server actually accepted over the last few seconds (its
limit, as seen from here); with too little history to measure, to 95% of the refused rate and
the rate to 70% of it, climbing back by 10% a second. The ceiling never rises again during the
sync, so once the server's limit is found the sync runs just under it without further 429s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator

from aiolimiter import AsyncLimiter

from extractor.log import log

DECREASE_FACTOR = 0.7
CEILING_FACTOR = 0.95
RECOVERY_PER_SECOND = 0.10
MIN_RATE = 0.2
ACCEPTED_WINDOW_SECONDS = 5.0  # how far back the accepted rate is measured
MIN_HISTORY_SECONDS = 2.0  # less history than this: no measurement, a multiplicative cut


class Throttle:
    def __init__(self, requests_per_second: float, max_concurrency: int) -> None:
        self.ceiling = float(requests_per_second)
        self.rate = self.ceiling
        self._limiter = self._new_limiter(self.rate)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._paused_until = 0.0
        self._started = self._last_adjusted = time.monotonic()
        self._accepted: deque[float] = deque()  # when answers other than 429 arrived
        self.rate_limited_answers = 0

    @staticmethod
    def _new_limiter(rate: float) -> AsyncLimiter:
        return AsyncLimiter(1, 1.0 / rate)  # capacity 1: no bursts

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Waits for a free slot and this request's turn, then holds the slot."""
        async with self._slots:
            while True:
                pause = self._paused_until - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._recover()
                await self._limiter.acquire()
                if time.monotonic() >= self._paused_until:  # no 429 while we queued
                    break
            yield

    def accepted(self) -> None:
        """Records an answer that was not a 429."""
        now = time.monotonic()
        self._accepted.append(now)
        while self._accepted[0] < now - ACCEPTED_WINDOW_SECONDS:
            self._accepted.popleft()

    def _accepted_rate(self, now: float) -> float | None:
        window = min(ACCEPTED_WINDOW_SECONDS, now - self._started)
        if window < MIN_HISTORY_SECONDS:
            return None
        return sum(1 for moment in self._accepted if moment >= now - window) / window

    def rate_limited(self, retry_after: float) -> None:
        """Records a 429: pause everyone for `retry_after` seconds and lower the rate."""
        self.rate_limited_answers += 1
        now = time.monotonic()
        already_slowed = now < self._paused_until  # sent before the last slow-down
        self._paused_until = max(self._paused_until, now + retry_after)
        if already_slowed:
            return
        accepted = self._accepted_rate(now)
        if accepted is not None and accepted > 0:
            self.ceiling = max(MIN_RATE, min(self.ceiling, self.rate, accepted) * CEILING_FACTOR)
            self._set_rate(self.ceiling)
        else:
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
