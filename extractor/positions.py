"""Reading back an incremental table's position (`SyncState.table(name)`, plain JSON).

A position that does not read back (hand-edited, or written by a connector that stored
something else there) starts that table over with a warning: its rows are upserts, so a full
re-read loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from extractor.log import log

T = TypeVar("T")


def optional_float(value: Any) -> float | None:
    """A saved number (None stays None).

    Raises:
        TypeError: not a number.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def float_map(value: Any) -> dict[str, float]:
    """A saved `{id: number}` object.

    Raises:
        TypeError: not an object of numbers.
    """
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    parsed = {str(key): optional_float(number) for key, number in value.items()}
    if any(number is None for number in parsed.values()):
        raise TypeError("expected numbers, got null")
    return {key: float(number) for key, number in parsed.items() if number is not None}


def load_position(
    table: str, raw: dict[str, Any], parse: Callable[[dict[str, Any]], T], fresh: T
) -> tuple[T, bool]:
    """`parse(raw)`, or `fresh` (with a warning) when the saved position does not read back;
    and whether it did (False: the saved one must be replaced even if nothing changes)."""
    if not raw:
        return fresh, True
    try:
        return parse(raw), True
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        log.warning(f"{table}: the saved position is malformed ({error}); reading the table again")
        return fresh, False
