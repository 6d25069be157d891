"""Deploys the connector from a staging copy that holds only what runs on Fivetran.

`fivetran deploy` packages every file of the project folder its ignore rules let through, and
checks `requirements.txt` against the imports of every `.py` file in that folder (pipreqs). From
the repository root that is also `tests/`, `benchmarks/`, `demo/` and `scripts/`, whose imports
(dagster, pytest, duckdb, psutil) never run on Fivetran. So this copies `connector.py`,
`extractor/` and `requirements.txt` into `build/deploy/` and points the SDK at that folder.
`configuration.json` is never copied: the SDK leaves it out of packages anyway, and the values
reach Fivetran only through `--configuration`.

    bash scripts/deploy.sh --api-key KEY --destination DEST --connection NAME --configuration FILE
    bash scripts/deploy.sh --dry-run   # build, run the SDK's own packaging (no upload), list it
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGING = REPO / "build" / "deploy"
PACKAGE_FILES = ("connector.py", "requirements.txt")
PACKAGE_DIRS = ("extractor",)
# Options of `fivetran deploy` whose value is a path: made absolute, so they mean what they mean
# where the user typed them (the SDK reads a relative --configuration from the project folder).
PATH_OPTIONS = ("--configuration", "--options-file")
# The options of `fivetran deploy` that take no value; all its others do.
FLAGS = ("-f", "--force", "--non-interactive", "--yes")
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")

USAGE = """\
usage: bash scripts/deploy.sh [--dry-run] [fivetran deploy options]

Copies connector.py, extractor/ and requirements.txt into build/deploy/ and runs
`fivetran deploy build/deploy` with your options (--api-key, --destination, --connection,
--configuration, --python-version, ...; see `fivetran deploy --help`).
  --dry-run   build the copy, run the SDK's own packaging step on it (`fivetran package`:
              the requirements.txt check and the zip, no upload) and list what it holds
"""


def build_staging(source: Path = REPO, staging: Path = STAGING) -> list[str]:
    """Replaces `staging` with a copy of the connector's files from `source`; returns its files."""
    source, staging = source.resolve(), staging.resolve()
    if staging == source or staging in source.parents:
        raise ValueError(f"the staging folder {staging} would contain {source}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in PACKAGE_FILES:
        shutil.copy2(source / name, staging / name)
    for name in PACKAGE_DIRS:
        shutil.copytree(source / name, staging / name, ignore=_SKIPPED)
    return files_under(staging)


def files_under(root: Path) -> list[str]:
    """Every file below `root`, as sorted POSIX paths relative to it."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def sdk_package_files(staging: Path) -> list[str]:
    """What the SDK's own zip step (`zip_folder`, as `fivetran deploy` calls it) puts in the package.

    The SDK adds `configuration_form.pb` (the connector's setup form, empty without one); its
    bytes don't matter here, only the names. The zip is deleted afterwards.
    """
    from fivetran_connector_sdk_cli.connector_helper import remove_dir_if_empty, zip_folder
    from fivetran_connector_sdk_common.constants import CONFIGURATION_FORM_FILENAME, OUTPUT_FILES_DIR

    zip_path = Path(zip_folder(str(staging), extra_files={CONFIGURATION_FORM_FILENAME: b""}))
    try:
        with zipfile.ZipFile(zip_path) as package:
            return sorted(package.namelist())
    finally:
        zip_path.unlink()
        remove_dir_if_empty(str(staging / OUTPUT_FILES_DIR))


def fivetran_cli() -> str:
    """The `fivetran` command of this interpreter's environment (the project's .venv)."""
    beside = Path(sys.executable).parent / "fivetran"
    found = str(beside) if beside.exists() else shutil.which("fivetran")
    if not found:
        raise SystemExit("fivetran (the Connector SDK's CLI) not found: run `bash scripts/setup.sh` first")
    return found


def deploy_command(fivetran: str, staging: Path, args: list[str], cwd: Path) -> list[str]:
    """`fivetran deploy <staging> ARGS`, with the paths in ARGS made absolute from `cwd`."""
    rewritten: list[str] = []
    pending_path = False
    for arg in args:
        if pending_path:
            rewritten.append(_absolute(arg, cwd))
            pending_path = False
            continue
        option, equals, value = arg.partition("=")
        if option in PATH_OPTIONS and equals:
            rewritten.append(f"{option}={_absolute(value, cwd)}")
        else:
            rewritten.append(arg)
            pending_path = arg in PATH_OPTIONS
    return [fivetran, "deploy", str(staging), *rewritten]


def _absolute(path: str, cwd: Path) -> str:
    return str(cwd / Path(path).expanduser())


def shown(command: list[str]) -> str:
    """The command as printed: the API key's value masked."""
    masked: list[str] = []
    for index, arg in enumerate(command):
        if arg.startswith("--api-key="):
            masked.append("--api-key=********")
        elif index > 0 and command[index - 1] == "--api-key":
            masked.append("********")
        else:
            masked.append(arg)
    return " ".join(masked)


def sdk_environment(environment: dict[str, str], cwd: Path) -> dict[str, str]:
    """The environment for the SDK: this venv's bin first on PATH (the SDK runs `pipreqs` by
    name), and a relative FIVETRAN_CONFIGURATION (a path, like --configuration) made absolute."""
    environment = dict(environment)
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    if environment.get("FIVETRAN_CONFIGURATION"):
        environment["FIVETRAN_CONFIGURATION"] = _absolute(environment["FIVETRAN_CONFIGURATION"], cwd)
    return environment


def _summary(files: list[str], staging: Path) -> str:
    """One line: what the staging folder holds."""
    where = staging.relative_to(REPO) if staging.is_relative_to(REPO) else staging
    parts = [name for name in PACKAGE_FILES if name in files]
    for folder in PACKAGE_DIRS:
        count = sum(name.startswith(folder + "/") for name in files)
        parts.append(f"{folder}/ ({count} files)")
    return f"staged {where}/: " + ", ".join(parts)


def dry_run(args: list[str], staging: Path) -> int:
    """Builds the copy and runs the SDK's packaging step on it (no upload); lists the package."""
    from fivetran_connector_sdk_common.constants import OUTPUT_FILES_DIR

    print(_summary(build_staging(REPO, staging), staging), flush=True)
    command = [fivetran_cli(), "package", str(staging), "--non-interactive"]
    print(f"running the SDK's packaging step (no upload): {shown(command)}", flush=True)
    result = subprocess.run(command, env=sdk_environment(dict(os.environ), Path.cwd()))
    if result.returncode != 0:
        return result.returncode
    package = staging / OUTPUT_FILES_DIR / f"{staging.name}.zip"
    with zipfile.ZipFile(package) as archive:
        names = sorted(archive.namelist())
    print(f"the package `fivetran deploy` would upload ({len(names)} files, {package}):")
    print("\n".join(f"  {name}" for name in names))
    print(f"without --dry-run this runs: {shown(deploy_command(fivetran_cli(), staging, args, Path.cwd()))}")
    return 0


def deploy(args: list[str], staging: Path) -> int:
    """Builds the copy and runs `fivetran deploy` on it with the user's options."""
    files = build_staging(REPO, staging)
    print(_summary(files, staging), flush=True)
    if not _given("--configuration", args) and not os.getenv("FIVETRAN_CONFIGURATION"):
        print(
            "no --configuration given: an existing connection keeps its configuration; "
            "a new connection needs --configuration FILE",
            flush=True,
        )
    command = deploy_command(fivetran_cli(), staging, args, Path.cwd())
    print(f"running: {shown(command)}", flush=True)
    return subprocess.run(command, env=sdk_environment(dict(os.environ), Path.cwd())).returncode


def _given(option: str, args: list[str]) -> bool:
    return any(arg.partition("=")[0] == option for arg in args)


def positional_arguments(args: list[str]) -> list[str]:
    """The arguments that are neither options nor option values (a project folder)."""
    found: list[str] = []
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg.startswith("-"):
            takes_value = "=" not in arg and arg not in FLAGS
        else:
            found.append(arg)
    return found


def main(argv: list[str]) -> int:
    if "-h" in argv or "--help" in argv:
        print(USAGE, end="")
        return 0
    args = [arg for arg in argv if arg != "--dry-run"]
    stray = positional_arguments(args)
    if stray:
        print(f"deploy.sh always deploys {STAGING.relative_to(REPO)}/; leave out {' '.join(stray)}", file=sys.stderr)
        return 2
    if "--dry-run" in argv:
        return dry_run(args, STAGING)
    return deploy(args, STAGING)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
