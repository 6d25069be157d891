"""Runs the connector through the Fivetran SDK's own local runner (`fivetran debug`).

Each test gets its own copy of the project (connector.py, extractor/, requirements.txt), so
the runner's `files/warehouse.db` and `files/state.json` are private to it. Two offline
quirks of `fivetran debug` are neutralised here, for tests only: its `pipreqs` check of
requirements.txt (which looks packages up on the internet and retries for ~13 s) gets a
stand-in executable first on PATH, and its SDK version check is marked as done in a private
HOME. Users running `fivetran debug` themselves keep both.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("connector.py", "requirements.txt")
PROJECT_DIRS = ("extractor",)
FIVETRAN = Path(sys.executable).parent / "fivetran"


@dataclass
class SyncResult:
    returncode: int
    output: str


class ConnectorProject:
    """An isolated copy of the connector project with its own configuration and runner env."""

    def __init__(self, root: Path, configuration: dict[str, str]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        for name in PROJECT_FILES:
            shutil.copy2(REPO_ROOT / name, root / name)
        for name in PROJECT_DIRS:
            shutil.copytree(
                REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        self.configuration_path = root / "configuration.json"
        self.configuration_path.write_text(json.dumps(configuration))
        self._env = self._runner_env(root / ".runner")

    @staticmethod
    def _runner_env(scratch: Path) -> dict[str, str]:
        stub_bin = scratch / "bin"
        stub_bin.mkdir(parents=True, exist_ok=True)
        pipreqs = stub_bin / "pipreqs"
        pipreqs.write_text("#!/bin/sh\n# stand-in: the real pipreqs needs the internet\nexit 0\n")
        pipreqs.chmod(0o755)
        home = scratch / "home"
        version_check = home / ".fivetran" / "connector_sdk" / "_last_version_check"
        version_check.parent.mkdir(parents=True, exist_ok=True)
        version_check.write_text("9999999999")
        env = dict(os.environ)
        env.update(
            HOME=str(home),
            DO_NOT_TRACK="1",
            PATH=f"{stub_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            PYTHONUNBUFFERED="1",
        )
        return env

    @property
    def state_path(self) -> Path:
        return self.root / "files" / "state.json"

    @property
    def warehouse_path(self) -> Path:
        return self.root / "files" / "warehouse.db"

    def command(self) -> list[str]:
        return [
            str(FIVETRAN),
            "debug",
            str(self.root),
            "--configuration",
            str(self.configuration_path),
        ]

    def sync(self, timeout: float = 300) -> SyncResult:
        """Runs one `fivetran debug` to completion; returns its exit code and output."""
        completed = subprocess.run(
            self.command(),
            env=self._env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return SyncResult(completed.returncode, completed.stdout)

    def setup_tests(self, timeout: float = 120) -> SyncResult:
        """Runs the setup form's tests with the SDK's CLI (`fivetran configuration --test`),
        against this project's `configuration.json`; returns its exit code and output."""
        completed = subprocess.run(
            [str(FIVETRAN), "configuration", str(self.root), "--test"],
            env=self._env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return SyncResult(completed.returncode, completed.stdout)

    def start_sync(self, log_path: Path) -> subprocess.Popen:
        """Starts `fivetran debug` in its own process group (to be killed by `kill_sync`)."""
        with open(log_path, "w") as log_file:
            return subprocess.Popen(
                self.command(),
                env=self._env,
                cwd=self.root,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @staticmethod
    def kill_sync(process: subprocess.Popen) -> None:
        """SIGKILLs the runner and everything it started, as a crash would."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return {}
        try:
            return json.loads(self.state_path.read_text())
        except ValueError:  # caught mid-write; the runner replaces the file atomically
            return {}

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table, timestamps as UTC strings, JSON parsed."""
        connection = duckdb.connect(str(self.warehouse_path), read_only=True)
        connection.execute("SET TimeZone = 'UTC'")
        try:
            names = [
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'tester' AND table_name LIKE 'dagster_%'"
                ).fetchall()
            ]
            return {table: _rows(connection, table) for table in names}
        finally:
            connection.close()


def _rows(connection: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    columns = [
        (name, data_type)
        for name, data_type in connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'tester' AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]
    if not columns:
        return []
    select = ", ".join(
        f"strftime({name}, '%Y-%m-%dT%H:%M:%S.%fZ') AS {name}"
        if data_type.startswith("TIMESTAMP")
        else f"{name}::VARCHAR AS {name}" if data_type == "JSON" else name
        for name, data_type in columns
    )
    cursor = connection.execute(f"SELECT {select} FROM tester.{table}")
    names = [description[0] for description in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        for name, data_type in columns:
            if data_type == "JSON" and row[name] is not None:
                row[name] = json.loads(row[name])
        rows.append(row)
    return rows
