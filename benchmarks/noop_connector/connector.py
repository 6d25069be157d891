"""Baseline: a connector that does nothing (declares the four tables, one checkpoint).

Its wall time is the fixed cost of a `fivetran debug` run (interpreter, SDK, schema, DuckDB).
"""

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Operations as op

from tables import TABLES


def schema(configuration):
    return TABLES


def update(configuration, state):
    op.checkpoint(dict(state or {}, noop=True))


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    connector.debug()
