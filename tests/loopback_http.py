"""A threaded stdlib HTTP server on 127.0.0.1 with the routes HTTP checks are tested on."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
HUGE_BODY_BYTES = 50 * 1024 * 1024


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
        elif path == "/redirect-to":  # ?to=<a URL or path>: a redirect anywhere
            target = parse_qs(urlsplit(self.path).query).get("to", ["/ok"])[0]
            self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": target})
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
    - ``/redirect-to?to=<url or path>``: 302 to that URL (another server: another origin)
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
