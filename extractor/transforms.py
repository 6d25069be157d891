"""Pure helpers for row transforms (each table module has its own): times and keys.

No I/O here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

Row = dict[str, Any]


def utc_datetime(epoch_seconds: float | None) -> datetime | None:
    """Seconds since the epoch as an aware UTC datetime.

    The SDK writes it as UTC ISO 8601 (RFC 3339); handing it a datetime rather than a string
    spares it a `strptime` per value, which is most of the cost of a run row.
    """
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(float(epoch_seconds), tz=timezone.utc)


def utc_datetime_from_millis(epoch_millis: str | float | None) -> datetime | None:
    """Dagster event timestamps (milliseconds, often as a string) as an aware UTC datetime."""
    if epoch_millis in (None, ""):
        return None
    return utc_datetime(float(epoch_millis) / 1000.0)


def asset_key_id(path: list[str]) -> str:
    """Dagster's own string form of an asset key (`AssetKey.to_user_string`): `a/b/c`."""
    return "/".join(path)
