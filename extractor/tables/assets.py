"""`dagster_assets`: the workspace's assets, one row per asset key (a snapshot, with soft
deletes), from the sync's one walk over the assets (`extractor/asset_graph.py`).

Keys that only have events (no definition) and the stubs Dagster makes for undefined
dependencies are not assets of the workspace and are left out (their events are still synced).
"""

from __future__ import annotations

from typing import Any

from extractor import asset_graph
from extractor.snapshot import SnapshotListing
from extractor.table import SyncContext, Table
from extractor.transforms import Row, asset_key_id, utc_datetime_from_millis

NAME = "dagster_assets"


def rows_of(asset: dict[str, Any]) -> list[Row]:
    """The `dagster_assets` row of a defined `Asset` of the listing."""
    definition = asset["definition"]
    repository = definition["repository"]
    latest = (asset.get("assetMaterializations") or [{}])[0]
    stats = definition.get("partitionStats") or {}
    return [
        {
            "id": asset_key_id(asset["key"]["path"]),
            "key_path": ".".join(asset["key"]["path"]),
            "description": definition.get("description"),
            "code_location": repository["location"]["name"],
            "repository": repository["name"],
            "group_name": definition.get("groupName"),
            "owners": [owner.get("email") or f"team:{owner.get('team')}" for owner in definition.get("owners") or ()],
            "tags": {tag["key"]: tag["value"] for tag in definition.get("tags") or ()},
            "kinds": list(definition.get("kinds") or ()),
            "is_partitioned": definition.get("isPartitioned"),
            "partition_count": stats.get("numPartitions"),
            "materialized_partition_count": stats.get("numMaterialized"),
            "failed_partition_count": stats.get("numFailed"),
            "freshness_policy": freshness_policy(definition),
            "job_names": list(definition.get("jobNames") or ()),
            "is_observable": definition.get("isObservable"),
            "is_materializable": definition.get("isMaterializable"),
            "last_materialization_run_id": latest.get("runId") or None,  # runless events: ''
            "last_materialization_time": utc_datetime_from_millis(latest.get("timestamp")),
        }
    ]


def freshness_policy(definition: dict[str, Any]) -> dict[str, Any] | None:
    """The asset's freshness policy: the current kind (`internalFreshnessPolicy`, with its
    `type`), else the legacy one (`type: "Legacy"`), else None."""
    current = definition.get("internalFreshnessPolicy")
    if current:
        kind = current.get("__typename", "").removesuffix("FreshnessPolicy") or None
        return {"type": kind, **{k: v for k, v in current.items() if k != "__typename"}}
    legacy = definition.get("freshnessPolicy")
    return {"type": "Legacy", **legacy} if legacy else None


async def sync(context: SyncContext) -> SnapshotListing:
    return (await asset_graph.read(context)).listings[NAME]


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "key_path": "STRING",
        "description": "STRING",
        "code_location": "STRING",
        "repository": "STRING",
        "group_name": "STRING",
        "owners": "JSON",
        "tags": "JSON",
        "kinds": "JSON",
        "is_partitioned": "BOOLEAN",
        "partition_count": "INT",
        "materialized_partition_count": "INT",
        "failed_partition_count": "INT",
        "freshness_policy": "JSON",
        "job_names": "JSON",
        "is_observable": "BOOLEAN",
        "is_materializable": "BOOLEAN",
        "last_materialization_run_id": "STRING",
        "last_materialization_time": "UTC_DATETIME",
    },
    sync=sync,
)
