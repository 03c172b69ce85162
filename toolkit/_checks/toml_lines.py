"""Where things are in a TOML file: the line of each table and key, for error messages.

``tomllib`` returns plain data without positions, so the loader asks this index
instead. It reads the text line by line and knows the forms a config uses:
``[table]``, ``[[array]]``, ``[array.sub]`` and ``key = value`` lines (multi-line
strings are skipped over). A top-level value that is an array of inline tables
(``http = [{ name = "a", ... }]``) or one inline table (``runner = { ... }``) is read
character by character, so its tables and keys have their lines too.
"""

from __future__ import annotations

import re
import tomllib

_BASIC = r"\"(?:[^\"\\]|\\.)*\""
_NAME = r"(?:" + _BASIC + r"|'[^']*'|[A-Za-z0-9_\-. ])+?"
_ARRAY = re.compile(r"^\s*\[\[\s*(?P<name>" + _NAME + r")\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*(?P<name>" + _NAME + r")\s*\]")
_PART = r"(?:" + _BASIC + r"|'[^']*'|[A-Za-z0-9_\-]+)"
_DOTTED = r"(?:\s*\.\s*" + _PART + r")*\s*="  # the rest of a dotted key: quotes may hold "="
_KEY = re.compile(r"^\s*(?P<key>" + _PART + r")" + _DOTTED)
_INLINE_KEY = re.compile(r"(?P<key>" + _PART + r")" + _DOTTED)
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
        lines = [line.removesuffix("\r") for line in text.split("\n")]  # TOML's own line ends
        skip_to = 0
        for number, line in enumerate(lines, start=1):
            if number <= skip_to:
                continue  # inside a value already read (_inline, _value_end)
            if match := _ARRAY.match(line):
                name = _unquoted(match["name"])
                counts[name] = counts.get(name, 0) + 1
                place = (name, counts[name])
                self._tables.setdefault(place, number)
            elif match := _TABLE.match(line):
                dotted = _unquoted(match["name"])
                root = dotted.split(".", 1)[0]
                if root in counts and "." in dotted:
                    place = (root, counts[root])  # [http.headers]: a part of the last [[http]]
                    self._keys.setdefault((root, counts[root], dotted.split(".")[1]), number)
                else:
                    place = (dotted, 0)
                    self._tables.setdefault(place, number)
            elif match := _KEY.match(line):
                key = _unquoted(match["key"])
                self._keys.setdefault((place[0], place[1], key), number)
                value = line[match.end() :].lstrip()
                if place == ("", 0) and value[:1] in ("[", "{"):
                    skip_to = self._inline(key, lines, number - 1, len(line) - len(value))
                    continue
                # a multi-line string in the value (never a quote in the key) runs on
                skip_to = _value_end(lines, number - 1, len(line) - len(value)) + 1

    def _inline(self, name: str, lines: list[str], row: int, col: int) -> int:
        """Read the inline value of top-level key ``name`` from ``lines[row][col]``; its last line.

        Each ``{`` directly inside the outer array starts table ``index`` (1-based) of
        ``name``; a value that is one inline table is table 0. Keys are found right after
        a table's ``{`` or a ``,`` at its own depth. Strings are skipped, escapes honoured.
        """
        depth: list[str] = []  # the open brackets
        index = 0
        expect_key = False
        while row < len(lines):
            line = lines[row]
            while col < len(line):
                char = line[col]
                if expect_key and not char.isspace():
                    expect_key = False
                    key = _INLINE_KEY.match(line, col)
                    if key is not None and depth[-1:] == ["{"] and len(depth) <= 2:
                        place = (name, index, _unquoted(key["key"]))
                        self._keys.setdefault(place, row + 1)
                if char in "\"'":
                    row, col = _skip_string(lines, row, col)
                    line = lines[row] if row < len(lines) else ""
                    expect_key = False
                    continue
                if char == "#":
                    break
                if char in "[{":
                    depth.append(char)
                    if char == "{" and depth in (["[", "{"], ["{"]):
                        index += len(depth) - 1  # the n-th table of an array, or table 0
                        self._tables.setdefault((name, index), row + 1)
                    expect_key = char == "{" and len(depth) <= 2
                elif char in "]}":
                    if depth:
                        depth.pop()
                    if not depth:
                        return row + 1
                    expect_key = False
                elif char == "," and depth and depth[-1] == "{" and len(depth) <= 2:
                    expect_key = True
                col += 1
            row, col = row + 1, 0
        return row

    def table(self, name: str, index: int = 0) -> int | None:
        """The line of ``[name]`` (index 0) or of the ``index``-th ``[[name]]``."""
        return self._tables.get((name, index))

    def key(self, name: str, index: int, key: str) -> int | None:
        """The line of ``key`` in that table, else the table's own line."""
        return self._keys.get((name, index, key)) or self.table(name, index)

    def top_key(self, key: str) -> int | None:
        """The line of a key outside any table (or of a table of that name)."""
        return self._keys.get(("", 0, key)) or self.table(key) or self.table(key, 1)


def _unquoted(name: str) -> str:
    """A table name or key as tomllib spells its parts: quotes, escapes and spaces resolved."""
    parts = re.findall(r"(" + _BASIC + r")|'([^']*)'|([^.\"']+)", name)
    return ".".join(_decoded(a) if a else (b or c.strip()) for a, b, c in parts)


def _decoded(quoted: str) -> str:
    """A basic string's text with its escapes resolved (as written when they do not parse)."""
    try:
        return str(tomllib.loads(f"k = {quoted}")["k"])
    except tomllib.TOMLDecodeError:
        return quoted[1:-1]


def _value_end(lines: list[str], row: int, col: int) -> int:
    """The row where the value starting at ``lines[row][col]`` ends: the row of its last
    line when a multi-line string in it runs on, else ``row``."""
    line = lines[row]
    while col < len(line):
        char = line[col]
        if char == "#":
            break
        if char in "\"'":
            row, col = _skip_string(lines, row, col)
            line = lines[row] if row < len(lines) else ""
            continue
        col += 1
    return row


def _skip_string(lines: list[str], row: int, col: int) -> tuple[int, int]:
    """The position just past the string that starts at ``lines[row][col]``."""
    line = lines[row]
    quote = line[col]
    triple = line.startswith(quote * 3, col)
    closing = quote * 3 if triple else quote
    col += len(closing)
    while row < len(lines):
        line = lines[row]
        while col < len(line):
            if quote == '"' and line[col] == "\\":
                col += 2
                continue
            if line.startswith(closing, col):
                return row, col + len(closing)
            col += 1
        if not triple:
            return row, col  # an unclosed one-line string ends with its line
        row, col = row + 1, 0
    return row, 0


def decode_position(message: str) -> tuple[int | None, str]:
    """The line in a ``tomllib.TOMLDecodeError`` message, and the message without it."""
    match = _DECODE_POSITION.search(message)
    if match is None:
        return None, message
    text = (message[: match.start()] + message[match.end() :]).strip()
    return int(match["line"]), f"{text} (column {match['column']})"
