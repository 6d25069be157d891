"""The setup form (fields generated from config.py) and the setup tests: each one's pass and
every failure message, against the fake Dagster, real closed or silent local ports, and a real
plain-HTTP server asked for https."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import CallbackResult, aioresponses
from fivetran_connector_sdk import form_field
from fivetran_connector_sdk_cli.configuration_command import prompt_for_configuration, validate_form

from extractor.config import API_TOKEN, BASE_URL, CONFIGURATION_KEYS, TUNING_KEYS, parse_configuration
from extractor.setup_checks import check_features, features_report
from extractor.setup_form import (
    SETUP_TESTS,
    api_token_accepted,
    base_url_reachable,
    configuration_form,
    configuration_values,
    dagster_graphql_api,
    optional_features,
)
from tests.fake_dagster import ENDPOINT, FakeDagster, fast_retries, html_page, validation_error

TOKEN = "setup-secret-token-5d2e"
PLUS_URL = "https://acme.dagster.cloud/prod"
PLUS_ENDPOINT = "https://acme.dagster.cloud/prod/graphql"
# dagster-graphql 1.11.16's answer to ConnectorSetupFeatures (its schema, queried in-process).
SCHEMA_1_11 = {
    "RunStatus": {"enumValues": [{"name": n} for n in (
        "QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "CANCELING", "CANCELED"
    )]},
    "AssetCheckExecution": {"fields": [{"name": n} for n in ("id", "runId", "status", "evaluation", "timestamp", "stepKey")]},
    "BulkActionsFilter": {"inputFields": [{"name": n} for n in ("statuses", "createdBefore", "createdAfter")]},
}  # fmt: skip


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def configuration(base_url: str = ENDPOINT, token: str = TOKEN, **tuning: str) -> dict:
    return {"base_url": base_url, "api_token": token, **tuning}


def outcome(response) -> str | None:
    """None if the setup test passed, else its failure message."""
    assert (response.success is True) != (response.failure is not None), response
    return response.failure


def against(fake: FakeDagster, test, config: dict | None = None) -> str | None:
    with aioresponses() as mocked:
        fake.install(mocked)
        return outcome(test(config or configuration()))


def answering(url: str, test, config: dict, **answer) -> str | None:
    """Runs `test` against a server that answers every POST to `url` with `answer`."""
    with aioresponses() as mocked:
        mocked.post(url, repeat=True, **answer)
        return outcome(test(config))


def free_port() -> int:
    """A port nothing listens on: bound once by the OS, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def plain_http_server() -> Iterator[int]:
    """A real HTTP server without TLS on 127.0.0.1; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers; yields it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


# --- the form ---------------------------------------------------------------------------------


def test_the_form_has_a_field_for_every_configuration_key_in_order():
    form = configuration_form().to_response()
    assert [field.name for field in form.fields] == [
        "base_url", "api_token", "page_size", "max_concurrency", "requests_per_second",
        "lookback_seconds", "step_history_days", "request_timeout_seconds",
    ]  # fmt: skip
    # Every field is a key the configuration parser knows: none is reported as unknown.
    values = {field.name: "" for field in form.fields} | {"base_url": "http://localhost:3000"}
    assert parse_configuration(values).unknown_keys == ()
    validate_form(form.fields)  # the SDK's own check (unique names)


def test_the_token_is_a_password_field_and_only_the_url_is_required():
    fields = {field.name: field for field in configuration_form().to_response().fields}
    assert fields["api_token"].text_field == form_field.PASSWORD
    assert {name for name, field in fields.items() if field.text_field == form_field.PASSWORD} == {"api_token"}
    assert {name for name, field in fields.items() if field.required} == {"base_url"}
    assert fields["base_url"].label == BASE_URL.label and fields["api_token"].label == API_TOKEN.label


def test_each_tuning_field_shows_the_default_the_parser_applies_to_a_blank_value():
    fields = {field.name: field for field in configuration_form().to_response().fields}
    blank = parse_configuration({"base_url": "http://localhost:3000", **{k.name: "" for k in TUNING_KEYS}})
    for key in TUNING_KEYS:
        field = fields[key.name]
        assert int(field.placeholder) == getattr(blank, key.name), key.name
        assert f"default, {getattr(blank, key.name)}" in field.description
        assert f"{key.smallest} to {key.largest}" in field.description
        assert key.description in field.description


def test_answers_typed_into_the_form_parse_with_the_defaults(monkeypatch):
    """The SDK's prompt (`fivetran configuration`) fills a configuration the parser accepts;
    only the token is asked for without echo."""
    fields = configuration_form().to_response().fields
    typed = iter(["https://acme.eu.dagster.cloud/prod", "", "", "", "", "", ""])
    secrets = []
    answers = prompt_for_configuration(
        fields, input_fn=lambda prompt: next(typed), secret_fn=lambda prompt: secrets.append(prompt) or TOKEN
    )
    assert secrets == ["API token: "]
    settings = parse_configuration(answers)
    assert settings.graphql_url == "https://acme.eu.dagster.cloud/prod/graphql"
    assert settings.api_token == TOKEN
    assert settings.page_size == next(k.default for k in TUNING_KEYS if k.name == "page_size")


def test_the_form_serialises_and_registers_the_setup_tests_in_order():
    form = configuration_form()
    assert form._to_proto().SerializeToString()
    assert [(test.name, test.label) for test in form.to_response().tests] == [
        (function.__name__, label) for label, function in SETUP_TESTS
    ]
    assert [function.__name__ for _, function in SETUP_TESTS] == [
        "configuration_values", "base_url_reachable", "api_token_accepted", "dagster_graphql_api",
        "optional_features",
    ]  # fmt: skip
    assert len(CONFIGURATION_KEYS) == len(form.to_response().fields)


def test_the_connector_serves_the_form():
    import connector

    assert connector.connector.configuration_form_method is configuration_form


# --- configuration_values ---------------------------------------------------------------------


def test_valid_values_pass():
    assert outcome(configuration_values(configuration(PLUS_URL))) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (configuration("dagster.example.com"), "'base_url' must start with http:// or https://"),
        (configuration(page_size="0"), "'page_size' must be between 1 and 20000"),
        (configuration(max_concurrency="many"), "'max_concurrency' must be a whole number"),
        (configuration(PLUS_URL, token=""), "needs an 'api_token'"),
        (configuration("https://acme.dagster.cloud/"), "no deployment: add the deployment's name"),
        ({"api_token": TOKEN}, "'base_url' is required"),
    ],
)
def test_bad_values_fail_naming_the_key(config, message):
    assert message in outcome(configuration_values(config))


# --- base_url_reachable -----------------------------------------------------------------------


def test_a_dagster_that_answers_is_reachable():
    assert against(FakeDagster(), base_url_reachable) is None


def test_an_answer_refusing_the_token_still_proves_the_url_reachable():
    assert answering(ENDPOINT, base_url_reachable, configuration(), status=401, body="no") is None


def test_a_closed_port_fails_saying_nothing_listens_there():
    port = free_port()
    failure = outcome(base_url_reachable(configuration(f"http://127.0.0.1:{port}")))
    assert failure.startswith(f"could not reach Dagster at 'base_url' http://127.0.0.1:{port}/graphql")
    assert f"nothing accepts connections on 127.0.0.1 port {port}: check the port" in failure


def test_an_unknown_host_fails_saying_the_name_does_not_resolve():
    key = ConnectionKey("dagster.nowhere.test", 443, True, True, None, None, None)
    error = aiohttp.ClientConnectorDNSError(key, OSError(-2, "Name or service not known"))
    config = configuration("https://dagster.nowhere.test")
    failure = answering("https://dagster.nowhere.test/graphql", base_url_reachable, config, exception=error)
    assert "could not reach Dagster at 'base_url' https://dagster.nowhere.test/graphql" in failure
    assert "the host name 'dagster.nowhere.test' does not resolve: check its spelling" in failure


def test_https_to_a_server_without_tls_fails_as_a_tls_error():
    with plain_http_server() as port:
        failure = outcome(base_url_reachable(configuration(f"https://127.0.0.1:{port}")))
    assert f"could not reach Dagster at 'base_url' https://127.0.0.1:{port}/graphql" in failure
    assert "the https (TLS) connection to 127.0.0.1 failed: check http:// versus https://" in failure


def test_an_untrusted_certificate_fails_as_a_tls_error():
    key = ConnectionKey("dagster.example.com", 443, True, True, None, None, None)
    error = aiohttp.ClientConnectorCertificateError(key, ssl.SSLCertVerificationError("self-signed certificate"))
    config = configuration("https://dagster.example.com")
    failure = answering("https://dagster.example.com/graphql", base_url_reachable, config, exception=error)
    assert "ClientConnectorCertificateError" in failure
    assert "that its certificate is valid and trusted" in failure


def test_a_dropped_connection_gets_the_general_advice():
    error = aiohttp.ServerDisconnectedError()
    failure = answering(ENDPOINT, base_url_reachable, configuration(), exception=error)
    assert failure == (
        f"could not reach Dagster at 'base_url' {ENDPOINT} (ConnectorServerInfo: ServerDisconnectedError: "
        "Server disconnected): check the host, port and http/https, and that the Dagster webserver is running"
    )


def test_a_server_that_never_answers_fails_as_a_timeout(monkeypatch):
    monkeypatch.setattr("extractor.server.PROBE_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr("extractor.server.PROBE_SECONDS", 1.0)
    with silent_server() as port:
        failure = outcome(base_url_reachable(configuration(f"http://127.0.0.1:{port}")))
    assert "no answer within 0.2s" in failure
    assert "127.0.0.1 did not answer in time: check that it is reachable" in failure


def test_a_bad_configuration_fails_the_reachability_test_with_the_configuration_message():
    assert "'page_size'" in outcome(base_url_reachable(configuration(page_size="-1")))


# --- api_token_accepted -----------------------------------------------------------------------


def test_a_token_the_server_accepts_passes():
    assert against(FakeDagster(), api_token_accepted) is None


def test_no_token_passes_on_a_dagster_that_needs_none():
    assert against(FakeDagster(), api_token_accepted, configuration(token="")) is None


def test_http_401_without_a_token_says_this_dagster_requires_one():
    failure = answering(ENDPOINT, api_token_accepted, configuration(token=""), status=401, body="no")
    assert "answered HTTP 401 (unauthorized) and 'api_token' is empty: this Dagster requires a token" in failure


def test_http_401_with_a_token_on_self_hosted_dagster_says_it_was_refused():
    failure = answering(ENDPOINT, api_token_accepted, configuration(), status=401, body="no")
    assert "answered HTTP 401 (unauthorized): the 'api_token' was refused" in failure
    assert "Dagster-Cloud-Api-Token header" in failure
    assert TOKEN not in failure


def test_http_401_on_dagster_plus_names_the_organization_and_where_tokens_are_made():
    failure = answering(PLUS_ENDPOINT, api_token_accepted, configuration(PLUS_URL), status=401, body="no")
    assert f"Dagster at 'base_url' {PLUS_ENDPOINT} answered HTTP 401" in failure
    assert "mistyped, revoked, or of another organization than 'acme'" in failure
    assert "Organization settings > Tokens in Dagster+" in failure
    assert TOKEN not in failure


def test_http_403_says_the_token_lacks_access_to_the_deployment():
    failure = answering(PLUS_ENDPOINT, api_token_accepted, configuration(PLUS_URL), status=403, body="no")
    assert "answered HTTP 403 (forbidden)" in failure
    assert "at least Viewer access to this deployment" in failure


def test_the_token_test_fails_when_the_url_is_unreachable():
    failure = outcome(api_token_accepted(configuration(f"http://127.0.0.1:{free_port()}")))
    assert failure.startswith("the API token could not be checked: could not reach Dagster")


# --- dagster_graphql_api ----------------------------------------------------------------------


def test_a_dagster_graphql_api_passes():
    assert against(FakeDagster(), dagster_graphql_api) is None


def test_a_login_page_is_not_dagster():
    fake = FakeDagster()
    fake.overrides["ConnectorServerInfo"] = lambda variables: html_page("Sign in")
    failure = against(fake, dagster_graphql_api)
    assert f"'base_url' {ENDPOINT} is not Dagster's GraphQL API" in failure
    assert "HTML page titled 'Sign in'" in failure


def test_another_graphql_api_is_not_dagster():
    fake = FakeDagster()
    for operation in ("ConnectorServerInfo", "ConnectorServerVersion"):
        fake.overrides[operation] = lambda variables: validation_error("Cannot query field 'version' on type 'Query'.")
    assert "answers GraphQL but not as Dagster does" in against(fake, dagster_graphql_api)


def test_no_graphql_endpoint_at_the_path_is_a_404_naming_base_url():
    failure = answering(ENDPOINT, dagster_graphql_api, configuration(), status=404, body="Not Found")
    assert "HTTP 404: no GraphQL endpoint here - check 'base_url'" in failure


def test_refused_credentials_fail_the_dagster_test_too():
    failure = answering(ENDPOINT, dagster_graphql_api, configuration(), status=401, body="no")
    assert "HTTP 401" in failure and "check 'api_token'" in failure


# --- optional_features ------------------------------------------------------------------------


def test_dagster_1_13_has_every_optional_feature():
    fake = FakeDagster()
    assert against(fake, optional_features) is None
    assert fake.calls["ConnectorSetupFeatures"] == 1


def test_the_report_names_the_version_and_each_feature():
    fake = FakeDagster()
    with aioresponses() as mocked:
        fake.install(mocked)
        result = check_features(configuration())
    assert result.failure is None and result.warnings == ()
    assert result.notes[0] == "Dagster 1.13.28"
    assert [note.split(":")[0] for note in result.notes[1:]] == [
        "has RunStatus.SUSPENDED", "has AssetCheckExecution.partition", "has BulkActionsFilter.selectorId",
    ]  # fmt: skip


def test_dagster_1_11_passes_with_a_warning_for_each_missing_feature():
    report = features_report("1.11.16", SCHEMA_1_11)
    assert report.failure is None
    assert report.notes == ("Dagster 1.11.16",)
    assert [warning.split(":")[0] for warning in report.warnings] == [
        "Dagster 1.11.16 lacks RunStatus.SUSPENDED",
        "Dagster 1.11.16 lacks AssetCheckExecution.partition",
        "Dagster 1.11.16 lacks BulkActionsFilter.selectorId",
    ]
    assert "dagster_asset_check_executions.partition stays empty" in report.warnings[1]


def test_a_1_11_server_end_to_end():
    fake = FakeDagster()
    fake.version = "1.11.16"
    fake.overrides["ConnectorSetupFeatures"] = lambda variables: {"data": SCHEMA_1_11}
    assert against(fake, optional_features) is None


def test_a_release_older_than_the_tested_ones_is_warned_about():
    report = features_report("1.9.4", SCHEMA_1_11)
    assert report.failure is None
    assert report.warnings[0].startswith("Dagster 1.9.4 is older than the oldest release this connector is tested with (1.11)")


def test_introspection_disabled_passes_with_a_note():
    fake = FakeDagster(introspection=False)
    with aioresponses() as mocked:
        fake.install(mocked)
        result = check_features(configuration())
    assert result.failure is None and result.warnings == ()
    assert "GraphQL introspection is disabled on this server" in result.notes[1]
    assert fake.calls["ConnectorSetupFeatures"] == 1


def test_the_features_test_fails_when_the_url_is_unreachable():
    failure = outcome(optional_features(configuration(f"http://127.0.0.1:{free_port()}")))
    assert failure.startswith("could not reach Dagster at 'base_url'")


def test_a_token_echoed_by_the_server_is_redacted_from_failure_messages():
    echo = CallbackResult(status=500, body=f"proxy error for token {TOKEN}")
    failures = {}
    for test in (base_url_reachable, api_token_accepted, dagster_graphql_api, optional_features):
        with aioresponses() as mocked:
            mocked.post(ENDPOINT, callback=lambda url, **kwargs: echo, repeat=True)
            failures[test.__name__] = outcome(test(configuration()))
    assert failures["dagster_graphql_api"] == (
        f"the first request to 'base_url' {ENDPOINT} failed: ConnectorServerInfo: HTTP 500: "
        "proxy error for token ***"
    )
    assert not any(TOKEN in (failure or "") for failure in failures.values())
