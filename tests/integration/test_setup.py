"""The setup tests through the SDK's own CLI (`fivetran configuration --test`) against the real
demo Dagster: all pass, and a wrong port fails at the reachability test with a message that
says what to fix, the later tests skipped."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from demo.dagster_demo import DagsterDemo
from extractor.setup_form import SETUP_TESTS
from tests.integration.conftest import API_TOKEN, assert_token_absent
from tests.support.fivetran_runner import ConnectorProject

pytestmark = pytest.mark.integration


def free_port() -> int:
    """A port nothing listens on: bound once by the OS, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_setup_tests_pass_against_the_demo(tmp_path: Path, demo: DagsterDemo):
    project = ConnectorProject(tmp_path / "project", {"base_url": demo.url, "api_token": API_TOKEN})
    result = project.setup_tests()
    assert result.returncode == 0, result.output[-3000:]
    for label, test in SETUP_TESTS:
        assert f"[{test.__name__} - {label}]: PASSED" in result.output
    assert "All tests passed!" in result.output
    version = demo.graphql("{ version }")["version"]  # asked of Dagster directly
    assert f"Dagster {version} answers at {demo.url}/graphql" in result.output
    # dagster-webserver 1.13 has every optional feature the connector knows
    for feature in ("RunStatus.SUSPENDED", "AssetCheckExecution.partition", "BulkActionsFilter.selectorId"):
        assert f"has {feature}:" in result.output
    assert " lacks " not in result.output
    assert_token_absent(project, result.output)


def test_a_wrong_port_fails_at_the_reachability_test(tmp_path: Path, demo: DagsterDemo):
    port = free_port()
    wrong = re.sub(r":\d+$", f":{port}", demo.url)
    assert wrong != demo.url
    project = ConnectorProject(tmp_path / "project", {"base_url": wrong, "api_token": API_TOKEN})
    result = project.setup_tests()
    assert result.returncode == 1, result.output[-3000:]
    assert "[configuration_values - Check the configuration values]: PASSED" in result.output
    assert (
        f"[base_url_reachable - Reach the Dagster URL]: could not reach Dagster at 'base_url' "
        f"{wrong}/graphql"
    ) in result.output
    assert f"nothing accepts connections on 127.0.0.1 port {port}: check the port" in result.output
    assert "Remaining tests skipped" in result.output
    assert "calling test 'api_token_accepted'" not in result.output
    assert_token_absent(project, result.output)
