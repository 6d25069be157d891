"""Repositories: every (code location, repository) pair of the workspace.

Schedules, sensors and assets are queried per repository with a `RepositorySelector`.
"""

from __future__ import annotations

from dataclasses import dataclass

from extractor.client import DagsterClient, unwrap
from extractor.documents import REPOSITORIES


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


async def list_repositories(client: DagsterClient) -> list[Repository]:
    """Every repository of every loaded code location, in the server's order."""
    data = await client.execute(REPOSITORIES)
    connection = unwrap(REPOSITORIES.name, data["repositoriesOrError"], "RepositoryConnection")
    return [
        Repository(location_name=node["location"]["name"], name=node["name"])
        for node in connection["nodes"]
    ]
