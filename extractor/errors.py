"""The exceptions the extractor raises, sorted so that callers decide by type.

Transient failures (`TransientError` and its subclasses) are retried by the policy in
`retry.py`; everything else fails at once. No message here ever carries the API token.
"""

from __future__ import annotations


class DagsterConnectorError(Exception):
    """Base class of every error this connector raises on purpose."""


class ConfigurationError(DagsterConnectorError):
    """The connector configuration is invalid; raised before any request is sent."""


class StateError(DagsterConnectorError):
    """The saved sync state cannot be read."""


class TransientError(DagsterConnectorError):
    """A failure worth retrying: the connection, a timeout, a 5xx, a garbled body."""


class ConnectionFailed(TransientError):
    """The server could not be reached, or the connection broke or timed out."""


class RequestTimeout(ConnectionFailed):
    """The request got no complete answer within the configured timeout."""


class ServerError(TransientError):
    """An HTTP 5xx answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ProtocolError(TransientError):
    """A 2xx answer that is not a GraphQL response (not JSON, truncated, no `data`)."""


class RateLimited(TransientError):
    """HTTP 429; `retry_after` holds the seconds the server asked us to wait."""

    def __init__(self, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HttpError(DagsterConnectorError):
    """A 4xx answer other than 429: the request itself is wrong and retrying won't help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationError(HttpError):
    """HTTP 401/403: the token is missing, wrong or lacks permission."""


class GraphQLError(DagsterConnectorError):
    """The server answered with GraphQL `errors` (a bad query, or a field it doesn't know)."""

    def __init__(self, operation: str, messages: list[str]) -> None:
        super().__init__(f"{operation}: " + "; ".join(messages))
        self.operation = operation
        self.messages = messages

    @property
    def is_schema_mismatch(self) -> bool:
        """True when the server's schema lacks a field or argument the query uses."""
        return any(
            "Cannot query field" in message or "Unknown argument" in message
            for message in self.messages
        )


class ResultError(DagsterConnectorError):
    """An `...OrError` union answered with an error type such as `PythonError`."""

    def __init__(self, operation: str, typename: str, message: str) -> None:
        super().__init__(f"{operation}: {typename}: {message}")
        self.operation = operation
        self.typename = typename
