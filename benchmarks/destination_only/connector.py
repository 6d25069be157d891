"""Baseline: the SDK runner alone. Upserts N rows of one table built in-process (no network) and
checkpoints every 5,000 rows: the lower bound of a sync through `fivetran debug`.

The rows are exactly those the connector writes for the simulated server's data (same seed,
clock and model knobs), generated lazily; building them is included in the figure:
  * `dagster_runs` (default): `DagsterModel.expected_runs()` (~5 us a row, more with large tags);
  * `dagster_asset_events`: `asset_history.expected_event_rows()` over the model's keys with events;
  * `dagster_ticks`: `DagsterModel.expected_ticks()`.

With `step_history_days` set (`dagster_runs` only), the runs are followed by the
`dagster_run_steps` rows the connector's first sync writes: the steps of the finished runs
updated in the last `step_history_days` (0: of every finished run). That is the bound for the
same rows as the connector's first sync of runs, which also writes those steps.

Configuration: `table`, `now`, `model` (JSON: `DagsterModel` keyword arguments), and
`asset_events` (events in all, for `dagster_asset_events`). `runs` and `seed` alone are still
read, as before.
"""

import json

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from dagster_model import DagsterModel
from tables import TABLES

CHECKPOINT_EVERY = 5000


def schema(configuration):
    return TABLES


def _rows(configuration):
    knobs = json.loads(configuration.get("model") or "{}")
    knobs.setdefault("runs", int(configuration.get("runs", "0")))
    knobs.setdefault("seed", int(configuration.get("seed", "0")))
    now = float(configuration["now"]) if configuration.get("now") else None
    model = DagsterModel(now=now, **knobs)
    table = configuration.get("table") or "dagster_runs"
    if table == "dagster_runs":
        yield from ((table, row) for row in model.expected_runs())
        if configuration.get("step_history_days") is not None:
            from dagster_model import expected_run_steps

            days = int(configuration["step_history_days"])
            since_ms = model.now_ms - days * 86_400_000 if days else None
            yield from (("dagster_run_steps", row) for row in expected_run_steps(model, updated_after_ms=since_ms))
    elif table == "dagster_ticks":
        yield from ((table, row) for row in model.expected_ticks())
    elif table == "dagster_asset_events":
        from asset_history import AssetHistory, expected_event_rows

        _, with_events = model._asset_keys()
        history = AssetHistory([key.path for key in with_events], int(configuration["asset_events"]), model.now_ms)
        yield from ((table, row) for row in expected_event_rows(history))
    else:
        raise ValueError(f"destination_only: no rows for table {table!r}")


def update(configuration, state):
    counts = {}
    count = 0
    for table, row in _rows(configuration):
        op.upsert(table, row)
        counts[table] = counts.get(table, 0) + 1
        count += 1
        if count % CHECKPOINT_EVERY == 0:
            op.checkpoint({"rows": count})
    op.checkpoint({"rows": count})
    log.info("destination_only: " + ", ".join(f"{n} rows of {table}" for table, n in counts.items()))


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    connector.debug()
