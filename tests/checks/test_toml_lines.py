"""TomlLines: the line of each table and key of a TOML text."""

from __future__ import annotations

import tomllib

from toolkit._checks.toml_lines import TomlLines, decode_position

TEXT = '''\
top = 1
[runner]
timeout = 5

[[http]]
name = "a"
description = """
name = "not a key"
"""
url = "http://x"

[[http]]
name = "b"
[http.headers]
Accept = "json"

[[tcp]]
"port" = 1
'''


def test_tables_and_keys_have_their_lines() -> None:
    lines = TomlLines(TEXT)
    assert lines.top_key("top") == 1
    assert lines.table("runner") == 2 and lines.key("runner", 0, "timeout") == 3
    assert lines.table("http", 1) == 5 and lines.table("http", 2) == 12
    assert lines.key("http", 1, "url") == 10  # the multi-line string was skipped over
    assert lines.key("http", 2, "name") == 13
    assert lines.key("http", 2, "headers") == 14
    assert lines.key("tcp", 1, "port") == 18


def test_an_unknown_key_falls_back_to_its_table() -> None:
    assert TomlLines(TEXT).key("http", 2, "missing") == 12


def test_decode_position_reads_the_line_from_tomllib() -> None:
    assert decode_position("Invalid value (at line 4, column 9)") == (4, "Invalid value (column 9)")
    assert decode_position("something else") == (None, "something else")


INLINE = """\
runner = { timeout = 5, "grace" = 0.1 }
http = [
  { name = "a", url = "http://x/{not}[a table]", note = "it's, = {\\" }" },
  { name = "b", url = "http://y", headers = { Accept = "json", url = "inner" } },
]
tcp = [{ name = "c", host = "h", port = 1 }]  # a comment {
after = 1
"""


def test_checks_written_as_inline_tables_keep_their_lines() -> None:
    assert tomllib.loads(INLINE)["http"][0]["note"] == "it's, = {\" }"
    lines = TomlLines(INLINE)
    assert lines.table("runner") == 1
    assert lines.key("runner", 0, "timeout") == 1 and lines.key("runner", 0, "grace") == 1
    assert lines.table("http", 1) == 3 and lines.table("http", 2) == 4
    assert lines.key("http", 1, "note") == 3
    assert lines.key("http", 2, "name") == 4 and lines.key("http", 2, "headers") == 4
    assert lines.table("tcp", 1) == 6 and lines.key("tcp", 1, "port") == 6
    assert lines.top_key("after") == 7
    assert lines.key("http", 2, "missing") == 4


def test_quotes_in_a_key_or_a_string_start_no_multi_line_string() -> None:
    """Only a value's own triple quote runs on: one in a quoted key, in a one-line
    string, or a multi-line string inside an array is not mistaken for another."""
    text = "\n".join([
        "[[runner]]",
        "\"'''\" = {}",  # a key that is three single quotes
        'a = "\'\'\' inside a one-line string"',
        'b = ["""first',
        'c = "not a key"""]',
        "d = 1",
        'e."x=y" = """',  # an "=" inside a quoted part of a dotted key
        "[not.a.table]",
        '"""',
        "[http]",
        "",
    ])  # fmt: skip
    tomllib.loads(text)
    lines = TomlLines(text)
    assert lines.table("http") == 10
    assert lines.key("runner", 1, "d") == 6 and lines.key("runner", 1, "e") == 7
    assert lines.key("runner", 1, "c") == 1  # inside b's string: no key of its own
    assert lines.table("not.a.table") is None
