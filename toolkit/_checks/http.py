"""HttpCheck: one HTTP request per call, judged by its status and optionally a JSON value.

Data on success: ``status``, ``elapsed_ms``, ``size`` (bytes read), ``truncated`` and,
with ``json_key``, the ``value`` found there (secrets masked: an endpoint may echo a
token). The body is read up to ``max_body_bytes``
and no further (a 50 MB answer costs 1 MiB), and a cut body says so in ``note``.
Each kind of failure raises its own ``CheckError`` with a message that names the
request (URL credentials masked) and what was expected. httpx logs every request's
URL at INFO: its loggers mask what each check declares secret (``LOG_REDACTOR``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from toolkit._checks import options as opt
from toolkit._checks.client import DEFAULT_CLIENT, SharedClient, Verify
from toolkit._checks.settings import EnvSettings, FromEnv, check_name, references
from toolkit._engine.errors import (
    CheckConnectError,
    CheckError,
    CheckTimeoutError,
    CheckTlsError,
    ConfigError,
    HttpProtocolError,
    HttpStatusError,
    InvalidJsonError,
    JsonKeyError,
)
from toolkit._engine.redact import (
    LOG_REDACTOR,
    SECRET_HEADERS,
    guard_loggers,
    is_secret_header,
    redact_data,
    redact_text,
    redact_url,
)
from toolkit._engine.results import IntegrationResult

logger = logging.getLogger("toolkit")

DEFAULT_SECRET_HEADERS: tuple[str, ...] = tuple(sorted(SECRET_HEADERS))
HTTP_LOGGERS = (
    "httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
    "httpcore.socks",
)  # fmt: skip
"""httpx and httpcore log request URLs and response headers: their records are masked."""
guard_loggers(*HTTP_LOGGERS)
ACCEPT_ENCODING = "gzip, deflate"
"""The encodings asked for unless a check sets its own ``Accept-Encoding``: those decoded here."""


class HttpCheck(FromEnv):
    """An integration that requests ``url`` and checks the answer.

    ``url`` and header values may refer to environment variables as ``${NAME}``;
    ``token_env`` names a variable sent as ``Authorization: Bearer <value>``. The check
    is configured when all of them are set. ``secret_headers`` adds to the headers whose
    values are always masked (Authorization, Cookie, X-Api-Key, ...). A variable's value
    is masked wherever it appears when it goes into a secret header, when its name looks
    secret (``*_TOKEN``, ``*_KEY``, ``*_PASSWORD``...), or when ``secret_env`` names it.
    ``timeout`` is httpx's own per-request timeout; the runner's policy timeout bounds
    the whole call either way.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        expect_status: int | range | Iterable[int] | str = range(200, 400),
        json_key: str | None = None,
        timeout: float | None = None,
        secret_headers: Iterable[str] = DEFAULT_SECRET_HEADERS,
        display_name: str | None = None,
        token_env: str | None = None,
        token_scheme: str = "Bearer",
        secret_env: Iterable[str] = (),
        follow_redirects: bool = False,
        max_body_bytes: int = opt.DEFAULT_MAX_BODY_BYTES,
        verify: Verify = True,
        env: Mapping[str, str] | None = None,
        client: SharedClient | httpx.AsyncClient | None = None,
    ) -> None:
        self.name = opt.name(name)
        self.display_name = display_name or name
        self.url = opt.url(url)
        self.method = opt.method(method)
        self.headers = opt.headers(headers)
        self.expect_status = opt.statuses(expect_status)
        self.json_key = opt.json_key(json_key)
        self.timeout = None if timeout is None else opt.seconds(timeout, "timeout")
        self.secret_headers = frozenset(
            h.lower() for h in opt.names(secret_headers, "secret_headers", secret=True)
        )
        self.token_env = None if token_env is None else check_name(token_env, "token_env")
        self.token_scheme = token_scheme
        self.follow_redirects = bool(follow_redirects)
        self.max_body_bytes = opt.byte_count(max_body_bytes, "max_body_bytes")
        if not isinstance(verify, bool | str):
            raise ConfigError(f"verify must be True, False or a CA bundle path, got {verify!r}")
        self.verify = verify
        self._client = DEFAULT_CLIENT if client is None else client
        if isinstance(self._client, SharedClient):
            # Pay TLS set-up here, not inside the first run's timed, concurrent calls.
            self._client.prepare(verify)
        header_refs = [r for value in self.headers.values() for r in references(value)]
        needed = [*references(self.url), *header_refs]
        secret = [*opt.names(secret_env, "secret_env", secret=True)]
        for header, value in self.headers.items():
            if is_secret_header(header, self.secret_headers):
                secret += references(value)
        if self.token_env:
            needed.append(self.token_env)
            secret.append(self.token_env)
        literal = not self.url.startswith("${")
        self.settings = EnvSettings(needed, secret=secret, literal=literal, env=env)

    # ----------------------------------------------------------- contract
    def secrets(self) -> list[str]:
        """Every value never to be shown: secret variables, secret headers, URL credentials."""
        values = self.settings.secret_values()
        expanded = self._request_headers()
        for header, value in expanded.items():
            if is_secret_header(header, self.secret_headers):
                values.append(value)
                scheme, _, credential = value.partition(" ")
                if credential and scheme.isalpha():
                    values.append(credential)
        try:
            password = urlsplit(self._target_url()).password
        except ValueError:
            password = None
        if password:
            values.append(password)
        return values

    async def fetch(self) -> IntegrationResult:
        """Send the request, read at most ``max_body_bytes`` and judge the answer."""
        url, secrets = self._target_url(), self.secrets()
        first = request = f"{self.method} {redact_url(url, secrets)}"
        _check_host(url, self.name)
        LOG_REDACTOR.declare(self, secrets)
        try:
            client = (
                self._client.get(self.verify)
                if isinstance(self._client, SharedClient)
                else self._client
            )
        except (OSError, ssl.SSLError) as exc:
            raise CheckTlsError(
                f"TLS set-up failed: cannot load the CA bundle {self.verify!r}"
                f" ({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}) ({request})"
            ) from None
        headers = self._sendable_headers()
        started = time.perf_counter()
        try:
            outgoing = client.build_request(
                self.method,
                url,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if self.timeout is None else self.timeout,
            )
            for hops in range(client.max_redirects + 1):
                response = await client.send(outgoing, stream=True, follow_redirects=False)
                try:
                    following = response.next_request if self.follow_redirects else None
                    if following is not None:
                        self._drop_secret_headers(outgoing, following)
                    if following is None:
                        body, truncated = await self._read(response, request)
                        break
                finally:
                    await response.aclose()
                outgoing = following
                shown = redact_url(str(outgoing.url), secrets)
                request = f"{outgoing.method} {shown} (redirect {hops + 1} from {first})"
            else:
                raise HttpProtocolError(
                    f"too many redirects (more than {client.max_redirects}) from {first}; "
                    f"the last went to {shown}"
                )
        except httpx.HTTPError as exc:
            raise self._translate(exc, request) from None
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        status = response.status_code
        if status not in self.expect_status:
            reason = f" {response.reason_phrase}" if response.reason_phrase else ""
            raise HttpStatusError(
                f"HTTP {status}{reason} from {request}; expected {self.expect_status.label}", status
            )
        data: dict[str, Any] = {
            "status": status, "elapsed_ms": round(elapsed_ms, 3), "size": len(body),
            "truncated": truncated,
        }  # fmt: skip
        if truncated:
            data["note"] = f"body truncated at {self.max_body_bytes} bytes (max_body_bytes)"
        if self.json_key is not None:
            value = self._json_value(body, truncated, request)
            data["value"] = redact_data(value, secrets)
        logger.debug("http check %r: %s -> %d in %.1f ms", self.name, request, status, elapsed_ms)
        return IntegrationResult(self.name, True, data)

    async def _read(self, response: httpx.Response, request: str) -> tuple[bytes, bool]:
        """The body, decoded, up to the cap; an answer of the wrong status is not decoded."""
        if response.status_code not in self.expect_status:
            return await _read_capped(response, self.max_body_bytes, _Decoder("", request))
        encoding = response.headers.get("content-encoding", "")
        return await _read_capped(response, self.max_body_bytes, _Decoder(encoding, request))

    async def aclose(self) -> None:
        """Close the shared client of the running loop (a client passed in is the caller's)."""
        if isinstance(self._client, SharedClient):
            await self._client.aclose()

    # -------------------------------------------------------------- helpers
    def shown_url(self) -> str:
        """The URL as it may be shown: expanded, with credentials and secret values masked."""
        return redact_url(self._target_url(), self.settings.secret_values())

    def _target_url(self) -> str:
        return self.settings.expand(self.url)

    def _request_headers(self) -> dict[str, str]:
        expanded = {k: self.settings.expand(v).strip() for k, v in self.headers.items()}
        if self.token_env:
            token = self.settings.env.get(self.token_env, "").strip()
            expanded["Authorization"] = f"{self.token_scheme} {token}".strip()
        return expanded

    def _sendable_headers(self) -> dict[str, str]:
        """The headers to send; ConfigError naming only the header if a value has a line break."""
        headers = self._request_headers()
        for header, value in headers.items():
            if any(c in value for c in "\r\n\0"):
                raise ConfigError(
                    f"header {header!r} of check {self.name!r} has a line break or NUL "
                    "in its value; not sent"
                )
        if not any(header.lower() == "accept-encoding" for header in headers):
            headers["Accept-Encoding"] = ACCEPT_ENCODING
        return headers

    def _drop_secret_headers(self, sent: httpx.Request, following: httpx.Request) -> None:
        """On a redirect to another origin, send none of the headers declared secret.

        httpx drops only ``Authorization`` and ``Cookie``; an ``X-Api-Key`` (or any
        header in ``secret_headers``) would reach the other host. Same-origin redirects
        keep them; once dropped they stay dropped for the rest of the chain.
        """
        if _origin(sent.url) == _origin(following.url):
            return
        for header in list(following.headers):
            if is_secret_header(header, self.secret_headers):
                del following.headers[header]

    def _json_value(self, body: bytes, truncated: bool, request: str) -> Any:
        if truncated:
            raise InvalidJsonError(
                f"body from {request} is larger than {self.max_body_bytes} bytes "
                "(max_body_bytes); not parsed as JSON"
            )
        try:
            document = json.loads(body, parse_constant=_not_json)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidJsonError(f"body from {request} is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidJsonError(f"body from {request} is JSON nested too deeply") from None
        try:
            return opt.dig(document, self.json_key or "")
        except KeyError as exc:
            raise JsonKeyError(f"json_key {self.json_key!r}: {exc.args[0]} in {request}") from exc

    def _translate(self, exc: httpx.HTTPError, request: str) -> CheckError:
        """Our error for an httpx error: connect, TLS, timeout or protocol, secrets masked."""
        detail = redact_text(str(exc) or type(exc).__name__, self.secrets())
        if isinstance(exc, httpx.TimeoutException):
            kind = type(exc).__name__.replace("Timeout", " timeout").strip().lower()
            limit = f" after {self.timeout:g}s" if self.timeout is not None else ""
            return CheckTimeoutError(f"{kind}{limit} on {request}")
        if _is_tls(exc):
            return CheckTlsError(f"TLS failed: {detail} ({request})")
        if isinstance(exc, httpx.ConnectError):
            return CheckConnectError(f"cannot connect: {_connect_reason(exc, detail)} ({request})")
        if isinstance(exc, httpx.TooManyRedirects):
            return HttpProtocolError(f"too many redirects from {request}")
        return HttpProtocolError(f"{type(exc).__name__}: {detail} ({request})")

    def __repr__(self) -> str:
        return f"HttpCheck({self.name!r}, {self.method} {redact_url(self.url)!r})"


class _Decoder:
    """Decodes a body of one ``Content-Encoding`` (gzip or deflate), never past a given size."""

    def __init__(self, encoding: str, request: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self._request = request
        self._coding = codings[0] if len(codings) == 1 else ""
        self._problem = ""
        self._zlib: Any = None
        shown = encoding if len(encoding) <= 40 else encoding[:40] + "..."
        if len(codings) > 1:
            self._problem = (
                f"Content-Encoding {shown!r} from {request} stacks {len(codings)} encodings; "
                "only one of gzip or deflate is decoded"
            )
        elif self._coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self._coding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        elif self._coding:
            self._problem = (
                f"Content-Encoding {shown!r} from {request} is not supported (gzip or deflate is)"
            )
        self._started = False

    def decode(self, chunk: bytes, limit: int) -> bytes:
        """At most ``limit`` (>= 1) bytes decoded from ``chunk``; input past them is dropped."""
        if self._problem:
            raise HttpProtocolError(self._problem)
        if self._zlib is None:
            return chunk
        first, self._started = not self._started, True
        try:
            return bytes(self._zlib.decompress(chunk, limit))
        except zlib.error as exc:
            if first and self._coding == "deflate":
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(chunk, limit)
            raise HttpProtocolError(
                f"cannot decode the {self._coding} body from {self._request}: {exc}"
            ) from None

    def flush(self, limit: int) -> bytes:
        """What is left once the body has ended, at most ``limit`` bytes."""
        if self._zlib is None or self._zlib.unconsumed_tail:
            return b""
        try:
            return bytes(self._zlib.flush())[:limit]
        except zlib.error:
            return b""


async def _read_capped(response: httpx.Response, cap: int, decoder: _Decoder) -> tuple[bytes, bool]:
    """At most ``cap`` decoded bytes of the body, and whether more was left unread.

    The raw body is decoded chunk by chunk, each asked for no more than what the cap
    still allows: a small compressed body never expands past ``cap`` in memory.
    """
    if response.is_stream_consumed:
        # The transport answered with its body already read (httpx.MockTransport, a
        # Response built with content=): take it as httpx decoded it, capped all the same.
        content = response.content
        return content[:cap], len(content) > cap
    chunks: list[bytes] = []
    size = 0
    body = response.aiter_raw()
    try:
        async for raw in body:
            chunk = decoder.decode(raw, cap - size + 1) if raw else b""
            if size + len(chunk) > cap:
                chunks.append(chunk[: cap - size])
                await _stop_reading(response, body)
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
    except CheckError:
        await _stop_reading(response, body)
        raise
    tail = decoder.flush(cap - size + 1)
    if size + len(tail) > cap:
        return b"".join([*chunks, tail[: cap - size]]), True
    return b"".join([*chunks, tail]), False


async def _stop_reading(response: httpx.Response, body: AsyncIterator[bytes]) -> None:
    """Close the connection, then let the body's iterators end on that.

    Leaving them suspended would have them finalized later, perhaps with no event
    loop running (nest-asyncio installs no async-generator hooks), and httpcore's
    cleanup then fails there. What is still buffered is discarded, not kept.
    """
    await response.aclose()
    with contextlib.suppress(httpx.HTTPError, httpx.StreamError):
        async for _ in body:
            pass


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one filled in): what a redirect may not change."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, port


def _check_host(url: str, name: str) -> None:
    """Refuse a URL whose host (as expanded from the environment) no resolver should see."""
    if opt.unusable_host(opt.authority(url)):
        raise ConfigError(
            f"the URL of check {name!r} names a host that is empty or has whitespace or "
            "control characters (an environment variable read with its newline?); not sent"
        )


def _not_json(constant: str) -> Any:
    """Refuse ``NaN`` and ``Infinity``, which Python's parser accepts but JSON does not have."""
    raise ValueError(f"{constant} is not a JSON value")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the errors it was raised from, outermost first."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _is_tls(exc: BaseException) -> bool:
    """True when ``exc`` or an error it wraps comes from the TLS layer."""
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in _chain(exc)):
        return True
    text = str(exc)
    return "[SSL" in text or "CERTIFICATE_VERIFY_FAILED" in text


def _connect_reason(exc: BaseException, detail: str) -> str:
    """Why no connection was made, from the socket error underneath httpx's."""
    for cause in _chain(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"unknown host ({cause.strerror or cause})"
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            return cause.strerror[0].lower() + cause.strerror[1:]
    return detail
