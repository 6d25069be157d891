"""Tests of the simulated Dagster server: its run filters against a brute-force reading of
Dagster's semantics, the shapes of its answers to the connector's documents, and its faults."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import datetime, timezone

import aiohttp
import pytest

from benchmarks.dagster_model import (
    ALL_STATUSES, NOT_FINISHED_STATUSES, RUN_FIELDS, DagsterModel, asset_sort_key, selector_id,
)  # fmt: skip
from benchmarks.simulated_dagster import STATEMENT_TIMEOUT, ServerKnobs, SimulatedDagster
from extractor import documents
from extractor.asset_graph import ASSET_GRAPH_PAGE
from extractor.tables import jobs as jobs_table
from extractor.tables import schedules as schedules_table
from extractor.tables import sensors as sensors_table

SELECTOR = {"repositoryLocationName": "analytics", "repositoryName": "__repository__"}
INGESTION = {"repositoryLocationName": "ingestion", "repositoryName": "__repository__"}


def _dagster_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _brute(model: DagsterModel, raw: dict, cursor: str | None, limit: int | None) -> list[str]:
    """Dagster's `runsOrError` re-stated from its source (RunsFilter.to_selector,
    SqlRunStorage._add_filters_to_query / _add_cursor_limit_to_query), over every run."""
    runs = [model.run(i) for i in range(model.stored_runs) if i not in model._deleted]
    by_id = {run.run_id: run for run in runs}
    if cursor:
        if cursor not in by_id:
            return []
        runs = [run for run in runs if run.index < by_id[cursor].index]
    tags = {tag["key"]: tag["value"] for tag in raw["tags"]} if raw.get("tags") else {}
    bounds = {key: _dagster_time(raw[key]) for key in
              ("updatedAfter", "updatedBefore", "createdAfter", "createdBefore") if raw.get(key)}  # fmt: skip
    found = []
    for run in reversed(runs):
        created, updated = _dagster_time(run.create_ms / 1000), _dagster_time(run.update_ms / 1000)
        if raw.get("runIds") and run.run_id not in raw["runIds"]:
            continue
        if raw.get("statuses") and run.status not in raw["statuses"]:
            continue
        if raw.get("pipelineName") and run.job != raw["pipelineName"]:
            continue
        if "updatedAfter" in bounds and not updated > bounds["updatedAfter"]:
            continue
        if "updatedBefore" in bounds and not updated < bounds["updatedBefore"]:
            continue
        if "createdAfter" in bounds and not created > bounds["createdAfter"]:
            continue
        if "createdBefore" in bounds and not created < bounds["createdBefore"]:
            continue
        if any(run.tag_value(key) != value for key, value in tags.items()):
            continue
        found.append(run.run_id)
    return found[:limit] if limit else found


def test_model_queries_match_a_brute_force_reading_of_dagster_semantics() -> None:
    rng = random.Random(7)
    model = DagsterModel(runs=400, seed=2, now=1_700_000_000.0)
    model.add_runs(4)
    model.add_runs(2, status="STARTED")
    model.add_runs(1, status="SUSPENDED")
    for index in rng.sample(range(400), 15):
        model.set_run_status(model.run_id(index), rng.choice(ALL_STATUSES))
    deleted = [model.run_id(i) for i in rng.sample(range(400), 6)] + [model.run_id(402)]
    model.delete_runs(deleted)
    runs = [model.run(i) for i in range(model.stored_runs)]
    times = sorted({r.create_ms / 1000 for r in runs} | {r.update_ms / 1000 for r in runs})
    for _ in range(2000):
        f: dict = {}
        for key in ("updatedAfter", "updatedBefore", "createdAfter", "createdBefore"):
            if rng.random() < 0.3:
                # Offsets below a microsecond too: Dagster rounds the float to a datetime first.
                f[key] = rng.choice(times) + rng.choice([0, 0.0004, -0.0004, 3e-7, -3e-7, 6e-7, 3000, -3000])
        if rng.random() < 0.2:
            f["statuses"] = rng.sample(ALL_STATUSES, rng.randint(0, 3))
        if rng.random() < 0.1:
            f["statuses"] = list(NOT_FINISHED_STATUSES)
        if rng.random() < 0.05:
            f["statuses"] = list(ALL_STATUSES)
        if rng.random() < 0.1:
            f["runIds"] = [rng.choice(runs).run_id, "not-a-run", rng.choice(deleted)]
        if rng.random() < 0.1:
            f["tags"] = [{"key": ".dagster/repository", "value": "__repository__@analytics"}]
        if rng.random() < 0.05:
            f["tags"] = [{"key": "team", "value": "ml"}, {"key": "team", "value": "data"}]
        if rng.random() < 0.05:
            f["pipelineName"] = "reporting_job"
        cursor = rng.choice([None, None, "", rng.choice(runs).run_id, rng.choice(deleted), "00000001-bogus"])
        limit = rng.choice([None, 0, 1, 9, 100])
        assert [r.run_id for r in model.select_runs(f, cursor, limit)] == _brute(model, f, cursor, limit), (f, cursor, limit)
        assert model.count_runs(f) == len(_brute(model, f, None, None)), f


def test_run_json_is_the_json_of_the_run() -> None:
    model = DagsterModel(runs=5000, seed=1, repositories=3)
    model.set_run_status(model.run_id(7), "FAILURE")
    for index in list(range(0, 5000, 37)) + [7, 4999]:
        assert json.loads(model.run_json(index)) == model.run(index).graphql(RUN_FIELDS)
    assert tuple(model.run(3).graphql()) == RUN_FIELDS


def test_runs_are_ordered_and_ids_map_back() -> None:
    model = DagsterModel(runs=1_000_000)
    for index in (0, 1, 499_999, 999_999):
        assert model.index_of(model.run_id(index)) == index
    assert model.create_ms(0) < model.create_ms(1) < model.create_ms(999_999)
    assert model.run_id(10) < model.run_id(11)
    assert model.count_runs({"updatedAfter": model.now_ms / 1000 - 86_400}) > 0


def test_the_connector_queries_stay_cheap_at_a_million_runs() -> None:
    """No query the connector sends may scan the history (the benchmark runs 1M runs)."""
    model = DagsterModel(runs=1_000_000)
    now = model.now_ms / 1000
    started = time.perf_counter()
    assert len(model.select_indices({"statuses": list(NOT_FINISHED_STATUSES)}, None, 5000)) == 6
    assert model.count_runs({"createdBefore": now - 30 * 86400}) > 900_000
    model.select_indices({"updatedAfter": now - 3600, "statuses": list(ALL_STATUSES)}, None, 5000)
    model.select_indices({"runIds": [model.run_id(5), model.run_id(999_999)]}, None, 100)
    model.select_indices({"createdAfter": now - 200 * 86400, "createdBefore": now - 100 * 86400},
                         model.run_id(600_000), 5000)  # fmt: skip
    assert time.perf_counter() - started < 1.0


async def _post(session: aiohttp.ClientSession, url: str, operation, variables=None, timeout=5.0):
    body = json.dumps({"query": operation.document, "variables": variables or {},
                       "operationName": operation.name})  # fmt: skip
    async with session.post(url, data=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        return response.status, response.headers, await response.read()


async def _data(session, url, operation, variables=None):
    status, _, body = await _post(session, url, operation, variables)
    assert status == 200, body
    answer = json.loads(body)
    assert set(answer) == {"data"}
    return answer["data"]


async def test_answers_the_connector_documents_with_dagster_shapes() -> None:
    async with SimulatedDagster(ServerKnobs(runs=30, assets_per_repository=5)) as server:
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            info = await _data(session, url, documents.SERVER_INFO)
            assert info == {"version": "1.13.28", "runStatuses": {"enumValues": [
                {"name": s} for s in ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED",
                                      "SUCCESS", "FAILURE", "CANCELING", "CANCELED")]}}  # fmt: skip
            assert await _data(session, url, documents.SERVER_VERSION) == {"version": "1.13.28"}

            page = (await _data(session, url, documents.RUNS_PAGE, {"filter": {}, "cursor": None, "limit": 10}))["runsOrError"]
            assert page["__typename"] == "Runs" and len(page["results"]) == 10
            assert list(page["results"][0]) == list(RUN_FIELDS)
            created = [run["creationTime"] for run in page["results"]]
            assert created == sorted(created, reverse=True)
            cursor = page["results"][-1]["runId"]
            rest = (await _data(session, url, documents.RUNS_PAGE, {"filter": {}, "cursor": cursor, "limit": 100}))
            assert len(rest["runsOrError"]["results"]) == 20
            count = await _data(session, url, documents.RUNS_COUNT, {"filter": {}})
            assert count == {"runsOrError": {"__typename": "Runs", "count": 30}}
            exists = await _data(session, url, documents.RUN_EXISTS, {"filter": {"runIds": [cursor]}})
            assert exists == {"runsOrError": {"__typename": "Runs", "results": [{"runId": cursor}]}}

            assert page["results"][0]["repositoryOrigin"]["repositoryName"] == "__repository__"
            workspace = (await _data(session, url, documents.WORKSPACE))["workspaceOrError"]
            versions = [{"name": "dagster-shared", "version": "1.13.28"}, {"name": "dagster", "version": "1.13.28"}]
            assert workspace == {"__typename": "Workspace", "locationEntries": [
                {"name": name, "loadStatus": "LOADED", "updatedTimestamp": server.model.location_updated(r),
                 "versionKey": workspace["locationEntries"][r]["versionKey"],
                 "locationOrLoadError": {
                    "__typename": "RepositoryLocation", "repositories": [{"name": "__repository__"}],
                    "dagsterLibraryVersions": versions + ([{"name": "dagster-dbt", "version": "0.29.28"}] if r == 0 else [])}}
                for r, name in enumerate(("analytics", "ingestion"))]}  # fmt: skip
            server_ids = set()
            for entry in workspace["locationEntries"]:  # a gRPC code server's [server_id, container_image]
                server_id, image = json.loads(entry["versionKey"])
                assert str(uuid.UUID(server_id)) == server_id and image is None
                server_ids.add(server_id)
            assert len(server_ids) == 2

            jobs = (await _data(session, url, jobs_table.JOBS[0].operation(1), {"r0": SELECTOR}))["r0"]
            assert jobs["__typename"] == "Repository"
            names = [job["name"] for job in jobs["jobs"]]
            assert names == sorted(names) and "__ASSET_JOB" in names and len(names) == 5
            [implicit] = [job for job in jobs["jobs"] if job["name"] == "__ASSET_JOB"]
            assert implicit == {"name": "__ASSET_JOB", "description": None, "isAssetJob": True, "tags": [], "owners": []}
            owners = [owner for job in jobs["jobs"] for owner in job["owners"]]
            assert {owner["__typename"] for owner in owners} == {"UserDefinitionOwner", "TeamDefinitionOwner"}
            assert all(set(owner) in ({"__typename", "email"}, {"__typename", "team"}) for owner in owners)
            missing = await _data(session, url, jobs_table.JOBS[0].operation(1), {"r0": {**SELECTOR, "repositoryName": "x"}})
            assert missing["r0"]["__typename"] == "RepositoryNotFoundError"

            edges = (await _data(session, url, ASSET_GRAPH_PAGE, {"cursor": None, "limit": 500}))
            nodes = edges["assetsOrError"]["nodes"]
            assert all(set(node["definition"] or {"dependencyKeys": []}) >= {"dependencyKeys"} for node in nodes)
            found = {("/".join(dep["path"]), "/".join(node["key"]["path"])) for node in nodes
                     if node["definition"] and not node["definition"]["isAutoCreatedStub"]
                     for dep in node["definition"]["dependencyKeys"]}  # fmt: skip
            expected = server.model.expected_asset_dependencies()
            assert found == {(row["upstream_key"], row["downstream_key"]) for row in expected}
            assert ("analytics/raw/table_0000", "ingestion/marts/table_0002") in found  # across locations

            schedules = (await _data(session, url, schedules_table.SCHEDULES.operation(1), {"r0": SELECTOR}))
            first = schedules["r0"]["results"][0]
            assert first == {"name": "analytics_schedule_0", "cronSchedule": "0 0 * * *",
                             "pipelineName": "daily_orders_job", "scheduleState": {
                                 "selectorId": selector_id("analytics", "__repository__", "analytics_schedule_0"),
                                 "status": "RUNNING", "runningCount": 1}}  # fmt: skip
            sensors = (await _data(session, url, sensors_table.SENSORS[0].operation(1), {"r0": INGESTION}))
            assert [set(s) for s in sensors["r0"]["results"]] == [
                {"name", "sensorType", "targets", "sensorState"}] * 3
            missing = await _data(session, url, sensors_table.SENSORS[0].operation(1),
                                  {"r0": {**SELECTOR, "repositoryName": "nope"}})  # fmt: skip
            assert missing["r0"] == {
                "__typename": "RepositoryNotFoundError", "message": "Could not find Repository analytics.nope"}

            assets = (await _data(session, url, ASSET_GRAPH_PAGE, {"cursor": None, "limit": 3}))["assetsOrError"]
            assert assets["__typename"] == "AssetConnection" and len(assets["nodes"]) == 3
            assert assets["cursor"] == json.dumps(assets["nodes"][-1]["key"]["path"])
            assert assets["nodes"][0]["definition"]["repository"] == {
                "name": "__repository__", "location": {"name": "analytics"}}
            for node in assets["nodes"]:
                for materialization in node["assetMaterializations"]:
                    assert set(materialization) == {"runId", "timestamp"}
                    assert materialization["timestamp"].isdigit()
        assert server.stats.by_operation["ConnectorRunsPage"] == 2


async def test_a_cursor_whose_run_is_gone_gives_an_empty_page() -> None:
    async with SimulatedDagster(ServerKnobs(runs=50)) as server:
        cursor = server.model.run_id(30)
        server.delete_runs([cursor])
        async with aiohttp.ClientSession() as session:
            for bad in (cursor, "00000001-0000-4000-8000-000000000000", "nonsense"):
                page = await _data(session, server.graphql_url, documents.RUNS_PAGE,
                                   {"filter": {}, "cursor": bad, "limit": 10})  # fmt: skip
                assert page["runsOrError"]["results"] == []
            exists = await _data(session, server.graphql_url, documents.RUN_EXISTS, {"filter": {"runIds": [cursor]}})
            assert exists["runsOrError"]["results"] == []
            count = await _data(session, server.graphql_url, documents.RUNS_COUNT, {"filter": {}})
            assert count["runsOrError"]["count"] == 49


async def test_max_page_size_clamps_limits_silently() -> None:
    async with SimulatedDagster(ServerKnobs(runs=250, max_page_size=100, assets_per_repository=80)) as server:
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            seen, cursor, pages = [], None, 0
            while True:
                page = await _data(session, url, documents.RUNS_PAGE, {"filter": {}, "cursor": cursor, "limit": 5000})
                results = page["runsOrError"]["results"]
                pages += 1
                if not results:
                    break
                assert len(results) <= 100
                seen += [run["runId"] for run in results]
                cursor = results[-1]["runId"]
            assert pages == 4 and len(seen) == len(set(seen)) == 250
            unlimited = await _data(session, url, documents.RUNS_PAGE, {"filter": {}, "cursor": None, "limit": None})
            assert len(unlimited["runsOrError"]["results"]) == 100
            assets = await _data(session, url, ASSET_GRAPH_PAGE, {"cursor": None, "limit": 500})
            assert len(assets["assetsOrError"]["nodes"]) == 100


async def test_assets_page_by_key_like_dagster() -> None:
    async with SimulatedDagster(ServerKnobs(runs=100, assets_per_repository=40)) as server:
        server.set_location_state("ingestion", "failed")
        async with aiohttp.ClientSession() as session:
            nodes, cursor = [], None
            while True:
                answer = await _data(session, server.graphql_url, ASSET_GRAPH_PAGE, {"cursor": cursor, "limit": 7})
                connection = answer["assetsOrError"]
                if not connection["nodes"]:
                    assert connection["cursor"] is None
                    break
                nodes += connection["nodes"]
                cursor = connection["cursor"]
        paths = [node["key"]["path"] for node in nodes]
        assert len({json.dumps(p) for p in paths}) == len(paths)
        assert [asset_sort_key(p) for p in paths] == sorted(asset_sort_key(p) for p in paths)
        defined = [n for n in nodes if n["definition"] and not n["definition"]["isAutoCreatedStub"]]
        assert {"/".join(n["key"]["path"]) for n in defined} == {row["id"] for row in server.model.expected_assets()}
        assert {n["definition"]["repository"]["location"]["name"] for n in defined} == {"analytics"}
        assert any(n["definition"] and n["definition"]["isAutoCreatedStub"] for n in nodes)  # stubs
        # The failed location's materialized assets are still keys, without a definition.
        assert any(n["definition"] is None and n["key"]["path"][0] == "ingestion" for n in nodes)
        assert any(n["definition"] is None and n["key"]["path"][0] == "retired" for n in nodes)


async def test_workspace_reports_locations_that_failed_or_are_loading() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, repositories=3)) as server:
        server.set_location_state("ingestion", "failed")
        server.set_location_state("ml_platform", "loading")
        async with aiohttp.ClientSession() as session:
            workspace = (await _data(session, server.graphql_url, documents.WORKSPACE))["workspaceOrError"]
            entries = {entry["name"]: entry for entry in workspace["locationEntries"]}
            assert entries["ingestion"]["loadStatus"] == "LOADED"
            assert entries["ingestion"]["locationOrLoadError"]["__typename"] == "PythonError"
            error = entries["ingestion"]["locationOrLoadError"]
            assert "DagsterUserCodeProcessError" in error["message"]
            assert error["causes"] == [{"message": "ModuleNotFoundError: No module named 'ingestion_helpers'\n"}]
            assert entries["ml_platform"] == {"name": "ml_platform", "loadStatus": "LOADING", "locationOrLoadError": None,
                                              "updatedTimestamp": server.model.location_updated(2),
                                              "versionKey": str(server.model.location_updated(2))}  # fmt: skip
            assert entries["ingestion"]["versionKey"] == str(server.model.location_updated(1))
            schedules = await _data(session, server.graphql_url, schedules_table.SCHEDULES.operation(1), {"r0": INGESTION})
            assert schedules["r0"]["__typename"] == "RepositoryNotFoundError"
        assert {row["code_location"] for row in server.model.expected_schedules()} == {"analytics"}


async def test_old_schema_and_disabled_introspection_are_validation_errors() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, old_schema=True, introspection=False)) as server:
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            status, _, body = await _post(session, url, sensors_table.SENSORS[0].operation(1), {"r0": SELECTOR})
            assert status == 400
            assert json.loads(body) == {"data": None, "errors": [
                {"message": 'Cannot query field "sensorType" on type "Sensor".'}]}
            untyped = await _data(session, url, sensors_table.SENSORS[1].operation(1), {"r0": SELECTOR})
            assert len(untyped["r0"]["results"]) == 3
            status, _, body = await _post(session, url, documents.SERVER_INFO)
            assert status == 400 and "introspection" in json.loads(body)["errors"][0]["message"]
            status, _, body = await _post(session, url, jobs_table.JOBS[0].operation(1), {"r0": SELECTOR})
            failed = json.loads(body)
            assert status == 500 and failed["data"] is None  # 1.11: GrapheneJob has no _batch_loader
            assert failed["errors"][0]["path"] == ["r0", "jobs", 1, "isAssetJob"]
            unflagged = await _data(session, url, jobs_table.JOBS[1].operation(1), {"r0": SELECTOR})
            assert all("isAssetJob" not in job for job in unflagged["r0"]["jobs"])
            assert await _data(session, url, documents.SERVER_VERSION) == {"version": "1.11.16"}
            status, _, body = await _post(session, url, documents.RUNS_PAGE,
                                          {"filter": {"statuses": ["SUSPENDED"]}, "limit": 5})  # fmt: skip
            assert status == 400 and "does not exist in 'RunStatus' enum" in json.loads(body)["errors"][0]["message"]


async def test_scripted_faults_in_order() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, hang_seconds=30)) as server:
        server.script_faults(documents.SERVER_VERSION.name,
                             ["503", "429", "401", "not_json", "truncated", "reset", "timeout"])  # fmt: skip
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            status, headers, body = await _post(session, url, documents.SERVER_VERSION)
            assert status == 503 and headers["Content-Type"].startswith("text/html") and b"<title>503" in body
            status, headers, _ = await _post(session, url, documents.SERVER_VERSION)
            assert status == 429 and headers["Retry-After"] == "1"
            assert (await _post(session, url, documents.SERVER_VERSION))[0] == 401
            status, _, body = await _post(session, url, documents.SERVER_VERSION)
            assert status == 200 and body.startswith(b"<!DOCTYPE html>") and b"<title>Sign in</title>" in body
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


async def test_resolver_faults_are_dagster_500_json_answers() -> None:
    async with SimulatedDagster(ServerKnobs(runs=20)) as server:
        server.script_faults(documents.RUNS_PAGE.name, ["statement timeout", "resolver_error", "python_error"])
        server.fail_always(schedules_table.SCHEDULES.name, "resolver_error", {"repositorySelector": INGESTION})
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            variables = {"filter": {}, "cursor": None, "limit": 5}
            status, headers, body = await _post(session, url, documents.RUNS_PAGE, variables)
            answer = json.loads(body)
            assert status == 500 and headers["Content-Type"].startswith("application/json")
            assert answer["data"] is None
            (error,) = answer["errors"]
            assert error["message"].startswith(STATEMENT_TIMEOUT)
            assert error["path"] == ["runsOrError", "results"]
            lines = documents.RUNS_PAGE.document.splitlines()
            line, column = error["locations"][0]["line"], error["locations"][0]["column"]
            assert lines[line - 1][column - 1:].startswith("results")
            assert error["extensions"]["errorInfo"]["cls_name"] == "OperationalError"

            status, _, body = await _post(session, url, documents.RUNS_PAGE, variables)
            answer = json.loads(body)
            assert status == 500 and answer["data"] is None and "statement timeout" not in answer["errors"][0]["message"]

            status, _, body = await _post(session, url, documents.RUNS_PAGE, variables)
            answer = json.loads(body)
            assert status == 500 and "errors" not in answer
            assert answer["data"]["runsOrError"]["__typename"] == "PythonError"
            assert answer["data"]["runsOrError"]["message"]

            assert (await _post(session, url, documents.RUNS_PAGE, variables))[0] == 200
            for _ in range(2):  # every time, for this repository only
                status, _, body = await _post(session, url, schedules_table.SCHEDULES.operation(1), {"r0": INGESTION})
                answer = json.loads(body)
                assert status == 500 and answer["data"] is None
                assert answer["errors"][0]["path"] == ["r0", "results", 0, "scheduleState"]
            await _data(session, url, schedules_table.SCHEDULES.operation(1), {"r0": SELECTOR})
            server.stop_failing()
            await _data(session, url, schedules_table.SCHEDULES.operation(1), {"r0": INGESTION})


async def test_statement_timeout_above_a_page_size() -> None:
    async with SimulatedDagster(ServerKnobs(runs=500, statement_timeout_rows=100)) as server:
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            status, _, body = await _post(session, url, documents.RUNS_PAGE, {"filter": {}, "cursor": None, "limit": 200})
            assert status == 500 and STATEMENT_TIMEOUT in json.loads(body)["errors"][0]["message"]
            assert len((await _data(session, url, documents.RUNS_PAGE, {"filter": {}, "limit": 100}))
                       ["runsOrError"]["results"]) == 100  # fmt: skip
            # A query with few matches is cheap whatever its limit.
            few = await _data(session, url, documents.RUNS_PAGE,
                              {"filter": {"statuses": list(NOT_FINISHED_STATUSES)}, "limit": 5000})  # fmt: skip
            assert len(few["runsOrError"]["results"]) == 6
        assert server.stats.statement_timeouts == 1


async def test_rate_limit_answers_429_with_retry_after() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, rate_limit_rps=5, latency_ms=20)) as server:
        async with aiohttp.ClientSession() as session:
            answers = await asyncio.gather(*(_post(session, server.graphql_url, documents.SERVER_VERSION)
                                             for _ in range(12)))  # fmt: skip
    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) == 5 and statuses.count(429) == 7
    assert all(int(headers["Retry-After"]) >= 1 for status, headers, _ in answers if status == 429)
    assert server.stats.responses_429 == 7 and server.stats.max_in_flight >= 2


async def test_unknown_fields_are_validation_errors() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5)) as server:
        async with aiohttp.ClientSession() as session:
            body = json.dumps({"query": "query Q { runsOrError { ... on Runs { results { runId nope } } } }"})
            async with session.post(server.graphql_url, data=body) as response:
                assert response.status == 400
                assert await response.json() == {
                    "data": None, "errors": [{"message": 'Cannot query field "nope" on type "Run".'}]}
            body = json.dumps({"query": "{ assetNodesConnection { nodes { id } } }"})
            async with session.post(server.graphql_url, data=body) as response:
                assert response.status == 400


def test_threaded_server_and_mutations() -> None:
    with SimulatedDagster(ServerKnobs(runs=10, now=1_700_000_000.0)) as server:
        assert server.url.startswith("http://127.0.0.1:")
        new = server.add_runs(2)
        oldest = server.model.run_id(0)
        server.set_run_status(oldest, "CANCELED")
        rows = list(server.expected_runs())
        assert len(rows) == 12 and rows[-1]["run_id"] == new[-1] and rows[0]["status"] == "CANCELED"
        assert rows[0]["creation_time"] == datetime.fromtimestamp(
            server.model.create_ms(0) / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

        async def changed() -> list[str]:
            async with aiohttp.ClientSession() as session:
                data = await _data(session, server.graphql_url, documents.RUNS_PAGE,
                                   {"filter": {"updatedAfter": 1_700_000_000.0, "statuses": list(ALL_STATUSES)},
                                    "cursor": None, "limit": 50})  # fmt: skip
                return [run["runId"] for run in data["runsOrError"]["results"]]

        assert asyncio.run(changed()) == [*reversed(new), oldest]


def test_tables_match_the_connector() -> None:
    from benchmarks.tables import TABLES
    from extractor.tables import declarations

    assert TABLES == declarations()
    model = DagsterModel(runs=20)
    by_name = {table["table"]: table for table in TABLES}
    for name, rows in (("dagster_runs", list(model.expected_runs())), ("dagster_assets", model.expected_assets()),
                       ("dagster_schedules", model.expected_schedules()), ("dagster_sensors", model.expected_sensors()),
                       ("dagster_jobs", model.expected_jobs()), ("dagster_code_locations", model.expected_code_locations()),
                       ("dagster_asset_dependencies", model.expected_asset_dependencies())):  # fmt: skip
        assert rows, name
        assert all(list(row) == list(by_name[name]["columns"]) for row in rows), name


def test_runs_belong_to_a_location_and_some_are_re_executions() -> None:
    model = DagsterModel(runs=20_000, seed=2, repositories=3)
    runs = [model.run(i) for i in range(model.stored_runs)]
    reexecutions = [run for run in runs if run.parent_run_id is not None]
    assert 100 < len(reexecutions) < 1000
    for run in reexecutions:
        parent = model.run(model.index_of(run.parent_run_id))
        assert parent.index < run.index and parent.parent_run_id is None  # the parent is the root
        assert (parent.job, parent.location) == (run.job, run.location)
        assert dict(run.tags)["dagster/parent_run_id"] == dict(run.tags)["dagster/root_run_id"] == parent.run_id
        row = run.row()
        assert row["parent_run_id"] == row["root_run_id"] == parent.run_id
    assert {run.location for run in runs} == {"analytics", "ingestion", "ml_platform"}
    for r in range(3):  # every run's job is one of its repository's jobs
        jobs = {job["name"] for job in model.jobs(r)}
        assert {run.job for run in runs if run.location == model.location_name(r)} <= jobs


async def test_a_failed_location_is_a_failed_code_location_row_and_its_upstream_a_stub() -> None:
    async with SimulatedDagster(ServerKnobs(runs=5, repositories=3, assets_per_repository=6)) as server:
        server.set_location_state("analytics", "failed")
        server.set_location_state("ml_platform", "loading")
        rows = {row["id"]: row for row in server.model.expected_code_locations()}
        assert rows["analytics"]["load_status"] == "FAILED"
        assert rows["analytics"]["error"] == "ModuleNotFoundError: No module named 'analytics_helpers'"
        assert rows["ml_platform"]["load_status"] == "LOADING" and rows["ml_platform"]["repositories"] is None
        assert rows["ingestion"]["dagster_library_versions"] == {"dagster-shared": "1.13.28", "dagster": "1.13.28"}
        assert {row["code_location"] for row in server.model.expected_jobs()} == {"ingestion"}
        async with aiohttp.ClientSession() as session:
            data = await _data(session, server.graphql_url, ASSET_GRAPH_PAGE, {"cursor": None, "limit": 500})
            jobs = await _data(session, server.graphql_url, jobs_table.JOBS[0].operation(1), {"r0": SELECTOR})
        assert jobs["r0"]["__typename"] == "RepositoryNotFoundError"
        [upstream] = [n for n in data["assetsOrError"]["nodes"] if n["key"]["path"] == ["analytics", "raw", "table_0000"]]
        assert upstream["definition"]["isAutoCreatedStub"] is True
        assert upstream["definition"]["repository"]["location"]["name"] == "ingestion"
        edges = {row["id"] for row in server.model.expected_asset_dependencies()}
        assert "analytics/raw/table_0000 -> ingestion/marts/table_0002" in edges


# ---- ticks (dagster_ticks) ----------------------------------------------------------------------


def _brute_ticks(model: DagsterModel, g: int, limit: int | None, before: float | None, after: float | None) -> list[str]:
    """`InstigationState.ticks` re-stated from Dagster's SQL (`_ticks_query`, `_add_filter_limit`)
    over every tick of the instigator: strict bounds as datetimes, newest first, then LIMIT."""
    ticks = model.instigator_ticks
    every = [ticks.tick(g, j) for j in range(ticks.count(g))]
    found = [tick for tick in reversed(every)
             if (not before or _dagster_time(tick["timestamp"]) < _dagster_time(before))
             and (not after or _dagster_time(tick["timestamp"]) > _dagster_time(after))]  # fmt: skip
    return [tick["tickId"] for tick in (found[:limit] if limit else found)]


def test_ticks_match_a_brute_force_reading_of_dagster_semantics() -> None:
    model = DagsterModel(runs=50, ticks=3000, tick_ties=3, seed=4)
    ticks = model.instigator_ticks
    rng = random.Random(11)
    for _ in range(300):
        g = rng.randrange(ticks.instigators)
        times = [ticks.tick(g, j)["timestamp"] for j in range(ticks.count(g))]
        before = rng.choice([None, rng.choice(times), rng.choice(times) + 0.001, rng.choice(times) - 1e-7])
        after = rng.choice([None, None, rng.choice(times), rng.choice(times) - 0.001])
        limit = rng.choice([None, 1, 5, 50, 1000])
        page = [tick["tickId"] for tick in ticks.page(g, limit, before, after)]
        assert page == _brute_ticks(model, g, limit, before, after), (g, limit, before, after)
    for g in range(ticks.instigators):  # ids are unique, timestamps never decrease with ids
        stamps = [ticks.timestamp_us(g, j) for j in range(ticks.count(g))]
        assert stamps == sorted(stamps)
    assert len({tick["tickId"] for tick in (ticks.tick(g, j) for g in range(ticks.instigators)
                                           for j in range(ticks.count(g)))}) == 3000  # fmt: skip


def test_a_million_ticks_hold_no_memory_and_pages_stay_cheap() -> None:
    import tracemalloc

    tracemalloc.start()
    model = DagsterModel(runs=1000, ticks=1_000_000, repositories=10, schedules_per_repository=50,
                         sensors_per_repository=50)  # fmt: skip
    ticks = model.instigator_ticks
    started = time.perf_counter()
    newest = ticks.page(999, 1000)
    older = ticks.page(999, 1000, before=newest[-1]["timestamp"] + 0.001)
    batch = [ticks.page(g, 20) for g in range(100)]
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert ticks.count(999) == 1000 and len(newest) == 1000 and len(older) == 1
    assert older[0]["tickId"] == newest[-1]["tickId"] and all(len(page) == 20 for page in batch)
    assert elapsed < 2.0 and peak < 30_000_000


def test_expected_ticks_are_rows_of_the_ticks_table() -> None:
    from benchmarks.tables import TABLES

    model = DagsterModel(runs=20, ticks=200)
    columns = next(table["columns"] for table in TABLES if table["table"] == "dagster_ticks")
    rows = list(model.expected_ticks())
    assert len(rows) == 200 and all(list(row) == list(columns) for row in rows)
    statuses = {row["status"] for row in rows}
    assert {"STARTED", "SKIPPED", "SUCCESS"} <= statuses
    assert {row["instigator_type"] for row in rows} == {"SCHEDULE", "SENSOR"}
    model.set_location_state("ingestion", "failed")
    assert {row["code_location"] for row in model.expected_ticks()} == {"analytics"}


TICK_SENSOR = {"repositoryLocationName": "analytics", "repositoryName": "__repository__", "name": "analytics_sensor_0"}


async def test_answers_the_tick_documents_as_dagster_1_13() -> None:
    from extractor.tables import ticks as ticks_table

    async with SimulatedDagster(ServerKnobs(runs=10, ticks=24_000, tick_ties=3)) as server:
        async with aiohttp.ClientSession() as session:
            url = server.graphql_url
            batch = await _data(session, url, ticks_table.SENSOR_TICKS.operation(1), {"r0": SELECTOR, "limit": 20})
            results = batch["r0"]["results"]
            assert [s["name"] for s in results] == ["analytics_sensor_0", "analytics_sensor_1", "analytics_sensor_2"]
            state = results[0]["sensorState"]
            assert state["instigationType"] == "SENSOR" and state["selectorId"] == selector_id(
                "analytics", "__repository__", "analytics_sensor_0")
            assert len(state["ticks"]) == 20
            assert set(state["ticks"][0]) == {"tickId", "status", "timestamp", "endTimestamp", "runIds", "runKeys",
                                              "skipReason", "error"}  # fmt: skip
            stamps = [tick["timestamp"] for tick in state["ticks"]]
            assert stamps == sorted(stamps, reverse=True)

            async def walk(before, limit=5000, after=None):
                variables = {"selector": TICK_SENSOR, "limit": limit, "before": before, "after": after}
                data = await _data(session, url, ticks_table.INSTIGATOR_TICKS, variables)
                return data["instigationStateOrError"]

            first = await walk(None)
            assert first["selectorId"] == state["selectorId"]
            assert len(first["ticks"]) == 1000  # 2,000 ticks, 3 per timestamp, clamped to 1,000 silently
            assert [t["tickId"] for t in first["ticks"][:20]] == [t["tickId"] for t in state["ticks"]]
            oldest = first["ticks"][-1]["timestamp"]
            strict = await walk(oldest)
            assert all(tick["timestamp"] < oldest for tick in strict["ticks"])
            assert len(strict["ticks"]) == 999  # the tick sharing `oldest` beyond the cut is skipped...
            overlapping = await walk(oldest + 0.001)
            assert len(overlapping["ticks"]) == 1000  # ...the overlap reads it again
            window = await walk(oldest + 0.001, 1000, oldest - 0.001)
            assert {t["tickId"] for t in window["ticks"]} == {t["tickId"] for t in overlapping["ticks"]
                                                             if t["timestamp"] == oldest}  # fmt: skip
            missing = await _data(
                session, url, ticks_table.INSTIGATOR_TICKS,
                {"selector": {**TICK_SENSOR, "name": "nope"}, "limit": 5, "before": None, "after": None})
            assert missing["instigationStateOrError"]["__typename"] == "InstigationStateNotFoundError"


async def test_old_schema_ticks_have_no_limit_default() -> None:
    from extractor.client import Operation

    unlimited = Operation("Unlimited", """
query Unlimited($selector: InstigationSelector!) {
  instigationStateOrError(instigationSelector: $selector) { ... on InstigationState { ticks { tickId } } }
}""")  # fmt: skip
    for old, expected in ((False, 1000), (True, 1500)):
        async with SimulatedDagster(ServerKnobs(runs=10, ticks=18_000, old_schema=old)) as server:
            async with aiohttp.ClientSession() as session:
                data = await _data(session, server.graphql_url, unlimited, {"selector": TICK_SENSOR})
                assert len(data["instigationStateOrError"]["ticks"]) == expected


def test_the_connector_syncs_every_tick_and_an_idle_sync_costs_one_request_per_kind(monkeypatch) -> None:
    from fivetran_connector_sdk_common.logger import Logging

    from extractor.config import parse_configuration
    from extractor.events import Rows
    from extractor.state import SyncState
    from extractor.sync import extract

    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.WARNING)
    knobs = ServerKnobs(runs=50, ticks=6000, tick_ties=3, repositories=3, schedules_per_repository=4,
                        sensors_per_repository=4, assets_per_repository=5)  # fmt: skip
    with SimulatedDagster(knobs) as server:
        configuration = parse_configuration({"base_url": server.url, "requests_per_second": "2000"})
        state = SyncState(deployment=configuration.deployment)

        def synced() -> dict[str, dict]:
            events = list(extract(configuration, state))
            return {row["id"]: row for e in events if isinstance(e, Rows) and e.table == "dagster_ticks" for row in e.rows}

        def normalised(row: dict) -> dict:
            return {**row, "timestamp": row["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "end_time": row["end_time"] and row["end_time"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")}  # fmt: skip

        rows = synced()
        expected = {row["id"]: row for row in server.model.expected_ticks()}
        assert {key: normalised(row) for key, row in rows.items()} == expected

        server.reset_stats()
        rows = synced()
        ticks = server.stats.by_operation
        assert ticks["ConnectorScheduleTicks"] == 1 and ticks["ConnectorSensorTicks"] == 1  # 3 repositories each
        assert ticks["ConnectorInstigatorTicks"] == 0
        assert len(rows) <= 3 * 8 * 3  # the latest timestamp's ticks of each instigator

        started = [row["id"] for row in expected.values() if row["status"] == "STARTED"]
        assert started
        new = server.add_ticks("analytics_schedule_0", 30, "SUCCESS")  # it had the STARTED tick
        server.set_tick_status(started[-1], "FAILURE")
        server.reset_stats()
        rows = synced()
        assert set(new) <= set(rows) and rows[started[-1]]["status"] == "FAILURE"
        assert rows[started[0]]["status"] != "STARTED"  # it ended when newer ticks came
        assert server.stats.by_operation["ConnectorInstigatorTicks"] <= 3


# ---- backfills and run steps (dagster_backfills, dagster_run_steps) ----------------------------


async def test_backfills_page_newest_first_by_id_cursor_like_dagster() -> None:
    from extractor.backfills import BACKFILL, BACKFILLS_PAGE, BACKFILLS_PAGE_LEAN

    async with SimulatedDagster(ServerKnobs(runs=5, backfills=25)) as server:
        url = server.graphql_url
        async with aiohttp.ClientSession() as session:
            seen, cursor, pages = [], None, 0
            while True:
                data = await _data(session, url, BACKFILLS_PAGE, {"cursor": cursor, "limit": 10, "filters": None})
                results = data["partitionBackfillsOrError"]["results"]
                pages += 1
                if not results:
                    break
                seen += results
                cursor = results[-1]["id"]
            assert pages == 4 and len({b["id"] for b in seen}) == 25
            created = [b["creationTime"] for b in seen]
            assert created == sorted(created, reverse=True)
            assert [b["status"] for b in seen[:2]] == ["REQUESTED", "REQUESTED"]
            assert all(len(b["id"]) == 8 and b["id"].isalpha() and b["id"].islower() for b in seen)
            assert {b["isAssetBackfill"] for b in seen} == {True, False}
            for b in seen:
                assert (b["jobName"] is None) == b["isAssetBackfill"] == (b["assetSelection"] is not None)
            assert set(seen[0]) == set(
                "id status isAssetBackfill jobName partitionSetName assetSelection fromFailure creationTime "
                "endTimestamp tags error user title description numPartitions".split()
            )

            after = seen[5]["creationTime"]
            newer = await _data(session, url, BACKFILLS_PAGE, {"cursor": None, "limit": 100, "filters": {"createdAfter": after}})
            assert [b["id"] for b in newer["partitionBackfillsOrError"]["results"]] == [b["id"] for b in seen[:5]]
            gone = await _data(session, url, BACKFILLS_PAGE, {"cursor": "zzzzzzzz", "limit": 10, "filters": None})
            assert gone["partitionBackfillsOrError"]["results"] == []
            lean = await _data(session, url, BACKFILLS_PAGE_LEAN, {"cursor": None, "limit": 1, "filters": None})
            assert "numPartitions" not in lean["partitionBackfillsOrError"]["results"][0]

            one = await _data(session, url, BACKFILL, {"backfillId": seen[3]["id"]})
            assert one["partitionBackfillOrError"] == {"__typename": "PartitionBackfill", **seen[3]}
            server.delete_backfills([seen[3]["id"]])
            missing = await _data(session, url, BACKFILL, {"backfillId": seen[3]["id"]})
            assert missing["partitionBackfillOrError"] == {
                "__typename": "BackfillNotFoundError", "message": f"Backfill {seen[3]['id']} could not be found."}
            after_deleted = await _data(session, url, BACKFILLS_PAGE, {"cursor": seen[3]["id"], "limit": 10, "filters": None})
            assert after_deleted["partitionBackfillsOrError"]["results"] == []  # a gone cursor: nothing

            [new] = server.add_backfills(1)
            server.set_backfill_status(seen[0]["id"], "COMPLETED_SUCCESS")
            top = await _data(session, url, BACKFILLS_PAGE, {"cursor": None, "limit": 2, "filters": None})
            assert [(b["id"], b["status"]) for b in top["partitionBackfillsOrError"]["results"]] == [
                (new, "REQUESTED"), (seen[0]["id"], "COMPLETED_SUCCESS")]  # fmt: skip
            assert top["partitionBackfillsOrError"]["results"][1]["endTimestamp"] is not None


async def test_backfill_filters_are_validated_as_each_version_does() -> None:
    from extractor.backfills import BACKFILLS_PAGE

    both = {"cursor": None, "limit": 5, "filters": {"selectorId": "abc"}}
    async with SimulatedDagster(ServerKnobs(runs=5, backfills=5, old_schema=True)) as server:
        async with aiohttp.ClientSession() as session:
            status, _, body = await _post(session, server.graphql_url, BACKFILLS_PAGE, both)
            assert status == 400 and b"selectorId" in body
            status, _, body = await _post(session, server.graphql_url, BACKFILLS_PAGE,
                                          {"cursor": None, "limit": 5, "filters": {"stat": ["X"]}})  # fmt: skip
            assert status == 400


async def test_step_stats_are_derived_from_the_run_and_read_by_run_ids() -> None:
    from benchmarks.dagster_model import run_step_stats
    from extractor.step_stats import FINISHED_RUNS_PAGE, RUN_STEP_STATS

    async with SimulatedDagster(ServerKnobs(runs=300, backfills=0)) as server:
        model = server.model
        async with aiohttp.ClientSession() as session:
            listing = await _data(session, server.graphql_url, FINISHED_RUNS_PAGE, {
                "filter": {"updatedAfter": 0.0, "statuses": ["SUCCESS", "FAILURE", "CANCELED"]},
                "cursor": None, "limit": 20})  # fmt: skip
            runs = listing["runsOrError"]["results"]
            assert len(runs) == 20 and all(set(run) == {"runId", "status", "creationTime", "updateTime"} for run in runs)
            assert all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in runs)
            wanted = [run["runId"] for run in runs[:5]] + ["00000000-0000-4000-8000-000000000000"]
            data = await _data(session, server.graphql_url, RUN_STEP_STATS, {"filter": {"runIds": wanted}, "limit": 6})
            results = data["runsOrError"]["results"]
            assert [r["runId"] for r in results] == wanted[:5]  # an unknown run is absent
            for result in results:
                run = model.run(model.index_of(result["runId"]))
                expected = [{k: v for k, v in s.items() if k not in ("__typename", "runId", "markers")}
                            for s in run_step_stats(model, run)]  # fmt: skip
                attempts = [[{k: v for k, v in a.items() if k != "__typename"} for a in s["attempts"]] for s in expected]
                assert [{**s, "attempts": a} for s, a in zip(expected, attempts)] == result["stepStats"]
    every = [s for i in range(model.base_runs) for s in run_step_stats(model, model.run(i))]
    assert {s["status"] for s in every} == {"SUCCESS", "FAILURE", "SKIPPED", "IN_PROGRESS"}
    assert any(len(s["attempts"]) == 2 for s in every), "some steps were retried"
    queued = [model.run(i) for i in range(model.base_runs) if model.run(i).start_ms is None]
    assert queued and all(run_step_stats(model, run) == [] for run in queued)


def test_backfill_and_step_rows_have_the_tables_columns() -> None:
    from benchmarks.dagster_model import expected_run_steps
    from benchmarks.tables import TABLES

    model = DagsterModel(runs=40, backfills=12)
    by_name = {table["table"]: table for table in TABLES}
    for name, rows in (("dagster_backfills", model.backfills.expected_rows()),
                       ("dagster_run_steps", list(expected_run_steps(model)))):  # fmt: skip
        assert rows, name
        assert all(list(row) == list(by_name[name]["columns"]) for row in rows), name


def test_the_connector_syncs_backfills_and_run_steps_from_the_simulated_dagster(monkeypatch) -> None:
    from fivetran_connector_sdk import Logging

    from benchmarks.dagster_model import expected_run_steps
    from extractor.config import parse_configuration
    from extractor.events import Rows
    from extractor.state import SyncState
    from extractor.sync import extract

    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.WARNING)
    iso = "%Y-%m-%dT%H:%M:%S.%fZ"
    with SimulatedDagster(ServerKnobs(runs=120, backfills=30, assets_per_repository=5)) as server:
        configuration = parse_configuration({"base_url": server.url, "requests_per_second": "2000", "page_size": "25",
                                            "step_history_days": "0"})  # every run: the model spans a year
        state = SyncState(deployment=configuration.deployment)

        def synced(table: str) -> list[dict]:
            events = list(extract(configuration, state))
            return [row for e in events if isinstance(e, Rows) and e.table == table for row in e.rows]

        def normalised(row: dict) -> dict:
            return {k: v.strftime(iso) if hasattr(v, "strftime") else v for k, v in row.items()}

        server.reset_stats()
        events = list(extract(configuration, state))
        rows = {t: [normalised(r) for e in events if isinstance(e, Rows) and e.table == t for r in e.rows]
                for t in ("dagster_backfills", "dagster_run_steps")}  # fmt: skip
        assert sorted(rows["dagster_backfills"], key=lambda r: r["id"]) == sorted(
            server.model.backfills.expected_rows(), key=lambda r: r["id"])
        steps = {(r["run_id"], r["step_key"]): r for r in rows["dagster_run_steps"]}
        assert len(steps) == len(rows["dagster_run_steps"]), "each step once"
        assert steps == {(r["run_id"], r["step_key"]): r for r in expected_run_steps(server.model)}
        assert server.stats.by_operation["ConnectorRunStepStats"] <= (120 // 20) * 2 + 2

        server.reset_stats()
        synced("dagster_run_steps")
        assert server.stats.by_operation["ConnectorRunStepStats"] == 0, "nothing new: no steps read"
        assert server.stats.by_operation["ConnectorBackfillsPage"] <= 2
        requested = [r["id"] for r in rows["dagster_backfills"] if r["status"] == "REQUESTED"]
        assert server.stats.by_operation["ConnectorBackfill"] <= len(requested) + 1

        server.set_backfill_status(requested[0], "COMPLETED_SUCCESS")
        [new_run] = server.add_runs(1)
        backfills = {r["id"]: r for r in synced("dagster_backfills")}
        assert backfills[requested[0]]["status"] == "COMPLETED_SUCCESS"
        assert requested[0] not in state.tables["dagster_backfills"]["open"]
        assert new_run in {run_id for run_id, _ in state.tables["dagster_run_steps"]["recent"].items()}


def test_large_run_tags_are_in_the_json_and_the_rows() -> None:
    model = DagsterModel(runs=3000, seed=2, run_tags=30, run_tag_chars=200)
    plain = DagsterModel(runs=3000, seed=2)
    for index in list(range(0, 3000, 53)) + [2999]:
        run = model.run(index)
        assert json.loads(model.run_json(index)) == run.graphql(RUN_FIELDS)
        extra = [(k, v) for k, v in run.tags if k.startswith("org/label_")]
        assert len(extra) == 30 and all(len(v) == 200 for _, v in extra)
        assert run.tags[: len(run.tags) - 30] == plain.run(index).tags
    assert model.run(1).row()["tags"]["org/label_00"] != model.run(2).row()["tags"]["org/label_00"]
