"""Run the bundled demo Dagster deployment (``demo/``) for tests and demos.

Stdlib only.  Typical use::

    from demo.dagster_demo import DagsterDemo, default_dagster_python

    with DagsterDemo(tmp_path / "dagster_home", default_dagster_python()) as demo:
        demo.seed("populate", "--runs", "300")
        data = demo.graphql("{ version }")

        # definition toggles (read by the code locations when they load):
        demo.set_toggles(removed=["schedule:healthcheck_schedule"], broken_locations=["operations"])
        demo.reload_location("operations")  # -> {"loadStatus": "LOADED", "error": "...", ...}

The Dagster virtualenv (``requirements-dagster.txt``; ``requirements-dagster-old.txt``
for an older release, see :func:`older_dagster_python`) is separate from the
project's own environment; only its Python executable is passed in.  The
webserver is started in its own process group/session and the whole group
(webserver + the code-location gRPC servers it spawns) is killed by
:meth:`DagsterDemo.stop`, at interpreter exit (atexit) and, on Linux when
started from the main thread, when the parent process dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO_ROOT / "demo"
DAGSTER_YAML = DEMO_DIR / "dagster.yaml"
WORKSPACE_YAML = DEMO_DIR / "workspace.yaml"
SEED_SCRIPT = DEMO_DIR / "seed.py"
#: Definition toggles file in ``$DAGSTER_HOME`` (read by demo/definitions/demo_toggles.py).
TOGGLES_FILE = "demo_toggles.json"
#: Kinds of definitions that ``removed`` toggles can leave out.
REMOVABLE_KINDS: tuple[str, ...] = ("schedule", "sensor", "asset", "check")

#: Repository name of every location (python_file locations holding a ``Definitions`` object).
REPOSITORY_NAME = "__repository__"
#: Code location names declared in demo/workspace.yaml.
LOCATIONS: tuple[str, ...] = ("analytics", "operations")

_LOCATION_ENTRY_FIELDS = """
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message causes { message } }
        }
"""

_RELOAD_LOCATION_MUTATION = (
    """
mutation($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry {"""
    + _LOCATION_ENTRY_FIELDS
    + """    }
    ... on Error { message }
  }
}
"""
)

_LOCATION_STATUS_QUERY = (
    """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {"""
    + _LOCATION_ENTRY_FIELDS
    + """      }
    }
    ... on PythonError { message }
  }
}
"""
)


class DagsterDemoError(RuntimeError):
    """The demo deployment failed to start, a seed command failed, or GraphQL returned errors."""


def default_dagster_python() -> Path:
    """Python of the Dagster virtualenv: ``$DAGSTER_DEMO_PYTHON`` or ``<repo>/.venv-dagster/bin/python``."""
    env = os.environ.get("DAGSTER_DEMO_PYTHON")
    if env:
        return Path(env)
    return REPO_ROOT / ".venv-dagster" / "bin" / "python"


def older_dagster_python() -> Path:
    """Python of the older-Dagster virtualenv (``requirements-dagster-old.txt``), for compatibility
    tests: ``$DAGSTER_OLD_PYTHON`` or ``<repo>/.venv-dagster-old/bin/python``."""
    env = os.environ.get("DAGSTER_OLD_PYTHON")
    if env:
        return Path(env)
    return REPO_ROOT / ".venv-dagster-old" / "bin" / "python"


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _workspace_location_names() -> set[str]:
    names = set(re.findall(r"^\s*location_name:\s*(\S+)\s*$", WORKSPACE_YAML.read_text(), re.M))
    return names or set(LOCATIONS)


def _set_parent_death_signal(parent_pid: int) -> None:  # runs in the child before exec
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # best effort only
        return
    if os.getppid() != parent_pid:  # parent already gone
        os.kill(os.getpid(), signal.SIGTERM)


class DagsterDemo:
    """A ``dagster-webserver`` serving demo/workspace.yaml with ``DAGSTER_HOME=home``."""

    def __init__(self, home: Path, dagster_python: Path, port: int | None = None) -> None:
        self.home = Path(home).absolute()
        # Do not resolve symlinks: a venv's bin/python is usually a symlink to the base interpreter.
        self.dagster_python = Path(dagster_python).absolute()
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.graphql_url = f"{self.url}/graphql"
        self.log_path = self.home / "webserver.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> DagsterDemo:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DAGSTER_HOME"] = str(self.home)
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("PYTHONPATH", None)  # keep the project's environment out of the Dagster venv
        return env

    @property
    def toggles_path(self) -> Path:
        """``$DAGSTER_HOME/demo_toggles.json``: see :meth:`set_toggles`."""
        return self.home / TOGGLES_FILE

    def toggles(self) -> dict[str, list[str]]:
        """The current definition toggles (empty lists when there is no toggles file)."""
        try:
            data = json.loads(self.toggles_path.read_text())
        except FileNotFoundError:
            data = {}
        return {
            "removed": list(data.get("removed") or []),
            "broken_locations": list(data.get("broken_locations") or []),
        }

    def set_toggles(
        self, removed: Iterable[str] = (), broken_locations: Iterable[str] = ()
    ) -> None:
        """Write the definition toggles that the code locations read when they load.

        ``removed``: definitions to leave out, as ``"schedule:NAME"``, ``"sensor:NAME"``,
        ``"asset:a/b/c"`` (key path joined with "/") or ``"check:a/b/c:NAME"`` (an asset check:
        its asset's key path and its name); ``broken_locations``: location names
        that raise at import, i.e. fail to load.  Both empty removes the file (no toggles).
        Takes effect when a location (re)loads: :meth:`reload_location`, a restart, or the next
        seed command (seed.py skips locations that fail to import).
        """
        removed = list(removed)
        broken = list(broken_locations)
        for entry in removed:
            kind, _, name = entry.partition(":")
            if kind not in REMOVABLE_KINDS or not name:
                raise ValueError(
                    f"bad removed entry {entry!r}: expected one of "
                    f"{', '.join(k + ':NAME' for k in REMOVABLE_KINDS)}"
                )
        unknown = set(broken) - _workspace_location_names()
        if unknown:
            raise ValueError(f"unknown code locations in broken_locations: {sorted(unknown)}")
        self.home.mkdir(parents=True, exist_ok=True)
        if not removed and not broken:
            self.toggles_path.unlink(missing_ok=True)
            return
        tmp = self.toggles_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"removed": removed, "broken_locations": broken}, indent=2))
        os.replace(tmp, self.toggles_path)

    def prepare_home(self) -> None:
        """Create ``home`` and copy demo/dagster.yaml into it (idempotent)."""
        self.home.mkdir(parents=True, exist_ok=True)
        target = self.home / "dagster.yaml"
        if not target.exists() or target.read_bytes() != DAGSTER_YAML.read_bytes():
            shutil.copyfile(DAGSTER_YAML, target)

    def start(self, timeout: float = 120) -> None:
        """Launch the webserver and wait until GraphQL answers and all code locations are loaded."""
        if self._proc is not None:
            raise DagsterDemoError("DagsterDemo already started")
        webserver = self.dagster_python.parent / "dagster-webserver"
        if not webserver.exists():
            raise DagsterDemoError(f"{webserver} not found (is the Dagster venv installed?)")
        self.prepare_home()
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        cmd = [
            str(webserver),
            "-h", "127.0.0.1",
            "-p", str(self.port),
            "-w", str(WORKSPACE_YAML),
        ]  # fmt: skip
        parent_pid = os.getpid()
        use_pdeathsig = sys.platform.startswith("linux") and (
            threading.current_thread() is threading.main_thread()
        )
        self._proc = subprocess.Popen(
            cmd,
            cwd=str(DEMO_DIR),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: _set_parent_death_signal(parent_pid)) if use_pdeathsig else None,
        )
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        expected = _workspace_location_names()
        # Locations broken on purpose (toggles) may be LOADED with a PythonError; no others.
        may_fail = set(self.toggles()["broken_locations"])
        last_problem = "no answer yet"
        while True:
            if self._proc is None or self._proc.poll() is not None:
                code = self._proc.returncode if self._proc is not None else None
                raise DagsterDemoError(
                    f"dagster-webserver exited with code {code} during start-up\n{self.log_tail()}"
                )
            load_error: str | None = None
            try:
                self.graphql("{ version }", timeout=5)
                workspace = self.graphql(_LOCATION_STATUS_QUERY, timeout=10)["workspaceOrError"]
            except (OSError, DagsterDemoError, ValueError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                if workspace["__typename"] != "Workspace":
                    last_problem = f"workspaceOrError: {workspace}"
                else:
                    entries = {e["name"]: e for e in workspace["locationEntries"]}
                    loaded = {n for n, e in entries.items() if e["loadStatus"] == "LOADED"}
                    for name in sorted(loaded - may_fail):
                        error = _location_status(entries[name])["error"]
                        if error is not None:
                            load_error = f"code location {name!r} failed to load: {error}"
                    if load_error is None and expected <= loaded:
                        return
                    last_problem = f"loaded: {sorted(loaded)}, expected: {sorted(expected)}"
            if load_error is not None:
                raise DagsterDemoError(f"{load_error}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise DagsterDemoError(
                    f"dagster-webserver not ready after {timeout:.0f}s ({last_problem})\n{self.log_tail()}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        """Terminate the webserver's process group (SIGTERM, then SIGKILL). Idempotent."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None:
            pgid = proc.pid  # start_new_session=True: the webserver leads its own group
            self._signal_group(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            # also catches code servers that outlived the webserver
            self._signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no webserver log)"
        return "--- webserver.log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def location_entry(self, name: str) -> dict[str, Any] | None:
        """The workspace entry of one code location: ``{"name", "loadStatus", "error"}``
        (``error`` is the PythonError message of a location that failed to load, else None)."""
        workspace = self.graphql(_LOCATION_STATUS_QUERY)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise DagsterDemoError(f"workspaceOrError: {workspace}")
        for entry in workspace["locationEntries"]:
            if entry["name"] == name:
                return _location_status(entry)
        return None

    def reload_location(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """Reload one code location (GraphQL ``reloadRepositoryLocation``), as the UI's "Reload"
        does: its code server is restarted, so it re-reads the definitions and the toggles.

        Waits until the location's ``loadStatus`` is LOADED, whether it loaded or failed to load,
        and returns ``{"name", "loadStatus", "error"}`` (``error``: the PythonError message of a
        location that failed to load, else None).
        """
        data = self.graphql(_RELOAD_LOCATION_MUTATION, {"name": name}, timeout=timeout)
        result = data["reloadRepositoryLocation"]
        if result["__typename"] != "WorkspaceLocationEntry":
            raise DagsterDemoError(
                f"reloadRepositoryLocation({name!r}): {result['__typename']}: "
                f"{result.get('message')}"
            )
        deadline = time.monotonic() + timeout
        entry: dict[str, Any] | None = _location_status(result)
        while entry is None or entry["loadStatus"] != "LOADED":
            if time.monotonic() > deadline:
                raise DagsterDemoError(
                    f"code location {name!r} not loaded after {timeout:.0f}s: {entry}\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.25)
            entry = self.location_entry(name)
        return entry

    # -- seeding -------------------------------------------------------------

    def seed(self, *args: str, timeout: float = 300) -> Any:
        """Run ``demo/seed.py ARGS`` with the Dagster Python; return its parsed JSON stdout."""
        self.prepare_home()
        result = subprocess.run(
            [str(self.dagster_python), str(SEED_SCRIPT), *args],
            cwd=str(DEMO_DIR),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise DagsterDemoError(
                f"seed.py {' '.join(args)} failed with code {result.returncode}:\n"
                f"{result.stderr[-4000:]}"
            )
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        if not lines:
            raise DagsterDemoError(
                f"seed.py {' '.join(args)} printed nothing:\n{result.stderr[-4000:]}"
            )
        return json.loads(lines[-1])

    # -- GraphQL -------------------------------------------------------------

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, timeout: float = 60
    ) -> dict[str, Any]:
        """POST a GraphQL query; return ``data`` or raise :class:`DagsterDemoError` on ``errors``."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.graphql_url,
            data=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:2000]
            raise DagsterDemoError(f"GraphQL HTTP {exc.code}: {detail}") from exc
        if payload.get("errors"):
            raise DagsterDemoError(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise DagsterDemoError(f"GraphQL response without data: {payload!r}"[:2000])
        return data

    # -- schedules and sensors -----------------------------------------------

    def set_schedule_running(
        self, location: str, repository: str, schedule: str, running: bool
    ) -> None:
        """Start or stop a schedule (no-op if it already has that status)."""
        selector = {
            "repositoryLocationName": location,
            "repositoryName": repository,
            "scheduleName": schedule,
        }
        data = self.graphql(
            """
            query($selector: ScheduleSelector!) {
              scheduleOrError(scheduleSelector: $selector) {
                __typename
                ... on Schedule { scheduleState { id status } }
                ... on Error { message }
              }
            }
            """,
            {"selector": selector},
        )
        result = _expect(data["scheduleOrError"], "Schedule")
        state = result["scheduleState"]
        if (state["status"] == "RUNNING") == running:
            return
        if running:
            data = self.graphql(
                """
                mutation($selector: ScheduleSelector!) {
                  startSchedule(scheduleSelector: $selector) {
                    __typename
                    ... on ScheduleStateResult { scheduleState { status } }
                    ... on Error { message }
                  }
                }
                """,
                {"selector": selector},
            )
            result = _expect(data["startSchedule"], "ScheduleStateResult")
        else:
            data = self.graphql(
                """
                mutation($id: String!) {
                  stopRunningSchedule(id: $id) {
                    __typename
                    ... on ScheduleStateResult { scheduleState { status } }
                    ... on Error { message }
                  }
                }
                """,
                {"id": state["id"]},
            )
            result = _expect(data["stopRunningSchedule"], "ScheduleStateResult")
        _expect_status(result["scheduleState"]["status"], running, f"schedule {schedule}")

    def set_sensor_running(
        self, location: str, repository: str, sensor: str, running: bool
    ) -> None:
        """Start or stop a sensor (no-op if it already has that status)."""
        selector = {
            "repositoryLocationName": location,
            "repositoryName": repository,
            "sensorName": sensor,
        }
        data = self.graphql(
            """
            query($selector: SensorSelector!) {
              sensorOrError(sensorSelector: $selector) {
                __typename
                ... on Sensor { sensorState { id status } }
                ... on Error { message }
              }
            }
            """,
            {"selector": selector},
        )
        result = _expect(data["sensorOrError"], "Sensor")
        state = result["sensorState"]
        if (state["status"] == "RUNNING") == running:
            return
        if running:
            data = self.graphql(
                """
                mutation($selector: SensorSelector!) {
                  startSensor(sensorSelector: $selector) {
                    __typename
                    ... on Sensor { sensorState { status } }
                    ... on Error { message }
                  }
                }
                """,
                {"selector": selector},
            )
            status = _expect(data["startSensor"], "Sensor")["sensorState"]["status"]
        else:
            data = self.graphql(
                """
                mutation($id: String!) {
                  stopSensor(id: $id) {
                    __typename
                    ... on StopSensorMutationResult { instigationState { status } }
                    ... on Error { message }
                  }
                }
                """,
                {"id": state["id"]},
            )
            status = _expect(data["stopSensor"], "StopSensorMutationResult")["instigationState"][
                "status"
            ]
        _expect_status(status, running, f"sensor {sensor}")


def _location_status(entry: dict[str, Any]) -> dict[str, Any]:
    error = entry.get("locationOrLoadError") or {}
    message = None
    if error.get("__typename") == "PythonError":
        # Dagster's message is generic ("Error occurred during the loading of Dagster
        # definitions in ..."); the exception raised by the code is among the causes.
        parts = [error["message"].strip()]
        parts += [cause["message"].strip() for cause in error.get("causes") or []]
        message = "\n".join(parts)
    return {"name": entry["name"], "loadStatus": entry["loadStatus"], "error": message}


def _expect(result: dict[str, Any], typename: str) -> dict[str, Any]:
    if result.get("__typename") != typename:
        raise DagsterDemoError(
            f"expected {typename}, got {result.get('__typename')}: {result.get('message')}"
        )
    return result


def _expect_status(status: str, running: bool, what: str) -> None:
    if (status == "RUNNING") != running:
        raise DagsterDemoError(f"{what} has status {status} after the mutation")
