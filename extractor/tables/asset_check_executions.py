"""`dagster_asset_check_executions`: every execution of every asset check, incrementally
(`assetCheckExecutions`, newest first, cursor = the execution's id).

Execution ids come from one sequence, so one watermark (the highest id synced) tells new from
known. Dagster offers no cheap signal of which checks ran, so each sync asks every check of
the workspace (from the sync's one walk over the assets) for its executions past the
watermark, many checks per request (`extractor/aliased_walks.py`): with nothing new, one small
indexed query per check. An execution last seen IN_PROGRESS is re-read until it ends: its
check's walk goes down to it. (Its status is resolved from its run: it can turn SKIPPED or
EXECUTION_FAILED without its row changing.)

State: {"until": highest id synced, "open": {id: check id} of executions in progress,
"sync": {"since": the previous watermark, "seen": highest id seen, "done_until": last check
id done, in order}} -- "sync" only while a sync is unfinished.
"""

from __future__ import annotations

from typing import Any

from extractor import asset_graph
from extractor.aliased_walks import Step, Walk, walk_all
from extractor.asset_graph import CheckRef
from extractor.client import Operation
from extractor.errors import GraphQLError
from extractor.events import Rows
from extractor.log import log
from extractor.metadata import METADATA_FIELDS, metadata_object
from extractor.table import SyncContext, Table
from extractor.transforms import Row, asset_key_id, utc_datetime

NAME = "dagster_asset_check_executions"
OPERATION = "ConnectorCheckExecutions"
OLD_OPERATION = "ConnectorCheckExecutionsUnpartitioned"  # Dagster < 1.12: no `partition`
RUNNING = "IN_PROGRESS"
EXECUTION_FIELDS = """
    id runId status timestamp stepKey%s
    evaluation {
      timestamp success severity description
      targetMaterialization { runId }%s
    }"""


def executions_operation(
    walks: list[tuple[Walk[CheckRef], int]], partitioned: bool = True
) -> tuple[Operation, dict[str, Any]]:
    """One request reading a page of each check's executions (aliases `w<index>`)."""
    name = OPERATION if partitioned else OLD_OPERATION
    fields = EXECUTION_FIELDS % (" partition" if partitioned else "", METADATA_FIELDS.replace("\n", "\n    "))
    declarations, selections, variables = [], [], {}
    for walk, limit in walks:
        i = walk.index
        declarations.append(f"$k{i}: AssetKeyInput!, $n{i}: String!, $c{i}: String, $l{i}: Int!")
        selections.append(
            f"\n  {walk.alias}: assetCheckExecutions(assetKey: $k{i}, checkName: $n{i}, limit: $l{i}, cursor: $c{i}) {{{fields}\n  }}"
        )
        variables.update(
            {f"k{i}": {"path": list(walk.item.asset_path)}, f"n{i}": walk.item.name, f"c{i}": walk.cursor, f"l{i}": limit}
        )
    return Operation(name, f"query {name}({', '.join(declarations)}) {{{''.join(selections)}\n}}"), variables


def execution_row(check: CheckRef, execution: dict[str, Any]) -> Row:
    evaluation = execution.get("evaluation") or {}
    target = evaluation.get("targetMaterialization") or {}
    return {
        "id": str(execution["id"]),
        "check_id": check.id,
        "asset_key": asset_key_id(list(check.asset_path)),
        "check_name": check.name,
        "run_id": execution.get("runId") or None,
        "status": execution.get("status"),
        "timestamp": utc_datetime(execution.get("timestamp")),
        "step_key": execution.get("stepKey"),
        "partition": execution.get("partition"),
        "evaluation_time": utc_datetime(evaluation.get("timestamp")),
        "success": evaluation.get("success"),
        "severity": evaluation.get("severity"),
        "description": evaluation.get("description"),
        "metadata": metadata_object(evaluation.get("metadataEntries")) if evaluation else None,
        "target_materialization_run_id": target.get("runId") or None,
    }


async def sync(context: SyncContext) -> None:
    graph = await asset_graph.read(context)
    position = context.state.table(NAME)
    open_ids: dict[str, str] = position.setdefault("open", {})
    listed = {check.id for check in graph.checks}
    for execution_id, check_id in list(open_ids.items()):
        if check_id not in listed:  # its check is gone from the code: nothing re-reads it
            del open_ids[execution_id]
    if position.get("sync") is None:
        position["sync"] = {"since": position.get("until"), "seen": None, "done_until": None}
    progress = position["sync"]
    since = progress["since"]
    checks = sorted(graph.checks, key=lambda check: check.id)
    if progress["done_until"] is not None:
        checks = [check for check in checks if check.id > progress["done_until"]]
    floors = {}  # per check: the lowest id its walk must reach
    for execution_id, check_id in open_ids.items():
        floors[check_id] = min(int(execution_id), floors.get(check_id, int(execution_id)))
    counted = {"rows": 0}

    async def fetch(walks: list[tuple[Walk[CheckRef], int]]) -> list[Step]:
        partitioned = OPERATION not in context.client.unsupported_operations
        operation, variables = executions_operation(walks, partitioned)
        try:
            data = await context.client.execute(operation, variables)
        except GraphQLError as error:
            if not partitioned or not error.is_schema_mismatch:
                raise
            context.client.mark_unsupported(operation, error, OLD_OPERATION)
            return await fetch(walks)
        return [_step(walk, data.get(walk.alias) or [], since, floors) for walk, _ in walks]

    async def on_page(walk: Walk[CheckRef], step: Step) -> None:
        sent = [
            execution
            for execution in step.results
            # Left out: synced before, and ended then.
            if since is None or int(execution["id"]) > since or str(execution["id"]) in open_ids
        ]
        if not sent:
            return
        counted["rows"] += len(sent)
        await context.send(Rows(NAME, [execution_row(walk.item, execution) for execution in sent]))
        # Only now that the rows are in the channel: any table's checkpoint may save this.
        for execution in sent:
            execution_id = str(execution["id"])
            if execution.get("status") == RUNNING:
                open_ids[execution_id] = walk.item.id
            else:
                open_ids.pop(execution_id, None)
            progress["seen"] = max(progress["seen"] or 0, int(execution_id))

    async def on_progress(done: int) -> None:
        progress["done_until"] = checks[done - 1].id
        await context.checkpoint()

    await walk_all(checks, fetch, on_page, on_progress, first_limit=10, next_limit=500)
    marks = [value for value in (since, progress["seen"]) if value is not None]
    position["until"] = max(marks, default=None)
    position.pop("sync")
    await context.checkpoint()
    log.info(f"{NAME}: {counted['rows']} rows from {len(checks)} checks, {len(open_ids)} in progress")


def _step(walk: Walk[CheckRef], executions: list[dict[str, Any]], since: int | None, floors: dict[str, int]) -> Step:
    """Done on an empty page, or once the page reaches both the watermark and the check's
    oldest execution in progress."""
    if not executions:
        return Step([], None)
    lowest = min(int(execution["id"]) for execution in executions)
    floor = min(value for value in (since, floors.get(walk.item.id)) if value is not None) if (
        since is not None or walk.item.id in floors
    ) else None
    if floor is not None and lowest <= floor:
        return Step(executions, None)
    return Step(executions, str(lowest))


TABLE = Table(
    name=NAME,
    primary_key=["id"],
    columns={
        "id": "STRING",
        "check_id": "STRING",
        "asset_key": "STRING",
        "check_name": "STRING",
        "run_id": "STRING",
        "status": "STRING",
        "timestamp": "UTC_DATETIME",
        "step_key": "STRING",
        "partition": "STRING",
        "evaluation_time": "UTC_DATETIME",
        "success": "BOOLEAN",
        "severity": "STRING",
        "description": "STRING",
        "metadata": "JSON",
        "target_materialization_run_id": "STRING",
    },
    sync=sync,
)
