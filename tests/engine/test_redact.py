"""Credentials never leak: the masking rules, and known secrets fed through every output path."""

from __future__ import annotations

import html
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import matplotlib
import pytest
from loopback_http import HttpServer
from matplotlib import pyplot as plt
from matplotlib.text import Text

import toolkit
from toolkit import Dashboard, IntegrationResult, IntegrationRunner, frames, plots
from toolkit._engine.errors import ConfigFileError
from toolkit._engine.redact import (
    MASK,
    is_secret_key,
    redact_data,
    redact_headers,
    redact_text,
    redact_url,
    secrets_of,
)
from toolkit._engine.slot import describe_error
from toolkit.integrations import HttpCheck, integration

matplotlib.use("Agg")


class TestRules:
    @pytest.mark.parametrize(
        "key",
        ["token", "access_token", "api_key", "apikey", "X-Api-Key", "secret", "client_secret",
         "password", "passwd", "signature", "sig", "key", "auth", "session_id", "SVC_PASSWORD"],
    )  # fmt: skip
    def test_secret_keys(self, key: str) -> None:
        assert is_secret_key(key)

    @pytest.mark.parametrize("key", ["page", "status", "name", "keep-alive", "region", "q"])
    def test_ordinary_keys(self, key: str) -> None:
        assert not is_secret_key(key)

    def test_url_userinfo_and_secret_query_values_are_masked(self) -> None:
        url = "https://bob:hunter2@api.example.com/v1?api_key=abc123&page=2&signature=s1g"
        assert redact_url(url) == "https://***@api.example.com/v1?api_key=***&page=2&signature=***"

    def test_text_masks_urls_pairs_quoted_values_and_bearer_credentials(self) -> None:
        text = (
            "GET https://u:p4ss@h/x?token=t0k&q=1 failed; password=pw9 "
            "{'secret': 'xyz9'} Authorization: Bearer abc.def"
        )
        assert redact_text(text) == (
            "GET https://***@h/x?token=***&q=1 failed; password=*** "
            "{'secret': '***'} Authorization: Bearer ***"
        )

    def test_declared_secrets_are_masked_anywhere_also_url_encoded(self) -> None:
        secret = "s3cr3t/+value"
        text = f"got {secret} and {secret.replace('/', '%2F').replace('+', '%2B')}"
        assert redact_text(text, [secret]) == "got *** and ***"

    def test_a_secret_read_with_a_newline_is_masked_stripped_and_escaped(self) -> None:
        secret = "hkSEKRET444\n"
        text = f"sent hkSEKRET444; h11: Illegal header value {secret.encode()!r} or {secret!r}"
        assert redact_text(text, [secret]) == "sent ***; h11: Illegal header value b'***' or '***'"

    def test_short_declared_secrets_are_masked_where_they_stand_alone(self) -> None:
        assert redact_text("a bc about", ["a", "bc"]) == "*** *** about"
        assert redact_text("pw=bc&x=1 abc bcd", ["bc"]) == "pw=***&x=1 abc bcd"
        assert redact_text("user %C3%A9 sent", ["é"]) == "user *** sent"

    def test_secret_headers_are_masked_others_kept(self) -> None:
        headers = {"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "json", "X-Mine": "m"}
        assert redact_headers(headers, extra_secret=["x-mine"]) == {
            "Authorization": MASK, "X-Api-Key": MASK, "Accept": "json", "X-Mine": MASK,
        }  # fmt: skip

    def test_data_masks_secret_keys_and_secret_strings(self) -> None:
        data = {"token": "t", "nested": [{"note": "uses s3cr3t"}], "count": 3, "password": None}
        assert redact_data(data, ["s3cr3t"]) == {
            "token": MASK, "nested": [{"note": f"uses {MASK}"}], "count": 3, "password": None,
        }  # fmt: skip

    def test_describe_error_masks_declared_and_pattern_secrets(self) -> None:
        error = RuntimeError("login as root with pw-12345 at https://a:b@h/?key=k9")
        assert describe_error(error, ["pw-12345"]) == (
            "RuntimeError: login as root with *** at https://***@h/?key=***"
        )

    def test_secrets_of_reads_a_method_or_an_attribute(self) -> None:
        class Method:
            def secrets(self) -> list[str]:
                return ["from-method"]

        class Attribute:
            secrets = ("from-attribute",)

        assert secrets_of(Method()) == ["from-method"]
        assert secrets_of(Attribute()) == ["from-attribute"]
        assert secrets_of(object()) == []

    def test_secrets_of_logs_a_failing_method(self, caplog: pytest.LogCaptureFixture) -> None:
        class Broken:
            name = "broken"

            def secrets(self) -> list[str]:
                raise RuntimeError("no")

        assert secrets_of(Broken()) == []
        assert "listing the secrets of 'broken' failed" in caplog.text


# ------------------------------------------------------------------ every path

ENV = {
    "SVC_TOKEN": "TOKEN-sekrit-1111",
    "SVC_PASSWORD": "PASSWORD-sekrit-2222",
    "ACCOUNT_ID": "ACCT-sekrit-3333",
}
URL_PASSWORD = "URLPASS-sekrit-4444"
QUERY_VALUE = "QUERY-sekrit-5555"
HEADER_VALUE = "HEADER-sekrit-6666"
UNDECLARED = "UNDECLARED-sekrit-7777"
SECRETS = [*ENV.values(), URL_PASSWORD, QUERY_VALUE, HEADER_VALUE, UNDECLARED]

CONFIG = """\
[runner]
timeout = 2.0
fail_max = 1

[[http]]
name = "userinfo"
url = "http://bob:{url_password}@127.0.0.1:{port}/status/500"

[[http]]
name = "query"
url = "{url}/status/503?api_key={query_value}&page=1"

[[http]]
name = "echo-key"
url = "{url}/echo-headers"
headers = {{ X-Api-Key = "{header_value}" }}
token_env = "SVC_TOKEN"
json_key = "x-api-key"

[[http]]
name = "echo-token"
url = "{url}/echo-headers"
token_env = "SVC_TOKEN"
json_key = "authorization"

[[http]]
name = "account"
url = "http://127.0.0.1:{closed}/accounts/${{ACCOUNT_ID}}"
secret_env = ["ACCOUNT_ID"]
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def config_path(tmp_path: Path, http_server: HttpServer) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(
        CONFIG.format(
            url=http_server.url, port=http_server.port, closed=closed_port(),
            url_password=URL_PASSWORD, query_value=QUERY_VALUE, header_value=HEADER_VALUE,
        )
    )  # fmt: skip
    return path


@pytest.fixture
def runner(config_path: Path) -> Iterator[IntegrationRunner]:
    config = toolkit.load_config(config_path, env=ENV)

    @integration(name="login", requires=["SVC_PASSWORD"], env=ENV)
    async def login() -> None:
        raise PermissionError(f"login rejected for password {ENV['SVC_PASSWORD']}")

    class Legacy:
        """A hand-written integration that declares nothing and leaks a URL with credentials."""

        name = "legacy"

        def is_configured(self) -> bool:
            return True

        def validate_config(self) -> None:
            return None

        async def fetch(self) -> IntegrationResult:
            raise ConnectionError(f"https://svc:{UNDECLARED}@h.example/?token={UNDECLARED}")

    config.registry.register(login)
    config.registry.register(Legacy())
    runner = config.make_runner()
    yield runner
    runner.close()


def leaks(texts: list[str]) -> list[str]:
    """The known secrets that appear in any of ``texts`` (also HTML-escaped)."""
    joined = "\n".join(texts)
    joined += "\n" + html.unescape(joined)
    return [secret for secret in SECRETS if secret in joined]


def html_values(widget: widgets.Widget) -> list[str]:
    values = [widget.value] if isinstance(widget, widgets.HTML) else []
    for child in getattr(widget, "children", ()):
        values += html_values(child)
    return values


def test_no_secret_appears_in_any_output(
    runner: IntegrationRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        first = runner.run_all_sync()
        second = runner.run_all_sync()  # every failing breaker is open now (fail_max = 1)
    outputs: dict[str, list[str]] = {}
    sections = [*first.sections, *second.sections]
    outputs["results"] = [repr(s) for s in sections]
    assert {s.name for s in first.sections if s.success} == {"echo-key", "echo-token"}
    assert first.get_section("echo-key").data["value"] == MASK  # type: ignore[union-attr]
    outputs["errors"] = [s.error_message or "" for s in first.sections]
    assert all(outputs["errors"][i] for i, s in enumerate(first.sections) if not s.success)
    outputs["history"] = [repr(record) for record in runner.history]
    outputs["statuses"] = [repr(status) for status in runner.statuses()]
    tables = [frames.calls(runner), frames.breakers(runner), frames.latency(runner),
              frames.events(runner), frames.results(first)]  # fmt: skip
    outputs["frames"] = [t.to_string() for t in tables] + [
        t.to_json(date_format="iso") for t in tables
    ]
    outputs["styled frames"] = [frames.style(t).to_html() for t in tables]
    figures = [plots.timeline(runner).figure, plots.latency(runner).figure]
    outputs["plot labels"] = [t.get_text() for f in figures for t in f.findobj(Text)]
    plt.close("all")
    dashboard = Dashboard(runner)
    try:
        outputs["widget html"] = html_values(dashboard)
    finally:
        dashboard.close()
    outputs["log lines"] = [caplog.text] + [
        r.getMessage() + (r.exc_text or "") for r in caplog.records
    ]
    outputs["reprs"] = [repr(i) for i in runner.integrations.values()]
    found = {path: leaks(texts) for path, texts in outputs.items() if leaks(texts)}
    assert found == {}
    assert "http://***@127.0.0.1" in "".join(outputs["errors"])
    assert "api_key=***&page=1" in "".join(outputs["errors"])
    assert "/accounts/***" in "".join(outputs["errors"])
    assert "login rejected for password ***" in "".join(outputs["errors"])


@pytest.mark.parametrize("mode", [["--json"], []], ids=["json", "text"])
def test_no_secret_appears_in_cli_output(config_path: Path, mode: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "toolkit", "check", str(config_path), *mode],
        capture_output=True, text=True, timeout=60, env={**os.environ, **ENV},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "echo-key" in done.stdout and MASK in done.stdout
    assert leaks([done.stdout, done.stderr]) == []


def test_no_secret_appears_in_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f'[[http]]\nname = "a"\nurl = "ftp://bob:{URL_PASSWORD}@h/?token={QUERY_VALUE}"\n'
        f'method = "{HEADER_VALUE}"\n'
    )
    with pytest.raises(ConfigFileError) as info:
        toolkit.load_config(path)
    assert len(info.value.problems) == 2
    assert leaks([str(info.value)]) == [HEADER_VALUE]  # a method is not a secret setting


def test_a_check_declares_every_credential_it_sends() -> None:
    check = HttpCheck(
        "api", f"http://bob:{URL_PASSWORD}@127.0.0.1/?api_key={QUERY_VALUE}",
        headers={"X-Api-Key": HEADER_VALUE}, token_env="SVC_TOKEN", env=ENV,
    )  # fmt: skip
    declared = check.secrets()
    assert {URL_PASSWORD, HEADER_VALUE, ENV["SVC_TOKEN"]} <= set(declared)
    assert check.shown_url() == "http://***@127.0.0.1/?api_key=***"
