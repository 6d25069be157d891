"""Tests of the simulated Dagster server (not collected by default: `pytest benchmarks/`)."""

from __future__ import annotations

import asyncio
import json
import random
import time

import aiohttp
import pytest

from benchmarks.dagster_model import ALL_STATUSES, IN_PROGRESS_STATUSES, RUN_FIELDS, DagsterModel
from benchmarks.simulated_dagster import ServerKnobs, SimulatedDagster
from extractor import documents

SELECTOR = {"repositoryLocationName": "analytics", "repositoryName": "__repository__"}


def _brute(model: DagsterModel, runs_filter: dict, cursor: str | None, limit: int | None) -> list[str]:
    f = model._normalise(runs_filter)
    upper = model.total_runs
    if cursor is not None:
        position = model.index_of(cursor)
        if position is None:
            return []
        upper = position
    ids = [run.run_id for run in (model.run(i) for i in reversed(range(upper))) if model.matches(run, f)]
    return ids if limit is None else ids[:limit]


def test_model_queries_match_a_brute_force_reading_of_dagster_semantics() -> None:
    rng = random.Random(7)
    model = DagsterModel(runs=400, seed=2, now=1_700_000_000.0)
    model.add_runs(4)
    model.add_runs(2, status="STARTED")
    for index in rng.sample(range(400), 15):
        model.set_run_status(model.run_id(index), rng.choice(ALL_STATUSES))
    runs = [model.run(i) for i in range(model.total_runs)]
    times = sorted({r.create_ms / 1000 for r in runs} | {r.update_ms / 1000 for r in runs})
    for _ in range(1500):
        f: dict = {}
        for key in ("updatedAfter", "updatedBefore", "createdAfter", "createdBefore"):
            if rng.random() < 0.3:
                f[key] = rng.choice(times) + rng.choice([0, 0.0004, -0.0004, 3000, -3000])
        if rng.random() < 0.2:
            f["statuses"] = rng.sample(ALL_STATUSES, rng.randint(0, 3))
        if rng.random() < 0.1:
            f["statuses"] = list(IN_PROGRESS_STATUSES)
        if rng.random() < 0.1:
            f["runIds"] = [rng.choice(runs).run_id, "not-a-run"]
        if rng.random() < 0.1:
            f["tags"] = [{"key": ".dagster/repository", "value": "__repository__@analytics"}]
        cursor = rng.choice([None, None, rng.choice(runs).run_id, "00000001-bogus"])
        limit = rng.choice([None, 1, 9, 100])
        assert [r.run_id for r in model.select_runs(f, cursor, limit)] == _brute(model, f, cursor, limit)
        assert model.count_runs(f) == len(_brute(model, f, None, None))


def test_run_json_is_the_json_of_the_run() -> None:
    model = DagsterModel(runs=5000, seed=1, repositories=3)
    model.set_run_status(model.run_id(7), "FAILURE")
    for index in list(range(0, 5000, 37)) + [7, 4999]:
        assert json.loads(model.run_json(index)) == model.run(index).graphql(RUN_FIELDS)


def test_runs_are_ordered_and_ids_map_back() -> None:
    model = DagsterModel(runs=1_000_000)
    for index in (0, 1, 499_999, 999_999):
        assert model.index_of(model.run_id(index)) == index
    assert model.create_ms(0) < model.create_ms(1) < model.create_ms(999_999)
    assert model.run_id(10) < model.run_id(11)
    assert model.count_runs({"updatedAfter": model.now_ms / 1000 - 86_400}) > 0


async def _post(session: aiohttp.ClientSession, url: str, operation, variables=None, timeout=5.0):
    body = json.dumps({"query": operation.document, "variables": variables or {},
                       "operationName": operation.name})
    async with session.post(url, data=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        return response.status, response.headers, await response.read()


async def test_answers_the_connector_documents() -> None:
    async with SimulatedDagster(ServerKnobs(runs=30, assets_per_repository=5)) as server:
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            _, _, body = await _post(session, url, documents.RUNS_PAGE, {"filter": {}, "cursor": None, "limit": 10})
            page = json.loads(body)["data"]["runsOrError"]
            assert page["__typename"] == "Runs" and len(page["results"]) == 10
            cursor = page["results"][-1]["runId"]
            _, _, body = await _post(session, url, documents.RUNS_PAGE, {"filter": {}, "cursor": cursor, "limit": 100})
            assert len(json.loads(body)["data"]["runsOrError"]["results"]) == 20
            _, _, body = await _post(session, url, documents.RUNS_COUNT, {"filter": {}})
            assert json.loads(body)["data"]["runsOrError"]["count"] == 30
            _, _, body = await _post(session, url, documents.ASSET_NODES_PAGE,
                                     {"repositorySelector": SELECTOR, "cursor": None, "limit": 3})
            connection = json.loads(body)["data"]["repositoryOrError"]["assetNodesConnection"]
            assert len(connection["nodes"]) == 3 and connection["hasMore"]
            _, _, body = await _post(session, url, documents.ASSET_NODES_PAGE,
                                     {"repositorySelector": SELECTOR, "cursor": connection["cursor"], "limit": 3})
            rest = json.loads(body)["data"]["repositoryOrError"]["assetNodesConnection"]
            assert len(rest["nodes"]) == 2 and not rest["hasMore"]
            _, _, body = await _post(session, url, documents.SENSORS,
                                     {"repositorySelector": {**SELECTOR, "repositoryName": "nope"}})
            assert json.loads(body)["data"]["sensorsOrError"]["__typename"] == "RepositoryNotFoundError"
        assert server.stats.by_operation["ConnectorRunsPage"] == 2


async def test_old_schema_is_a_graphql_validation_error() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, old_schema=True)) as server:
        async with aiohttp.ClientSession() as session:
            status, _, body = await _post(session, server.graphql_url, documents.ASSET_NODES_PAGE,
                                          {"repositorySelector": SELECTOR, "cursor": None, "limit": 3})
            assert status == 400
            assert json.loads(body)["errors"][0]["message"] == (
                'Cannot query field "assetNodesConnection" on type "Repository".')
            status, _, body = await _post(session, server.graphql_url, documents.ASSET_NODES_ALL,
                                          {"repositorySelector": SELECTOR})
            assert status == 200 and len(json.loads(body)["data"]["repositoryOrError"]["assetNodes"]) == 50


async def test_scripted_faults_in_order() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, hang_seconds=30)) as server:
        server.script_faults(documents.SERVER_VERSION.name,
                             ["503", "429", "401", "not_json", "truncated", "reset", "timeout"])
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            assert (await _post(session, url, documents.SERVER_VERSION))[0] == 503
            status, headers, _ = await _post(session, url, documents.SERVER_VERSION)
            assert status == 429 and headers["Retry-After"] == "1"
            assert (await _post(session, url, documents.SERVER_VERSION))[0] == 401
            status, _, body = await _post(session, url, documents.SERVER_VERSION)
            assert status == 200 and body.startswith(b"<html>")
            status, _, body = await _post(session, url, documents.SERVER_VERSION)
            with pytest.raises(ValueError):
                json.loads(body)
            with pytest.raises(aiohttp.ClientError):
                await _post(session, url, documents.SERVER_VERSION)
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await _post(session, url, documents.SERVER_VERSION, timeout=0.5)
            assert time.monotonic() - started < 5
            status, _, body = await _post(session, url, documents.SERVER_VERSION)
            assert status == 200 and json.loads(body) == {"data": {"version": "1.13.28"}}
        assert sum(server.stats.faults.values()) == 7


async def test_rate_limit_answers_429_with_retry_after() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, rate_limit_rps=5, latency_ms=20)) as server:
        async with aiohttp.ClientSession() as session:
            answers = await asyncio.gather(*(_post(session, server.graphql_url, documents.SERVER_VERSION)
                                             for _ in range(12)))
    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) == 5 and statuses.count(429) == 7
    assert all(int(headers["Retry-After"]) >= 1 for status, headers, _ in answers if status == 429)
    assert server.stats.responses_429 == 7 and server.stats.max_in_flight >= 2


def test_threaded_server_and_mutations() -> None:
    with SimulatedDagster(ServerKnobs(runs=10, now=1_700_000_000.0)) as server:
        assert server.url.startswith("http://127.0.0.1:")
        new = server.add_runs(2)
        oldest = server.model.run_id(0)
        server.set_run_status(oldest, "CANCELED")
        rows = list(server.expected_runs())
        assert len(rows) == 12 and rows[-1]["run_id"] == new[-1] and rows[0]["status"] == "CANCELED"

        async def changed() -> list[str]:
            async with aiohttp.ClientSession() as session:
                _, _, body = await _post(session, server.graphql_url, documents.RUNS_PAGE,
                                         {"filter": {"updatedAfter": 1_700_000_000.0}, "cursor": None, "limit": 50})
                return [run["runId"] for run in json.loads(body)["data"]["runsOrError"]["results"]]

        assert asyncio.run(changed()) == [*reversed(new), oldest]
