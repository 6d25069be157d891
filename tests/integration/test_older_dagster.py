"""Compatibility: the connector against an older Dagster minor release (requirements-dagster-old.txt,
`.venv-dagster-old`), through `fivetran debug`, with the same ground-truth comparison as
test_sync.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from demo.dagster_demo import REPO_ROOT, REPOSITORY_NAME, DagsterDemo, older_dagster_python
from tests.integration.conftest import (
    assert_destination_equals_dagster,
    assert_token_absent,
    connector_project,
    destination,
    runs_upserted,
    runs_to_reread,
    running_demo,
    synced,
)
from tests.integration.dataset_truth import (
    actual_dataset,
    assert_dataset_equals_dagster,
    assert_dataset_is_rich,
)
from tests.support.fivetran_runner import ConnectorProject

pytestmark = pytest.mark.integration

OLD_DAGSTER_VERSION = re.search(
    r"^dagster==(\S+)$", (REPO_ROOT / "requirements-dagster-old.txt").read_text(), re.M
).group(1)
RUNS = 60
PAGE_SIZE = "10"  # several run pages for 60 runs


@pytest.fixture(scope="module")
def old_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDemo]:
    home = tmp_path_factory.mktemp("dagster_old_home")
    with running_demo(home, older_dagster_python(), RUNS) as server:
        yield server


@dataclass
class FirstSync:
    project: ConnectorProject
    output: str


@pytest.fixture(scope="module")
def first_sync(tmp_path_factory: pytest.TempPathFactory, old_demo: DagsterDemo) -> FirstSync:
    root = tmp_path_factory.mktemp("old_dagster_project")
    project = connector_project(root, old_demo, page_size=PAGE_SIZE, lookback_seconds="0")
    return FirstSync(project, synced(project))


def connector_warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if "WARNING" in line and "connector" in line]


def test_the_old_server_is_the_pinned_release(old_demo):
    assert old_demo.graphql("{ version }")["version"] == OLD_DAGSTER_VERSION


def test_first_sync_against_old_dagster_equals_dagster(first_sync, old_demo):
    project, output = first_sync.project, first_sync.output

    assert_destination_equals_dagster(project, old_demo)
    tables = destination(project)
    assert len(tables["dagster_runs"]) == RUNS
    assert runs_upserted(output) == RUNS
    assert {row["status"] for row in tables["dagster_runs"].values()} >= {"SUCCESS", "FAILURE"}
    assert len(tables["dagster_assets"]) == 16  # the demo's asset keys
    assert any(row["active_run_ids"] for row in tables["dagster_sensors"].values())
    assert project.state()["runs"]["sync"] is None
    assert "Dagster sync complete" in output
    # 1.11 fails to resolve `Job.isAssetJob` and has no `AssetCheckExecution.partition`
    # (docs/dagster-graphql-reference.md, section 11): those two fallbacks, and no other, are
    # taken, with one warning each.
    warnings = connector_warnings(output)
    assert len(warnings) == 2, warnings
    assert any("ConnectorJobs" in warning for warning in warnings), warnings
    assert any("'partition' on type 'AssetCheckExecution'" in warning for warning in warnings), warnings
    assert_token_absent(project, output)


def test_dataset_tables_from_old_dagster_equal_dagster(first_sync, old_demo):
    # 1.11 holds the same kinds of data (its check executions have no partition); the first
    # sync loaded all of it, as Dagster holds it.
    assert_dataset_equals_dagster(first_sync.project, old_demo)
    assert_dataset_is_rich(actual_dataset(first_sync.project))


def test_incremental_sync_against_old_dagster_equals_dagster(first_sync, old_demo):
    project = first_sync.project
    in_progress = [
        run_id
        for run_id, row in destination(project)["dagster_runs"].items()
        if row["status"] == "STARTED"
    ]
    assert in_progress, "populate leaves STARTED runs"
    finished_run = in_progress[0]

    state = project.state()
    new_runs = old_demo.seed("add-runs", "7")
    old_demo.seed("finish-run", finished_run, "--status", "FAILURE")
    old_demo.set_sensor_running("operations", REPOSITORY_NAME, "multi_job_sensor", True)
    output = synced(project)

    # Only the runs changed since the watermark (the new ones, the finished one) and those last
    # seen unfinished were read, each once.
    reread = runs_to_reread(old_demo, state)
    assert set(new_runs) | {finished_run} <= reread
    assert runs_upserted(output) == len(reread)
    tables = destination(project)
    assert tables["dagster_runs"][finished_run]["status"] == "FAILURE"
    assert set(new_runs) <= set(tables["dagster_runs"])
    sensor_states = {row["name"]: row["status"] for row in tables["dagster_sensors"].values()}
    assert sensor_states["multi_job_sensor"] == "RUNNING"
    assert_destination_equals_dagster(project, old_demo)
    assert_dataset_equals_dagster(project, old_demo)
    assert_token_absent(project, output)
