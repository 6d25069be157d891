"""`dagster_jobs`: one row per job per repository (a snapshot, with soft deletes).

Dagster's implicit asset jobs (`__ASSET_JOB...`) are an implementation detail and are left
out. The key joins code location, repository and job name: Dagster's own job id embeds the
location's origin and changes when it is redeployed.
"""

from __future__ import annotations

import json
from typing import Any

from extractor.repository_batch import RepositoryQuery
from extractor.snapshot import SnapshotListing, fetch_per_repository, send_listing
from extractor.table import SyncContext, Table
from extractor.transforms import Row
from extractor.workspace import Repository

NAME = "dagster_jobs"
IMPLICIT_ASSET_JOB_PREFIX = "__ASSET_JOB"

_JOB_FIELDS = """
    __typename
    ... on Repository {{
      jobs {{
        name description {is_asset_job}
        tags {{ key value }}
        owners {{ __typename ... on UserDefinitionOwner {{ email }} ... on TeamDefinitionOwner {{ team }} }}
      }}
    }}
    ... on Error {{ message }}"""

# Dagster 1.11 fails to resolve `Job.isAssetJob` here (an AttributeError on `_batch_loader`):
# without it, `is_asset_job` stays empty.
JOBS = (
    RepositoryQuery(
        "ConnectorJobs", "repositoryOrError", "Repository", _JOB_FIELDS.format(is_asset_job="isAssetJob"),
        fallback_when="isAssetJob",
    ),
    RepositoryQuery("ConnectorJobsUnflagged", "repositoryOrError", "Repository", _JOB_FIELDS.format(is_asset_job="")),
)  # fmt: skip


def job_id(repository: Repository, name: str) -> str:
    return f"{repository.location_name}:{repository.name}:{name}"


def job_row(job: dict[str, Any], repository: Repository) -> Row:
    owners = [owner.get("email") or f"team:{owner.get('team')}" for owner in job.get("owners") or []]
    return {
        "id": job_id(repository, job["name"]),
        "name": job["name"],
        "code_location": repository.location_name,
        "repository": repository.name,
        "description": job.get("description"),
        "is_asset_job": job.get("isAssetJob"),
        "tags": {tag["key"]: tag["value"] for tag in job.get("tags") or ()},
        "owners": json.dumps(owners),
    }


def job_rows(repository: Repository, found: dict[str, Any]) -> list[Row]:
    return [
        job_row(job, repository)
        for job in found["jobs"]
        if not job["name"].startswith(IMPLICIT_ASSET_JOB_PREFIX)
    ]


async def sync(context: SyncContext) -> SnapshotListing:
    workspace, rows = await fetch_per_repository(context, "jobs", JOBS, job_rows)
    return await send_listing(context, NAME, workspace, rows)


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "name": "STRING",
        "code_location": "STRING",
        "repository": "STRING",
        "description": "STRING",
        "is_asset_job": "BOOLEAN",
        "tags": "JSON",
        "owners": "STRING",
    },
    sync=sync,
)
