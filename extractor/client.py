"""The async GraphQL client: one aiohttp session, one shared rate limiter, retries.

Every request of a sync goes through `DagsterClient.execute`, so the limiter, the concurrency
cap and the retry policy apply to all of them together. The API token travels only in the
`Dagster-Cloud-Api-Token` header of requests to the configured host.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import re
import time
from dataclasses import dataclass
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from extractor.config import Settings
from extractor.errors import (
    AuthenticationError,
    ConnectionFailed,
    GraphQLError,
    HttpError,
    NotGraphQLAnswer,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ResultError,
    ServerError,
    TransientError,
    classify_server_message,
)
from extractor.log import log
from extractor.retry import call_with_retries
from extractor.throttle import Throttle

TOKEN_HEADER = "Dagster-Cloud-Api-Token"
USER_AGENT = "fivetran-dagster-connector/1.0"
DEFAULT_RETRY_AFTER_SECONDS = 5.0
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Operation:
    """A named GraphQL document; `name` is its operation name, used in logs and errors."""

    name: str
    document: str


def parse_retry_after(header: str | None, now: float | None = None) -> float:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not header:
        return DEFAULT_RETRY_AFTER_SECONDS
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else DEFAULT_RETRY_AFTER_SECONDS
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)


def unwrap(operation: str, value: dict[str, Any] | None, expected: str) -> dict[str, Any]:
    """Returns an `...OrError` union's value when it is of type `expected`.

    This is the one place that reads the error types of Dagster's `...OrError` unions.

    Raises:
        ServerFailure, HeavyQueryError, ServerError: the union holds a `PythonError`.
        ResultError: the union holds another error type (`RepositoryNotFoundError`...).
    """
    if value is None:
        raise ResultError(operation, "null", "the server returned no value")
    typename = value.get("__typename", expected)
    if typename == "PythonError":
        raise classify_server_message(operation, str(value.get("message", "")))
    if typename != expected:
        raise ResultError(operation, typename, str(value.get("message", "no message")))
    return value


def _html_title(body: bytes) -> str | None:
    """The `<title>` of an HTML page, or None when the body is not HTML."""
    head = body[:4000].decode("utf-8", errors="replace")
    if not re.search(r"<(!doctype html|html|head|body)\b", head, re.I):
        return None
    match = re.search(r"<title[^>]*>(.*?)</title>", head, re.I | re.S)
    return " ".join(match.group(1).split())[:100] if match else ""


def _short(body: bytes, limit: int = 300) -> str:
    return body[:limit].decode("utf-8", errors="replace").replace("\n", " ")


class DagsterClient:
    """Sends GraphQL operations to one Dagster deployment. Use as `async with`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = settings.graphql_url
        endpoint = urlsplit(settings.graphql_url)
        self._host, self._scheme = endpoint.netloc, endpoint.scheme
        self.throttle = Throttle(settings.requests_per_second, settings.max_concurrency)
        self._session: aiohttp.ClientSession | None = None
        self.requests_sent = 0
        self.server_clock_offset: float | None = None  # the server's Date minus our clock
        self.unsupported_operations: set[str] = set()  # their fields are unknown to the server

    async def __aenter__(self) -> DagsterClient:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self._settings.api_token:
            headers[TOKEN_HEADER] = self._settings.api_token
        self._session = aiohttp.ClientSession(
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self._settings.request_timeout_seconds),
            connector=aiohttp.TCPConnector(limit=self._settings.max_concurrency),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def execute(
        self,
        operation: Operation,
        variables: dict[str, Any] | None = None,
        max_tries: int | None = None,
        max_time: float | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Runs `operation` and returns its `data`, retrying transient failures.

        `max_tries` and `max_time` cap the request's one retry budget (default: the policy's);
        `timeout` caps each attempt (default: `request_timeout_seconds`).

        Raises:
            GraphQLError, ServerFailure, HttpError, AuthenticationError: at once (not retried).
            TransientError subclasses: once the budget is spent.
        """
        payload = json.dumps(
            {"query": operation.document, "variables": variables or {}, "operationName": operation.name}
        )

        async def attempt() -> dict:
            async with self.throttle.slot():
                try:
                    data = await self._post(operation.name, payload, timeout)
                except RateLimited as error:
                    self.throttle.rate_limited(error.retry_after)
                    raise
                self.throttle.accepted()
                return data

        return await call_with_retries(
            attempt,
            description=f"Dagster {operation.name}",
            max_tries=max_tries,
            max_time=max_time,
        )

    async def execute_compatible(
        self, operations: Sequence[Operation], variables: dict[str, Any] | None = None
    ) -> dict:
        """Runs the first of `operations` (newest schema first) that this server supports.

        An operation the server rejects for an unknown field or argument is remembered,
        logged once as a warning, and replaced by the next one.
        """
        for operation, fallback in zip(operations, [*operations[1:], None]):
            if fallback is not None and operation.name in self.unsupported_operations:
                continue
            try:
                return await self.execute(operation, variables)
            except GraphQLError as error:
                if fallback is None or not error.is_schema_mismatch:
                    raise
                self.mark_unsupported(operation, error, fallback.name)
        raise AssertionError("unreachable: the last operation returns or raises")

    def mark_unsupported(self, operation: Operation, error: Exception, instead: str) -> None:
        """Remembers that the server can't run `operation`; warns once."""
        if operation.name not in self.unsupported_operations:
            self.unsupported_operations.add(operation.name)
            reason = error.messages[0] if isinstance(error, GraphQLError) else str(error)
            log.warning(
                f"this Dagster can't run {operation.name} ({reason.splitlines()[0][:300]}); "
                f"using {instead} instead"
            )

    async def _post(self, operation: str, payload: str, timeout: float | None = None) -> dict:
        assert self._session is not None, "use DagsterClient as 'async with'"
        url = self._url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                self.requests_sent += 1
                async with self._session.post(
                    url,
                    data=payload,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout) if timeout else None,
                ) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = self._redirect_target(url, response.headers.get("Location"))
                        continue
                    body = await response.read()
                    self._note_server_clock(response.headers.get("Date"))
                    return self._parse(operation, response.status, response.headers, body)
            raise HttpError(0, f"{operation}: more than {MAX_REDIRECTS} redirects")
        except asyncio.TimeoutError:
            seconds = timeout or self._settings.request_timeout_seconds
            raise RequestTimeout(f"{operation}: no answer within {seconds:g}s") from None
        except (aiohttp.ClientError, ConnectionError) as error:
            reason = type(error).__name__ if not str(error) else f"{type(error).__name__}: {error}"
            raise ConnectionFailed(f"{operation}: {reason}", _connection_kind(error)) from None

    def _note_server_clock(self, date_header: str | None) -> None:
        if self.server_clock_offset is not None or not date_header:
            return
        try:
            self.server_clock_offset = (
                email.utils.parsedate_to_datetime(date_header).timestamp() - time.time()
            )
        except (TypeError, ValueError):
            pass

    def _redirect_target(self, url: str, location: str | None) -> str:
        if not location:
            raise HttpError(0, "redirect without a Location header")
        target = urljoin(url, location)
        parts = urlsplit(target)
        downgrade = self._scheme == "https" and parts.scheme != "https"
        if parts.netloc != self._host or parts.scheme not in ("http", "https") or downgrade:
            raise HttpError(
                0,
                f"the server redirected to another host ({parts.scheme}://{parts.hostname}); "
                "refusing to send the API token there: set 'base_url' to the final URL",
            )
        return target

    @staticmethod
    def _parse(operation: str, status: int, headers: Any, body: bytes) -> dict:
        """Turns an answer into its `data`, or the error its body (then its status) means."""
        if status == 429:
            wait = parse_retry_after(headers.get("Retry-After"))
            raise RateLimited(wait, f"{operation}: HTTP 429 rate limited")
        if status in (401, 403):
            raise AuthenticationError(
                status,
                f"{operation}: HTTP {status}: Dagster refused the credentials - check 'api_token' "
                "(a Dagster+ user or agent token with read access to this deployment)",
            )
        if status == 404:
            raise HttpError(
                status, f"{operation}: HTTP 404: no GraphQL endpoint here - check 'base_url'"
            )
        if status == 408:
            raise ServerError(status, f"{operation}: HTTP 408: the server timed out the request")
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise _not_a_graphql_answer(operation, status, body)
        errors = answer.get("errors")
        if errors:
            messages = [str(error.get("message", error)) for error in errors]
            resolver_failed = status >= 500 or any(error.get("path") for error in errors)
            if resolver_failed:  # the query was valid; Dagster failed while answering it
                where = [_field_path(error) for error in errors]
                located = [f"{m} (at {w})" if w else m for m, w in zip(messages, where)]
                raise classify_server_message(operation, "; ".join(located))
            raise GraphQLError(operation, messages)
        data = answer.get("data")
        if not isinstance(data, dict):
            if status >= 400:
                raise _not_a_graphql_answer(operation, status, body)
            raise ProtocolError(f"{operation}: the answer has no 'data'")
        for value in data.values():  # a PythonError that may pass is retried here
            if isinstance(value, dict) and value.get("__typename") == "PythonError":
                error = classify_server_message(operation, str(value.get("message", "")))
                if isinstance(error, TransientError):
                    raise error
        if status >= 400 and status < 500:
            raise HttpError(status, f"{operation}: HTTP {status}: {_short(body)}")
        return data


def _connection_kind(error: BaseException) -> str:
    """How a connection failed, as `ConnectionFailed.kind` names it."""
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "unknown_host"
    if isinstance(error, aiohttp.ClientSSLError):  # a certificate error is one too
        return "tls"
    if isinstance(getattr(error, "os_error", error), ConnectionRefusedError):
        return "refused"
    return "broken"


def _field_path(error: dict[str, Any]) -> str:
    """Where in the answer a resolver failed, as `runsOrError.results` (list indexes left out)."""
    return ".".join(str(part) for part in error.get("path") or () if isinstance(part, str))


def _not_a_graphql_answer(operation: str, status: int, body: bytes) -> Exception:
    """The error for an answer that is not a GraphQL response at all."""
    if status >= 500:
        return ServerError(status, f"{operation}: HTTP {status}: {_short(body)}")
    if status >= 400:
        return HttpError(status, f"{operation}: HTTP {status}: {_short(body)}")
    title = _html_title(body)
    if title is not None:
        return NotGraphQLAnswer(
            f"{operation}: the server answered with an HTML page"
            + (f" titled '{title}'" if title else "")
            + " instead of Dagster's GraphQL API (a login page or a proxy?) - check 'base_url'"
        )
    return ProtocolError(f"{operation}: the answer is not a GraphQL response: {_short(body, 100)}")
