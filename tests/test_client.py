"""The GraphQL client: answers read by meaning, retries within one budget (no network)."""

import asyncio
import json
import math
from types import SimpleNamespace

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

import extractor.retry
from extractor.client import (
    DEFAULT_RETRY_AFTER_SECONDS,
    DagsterClient,
    Operation,
    parse_retry_after,
    unwrap,
)
from extractor.config import parse_configuration
from extractor.documents import RUNS_PAGE
from extractor.errors import (
    AuthenticationError,
    GraphQLError,
    HeavyQueryError,
    HttpError,
    NotGraphQLAnswer,
    RateLimited,
    RequestTimeout,
    ResultError,
    ServerError,
    ServerFailure,
)
from tests.fake_dagster import (
    STATEMENT_TIMEOUT,
    fast_retries,
    html_page,
    python_error,
    resolver_error,
    validation_error,
)

URL_ROOT = "https://dagster.example.com"
ENDPOINT = f"{URL_ROOT}/graphql"
TOKEN = "tok-abcdef-123456"
VERSION = Operation("ConnectorServerVersion", "query ConnectorServerVersion { version }")
OK = {"data": {"version": "1.13.28"}}
RUNS_VARIABLES = {"filter": {}, "cursor": None, "limit": 10}
# The message of a resolver exception that will recur if asked again.
INVARIANT = "dagster._core.errors.DagsterInvariantViolationError: Cannot provide both asset_keys and prefix"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)
    monkeypatch.setattr("extractor.retry.MAX_RETRY_SECONDS", 3.0)  # a retry loop fails, not hangs


def settings(**extra):
    return parse_configuration({"base_url": URL_ROOT, "api_token": TOKEN, "requests_per_second": "1000", **extra})


def sent_requests(mocked):
    return [(method, url, call) for (method, url), calls in mocked.requests.items() for call in calls]


def script(mocked, *answers: CallbackResult | dict):
    """Answers the requests in order with `answers` (the last one repeats)."""
    remaining = list(answers)

    def answer(url, **kwargs):
        item = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return item if isinstance(item, CallbackResult) else CallbackResult(payload=item)

    mocked.post(ENDPOINT, callback=answer, repeat=True)


class FakeClock:
    """Stands in for the retry policy's and the throttle's clock: sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        assert math.isfinite(seconds) and seconds >= 0, f"asked to wait {seconds}s"
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock(monkeypatch, quick_backoff):
    fake = FakeClock()
    monkeypatch.setattr(extractor.retry, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(extractor.retry, "asyncio", SimpleNamespace(sleep=fake.sleep))
    monkeypatch.setattr("extractor.throttle.time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr("extractor.retry.backoff.full_jitter", lambda value: value)  # no jitter
    monkeypatch.setattr("extractor.retry.MAX_BACKOFF_SECONDS", 30.0)  # waits 1, 2, 4... (fake)
    monkeypatch.setattr("extractor.retry.MAX_RETRY_SECONDS", 300.0)  # fake seconds
    return fake


# --- the basics ----------------------------------------------------------------------------


async def test_sends_token_operation_name_and_returns_data():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, payload=OK)
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == {"version": "1.13.28"}
        [(method, url, call)] = sent_requests(mocked)
        body = json.loads(call.kwargs["data"])
        assert body["operationName"] == "ConnectorServerVersion"
        assert call.kwargs["headers"]["Dagster-Cloud-Api-Token"] == TOKEN
        assert call.kwargs["allow_redirects"] is False


async def test_no_token_header_when_the_token_is_empty():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, payload=OK)
        async with DagsterClient(parse_configuration({"base_url": URL_ROOT})) as client:
            await client.execute(VERSION)
        [(_, _, call)] = sent_requests(mocked)
        assert "Dagster-Cloud-Api-Token" not in call.kwargs["headers"]


async def test_an_invalid_query_is_a_graphql_error_flagged_as_schema_mismatch_not_retried():
    with aioresponses() as mocked:
        script(mocked, validation_error("Cannot query field 'assetsOrError' on type 'Query'."))
        async with DagsterClient(settings()) as client:
            with pytest.raises(GraphQLError) as raised:
                await client.execute(VERSION)
            assert client.requests_sent == 1
    assert raised.value.is_schema_mismatch
    assert "ConnectorServerVersion" in str(raised.value)


# --- Dagster's own error reports, read by meaning -------------------------------------------


async def test_a_deterministic_resolver_error_is_not_retried_and_carries_the_message():
    with aioresponses() as mocked:
        script(mocked, resolver_error(INVARIANT, ["runsOrError"]), OK)
        async with DagsterClient(settings()) as client:
            with pytest.raises(ServerFailure, match="Cannot provide both asset_keys and prefix") as raised:
                await client.execute(RUNS_PAGE, RUNS_VARIABLES)
            assert client.requests_sent == 1
    assert "ConnectorRunsPage" in str(raised.value)


async def test_a_statement_timeout_is_a_heavy_query():
    with aioresponses() as mocked:
        script(mocked, resolver_error(STATEMENT_TIMEOUT, ["runsOrError", "results"]))
        async with DagsterClient(settings()) as client:
            with pytest.raises(HeavyQueryError, match="too heavy"):
                await client.execute(RUNS_PAGE, RUNS_VARIABLES, max_tries=1)
            assert client.requests_sent == 1


async def test_a_statement_timeout_is_retried_like_any_transient_failure():
    runs = {"data": {"runsOrError": {"__typename": "Runs", "results": []}}}
    with aioresponses() as mocked:
        script(mocked, resolver_error(STATEMENT_TIMEOUT, ["runsOrError", "results"]), runs)
        async with DagsterClient(settings()) as client:
            assert await client.execute(RUNS_PAGE, RUNS_VARIABLES) == runs["data"]
            assert client.requests_sent == 2


@pytest.mark.parametrize(
    "message",
    [
        "(psycopg2.OperationalError) server closed the connection unexpectedly",
        "(sqlite3.OperationalError) database is locked",
        "(psycopg2.errors.DeadlockDetected) deadlock detected",
    ],
)
async def test_a_transient_database_failure_is_retried(message):
    with aioresponses() as mocked:
        script(mocked, resolver_error(message, ["runsOrError"]), resolver_error(message, ["runsOrError"]), OK)
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == OK["data"]
            assert client.requests_sent == 3


@pytest.mark.parametrize("status", [200, 500])
async def test_a_python_error_union_is_returned_and_unwrap_raises_the_classified_error(status):
    with aioresponses() as mocked:
        script(mocked, python_error("runsOrError", INVARIANT, status=status), OK)
        async with DagsterClient(settings()) as client:
            data = await client.execute(RUNS_PAGE, RUNS_VARIABLES)
            assert client.requests_sent == 1
    with pytest.raises(ServerFailure, match="Cannot provide both"):
        unwrap(RUNS_PAGE.name, data["runsOrError"], "Runs")


@pytest.mark.parametrize("status", [200, 500])
async def test_a_python_error_union_holding_a_statement_timeout_is_a_heavy_query(status):
    with aioresponses() as mocked:
        script(mocked, python_error("runsOrError", STATEMENT_TIMEOUT, status=status))
        async with DagsterClient(settings()) as client:
            with pytest.raises(HeavyQueryError):
                await client.execute(RUNS_PAGE, RUNS_VARIABLES, max_tries=2)
            assert client.requests_sent == 2  # transient: retried


def test_unwrap_classifies_python_errors_and_names_other_error_types():
    assert unwrap("Q", {"__typename": "Runs", "results": []}, "Runs")["results"] == []
    with pytest.raises(ServerFailure, match="boom"):
        unwrap("Q", {"__typename": "PythonError", "message": "KeyError: boom"}, "Runs")
    with pytest.raises(HeavyQueryError):
        unwrap("Q", {"__typename": "PythonError", "message": STATEMENT_TIMEOUT}, "Runs")
    with pytest.raises(ServerError):
        unwrap("Q", {"__typename": "PythonError", "message": "could not connect to server"}, "Runs")
    with pytest.raises(ResultError, match="RepositoryNotFoundError: Could not find"):
        unwrap("Q", {"__typename": "RepositoryNotFoundError", "message": "Could not find"}, "Schedules")
    with pytest.raises(ResultError):
        unwrap("Q", None, "Runs")


# --- what is not a GraphQL answer ------------------------------------------------------------


async def test_an_html_login_page_is_tried_three_times_then_names_base_url():
    with aioresponses() as mocked:
        script(mocked, html_page("Sign in"))
        async with DagsterClient(settings()) as client:
            with pytest.raises(NotGraphQLAnswer) as raised:
                await client.execute(VERSION)
            assert client.requests_sent == 3
    message = str(raised.value)
    assert "'base_url'" in message and "HTML" in message and "Sign in" in message


async def test_a_proxy_error_page_once_then_the_answer():
    with aioresponses() as mocked:
        script(mocked, CallbackResult(status=503, body="busy"), html_page("Bad gateway"), OK)
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == OK["data"]
            assert client.requests_sent == 3


async def test_408_is_retried():
    with aioresponses() as mocked:
        script(mocked, CallbackResult(status=408, body="Request Timeout"), OK)
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == OK["data"]
            assert client.requests_sent == 2


async def test_a_truncated_answer_is_retried():
    with aioresponses() as mocked:
        script(mocked, CallbackResult(status=200, body='{"data": {"vers'), OK)
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == OK["data"]
            assert client.requests_sent == 2


# --- 429 and the one retry budget ------------------------------------------------------------


async def test_429_waits_for_retry_after_then_succeeds(clock):
    with aioresponses() as mocked:
        script(mocked, CallbackResult(status=429, headers={"Retry-After": "2"}), OK)
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == OK["data"]
            assert client.requests_sent == 2
    assert clock.sleeps == [2.0]


@pytest.mark.parametrize("header", ["NaN", "nan", "inf", "-inf"])
async def test_a_retry_after_that_is_not_a_number_waits_the_default(clock, header):
    with aioresponses() as mocked:
        script(mocked, CallbackResult(status=429, headers={"Retry-After": header}), OK)
        async with DagsterClient(settings()) as client:
            assert await asyncio.wait_for(client.execute(VERSION), 5) == OK["data"]
    assert clock.sleeps == [DEFAULT_RETRY_AFTER_SECONDS]


async def test_429s_and_503s_share_one_budget(clock):
    # 429 waits 3s each, 503s back off 1s then 2s: 3 + 1 + 3 + 2 = 9s, and the fifth
    # answer's wait (3s) would end after the 10s budget: five requests, then give up.
    rate_limited = CallbackResult(status=429, headers={"Retry-After": "3"})
    unavailable = CallbackResult(status=503, body="Service Unavailable")
    answers = [rate_limited, unavailable] * 10
    with aioresponses() as mocked:
        script(mocked, *answers, OK)
        async with DagsterClient(settings()) as client:
            with pytest.raises(RateLimited):
                await client.execute(VERSION, max_time=10.0)
            assert client.requests_sent == 5
    assert sum(clock.sleeps) <= 10.0
    assert clock.sleeps == [3.0, 1.0, 3.0, 2.0]


async def test_max_tries_counts_429s_too(clock):
    with aioresponses() as mocked:
        script(mocked, CallbackResult(status=429, headers={"Retry-After": "0"}), OK)
        async with DagsterClient(settings()) as client:
            with pytest.raises(RateLimited):
                await client.execute(VERSION, max_tries=1)
            assert client.requests_sent == 1


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after(None) == DEFAULT_RETRY_AFTER_SECONDS
    assert parse_retry_after("soon") == DEFAULT_RETRY_AFTER_SECONDS
    assert parse_retry_after("NaN") == DEFAULT_RETRY_AFTER_SECONDS
    assert parse_retry_after("-4") == 0.0


# --- HTTP statuses, redirects, connections ---------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_fail_fast_without_retry(status):
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=status, body="denied", repeat=True)
        async with DagsterClient(settings()) as client:
            with pytest.raises(AuthenticationError, match="api_token") as raised:
                await client.execute(VERSION)
            assert client.requests_sent == 1
    assert TOKEN not in str(raised.value)


async def test_a_wrong_url_says_to_check_base_url():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=404, body="<html>Not Found</html>", repeat=True)
        async with DagsterClient(settings()) as client:
            with pytest.raises(HttpError, match="check 'base_url'"):
                await client.execute(VERSION)
            assert client.requests_sent == 1


async def test_redirect_to_another_host_is_refused():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=307, headers={"Location": "https://evil.example.net/graphql"})
        async with DagsterClient(settings()) as client:
            with pytest.raises(HttpError, match="another host"):
                await client.execute(VERSION)
        hosts = {URL(str(url)).host for (_, url, _) in sent_requests(mocked)}
    assert hosts == {"dagster.example.com"}


async def test_redirect_on_the_same_host_is_followed():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=308, headers={"Location": "/v2/graphql"})
        mocked.post(f"{URL_ROOT}/v2/graphql", payload={"data": {"version": "moved"}})
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == {"version": "moved"}


async def test_an_https_to_http_redirect_on_the_same_host_is_refused():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=301, headers={"Location": "http://dagster.example.com/graphql"})
        async with DagsterClient(settings()) as client:
            with pytest.raises(HttpError, match="refusing"):
                await client.execute(VERSION)


async def test_refused_and_reset_connections_are_retried():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, exception=aiohttp.ClientConnectionError("Connection refused"))
        mocked.post(ENDPOINT, exception=aiohttp.ServerDisconnectedError())
        mocked.post(ENDPOINT, payload=OK)
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == OK["data"]
            assert client.requests_sent == 3


async def test_a_request_timeout_is_a_retryable_timeout_error():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, exception=asyncio.TimeoutError(), repeat=True)
        async with DagsterClient(settings()) as client:
            with pytest.raises(RequestTimeout, match="no answer within 60s"):
                await client.execute(VERSION, max_tries=2)
            assert client.requests_sent == 2
