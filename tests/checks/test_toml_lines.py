"""TomlLines: the line of each table and key of a TOML text."""

from __future__ import annotations

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
