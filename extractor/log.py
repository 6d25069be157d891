"""The connector's logger: the SDK's `Logging`, with the API token scrubbed from every line.

The token should never reach a message in the first place; scrubbing is the second lock.
"""

from __future__ import annotations

from fivetran_connector_sdk import Logging

_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Remembers a value that must never be logged (ignored when empty or very short)."""
    if len(secret) >= 4:
        _secrets.add(secret)


def redact(text: str) -> str:
    """Returns `text` with every registered secret replaced by `***`."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


class _Log:
    @staticmethod
    def info(message: str) -> None:
        Logging.info(redact(message))

    @staticmethod
    def warning(message: str) -> None:
        Logging.warning(redact(message))

    @staticmethod
    def error(message: str) -> None:
        Logging.error(redact(message))


log = _Log()
