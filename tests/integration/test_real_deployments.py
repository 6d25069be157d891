"""The connector against a real dagster-webserver behaving as real deployments do: a server that
clamps page sizes, runs deleted while a walk passes them, a worker that writes a late event,
definitions removed from code, a code location that fails to load, Dagster's HTTP 500 error
reports, a wrong URL, and a state written for another Dagster.

This module runs its own demo deployment, since it changes definitions. Where the real server
can't be made to misbehave on cue, a small proxy in front of it does (tests/support/dagster_proxy.py).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import pytest

from demo.dagster_demo import DagsterDemo, default_dagster_python, free_port
from tests.integration.conftest import (
    assert_destination_equals_dagster,
    assert_token_absent,
    connector_project,
    destination,
    runs_upserted,
    running_demo,
    synced,
)
from tests.support.dagster_proxy import (
    POSTGRES_TIMEOUT,
    DagsterProxy,
    dagster_python_error,
    dagster_resolver_error,
    html_login_page,
)

pytestmark = pytest.mark.integration

RUNS = 60
DEMO_ASSETS = 16  # asset keys defined by the demo's two code locations


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDemo]:
    home = tmp_path_factory.mktemp("real_deployment_home")
    with running_demo(home, default_dagster_python(), RUNS) as server:
        yield server


@pytest.fixture
def proxy(deployment: DagsterDemo) -> Iterator[DagsterProxy]:
    with DagsterProxy(deployment.url) as running:
        yield running


@pytest.fixture
def project_for(tmp_path):
    def build(url_of, name: str = "project", **tuning: str):
        return connector_project(tmp_path / name, url_of, **tuning)

    return build


class _At:
    """Something with a `url`, for `connector_project`."""

    def __init__(self, url: str) -> None:
        self.url = url


def warnings_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if "WARNING" in line and "connector" in line]


def test_a_server_that_clamps_page_sizes_loses_nothing(deployment, proxy, project_for):
    proxy.clamp_limit("runsOrError", 7)
    proxy.clamp_limit("assetsOrError", 3)
    project = project_for(_At(proxy.url), page_size="50")
    output = synced(project)

    assert_destination_equals_dagster(project, deployment)
    assert project.state()["runs"]["sync"] is None
    # Every walk went on past short pages, to an empty one.
    assert len(proxy.requests_for("assetsOrError")) >= DEMO_ASSETS // 3 + 1
    assert_token_absent(project, output)


def test_a_run_deleted_under_the_walks_cursor_does_not_end_the_walk(deployment, proxy, project_for):
    deleted: list[str] = []

    def delete_the_cursor_run(payload: dict) -> None:
        variables = payload.get("variables") or {}
        cursor = variables.get("cursor")
        run_walk = "runsOrError" in payload["query"] and not {"runIds", "statuses"} & set(
            variables.get("filter") or {}
        )
        if cursor and not deleted and run_walk:
            deployment.seed("delete-run", cursor)
            deleted.append(cursor)

    proxy.before_forward(delete_the_cursor_run)
    project = project_for(_At(proxy.url), page_size="10", max_concurrency="1")
    output = synced(project)

    assert deleted, "the walk never sent a cursor"
    assert "was deleted meanwhile" in output
    # Runs purged from Dagster stay in the destination: it is the archive.
    assert_destination_equals_dagster(project, deployment, archived_runs=frozenset(deleted))


def test_a_run_finished_with_a_back_dated_event_is_not_left_unfinished(deployment, project_for):
    project = project_for(deployment, lookback_seconds="0")
    run_id = deployment.seed("start-run")
    synced(project)
    assert destination(project)["dagster_runs"][run_id]["status"] == "STARTED"
    watermark = project.state()["runs"]["updated_until"]

    # The worker's clock is an hour behind: its finish event is older than anything synced.
    deployment.seed(
        "finish-run", run_id, "--status", "SUCCESS", "--event-time", str(watermark - 3600)
    )
    output = synced(project)

    assert destination(project)["dagster_runs"][run_id]["status"] == "SUCCESS"
    assert run_id not in project.state()["runs"]["unfinished"]
    assert any("before the last sync's newest one" in line for line in warnings_in(output))
    assert_destination_equals_dagster(project, deployment)


def test_definitions_removed_from_code_are_deleted(deployment, project_for):
    project = project_for(deployment)
    synced(project)
    schedule = _id_of(project, "dagster_schedules", "inventory_schedule")
    sensor = _id_of(project, "dagster_sensors", "multi_job_sensor")
    try:
        deployment.set_toggles(
            removed=["schedule:inventory_schedule", "sensor:multi_job_sensor"]
        )
        deployment.reload_location("operations")
        output = synced(project)
        gone = destination(project, deleted=True)
        assert set(gone["dagster_schedules"]) == {schedule}
        assert set(gone["dagster_sensors"]) == {sensor}
        assert_destination_equals_dagster(project, deployment)
        assert "marked deleted" in output
    finally:
        deployment.set_toggles()
        deployment.reload_location("operations")
    # Back in code: the same ids come back, no longer deleted.
    synced(project)
    assert not destination(project, deleted=True)["dagster_schedules"]
    assert_destination_equals_dagster(project, deployment)


def test_a_code_location_that_fails_to_load_keeps_its_rows(deployment, project_for):
    project = project_for(deployment)
    synced(project)
    before = destination(project)
    try:
        deployment.set_toggles(broken_locations=["analytics"])
        status = deployment.reload_location("analytics")
        assert status, "the location should have failed to load"
        output = synced(project)
        assert any("code location 'analytics' failed to load" in w for w in warnings_in(output))
        after = destination(project)
        assert not any(destination(project, deleted=True).values())
        location = project.tables()["dagster_code_locations"]
        [broken] = [row for row in location if row["name"] == "analytics"]
        assert broken["load_status"] == "FAILED" and "BrokenLocationError" in broken["error"]
        for table in ("dagster_assets", "dagster_schedules", "dagster_sensors", "dagster_jobs"):
            kept = {k: v for k, v in before[table].items() if v["code_location"] == "analytics"}
            assert kept, table
            for key, row in kept.items():
                assert after[table][key] == row, (table, key)
    finally:
        deployment.set_toggles()
        deployment.reload_location("analytics")


def test_dagster_error_reports_are_read_by_their_meaning(deployment, proxy, project_for):
    timeouts: list[int] = []

    def break_schedules(payload: dict, status: int, answer: dict):
        """The schedules of `operations` answer a PythonError (the other repositories of the
        same request answer as Dagster did), with the status Dagster gives a PythonError."""
        query, variables = payload.get("query") or "", payload.get("variables") or {}
        if "schedulesOrError" not in query:
            return None
        aliases = [alias for alias, value in variables.items() if _is_operations_repository(value)]
        if not aliases or not isinstance(answer.get("data"), dict):
            return None
        for alias in aliases:
            _, error, _ = dagster_python_error(alias, "KeyError: 'broken schedule storage'")
            answer["data"][alias] = error["data"][alias]
        return 500, answer, None

    def answer(payload: dict):
        variables = payload.get("variables") or {}
        query = payload.get("query") or ""
        limit = variables.get("limit") or 0
        if "runsOrError" in query and "runIds" not in (variables.get("filter") or {}) and limit > 30:
            timeouts.append(limit)
            return dagster_resolver_error(POSTGRES_TIMEOUT, ["runsOrError", "results"], query=query)
        return None

    project = project_for(_At(proxy.url), page_size="50")
    synced(project)
    before = destination(project)["dagster_schedules"]
    deployment.seed("add-runs", "30")
    proxy.clear_requests()
    proxy.answer_with(answer)
    proxy.rewrite_answers(break_schedules)
    output = synced(project)

    # The statement timeouts made the pages smaller, down to what the server could answer.
    assert timeouts and "retrying with pages of" in output
    # The recurring error was not retried for minutes: one request for that repository by each
    # query that reads schedules (the schedules' and their ticks').
    failing = [
        p for p in proxy.requests_for("schedulesOrError")
        if any(_is_operations_repository(value) for value in p["variables"].values())
    ]
    asked = Counter(p.get("operationName") for p in failing)
    assert asked and set(asked.values()) == {1}, asked
    assert any("schedules: skipping repository __repository__@operations" in w for w in warnings_in(output))
    after = destination(project)["dagster_schedules"]
    assert {k: v for k, v in after.items() if v["code_location"] == "operations"} == {
        k: v for k, v in before.items() if v["code_location"] == "operations"
    }
    assert not destination(project, deleted=True)["dagster_schedules"]
    proxy.clear_rules()
    assert_destination_equals_dagster(project, deployment)


def _is_operations_repository(variable) -> bool:
    """A `RepositorySelector` variable naming the `operations` code location."""
    return isinstance(variable, dict) and variable.get("repositoryLocationName") == "operations"


def test_a_failing_run_sync_still_commits_the_other_tables(deployment, proxy, project_for):
    proxy.answer_with(
        lambda payload: dagster_python_error("runsOrError", "ValueError: corrupt run body")
        if "runsOrError" in (payload.get("query") or "") else None
    )
    project = project_for(_At(proxy.url))
    result = project.sync()

    assert result.returncode != 0
    assert "corrupt run body" in result.output
    # A recurring error is not retried: no request for runs (the runs' walks and the run steps'
    # walk read them) is sent twice.
    asked = Counter(
        (p.get("operationName"), json.dumps(p.get("variables"), sort_keys=True))
        for p in proxy.requests_for("runsOrError")
    )
    assert max(asked.values()) == 1, asked
    tables = destination(project)
    assert len(tables["dagster_assets"]) == DEMO_ASSETS and tables["dagster_schedules"]


def test_a_wrong_base_url_fails_fast_naming_it(project_for):
    nothing_there = f"http://127.0.0.1:{free_port()}"
    result = project_for(_At(nothing_there), "refused").sync()
    assert result.returncode != 0
    assert "could not reach Dagster at 'base_url'" in result.output
    assert result.output.count("retry") <= 4

    result = project_for(_At("http://dagster.invalid:3000"), "unknown-host").sync()
    assert result.returncode != 0
    assert "could not reach Dagster at 'base_url' http://dagster.invalid:3000" in result.output

    with DagsterProxy(nothing_there) as login_page:
        login_page.answer_with(lambda payload: html_login_page())
        result = project_for(_At(login_page.url), "login").sync()
    assert result.returncode != 0
    assert "HTML page titled 'Sign in'" in result.output and "base_url" in result.output

    with DagsterProxy(nothing_there) as other_server:  # a web server, but no GraphQL there
        other_server.answer_with(lambda payload: (404, "<h1>Not Found</h1>", None))
        result = project_for(_At(other_server.url), "not-dagster").sync()
    assert result.returncode != 0
    assert "HTTP 404: no GraphQL endpoint here - check 'base_url'" in result.output


def test_a_state_from_another_dagster_starts_fresh(deployment, demo, project_for):
    project = project_for(demo)
    synced(project)
    project.configuration_path.write_text(
        project.configuration_path.read_text().replace(demo.url, deployment.url)
    )
    output = synced(project)

    assert "belongs to another Dagster" in output
    assert runs_upserted(output) == len(deployment.seed("dump-runs"))
    # The other deployment's definitions are gone; its runs stay (one connection per deployment).
    assert_destination_equals_dagster(
        project, deployment, archived_runs=frozenset(r["run_id"] for r in demo.seed("dump-runs"))
    )


def _id_of(project, table: str, name: str) -> str:
    [key] = [key for key, row in destination(project)[table].items() if row["name"] == name]
    return key


def test_ids_are_stable_and_readable(deployment, project_for):
    project = project_for(deployment)
    synced(project)
    tables = destination(project)
    assert all(re.fullmatch(r"[0-9a-f]{40}", key) for key in tables["dagster_schedules"])
    assert all("/" in key or key.isidentifier() for key in tables["dagster_assets"])
