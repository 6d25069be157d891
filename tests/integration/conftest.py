"""Fixtures for the integration tests: a real dagster-webserver with the bundled demo
definitions and real runs, and the ground truth read from it.

Ground truth avoids the connector's own query paths: runs and materializations come from the
Dagster instance's storage (`demo/seed.py dump-*`), definitions from `repositoriesOrError`
with the repository's nested `schedules`/`sensors`/`assetNodes` fields.
"""

from __future__ import annotations

import json
import time
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from demo.dagster_demo import DagsterDemo, DagsterDemoError, default_dagster_python
from extractor.tables import declarations
from tests.support.fivetran_runner import ConnectorProject

INITIAL_RUNS = 300
API_TOKEN = "it-secret-token-7f3a9c1e"  # self-hosted Dagster ignores it; must never leak
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")

_DEFINITIONS_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        schedules { name cronSchedule pipelineName scheduleState { selectorId status } }
        sensors { name sensorType targets { pipelineName } sensorState { selectorId status } }
        assetNodes { assetKey { path } description isAutoCreatedStub dependencyKeys { path } }
        jobs {
          name description isAssetJob tags { key value }
          owners { ... on UserDefinitionOwner { email } ... on TeamDefinitionOwner { team } }
        }
      }
    }
  }
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name loadStatus updatedTimestamp
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } dagsterLibraryVersions { name version } }
        }
      }
    }
  }
}
"""


@contextmanager
def running_demo(home: Path, dagster_python: Path, runs: int) -> Iterator[DagsterDemo]:
    """The demo deployment served by `dagster_python`'s Dagster, populated with `runs` runs."""
    if not dagster_python.exists():
        pytest.fail(f"{dagster_python} is missing: run `bash scripts/setup.sh` first")
    with DagsterDemo(home, dagster_python) as server:
        server.seed("populate", "--runs", str(runs))
        yield server


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDemo]:
    home = tmp_path_factory.mktemp("dagster_home")
    with running_demo(home, default_dagster_python(), INITIAL_RUNS) as server:
        yield server


def connector_project(root: Path, demo: DagsterDemo, **tuning: str) -> ConnectorProject:
    """An isolated connector project in `root` pointed at `demo`, with tuning overrides."""
    configuration = {"base_url": demo.url, "api_token": API_TOKEN, **tuning}
    return ConnectorProject(root, configuration)


@pytest.fixture
def make_project(tmp_path: Path, demo: DagsterDemo):
    """Builds an isolated connector project pointed at the demo, with tuning overrides."""

    def build(name: str = "project", **tuning: str) -> ConnectorProject:
        return connector_project(tmp_path / name, demo, **tuning)

    return build


def synced(project: ConnectorProject) -> str:
    """Runs one sync, which must succeed; returns its output."""
    result = project.sync()
    assert result.returncode == 0, result.output[-3000:]
    return result.output


def runs_upserted(output: str) -> int:
    """The number of `dagster_runs` rows the connector's final summary reports."""
    match = re.search(r"Dagster sync complete .*dagster_runs: (\d+)", output)
    return int(match.group(1)) if match else 0


def runs_to_reread(demo: DagsterDemo, state: dict) -> set[str]:
    """The runs an incremental sync (with no look-back) after `state` must read, from what
    Dagster holds now: those updated after the watermark, and those last seen unfinished."""
    watermark = state["runs"]["updated_until"]
    runs = demo.seed("dump-runs")
    changed = {run["run_id"] for run in runs if run["update_time"] > watermark}
    return changed | (set(state["runs"]["unfinished"]) & {run["run_id"] for run in runs})


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(
        timespec="microseconds"
    ).replace("+00:00", "Z")


def expected_runs(demo: DagsterDemo) -> dict[str, dict[str, Any]]:
    return {
        run["run_id"]: {
            "run_id": run["run_id"],
            "pipeline_name": run["job_name"],
            "code_location": run["code_location"],
            "repository": run["repository"],
            "parent_run_id": run["parent_run_id"],
            "root_run_id": run["root_run_id"],
            "status": run["status"],
            "mode": "default",
            "creation_time": iso(run["creation_time"]),
            "start_time": iso(run["start_time"]),
            "end_time": iso(run["end_time"]),
            "update_time": iso(run["update_time"]),
            "tags": run["tags"],
        }
        for run in demo.seed("dump-runs")
    }


def expected_definitions(demo: DagsterDemo) -> dict[str, dict[str, dict[str, Any]]]:
    """Expected `dagster_assets`, `dagster_schedules` and `dagster_sensors` rows by id.

    Definitions come from each repository's own listing (not the workspace-wide one the
    connector reads); the stub a repository holds for another location's asset is not an asset.
    """
    runs = demo.seed("dump-runs")
    latest = demo.seed("dump-materializations")
    # The dataset columns of each asset, from the asset node snapshots Dagster builds from code.
    dataset_columns = {row.pop("id"): row for row in demo.seed("dump-asset-definitions")}
    try:
        definitions = demo.graphql(_DEFINITIONS_QUERY)
    except DagsterDemoError as error:  # Dagster 1.11 can't resolve Job.isAssetJob here
        if "isAssetJob" not in str(error):
            raise
        definitions = demo.graphql(_DEFINITIONS_QUERY.replace("isAssetJob", ""))
    repositories = definitions["repositoriesOrError"]["nodes"]
    assets, schedules, sensors, jobs, dependencies = {}, {}, {}, {}, {}
    for repository in repositories:
        label = f"{repository['name']}@{repository['location']['name']}"
        location, repository_name = repository["location"]["name"], repository["name"]
        where = {"code_location": location, "repository": repository_name}
        for node in repository["assetNodes"]:
            if node["isAutoCreatedStub"]:
                continue
            key = "/".join(node["assetKey"]["path"])
            materialization = latest[key]
            assert key not in assets, f"{key} is defined twice"
            for upstream in node["dependencyKeys"]:
                edge = f"{'/'.join(upstream['path'])} -> {key}"
                dependencies[edge] = {
                    "id": edge,
                    "upstream_key": "/".join(upstream["path"]),
                    "downstream_key": key,
                    "code_location": location,
                }
            assets[key] = {
                "id": key,
                "key_path": ".".join(node["assetKey"]["path"]),
                "description": node["description"],
                **where,
                "last_materialization_run_id": materialization and materialization["run_id"],
                # The API gives event times in whole milliseconds.
                "last_materialization_time": materialization
                and iso(int(materialization["timestamp"] * 1000) / 1000),
                **{
                    column: value
                    for column, value in dataset_columns.get(key, {}).items()
                    if column != "code_location"
                },
            }
        for schedule in repository["schedules"]:
            status = schedule["scheduleState"]["status"]
            selector_id = schedule["scheduleState"]["selectorId"]
            schedules[selector_id] = {
                "id": selector_id,
                "name": schedule["name"],
                **where,
                "cron_schedule": schedule["cronSchedule"],
                "pipeline_name": schedule["pipelineName"],
                "status": status,
                "running_count": 1 if status == "RUNNING" else 0,
            }
        for sensor in repository["sensors"]:
            active = sorted(
                run["run_id"]
                for run in runs
                if run["status"] not in FINISHED
                and run["tags"].get("dagster/sensor_name") == sensor["name"]
                and run["repository_label"] == label
            )
            targets = [target["pipelineName"] for target in sensor["targets"] or []]
            selector_id = sensor["sensorState"]["selectorId"]
            sensors[selector_id] = {
                "id": selector_id,
                "name": sensor["name"],
                **where,
                "sensor_type": sensor["sensorType"],
                "pipeline_name": ", ".join(targets) or None,
                "status": sensor["sensorState"]["status"],
                "active_run_ids": active,
            }
        for job in repository["jobs"]:
            if job["name"].startswith("__ASSET_JOB"):
                continue
            job_id = f"{location}:{repository_name}:{job['name']}"
            jobs[job_id] = {
                "id": job_id,
                "name": job["name"],
                **where,
                "description": job["description"],
                "is_asset_job": job.get("isAssetJob"),
                "tags": {tag["key"]: tag["value"] for tag in job["tags"]},
                "owners": [owner.get("email") or f"team:{owner.get('team')}" for owner in job["owners"]],
            }
    code_locations = {}
    for entry in definitions["workspaceOrError"]["locationEntries"]:
        location = entry["locationOrLoadError"] or {}
        loaded = location.get("__typename") == "RepositoryLocation"
        code_locations[entry["name"]] = {
            "id": entry["name"],
            "name": entry["name"],
            "load_status": entry["loadStatus"] if loaded else "FAILED",
            "updated_time": iso(entry["updatedTimestamp"]),
            "repositories": [repo["name"] for repo in location.get("repositories") or []] if loaded else None,
            "dagster_library_versions": {
                version["name"]: version["version"] for version in location["dagsterLibraryVersions"]
            }
            if loaded and location.get("dagsterLibraryVersions") is not None
            else None,
        }
    return {
        "dagster_assets": assets,
        "dagster_schedules": schedules,
        "dagster_sensors": sensors,
        "dagster_jobs": jobs,
        "dagster_code_locations": code_locations,
        "dagster_asset_dependencies": dependencies,
    }


def destination(
    project: ConnectorProject, deleted: bool = False
) -> dict[str, dict[str, dict[str, Any]]]:
    """The four tables keyed by primary key, without Fivetran's system columns: the rows not
    deleted, or (`deleted=True`) those soft-deleted."""
    tables = {}
    declared = {table["table"]: table for table in declarations()}
    for table, rows in project.tables().items():
        primary_key = declared[table]["primary_key"] if table in declared else ["id"]
        by_key = {}
        for row in rows:
            if row.pop("_fivetran_deleted") is not deleted:
                continue
            row.pop("_fivetran_synced")
            if table == "dagster_sensors":
                row["active_run_ids"] = sorted(json.loads(row["active_run_ids"]))
            if table == "dagster_jobs":
                row["owners"] = json.loads(row["owners"])
            if table == "dagster_assets" and row.get("kinds") is not None:
                row["kinds"] = sorted(row["kinds"])  # a set in Dagster: any order
            if table == "dagster_code_locations":
                row.pop("error")  # checked by the tests that break a location
                if row["repositories"] is not None:
                    row["repositories"] = json.loads(row["repositories"])
            by_key[row[primary_key[0]] if len(primary_key) == 1 else tuple(row[k] for k in primary_key)] = row
        tables[table] = by_key
    return tables


def differences(actual: dict[str, dict], expected: dict[str, dict]) -> list[str]:
    """Readable row-level differences between two tables keyed by primary key."""
    lines = [f"missing {key}" for key in expected.keys() - actual.keys()]
    lines += [f"unexpected {key}" for key in actual.keys() - expected.keys()]
    for key in expected.keys() & actual.keys():
        for column in expected[key].keys() | actual[key].keys():
            if actual[key].get(column) != expected[key].get(column):
                lines.append(
                    f"{key}.{column}: got {actual[key].get(column)!r}, "
                    f"Dagster has {expected[key].get(column)!r}"
                )
    return sorted(lines)


def assert_destination_equals_dagster(
    project: ConnectorProject, demo: DagsterDemo, archived_runs: frozenset[str] = frozenset()
) -> None:
    """Every table equals what Dagster holds; `archived_runs` were deleted from Dagster after
    they were synced, and stay in the destination."""
    tables = destination(project)
    expected = {"dagster_runs": expected_runs(demo), **expected_definitions(demo)}
    assert archived_runs <= set(tables["dagster_runs"])
    for run_id in archived_runs:
        tables["dagster_runs"].pop(run_id)
    for table, rows in expected.items():
        assert not differences(tables[table], rows), (table, differences(tables[table], rows)[:20])


def assert_token_absent(project: ConnectorProject, *outputs: str) -> None:
    for output in outputs:
        assert API_TOKEN not in output
    for path in project.root.joinpath("files").rglob("*"):
        if path.is_file():
            assert API_TOKEN.encode() not in path.read_bytes(), path


def wait_for_state(project: ConnectorProject, predicate, process, timeout: float = 120) -> dict:
    """The first saved state of a running sync that satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = project.state()
        if predicate(state):
            return state
        assert process.poll() is None, "the sync ended before the expected checkpoint"
        time.sleep(0.05)
    raise AssertionError(f"no such checkpoint within {timeout}s; last state: {project.state()}")
