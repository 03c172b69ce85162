"""SharedClient: the ``httpx.AsyncClient`` that HTTP checks share, one per event loop.

An httpx client belongs to the event loop it first ran on, so the holder keeps one
client per loop (and per TLS verification setting). A runner's ``close()`` /
``aclose()`` closes the clients of its checks; the next call opens a fresh one.

The client has no connection limit: the runner already runs at most one call per
check, and a shared limit would let slow checks hold connections that healthy
ones wait for, which is exactly the coupling breakers exist to prevent. Its
transport spreads requests over several connection pools (``PooledTransport``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import weakref
from typing import Any

import httpx

from toolkit._checks.transport import PooledTransport
from toolkit._engine.context import current_runner

logger = logging.getLogger("toolkit")

Verify = bool | str
"""True (system CAs), False (no verification) or the path of a CA bundle file."""

LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=100, keepalive_expiry=5.0)


class SharedClient:
    """One ``httpx.AsyncClient`` per runner, event loop and TLS setting, for every check
    holding this.

    The runner is the one whose call is running: closing one runner closes its own
    clients and never a request of another runner whose checks share this holder.
    """

    def __init__(self, **client_options: Any) -> None:
        self._options: dict[str, Any] = {"limits": LIMITS, "timeout": None, **client_options}
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[int, Verify], httpx.AsyncClient]
        ] = weakref.WeakKeyDictionary()

    def prepare(self, verify: Verify = True) -> None:
        """Do the slow, blocking part of opening a client now (CA loading, httpcore import).

        Done while checks are built, so the first run's calls do not wait on it; the
        client itself still opens on the loop that first uses it.
        """
        if verify is not False:
            with contextlib.suppress(OSError, ssl.SSLError):
                ssl_context(verify)
        import httpcore  # noqa: F401  (httpx imports it on the first transport)

    def get(self, verify: Verify = True) -> httpx.AsyncClient:
        """The running loop's client for ``verify``, opened on first use."""
        loop = asyncio.get_running_loop()
        clients = self._clients.setdefault(loop, {})
        key = (id(current_runner.get()), verify)
        client = clients.get(key)
        if client is None or client.is_closed:
            context = ssl_context(verify)
            transport = PooledTransport(verify=context, limits=self._options["limits"])
            client = httpx.AsyncClient(verify=context, transport=transport, **self._options)
            clients[key] = client
        return client

    @property
    def open_clients(self) -> int:
        """How many clients are open, over all loops."""
        return sum(not c.is_closed for clients in self._clients.values() for c in clients.values())

    async def aclose(self) -> None:
        """Close the running loop's clients of the current runner (all of them outside one);
        forget those of loops that are already closed."""
        loop = asyncio.get_running_loop()
        for other in [lp for lp in self._clients if lp is not loop and lp.is_closed()]:
            del self._clients[other]
        clients = self._clients.get(loop, {})
        runner = current_runner.get()
        mine = [k for k in clients if runner is None or k[0] == id(runner)]
        for client in [clients.pop(k) for k in mine]:
            try:
                await client.aclose()
            except Exception:
                logger.exception("closing an HTTP client failed; ignored")

    def __repr__(self) -> str:
        return f"<SharedClient {self.open_clients} open>"


@functools.lru_cache(maxsize=16)
def ssl_context(verify: Verify) -> ssl.SSLContext:
    """The TLS context for ``verify``, built once per process (loading CAs takes milliseconds)."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify)


DEFAULT_CLIENT = SharedClient()
"""The holder used by checks not given one of their own."""
