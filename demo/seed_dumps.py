"""Ground truth for the integration tests: ``seed.py dump-*`` commands for the dataset tables.

Each reads what Dagster itself holds through the instance API (storages) or, for definitions,
through the snapshots Dagster builds from the code (``asset_node_snaps_from_repo``,
``asset_check_node_snaps_from_repo``: what the webserver serves) - never through GraphQL or
the connector's queries. Times are epoch seconds (floats), asset keys "a/b/c".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import seed_activity as activity

PAGE = 1000


def _key(asset_key: Any) -> str:
    return "/".join(asset_key.path)


def _metadata(entries: Any) -> dict[str, Any]:
    """Metadata as label -> plain value (numbers, text, booleans, JSON); other kinds as text."""
    out = {}
    for label, value in (entries or {}).items():
        raw = getattr(value, "value", value)
        try:
            json.dumps(raw)
        except TypeError:
            raw = str(raw)
        out[label] = raw
    return out


def _error_message(error: Any) -> str | None:
    return error.message if error is not None else None


# --- dagster_asset_events ---------------------------------------------------------------------


def _records(fetch: Callable[..., Any], key: Any) -> Iterator[Any]:
    cursor = None
    while True:
        result = fetch(key, limit=PAGE, cursor=cursor)
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def dump_asset_events(seeder: Any) -> list[dict[str, Any]]:
    """Every materialization and observation of every asset key the event log knows (runless
    ones too), from ``instance.fetch_materializations`` / ``fetch_observations``."""
    instance = seeder.instance
    keys = {_key(key): key for key in instance.get_asset_keys()}
    for location in seeder.loadable_locations():
        for key in location.repo_def.asset_graph.get_all_asset_keys():
            keys.setdefault(_key(key), key)
    rows = []
    for name in sorted(keys):
        for event_type, fetch in (
            ("MATERIALIZATION", instance.fetch_materializations),
            ("OBSERVATION", instance.fetch_observations),
        ):
            for record in _records(fetch, keys[name]):
                entry = record.event_log_entry
                event = entry.dagster_event.event_specific_data
                asset_event = getattr(event, "materialization", None) or getattr(
                    event, "asset_observation", None
                )
                rows.append(
                    {
                        "storage_id": record.storage_id,
                        "asset_key": name,
                        "event_type": event_type,
                        "run_id": entry.run_id or None,  # "" for runless events
                        "step_key": entry.step_key,
                        "partition": asset_event.partition,
                        "timestamp": entry.timestamp,
                        "tags": dict(asset_event.tags or {}),
                        "metadata": _metadata(asset_event.metadata),
                        "description": asset_event.description,
                    }
                )
    return rows


# --- dagster_asset_checks ---------------------------------------------------------------------


def dump_asset_checks(seeder: Any) -> list[dict[str, Any]]:
    """Every asset check defined in the loadable locations, as Dagster snapshots them for the
    webserver (``asset_check_node_snaps_from_repo``)."""
    from dagster._core.remote_representation.external_data import asset_check_node_snaps_from_repo

    rows = []
    for location in seeder.loadable_locations():
        for snap in asset_check_node_snaps_from_repo(location.repo_def):
            rows.append(
                {
                    "id": f"{_key(snap.asset_key)}:{snap.name}",
                    "asset_key": _key(snap.asset_key),
                    "name": snap.name,
                    "description": snap.description,
                    "blocking": snap.blocking,
                    "job_names": list(snap.job_names),
                    "additional_asset_keys": [_key(key) for key in snap.additional_asset_keys],
                    "code_location": location.name,
                    "repository": activity.REPOSITORY_NAME,
                }
            )
    return sorted(rows, key=lambda row: row["id"])


# --- dagster_asset_check_executions -----------------------------------------------------------


def _stored_check_keys(instance: Any) -> set[Any]:
    """The check keys with executions in the event log (checks removed from code included)."""
    from dagster import AssetCheckKey, AssetKey
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
    from sqlalchemy import select

    table = AssetCheckExecutionsTable
    with instance.event_log_storage.index_connection() as conn:
        pairs = conn.execute(select(table.c.asset_key, table.c.check_name).distinct()).fetchall()
    return {AssetCheckKey(AssetKey.from_db_string(asset_key), name) for asset_key, name in pairs}


def _resolved_status(instance: Any, record: Any) -> str:
    """``AssetCheckExecutionRecord.resolve_status`` (the status GraphQL answers): a planned
    execution is IN_PROGRESS while its run is unfinished, then EXECUTION_FAILED if the run
    failed, else SKIPPED (also when the run was deleted)."""
    stored = record.status.value
    if stored in ("SUCCEEDED", "FAILED"):
        return stored
    run = instance.get_run_by_id(record.run_id)
    if run is None:
        return "SKIPPED"
    if not run.is_finished:
        return "IN_PROGRESS"
    return "EXECUTION_FAILED" if run.status.value == "FAILURE" else "SKIPPED"


def dump_check_executions(seeder: Any) -> list[dict[str, Any]]:
    """Every execution of every asset check (defined or with stored executions), from
    ``event_log_storage.get_asset_check_execution_history``."""
    from dagster import AssetCheckKey
    from dagster._core.events import DagsterEventType

    instance = seeder.instance
    keys = _stored_check_keys(instance)
    for location in seeder.loadable_locations():
        for key in location.repo_def.asset_graph.asset_check_keys:
            keys.add(AssetCheckKey(key.asset_key, key.name))
    rows = []
    for key in sorted(keys, key=lambda k: (_key(k.asset_key), k.name)):
        cursor = None
        while True:
            records = instance.event_log_storage.get_asset_check_execution_history(
                key, limit=PAGE, cursor=cursor
            )
            for record in records:
                event = record.event
                evaluation = (
                    event.dagster_event.event_specific_data
                    if event is not None
                    and event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION
                    else None
                )
                target = evaluation.target_materialization_data if evaluation else None
                rows.append(
                    {
                        "id": str(record.id),
                        "check_id": f"{_key(key.asset_key)}:{key.name}",
                        "asset_key": _key(key.asset_key),
                        "check_name": key.name,
                        "run_id": record.run_id,
                        "status": _resolved_status(instance, record),
                        "timestamp": record.create_timestamp,
                        "step_key": event.step_key if event is not None else None,
                        "partition": getattr(record, "partition", None),
                        "evaluation_time": event.timestamp if evaluation else None,
                        "success": evaluation.passed if evaluation else None,
                        "severity": evaluation.severity.value if evaluation else None,
                        "description": evaluation.description if evaluation else None,
                        "metadata": _metadata(evaluation.metadata) if evaluation else None,
                        "target_materialization_run_id": target.run_id if target else None,
                    }
                )
            if len(records) < PAGE:
                break
            cursor = records[-1].id
    return rows


# --- dagster_ticks ----------------------------------------------------------------------------


def dump_ticks(seeder: Any) -> list[dict[str, Any]]:
    """Every tick of every schedule and sensor of the loadable locations, from
    ``instance.get_ticks(origin_id, selector_id)`` (no limit)."""
    rows = []
    for (location, name), instigator in sorted(activity.instigators(seeder).items()):
        for tick in seeder.instance.get_ticks(instigator.origin_id, instigator.selector_id):
            data = tick.tick_data
            rows.append(
                {
                    "id": str(tick.tick_id),
                    "instigator_id": instigator.selector_id,
                    "instigator_name": name,
                    "instigator_type": instigator.kind,
                    "code_location": location,
                    "repository": activity.REPOSITORY_NAME,
                    "status": data.status.value,
                    "timestamp": data.timestamp,
                    "end_time": data.end_timestamp,
                    "run_ids": list(data.run_ids or []),
                    "run_keys": list(data.run_keys or []),
                    "skip_reason": data.skip_reason,
                    "error_message": _error_message(data.error),
                }
            )
    return rows


# --- dagster_backfills ------------------------------------------------------------------------


def dump_backfills(seeder: Any) -> list[dict[str, Any]]:
    """Every backfill, from ``instance.get_backfills()`` (no limit). The partition count of an
    asset backfill is read against the asset graph, as ``PartitionBackfill.get_num_partitions``
    does for the webserver."""
    asset_graph = (
        seeder.require(activity.PARTITIONED_LOCATION).repo_def.asset_graph
        if seeder.is_loadable(activity.PARTITIONED_LOCATION)
        else None
    )
    rows = []
    for backfill in seeder.instance.get_backfills():
        if backfill.is_asset_backfill:
            partitions = (
                backfill.get_asset_backfill_data(asset_graph).get_num_partitions()
                if asset_graph is not None
                else None
            )
        else:
            partitions = len(backfill.partition_names or [])
        rows.append(
            {
                "id": backfill.backfill_id,
                "status": backfill.status.value,
                "is_asset_backfill": backfill.is_asset_backfill,
                "job_name": backfill.job_name,
                "partition_set_name": backfill.partition_set_name,
                "asset_selection": [_key(key) for key in backfill.asset_selection]
                if backfill.asset_selection is not None
                else None,
                "num_partitions": partitions,
                "from_failure": backfill.from_failure,
                "creation_time": backfill.backfill_timestamp,
                "end_time": backfill.backfill_end_timestamp,
                "tags": dict(backfill.tags or {}),
                "error_message": _error_message(backfill.error),
                "user": backfill.user,
                "title": backfill.title,
                "description": backfill.description,
            }
        )
    return rows


# --- dagster_run_steps ------------------------------------------------------------------------


def dump_run_steps(seeder: Any) -> list[dict[str, Any]]:
    """The step stats of every run, from ``instance.get_run_step_stats`` (with the run's status,
    for tests that keep finished runs only)."""
    rows = []
    for record in seeder.instance.get_run_records():
        run = record.dagster_run
        for step in seeder.instance.get_run_step_stats(run.run_id):
            rows.append(
                {
                    "run_id": run.run_id,
                    "run_status": run.status.value,
                    "step_key": step.step_key,
                    "status": step.status.value if step.status is not None else None,
                    "start_time": step.start_time,
                    "end_time": step.end_time,
                    "attempts": step.attempts,
                    "attempt_times": [
                        [marker.start_time, marker.end_time] for marker in step.attempts_list
                    ],
                }
            )
    return rows


# --- dagster_assets (dataset columns) ---------------------------------------------------------


def dump_asset_definitions(seeder: Any) -> list[dict[str, Any]]:
    """The dataset columns of every defined asset, from the asset node snapshots Dagster builds
    for the webserver (``asset_node_snaps_from_repo``; a repository's stubs for another
    location's assets left out), with partition counts from the instance's partition status
    (``get_and_update_asset_status_cache_value``, which the webserver's ``partitionStats`` reads:
    materialized = materialized - failed - in progress; failed = failed - in progress)."""
    from dagster._core.definitions.assets.definition.asset_spec import (
        SYSTEM_METADATA_KEY_AUTO_CREATED_STUB_ASSET,
    )
    from dagster._core.remote_representation.external_data import asset_node_snaps_from_repo
    from dagster._core.storage.partition_status_cache import (
        get_and_update_asset_status_cache_value,
    )
    from dagster._core.storage.tags import KIND_PREFIX

    rows = []
    for location in seeder.loadable_locations():
        for snap in asset_node_snaps_from_repo(location.repo_def):
            if snap.metadata.get(SYSTEM_METADATA_KEY_AUTO_CREATED_STUB_ASSET) is not None:
                continue
            partitions_def = snap.partitions.get_partitions_definition() if snap.partitions else None
            counts: dict[str, Any] = {
                "partition_count": None,
                "materialized_partition_count": None,
                "failed_partition_count": None,
            }
            if partitions_def is not None:
                status = get_and_update_asset_status_cache_value(
                    seeder.instance, snap.asset_key, partitions_def
                )
                materialized = status.deserialize_materialized_partition_subsets(partitions_def)
                failed = status.deserialize_failed_partition_subsets(partitions_def)
                in_progress = status.deserialize_in_progress_partition_subsets(partitions_def)
                counts = {
                    "partition_count": partitions_def.get_num_partitions(),
                    "materialized_partition_count": len(materialized - (failed | in_progress)),
                    "failed_partition_count": len(failed - in_progress),
                }
            kinds = (
                [snap.compute_kind]
                if snap.compute_kind
                else [key[len(KIND_PREFIX) :] for key in (snap.tags or {}) if key.startswith(KIND_PREFIX)]
            )
            rows.append(
                {
                    "id": _key(snap.asset_key),
                    "code_location": location.name,
                    "group_name": snap.group_name,
                    # "team:NAME" in definitions (the connector's form too, as for jobs)
                    "owners": list(snap.owners or []),
                    "tags": dict(snap.tags or {}),
                    "kinds": sorted(kinds),  # a set in Dagster: any order
                    "is_partitioned": partitions_def is not None,
                    **counts,
                    "freshness_policy": _freshness_policy(snap),
                    "job_names": list(snap.job_names),
                    "is_observable": snap.is_observable,
                    "is_materializable": snap.is_materializable,
                }
            )
    return sorted(rows, key=lambda row: row["id"])


def _freshness_policy(snap: Any) -> dict[str, Any] | None:
    """The current kind of freshness policy as GraphQL's ``internalFreshnessPolicy`` gives it
    (type name without "FreshnessPolicy", then its fields), else the legacy one."""
    policy = snap.freshness_policy
    if policy is not None:
        kind = type(policy).__name__.removesuffix("FreshnessPolicy")
        if kind == "TimeWindow":
            warn = policy.warn_window
            return {
                "type": kind,
                "failWindowSeconds": int(policy.fail_window.to_timedelta().total_seconds()),
                "warnWindowSeconds": int(warn.to_timedelta().total_seconds()) if warn else None,
            }
        return {"type": kind}
    legacy = snap.legacy_freshness_policy
    if legacy is not None:
        return {
            "type": "Legacy",
            "maximumLagMinutes": legacy.maximum_lag_minutes,
            "cronSchedule": legacy.cron_schedule,
            "cronScheduleTimezone": legacy.cron_schedule_timezone,
        }
    return None


DUMPS: Sequence[tuple[str, Callable[[Any], Any]]] = (
    ("dump-asset-events", dump_asset_events),
    ("dump-asset-checks", dump_asset_checks),
    ("dump-check-executions", dump_check_executions),
    ("dump-ticks", dump_ticks),
    ("dump-backfills", dump_backfills),
    ("dump-run-steps", dump_run_steps),
    ("dump-asset-definitions", dump_asset_definitions),
)
