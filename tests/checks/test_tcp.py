"""TcpCheck against real sockets on 127.0.0.1: connect time, refused, timeout, settings."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from collections.abc import Iterator

import pytest

from toolkit import ConfigError
from toolkit.integrations import CheckConnectError, CheckTimeoutError, TcpCheck


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    """A socket listening on 127.0.0.1 (connections complete in the kernel's backlog)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full, so a new connect hangs (SYNs are dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port: int = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)  # let the handshakes of the fillers complete
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connect_reports_connect_time_and_closes(listening: socket.socket) -> None:
    port = listening.getsockname()[1]
    result = await TcpCheck("db", "127.0.0.1", port).fetch()
    assert result.success
    assert result.data["host"] == "127.0.0.1" and result.data["port"] == port
    assert result.data["connect_ms"] >= 0
    conn, _ = listening.accept()
    with conn:
        conn.settimeout(2)
        assert conn.recv(1) == b""  # the check closed its end


async def test_refused_connection_is_a_connect_error() -> None:
    port = closed_port()
    with pytest.raises(CheckConnectError) as info:
        await TcpCheck("db", "127.0.0.1", port).fetch()
    assert str(info.value) == f"cannot connect to 127.0.0.1:{port}: connection refused"


async def test_own_timeout_is_a_check_timeout(full_backlog: int) -> None:
    with pytest.raises(CheckTimeoutError) as info:
        await TcpCheck("db", "127.0.0.1", full_backlog, timeout=0.2).fetch()
    assert str(info.value) == f"connect timeout after 0.2s to 127.0.0.1:{full_backlog}"


async def test_host_and_port_from_environment(listening: socket.socket) -> None:
    port = listening.getsockname()[1]
    env = {"DB_HOST": "127.0.0.1", "DB_PORT": str(port)}
    check = TcpCheck("db", "${DB_HOST}", "${DB_PORT}", env=env)
    assert check.is_configured()
    assert (await check.fetch()).data["port"] == port


def test_unset_variables_skip_silently_and_partial_ones_warn() -> None:
    assert TcpCheck("db", "${DB_HOST}", "${DB_PORT}", env={}).validate_config() is None
    assert not TcpCheck("db", "${DB_HOST}", "${DB_PORT}", env={}).is_configured()
    partial = TcpCheck("db", "${DB_HOST}", "${DB_PORT}", env={"DB_HOST": "127.0.0.1"})
    assert not partial.is_configured()
    assert partial.validate_config() == "environment variable DB_PORT not set"


@pytest.mark.parametrize(
    ("host", "port", "message"),
    [
        ("127.0.0.1", 0, "port must be a number from 1 to 65535"),
        ("127.0.0.1", "http", "port must be a number from 1 to 65535"),
        ("", 5432, "host must be a host name or address"),
        ("db internal", 5432, "host must be a host name or address"),
    ],
)
def test_bad_target_is_refused_by_name(host: str, port: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TcpCheck("db", host, port)  # type: ignore[arg-type]


async def test_an_os_connect_timeout_without_own_timeout_is_a_check_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def timed_out(host: str, port: int) -> None:  # the kernel's ~2 min, not waited for
        raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")

    monkeypatch.setattr(asyncio, "open_connection", timed_out)
    with pytest.raises(CheckTimeoutError) as info:
        await TcpCheck("db", "127.0.0.1", 5432).fetch()
    assert str(info.value) == "connect timeout to 127.0.0.1:5432 (connection timed out)"
