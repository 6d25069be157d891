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
