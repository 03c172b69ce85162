"""Every spelling of a declared secret, as one compiled pattern that finds them in linear time.

A secret reaches text in more forms than one: raw; percent-encoded by ``quote()``,
``quote_plus()`` or httpx (which leaves some characters such as ``!`` and ``@`` as
they are), with either hex case, ``+`` or ``%20`` for a space, non-ASCII letters as
their UTF-8 bytes; JSON-escaped (``\\u00e9``, ``\\"``, surrogate pairs); ``repr``-escaped
(``\\xe9``, ``\\n``, ``\\'``) and as the ``repr`` of its UTF-8 bytes (``\\xc3\\xa9``).

Each character of a secret becomes a small alternation of its own spellings, so a text
that mixes them (httpx's partial encoding) is matched too. The secrets are joined
longest first into one pattern, compiled once per set of secrets: a search costs the
length of the text times a factor bounded by the secrets' lengths, never the square of
the text. A secret shorter than ``MIN_SECRET_LENGTH`` is matched only where it stands
alone (not inside a longer word or number): "ab" is masked in ``pw=ab&x`` but not in
``about``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

MIN_SECRET_LENGTH = 3
"""Shorter declared secrets are masked only where they stand alone, never inside a word."""

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
               "\r": "\\r", "\t": "\\t"}  # fmt: skip
_REPR_SHORT = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _hex_any_case(byte: int) -> str:
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{byte:02x}")


def _char(c: str) -> str:
    """A pattern for one character of a secret in every spelling it can take."""
    forms = [re.escape(c)]
    data = c.encode("utf-8", "surrogatepass")
    forms.append("".join(f"%{_hex_any_case(b)}" for b in data))  # percent-encoded, any case
    if c == " ":
        forms.append(r"\+")
    code = ord(c)
    # JSON (\u00e9, or a surrogate pair) and repr (\xe9, \u20ac, \U0001f600), any hex case
    if code > 0xFFFF:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(rf"\\u{_hex4(high)}\\u{_hex4(low)}")
        forms.append(r"\\U" + "".join(_hex_any_case(b) for b in code.to_bytes(4, "big")))
    else:
        forms.append(rf"\\u{_hex4(code)}")
        if code < 0x100:
            forms.append(rf"\\x{_hex_any_case(code)}")
    if len(data) > 1:  # the repr of its UTF-8 bytes: b'\xc3\xa9'
        forms.append("".join(rf"\\x{_hex_any_case(b)}" for b in data))
    for table in (_JSON_SHORT, _REPR_SHORT):
        if c in table:
            forms.append(re.escape(table[c]))
    # Longest first: the two-byte "\\xc3\\x83" must win over the one-character "\\xc3".
    return "(?:" + "|".join(sorted(set(forms), key=lambda f: (-len(f), f))) + ")"


def _hex4(code: int) -> str:
    return "".join(_hex_any_case(b) for b in code.to_bytes(2, "big"))


def _secret(secret: str) -> str:
    body = "".join(_char(c) for c in secret)
    if len(secret) < MIN_SECRET_LENGTH:
        return rf"(?<![^\W_])(?:{body})(?![^\W_])"
    return body


@functools.lru_cache(maxsize=256)
def secret_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern matching every spelling of every secret (longest first), None for none."""
    usable = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not usable:
        return None
    # Every spelling starts with the secret's first character, "%", "\\" or "+": one
    # class test per position rejects almost every start before any alternative is tried.
    first = {"%", "\\", "+"} | {s[0] for s in usable}
    starts = "".join(re.escape(c) for c in sorted(first))
    return re.compile(f"(?=[{starts}])(?:" + "|".join(_secret(s) for s in usable) + ")")


def mask_secrets(text: str, secrets: Iterable[str], mask: str) -> str:
    """``text`` with every spelling of each secret replaced by ``mask``."""
    pattern = secret_pattern(tuple(secrets))
    return text if pattern is None else pattern.sub(mask, text)
