"""HttpCheck against a real HTTP server on 127.0.0.1: data, each kind of failure, bounded reads."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from loopback_http import HttpServer

from toolkit import ConfigError, IntegrationRegistry, IntegrationRunner
from toolkit.integrations import (
    CheckConnectError,
    CheckError,
    CheckTimeoutError,
    CheckTlsError,
    HttpCheck,
    HttpProtocolError,
    HttpStatusError,
    InvalidJsonError,
    JsonKeyError,
    SharedClient,
)


@pytest.fixture
async def client() -> AsyncIterator[SharedClient]:
    """A client holder of this test's own, closed on the test's loop at teardown."""
    holder = SharedClient()
    yield holder
    await holder.aclose()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def failure_of(check: HttpCheck) -> CheckError:
    """The CheckError that ``check.fetch()`` raises (fails the test if it succeeds)."""
    with pytest.raises(CheckError) as info:
        await check.fetch()
    return info.value


class TestSuccess:
    async def test_ok_gives_status_elapsed_and_size(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        result = await HttpCheck("api", http_server.url_for("/ok"), client=client).fetch()
        assert result.success and result.name == "api"
        assert result.data["status"] == 200
        assert result.data["size"] == len(b'{"status": "ok", "value": 42}')
        assert result.data["elapsed_ms"] > 0
        assert result.data["truncated"] is False and "value" not in result.data

    async def test_json_key_value_is_in_data(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        check = HttpCheck("api", http_server.url_for("/ok"), json_key="value", client=client)
        assert (await check.fetch()).data["value"] == 42

    async def test_redirect_is_a_healthy_status_unless_followed(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        url = http_server.url_for("/redirect")
        plain = await HttpCheck("r", url, client=client).fetch()
        followed = await HttpCheck(
            "f", url, follow_redirects=True, json_key="value", client=client
        ).fetch()
        assert plain.data["status"] == 302
        assert followed.data["status"] == 200 and followed.data["value"] == 42
        assert http_server.hits["/ok"] == 1

    async def test_expect_status_accepts_a_listed_error_status(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        check = HttpCheck(
            "gone", http_server.url_for("/status/410"), expect_status=[410], client=client
        )
        assert (await check.fetch()).data["status"] == 410

    async def test_head_request_reads_no_body(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        result = await HttpCheck(
            "h", http_server.url_for("/ok"), method="HEAD", client=client
        ).fetch()
        assert result.data["status"] == 200 and result.data["size"] == 0


class TestFailures:
    async def test_wrong_status_names_status_request_and_expectation(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        url = http_server.url_for("/status/500")
        error = await failure_of(HttpCheck("api", url, client=client))
        assert isinstance(error, HttpStatusError) and error.status == 500
        assert str(error) == (f"HTTP 500 Internal Server Error from GET {url}; expected 200-399")

    async def test_connection_refused(self, client: SharedClient) -> None:
        url = f"http://127.0.0.1:{closed_port()}/ok"
        error = await failure_of(HttpCheck("api", url, client=client))
        assert isinstance(error, CheckConnectError)
        assert str(error) == f"cannot connect: connection refused (GET {url})"

    async def test_tls_error_is_its_own_kind(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        url = http_server.url.replace("http://", "https://") + "/ok"  # TLS to a plain-HTTP port
        error = await failure_of(HttpCheck("api", url, client=client))
        assert isinstance(error, CheckTlsError)
        assert str(error).startswith("TLS failed: ") and f"(GET {url})" in str(error)

    async def test_invalid_json(self, http_server: HttpServer, client: SharedClient) -> None:
        url = http_server.url_for("/invalid-json")
        error = await failure_of(HttpCheck("api", url, json_key="value", client=client))
        assert isinstance(error, InvalidJsonError)
        assert str(error).startswith(f"body from GET {url} is not valid JSON: Expecting value")

    async def test_missing_json_key_lists_the_keys_there(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        check = HttpCheck("api", http_server.url_for("/ok"), json_key="data.id", client=client)
        error = await failure_of(check)
        assert isinstance(error, JsonKeyError)
        assert "'data' not found at the top level (keys: status, value)" in str(error)

    async def test_own_timeout_is_a_check_timeout(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        url = http_server.url_for("/slow/1")
        error = await failure_of(HttpCheck("api", url, timeout=0.1, client=client))
        assert isinstance(error, CheckTimeoutError) and isinstance(error, TimeoutError)
        assert str(error) == f"read timeout after 0.1s on GET {url}"

    async def test_slow_beyond_runner_timeout_is_counted_as_timeout(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        registry = IntegrationRegistry()
        registry.register(HttpCheck("slow", http_server.url_for("/slow/1"), client=client))
        runner = IntegrationRunner(registry, timeout=0.1)
        result = await runner.run_one("slow")
        assert result.success is False and result.error == "timed out after 0.1s"
        assert runner.history[-1].outcome == "timeout"

    async def test_each_failure_kind_reads_differently(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        checks = [
            HttpCheck("status", http_server.url_for("/status/503"), client=client),
            HttpCheck("refused", f"http://127.0.0.1:{closed_port()}/", client=client),
            HttpCheck("tls", http_server.url.replace("http:", "https:"), client=client),
            HttpCheck("json", http_server.url_for("/invalid-json"), json_key="a", client=client),
            HttpCheck("slow", http_server.url_for("/slow/1"), timeout=0.1, client=client),
        ]
        kinds = {type(await failure_of(check)) for check in checks}
        assert kinds == {
            HttpStatusError, CheckConnectError, CheckTlsError, InvalidJsonError, CheckTimeoutError,
        }  # fmt: skip


class TestBoundedBody:
    async def test_huge_body_is_cut_at_the_cap_and_says_so(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        check = HttpCheck("big", http_server.url_for("/huge"), max_body_bytes=65536, client=client)
        result = await check.fetch()
        assert result.success and result.data["truncated"] is True
        assert result.data["size"] == 65536
        assert result.data["note"] == "body truncated at 65536 bytes (max_body_bytes)"

    async def test_huge_body_is_not_read_into_memory(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        check = HttpCheck("big", http_server.url_for("/huge"), client=client)  # 50 MiB body
        tracemalloc.start()
        try:
            result = await check.fetch()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.data["size"] == 1024 * 1024
        assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while reading a 50 MiB body"

    async def test_json_key_on_a_cut_body_is_refused_not_misparsed(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        url = http_server.url_for("/huge/5000")
        check = HttpCheck("big", url, json_key="a", max_body_bytes=1000, client=client)
        error = await failure_of(check)
        assert isinstance(error, InvalidJsonError)
        assert "larger than 1000 bytes (max_body_bytes); not parsed as JSON" in str(error)

    def test_a_cut_body_leaves_nothing_to_finalize_after_the_loop(self) -> None:
        # Under nest-asyncio (any notebook that used a *_sync method) loops install no
        # async-generator hooks: a body iterator left suspended would be finalized by
        # the garbage collector after its loop is gone, and httpcore's cleanup fails.
        script = textwrap.dedent(
            """
            import asyncio, gc, sys
            import nest_asyncio
            sys.path.insert(0, "tests")
            from loopback_http import HttpServer
            from toolkit.integrations import HttpCheck, SharedClient

            server, holder, kept = HttpServer(), SharedClient(), []
            check = HttpCheck("big", server.url_for("/huge"), client=holder)

            async def main():
                kept.append(await check.fetch())
                await holder.aclose()

            loop = asyncio.new_event_loop()
            nest_asyncio.apply(loop)
            loop.run_until_complete(main())
            loop.close()
            gc.collect()
            server.close()
            assert kept[0].data["truncated"] is True
            """
        )
        done = subprocess.run(
            [sys.executable, "-W", "error", "-c", script],
            capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2],
        )  # fmt: skip
        assert done.returncode == 0 and done.stderr == "", done.stderr


class TestConfiguration:
    def test_literal_url_is_configured(self) -> None:
        check = HttpCheck("api", "http://127.0.0.1:1/", env={})
        assert check.is_configured() and check.validate_config() is None

    def test_url_from_unset_variable_is_skipped_silently(self) -> None:
        check = HttpCheck("api", "${API_URL}/health", token_env="API_TOKEN", env={})
        assert not check.is_configured()
        assert check.validate_config() is None

    def test_url_set_but_token_variable_missing_warns(self) -> None:
        check = HttpCheck("api", "http://127.0.0.1:1/", token_env="API_TOKEN", env={})
        assert not check.is_configured()
        assert check.validate_config() == "environment variable API_TOKEN not set"

    def test_all_variables_set_is_configured(self) -> None:
        env = {"API_URL": "http://127.0.0.1:1", "API_TOKEN": "t0ken"}
        check = HttpCheck("api", "${API_URL}/health", token_env="API_TOKEN", env=env)
        assert check.is_configured() and check.validate_config() is None

    async def test_variables_are_sent_expanded(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        env = {"BASE": http_server.url, "TAG": "blue"}
        check = HttpCheck(
            "echo", "${BASE}/echo-headers", headers={"X-Tag": "${TAG}"}, json_key="x-tag",
            env=env, client=client,
        )  # fmt: skip
        assert (await check.fetch()).data["value"] == "blue"

    async def test_token_env_is_sent_as_bearer_and_masked_in_data(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        env = {"API_TOKEN": "t0ken-value"}
        check = HttpCheck(
            "echo", http_server.url_for("/echo-headers"), token_env="API_TOKEN",
            json_key="authorization", env=env, client=client,
        )  # fmt: skip
        assert (await check.fetch()).data["value"] == "***"  # sent (else: key missing), masked
        assert "t0ken-value" in check.secrets()

    async def test_a_header_value_read_with_a_newline_is_sent_stripped(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        env = {"API_KEY": "hkSEKRET444\n", "TAG": "blue\r\n"}
        check = HttpCheck(
            "echo", http_server.url_for("/echo-headers"), headers={"X-Api-Key": "${API_KEY}",
            "X-Tag": "${TAG}"}, json_key="x-tag", env=env, client=client,
        )  # fmt: skip
        assert (await check.fetch()).data["value"] == "blue"

    async def test_a_line_break_inside_a_header_value_is_refused_naming_only_the_header(
        self, http_server: HttpServer, client: SharedClient
    ) -> None:
        env = {"API_KEY": "hkSEKRET\n444"}
        check = HttpCheck(
            "echo", http_server.url_for("/ok"), headers={"X-Api-Key": "${API_KEY}"}, env=env,
            client=client,
        )  # fmt: skip
        with pytest.raises(ConfigError) as info:
            await check.fetch()
        assert str(info.value) == (
            "header 'X-Api-Key' of check 'echo' has a line break or NUL in its value; not sent"
        )
        assert info.value.__cause__ is None and http_server.hits["/ok"] == 0

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"url": "ftp://example.com"}, "url must start with http:// or https://"),
            ({"method": "FETCH"}, "method must be one of GET, HEAD, POST"),
            ({"expect_status": 700}, "expect_status 700 is not an HTTP status"),
            ({"expect_status": "2xx-3xx"}, "expect_status must be a status (200)"),
            ({"timeout": 0}, "timeout must be a finite number of seconds > 0, got 0"),
            ({"max_body_bytes": 0}, "max_body_bytes must be a whole number of bytes >= 1"),
            ({"json_key": "a..b"}, "json_key must be a dotted path"),
            ({"token_env": "MY TOKEN"}, "token_env must be an environment variable name"),
            ({"name": ""}, "name must be a non-empty string"),
        ],
    )
    def test_bad_arguments_are_refused_by_name(
        self, kwargs: dict[str, object], message: str
    ) -> None:
        arguments: dict[str, object] = {"name": "api", "url": "http://127.0.0.1:1/", **kwargs}
        with pytest.raises(
            ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
        ):
            HttpCheck(**arguments)  # type: ignore[arg-type]


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate: its URL and the cert file."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed: apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class TestTls:
    async def test_untrusted_certificate_is_a_tls_error(
        self, tls_server: tuple[str, Path], client: SharedClient
    ) -> None:
        url, _ = tls_server
        error = await failure_of(HttpCheck("api", url, client=client))
        assert isinstance(error, CheckTlsError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(error) and f"(GET {url})" in str(error)

    async def test_a_ca_bundle_makes_it_trusted(
        self, tls_server: tuple[str, Path], client: SharedClient
    ) -> None:
        url, cert = tls_server
        result = await HttpCheck("api", url, verify=str(cert), client=client).fetch()
        assert result.data["status"] == 200 and result.data["size"] == 2

    async def test_verification_can_be_turned_off(
        self, tls_server: tuple[str, Path], client: SharedClient
    ) -> None:
        url, _ = tls_server
        assert (await HttpCheck("api", url, verify=False, client=client).fetch()).success


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


def _send_canned(handler: BaseHTTPRequestHandler, body: bytes, **headers: str) -> None:
    handler.send_response(200)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


class _Encoded(BaseHTTPRequestHandler):
    """Compressed bodies and redirects with bodies, for the decoding and redirect tests."""

    protocol_version = "HTTP/1.1"
    ZEROS = _gzip(bytes(64 * 1024 * 1024))  # 64 MiB of zeros in about 64 KiB
    JSON = b'{"a": {"b": 7}}'

    def do_GET(self) -> None:
        if self.path == "/gzip-bomb":
            _send_canned(self, self.ZEROS, Content_Encoding="gzip")
        elif self.path == "/gzip-gzip":
            _send_canned(self, _gzip(self.ZEROS), Content_Encoding="gzip, gzip")
        elif self.path == "/gzip-json":
            _send_canned(self, _gzip(self.JSON), Content_Encoding="gzip")
        elif self.path == "/deflate-json":
            _send_canned(self, zlib.compress(self.JSON), Content_Encoding="deflate")
        elif self.path == "/nan-json":
            _send_canned(self, b'{"a": {"b": NaN}}')
        elif self.path == "/deep-json":
            _send_canned(self, b"[" * 100_000 + b"]" * 100_000)
        elif self.path == "/endless-redirect":
            self.send_response(302)
            self.send_header("Location", "/gzip-json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"%x\r\n%s\r\n" % (1 << 20, b"y" * (1 << 20))
            with contextlib.suppress(OSError):
                for _ in range(1000):
                    self.wfile.write(block)
        elif self.path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", f"/loop{len(self.path)}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def encoded_server() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving compressed bodies and redirects; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Encoded)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class TestEncodedBody:
    async def test_gzip_bomb_is_decoded_only_up_to_the_cap(
        self, encoded_server: str, client: SharedClient
    ) -> None:
        check = HttpCheck("bomb", f"{encoded_server}/gzip-bomb", client=client)
        tracemalloc.start()
        try:
            result = await check.fetch()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.data["size"] == 1024 * 1024 and result.data["truncated"] is True
        assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while decoding a 64 MiB gzip body"

    async def test_stacked_encodings_are_refused_not_decoded(
        self, encoded_server: str, client: SharedClient
    ) -> None:
        error = await failure_of(HttpCheck("bomb", f"{encoded_server}/gzip-gzip", client=client))
        assert isinstance(error, HttpProtocolError)
        assert "Content-Encoding 'gzip, gzip'" in str(error) and "/gzip-gzip" in str(error)

    @pytest.mark.parametrize("path", ["/gzip-json", "/deflate-json"])
    async def test_a_compressed_json_body_is_decoded(
        self, encoded_server: str, client: SharedClient, path: str
    ) -> None:
        check = HttpCheck("json", encoded_server + path, json_key="a.b", client=client)
        result = await check.fetch()
        assert result.data["value"] == 7 and result.data["size"] == len(_Encoded.JSON)

    async def test_a_followed_redirect_body_is_not_read(
        self, encoded_server: str, client: SharedClient
    ) -> None:
        url = f"{encoded_server}/endless-redirect"
        check = HttpCheck("r", url, follow_redirects=True, json_key="a.b", client=client)
        tracemalloc.start()
        try:
            result = await check.fetch()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.data["value"] == 7
        assert peak < 8 * 1024 * 1024, f"peak {peak} bytes following an endless redirect body"

    async def test_a_redirect_loop_names_where_it_ended(
        self, encoded_server: str, client: SharedClient
    ) -> None:
        error = await failure_of(
            HttpCheck("r", f"{encoded_server}/loop", follow_redirects=True, client=client)
        )
        assert isinstance(error, HttpProtocolError)
        assert f"too many redirects (more than 20) from GET {encoded_server}/loop;" in str(error)
        assert f"the last went to {encoded_server}/loop" in str(error)


class TestJsonBody:
    async def test_nan_in_a_body_is_invalid_json(
        self, encoded_server: str, client: SharedClient
    ) -> None:
        check = HttpCheck("nan", f"{encoded_server}/nan-json", json_key="a.b", client=client)
        error = await failure_of(check)
        assert isinstance(error, InvalidJsonError)
        assert "is not valid JSON: NaN is not a JSON value" in str(error)

    async def test_deeply_nested_json_is_invalid_json(
        self, encoded_server: str, client: SharedClient
    ) -> None:
        check = HttpCheck("deep", f"{encoded_server}/deep-json", json_key="a", client=client)
        error = await failure_of(check)
        assert isinstance(error, InvalidJsonError)
        assert str(error) == f"body from GET {encoded_server}/deep-json is JSON nested too deeply"


async def test_an_unreadable_ca_bundle_is_a_tls_error(tmp_path: Path) -> None:
    check = HttpCheck("a", "https://127.0.0.1:9/", verify=str(tmp_path / "missing.pem"))
    with pytest.raises(CheckTlsError, match="cannot load the CA bundle"):
        await check.fetch()
    await check.aclose()
