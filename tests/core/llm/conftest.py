"""Fixtures of the API core: mock transports, a tiny real provider, the real embedded model."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from core.llm.client import LLMClient
from core.llm.ratelimit import forget_shared_limiters
from core.llm.retry import NO_RETRIES
from tests.core.llm.faulty_server import FaultyServer
from tests.core.llm.helpers import FakeProvider, provider


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "embedded: uses the real embedded model (llama.cpp + Gemma 3 270M)")


@pytest.fixture
def mock_client() -> Iterator[Callable[..., LLMClient]]:
    """mock_client(handler, **provider_changes): an LLMClient whose requests go to `handler`
    (no retries: the fault suite asks for them)."""
    http_clients: list[httpx.Client] = []

    def make(handler: Callable[[httpx.Request], httpx.Response], **changes: str) -> LLMClient:
        http_clients.append(httpx.Client(transport=httpx.MockTransport(handler)))
        return LLMClient(
            provider(**changes), http_client=http_clients[-1], connect_timeout=2, read_timeout=3,
            retry=NO_RETRIES,
        )

    yield make
    for http_client in http_clients:
        http_client.close()


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    fake = FakeProvider().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def embedded():
    from core.llm.local import embedded_server_once

    return embedded_server_once()


@pytest.fixture
def faulty() -> Iterator[FaultyServer]:
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_client() -> Iterator[object]:
    """The real Redis at 127.0.0.1:6379 (skipped when unreachable); keys under `redis_client.test_prefix`
    are removed afterwards."""
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379 ({err}); start it as RECIPES.md says")
    client.test_prefix = f"draftgate-test:{uuid.uuid4().hex}:"
    yield client
    for key in client.scan_iter(match=client.test_prefix + "*"):
        client.delete(key)
    client.close()


@pytest.fixture(autouse=True)
def fresh_shared_limiters() -> Iterator[None]:
    yield
    forget_shared_limiters()
