"""Generated TOML configs: every one loads, or fails as one ``ConfigFileError`` with locations."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit import ConfigError, load_config
from toolkit._checks.config import _HTTP, _RUNNER, _TCP

FUZZ_EXAMPLES = int(os.environ.get("TOOLKIT_FUZZ_EXAMPLES", "150"))
"""Examples per run (150 keeps it to seconds; raise it to search harder)."""
KEYS = sorted({*_HTTP, *_TCP, *_RUNNER, "window", "port", "host", "url", "nonsense", "a b"})


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes, and DEL escaped too (TOML forbids it raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(key: str) -> str:
    bare = key and all((c.isalnum() and c.isascii()) or c in "-_" for c in key)
    return key if bare else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(document: dict[str, Any], inline: bool) -> str:
    """Top-level tables as ``[name]``, lists of tables as ``[[name]]`` or inline arrays."""
    lines: list[str] = []
    tables: list[str] = []
    for key, value in document.items():
        if isinstance(value, dict) and not inline:
            tables += [
                f"[{toml_key(key)}]",
                *(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()),
            ]
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
            and not inline
        ):
            for table in value:
                tables.append(f"[[{toml_key(key)}]]")
                tables += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join([*lines, *tables]) + "\n"


_chars = st.characters(exclude_categories=["Cs"])
texts = st.one_of(
    st.text(_chars, max_size=30),
    st.sampled_from(["http://127.0.0.1:1/x", "${UNSET}", "${", "http://${HOST}/", "127.0.0.1",
                     "a\nb", "2xx", "200-299", "GET", "x" * 300, "\x00", "${A}${"]),
)  # fmt: skip
scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    texts,
    st.datetimes(),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(_chars, max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)
tables = st.dictionaries(st.sampled_from(KEYS) | st.text(_chars, max_size=8), values, max_size=8)
documents = st.dictionaries(
    st.sampled_from(["runner", "http", "tcp", "other"]) | st.text(_chars, max_size=6),
    st.one_of(tables, st.lists(tables, min_size=1, max_size=3), values),
    max_size=4,
)


@example(document={"runner": [{"a b": [], "'''": {}}], "http": {}}, inline=False)
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, inline=st.booleans())
def test_any_generated_config_loads_or_fails_with_located_problems(
    document: dict[str, Any], inline: bool
) -> None:
    text = toml_document(document, inline)
    tomllib.loads(text)  # the generator writes valid TOML
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checks.toml"
        path.write_text(text, encoding="utf-8")
        try:
            config = load_config(path, env={})
        except ConfigError as exc:
            problems = getattr(exc, "problems", None)
            assert problems, f"{type(exc).__name__} without problems: {exc}"
            for problem in problems:
                line = str(problem)
                assert "\n" not in line and line.startswith(str(path))
                # a problem of one key or table names it and its line; only a problem
                # of the whole file (no checks at all) has neither
                assert (problem.line is not None) or problem.key == "", line
            return
        runner = config.make_runner()
        runner.close()
