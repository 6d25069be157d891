"""The workspace: every code location, whether it loaded, and the repositories of those that did.

Definitions (assets, schedules, sensors) are snapshot tables: what a complete listing no
longer holds is deleted. A code location that failed to load (or is still loading) drops out
of Dagster's repository listings, so its rows must be left as they are: this module tells which
locations were listed completely, and warns of the others with Dagster's own error.
"""

from __future__ import annotations

from dataclasses import dataclass

from extractor.client import DagsterClient, unwrap
from extractor.documents import WORKSPACE
from extractor.log import log


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


async def load_workspace(client: DagsterClient, warn: bool = True) -> Workspace:
    """Lists the code locations; warns of each one that failed to load, naming its error."""
    data = await client.execute(WORKSPACE)
    workspace = unwrap(WORKSPACE.name, data["workspaceOrError"], "Workspace")
    repositories: list[Repository] = []
    locations, loaded = set(), set()
    for entry in workspace["locationEntries"]:
        name = entry["name"]
        locations.add(name)
        location = entry.get("locationOrLoadError") or {}
        if entry["loadStatus"] == "LOADED" and location.get("__typename") == "RepositoryLocation":
            loaded.add(name)
            repositories += [Repository(name, repo["name"]) for repo in location["repositories"]]
        elif not warn:
            continue
        elif location.get("__typename") == "PythonError":
            # Dagster's own message is generic; the code's exception is the last cause.
            causes = [cause.get("message") or "" for cause in location.get("causes") or []]
            text = (causes[-1] if causes and causes[-1].strip() else location.get("message")) or ""
            message = (text.strip().splitlines() or ["no message"])[-1][:300]
            log.warning(
                f"code location '{name}' failed to load ({message}); its assets, schedules "
                "and sensors are left as last synced"
            )
        else:
            log.warning(
                f"code location '{name}' is {entry['loadStatus'].lower()}; its assets, "
                "schedules and sensors are left as last synced"
            )
    return Workspace(repositories, frozenset(locations), frozenset(loaded))
