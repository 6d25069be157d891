"""What the extractor sends `update()`: rows to upsert, keys to delete, and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from extractor.transforms import Row


@dataclass(frozen=True)
class Rows:
    """Rows to upsert into `table`."""

    table: str
    rows: list[Row]


@dataclass(frozen=True)
class Deletes:
    """Rows gone from Dagster, by primary key: soft-deleted (`_fivetran_deleted`)."""

    table: str
    keys: list[dict[str, str]]


@dataclass(frozen=True)
class Checkpoint:
    """Commit everything upserted so far, with this state."""

    state: dict
