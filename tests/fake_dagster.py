"""A tiny scripted Dagster GraphQL answerer for unit tests, plugged into aioresponses.

It answers by operation name; runs are served newest-first with Dagster's cursor semantics
(strictly older than the cursor's run). Not a substitute for the integration tests.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from aioresponses import CallbackResult, aioresponses

ENDPOINT = "http://dagster.test/graphql"
BASE_TIME = 1_700_000_000.0


def unknown_field(field: str, type_name: str) -> Callable[[dict], CallbackResult]:
    """An override answering as an older Dagster whose schema lacks `type_name.field`."""
    message = f'Cannot query field "{field}" on type "{type_name}".'
    return lambda variables: CallbackResult(status=400, payload={"errors": [{"message": message}]})


def make_run(index: int, status: str = "SUCCESS", tags: dict[str, str] | None = None) -> dict:
    """Run `index` of a history; its creation time is its `startTime`, BASE_TIME + index."""
    return {
        "runId": f"run-{index:05d}",
        "pipelineName": "job",
        "status": status,
        "mode": "default",
        "startTime": BASE_TIME + index,
        "endTime": BASE_TIME + 1.0 + index,
        "updateTime": BASE_TIME + 1.0 + index,
        "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()],
    }


class FakeDagster:
    def __init__(self, runs: list[dict]) -> None:
        self.runs = runs  # oldest first
        self.calls: Counter[str] = Counter()
        self.overrides: dict[str, Callable[[dict], Any]] = {}
        self.repositories = [("loc_a", "repo"), ("loc_b", "repo")]
        self.sensors: dict[str, list[dict]] = {
            location: [] for location, _ in self.repositories
        }

    def install(self, mocked: aioresponses) -> None:
        mocked.post(ENDPOINT, callback=self._answer, repeat=True)

    def _answer(self, url: Any, **kwargs: Any) -> CallbackResult:
        body = json.loads(kwargs["data"])
        name = body["operationName"]
        self.calls[name] += 1
        if name in self.overrides:
            answer = self.overrides[name](body["variables"])
            if isinstance(answer, CallbackResult):
                return answer
            return CallbackResult(payload=answer)
        return CallbackResult(payload={"data": getattr(self, name)(body["variables"])})

    def _filtered_runs(self, runs_filter: dict) -> list[dict]:
        runs = list(reversed(self.runs))
        if "updatedAfter" in runs_filter:
            runs = [run for run in runs if run["updateTime"] > runs_filter["updatedAfter"]]
        if "createdAfter" in runs_filter:
            runs = [run for run in runs if run["startTime"] > runs_filter["createdAfter"]]
        if "createdBefore" in runs_filter:
            runs = [run for run in runs if run["startTime"] < runs_filter["createdBefore"]]
        if "runIds" in runs_filter:
            runs = [run for run in runs if run["runId"] in runs_filter["runIds"]]
        if "statuses" in runs_filter:
            runs = [run for run in runs if run["status"] in runs_filter["statuses"]]
        for tag in runs_filter.get("tags") or []:
            runs = [run for run in runs if {"key": tag["key"], "value": tag["value"]} in run["tags"]]
        return runs

    def ConnectorServerVersion(self, variables: dict) -> dict:
        return {"version": "1.13.28"}

    def ConnectorRunsCount(self, variables: dict) -> dict:
        count = len(self._filtered_runs(variables["filter"] or {}))
        return {"runsOrError": {"__typename": "Runs", "count": count}}

    def ConnectorRunsPage(self, variables: dict) -> dict:
        runs = self._filtered_runs(variables["filter"] or {})
        cursor = variables.get("cursor")
        if cursor is not None:
            ids = [run["runId"] for run in self.runs]
            if cursor not in ids:
                runs = []  # Dagster: `id < (subquery of a missing run)` matches nothing
            else:
                position = ids.index(cursor)
                runs = [run for run in runs if ids.index(run["runId"]) < position]
        return {"runsOrError": {"__typename": "Runs", "results": runs[: variables["limit"]]}}

    def ConnectorRunExists(self, variables: dict) -> dict:
        runs = self._filtered_runs(variables["filter"])
        return {"runsOrError": {"__typename": "Runs", "results": runs[:1]}}

    def ConnectorRepositories(self, variables: dict) -> dict:
        nodes = [{"name": name, "location": {"name": location}} for location, name in self.repositories]
        return {"repositoriesOrError": {"__typename": "RepositoryConnection", "nodes": nodes}}

    def ConnectorSchedules(self, variables: dict) -> dict:
        location = variables["repositorySelector"]["repositoryLocationName"]
        schedule = {
            "id": f"sched-{location}",
            "name": f"nightly_{location}",
            "cronSchedule": "0 0 * * *",
            "pipelineName": "job",
            "scheduleState": {"status": "RUNNING", "runningCount": 1},
        }
        return {"schedulesOrError": {"__typename": "Schedules", "results": [schedule]}}

    def ConnectorSensors(self, variables: dict) -> dict:
        location = variables["repositorySelector"]["repositoryLocationName"]
        return {"sensorsOrError": {"__typename": "Sensors", "results": self.sensors[location]}}

    def ConnectorSensorsUntyped(self, variables: dict) -> dict:
        answer = self.ConnectorSensors(variables)
        for sensor in answer["sensorsOrError"]["results"]:
            sensor.pop("sensorType", None)
        return answer

    def ConnectorAssetNodes(self, variables: dict) -> dict:
        page = self.ConnectorAssetNodesPage(variables)["repositoryOrError"]
        nodes = page["assetNodesConnection"]["nodes"]
        return {"repositoryOrError": {"__typename": "Repository", "assetNodes": nodes}}

    def ConnectorAssetNodesPage(self, variables: dict) -> dict:
        location = variables["repositorySelector"]["repositoryLocationName"]
        node = {
            "id": f"r.{location}.repo.a/b",
            "assetKey": {"path": ["a", "b"]},
            "description": None,
            "assetMaterializations": [],
        }
        connection = {"nodes": [node], "cursor": "a/b", "hasMore": False}
        return {"repositoryOrError": {"__typename": "Repository", "assetNodesConnection": connection}}
