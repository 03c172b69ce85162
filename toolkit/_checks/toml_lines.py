"""Where things are in a TOML file: the line of each table and key, for error messages.

``tomllib`` returns plain data without positions, so the loader asks this index
instead. It reads the text line by line and knows the forms a config uses:
``[table]``, ``[[array]]``, ``[array.sub]`` and ``key = value`` lines (multi-line
strings and arrays are skipped over, not parsed).
"""

from __future__ import annotations

import re

_ARRAY = re.compile(r"^\s*\[\[\s*(?P<name>[A-Za-z0-9_\-]+)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*(?P<name>[A-Za-z0-9_\-.\" ]+?)\s*\]")
_KEY = re.compile(r"^\s*(?P<key>\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)(?:\.[^=]*)?\s*=")
_DECODE_POSITION = re.compile(r"\(at line (?P<line>\d+), column (?P<column>\d+)\)")

Place = tuple[str, int]
"""A table: ("runner", 0) or an array element such as ("http", 2) (1-based)."""


class TomlLines:
    """Line numbers (1-based) of tables and their keys in one TOML text."""

    def __init__(self, text: str) -> None:
        self._tables: dict[Place, int] = {}
        self._keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        place: Place = ("", 0)
        in_multiline: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline is not None:
                if in_multiline in line:
                    in_multiline = None
                continue
            if match := _ARRAY.match(line):
                name = match["name"]
                counts[name] = counts.get(name, 0) + 1
                place = (name, counts[name])
                self._tables.setdefault(place, number)
            elif match := _TABLE.match(line):
                dotted = match["name"].replace('"', "").replace(" ", "")
                root = dotted.split(".", 1)[0]
                if root in counts and "." in dotted:
                    place = (root, counts[root])  # [http.headers]: a part of the last [[http]]
                    self._keys.setdefault((root, counts[root], dotted.split(".")[1]), number)
                else:
                    place = (dotted, 0)
                    self._tables.setdefault(place, number)
            elif match := _KEY.match(line):
                key = match["key"].strip("\"'")
                self._keys.setdefault((place[0], place[1], key), number)
                for quote in ('"""', "'''"):
                    if line.count(quote) == 1:
                        in_multiline = quote

    def table(self, name: str, index: int = 0) -> int | None:
        """The line of ``[name]`` (index 0) or of the ``index``-th ``[[name]]``."""
        return self._tables.get((name, index))

    def key(self, name: str, index: int, key: str) -> int | None:
        """The line of ``key`` in that table, else the table's own line."""
        return self._keys.get((name, index, key)) or self.table(name, index)

    def top_key(self, key: str) -> int | None:
        """The line of a key outside any table (or of a table of that name)."""
        return self._keys.get(("", 0, key)) or self.table(key) or self.table(key, 1)


def decode_position(message: str) -> tuple[int | None, str]:
    """The line in a ``tomllib.TOMLDecodeError`` message, and the message without it."""
    match = _DECODE_POSITION.search(message)
    if match is None:
        return None, message
    text = (message[: match.start()] + message[match.end() :]).strip()
    return int(match["line"]), f"{text} (column {match['column']})"
