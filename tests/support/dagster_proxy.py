"""A reverse proxy for integration tests, between the connector and a real dagster-webserver.

It forwards every request unchanged unless a rule applies, so that a real Dagster can be made
to behave as some real deployments do: one that silently caps page sizes (`clamp_limit`), one
whose data changes between two requests (`before_forward`), or one that fails or sits behind
a login page (`answer_with` and the `dagster_*`/`html_login_page` answers below). Typical use::

    with DagsterProxy(demo.url) as proxy:
        proxy.clamp_limit("runsOrError", 100)
        project = ConnectorProject(root, {"base_url": proxy.url, ...})

The proxy serves on 127.0.0.1 from its own thread and asyncio loop; rules may be changed from
any thread while it runs. Hooks and responders run in a worker thread, where they may block.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

Payload = dict[str, Any]
Body = dict[str, Any] | str | bytes
Answer = tuple[int, Body, Mapping[str, str] | None]
Hook = Callable[[Payload], None]
Responder = Callable[[Payload], Answer | None]
Rewriter = Callable[[Payload, int, Any], Answer | None]  # (request, upstream status, its JSON)

# Not forwarded in either direction: hop-by-hop headers, and those aiohttp sets itself.
_SKIPPED_HEADERS = frozenset(
    name.lower()
    for name in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
        "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    )
)  # fmt: skip
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
_MAX_BODY = 256 * 1024 * 1024


class DagsterProxy:
    """Forwards HTTP requests to `upstream_url`, applying the rules set on it. Use as `with`."""

    def __init__(self, upstream_url: str, *, workers: int = 8) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.url = ""  # set by start()
        self._lock = threading.Lock()
        self._limits: dict[str, int] = {}
        self._hook: Hook | None = None
        self._responder: Responder | None = None
        self._rewriter: Rewriter | None = None
        self._requests: list[Payload] = []
        self._errors: list[BaseException] = []
        self._workers = workers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> DagsterProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is None and self._errors:
            raise RuntimeError(f"a proxy rule failed: {self._errors[0]!r}") from self._errors[0]

    def start(self) -> None:
        """Starts serving on a free port of 127.0.0.1; returns once `url` accepts connections."""
        if self._thread is not None:
            raise RuntimeError("DagsterProxy already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="dagster-proxy", daemon=True)
        self._loop, self._thread = loop, thread
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="dagster-proxy-rule")
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=30)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops serving, closes every connection and joins the proxy's threads (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if thread.is_alive():
                asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = self._executor = None

    async def _serve(self) -> None:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._session = aiohttp.ClientSession(
            auto_decompress=False,  # bodies pass through byte for byte, Content-Encoding kept
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            await web.SockSite(self._runner, sock).start()  # the site owns the socket from here
        except BaseException:
            sock.close()
            raise
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # -- rules -----------------------------------------------------------------------------------

    def clamp_limit(self, root_field: str, maximum: int) -> None:
        """Caps the `limit` variable of GraphQL queries mentioning `root_field` at `maximum`."""
        with self._lock:
            self._limits[root_field] = maximum

    def before_forward(self, hook: Hook | None) -> None:
        """Calls `hook(payload)` before each GraphQL request is forwarded (not when answered).

        The hook runs in a worker thread and may block; changes it makes to the payload are
        forwarded.
        """
        with self._lock:
            self._hook = hook

    def answer_with(self, responder: Responder | None) -> None:
        """Lets `responder(payload)` answer GraphQL requests instead of upstream.

        It returns None (forward as usual) or `(status, body, headers)`: a dict body is sent as
        JSON, a str as text/plain, bytes as application/octet-stream, unless headers say otherwise.
        """
        with self._lock:
            self._responder = responder

    def rewrite_answers(self, rewriter: Rewriter | None) -> None:
        """Lets `rewriter(payload, status, answer)` change upstream's JSON answers to GraphQL
        requests: it returns None (send it as it came) or `(status, body, headers)`."""
        with self._lock:
            self._rewriter = rewriter

    def clear_rules(self) -> None:
        """Removes every rule: the proxy forwards everything unchanged again."""
        with self._lock:
            self._limits.clear()
            self._hook = self._responder = self._rewriter = None

    @property
    def requests(self) -> list[Payload]:
        """A copy of the GraphQL payloads received so far, in order (before any rule applied)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, root_field: str) -> list[Payload]:
        """The GraphQL payloads received so far whose query mentions `root_field`."""
        return [payload for payload in self.requests if _mentions(payload, root_field)]

    def clear_requests(self) -> None:
        """Forgets the payloads received so far."""
        with self._lock:
            self._requests.clear()

    # -- handling --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        payload = _graphql_payload(request.method, body)
        if payload is not None:
            received = copy.deepcopy(payload)
            with self._lock:
                self._requests.append(received)
                limits, hook, responder = dict(self._limits), self._hook, self._responder
            try:
                if responder is not None:
                    answer = await self._in_worker(responder, payload)
                    if answer is not None:
                        return _response(*answer)
                _clamp(payload, limits)
                if hook is not None:
                    await self._in_worker(hook, payload)
            except Exception as error:  # reported again when the `with` block ends
                with self._lock:
                    self._errors.append(error)
                return web.Response(status=502, text=f"proxy rule failed: {error!r}")
            if payload != received:  # otherwise the client's bytes go through as they came
                body = json.dumps(payload).encode()
            with self._lock:
                rewriter = self._rewriter
            if rewriter is not None:
                return await self._rewritten(request, body, payload, rewriter)
        return await self._forward(request, body)

    async def _rewritten(
        self, request: web.Request, body: bytes, payload: Payload, rewriter: Rewriter
    ) -> web.Response:
        response = await self._forward(request, body)
        try:
            answer = json.loads(response.body)
        except (TypeError, ValueError):
            return response
        try:
            rewritten = await self._in_worker(lambda p: rewriter(p, response.status, answer), payload)
        except Exception as error:  # reported again when the `with` block ends
            with self._lock:
                self._errors.append(error)
            return web.Response(status=502, text=f"proxy rule failed: {error!r}")
        return response if rewritten is None else _response(*rewritten)

    async def _in_worker(self, function: Callable[[Payload], Any], payload: Payload) -> Any:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, payload)

    async def _forward(self, request: web.Request, body: bytes) -> web.Response:
        assert self._session is not None
        target = URL(self.upstream_url + request.raw_path, encoded=True)
        headers = _filtered(request.headers)
        try:
            async with self._session.request(
                request.method,
                target,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                skip_auto_headers=_AUTO_HEADERS,  # send the client's headers, no more
            ) as upstream:
                content = await upstream.read()
                return web.Response(
                    status=upstream.status,
                    reason=upstream.reason,
                    body=content,
                    headers=_filtered(upstream.headers),
                )
        except (aiohttp.ClientError, ConnectionError) as error:
            return web.Response(status=502, text=f"proxy: upstream unreachable: {error!r}")


def _filtered(headers: Mapping[str, str]) -> CIMultiDict[str]:
    items = headers.items()
    return CIMultiDict((k, v) for k, v in items if k.lower() not in _SKIPPED_HEADERS)


def _graphql_payload(method: str, body: bytes) -> Payload | None:
    """The parsed body of a GraphQL POST, or None for any other request."""
    if method != "POST" or not body:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("query"), str):
        return payload
    return None


def _mentions(payload: Payload, root_field: str) -> bool:
    return re.search(rf"\b{re.escape(root_field)}\b", str(payload.get("query", ""))) is not None


def _clamp(payload: Payload, limits: Mapping[str, int]) -> None:
    variables = payload.get("variables")
    if not isinstance(variables, dict):
        return
    limit = variables.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool):
        return
    caps = [maximum for field, maximum in limits.items() if _mentions(payload, field)]
    if caps and limit > min(caps):
        variables["limit"] = min(caps)


def _response(status: int, body: Body, headers: Mapping[str, str] | None = None) -> web.Response:
    extra = CIMultiDict(headers or {})
    if isinstance(body, dict):
        # As Starlette's JSONResponse renders it.
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        extra.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        data = body.encode()
        extra.setdefault("Content-Type", "text/plain; charset=utf-8")
    else:
        data = body
        extra.setdefault("Content-Type", "application/octet-stream")
    return web.Response(status=status, body=data, headers=extra)


# -- realistic answers ---------------------------------------------------------------------------
#
# dagster-webserver 1.13 (dagster_webserver/graphql.py, GraphQLServer.gen_graphql_response)
# answers with Starlette's JSONResponse; `_determine_status_code` makes it HTTP 500 whenever a
# resolver raised (the GraphQL error has an `original_error`) or an `...OrError` resolver's
# `capture_error` turned an exception into a PythonError (ErrorCapture.watch saw it).

POSTGRES_TIMEOUT = "(psycopg2.errors.QueryCanceled) canceling statement due to statement timeout"
SQLALCHEMY_ERROR = "sqlalchemy.exc.OperationalError"

_STACK = [
    '  File "/usr/local/lib/python3.11/site-packages/graphql/execution/execute.py", line 689, in '
    "execute_field\n    result = resolve_fn(source, info, **args)\n"
    "             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/default.py", line 1192, in '
    "do_execute\n    cursor.execute(statement, parameters)\n",
]


def _exception_text(message: str, exception: str | None) -> str:
    """`message` as `traceback.format_exception_only` renders it (SerializableErrorInfo.message)."""
    return message if exception is None else f"{exception}: {message}\n"


def _locations(query: str | None, path: Sequence[str | int]) -> list[dict[str, int]] | None:
    """Where graphql-core locates the field at the end of `path` in `query` (1-based)."""
    if not query:
        return None
    position = 0
    for name in (part for part in path if isinstance(part, str)):
        match = re.compile(rf"\b{re.escape(name)}\b").search(query, position)
        if match is None:
            return None
        position = match.start()
    line = query.count("\n", 0, position) + 1
    return [{"line": line, "column": position - (query.rfind("\n", 0, position) + 1) + 1}]


def dagster_resolver_error(
    message: str,
    path: Sequence[str | int],
    *,
    query: str | None = None,
    exception: str = SQLALCHEMY_ERROR,
    stack: Sequence[str] = _STACK,
) -> Answer:
    """The HTTP 500 answer when a resolver raised, e.g. `Runs.results` on a statement timeout.

    The error reaches the non-null root field, so `data` is null; `locations` is given when
    `query` (the request's) is, `extensions.errorInfo` is `pack_value(SerializableErrorInfo)`
    as GraphQLServer.handle_graphql_errors adds it. `message` is `str(exception)`.
    """
    error: dict[str, Any] = {"message": message}
    locations = _locations(query, path)
    if locations is not None:
        error["locations"] = locations
    error["path"] = list(path)
    error["extensions"] = {
        "errorInfo": {
            "__class__": "SerializableErrorInfo",
            "message": _exception_text(message, exception),
            "stack": list(stack),
            "cls_name": exception.rsplit(".", 1)[-1],
            "cause": None,
            "context": None,
        }
    }
    return 500, {"data": None, "errors": [error]}, None


def dagster_python_error(root_field: str, message: str, *, exception: str | None = None) -> Answer:
    """The HTTP 500 answer when an `...OrError` field's resolver raised and capture_error made it
    a PythonError, with the fields the connector selects (`__typename`, `... on Error {message}`).

    `message` is sent verbatim; Dagster's own is `traceback.format_exception_only`'s text, which
    `exception="sqlalchemy.exc.OperationalError"` (say) builds: `"<exception>: <message>\\n"`.
    """
    value = {"__typename": "PythonError", "message": _exception_text(message, exception)}
    return 500, {"data": {root_field: value}}, None


def html_login_page() -> Answer:
    """The HTTP 200 sign-in page an authenticating proxy in front of Dagster serves."""
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
        "<title>Sign in</title></head>\n<body>\n<h1>Sign in to Dagster</h1>\n"
        '<form method="post" action="/oauth2/sign_in">\n'
        '<input type="hidden" name="rd" value="/graphql">\n'
        '<button type="submit">Sign in with SSO</button>\n</form>\n</body>\n</html>\n'
    )
    return 200, page, {"Content-Type": "text/html; charset=utf-8"}
