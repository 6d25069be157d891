"""`dagster_jobs`: one row per job per repository (a snapshot, with soft deletes).

Dagster's implicit asset jobs (`__ASSET_JOB...`) are an implementation detail and are left
out. The key joins code location, repository and job name: Dagster's own job id embeds the
location's origin and changes when it is redeployed.
"""

from __future__ import annotations

import json
from typing import Any

from extractor.client import Operation, unwrap
from extractor.errors import GraphQLError, ServerFailure
from extractor.snapshot import SnapshotListing, fetch_per_repository, send_listing
from extractor.table import SyncContext, Table
from extractor.transforms import Row
from extractor.workspace import Repository

NAME = "dagster_jobs"
IMPLICIT_ASSET_JOB_PREFIX = "__ASSET_JOB"

_JOBS = """
query {name}($repositorySelector: RepositorySelector!) {{
  repositoryOrError(repositorySelector: $repositorySelector) {{
    __typename
    ... on Repository {{
      jobs {{
        name description {is_asset_job}
        tags {{ key value }}
        owners {{ __typename ... on UserDefinitionOwner {{ email }} ... on TeamDefinitionOwner {{ team }} }}
      }}
    }}
    ... on Error {{ message }}
  }}
}}"""

JOBS = Operation("ConnectorJobs", _JOBS.format(name="ConnectorJobs", is_asset_job="isAssetJob"))
# Dagster 1.11 fails to resolve `Job.isAssetJob` here (an AttributeError on `_batch_loader`):
# without it, `is_asset_job` stays empty.
JOBS_WITHOUT_ASSET_FLAG = Operation(
    "ConnectorJobsUnflagged", _JOBS.format(name="ConnectorJobsUnflagged", is_asset_job="")
)


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


async def sync(context: SyncContext) -> SnapshotListing:
    async def rows_of(repository: Repository) -> list[Row]:
        variables = {"repositorySelector": repository.selector}
        client = context.client
        if JOBS.name not in client.unsupported_operations:
            try:
                data = await client.execute(JOBS, variables)
            except (GraphQLError, ServerFailure) as error:
                if "isAssetJob" not in str(error):
                    raise
                client.mark_unsupported(JOBS, error, JOBS_WITHOUT_ASSET_FLAG.name)
        if JOBS.name in client.unsupported_operations:
            data = await client.execute(JOBS_WITHOUT_ASSET_FLAG, variables)
        found = unwrap(JOBS.name, data["repositoryOrError"], "Repository")
        return [
            job_row(job, repository)
            for job in found["jobs"]
            if not job["name"].startswith(IMPLICIT_ASSET_JOB_PREFIX)
        ]

    workspace, rows = await fetch_per_repository(context, "jobs", rows_of)
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
