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
DEFAULT_STEP_HISTORY_DAYS = 30


@dataclass(frozen=True)
class ConfigKey:
    """One configuration key: its name in `configuration.json`, and how the setup form shows it."""

    name: str
    label: str
    description: str
    placeholder: str = ""
    required: bool = False
    secret: bool = False  # a password field in the setup form


@dataclass(frozen=True)
class TuningKey(ConfigKey):
    """An optional whole-number key: blank means `default`; outside smallest..largest is refused."""

    default: int = 0
    smallest: int = 0
    largest: int = 0


BASE_URL = ConfigKey(
    "base_url",
    "Dagster URL",
    "Self-hosted Dagster: the webserver's URL, http(s)://host:port[/path] (its root or its "
    "/graphql). Dagster+: https://ORGANIZATION.dagster.cloud/DEPLOYMENT, e.g. "
    "https://acme.dagster.cloud/prod (EU region: https://acme.eu.dagster.cloud/prod).",
    placeholder="https://acme.dagster.cloud/prod",
    required=True,
)
API_TOKEN = ConfigKey(
    "api_token",
    "API token",
    "Dagster+: a user token (Organization settings > Tokens) with at least Viewer access to "
    "the deployment. Self-hosted Dagster without authentication: leave empty. Sent only to "
    "the host of the Dagster URL.",
    secret=True,
)
TUNING_KEYS: tuple[TuningKey, ...] = (
    TuningKey(
        "page_size", "Runs per request",
        "Runs per request; each run page is one checkpoint. Pages that time out are halved.",
        default=DEFAULT_PAGE_SIZE, smallest=1, largest=20_000,
    ),
    TuningKey(
        "max_concurrency", "Requests in flight",
        "How many requests to Dagster may be in flight at once.",
        default=DEFAULT_MAX_CONCURRENCY, smallest=1, largest=64,
    ),
    TuningKey(
        "requests_per_second", "Requests per second",
        "Ceiling on the request rate; lower it if Dagster answers HTTP 429.",
        default=DEFAULT_REQUESTS_PER_SECOND, smallest=1, largest=10_000,
    ),
    TuningKey(
        "lookback_seconds", "Look-back (seconds)",
        "How far before the last sync's newest times an incremental sync reads again: a "
        "margin for events written slightly out of order.",
        default=DEFAULT_LOOKBACK_SECONDS, smallest=0, largest=7 * 24 * 3600,
    ),
    TuningKey(
        "step_history_days", "Step history (days)",
        "How many days back the first sync reads run steps (dagster_run_steps): Dagster reads "
        "every step event of a run to answer, the most expensive read of this connector. 0: "
        "every finished run. Later syncs read the steps of each run that finishes.",
        default=DEFAULT_STEP_HISTORY_DAYS, smallest=0, largest=100 * 365,
    ),
    TuningKey(
        "request_timeout_seconds", "Request timeout (seconds)",
        "Timeout of one request to Dagster.",
        default=DEFAULT_REQUEST_TIMEOUT_SECONDS, smallest=1, largest=3600,
    ),
)  # fmt: skip
CONFIGURATION_KEYS: tuple[ConfigKey, ...] = (BASE_URL, API_TOKEN, *TUNING_KEYS)
_TUNING = {key.name: key for key in TUNING_KEYS}
_KNOWN_KEYS = {key.name for key in CONFIGURATION_KEYS}

# Dagster+ serves each deployment's GraphQL API at https://ORG.dagster.cloud/DEPLOYMENT/graphql
# with the token in a `Dagster-Cloud-Api-Token` header ("your deployment-specific URL and a User
# Token": docs.dagster.io/api/graphql/graphql-client); organizations in the EU region are at
# https://ORG.eu.dagster.cloud (docs.dagster.io/migration/dagster-plus-us-to-eu), and Dagster's
# Airflow migration tutorial addresses deployments as https://ORG.dagster.plus/DEPLOYMENT
# (dagster-io/dagster examples/airlift-migration-tutorial/.../plus_proxy_operator.py). Dagster's
# `dg` CLI also uses an organization-level endpoint (https://dagster.cloud/ORG/graphql with
# `Dagster-Cloud-Organization` and `Dagster-Cloud-Deployment` headers: dagster-dg-cli
# dagster_dg_cli/utils/plus/gql_client.py), but Dagster+ documents no such form for API users,
# so a URL that names no deployment is refused with a message saying what to add.
DAGSTER_PLUS_DOMAINS = ("dagster.cloud", "dagster.plus")
_REGIONS = ("eu",)  # ORG.eu.dagster.cloud; US organizations have no region label


def dagster_plus_domain(host: str) -> str | None:
    """The Dagster+ domain `host` belongs to (`dagster.cloud`...), or None for any other host."""
    host = host.lower().rstrip(".")
    return next((d for d in DAGSTER_PLUS_DOMAINS if host == d or host.endswith(f".{d}")), None)


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
    step_history_days: int = DEFAULT_STEP_HISTORY_DAYS
    unknown_keys: tuple[str, ...] = ()

    @property
    def deployment(self) -> str:
        """Which Dagster this is, as the state records it: host, port and path of the API."""
        parts = urlsplit(self.graphql_url)
        port = f":{parts.port}" if parts.port else ""
        return f"{(parts.hostname or '').lower()}{port}{parts.path}"


def graphql_endpoint(base_url: str) -> str:
    """Returns the GraphQL endpoint for a server root or a full `.../graphql` URL.

    A Dagster+ URL keeps its first path segment, the deployment, and drops the rest (a page of
    the UI copied from the browser: `https://acme.dagster.cloud/prod/runs` is `prod`'s API).

    Raises:
        ConfigurationError: the URL is empty, has spaces, is not http(s) with a host, or is a
            Dagster+ URL without a deployment (or not https).
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
    if dagster_plus_domain(parts.hostname):
        return _dagster_plus_endpoint(url)
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path = f"{path}/graphql"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _dagster_plus_endpoint(url: str) -> str:
    """`https://ORG[.REGION].dagster.cloud/DEPLOYMENT/graphql` for a Dagster+ URL."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    domain = dagster_plus_domain(host) or ""
    labels = host[: -len(domain)].rstrip(".").split(".") if host != domain else []
    segments = [segment for segment in parts.path.split("/") if segment]
    if not labels or (len(labels) == 1 and labels[0] in _REGIONS):  # no organization in the host
        region = f"{labels[0]}." if labels else ""
        organization = segments[0] if segments else "ORGANIZATION"
        deployment = segments[1] if len(segments) > 1 and segments[1] != "graphql" else "DEPLOYMENT"
        raise ConfigurationError(
            f"'base_url' {url} is Dagster+'s own address, not your organization's: use "
            f"https://{organization}.{region}{domain}/{deployment} (the address your browser "
            "shows when you are signed in to Dagster+)"
        )
    organization = labels[0]
    if parts.scheme != "https":
        raise ConfigurationError(f"'base_url' {url}: Dagster+ is served over https://, not http://")
    if not segments or segments[0] == "graphql":
        raise ConfigurationError(
            f"'base_url' {url} names the Dagster+ organization '{organization}' but no "
            f"deployment: add the deployment's name, e.g. https://{parts.netloc}/prod (the "
            "name after the host in your browser's address bar when you are in Dagster+)"
        )
    return urlunsplit(("https", parts.netloc, f"/{segments[0]}/graphql", "", ""))


def _integer(configuration: dict, key: str) -> int:
    tuning = _TUNING[key]
    default, smallest, largest = tuning.default, tuning.smallest, tuning.largest
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
    if not api_token and dagster_plus_domain(urlsplit(graphql_url).hostname or ""):
        raise ConfigurationError(
            "Dagster+ (dagster.cloud) needs an 'api_token': create a user token in Dagster+ "
            "under Organization settings > Tokens"
        )
    return Settings(
        graphql_url=graphql_url,
        api_token=api_token,
        unknown_keys=tuple(sorted(set(configuration) - _KNOWN_KEYS)),
        **{key: _integer(configuration, key) for key in _TUNING},
    )
