import pytest

from extractor.config import DEFAULT_PAGE_SIZE, graphql_endpoint, parse_configuration
from extractor.errors import ConfigurationError


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000/graphql"),
        ("http://127.0.0.1:3000/", "http://127.0.0.1:3000/graphql"),
        ("http://127.0.0.1:3000/graphql", "http://127.0.0.1:3000/graphql"),
        ("https://acme.dagster.cloud/prod/graphql/", "https://acme.dagster.cloud/prod/graphql"),
        ("https://acme.dagster.cloud/prod", "https://acme.dagster.cloud/prod/graphql"),
        ("  https://dagster.example.com/sub/path  ", "https://dagster.example.com/sub/path/graphql"),
    ],
)
def test_graphql_endpoint_accepts_root_or_full_url(base_url, expected):
    assert graphql_endpoint(base_url) == expected


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("", "empty"),
        ("ftp://dagster.example.com", "http:// or https://"),
        ("dagster.example.com", "http:// or https://"),
        ("http://dagster example.com", "spaces"),
        ("http://", "no host"),
    ],
)
def test_bad_base_url_is_a_clear_error(base_url, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_configuration({"base_url": base_url, "api_token": ""})


def test_defaults_and_tuning_keys_are_parsed_from_strings():
    settings = parse_configuration({"base_url": "http://localhost:3000", "api_token": ""})
    assert settings.page_size == DEFAULT_PAGE_SIZE
    tuned = parse_configuration(
        {"base_url": "http://localhost:3000", "page_size": "50", "requests_per_second": " 7 "}
    )
    assert (tuned.page_size, tuned.requests_per_second) == (50, 7)


@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5", "100000"])
def test_bad_page_size_is_rejected(value):
    with pytest.raises(ConfigurationError, match="page_size"):
        parse_configuration({"base_url": "http://localhost:3000", "page_size": value})


def test_missing_base_url_and_empty_configuration_are_rejected():
    with pytest.raises(ConfigurationError, match="base_url"):
        parse_configuration({"api_token": "x"})
    with pytest.raises(ConfigurationError, match="base_url"):
        parse_configuration({})


def test_dagster_cloud_without_token_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="api_token"):
        parse_configuration({"base_url": "https://acme.dagster.cloud/prod", "api_token": " "})


def test_unknown_keys_are_reported_and_token_is_not_in_repr():
    settings = parse_configuration(
        {"base_url": "https://acme.dagster.cloud/prod", "api_token": "secret-token-123", "colour": "x"}
    )
    assert settings.unknown_keys == ("colour",)
    assert "secret-token-123" not in repr(settings)


@pytest.mark.parametrize(
    ("base_url", "deployment"),
    [
        ("http://127.0.0.1:3000", "127.0.0.1:3000/graphql"),
        ("http://127.0.0.1:3000/graphql/", "127.0.0.1:3000/graphql"),
        ("https://ACME.dagster.cloud/prod", "acme.dagster.cloud/prod/graphql"),
    ],
)
def test_the_deployment_identity_is_host_port_and_path(base_url, deployment):
    settings = parse_configuration({"base_url": base_url, "api_token": "t0ken-1234"})
    assert settings.deployment == deployment
    assert "t0ken" not in settings.deployment


def test_the_deployment_identity_tells_two_deployments_apart():
    prod = parse_configuration({"base_url": "https://acme.dagster.cloud/prod", "api_token": "x"})
    staging = parse_configuration({"base_url": "https://acme.dagster.cloud/staging", "api_token": "x"})
    assert prod.deployment != staging.deployment


@pytest.mark.parametrize("key", ["max_concurrency", "requests_per_second", "lookback_seconds", "request_timeout_seconds"])
def test_every_tuning_key_is_range_checked(key):
    with pytest.raises(ConfigurationError, match=key):
        parse_configuration({"base_url": "http://localhost:3000", key: "-1"})


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://acme.dagster.cloud/prod", "https://acme.dagster.cloud/prod/graphql"),
        ("https://acme.dagster.cloud/prod/", "https://acme.dagster.cloud/prod/graphql"),
        ("https://acme.dagster.cloud/prod/graphql", "https://acme.dagster.cloud/prod/graphql"),
        ("https://ACME.dagster.cloud/staging/graphql/", "https://ACME.dagster.cloud/staging/graphql"),
        # EU region organizations (docs.dagster.io/migration/dagster-plus-us-to-eu)
        ("https://acme.eu.dagster.cloud/prod", "https://acme.eu.dagster.cloud/prod/graphql"),
        ("https://acme.dagster.plus/prod", "https://acme.dagster.plus/prod/graphql"),
        # a page of the UI copied from the browser: its deployment's API
        ("https://acme.dagster.cloud/prod/runs/b1e2?tab=logs", "https://acme.dagster.cloud/prod/graphql"),
    ],
)
def test_dagster_plus_urls_as_users_have_them(base_url, expected):
    settings = parse_configuration({"base_url": base_url, "api_token": "user:abc123"})
    assert settings.graphql_url == expected


@pytest.mark.parametrize(
    "base_url",
    [
        "https://acme.dagster.cloud",
        "https://acme.dagster.cloud/",
        "https://acme.dagster.cloud/graphql",
        "https://acme.eu.dagster.cloud/",
    ],
)
def test_a_dagster_plus_url_without_a_deployment_says_to_add_it(base_url):
    with pytest.raises(ConfigurationError) as raised:
        parse_configuration({"base_url": base_url, "api_token": "user:abc123"})
    message = str(raised.value)
    assert "names the Dagster+ organization 'acme' but no deployment: add the deployment's name" in message
    host = base_url.split("/")[2]
    assert f"e.g. https://{host}/prod" in message


@pytest.mark.parametrize(
    ("base_url", "suggestion"),
    [
        ("https://dagster.cloud", "https://ORGANIZATION.dagster.cloud/DEPLOYMENT"),
        ("https://dagster.cloud/acme/prod", "https://acme.dagster.cloud/prod"),
        ("https://eu.dagster.cloud/acme", "https://acme.eu.dagster.cloud/DEPLOYMENT"),
    ],
)
def test_dagster_plus_own_address_is_refused_with_the_organization_url_to_use(base_url, suggestion):
    with pytest.raises(ConfigurationError, match="is Dagster\\+'s own address, not your organization's") as raised:
        parse_configuration({"base_url": base_url, "api_token": "user:abc123"})
    assert f"use {suggestion} " in str(raised.value)


def test_dagster_plus_over_plain_http_is_refused():
    with pytest.raises(ConfigurationError, match="Dagster\\+ is served over https://"):
        parse_configuration({"base_url": "http://acme.dagster.cloud/prod", "api_token": "user:abc123"})


@pytest.mark.parametrize("base_url", ["https://acme.eu.dagster.cloud/prod", "https://acme.dagster.plus/prod"])
def test_every_dagster_plus_domain_needs_a_token(base_url):
    with pytest.raises(ConfigurationError, match="needs an 'api_token'"):
        parse_configuration({"base_url": base_url, "api_token": ""})


@pytest.mark.parametrize(
    "base_url", ["https://dagster.cloud.example.com/prod", "https://notdagster.cloud/x", "http://mydagster.plus.internal:3000"]
)
def test_hosts_that_only_look_like_dagster_plus_are_self_hosted(base_url):
    settings = parse_configuration({"base_url": base_url, "api_token": ""})
    assert settings.graphql_url.endswith("/graphql") and settings.api_token == ""
