"""TcpCheck: open a TCP connection, time it, close it."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import time
from collections.abc import Iterable, Mapping

from toolkit._checks import options as opt
from toolkit._checks.settings import EnvSettings, FromEnv, references
from toolkit._engine.errors import CheckConnectError, CheckTimeoutError, ConfigError
from toolkit._engine.redact import redact_text
from toolkit._engine.results import IntegrationResult

logger = logging.getLogger("toolkit")


class TcpCheck(FromEnv):
    """An integration that connects to ``host:port`` and reports the connect time.

    ``host`` and ``port`` may refer to environment variables as ``${NAME}``; the check
    is configured when they are set. ``timeout`` is the check's own connect timeout;
    the runner's policy timeout bounds the call either way.
    """

    def __init__(
        self,
        name: str,
        host: str,
        port: int | str,
        *,
        timeout: float | None = None,
        display_name: str | None = None,
        secret_env: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = opt.name(name)
        self.display_name = display_name or name
        self.host = opt.host(host)
        self.port = opt.port(port)
        self.timeout = None if timeout is None else opt.seconds(timeout, "timeout")
        needed = [*references(self.host), *references(str(self.port))]
        literal = not references(self.host) or not references(str(self.port))
        self.settings = EnvSettings(
            needed,
            secret=opt.names(secret_env, "secret_env", secret=True),
            literal=literal,
            env=env,
        )

    def target(self) -> tuple[str, int]:
        """Host and port as they are now (variables expanded); ConfigError for a bad one.

        A host with whitespace or control characters (a variable read with its newline)
        is refused here, before anything asks a resolver about it.
        """
        host = self.settings.expand(self.host)
        if opt.unusable_host(host):
            raise ConfigError(
                f"host of check {self.name!r} from the environment is empty or has whitespace "
                f"or control characters ({len(host)} characters); not resolved"
            )
        port = opt.port(self.settings.expand(str(self.port)))
        return host, int(port)

    async def fetch(self) -> IntegrationResult:
        """Connect, measure the connect time, close."""
        host, port = self.target()
        where = redact_text(f"{host}:{port}", self.secrets())
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                _, writer = await asyncio.open_connection(host, port)
        except TimeoutError as exc:
            limit = f" after {self.timeout:g}s" if self.timeout is not None else ""
            cause = f" ({_reason(exc)})" if exc.errno is not None else ""
            raise CheckTimeoutError(f"connect timeout{limit} to {where}{cause}") from exc
        except socket.gaierror as exc:
            raise CheckConnectError(f"cannot resolve host of {where}: {exc.strerror}") from exc
        except OSError as exc:
            raise CheckConnectError(f"cannot connect to {where}: {_reason(exc)}") from exc
        connect_ms = (time.perf_counter() - started) * 1000.0
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        logger.debug("tcp check %r: %s connected in %.1f ms", self.name, where, connect_ms)
        shown_host = redact_text(host, self.secrets())
        data = {"host": shown_host, "port": port, "connect_ms": round(connect_ms, 3)}
        return IntegrationResult(self.name, True, data)

    def __repr__(self) -> str:
        return f"TcpCheck({self.name!r}, {self.host!r}, {self.port!r})"


def _reason(exc: OSError) -> str:
    refused = isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower()
    if exc.errno == errno.ECONNREFUSED or refused:
        return "connection refused"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[0].lower() + text[1:] if text else type(exc).__name__
