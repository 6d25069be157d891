"""Baseline: the SDK runner alone. Upserts N run rows built in-process (no network) and
checkpoints every 5,000 rows: the lower bound of a sync through `fivetran debug`.

The rows are exactly those the connector writes for the simulated server's runs
(`dagster_model.DagsterModel.expected_runs`, same seed and clock), generated lazily; building
them costs ~5 us a row, included in the figure.
"""

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from dagster_model import DagsterModel
from tables import TABLES

CHECKPOINT_EVERY = 5000


def schema(configuration):
    return TABLES


def update(configuration, state):
    model = DagsterModel(runs=int(configuration["runs"]), seed=int(configuration.get("seed", "0")),
                         now=float(configuration["now"]) if configuration.get("now") else None)
    count = 0
    for row in model.expected_runs():
        op.upsert("dagster_runs", row)
        count += 1
        if count % CHECKPOINT_EVERY == 0:
            op.checkpoint({"rows": count})
    op.checkpoint({"rows": count})
    log.info(f"destination_only: {count} rows")


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    connector.debug()
