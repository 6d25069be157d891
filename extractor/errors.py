"""The exceptions the extractor raises, sorted so that callers decide by type.

Transient failures (`TransientError` and its subclasses) are retried by the policy in
`retry.py`; everything else fails at once. A Dagster answer is classified by what its body
says, not by its status code: `classify_server_message` is the one place that reads a
server's error message. No message here ever carries the API token.
"""

from __future__ import annotations


class DagsterConnectorError(Exception):
    """Base class of every error this connector raises on purpose."""


class ConfigurationError(DagsterConnectorError):
    """The connector configuration is invalid; raised before any request is sent."""


class EndpointError(DagsterConnectorError):
    """`base_url` does not lead to a Dagster GraphQL API (unreachable, not Dagster, a login page)."""


class EndpointUnreachable(EndpointError):
    """`base_url` could not be reached at all; `kind` is the `ConnectionFailed.kind`."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class StateError(DagsterConnectorError):
    """The saved sync state cannot be read."""


class TransientError(DagsterConnectorError):
    """A failure worth retrying: the connection, a timeout, a 5xx, a garbled body.

    `max_tries` caps the attempts for kinds that are only sometimes transient (None: the
    retry policy's time budget alone decides).
    """

    max_tries: int | None = None


class ConnectionFailed(TransientError):
    """The server could not be reached, or the connection broke or timed out.

    `kind` says how: "refused" (nothing listens on the port), "unknown_host" (the name does
    not resolve), "tls" (the TLS handshake or the certificate failed), "timeout", or "broken"
    (anything else: a reset, a closed connection).
    """

    def __init__(self, message: str, kind: str = "broken") -> None:
        super().__init__(message)
        self.kind = kind


class RequestTimeout(ConnectionFailed):
    """The request got no complete answer within the configured timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "timeout")


class ServerError(TransientError):
    """An HTTP 5xx (or 408) answer that is not a Dagster error report: a gateway, a crash."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HeavyQueryError(TransientError):
    """The server gave up on the query's cost (a database statement timeout): ask for less."""


class ProtocolError(TransientError):
    """A 2xx answer that is not a GraphQL response (truncated, no `data`)."""


class NotGraphQLAnswer(ProtocolError):
    """An HTML page or other non-JSON document where GraphQL was expected (a login page, a
    proxy's error page). Retried briefly, since a proxy may say this once; then fatal."""

    max_tries = 3


class RateLimited(TransientError):
    """HTTP 429; `retry_after` holds the seconds the server asked us to wait."""

    def __init__(self, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HttpError(DagsterConnectorError):
    """A 4xx answer other than 408/429: the request itself is wrong and retrying won't help."""

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
        """True when the server's schema lacks a field, argument or enum value the query uses."""
        markers = ("Cannot query field", "Unknown argument", "does not exist in", "Unknown type")
        return any(marker in message for message in self.messages for marker in markers)


class ServerFailure(DagsterConnectorError):
    """Dagster reported an error of its own (a resolver exception, a `PythonError`) that will
    recur if asked again: not retried."""

    def __init__(self, operation: str, message: str) -> None:
        super().__init__(f"{operation}: Dagster reported an error: {message}")
        self.operation = operation


class ResultError(DagsterConnectorError):
    """An `...OrError` union answered with an error type such as `RepositoryNotFoundError`."""

    def __init__(self, operation: str, typename: str, message: str) -> None:
        super().__init__(f"{operation}: {typename}: {message}")
        self.operation = operation
        self.typename = typename


# Markers in a Dagster error message, lower-cased. A statement timeout means the query was too
# heavy; the others are the database or its connection failing for a moment.
_HEAVY_QUERY_MARKERS = (
    "statement timeout",
    "querycanceled",
    "canceling statement",
    "max_execution_time",
    "query execution was interrupted",
)
_TRANSIENT_MARKERS = (
    "could not connect to server",
    "connection refused",
    "server closed the connection",
    "connection reset",
    "connection timed out",
    "database is locked",
    "deadlock detected",
    "too many connections",
    "ssl syscall error",
    "lost connection to mysql",
    "terminating connection",
    "connection already closed",
    "serialization failure",
    "temporarily unavailable",
)


def classify_server_message(operation: str, message: str) -> DagsterConnectorError:
    """The error to raise for a Dagster error report: heavy query, transient, or recurring."""
    lowered = message.lower()
    short = message.strip().splitlines()[0][:500] if message.strip() else "no message"
    if any(marker in lowered for marker in _HEAVY_QUERY_MARKERS):
        return HeavyQueryError(f"{operation}: the query was too heavy for Dagster's database ({short})")
    if any(marker in lowered for marker in _TRANSIENT_MARKERS):
        return ServerError(500, f"{operation}: Dagster's database failed for a moment ({short})")
    return ServerFailure(operation, short)
