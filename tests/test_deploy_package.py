"""The deploy package (scripts/deploy_package.py): what `bash scripts/deploy.sh` uploads to Fivetran.

The package is read back from the SDK's own zip step, and its dependency check is replayed with
pipreqs' own import discovery (the step of the SDK's check that needs no network).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fivetran_connector_sdk_cli.connector_helper import fetch_requirements_as_dict, remove_unwanted_packages
from pipreqs import pipreqs

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("deploy_package", REPO / "scripts" / "deploy_package.py")
deploy_package = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(deploy_package)

# The SDK's zip step compiles its ignore patterns with a pathspec factory newer pathspec deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:GitWildMatchPattern:DeprecationWarning")

# Installed on Fivetran before the connector's requirements: never listed in requirements.txt.
PROVIDED_BY_FIVETRAN = {"fivetran_connector_sdk", "requests"}


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    folder = tmp_path / "deploy"
    deploy_package.build_staging(REPO, folder)
    return folder


def _extractor_sources() -> set[str]:
    return {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "extractor").rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_the_sdk_packages_only_the_connector(staging: Path) -> None:
    packaged = deploy_package.sdk_package_files(staging)

    assert sorted(packaged) == sorted(
        {"connector.py", "requirements.txt", "configuration_form.pb"} | _extractor_sources()
    )
    assert len(packaged) == len(set(packaged))
    assert not (staging / "files").exists(), "the zip is cleaned up"


def test_staging_leaves_out_everything_else(tmp_path: Path) -> None:
    source = tmp_path / "repo"
    for name in (
        "connector.py", "requirements.txt", "configuration.json", ".gitignore", "README.md",
        "extractor/__init__.py", "extractor/tables/runs.py", "extractor/__pycache__/client.cpython-311.pyc",
        "extractor/stray.pyc", "extractor/.DS_Store", "tests/test_x.py", "benchmarks/b.py",
        "demo/d.py", "scripts/s.py", "crash-reports/r.json", "files/state.json",
    ):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("x = 1\n")

    staged = deploy_package.build_staging(source, tmp_path / "build" / "deploy")

    assert staged == ["connector.py", "extractor/__init__.py", "extractor/tables/runs.py", "requirements.txt"]


def test_staging_replaces_an_earlier_build(tmp_path: Path) -> None:
    folder = tmp_path / "deploy"
    deploy_package.build_staging(REPO, folder)
    (folder / "extractor" / "removed_since.py").write_text("")
    (folder / "configuration.json").write_text("{}")

    staged = deploy_package.build_staging(REPO, folder)

    assert "extractor/removed_since.py" not in staged
    assert "configuration.json" not in staged


def test_staging_refuses_a_folder_holding_the_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        deploy_package.build_staging(tmp_path / "repo", tmp_path)


def _imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in a file (relative ones stay inside their package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _requirements() -> dict[str, str]:
    """requirements.txt as the SDK reads it: {normalized name: requirement}."""
    return fetch_requirements_as_dict(str(REPO / "requirements.txt"))


def _normalized(distribution: str) -> str:
    return distribution.lower().replace("-", "_")


def test_every_import_is_stdlib_extractor_or_a_requirement(staging: Path) -> None:
    listed = set(_requirements())
    distributions = importlib.metadata.packages_distributions()
    used: set[str] = set()
    unresolved: dict[str, set[str]] = {}
    for path in sorted(staging.rglob("*.py")):
        for name in _imports(path):
            if name in sys.stdlib_module_names or name == "extractor":
                continue
            providers = {_normalized(d) for d in distributions.get(name, [])}
            if providers & PROVIDED_BY_FIVETRAN:
                continue
            if providers & listed:
                used |= providers & listed
                continue
            unresolved.setdefault(name, set()).add(path.relative_to(staging).as_posix())

    assert unresolved == {}
    assert used == listed, f"listed but never imported: {listed - used}"


def test_requirements_are_pinned_to_the_installed_versions() -> None:
    requirements = _requirements()

    assert requirements, "requirements.txt lists the connector's packages"
    assert not set(requirements) & PROVIDED_BY_FIVETRAN
    for name, requirement in requirements.items():
        pinned_name, _, version = requirement.partition("==")
        assert version, f"{requirement}: pin an exact version"
        assert version == importlib.metadata.version(pinned_name), f"{requirement} is not what .venv has"


def test_the_sdks_dependency_check_finds_nothing_missing_or_unused(staging: Path) -> None:
    """The packages pipreqs finds in the staging copy, as the SDK's check compares them."""
    imports = pipreqs.get_all_imports(str(staging))
    found = {_normalized(name): name for name in pipreqs.get_pkg_names(imports)}
    remove_unwanted_packages(found)
    requirements = _requirements()

    assert set(found) - set(requirements) == set(), "the SDK would report these as missing"
    assert set(requirements) - set(found) == set(), "the SDK would report these as unused"


def test_deploy_command_points_the_sdk_at_the_staging_copy(tmp_path: Path) -> None:
    args = [
        "--api-key", "KEY", "--destination", "warehouse", "--connection", "dagster",
        "--configuration", "configuration.json", "--options-file=conf/options.toml", "--non-interactive",
    ]

    command = deploy_package.deploy_command("fivetran", tmp_path / "deploy", args, tmp_path / "cwd")

    assert command == [
        "fivetran", "deploy", str(tmp_path / "deploy"),
        "--api-key", "KEY", "--destination", "warehouse", "--connection", "dagster",
        "--configuration", str(tmp_path / "cwd" / "configuration.json"),
        f"--options-file={tmp_path / 'cwd' / 'conf' / 'options.toml'}", "--non-interactive",
    ]
    assert "KEY" not in deploy_package.shown(command)
    assert "KEY" not in deploy_package.shown(["fivetran", "--api-key=KEY"])


def test_a_relative_configuration_in_the_environment_is_made_absolute(tmp_path: Path) -> None:
    environment = deploy_package.sdk_environment(
        {"FIVETRAN_CONFIGURATION": "conf/configuration.json", "PATH": "/usr/bin"}, tmp_path
    )

    assert environment["FIVETRAN_CONFIGURATION"] == str(tmp_path / "conf" / "configuration.json")
    assert environment["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent), "pipreqs is found"
    assert "FIVETRAN_CONFIGURATION" not in deploy_package.sdk_environment({"PATH": ""}, tmp_path)


def test_deploy_command_keeps_absolute_paths(tmp_path: Path) -> None:
    config = tmp_path / "secret" / "configuration.json"

    command = deploy_package.deploy_command("fivetran", tmp_path, [f"--configuration={config}"], Path("/elsewhere"))

    assert command[-1] == f"--configuration={config}"


def test_a_project_folder_argument_is_refused() -> None:
    assert deploy_package.positional_arguments(["--connection", "c", "--yes", "--api-key=k", "."]) == ["."]
    assert deploy_package.positional_arguments(["--force", "--connection", "c", "--python", "3.12"]) == []

    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy.sh"), ".", "--connection", "c"],
        capture_output=True, text=True, timeout=60,
    )

    assert result.returncode == 2
    assert "leave out ." in result.stderr
