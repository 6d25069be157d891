"""Paging strategy for one instigator's ticks: newest first, by `beforeTimestamp`.

Dagster's `beforeTimestamp` is strict and its page is cut by `limit` wherever it falls, even
among ticks that share a timestamp. So each next page starts `OVERLAP_SECONDS` above the
oldest timestamp of the page before (its ticks come again and are left out by tickId): no tick
at the cut is skipped. When a whole page lies within that overlap (ticks crowding one
timestamp), the next page starts at the oldest timestamp itself, so that every page makes
progress; if such a page holds new ticks, the server may have cut it among ticks sharing that
timestamp and some may be skipped: that is warned of (it takes 1,000 ticks within 1 ms).

A walk ends on an empty page or once a page reaches the walk's `stop`, never on a short page
(servers clamp `limit` silently: 1,000 in 1.13).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from extractor.log import log
from extractor.tick_state import TickWalk

OVERLAP_SECONDS = 0.001
WALK_PAGE_SIZE = 1000  # dagster 1.13's DAGSTER_MAX_TICKS_QUERY_LIMIT

# (beforeTimestamp, afterTimestamp) -> the instigator's ticks strictly between, newest first.
FetchTicks = Callable[[float | None, float | None], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class TickPage:
    ticks: list[dict[str, Any]]  # the page's ticks that the walk had not read yet
    next_before: float | None  # where the walk goes on; None: the walk is finished


def timestamp_of(tick: dict[str, Any]) -> float:
    return float(tick["timestamp"])


def next_before(before: float | None, oldest: float) -> float:
    """The next page's `beforeTimestamp` after a page whose oldest tick is at `oldest`."""
    overlapping = oldest + OVERLAP_SECONDS
    return overlapping if before is None or overlapping < before else oldest


async def walk_ticks(
    fetch: FetchTicks, walk: TickWalk, label: str = "ticks", read: set[str] | None = None
) -> AsyncIterator[TickPage]:
    """Yields the walk's pages, newest first, until an empty page or one reaching `walk.stop`.

    `read`: ids of ticks already read just above `walk.before` (the first page repeats them).
    """
    before = walk.before
    repeated = set(read or ())  # ticks that the next page asks for again
    while True:
        ticks = await fetch(before, None)
        if not ticks:
            yield TickPage([], None)
            return
        oldest = min(timestamp_of(tick) for tick in ticks)
        following = next_before(before, oldest)
        fresh = [tick for tick in ticks if tick["tickId"] not in repeated]
        done = walk.stop is not None and oldest <= walk.stop
        if following == oldest and len(fresh) > 1 and not done:  # not just the last oldest again
            log.warning(
                f"{label}: {len(ticks)} ticks within {OVERLAP_SECONDS}s of {oldest}: the walk "
                "goes on below that timestamp; ticks sharing it beyond this page, if the server "
                "cut the page there, are skipped"
            )
        yield TickPage(fresh, None if done else following)
        if done:
            return
        repeated = {tick["tickId"] for tick in ticks if timestamp_of(tick) < following}
        before = following


async def reread_tick(fetch: FetchTicks, tick_id: str, timestamp: float) -> dict[str, Any] | None:
    """Tick `tick_id` (at `timestamp`) as it is now, from the few ticks around its timestamp;
    None when it is gone (purged)."""
    ticks = await fetch(timestamp + OVERLAP_SECONDS, timestamp - OVERLAP_SECONDS)
    return next((tick for tick in ticks if tick["tickId"] == tick_id), None)
