"""Unit tests of the integration tests' reverse proxy, against a tiny local echo upstream."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from tests.support.dagster_proxy import (
    POSTGRES_TIMEOUT,
    DagsterProxy,
    dagster_python_error,
    dagster_resolver_error,
    html_login_page,
)

RUNS = """query ConnectorRunsPage($filter: RunsFilter, $cursor: String, $limit: Int) {
  runsOrError(filter: $filter, cursor: $cursor, limit: $limit) {
    __typename
    ... on Runs { results { runId } }
    ... on Error { message }
  }
}"""
ASSETS = "query A($limit: Int) { assetsOrError(limit: $limit) { __typename } }"


class Echo:
    """An upstream that answers every request with what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        seen = {
            "method": request.method,
            "path": request.raw_path,
            "headers": dict(request.headers),
            "body": body.decode(),
        }
        self.received.append(seen)
        if request.path == "/teapot":
            return web.Response(status=418, text="short and stout", headers={"X-Pot": "1"})
        return web.json_response(seen)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Echo, str]]:
    echo = Echo()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield echo, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def post(proxy: DagsterProxy, query: str, **variables: Any) -> tuple[int, Any]:
    body = {"query": query, "variables": variables, "operationName": None}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{proxy.url}/graphql", json=body) as response:
            text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def forwarded(echo: Echo) -> list[dict[str, Any]]:
    return [json.loads(seen["body"]) for seen in echo.received if seen["method"] == "POST"]


async def test_forwards_requests_and_answers_unchanged(upstream: tuple[Echo, str]) -> None:
    echo, url = upstream
    raw = b'{"query": "{ version }",\n  "variables": {}}'
    with DagsterProxy(url) as proxy:
        headers = {"Content-Type": "application/json", "User-Agent": "ua/1", "X-Token": "t"}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{proxy.url}/graphql", data=raw, headers=headers) as answer:
                assert answer.status == 200
                assert answer.content_type == "application/json"
                seen = await answer.json()
            async with session.get(URL(f"{proxy.url}/a/b?x=1&y=%2F", encoded=True)) as answer:
                assert (await answer.json())["path"] == "/a/b?x=1&y=%2F"
            async with session.put(f"{proxy.url}/teapot", data=b"tea") as answer:
                assert answer.status == 418
                assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
                assert answer.headers["X-Pot"] == "1"
                assert await answer.text() == "short and stout"
    assert seen["method"] == "POST" and seen["path"] == "/graphql"
    assert seen["body"] == raw.decode()  # byte for byte, not re-serialized
    assert {k: seen["headers"][k] for k in headers} == headers
    assert echo.received[2]["method"] == "PUT" and echo.received[2]["body"] == "tea"
    assert [request["query"] for request in proxy.requests] == ["{ version }"]


async def test_clamp_limit_rewrites_only_the_named_field_above_the_maximum(
    upstream: tuple[Echo, str],
) -> None:
    echo, url = upstream
    with DagsterProxy(url) as proxy:
        proxy.clamp_limit("runsOrError", 100)
        await post(proxy, RUNS, limit=5000, cursor="r1")
        await post(proxy, RUNS, limit=50)
        await post(proxy, RUNS, cursor="r2")  # no limit: left alone
        await post(proxy, ASSETS, limit=5000)
        status, _ = await post(proxy, RUNS, limit=None)
    assert status == 200
    assert [payload["variables"] for payload in forwarded(echo)] == [
        {"limit": 100, "cursor": "r1"},
        {"limit": 50},
        {"cursor": "r2"},
        {"limit": 5000},
        {"limit": None},
    ]
    assert proxy.requests[0]["variables"]["limit"] == 5000  # recorded as the client sent it


async def test_before_forward_runs_first_and_may_block(upstream: tuple[Echo, str]) -> None:
    echo, url = upstream
    calls: list[tuple[int, dict[str, Any]]] = []
    release = threading.Event()

    def hook(payload: dict[str, Any]) -> None:
        calls.append((len(echo.received), payload))
        if payload["variables"].get("cursor") == "slow":
            release.wait(5)

    with DagsterProxy(url) as proxy:
        proxy.clamp_limit("runsOrError", 10)
        proxy.before_forward(hook)
        await post(proxy, RUNS, limit=20)
        slow = asyncio.create_task(post(proxy, RUNS, cursor="slow"))
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        status, _ = await post(proxy, ASSETS)  # served while the hook blocks
        assert status == 200 and not slow.done()
        release.set()
        await slow
    assert calls[0] == (0, {"query": RUNS, "variables": {"limit": 10}, "operationName": None})
    assert [payload["variables"].get("cursor") for payload in forwarded(echo)] == [
        None, None, "slow"
    ]  # fmt: skip


async def test_answer_with_short_circuits(upstream: tuple[Echo, str]) -> None:
    echo, url = upstream
    hooked: list[dict[str, Any]] = []
    with DagsterProxy(url) as proxy:
        proxy.before_forward(hooked.append)
        proxy.answer_with(
            lambda payload: dagster_python_error(
                "runsOrError", POSTGRES_TIMEOUT, exception="sqlalchemy.exc.OperationalError"
            )
            if "runsOrError" in payload["query"]
            else None
        )
        status, body = await post(proxy, RUNS, limit=5)
        assert (status, body) == (
            500,
            {
                "data": {
                    "runsOrError": {
                        "__typename": "PythonError",
                        "message": f"sqlalchemy.exc.OperationalError: {POSTGRES_TIMEOUT}\n",
                    }
                }
            },
        )
        assert not echo.received and not hooked
        assert (await post(proxy, ASSETS))[0] == 200
        assert len(echo.received) == 1 and len(hooked) == 1

        proxy.answer_with(lambda payload: html_login_page())
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{proxy.url}/graphql", json={"query": RUNS}) as answer:
                assert answer.status == 200
                assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
                assert (await answer.text()).startswith("<!DOCTYPE html>")
        assert len(echo.received) == 1


async def test_requests_recorded_and_rules_cleared(upstream: tuple[Echo, str]) -> None:
    echo, url = upstream
    with DagsterProxy(url) as proxy:
        proxy.clamp_limit("runsOrError", 1)
        proxy.before_forward(lambda payload: None)
        proxy.answer_with(lambda payload: (503, "busy", None))
        assert (await post(proxy, RUNS, limit=9))[0] == 503
        proxy.clear_rules()
        assert (await post(proxy, RUNS, limit=9))[0] == 200
        await post(proxy, ASSETS, limit=3)
        async with aiohttp.ClientSession() as session:
            await (await session.get(f"{proxy.url}/server_info")).read()  # not GraphQL
        assert [payload["query"] for payload in proxy.requests] == [RUNS, RUNS, ASSETS]
        assert proxy.requests_for("assetsOrError") == [
            {"query": ASSETS, "variables": {"limit": 3}, "operationName": None}
        ]
        assert len(proxy.requests_for("runsOrError")) == 2
        assert proxy.requests_for("runOrError") == []  # whole names only
        proxy.clear_requests()
        assert proxy.requests == []
    assert forwarded(echo)[0]["variables"] == {"limit": 9}


async def test_failing_rule_answers_502_and_fails_the_with_block(
    upstream: tuple[Echo, str],
) -> None:
    _, url = upstream

    def hook(payload: dict[str, Any]) -> None:
        raise ValueError("broken hook")

    with pytest.raises(RuntimeError, match="broken hook"):
        with DagsterProxy(url) as proxy:
            proxy.before_forward(hook)
            assert (await post(proxy, RUNS))[0] == 502


async def test_stops_cleanly(upstream: tuple[Echo, str]) -> None:
    _, url = upstream
    before = set(threading.enumerate())
    with DagsterProxy(url) as proxy:
        proxy.before_forward(lambda payload: time.sleep(0.01))
        assert (await post(proxy, ASSETS))[0] == 200
    assert set(threading.enumerate()) <= before
    port = int(proxy.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_unreachable_upstream_is_a_502() -> None:
    with DagsterProxy("http://127.0.0.1:9") as proxy:
        assert (await post(proxy, ASSETS))[0] == 502


def test_resolver_error_is_what_dagster_webserver_sends() -> None:
    # Captured from dagster-webserver 1.13.28 (GraphQLServer.gen_graphql_response) with
    # Runs.resolve_results raising sqlalchemy.exc.OperationalError(POSTGRES_TIMEOUT).
    status, body, headers = dagster_resolver_error(
        POSTGRES_TIMEOUT, ["runsOrError", "results"], query=RUNS
    )
    error = body["errors"][0]
    stack = error["extensions"]["errorInfo"].pop("stack")
    assert status == 500 and headers is None and stack
    assert body == {
        "data": None,
        "errors": [
            {
                "message": POSTGRES_TIMEOUT,
                "locations": [{"line": 4, "column": 19}],
                "path": ["runsOrError", "results"],
                "extensions": {
                    "errorInfo": {
                        "__class__": "SerializableErrorInfo",
                        "message": f"sqlalchemy.exc.OperationalError: {POSTGRES_TIMEOUT}\n",
                        "cls_name": "OperationalError",
                        "cause": None,
                        "context": None,
                    }
                },
            }
        ],
    }
    assert "locations" not in dagster_resolver_error("x", ["runsOrError"])[1]["errors"][0]


def test_python_error_message_is_verbatim_by_default() -> None:
    assert dagster_python_error("schedulesOrError", "KeyError: 'k'") == (
        500,
        {"data": {"schedulesOrError": {"__typename": "PythonError", "message": "KeyError: 'k'"}}},
        None,
    )
