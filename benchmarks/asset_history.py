"""The simulated Dagster's asset event log and asset check executions, derived from indexes
(a million events hold no memory), answered as dagster-webserver 1.13 answers
`Asset.assetEventHistory` and `assetCheckExecutions`.

Events: the keys with events (`DagsterModel`'s, in their order) share `total` events, spread
evenly; key i's k-th event (oldest first) has storage id `k * N + i + 1` (N keys: one global
sequence, interleaved as a real event log is). Every event is a materialization with two
metadata entries and a tag. `latestEventSortKey` is a key's newest storage id. Pages go newest
first; the cursor is Dagster's `EventLogCursor` (base64 JSON of the page's oldest storage id);
a `limit` above 10000 fails as Dagster's event-log record cap does.

Checks: `checks_per_repository` checks on the first assets of each repository (`check_<j>`),
each with `executions_per_check` executions, ids `e * Q + q + 1` (Q checks in all); every 5th
execution failed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

MAX_EVENT_RECORDS = 10_000  # dagster's DEFAULT_MAX_LIMIT_EVENT_RECORDS


def definition_details(path: list[str], checks: list[str]) -> dict[str, Any]:
    """The simulated `AssetNode` fields beyond key, description and location: group (the
    key's layer), owners, tags, kinds, jobs, no partitions or freshness policy, and `checks`."""
    return {
        "groupName": path[1] if len(path) == 3 else "metrics",
        "owners": [{"__typename": "TeamAssetOwner", "team": "data"}],
        "tags": [{"__typename": "DefinitionTag", "key": "dagster/kind/dbt", "value": ""}], "kinds": ["dbt"],
        "isPartitioned": False, "isObservable": False, "isMaterializable": True,
        "jobNames": ["__ASSET_JOB"], "partitionStats": None, "freshnessPolicy": None, "internalFreshnessPolicy": None,
        "assetChecksOrError": {"__typename": "AssetChecks", "checks": [
            {"__typename": "AssetCheck", "name": name, "description": None, "blocking": False,
             "jobNames": ["__ASSET_JOB"], "additionalAssetKeys": []} for name in checks]},
    }  # fmt: skip


def expected_details(path: list[str]) -> dict[str, Any]:
    """The `dagster_assets` columns `definition_details` gives, as the connector writes them."""
    return {
        "group_name": path[1] if len(path) == 3 else "metrics", "owners": ["team:data"],
        "tags": {"dagster/kind/dbt": ""}, "kinds": ["dbt"], "is_partitioned": False,
        "partition_count": None, "materialized_partition_count": None, "failed_partition_count": None,
        "freshness_policy": None, "job_names": ["__ASSET_JOB"], "is_observable": False, "is_materializable": True,
    }  # fmt: skip


def event_cursor(storage_id: int) -> str:
    return base64.b64encode(json.dumps({"type": "STORAGE_ID", "value": storage_id}).encode()).decode()


def cursor_storage_id(cursor: str | None) -> int | None:
    if not cursor:
        return None
    return int(json.loads(base64.b64decode(cursor))["value"])


class AssetHistory:
    def __init__(self, keys: list[list[str]], total: int, now_ms: int) -> None:
        self.paths = keys
        self.index = {json.dumps(path): i for i, path in enumerate(keys)}
        self.n = len(keys)
        self.total = max(total, self.n)  # at least one event per key with events
        self.now_ms = now_ms

    def count(self, i: int) -> int:
        base, extra = divmod(self.total, self.n)
        return base + (1 if i < extra else 0)

    def latest_sort_key(self, path: list[str]) -> int | None:
        i = self.index.get(json.dumps(path))
        return None if i is None else (self.count(i) - 1) * self.n + i + 1

    def events_total(self) -> int:
        return sum(self.count(i) for i in range(self.n)) if self.n else 0

    def page(self, path: list[str], limit: int, cursor: str | None) -> dict[str, Any] | None:
        """`assetEventHistory(limit, cursor)` of `path`; None when the key has no events."""
        if limit > MAX_EVENT_RECORDS:
            raise ValueError(f"Limit of {limit} is too large. Max is {MAX_EVENT_RECORDS}")
        i = self.index.get(json.dumps(path))
        if i is None:
            return None
        below = cursor_storage_id(cursor)
        newest = self.count(i) - 1
        if below is not None:  # ids k * n + i + 1 < below
            newest = min(newest, (below - i - 2) // self.n)
        ks = range(newest, max(newest - limit, -1), -1)
        results = [self.event(path, i, k) for k in ks]
        last = ks[-1] * self.n + i + 1 if results else -1
        return {"__typename": "AssetResultEventHistoryConnection", "results": results, "cursor": event_cursor(last)}

    def event(self, path: list[str], i: int, k: int) -> dict[str, Any]:
        timestamp = self.now_ms - (self.count(i) - k) * 60_000 - i
        return {
            "__typename": "MaterializationEvent", "runId": f"{(i * 7919 + k) % 1_000_000:08x}-sim",
            "stepKey": path[-1], "partition": None, "timestamp": str(timestamp), "description": None,
            "tags": [{"__typename": "EventTag", "key": "dagster/code_version", "value": f"v{k % 5}"}],
            "metadataEntries": [
                {"__typename": "IntMetadataEntry", "label": "row_count", "intValue": 1000 + k, "intRepr": str(1000 + k)},
                {"__typename": "PathMetadataEntry", "label": "path", "path": f"s3://lake/{'/'.join(path)}/{k}.parquet"},
            ],
        }  # fmt: skip


class CheckHistory:
    def __init__(self, checks: list[tuple[list[str], str]], executions_per_check: int, now_ms: int) -> None:
        self.checks = checks
        self.index = {(json.dumps(path), name): q for q, (path, name) in enumerate(checks)}
        self.names_by_asset: dict[tuple[str, ...], list[str]] = {}  # an asset's checks, in O(1)
        for path, name in checks:
            self.names_by_asset.setdefault(tuple(path), []).append(name)
        self.q = len(checks)
        self.per_check = executions_per_check
        self.now_ms = now_ms

    def executions(self, path: list[str], name: str, limit: int, cursor: str | None) -> list[dict[str, Any]]:
        q = self.index.get((json.dumps(path), name))
        if q is None:
            return []
        newest = self.per_check - 1
        if cursor:
            newest = min(newest, (int(cursor) - q - 2) // self.q)
        return [self.execution(q, e) for e in range(newest, max(newest - limit, -1), -1)]

    def execution(self, q: int, e: int) -> dict[str, Any]:
        failed = (q + e) % 5 == 0
        seconds = self.now_ms / 1000 - (self.per_check - e) * 3600
        return {
            "__typename": "AssetCheckExecution", "id": str(e * self.q + q + 1), "runId": f"{(q * 31 + e):08x}-check",
            "status": "FAILED" if failed else "SUCCEEDED", "timestamp": seconds, "stepKey": "check", "partition": None,
            "evaluation": {
                "__typename": "AssetCheckEvaluation", "timestamp": seconds + 1, "success": not failed,
                "severity": "ERROR", "description": None,
                "targetMaterialization": {"__typename": "AssetCheckEvaluationTargetMaterializationData", "runId": None},
                "metadataEntries": [{"__typename": "IntMetadataEntry", "label": "failed_rows", "intValue": int(failed), "intRepr": str(int(failed))}],
            },
        }  # fmt: skip


# ---- what the connector should write (benchmarks: destination-only baseline, verification) ----


def _iso_from_millis(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expected_event_row(history: AssetHistory, i: int, k: int) -> dict[str, Any]:
    """The `dagster_asset_events` row of key i's k-th event, re-stated from the table's contract
    (id: sha1 of the JSON of [asset key, event type, run id, step key, partition, timestamp])."""
    import hashlib

    path = history.paths[i]
    event = history.event(path, i, k)
    asset_key = "/".join(path)
    identity = [asset_key, "MATERIALIZATION", event["runId"], event["stepKey"], event["partition"], event["timestamp"]]
    return {
        "id": hashlib.sha1(json.dumps(identity).encode()).hexdigest(), "asset_key": asset_key,
        "event_type": "MATERIALIZATION", "run_id": event["runId"] or None, "step_key": event["stepKey"],
        "partition": event["partition"], "timestamp": _iso_from_millis(int(event["timestamp"])),
        "tags": {tag["key"]: tag["value"] for tag in event["tags"]},
        "metadata": {"row_count": event["metadataEntries"][0]["intValue"], "path": event["metadataEntries"][1]["path"]},
        "description": None, "failure_type": None, "failure_reason": None,
    }  # fmt: skip


def expected_event_rows(history: AssetHistory) -> Iterator[dict[str, Any]]:
    """Every `dagster_asset_events` row, lazily."""
    for i in range(history.n):
        for k in range(history.count(i)):
            yield expected_event_row(history, i, k)
