"""Baseline: a naive, sequential Dagster connector, as the original example was written.

One request at a time (stdlib `urllib`, no retries, no concurrency), runs in pages of 100
walked with Dagster's run-id cursor, every row upserted as it arrives, and ONE checkpoint at
the very end of the sync (as the original example did). The SDK's runner keeps every row
upserted since the last checkpoint in memory, so the whole history is held until the end.
It writes the same tables as the connector, with the same keys and columns (sensors'
`active_run_ids` from the unfinished runs seen during the walk; assets and their dependencies
from one `assetsOrError` answer with `assetMaterializations(limit: 1)` and `dependencyKeys`;
jobs with one `repositoryOrError` per repository; code locations from `workspaceOrError`), so
the two DuckDB files are comparable.
"""

import json
import urllib.request
from datetime import datetime, timezone

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from tables import TABLES

PAGE_SIZE = 100
RUN_FIELDS = (
    "runId pipelineName status mode creationTime startTime endTime updateTime tags { key value } "
    "repositoryOrigin { repositoryLocationName repositoryName } rootRunId parentRunId"
)
NOT_FINISHED = ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED", "CANCELING")

RUNS = (
    "query NaiveRuns($cursor: String, $limit: Int) { runsOrError(cursor: $cursor, limit: $limit) "
    "{ __typename ... on Runs { results { " + RUN_FIELDS + " } } ... on Error { message } } }"
)
REPOSITORIES = (
    "query NaiveRepositories { repositoriesOrError { __typename "
    "... on RepositoryConnection { nodes { name location { name } } } ... on Error { message } } }"
)
SCHEDULES = (
    "query NaiveSchedules($selector: RepositorySelector!) { schedulesOrError(repositorySelector: $selector) "
    "{ __typename ... on Schedules { results { name cronSchedule pipelineName "
    "scheduleState { selectorId status runningCount } } } ... on Error { message } } }"
)
SENSORS = (
    "query NaiveSensors($selector: RepositorySelector!) { sensorsOrError(repositorySelector: $selector) "
    "{ __typename ... on Sensors { results { name sensorType targets { pipelineName } "
    "sensorState { selectorId status } } } ... on Error { message } } }"
)
ASSETS = (
    "query NaiveAssets { assetsOrError { __typename ... on AssetConnection { nodes { key { path } "
    "definition { isAutoCreatedStub description repository { name location { name } } dependencyKeys { path } } "
    "assetMaterializations(limit: 1) { runId timestamp } } } ... on Error { message } } }"
)
JOBS = (
    "query NaiveJobs($selector: RepositorySelector!) { repositoryOrError(repositorySelector: $selector) "
    "{ __typename ... on Repository { jobs { name description isAssetJob tags { key value } "
    "owners { __typename ... on UserDefinitionOwner { email } ... on TeamDefinitionOwner { team } } } } "
    "... on Error { message } } }"
)
WORKSPACE = (
    "query NaiveWorkspace { workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus "
    "updatedTimestamp locationOrLoadError { __typename ... on RepositoryLocation { repositories { name } "
    "dagsterLibraryVersions { name version } } ... on PythonError { message causes { message } } } } } "
    "... on Error { message } } }"
)


def iso(seconds):
    if seconds is None:
        return None
    return datetime.fromtimestamp(float(seconds), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def graphql(url, operation, query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}, "operationName": operation})
    request = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise RuntimeError(f"{operation}: {answer['errors']}")
    return answer["data"]


def schema(configuration):
    return TABLES


def update(configuration, state):
    url = configuration["base_url"].rstrip("/") + "/graphql"
    sensor_runs = {}
    cursor, count = None, 0
    while True:
        runs = graphql(url, "NaiveRuns", RUNS, {"cursor": cursor, "limit": PAGE_SIZE})["runsOrError"]["results"]
        for run in runs:
            tags = {tag["key"]: tag["value"] for tag in run["tags"]}
            origin = run["repositoryOrigin"] or {}
            op.upsert("dagster_runs", {
                "run_id": run["runId"], "pipeline_name": run["pipelineName"],
                "code_location": origin.get("repositoryLocationName"), "repository": origin.get("repositoryName"),
                "parent_run_id": run["parentRunId"], "root_run_id": run["rootRunId"], "status": run["status"],
                "mode": run["mode"], "creation_time": iso(run["creationTime"]),
                "start_time": iso(run["startTime"]), "end_time": iso(run["endTime"]),
                "update_time": iso(run["updateTime"]), "tags": tags,
            })
            if run["status"] in NOT_FINISHED and "dagster/sensor_name" in tags:
                sensor_runs.setdefault(tags["dagster/sensor_name"], []).append(run["runId"])
        count += len(runs)
        if len(runs) < PAGE_SIZE:
            break
        cursor = runs[-1]["runId"]
    log.info(f"naive: {count} runs")

    nodes = graphql(url, "NaiveRepositories", REPOSITORIES)["repositoriesOrError"]["nodes"]
    for node in nodes:
        location, repository = node["location"]["name"], node["name"]
        selector = {"repositoryLocationName": location, "repositoryName": repository}
        for schedule in graphql(url, "NaiveSchedules", SCHEDULES, {"selector": selector})["schedulesOrError"]["results"]:
            op.upsert("dagster_schedules", {
                "id": schedule["scheduleState"]["selectorId"], "name": schedule["name"],
                "code_location": location, "repository": repository,
                "cron_schedule": schedule["cronSchedule"], "pipeline_name": schedule["pipelineName"],
                "status": schedule["scheduleState"]["status"],
                "running_count": schedule["scheduleState"]["runningCount"],
            })
        for sensor in graphql(url, "NaiveSensors", SENSORS, {"selector": selector})["sensorsOrError"]["results"]:
            jobs = [target["pipelineName"] for target in sensor["targets"] or []]
            op.upsert("dagster_sensors", {
                "id": sensor["sensorState"]["selectorId"], "name": sensor["name"],
                "code_location": location, "repository": repository, "sensor_type": sensor["sensorType"],
                "pipeline_name": ", ".join(jobs) if jobs else None,
                "status": sensor["sensorState"]["status"],
                "active_run_ids": json.dumps(sorted(sensor_runs.get(sensor["name"], []))),
            })
        for job in graphql(url, "NaiveJobs", JOBS, {"selector": selector})["repositoryOrError"]["jobs"]:
            if job["name"].startswith("__ASSET_JOB"):
                continue  # Dagster's implicit asset job
            op.upsert("dagster_jobs", {
                "id": f"{location}:{repository}:{job['name']}", "name": job["name"],
                "code_location": location, "repository": repository, "description": job["description"],
                "is_asset_job": job["isAssetJob"], "tags": {tag["key"]: tag["value"] for tag in job["tags"]},
                "owners": json.dumps([owner.get("email") or f"team:{owner.get('team')}" for owner in job["owners"]]),
            })
    for entry in graphql(url, "NaiveWorkspace", WORKSPACE)["workspaceOrError"]["locationEntries"]:
        location = entry["locationOrLoadError"] or {}
        loaded = location.get("__typename") == "RepositoryLocation"
        failed = location.get("__typename") == "PythonError"
        error = None
        if failed:
            causes = [cause["message"] for cause in location.get("causes") or []]
            error = ((causes[-1] if causes and causes[-1].strip() else location["message"]).strip().splitlines() or [""])[-1][:300]
        versions = location.get("dagsterLibraryVersions") if loaded else None
        op.upsert("dagster_code_locations", {
            "id": entry["name"], "name": entry["name"], "load_status": "FAILED" if failed else entry["loadStatus"],
            "error": error, "updated_time": iso(entry["updatedTimestamp"]),
            "repositories": json.dumps([repo["name"] for repo in location["repositories"]]) if loaded else None,
            "dagster_library_versions": None if versions is None else {v["name"]: v["version"] for v in versions},
        })
    for asset in graphql(url, "NaiveAssets", ASSETS)["assetsOrError"]["nodes"]:
        definition = asset["definition"]
        if not definition or definition["isAutoCreatedStub"]:
            continue  # events only, or a dependency nobody defines: not an asset of the workspace
        downstream = "/".join(asset["key"]["path"])
        for dependency in definition["dependencyKeys"]:
            upstream = "/".join(dependency["path"])
            op.upsert("dagster_asset_dependencies", {
                "id": f"{upstream} -> {downstream}", "upstream_key": upstream, "downstream_key": downstream,
                "code_location": definition["repository"]["location"]["name"],
            })
        latest = (asset["assetMaterializations"] or [{}])[0]
        op.upsert("dagster_assets", {
            "id": "/".join(asset["key"]["path"]), "key_path": ".".join(asset["key"]["path"]),
            "description": definition["description"],
            "code_location": definition["repository"]["location"]["name"],
            "repository": definition["repository"]["name"],
            "last_materialization_run_id": latest.get("runId") or None,
            "last_materialization_time": iso(int(latest["timestamp"]) / 1000) if latest else None,
        })
    op.checkpoint({"last_run_cursor": cursor})  # the only checkpoint: everything is held until here


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    connector.debug()
