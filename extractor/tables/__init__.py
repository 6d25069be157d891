"""The registry of tables: one module per table, one line here.

Adding a table: a module in this package defining its `TABLE` (schema, queries, row
transform, how a sync fills it), its line below, and its tests.
"""

from __future__ import annotations

from extractor.table import Table
from extractor.tables import (
    asset_check_executions,
    asset_checks,
    asset_dependencies,
    asset_events,
    assets,
    backfills,
    code_locations,
    jobs,
    run_steps,
    runs,
    schedules,
    sensors,
    ticks,
)

TABLES: list[Table] = [
    runs.TABLE,
    assets.TABLE,
    schedules.TABLE,
    sensors.TABLE,
    ticks.TABLE,
    jobs.TABLE,
    code_locations.TABLE,
    asset_dependencies.TABLE,
    asset_checks.TABLE,
    asset_events.TABLE,
    asset_check_executions.TABLE,
    backfills.TABLE,
    run_steps.TABLE,
]


def declarations() -> list[dict]:
    """Every table as `schema()` declares it."""
    return [table.declaration for table in TABLES]
