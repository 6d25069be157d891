"""Baseline: the SDK runner alone. Upserts N rows of one table built in-process (no network) and
checkpoints every 5,000 rows: the lower bound of a sync through `fivetran debug`.

The rows are exactly those the connector writes for the simulated server's data (same seed,
clock and model knobs), generated lazily; building them is included in the figure:
  * `dagster_runs` (default): `DagsterModel.expected_runs()` (~5 us a row, more with large tags);
  * `dagster_asset_events`: `asset_history.expected_event_rows()` over the model's keys with events;
  * `dagster_ticks`: `DagsterModel.expected_ticks()`.

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
        return table, model.expected_runs()
    if table == "dagster_ticks":
        return table, model.expected_ticks()
    if table == "dagster_asset_events":
        from asset_history import AssetHistory, expected_event_rows

        _, with_events = model._asset_keys()
        history = AssetHistory([key.path for key in with_events], int(configuration["asset_events"]), model.now_ms)
        return table, expected_event_rows(history)
    raise ValueError(f"destination_only: no rows for table {table!r}")


def update(configuration, state):
    table, rows = _rows(configuration)
    count = 0
    for row in rows:
        op.upsert(table, row)
        count += 1
        if count % CHECKPOINT_EVERY == 0:
            op.checkpoint({"rows": count})
    op.checkpoint({"rows": count})
    log.info(f"destination_only: {count} rows of {table}")


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    connector.debug()
