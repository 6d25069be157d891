"""The retry policy: which failures are retried, how long we wait, when we give up.

This is the only module that imports `backoff` (archived upstream), so replacing it later
touches nothing else. One request has one budget, whatever answers it gets: `max_time`
seconds and `max_tries` attempts, 429s included. Transient failures back off exponentially
with full jitter; a 429 waits for the server's `Retry-After`. Every retry is logged once with
its reason and wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import backoff

from extractor.errors import RateLimited, TransientError
from extractor.log import log

T = TypeVar("T")

MAX_RETRY_SECONDS = 300.0  # total time one request may take, retries and waits included
MAX_BACKOFF_SECONDS = 30.0  # longest single exponential wait
MAX_RETRY_AFTER_SECONDS = 120.0  # longest wait we grant a Retry-After header


def retry_after_seconds(error: RateLimited) -> float:
    """The server's wait, clamped to `MAX_RETRY_AFTER_SECONDS`."""
    return min(max(error.retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    description: str,
    max_time: float | None = None,
    max_tries: int | None = None,
) -> T:
    """Runs `attempt` until it succeeds, within one budget of time and tries.

    Args:
        attempt: makes one request; raises a `TransientError` subclass to ask for a retry.
        description: names the request in retry and give-up log lines.
        max_time: the total time budget (default `MAX_RETRY_SECONDS`).
        max_tries: the most attempts (default: no cap but the error kind's own).

    Raises:
        The last error, once it is not transient or the budget is spent.
    """
    budget = MAX_RETRY_SECONDS if max_time is None else max_time
    started = time.monotonic()
    waits = backoff.expo(max_value=MAX_BACKOFF_SECONDS)
    next(waits)  # the generator's first value is a priming None
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt()
        except TransientError as error:
            if isinstance(error, RateLimited):
                wait = retry_after_seconds(error)
            else:
                wait = backoff.full_jitter(next(waits))
            elapsed = time.monotonic() - started
            caps = [cap for cap in (max_tries, error.max_tries) if cap is not None]
            out_of_tries = bool(caps) and tries >= min(caps)
            if out_of_tries or elapsed + wait > budget:
                if not out_of_tries or error.max_tries is not None:  # a caller's cap: it decides
                    log.warning(
                        f"{description}: giving up after {tries} tries in {elapsed:.0f}s: {error}"
                    )
                raise
            log.warning(f"{description}: {error} - retry {tries} in {wait:.1f}s")
            await asyncio.sleep(wait)
