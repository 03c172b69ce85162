"""Shared fixtures: real servers on 127.0.0.1 for tests that need them.

- ``redis_server`` / ``make_redis_server``: a private ``redis-server`` per test, no
  persistence unless asked for, restartable on the same port and data directory.
- ``http_server``: a threaded stdlib HTTP server with the routes HTTP checks need.
- ``chromium_path``: Debian's Chromium for browser tests.

A test whose server binary is missing is skipped with the ``apt-get`` command that
installs it. ``.ci/run`` sets ``TOOLKIT_REQUIRE_REDIS=1`` and
``TOOLKIT_REQUIRE_BROWSER=1``, which turn those skips into failures. Tests using the
Redis or Chromium fixtures get the ``redis`` or ``browser`` marker automatically, so
``pytest -m "not redis"`` works without marking each test by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, NoReturn, Protocol

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

LOOPBACK = "127.0.0.1"
REDIS_MISSING = "redis-server not installed: apt-get install redis-server"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS: list[str] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Flags for a headless Chromium run as root on a machine with no outside network."""
HUGE_BODY_BYTES = 50 * 1024 * 1024


def skip_unless_required(env_var: str, reason: str) -> NoReturn:
    """Skip the test, or fail it when ``env_var`` is ``1`` (CI must not skip)."""
    if os.environ.get(env_var) == "1":
        pytest.fail(f"{reason} ({env_var}=1 requires it)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the server fixtures they use, so ``-m`` can select them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"redis_server", "make_redis_server", "redis_server_binary"}:
            item.add_marker(pytest.mark.redis)
        if "chromium_path" in names:
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- redis


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 with a fixed port and data directory.

    ``stop()`` shuts it down cleanly, ``kill()`` ends it without warning
    (SIGKILL, as a crash would) and ``start()`` brings it back on the same port and
    directory, so persisted data (``appendonly="yes"``) survives a restart.
    """

    host = LOOPBACK

    def __init__(self, binary: str, port: int, directory: Path, options: dict[str, str]) -> None:
        self.binary = binary
        self.port = port
        self.directory = directory
        self.options = options
        self.log_path = directory / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The command line that starts this server."""
        args = [self.binary, "--port", str(self.port), "--bind", self.host]
        args += ["--dir", str(self.directory), "--daemonize", "no"]
        for key, value in self.options.items():
            args += [f"--{key}", value]
        return args

    def start(self, timeout: float = 10.0) -> None:
        """Start the process (no-op if running) and wait until it answers PING."""
        if self.running:
            return
        self._close_log()
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT, cwd=self.directory
        )
        self._wait_ready(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down cleanly (SHUTDOWN, as SIGTERM would) and wait for the exit.

        The command acts at once, where SIGTERM waits for the next server tick (~0.1 s).
        """
        if self.running:
            client = self.client()
            try:
                client.shutdown()
            except redis.RedisError:
                pass  # closed connection once the server exits, or already unreachable
            finally:
                client.close()
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """End the server abruptly, as a crash would (SIGKILL)."""
        self._end(signal.SIGKILL, 10.0)

    def client(self, **kwargs: Any) -> redis.Redis:
        """A new client (bytes mode unless told) that never retries; the caller closes it."""
        options: dict[str, Any] = {
            "socket_timeout": 2.0,
            "socket_connect_timeout": 2.0,
            "retry": Retry(NoBackoff(), 0),
        }
        options.update(kwargs)
        return redis.Redis(host=self.host, port=self.port, **options)

    def log(self) -> str:
        """The server's log so far, for failure messages."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while True:
                if not self.running:
                    raise RuntimeError(f"redis-server exited on port {self.port}:\n{self.log()}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"redis-server on port {self.port} did not answer PING within "
                        f"{timeout} s:\n{self.log()}"
                    )
                time.sleep(0.02)
        finally:
            client.close()

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {self.url} {state}>"


class MakeRedisServer(Protocol):
    """Signature of the ``make_redis_server`` factory."""

    def __call__(self, **options: str) -> RedisServer: ...


@pytest.fixture
def redis_server_binary() -> str:
    """Path of ``redis-server``; skips (or fails under TOOLKIT_REQUIRE_REDIS=1) if absent."""
    binary = shutil.which("redis-server")
    if binary is None:
        skip_unless_required("TOOLKIT_REQUIRE_REDIS", REDIS_MISSING)
    return binary


@pytest.fixture
def make_redis_server(
    redis_server_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MakeRedisServer]:
    """Factory for started Redis servers; every one is stopped at teardown.

    Keyword arguments become ``--name value`` options (underscores turn into dashes)
    and override the defaults ``save=""`` and ``appendonly="no"``, e.g.
    ``make_redis_server(appendonly="yes", appendfsync="always")``.
    """
    servers: list[RedisServer] = []

    def make(**options: str) -> RedisServer:
        merged = {"save": "", "appendonly": "no"}
        merged.update({key.replace("_", "-"): value for key, value in options.items()})
        last_error: RuntimeError | None = None
        for _ in range(3):  # another process may take the free port before redis binds it
            server = RedisServer(
                redis_server_binary, free_port(), tmp_path_factory.mktemp("redis"), merged
            )
            servers.append(server)
            try:
                server.start()
            except RuntimeError as exc:
                last_error = exc
                continue
            return server
        raise RuntimeError(f"could not start redis-server: {last_error}")

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def redis_server(make_redis_server: MakeRedisServer) -> RedisServer:
    """A fresh Redis on 127.0.0.1 for this test alone, without persistence.

    One per test (it starts in about 20 ms), so a test may stop or kill it freely.
    """
    return make_redis_server()


# --------------------------------------------------------------------------- http


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that counts requests per path and drops client hang-ups."""

    daemon_threads = True
    request_queue_size = 1024  # the default listen backlog of 5 drops bursts of connects

    def __init__(self) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.hits_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-response; report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes for HTTP checks; see ``HttpServer`` for the list."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Serve a GET."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """Serve a HEAD (headers only)."""
        self._dispatch()

    def do_POST(self) -> None:
        """Serve a POST (the body is read and ignored)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.hits_lock:
            self.server.hits[path] += 1
        parts = path.strip("/").split("/")
        route, arg = parts[0], "/".join(parts[1:])
        if path == "/ok":
            self._send_json(HTTPStatus.OK, {"status": "ok", "value": 42})
        elif route == "status" and arg.isdigit() and 100 <= int(arg) <= 599:
            self._send_status(int(arg))
        elif route == "slow" and _is_number(arg):
            seconds = min(max(float(arg), 0.0), 60.0)
            time.sleep(seconds)
            self._send_json(HTTPStatus.OK, {"status": "ok", "slept": seconds})
        elif path == "/invalid-json":
            self._send(HTTPStatus.OK, b'{"status": "ok", "value": ', "application/json")
        elif path == "/redirect":
            self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": "/ok"})
        elif route == "huge" and (arg == "" or arg.isdigit()):
            self._send_huge(int(arg) if arg else HUGE_BODY_BYTES)
        elif path == "/echo-headers":
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            self._send_json(HTTPStatus.OK, headers)
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found", "path": path})

    def _send_status(self, code: int) -> None:
        if code < 200 or code in (204, 304):
            self._send(code, b"", None)
        else:
            self._send_json(code, {"status": code})

    def _send_json(self, code: int, payload: object) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json")

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if code >= 200 and code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_huge(self, size: int) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        chunk = b"x" * 65536
        remaining = size
        while remaining > 0:
            n = min(remaining, len(chunk))
            self.wfile.write(chunk[:n])
            remaining -= n


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class HttpServer:
    """A real HTTP/1.1 server on 127.0.0.1, served from a daemon thread.

    Routes (GET, HEAD and POST):

    - ``/ok``: 200, JSON ``{"status": "ok", "value": 42}``
    - ``/status/<code>``: that status; JSON ``{"status": code}`` when a body is allowed
    - ``/slow/<seconds>``: sleeps (at most 60 s), then 200 JSON
    - ``/invalid-json``: 200 with ``Content-Type: application/json`` and a truncated body
    - ``/redirect``: 302 to ``/ok``
    - ``/huge`` or ``/huge/<bytes>``: 200 streaming 50 MiB (or that many bytes) of
      ``application/octet-stream`` with a Content-Length
    - ``/echo-headers``: 200, the request headers as JSON (names lower-cased)
    - anything else: 404 JSON

    ``hits`` counts requests per path (query string dropped).
    """

    def __init__(self) -> None:
        self._server = _Server()
        self.host = LOOPBACK
        self.port: int = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long close() waits for the loop to notice
            name=f"http-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def hits(self) -> Counter[str]:
        """Requests received so far, per path."""
        with self._server.hits_lock:
            return Counter(self._server.hits)

    def url_for(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return f"{self.url}/{path.lstrip('/')}"

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __repr__(self) -> str:
        return f"<HttpServer {self.url}>"


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A fresh HTTP server on 127.0.0.1 for this test; see ``HttpServer`` for routes."""
    server = HttpServer()
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------- browser


@pytest.fixture
def chromium_path() -> str:
    """Debian's Chromium; skips (or fails under TOOLKIT_REQUIRE_BROWSER=1) if absent.

    Launch it with Playwright as ``chromium.launch(executable_path=chromium_path,
    args=CHROMIUM_ARGS)``; ``playwright install`` is never needed.
    """
    if not os.access(CHROMIUM, os.X_OK):
        skip_unless_required(
            "TOOLKIT_REQUIRE_BROWSER", f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        )
    return CHROMIUM


@pytest.fixture
def chromium_args() -> list[str]:
    """A copy of ``CHROMIUM_ARGS`` for ``chromium.launch(args=...)``."""
    return list(CHROMIUM_ARGS)
