"""The first request of a sync: is `base_url` a Dagster GraphQL API, and what does it support.

It runs alone, with a short retry budget, so that a wrong URL, a dead host or a login page
fails within seconds with a message naming `base_url` and what was found there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from extractor.client import DagsterClient
from extractor.documents import SERVER_INFO, SERVER_VERSION
from extractor.errors import (
    AuthenticationError,
    ConnectionFailed,
    DagsterConnectorError,
    EndpointError,
    EndpointUnreachable,
    GraphQLError,
    NotGraphQLAnswer,
)
from extractor.log import log

PROBE_SECONDS = 20.0  # the first request's whole retry budget
PROBE_TRIES = 4
PROBE_TIMEOUT_SECONDS = 10.0  # one attempt: a server that accepts and never answers isn't Dagster
CLOCK_SKEW_WARNING_SECONDS = 60.0
FINISHED_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
# What an older server without introspection is assumed to know.
DEFAULT_NOT_FINISHED = ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "CANCELING")


@dataclass(frozen=True)
class ServerInfo:
    version: str
    not_finished_statuses: tuple[str, ...]  # every run status this server has that isn't final
    clock_offset: float | None = None  # the webserver's clock minus this machine's, if known


async def connect(client: DagsterClient, base_url: str) -> ServerInfo:
    """Checks that `base_url` is a Dagster GraphQL API and reads what the sync needs of it.

    Raises:
        EndpointUnreachable: not reachable; the message names `base_url` and what to check.
        EndpointError: not Dagster; the message names `base_url`.
        AuthenticationError: the token was refused.
    """
    budget = {"max_time": PROBE_SECONDS, "max_tries": PROBE_TRIES, "timeout": PROBE_TIMEOUT_SECONDS}
    try:
        try:
            data = await client.execute(SERVER_INFO, **budget)
        except GraphQLError:  # introspection may be switched off: the version alone will do
            data = await client.execute(SERVER_VERSION, **budget)
    except AuthenticationError:
        raise
    except ConnectionFailed as error:
        raise EndpointUnreachable(
            f"could not reach Dagster at 'base_url' {base_url} ({error}): "
            + _unreachable_advice(base_url, error.kind),
            error.kind,
        ) from None
    except NotGraphQLAnswer as error:
        raise EndpointError(f"'base_url' {base_url} is not Dagster's GraphQL API: {error}") from None
    except GraphQLError as error:
        raise EndpointError(
            f"'base_url' {base_url} answers GraphQL but not as Dagster does ({error}): "
            "check 'base_url'"
        ) from None
    except DagsterConnectorError as error:
        raise EndpointError(
            f"the first request to 'base_url' {base_url} failed: {error}"
        ) from None
    version = data.get("version")
    if not isinstance(version, str):
        raise EndpointError(f"'base_url' {base_url} answered without a Dagster version: check it")
    statuses = [value["name"] for value in ((data.get("runStatuses") or {}).get("enumValues") or [])]
    not_finished = tuple(s for s in statuses if s not in FINISHED_STATUSES) or DEFAULT_NOT_FINISHED
    offset = client.server_clock_offset
    if offset is not None and abs(offset) > CLOCK_SKEW_WARNING_SECONDS:
        log.warning(
            f"Dagster's clock is {offset:+.0f}s off this machine's: the connector keeps its "
            "watermarks in Dagster's times, so nothing is lost, but compare times with care"
        )
    return ServerInfo(version, not_finished, offset)


def _unreachable_advice(base_url: str, kind: str) -> str:
    """What to check when `base_url` can't be reached, by how the connection failed."""
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if kind == "refused":
        return (
            f"nothing accepts connections on {host} port {port}: check the port, and that the "
            "Dagster webserver is running and listening on an address this machine can reach"
        )
    if kind == "unknown_host":
        return (
            f"the host name '{host}' does not resolve: check its spelling (Dagster+: "
            "https://ORGANIZATION.dagster.cloud/DEPLOYMENT)"
        )
    if kind == "tls":
        return (
            f"the https (TLS) connection to {host} failed: check http:// versus https:// (a "
            "server without TLS needs http://), and that its certificate is valid and trusted"
        )
    if kind == "timeout":
        return (
            f"{host} did not answer in time: check that it is reachable from where the "
            "connector runs (a firewall, a VPN, an allow-list of Fivetran's IP addresses)"
        )
    return "check the host, port and http/https, and that the Dagster webserver is running"


def server_now(server: ServerInfo) -> float:
    """This moment in the webserver's clock (this machine's, if it sent no `Date`), less the
    `Date` header's one-second resolution: the bound no watermark of a sync goes past."""
    return time.time() + (server.clock_offset or 0.0) - 1.0
