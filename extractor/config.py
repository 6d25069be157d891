"""Reads and validates the connector configuration (`configuration.json`).

Fivetran hands every value over as a string; this module turns them into a typed
`Settings` and rejects bad input with a `ConfigurationError` before any request is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from extractor.errors import ConfigurationError

DEFAULT_PAGE_SIZE = 5000
DEFAULT_MAX_CONCURRENCY = 4
DEFAULT_REQUESTS_PER_SECOND = 20
DEFAULT_LOOKBACK_SECONDS = 300
DEFAULT_REQUEST_TIMEOUT_SECONDS = 60

# Optional tuning keys: name -> (default, smallest allowed, largest allowed).
_INTEGER_KEYS: dict[str, tuple[int, int, int]] = {
    "page_size": (DEFAULT_PAGE_SIZE, 1, 20_000),
    "max_concurrency": (DEFAULT_MAX_CONCURRENCY, 1, 64),
    "requests_per_second": (DEFAULT_REQUESTS_PER_SECOND, 1, 10_000),
    "lookback_seconds": (DEFAULT_LOOKBACK_SECONDS, 0, 7 * 24 * 3600),
    "request_timeout_seconds": (DEFAULT_REQUEST_TIMEOUT_SECONDS, 1, 3600),
}
_KNOWN_KEYS = {"base_url", "api_token", *_INTEGER_KEYS}


@dataclass(frozen=True)
class Settings:
    """The validated configuration. `repr` never shows the token."""

    graphql_url: str
    api_token: str = field(repr=False)
    page_size: int = DEFAULT_PAGE_SIZE
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    requests_per_second: int = DEFAULT_REQUESTS_PER_SECOND
    lookback_seconds: int = DEFAULT_LOOKBACK_SECONDS
    request_timeout_seconds: int = DEFAULT_REQUEST_TIMEOUT_SECONDS
    unknown_keys: tuple[str, ...] = ()

    @property
    def deployment(self) -> str:
        """Which Dagster this is, as the state records it: host, port and path of the API."""
        parts = urlsplit(self.graphql_url)
        port = f":{parts.port}" if parts.port else ""
        return f"{(parts.hostname or '').lower()}{port}{parts.path}"


def graphql_endpoint(base_url: str) -> str:
    """Returns the GraphQL endpoint for a server root or a full `.../graphql` URL.

    Raises:
        ConfigurationError: the URL is empty, has spaces, or is not http(s) with a host.
    """
    url = base_url.strip()
    if not url:
        raise ConfigurationError("'base_url' is empty: set it to your Dagster URL")
    if any(character.isspace() for character in url):
        raise ConfigurationError("'base_url' must not contain spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"'base_url' must start with http:// or https:// (got scheme '{parts.scheme}')"
        )
    if not parts.hostname:
        raise ConfigurationError("'base_url' has no host name")
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path = f"{path}/graphql"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _integer(configuration: dict, key: str) -> int:
    default, smallest, largest = _INTEGER_KEYS[key]
    raw = configuration.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigurationError(f"'{key}' must be a whole number (got {raw!r})") from None
    if not smallest <= value <= largest:
        raise ConfigurationError(f"'{key}' must be between {smallest} and {largest} (got {value})")
    return value


def parse_configuration(configuration: dict | None) -> Settings:
    """Validates the raw configuration and returns `Settings`.

    Raises:
        ConfigurationError: with a message naming the offending key.
    """
    if not configuration:
        raise ConfigurationError("the configuration is empty: 'base_url' is required")
    if "base_url" not in configuration:
        raise ConfigurationError("'base_url' is required")
    graphql_url = graphql_endpoint(str(configuration["base_url"]))
    api_token = str(configuration.get("api_token") or "").strip()
    host = urlsplit(graphql_url).hostname or ""
    if not api_token and (host == "dagster.cloud" or host.endswith(".dagster.cloud")):
        raise ConfigurationError(
            "Dagster+ (dagster.cloud) needs an 'api_token': create a user token in Dagster+ "
            "under Organization settings > Tokens"
        )
    return Settings(
        graphql_url=graphql_url,
        api_token=api_token,
        unknown_keys=tuple(sorted(set(configuration) - _KNOWN_KEYS)),
        **{key: _integer(configuration, key) for key in _INTEGER_KEYS},
    )
