"""The registry of tables: one module per table, one line here.

Adding a table: a module in this package defining its `TABLE` (schema, queries, row
transform, how a sync fills it), its line below, and its tests.
"""

from __future__ import annotations

from extractor.table import Table
from extractor.tables import (
    asset_dependencies,
    assets,
    code_locations,
    jobs,
    runs,
    schedules,
    sensors,
)

TABLES: list[Table] = [
    runs.TABLE,
    assets.TABLE,
    schedules.TABLE,
    sensors.TABLE,
    jobs.TABLE,
    code_locations.TABLE,
    asset_dependencies.TABLE,
]


def declarations() -> list[dict]:
    """Every table as `schema()` declares it."""
    return [table.declaration for table in TABLES]
