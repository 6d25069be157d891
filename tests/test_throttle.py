"""The shared throttle: smooth pacing, and slowing down on 429 without overshooting again."""

import asyncio
import time

from extractor.throttle import Throttle


async def test_requests_are_paced_evenly_at_the_configured_rate():
    throttle = Throttle(requests_per_second=50, max_concurrency=4)
    started = time.monotonic()

    async def request():
        async with throttle.slot():
            pass

    await asyncio.gather(*(request() for _ in range(11)))
    assert time.monotonic() - started >= 10 / 50 * 0.9  # no burst at start-up


def test_a_429_lowers_rate_and_ceiling_once_per_pause():
    throttle = Throttle(requests_per_second=40, max_concurrency=4)
    throttle.rate_limited(retry_after=1.0)
    assert throttle.rate == 40 * 0.7 and throttle.ceiling == 40 * 0.95
    throttle.rate_limited(retry_after=1.0)  # a request sent before the slow-down
    assert throttle.rate == 40 * 0.7 and throttle.rate_limited_answers == 2


def test_the_rate_recovers_up_to_the_ceiling_but_not_beyond(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("extractor.throttle.time.monotonic", lambda: clock[0])
    throttle = Throttle(requests_per_second=40, max_concurrency=4)
    throttle.rate_limited(retry_after=1.0)
    for _ in range(60):
        clock[0] += 1.0
        throttle._recover()
    assert throttle.rate == throttle.ceiling == 38.0


def test_the_ceiling_follows_the_rate_the_server_accepted(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("extractor.throttle.time.monotonic", lambda: clock[0])
    throttle = Throttle(requests_per_second=20, max_concurrency=4)
    for step in range(120):  # we sent 20 requests/s for 6 s; the server accepted 5/s
        clock[0] += 0.05
        throttle._sent.append(clock[0])
        if step % 4 == 0:
            throttle.accepted()
    throttle.rate_limited(retry_after=1.0)
    assert throttle.ceiling == throttle.rate == 5 * 0.95


def test_a_429_while_sending_slowly_does_not_collapse_the_rate(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("extractor.throttle.time.monotonic", lambda: clock[0])
    throttle = Throttle(requests_per_second=200, max_concurrency=4)
    for _ in range(10):  # 2 requests/s, far below our 200
        clock[0] += 0.5
        throttle._sent.append(clock[0])
        throttle.accepted()
    throttle.rate_limited(retry_after=1.0)
    assert throttle.rate == 200 * 0.7 and throttle.ceiling == 200 * 0.95
