"""The async GraphQL client: one aiohttp session, one shared rate limiter, retries.

Every request of a sync goes through `DagsterClient.execute`, so the limiter, the concurrency
cap and the retry policy apply to all of them together. The API token travels only in the
`Dagster-Cloud-Api-Token` header of requests to the configured host.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
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
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ResultError,
    ServerError,
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
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)


def unwrap(operation: str, value: dict[str, Any] | None, expected: str) -> dict[str, Any]:
    """Returns an `...OrError` union's value when it is of type `expected`.

    Raises:
        ResultError: the union holds an error type (`PythonError`, `RepositoryNotFoundError`...).
    """
    if value is None:
        raise ResultError(operation, "null", "the server returned no value")
    typename = value.get("__typename", expected)
    if typename != expected:
        raise ResultError(operation, typename, str(value.get("message", "no message")))
    return value


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
    ) -> dict:
        """Runs `operation` and returns its `data`, retrying transient failures.

        `max_tries` caps the attempts (default: retry within the policy's time budget).

        Raises:
            GraphQLError, HttpError, AuthenticationError: at once (not retried).
            ConnectionFailed, ServerError, ProtocolError, RateLimited: once retries are spent.
        """
        payload = json.dumps(
            {"query": operation.document, "variables": variables or {}, "operationName": operation.name}
        )

        async def attempt() -> dict:
            async with self.throttle.slot():
                try:
                    data = await self._post(operation.name, payload)
                except RateLimited as error:
                    self.throttle.rate_limited(error.retry_after)
                    raise
                self.throttle.accepted()
                return data

        return await call_with_retries(
            attempt, description=f"Dagster {operation.name}", max_tries=max_tries
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

    def mark_unsupported(self, operation: Operation, error: GraphQLError, instead: str) -> None:
        """Remembers that the server can't run `operation`; warns once."""
        if operation.name not in self.unsupported_operations:
            self.unsupported_operations.add(operation.name)
            log.warning(
                f"this Dagster's schema can't run {operation.name} ({error.messages[0]}); "
                f"using {instead} instead"
            )

    async def _post(self, operation: str, payload: str) -> dict:
        assert self._session is not None, "use DagsterClient as 'async with'"
        url = self._url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                self.requests_sent += 1
                async with self._session.post(url, data=payload, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = self._redirect_target(url, response.headers.get("Location"))
                        continue
                    body = await response.read()
                    return self._parse(operation, response.status, response.headers, body)
            raise HttpError(0, f"{operation}: more than {MAX_REDIRECTS} redirects")
        except asyncio.TimeoutError:
            timeout = self._settings.request_timeout_seconds
            raise RequestTimeout(f"{operation}: no answer within {timeout}s") from None
        except (aiohttp.ClientError, ConnectionError) as error:
            reason = type(error).__name__ if not str(error) else f"{type(error).__name__}: {error}"
            raise ConnectionFailed(f"{operation}: {reason}") from None

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
        if status >= 500:
            raise ServerError(status, f"{operation}: HTTP {status}: {_short(body)}")
        try:
            answer = json.loads(body)
        except ValueError:
            if status >= 400:
                raise HttpError(status, f"{operation}: HTTP {status}: {_short(body)}") from None
            raise ProtocolError(f"{operation}: the answer is not JSON: {_short(body, 100)}") from None
        if not isinstance(answer, dict):
            raise ProtocolError(f"{operation}: the answer is not a GraphQL response")
        if answer.get("errors"):
            messages = [str(error.get("message", error)) for error in answer["errors"]]
            raise GraphQLError(operation, messages)
        if status >= 400:
            raise HttpError(status, f"{operation}: HTTP {status}: {_short(body)}")
        if not isinstance(answer.get("data"), dict):
            raise ProtocolError(f"{operation}: the answer has no 'data'")
        return answer["data"]
