"""Declared secrets are masked in every spelling they can take, in time linear in the text."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback_http import HttpServer

from toolkit import IntegrationRegistry, IntegrationRunner, frames
from toolkit._engine.redact import MASK, redact_data, redact_text
from toolkit._engine.spelling import MIN_SECRET_LENGTH
from toolkit.integrations import HttpCheck

SECRET = "p@ss wörd!€😀/+'\\\"x"


def spellings(secret: str) -> dict[str, str]:
    """Every encoding under which a secret shows up in URLs, logs, JSON and reprs."""
    utf8 = secret.encode("utf-8")
    return {
        "raw": secret,
        "quote": quote(secret, safe=""),
        "quote lower hex": re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(secret, safe="")),
        "quote_plus": quote_plus(secret),
        "quote keeping !@": quote(secret, safe="!@"),
        "httpx query": str(httpx.URL("http://h/", params={"q": secret})).split("q=", 1)[1],
        "httpx path": httpx.URL(f"http://h/{quote(secret, safe='')}").raw_path.decode()[1:],
        "json": json.dumps(secret)[1:-1],
        "json raw unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
        "repr": repr(secret)[1:-1],
        "ascii": ascii(secret)[1:-1],
        "bytes repr": repr(utf8)[2:-1],
        "percent utf-8 bytes": "".join(f"%{b:02X}" for b in utf8),
    }


def test_every_spelling_of_a_secret_is_masked() -> None:
    for form, text in spellings(SECRET).items():
        assert redact_text(f"before {text} after", [SECRET]) == f"before {MASK} after", form


def test_the_httpx_log_line_and_error_text_of_a_url_with_a_secret_are_masked() -> None:
    url = httpx.URL("http://127.0.0.1:9/a", params={"key": "ab !@é", "q": "ab !@é"})
    line = f'HTTP Request: GET {url} "HTTP/1.1 200 OK"'
    assert "ab" not in redact_text(line, ["ab !@é"]).replace("about", "")


def test_a_secret_inside_json_data_is_masked_in_its_escaped_form() -> None:
    document = json.dumps({"echo": SECRET, "note": "fine"})
    assert (
        redact_data({"body": document}, [SECRET])["body"] == f'{{"echo": "{MASK}", "note": "fine"}}'
    )


_alphabet = st.characters(codec="utf-8", exclude_categories=["Cs"])


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(_alphabet, min_size=MIN_SECRET_LENGTH, max_size=24),
    prefix=st.text(st.sampled_from("xyz. -=&"), max_size=8),
)
def test_generated_secrets_never_survive_any_spelling(secret: str, prefix: str) -> None:
    for form, text in spellings(secret).items():
        masked = redact_text(f"{prefix}[{text}]", [secret])
        assert f"[{MASK}]" in masked, (form, text, masked)


HUGE_TEXT = """
import sys
from toolkit._engine.redact import redact_text
secrets = [f"secret-{i:02d}-{'x' * i}" for i in range(20)]
for text in ("a" * 2**20, "a." * 2**19, "k=" * 2**19, '"k": "' * 2**17):
    masked = redact_text(text + " secret-07-xxxxxxx token=abc", secrets)
    assert masked.endswith(" *** token=***"), masked[-40:]
print("ok")
"""


def test_a_mebibyte_without_separators_is_masked_not_left_hanging() -> None:
    # Masking used to take time quadratic in such a text (a 100 KB one two minutes): the
    # subprocess is a guard that turns a hang into a failure, generous by a factor of 100.
    done = subprocess.run(
        [sys.executable, "-c", HUGE_TEXT], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_secret_with_reserved_and_non_ascii_characters_never_shows_in_any_encoding(
    http_server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "ab !@é+/x"
    check = HttpCheck(
        "encoded", f"{http_server.url}/nowhere/${{SVC_SECRET}}?q=${{SVC_SECRET}}",
        env={"SVC_SECRET": secret},
    )  # fmt: skip
    registry = IntegrationRegistry()
    registry.register(check)
    with caplog.at_level(logging.DEBUG), IntegrationRunner(registry, timeout=5) as runner:
        result = runner.run_all_sync()
        calls = frames.calls(runner)
    error = str(result.sections[0].error_message)
    texts = [
        error,
        caplog.text,
        *(r.getMessage() for r in caplog.records),
        calls.to_string(),
        calls.to_json(date_format="iso"),
    ]
    assert "HTTP Request: GET" in caplog.text  # httpx's own line was there to leak
    assert "HTTP 404" in error and "/nowhere/***?q=***" in error
    for form, text in spellings(secret).items():
        if len(text) >= 4:
            assert not [t for t in texts if text in t], form
