"""HttpCheck redirects: secret headers never follow a redirect to another origin."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from loopback_http import HttpServer

from toolkit import IntegrationRegistry, IntegrationRunner
from toolkit.integrations import HttpCheck

ENV = {"SVC_TOKEN": "tok-sekrit-1"}


@pytest.fixture
def other_server() -> Iterator[HttpServer]:
    server = HttpServer()
    try:
        yield server
    finally:
        server.close()


def test_a_redirect_to_another_origin_sends_no_secret_header(
    http_server: HttpServer, other_server: HttpServer
) -> None:
    arrived = _arrived(http_server, f"{other_server.url}/echo-headers")
    assert other_server.hits["/echo-headers"] == 4  # each check reached the other origin
    assert arrived == {"x-trace"}  # only the header not declared secret went on


def test_a_redirect_within_the_origin_keeps_the_secret_headers(http_server: HttpServer) -> None:
    arrived = _arrived(http_server, "/echo-headers")
    assert arrived == {"x-api-key", "x-tenant", "authorization", "x-trace"}


def _arrived(first: HttpServer, target: str) -> set[str]:
    """Which of the check's headers reached the end of a redirect from ``first`` to ``target``."""
    seen: set[str] = set()
    for key in ("x-api-key", "x-tenant", "authorization", "x-trace"):
        check = HttpCheck(
            f"hop-{key}", f"{first.url}/redirect-to?to={quote(target, safe='')}",
            headers={"X-Api-Key": "key-sekrit-3", "X-Tenant": "t-sekrit-4",
                     "X-Trace": "trace-5"},
            secret_headers=["x-tenant"], token_env="SVC_TOKEN", follow_redirects=True,
            json_key=key, env=ENV,
        )  # fmt: skip
        registry = IntegrationRegistry()
        registry.register(check)
        with IntegrationRunner(registry, timeout=5) as runner:
            section = runner.run_all_sync().sections[0]
        if section.success:
            seen.add(key)
        else:
            assert f"json_key '{key}'" in str(section.error_message)
    return seen
