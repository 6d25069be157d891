"""`dagster_asset_events`: every materialization, observation and failed materialization of
every asset key, incrementally (`Asset.assetEventHistory`, newest first, storage-id cursor).

Which assets to read comes from the sync's one walk over the assets
(`extractor/asset_graph.py`): `latestEventSortKey` is the storage id of an asset's newest
indexed event, so an incremental sync reads only the assets whose sort key passed the
watermark (the highest sort key of the last complete sync), plus the observable source assets
(Dagster OSS indexes only materializations there, so their observations have no signal). Each
is read from its newest event down to the first page that reaches the watermark; several
assets share a request (`extractor/aliased_walks.py`).

Dagster gives events no id of their own: a row's id is a hash of the asset key, event type,
run, step, partition and timestamp (ms), so a re-read event replaces itself. Events of keys
that have no definition any more are synced too; events Dagster deleted (with their run, or
by a wipe) stay in the destination.

State: {"until": watermark, "sync": {"since": the previous watermark, "target": the highest
sort key listed when this sync began, "done_until": the last asset key (path) done, in key
order}} -- "sync" only while a sync is unfinished, so a resumed one skips the assets done.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from extractor import asset_graph
from extractor.aliased_walks import Step, Walk, walk_all
from extractor.asset_graph import AssetHead
from extractor.client import Operation, unwrap
from extractor.events import Rows
from extractor.log import log
from extractor.metadata import METADATA_FIELDS
from extractor.metadata import metadata_object
from extractor.table import SyncContext, Table
from extractor.transforms import Row, asset_key_id, utc_datetime_from_millis

NAME = "dagster_asset_events"
OPERATION = "ConnectorAssetEvents"
EVENT_TYPES = {
    "MaterializationEvent": "MATERIALIZATION",
    "ObservationEvent": "OBSERVATION",
    "FailedToMaterializeEvent": "FAILED_TO_MATERIALIZE",
}
EVENT_FIELDS = """
  __typename runId stepKey partition timestamp description
  tags { key value }%s""" % METADATA_FIELDS.replace("\n", "\n  ")
FAILURE_FIELDS = "\n    materializationFailureType materializationFailureReason"


def events_operation(walks: list[tuple[Walk[AssetHead], int]]) -> tuple[Operation, dict[str, Any]]:
    """One request reading a page of each walk's events (aliases `w<index>`)."""
    declarations, fields, variables = [], [], {}
    for walk, limit in walks:
        i = walk.index
        declarations.append(f"$k{i}: AssetKeyInput!, $c{i}: String, $l{i}: Int!")
        fields.append(
            f"""
  {walk.alias}: assetOrError(assetKey: $k{i}) {{
    __typename
    ... on Asset {{
      assetEventHistory(
        eventTypeSelectors: [MATERIALIZATION, OBSERVATION, FAILED_TO_MATERIALIZE]
        limit: $l{i}, cursor: $c{i}
      ) {{ results {{ ...AssetEvent }} cursor }}
    }}
  }}"""
        )
        variables.update({f"k{i}": {"path": list(walk.item.path)}, f"c{i}": walk.cursor, f"l{i}": limit})
    document = (
        f"query {OPERATION}({', '.join(declarations)}) {{{''.join(fields)}\n}}\n"
        "fragment AssetEvent on AssetResultEventType {\n"
        + "\n".join(
            f"  ... on {kind} {{{EVENT_FIELDS}{FAILURE_FIELDS if kind.startswith('Failed') else ''}\n  }}"
            for kind in EVENT_TYPES
        )
        + "\n}"
    )
    return Operation(OPERATION, document), variables


def storage_id(cursor: str | None) -> int | None:
    """The storage id in a Dagster event-log cursor (base64 JSON `{"type": "STORAGE_ID", ...}`)."""
    try:
        decoded = json.loads(base64.b64decode(cursor or ""))
        return int(decoded["value"]) if decoded.get("type") == "STORAGE_ID" else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def event_row(asset_path: tuple[str, ...], event: dict[str, Any]) -> Row:
    asset_key = asset_key_id(list(asset_path))
    event_type = EVENT_TYPES.get(event.get("__typename", ""), event.get("__typename"))
    identity = [asset_key, event_type, event.get("runId"), event.get("stepKey"), event.get("partition"), event.get("timestamp")]
    return {
        "id": hashlib.sha1(json.dumps(identity).encode()).hexdigest(),
        "asset_key": asset_key,
        "event_type": event_type,
        "run_id": event.get("runId") or None,  # runless events: ''
        "step_key": event.get("stepKey"),
        "partition": event.get("partition"),
        "timestamp": utc_datetime_from_millis(event.get("timestamp")),
        "tags": {tag["key"]: tag["value"] for tag in event.get("tags") or ()},
        "metadata": metadata_object(event.get("metadataEntries")),
        "description": event.get("description"),
        "failure_type": event.get("materializationFailureType"),
        "failure_reason": event.get("materializationFailureReason"),
    }


def to_read(heads: list[AssetHead], since: int | None, done_until: list[str] | None) -> list[AssetHead]:
    """The assets this sync reads, in key order: every one on a first sync; else those with an
    event past the watermark, and the observable ones; less those a resumed sync has done."""
    chosen = [
        head
        for head in heads
        if since is None or head.observable or (head.sort_key is not None and head.sort_key > since)
    ]
    chosen.sort(key=lambda head: head.path)
    if done_until is not None:
        chosen = [head for head in chosen if list(head.path) > done_until]
    return chosen


async def sync(context: SyncContext) -> None:
    graph = await asset_graph.read(context)
    position = context.state.table(NAME)
    if position.get("sync") is None:
        sort_keys = [head.sort_key for head in graph.heads if head.sort_key is not None]
        position["sync"] = {"since": position.get("until"), "target": max(sort_keys, default=None), "done_until": None}
    progress = position["sync"]
    since = progress["since"]
    assets = to_read(graph.heads, since, progress["done_until"])
    counted = {"rows": 0, "pages": 0}

    async def fetch(walks: list[tuple[Walk[AssetHead], int]]) -> list[Step]:
        operation, variables = events_operation(walks)
        data = await context.client.execute(operation, variables)
        return [_step(walk, data.get(walk.alias), since) for walk, _ in walks]

    async def on_page(walk: Walk[AssetHead], step: Step) -> None:
        counted["pages"] += 1
        if step.results:
            counted["rows"] += len(step.results)
            await context.send(Rows(NAME, [event_row(walk.item.path, event) for event in step.results]))

    async def on_progress(done: int) -> None:
        progress["done_until"] = list(assets[done - 1].path)
        await context.checkpoint()

    log.info(f"{NAME}: reading the events of {len(assets)} of {len(graph.heads)} asset keys")
    await walk_all(assets, fetch, on_page, on_progress)
    targets = [value for value in (since, progress["target"]) if value is not None]
    position["until"] = max(targets, default=None)
    position.pop("sync")
    await context.checkpoint()
    log.info(f"{NAME}: {counted['rows']} rows in {counted['pages']} pages")


def _step(walk: Walk[AssetHead], answer: dict[str, Any] | None, since: int | None) -> Step:
    """A walk's page: done on an empty page, a missing cursor, or a page reaching `since`; an
    asset key Dagster no longer knows is done with no events."""
    if not answer or answer.get("__typename") != "Asset":
        return Step([], None)
    history = unwrap(OPERATION, answer, "Asset")["assetEventHistory"]
    results, cursor = history.get("results") or [], history.get("cursor")
    reached = storage_id(cursor)
    if not results or cursor is None or (since is not None and reached is not None and reached <= since):
        return Step(results, None)
    return Step(results, cursor)


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "asset_key": "STRING",
        "event_type": "STRING",
        "run_id": "STRING",
        "step_key": "STRING",
        "partition": "STRING",
        "timestamp": "UTC_DATETIME",
        "tags": "JSON",
        "metadata": "JSON",
        "description": "STRING",
        "failure_type": "STRING",
        "failure_reason": "STRING",
    },
    sync=sync,
)
