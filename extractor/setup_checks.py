"""The setup tests: what `fivetran configuration --test` and Fivetran's setup form check before
a first sync. Each check takes the raw configuration and returns a `CheckResult`: passed, or a
message that says what to fix, with notes on what it found.

They reuse the sync's own first request (`server.connect`) and its error classification, so a
setup test fails exactly where and why a sync would. Each check is independent (Fivetran may run
one alone); run in order, each assumes the ones before it passed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from extractor.client import DagsterClient, Operation
from extractor.config import Settings, dagster_plus_domain, parse_configuration
from extractor.errors import (
    AuthenticationError,
    ConfigurationError,
    DagsterConnectorError,
    EndpointUnreachable,
    GraphQLError,
)
from extractor.log import register_secret
from extractor.server import PROBE_SECONDS, PROBE_TIMEOUT_SECONDS, PROBE_TRIES, ServerInfo, connect

OLDEST_TESTED = (1, 11)  # the oldest Dagster minor release the test suite runs against


@dataclass(frozen=True)
class CheckResult:
    failure: str | None = None  # None: passed
    notes: tuple[str, ...] = ()  # what the check found, for the log
    warnings: tuple[str, ...] = ()  # what works less well, but doesn't fail the check


@dataclass(frozen=True)
class Feature:
    """A part of Dagster's GraphQL schema that the connector uses when the server has it."""

    type_name: str
    member: str
    kind: str  # how `__type` lists it: "fields", "inputFields" or "enumValues"
    gives: str  # what the connector gets with it
    without: str  # what happens without it


# Present in dagster-webserver 1.13, absent in 1.11 (docs/dagster-graphql-reference.md, section 11).
FEATURES = (
    Feature(
        "RunStatus", "SUSPENDED", "enumValues",
        "suspended runs are tracked as unfinished until they finish",
        "this Dagster has no suspended runs: nothing is missing",
    ),
    Feature(
        "AssetCheckExecution", "partition", "fields",
        "dagster_asset_check_executions.partition is filled",
        "dagster_asset_check_executions.partition stays empty (upgrade Dagster to fill it)",
    ),
    Feature(
        "BulkActionsFilter", "selectorId", "inputFields",
        "backfills can be filtered by the schedule or sensor that launched them",
        "backfills can't be filtered by schedule or sensor (the connector doesn't need it)",
    ),
)  # fmt: skip


def _features_query() -> str:
    """One `__type` per type the features are on, aliased by the type's name."""
    kinds: dict[str, list[str]] = {}
    for feature in FEATURES:
        listed = kinds.setdefault(feature.type_name, [])
        if feature.kind not in listed:
            listed.append(feature.kind)
    lines = [
        f'  {name}: __type(name: "{name}") {{ ' + " ".join(f"{k} {{ name }}" for k in listed) + " }"
        for name, listed in kinds.items()
    ]
    return "query ConnectorSetupFeatures {\n" + "\n".join(lines) + "\n}"


SETUP_FEATURES = Operation("ConnectorSetupFeatures", _features_query())


def check_configuration(configuration: dict) -> CheckResult:
    """The values themselves: `base_url`'s form, the tuning keys' ranges, Dagster+'s token."""
    settings = _settings(configuration)
    if isinstance(settings, CheckResult):
        return settings
    warnings = tuple(
        f"configuration: unknown key '{key}' is ignored" for key in settings.unknown_keys
    )
    return CheckResult(notes=(f"GraphQL endpoint: {settings.graphql_url}",), warnings=warnings)


def check_reachable(configuration: dict) -> CheckResult:
    """`base_url` answers HTTP at all (refused, unknown host, timeout and TLS fail here)."""
    settings = _settings(configuration)
    if isinstance(settings, CheckResult):
        return settings
    _, error = _probe(settings)
    if isinstance(error, EndpointUnreachable):
        return CheckResult(str(error))
    return CheckResult(notes=(f"{urlsplit(settings.graphql_url).netloc} answers",))


def check_token(configuration: dict) -> CheckResult:
    """The server accepts `api_token` (or needs none): 401 and 403 are explained."""
    settings = _settings(configuration)
    if isinstance(settings, CheckResult):
        return settings
    _, error = _probe(settings)
    if isinstance(error, AuthenticationError):
        return CheckResult(_token_failure(settings, error))
    if isinstance(error, EndpointUnreachable):
        return CheckResult(f"the API token could not be checked: {error}")
    if not settings.api_token:
        return CheckResult(notes=("no 'api_token' is set, and Dagster answered without one",))
    return CheckResult(notes=("Dagster accepted the request with 'api_token'",))


def check_dagster(configuration: dict) -> CheckResult:
    """`base_url` is a Dagster GraphQL API (not a login page, a proxy or another GraphQL API)."""
    settings = _settings(configuration)
    if isinstance(settings, CheckResult):
        return settings
    server, error = _probe(settings)
    if error is not None or server is None:
        return CheckResult(str(error))
    return CheckResult(notes=(f"Dagster {server.version} answers at {settings.graphql_url}",))


def check_features(configuration: dict) -> CheckResult:
    """Which optional parts of the schema this Dagster has (a small introspection query); a
    server with introspection disabled passes, with a note."""
    settings = _settings(configuration)
    if isinstance(settings, CheckResult):
        return settings
    server, schema, error = asyncio.run(_read_features(settings))
    if error is not None or server is None:
        return CheckResult(str(error))
    return features_report(server.version, schema)


def features_report(version: str, schema: dict[str, Any] | None) -> CheckResult:
    """The notes and warnings for Dagster `version` with the introspection answer `schema`
    (None: introspection is disabled)."""
    notes, warnings = [f"Dagster {version}"], []
    release = _release(version)
    if release is not None and release < OLDEST_TESTED:
        warnings.append(
            f"Dagster {version} is older than the oldest release this connector is tested "
            f"with ({'.'.join(map(str, OLDEST_TESTED))}): tables whose queries it can't answer "
            "are skipped with a warning; upgrade Dagster for a complete sync"
        )
    if schema is None:
        notes.append(
            "GraphQL introspection is disabled on this server, so its optional features were "
            "not listed: the sync finds out as it goes (a warning for each one missing)"
        )
        return CheckResult(notes=tuple(notes), warnings=tuple(warnings))
    for feature in FEATURES:
        described = schema.get(feature.type_name) or {}
        members = {item.get("name") for item in described.get(feature.kind) or []}
        name = f"{feature.type_name}.{feature.member}"
        if feature.member in members:
            notes.append(f"has {name}: {feature.gives}")
        else:
            warnings.append(f"Dagster {version} lacks {name}: {feature.without}")
    return CheckResult(notes=tuple(notes), warnings=tuple(warnings))


def _settings(configuration: dict) -> Settings | CheckResult:
    token = (configuration or {}).get("api_token")
    if isinstance(token, str):
        register_secret(token.strip())
    try:
        return parse_configuration(configuration)
    except ConfigurationError as error:
        return CheckResult(str(error))


def _probe(settings: Settings) -> tuple[ServerInfo | None, DagsterConnectorError | None]:
    """The sync's first request: the server's answer, or the error it ended with."""

    async def probe() -> ServerInfo:
        async with DagsterClient(settings) as client:
            return await connect(client, settings.graphql_url)

    try:
        return asyncio.run(probe()), None
    except DagsterConnectorError as error:
        return None, error


async def _read_features(
    settings: Settings,
) -> tuple[ServerInfo | None, dict[str, Any] | None, DagsterConnectorError | None]:
    """The server, its answer to `SETUP_FEATURES` (None: introspection disabled), or an error."""
    budget = {"max_time": PROBE_SECONDS, "max_tries": PROBE_TRIES, "timeout": PROBE_TIMEOUT_SECONDS}
    try:
        async with DagsterClient(settings) as client:
            server = await connect(client, settings.graphql_url)
            try:
                return server, await client.execute(SETUP_FEATURES, **budget), None
            except GraphQLError:  # introspection switched off
                return server, None, None
    except DagsterConnectorError as error:
        return None, None, error


def _token_failure(settings: Settings, error: AuthenticationError) -> str:
    url = settings.graphql_url
    host = urlsplit(url).hostname or ""
    plus = dagster_plus_domain(host)
    where = "Organization settings > Tokens in Dagster+"
    if error.status == 403:
        return (
            f"Dagster at 'base_url' {url} answered HTTP 403 (forbidden): it knows the "
            "'api_token' but won't let it read this deployment: use a token of a user with at "
            "least Viewer access to this deployment"
            + (f" ({where}; roles under Organization settings > Users)" if plus else "")
        )
    if not settings.api_token:
        return (
            f"Dagster at 'base_url' {url} answered HTTP 401 (unauthorized) and 'api_token' is "
            f"empty: this Dagster requires a token: create a user token under {where} and set "
            "it as 'api_token'"
        )
    advice = (
        f"it is mistyped, revoked, or of another organization than '{host.split('.')[0]}': "
        f"copy a current user token from {where}"
        if plus
        else "check it; note that this connector sends it in the Dagster-Cloud-Api-Token "
        "header, and can't answer a proxy that asks for other credentials"
    )
    return (
        f"Dagster at 'base_url' {url} answered HTTP 401 (unauthorized): the 'api_token' was "
        f"refused: {advice}"
    )


def _release(version: str) -> tuple[int, int] | None:
    """(major, minor) of a version string such as `1.13.28`; None if it has no such prefix."""
    match = re.match(r"\s*(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None
