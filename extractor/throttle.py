"""The request throttle shared by every request of a sync: a cap on requests in flight and
one `aiolimiter` rate limiter, which slows down when the server answers 429.

Pacing is smooth (one request every 1/rate seconds, no bursts), so a server limit of R
requests/s is not overrun at start-up. On a 429 every request waits for `Retry-After`, and the
ceiling drops to 95% of the rate the server actually accepted over the last few seconds (its
limit, as seen from here) if we were sending at our full rate; otherwise (or with too little
history) to 95% of the refused rate, with the rate at 70% of it, climbing back by 10% a second. The ceiling never rises again during the
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
SATURATED = 0.5  # sending at this share of our rate or more: the accepted rate is the limit


class Throttle:
    def __init__(self, requests_per_second: float, max_concurrency: int) -> None:
        self.ceiling = float(requests_per_second)
        self.rate = self.ceiling
        self._limiter = self._new_limiter(self.rate)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._paused_until = 0.0
        self._started = self._last_adjusted = time.monotonic()
        self._sent: deque[float] = deque()  # when requests left
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
            _remember(self._sent, time.monotonic())
            yield

    def accepted(self) -> None:
        """Records an answer that was not a 429."""
        _remember(self._accepted, time.monotonic())

    def _server_limit(self, now: float) -> float | None:
        """The rate the server accepted lately, if we were sending at full rate; else None."""
        window = min(ACCEPTED_WINDOW_SECONDS, now - self._started)
        if window < MIN_HISTORY_SECONDS:
            return None
        sent = sum(1 for moment in self._sent if moment >= now - window) / window
        if sent < SATURATED * self.rate:
            return None  # we were not pushing: the answers say little about the limit
        accepted = sum(1 for moment in self._accepted if moment >= now - window) / window
        return accepted or None

    def rate_limited(self, retry_after: float) -> None:
        """Records a 429: pause everyone for `retry_after` seconds and lower the rate."""
        self.rate_limited_answers += 1
        now = time.monotonic()
        already_slowed = now < self._paused_until  # sent before the last slow-down
        self._paused_until = max(self._paused_until, now + retry_after)
        if already_slowed:
            return
        limit = self._server_limit(now)
        if limit is not None:
            self.ceiling = max(MIN_RATE, min(self.ceiling, self.rate, limit) * CEILING_FACTOR)
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


def _remember(moments: deque[float], now: float) -> None:
    moments.append(now)
    while moments[0] < now - ACCEPTED_WINDOW_SECONDS:
        moments.popleft()
