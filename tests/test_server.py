"""server.connect: the first request says whether `base_url` is a Dagster GraphQL API."""

import socket

import pytest
from aioresponses import CallbackResult, aioresponses

from extractor.client import DagsterClient
from extractor.config import parse_configuration
from extractor.errors import AuthenticationError, EndpointError
from extractor.server import DEFAULT_NOT_FINISHED, PROBE_TRIES, connect
from tests.fake_dagster import ENDPOINT, FakeDagster, fast_retries, html_page, validation_error


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    fast_retries(monkeypatch)


def client_for(url: str) -> DagsterClient:
    return DagsterClient(parse_configuration({"base_url": url, "requests_per_second": "1000"}))


async def probe(fake: FakeDagster):
    with aioresponses() as mocked:
        fake.install(mocked)
        async with client_for(ENDPOINT) as client:
            return await connect(client, ENDPOINT)


def free_port() -> int:
    """A port nothing listens on: bound once by the OS, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_dagster_server_gives_its_version_and_unfinished_statuses():
    fake = FakeDagster()
    info = await probe(fake)
    assert info.version == "1.13.28"
    # Read from the server's RunStatus enum: SUSPENDED is new in 1.13 and not finished.
    assert set(info.not_finished_statuses) == {
        "QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED", "CANCELING"
    }  # fmt: skip
    assert fake.calls["ConnectorServerInfo"] == 1 and fake.calls["ConnectorServerVersion"] == 0


async def test_without_introspection_it_falls_back_to_the_version_alone():
    fake = FakeDagster(introspection=False)
    info = await probe(fake)
    assert info.version == "1.13.28"
    assert info.not_finished_statuses == DEFAULT_NOT_FINISHED
    assert fake.calls["ConnectorServerInfo"] == 1 and fake.calls["ConnectorServerVersion"] == 1


async def test_a_refused_connection_fails_within_the_probe_tries_naming_base_url():
    url = f"http://127.0.0.1:{free_port()}"
    async with client_for(url) as client:
        with pytest.raises(EndpointError, match="'base_url'") as raised:
            await connect(client, url)
        assert client.requests_sent == PROBE_TRIES
    assert "could not reach" in str(raised.value)


async def test_an_html_page_is_not_dagster():
    fake = FakeDagster()
    fake.overrides["ConnectorServerInfo"] = lambda variables: html_page("Sign in")
    with pytest.raises(EndpointError, match="HTML") as raised:
        await probe(fake)
    assert "'base_url'" in str(raised.value)
    assert fake.calls["ConnectorServerInfo"] == 3


async def test_a_graphql_server_that_is_not_dagster_is_refused():
    fake = FakeDagster()  # a GraphQL API whose schema has no `version`
    for operation in ("ConnectorServerInfo", "ConnectorServerVersion"):
        fake.overrides[operation] = lambda variables: validation_error(
            "Cannot query field 'version' on type 'Query'."
        )
    with pytest.raises(EndpointError, match="'base_url'.*not as Dagster does"):
        await probe(fake)


async def test_an_answer_without_a_version_string_is_refused():
    fake = FakeDagster()
    fake.overrides["ConnectorServerInfo"] = lambda variables: {"data": {"version": None, "runStatuses": None}}
    with pytest.raises(EndpointError, match="without a Dagster version"):
        await probe(fake)


async def test_refused_credentials_stay_an_authentication_error():
    fake = FakeDagster()
    fake.overrides["ConnectorServerInfo"] = lambda variables: CallbackResult(status=401, body="no")
    with pytest.raises(AuthenticationError, match="api_token"):
        await probe(fake)
    assert fake.calls["ConnectorServerInfo"] == 1


async def test_a_server_that_never_answers_fails_after_the_probe_budget(monkeypatch):
    """A port that accepts connections and never answers (not Dagster): each attempt is cut at
    the probe's own timeout, not the sync's 60 s one, and the budget ends the probe."""
    import asyncio

    monkeypatch.setattr("extractor.server.PROBE_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr("extractor.server.PROBE_SECONDS", 1.0)
    connections = []

    async def swallow(reader, writer):
        connections.append(writer)
        await reader.read()  # never answers

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with client_for(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(EndpointError, match=r"'base_url'.*no answer within 0.2s"):
                await connect(client, f"http://127.0.0.1:{port}")
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
    assert 1 <= len(connections) <= PROBE_TRIES
