"""Fivetran connector for Dagster: the thin shim between the Fivetran SDK and `extractor/`.

`update()` drains the extractor's event stream: it upserts each page of rows, soft-deletes
definitions gone from Dagster, and checkpoints as the stream says (after each run page, or the
newest of several while rows wait: `extractor/sync.py`), so an interrupted sync resumes from its
last checkpoint. `configuration_form()` is the setup form and its setup tests
(`fivetran configuration --test`), defined in `extractor/setup_form.py`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Operations as op

from extractor.config import parse_configuration
from extractor.errors import DagsterConnectorError
from extractor.log import log, register_secret
from extractor.setup_form import configuration_form
from extractor.state import SyncState
from extractor.events import Checkpoint, Deletes, Rows
from extractor.sync import extract
from extractor.tables import declarations


def schema(configuration: dict) -> list[dict]:
    """Declares the tables, their primary keys and column types."""
    return declarations()


def update(configuration: dict, state: dict) -> None:
    """Syncs runs (incrementally), assets, schedules and sensors."""
    settings = parse_configuration(configuration)
    register_secret(settings.api_token)
    for key in settings.unknown_keys:
        log.warning(f"configuration: unknown key '{key}' is ignored")
    sync_state, warning = SyncState.from_dict(state, settings.deployment)
    if warning:
        log.warning(warning)

    started = time.monotonic()
    rows_by_table: Counter[str] = Counter()
    try:
        _drain(extract(settings, sync_state), rows_by_table)
    except DagsterConnectorError as error:
        # The message says what to fix; the traceback of the worker thread would not.
        log.error(str(error))
        raise RuntimeError(f"Dagster sync failed: {error}") from None

    summary = ", ".join(f"{table}: {rows_by_table[table]}" for table in sorted(rows_by_table))
    log.info(
        f"Dagster sync complete in {time.monotonic() - started:.1f}s "
        f"({summary or 'no rows'})"
    )


def _drain(events: Iterator[Rows | Deletes | Checkpoint], rows_by_table: Counter[str]) -> None:
    """Hands each extracted event to the SDK."""
    for event in events:
        if isinstance(event, Rows):
            for row in event.rows:
                # The row replaces any earlier version with the same primary key.
                op.upsert(table=event.table, data=row)
            rows_by_table[event.table] += len(event.rows)
        elif isinstance(event, Deletes):
            for keys in event.keys:
                # Marks the row gone from Dagster (`_fivetran_deleted`); it stays in the table.
                op.delete(table=event.table, keys=keys)
        elif isinstance(event, Checkpoint):
            # Commits every row upserted so far together with the run walk's position.
            op.checkpoint(state=event.state)


connector = Connector(update=update, schema=schema, configuration_form=configuration_form)

if __name__ == "__main__":
    connector.debug()
