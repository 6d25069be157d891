"""The retry policy: which failures are retried, how long we wait, when we give up.

This is the only module that imports `backoff` (archived upstream), so replacing it later
touches nothing else. Transient failures back off exponentially with full jitter; HTTP 429
waits for the server's `Retry-After`. Every retry is logged once with its reason and wait.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import backoff

from extractor.errors import RateLimited, TransientError
from extractor.log import log

T = TypeVar("T")

MAX_RETRY_SECONDS = 300.0  # total time spent retrying one request before giving up
MAX_BACKOFF_SECONDS = 30.0  # longest single exponential wait
MAX_RETRY_AFTER_SECONDS = 120.0  # longest wait we grant a Retry-After header


def _retry_after_seconds(error: RateLimited) -> float:
    return min(max(error.retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)


def _is_not_transient(error: Exception) -> bool:
    return not isinstance(error, TransientError) or isinstance(error, RateLimited)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    description: str,
    max_time: float | None = None,
    max_tries: int | None = None,
) -> T:
    """Runs `attempt` until it succeeds, retrying transient errors within `max_time` seconds.

    Args:
        attempt: makes one request; raises a `TransientError` subclass to ask for a retry.
        description: names the request in retry and give-up log lines.
        max_time: the total time budget for retries (default `MAX_RETRY_SECONDS`).
        max_tries: the most attempts of transient failures other than 429 (default: no cap).

    Raises:
        The last error, once it is not transient or the time budget is spent.
    """
    budget = MAX_RETRY_SECONDS if max_time is None else max_time

    def log_retry(details: dict[str, Any]) -> None:
        log.warning(
            f"{description}: {details['exception']} - retry {details['tries']} "
            f"in {details['wait']:.1f}s"
        )

    def log_give_up(details: dict[str, Any]) -> None:
        if _is_not_transient(details["exception"]):
            return  # never retried: the caller reports it
        if max_tries is None or details["tries"] < max_tries:  # at max_tries the caller decides
            log.warning(
                f"{description}: giving up after {details['tries']} tries in "
                f"{details['elapsed']:.0f}s: {details['exception']}"
            )

    @backoff.on_exception(
        backoff.runtime,
        RateLimited,
        value=_retry_after_seconds,
        max_time=budget,
        on_backoff=log_retry,
        jitter=None,
        logger=None,
    )
    @backoff.on_exception(
        backoff.expo,
        TransientError,
        giveup=_is_not_transient,
        max_time=budget,
        max_tries=max_tries,
        on_giveup=log_give_up,
        max_value=MAX_BACKOFF_SECONDS,
        jitter=backoff.full_jitter,
        on_backoff=log_retry,
        logger=None,
    )
    async def attempt_with_policy() -> T:
        return await attempt()

    return await attempt_with_policy()
