"""Unit tests of the GraphQL client against aioresponses (no network)."""

import asyncio
import json

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from extractor.client import DagsterClient, Operation, parse_retry_after, unwrap
from extractor.config import parse_configuration
from extractor.errors import (
    AuthenticationError,
    GraphQLError,
    HttpError,
    RequestTimeout,
    ResultError,
)

URL_ROOT = "https://dagster.example.com"
ENDPOINT = f"{URL_ROOT}/graphql"
TOKEN = "tok-abcdef-123456"
VERSION = Operation("ConnectorServerVersion", "query ConnectorServerVersion { version }")


def settings(**extra):
    return parse_configuration({"base_url": URL_ROOT, "api_token": TOKEN, **extra})


def sent_requests(mocked):
    return [(method, url, call) for (method, url), calls in mocked.requests.items() for call in calls]


async def test_sends_token_operation_name_and_returns_data():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, payload={"data": {"version": "1.13.28"}})
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == {"version": "1.13.28"}
        [(method, url, call)] = sent_requests(mocked)
        body = json.loads(call.kwargs["data"])
        assert body["operationName"] == "ConnectorServerVersion"
        assert call.kwargs["headers"]["Dagster-Cloud-Api-Token"] == TOKEN
        assert call.kwargs["allow_redirects"] is False


async def test_no_token_header_when_the_token_is_empty():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, payload={"data": {"version": "1.13.28"}})
        async with DagsterClient(parse_configuration({"base_url": URL_ROOT})) as client:
            await client.execute(VERSION)
        [(_, _, call)] = sent_requests(mocked)
        assert "Dagster-Cloud-Api-Token" not in call.kwargs["headers"]


async def test_graphql_errors_raise_and_flag_schema_mismatch():
    errors = [{"message": 'Cannot query field "assetNodesConnection" on type "Repository".'}]
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=400, payload={"errors": errors})
        async with DagsterClient(settings()) as client:
            with pytest.raises(GraphQLError) as raised:
                await client.execute(VERSION)
    assert raised.value.is_schema_mismatch
    assert "ConnectorServerVersion" in str(raised.value)


async def test_server_errors_and_garbage_are_retried_until_success():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=503, body="busy")
        mocked.post(ENDPOINT, status=200, body="<html>proxy page</html>")
        mocked.post(ENDPOINT, payload={"data": {"version": "ok"}})
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == {"version": "ok"}
            assert client.requests_sent == 3


async def test_429_waits_for_retry_after_then_succeeds():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=429, headers={"Retry-After": "0"})
        mocked.post(ENDPOINT, payload={"data": {"version": "ok"}})
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == {"version": "ok"}
            assert client.requests_sent == 2


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_fail_fast_without_retry(status):
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=status, body="denied", repeat=True)
        async with DagsterClient(settings()) as client:
            with pytest.raises(AuthenticationError, match="api_token") as raised:
                await client.execute(VERSION)
            assert client.requests_sent == 1
    assert TOKEN not in str(raised.value)


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


def test_unwrap_raises_on_error_types():
    assert unwrap("Q", {"__typename": "Runs", "results": []}, "Runs")["results"] == []
    with pytest.raises(ResultError, match="PythonError: boom"):
        unwrap("Q", {"__typename": "PythonError", "message": "boom"}, "Runs")


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after(None) == 5.0
    assert parse_retry_after("soon") == 5.0


async def test_a_wrong_url_says_to_check_base_url():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, status=404, body="<html>Not Found</html>")
        async with DagsterClient(settings()) as client:
            with pytest.raises(HttpError, match="check 'base_url'"):
                await client.execute(VERSION)
            assert client.requests_sent == 1


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
        mocked.post(ENDPOINT, payload={"data": {"version": "ok"}})
        async with DagsterClient(settings()) as client:
            assert await client.execute(VERSION) == {"version": "ok"}
            assert client.requests_sent == 3


async def test_a_request_timeout_is_a_retryable_timeout_error():
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, exception=asyncio.TimeoutError(), repeat=True)
        async with DagsterClient(settings()) as client:
            with pytest.raises(RequestTimeout, match="no answer within 60s"):
                await client.execute(VERSION, max_tries=2)
            assert client.requests_sent == 2
