"""Reading `Run.stepStats` for a batch of runs, one request per batch.

`stepStats` is a sync resolver: N runs in one request are N SQL queries in sequence, each
reading every step event of its run (`get_step_stats_for_run`). A batch that Dagster cannot
answer (a statement timeout, a request or gateway timeout, or an error of its own such as an
event that no longer deserializes) is split in halves until the failing run is alone. A run
that alone makes Dagster fail (its own error, or its database's statement timeout) is skipped
with a warning rather than blocking every later sync; a run alone that times out the request
fails the table (the next sync tries again: raise `request_timeout_seconds`), since an outage
looks the same. A run purged from Dagster between its listing and this read is simply absent
from the answer.
"""

from __future__ import annotations

from typing import Any

from extractor.client import DagsterClient, Operation, unwrap
from extractor.errors import (
    DagsterConnectorError,
    HeavyQueryError,
    RequestTimeout,
    ServerError,
    ServerFailure,
)
from extractor.log import log

TRIES_BEFORE_SPLITTING = 2  # a batch of several runs that fails this often is split

# The finished runs to read steps of: only what a walk and the watermark need.
FINISHED_RUNS_PAGE = Operation(
    "ConnectorFinishedRunsPage",
    """
query ConnectorFinishedRunsPage($filter: RunsFilter, $cursor: String, $limit: Int) {
  runsOrError(filter: $filter, cursor: $cursor, limit: $limit) {
    __typename
    ... on Runs { results { runId status creationTime updateTime } }
    ... on Error { message }
  }
}""",
)

RUN_STEP_STATS = Operation(
    "ConnectorRunStepStats",
    """
query ConnectorRunStepStats($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs {
      results { runId stepStats { stepKey status startTime endTime attempts { startTime endTime } } }
    }
    ... on Error { message }
  }
}""",
)


def _is_batch_failure(error: DagsterConnectorError) -> bool:
    """A failure that a smaller batch may not have: too heavy, or one run's bad data."""
    return isinstance(error, (ServerFailure, HeavyQueryError, RequestTimeout)) or (
        isinstance(error, ServerError) and error.status in (502, 504)
    )


StepStats = dict[str, list[dict[str, Any]]]  # run id -> its `stepStats`


async def _fetch(client: DagsterClient, run_ids: list[str], max_tries: int | None) -> StepStats:
    """`stepStats` by run id for the runs among `run_ids` that still exist.

    Asks again for the ones missing from an answer (a server may clamp `limit`) until an
    answer brings none: the rest were deleted.
    """
    found: StepStats = {}
    wanted = list(run_ids)
    while wanted:  # never `runIds: []`: Dagster would take it as no filter at all
        variables = {"filter": {"runIds": wanted}, "limit": len(wanted)}
        data = await client.execute(RUN_STEP_STATS, variables, max_tries=max_tries)
        runs = unwrap(RUN_STEP_STATS.name, data["runsOrError"], "Runs")["results"]
        new = [run for run in runs if run["runId"] in wanted and run["runId"] not in found]
        if not new:
            break
        found.update((run["runId"], run.get("stepStats") or []) for run in new)
        wanted = [run_id for run_id in wanted if run_id not in found]
    return found


async def fetch_step_stats(client: DagsterClient, run_ids: list[str]) -> StepStats:
    """`stepStats` of each run of `run_ids` that exists and that Dagster can answer for.

    Raises:
        DagsterConnectorError: Dagster is unreachable or refuses the query (not one run's fault).
    """
    if not run_ids:
        return {}
    try:
        return await _fetch(client, run_ids, TRIES_BEFORE_SPLITTING if len(run_ids) > 1 else None)
    except DagsterConnectorError as error:
        if not _is_batch_failure(error):
            raise
        if len(run_ids) == 1:
            if not isinstance(error, (ServerFailure, HeavyQueryError)):
                raise
            log.warning(f"run steps: skipping run {run_ids[0]}, whose steps Dagster cannot read: {error}")
            return {}
        half = len(run_ids) // 2
        log.warning(f"run steps: a batch of {len(run_ids)} runs failed ({error}); splitting it")
        first = await fetch_step_stats(client, run_ids[:half])
        return {**first, **await fetch_step_stats(client, run_ids[half:])}
