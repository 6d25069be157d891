"""The workspace: every code location, whether it loaded, and the repositories of those that did.

Definitions (assets, schedules, sensors) are snapshot tables: what a complete listing no
longer holds is deleted. A code location that failed to load (or is still loading) drops out
of Dagster's repository listings, so its rows must be left as they are: this module tells which
locations were listed completely, and warns of the others with Dagster's own error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extractor.client import DagsterClient, Operation, unwrap
from extractor.documents import WORKSPACE
from extractor.errors import GraphQLError
from extractor.log import log


# For a Dagster older than `versionKey`: the versions stay unknown.
WORKSPACE_WITHOUT_VERSIONS = Operation(WORKSPACE.name, WORKSPACE.document.replace("versionKey", ""))


@dataclass(frozen=True)
class Repository:
    """A repository in a code location, as Dagster selects it."""

    location_name: str
    name: str

    @property
    def selector(self) -> dict[str, str]:
        return {"repositoryLocationName": self.location_name, "repositoryName": self.name}

    @property
    def label(self) -> str:
        """`name@location`, as in the `.dagster/repository` tag of runs it launched."""
        return f"{self.name}@{self.location_name}"


@dataclass(frozen=True)
class Workspace:
    repositories: list[Repository]  # of the locations that loaded
    locations: frozenset[str]  # every location the workspace names, loaded or not
    loaded: frozenset[str]  # the locations whose definitions Dagster lists in full
    entries: tuple[dict[str, Any], ...] = ()  # Dagster's `WorkspaceLocationEntry` objects
    load_errors: dict[str, str] = field(default_factory=dict)  # location -> the code's error
    # loaded location -> Dagster's `versionKey`, which changes whenever the location is
    # (re)loaded: the same key, the same definitions (what the Dagster UI refetches on)
    versions: dict[str, str] = field(default_factory=dict)

    def unchanged_since(self, other: Workspace) -> frozenset[str]:
        """The locations loaded in both listings with the same version (or none told in either)."""
        return frozenset(name for name in self.loaded & other.loaded if self.versions.get(name) == other.versions.get(name))


def load_error(location: dict[str, Any]) -> str:
    """The code's own exception of a location that failed to load (Dagster's message is
    generic; the code's exception is its last cause), on one line."""
    causes = [cause.get("message") or "" for cause in location.get("causes") or []]
    text = (causes[-1] if causes and causes[-1].strip() else location.get("message")) or ""
    return (text.strip().splitlines() or ["no message"])[-1][:300]


async def load_workspace(client: DagsterClient, warn: bool = True) -> Workspace:
    """Lists the code locations; warns of each one that failed to load, naming its error."""
    try:
        data = await client.execute(WORKSPACE)
    except GraphQLError as error:
        if not (error.is_schema_mismatch and "versionKey" in str(error)):
            raise
        if warn:
            log.warning(
                "this Dagster has no WorkspaceLocationEntry.versionKey: every sync lists the "
                "asset definitions in full"
            )
        data = await client.execute(WORKSPACE_WITHOUT_VERSIONS)
    workspace = unwrap(WORKSPACE.name, data["workspaceOrError"], "Workspace")
    repositories: list[Repository] = []
    locations, loaded = set(), set()
    errors: dict[str, str] = {}
    versions: dict[str, str] = {}
    for entry in workspace["locationEntries"]:
        name = entry["name"]
        locations.add(name)
        location = entry.get("locationOrLoadError") or {}
        if entry["loadStatus"] == "LOADED" and location.get("__typename") == "RepositoryLocation":
            loaded.add(name)
            if entry.get("versionKey") is not None:
                versions[name] = str(entry["versionKey"])
            repositories += [Repository(name, repo["name"]) for repo in location["repositories"]]
        elif location.get("__typename") == "PythonError":
            errors[name] = load_error(location)
            if warn:
                log.warning(
                    f"code location '{name}' failed to load ({errors[name]}); its definitions "
                    "are left as last synced"
                )
        elif warn:
            log.warning(
                f"code location '{name}' is {entry['loadStatus'].lower()}; its definitions "
                "are left as last synced"
            )
    return Workspace(
        repositories,
        frozenset(locations),
        frozenset(loaded),
        tuple(workspace["locationEntries"]),
        errors,
        versions,
    )
