"""`dagster_asset_checks`: the workspace's asset checks, one row per check (a snapshot, with
soft deletes), from the sync's one walk over the assets (`AssetNode.assetChecksOrError`).

A check is keyed `<asset key>:<check name>`. When Dagster can't list an asset's checks (the
instance needs a migration, or the code location's Dagster is too old for checks), its
location's checks are left untouched.
"""

from __future__ import annotations

from typing import Any

from extractor import asset_graph
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext, Table
from extractor.transforms import Row, asset_key_id

NAME = "dagster_asset_checks"


def check_id(asset_path: list[str] | tuple[str, ...], name: str) -> str:
    return f"{asset_key_id(list(asset_path))}:{name}"


def _checks(asset: dict[str, Any]) -> list[dict[str, Any]]:
    listed = asset["definition"].get("assetChecksOrError") or {}
    return listed.get("checks") or [] if listed.get("__typename") == "AssetChecks" else []


def listed(asset: dict[str, Any]) -> bool:
    """Whether Dagster listed the asset's checks (an error leaves them unknown)."""
    answer = asset["definition"].get("assetChecksOrError")
    return answer is None or answer.get("__typename") == "AssetChecks"


def rows_of(asset: dict[str, Any]) -> list[Row]:
    """The check rows of a defined `Asset` of the listing."""
    definition = asset["definition"]
    path = asset["key"]["path"]
    return [
        {
            "id": check_id(path, check["name"]),
            "asset_key": asset_key_id(path),
            "name": check["name"],
            "description": check.get("description"),
            "blocking": check.get("blocking"),
            "job_names": list(check.get("jobNames") or ()),
            "additional_asset_keys": [asset_key_id(key["path"]) for key in check.get("additionalAssetKeys") or ()],
            "code_location": definition["repository"]["location"]["name"],
            "repository": definition["repository"]["name"],
        }
        for check in _checks(asset)
    ]


def refs_of(asset: dict[str, Any]) -> list[asset_graph.CheckRef]:
    path = tuple(asset["key"]["path"])
    return [asset_graph.CheckRef(check_id(path, c["name"]), path, c["name"]) for c in _checks(asset)]


async def sync(context: SyncContext) -> SnapshotListing:
    return (await asset_graph.read(context)).listings[NAME]


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "asset_key": "STRING",
        "name": "STRING",
        "description": "STRING",
        "blocking": "BOOLEAN",
        "job_names": "JSON",
        "additional_asset_keys": "JSON",
        "code_location": "STRING",
        "repository": "STRING",
    },
    sync=sync,
)
