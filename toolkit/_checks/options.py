"""Options of the ready-made checks, checked where they enter.

The constructors and the config loader share these: each returns the option in
its normal form or raises ``ConfigError`` saying what was given and what is accepted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from toolkit._checks.settings import REFERENCE
from toolkit._engine.errors import ConfigError
from toolkit._engine.redact import redact_url

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_STATUS_TEXT = re.compile(
    r"^\s*(?:(?P<cls>[1-5])xx|(?P<lo>\d{3})\s*-\s*(?P<hi>\d{3})|(?P<one>\d{3}))\s*$"
)


@dataclass(frozen=True, slots=True)
class StatusSet:
    """The response statuses a check accepts, with a label for messages ("200-399")."""

    codes: frozenset[int]
    label: str

    def __contains__(self, status: object) -> bool:
        return status in self.codes


def statuses(value: object) -> StatusSet:
    """Accepted statuses from an int, a range, ints, or text such as "200-299", "2xx", "204"."""
    if isinstance(value, StatusSet):
        return value
    accepted = "a status (200), a range (range(200, 400)), a list of statuses, or '2xx' / '200-299'"
    if isinstance(value, bool):
        raise ConfigError(f"expect_status must be {accepted}; got {value!r}")
    if isinstance(value, int):
        return StatusSet(frozenset([_code(value, accepted)]), str(value))
    if isinstance(value, range):
        codes = [_code(c, accepted) for c in value]
        if not codes:
            raise ConfigError(f"expect_status {value!r} is empty; expected {accepted}")
        label = f"{value.start}-{value.stop - 1}" if value.step == 1 else ", ".join(map(str, codes))
        return StatusSet(frozenset(codes), label)
    if isinstance(value, str):
        return _from_text(value, accepted)
    if isinstance(value, Iterable):
        parts = [statuses(item) for item in value]
        if not parts:
            raise ConfigError(f"expect_status is an empty list; expected {accepted}")
        union = frozenset(c for p in parts for c in p.codes)
        return StatusSet(union, ", ".join(p.label for p in parts))
    raise ConfigError(f"expect_status must be {accepted}; got {value!r}")


def _from_text(text: str, accepted: str) -> StatusSet:
    match = _STATUS_TEXT.match(text)
    if match is None:
        raise ConfigError(f"expect_status must be {accepted}; got {text!r}")
    if match["cls"]:
        base = int(match["cls"]) * 100
        return StatusSet(frozenset(range(base, base + 100)), f"{match['cls']}xx")
    if match["one"]:
        return statuses(int(match["one"]))
    lo, hi = _code(int(match["lo"]), accepted), _code(int(match["hi"]), accepted)
    if hi < lo:
        raise ConfigError(f"expect_status range {text!r} ends before it starts; write low-high")
    return StatusSet(frozenset(range(lo, hi + 1)), f"{lo}-{hi}")


def _code(value: object, accepted: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ConfigError(f"expect_status {value!r} is not an HTTP status from 100 to 599; "
                          f"expected {accepted}")  # fmt: skip
    return value


def name(value: object) -> str:
    """A check's name: a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"name must be a non-empty string, got {value!r}")
    return value


def closed_references(value: str, what: str) -> str:
    """``value`` when every ``${`` in it starts a whole ``${NAME}`` reference, else ConfigError.

    An unterminated ``${`` would otherwise be sent as it is; the value is not shown
    (it may hold a secret), only where the ``${`` is.
    """
    rest = REFERENCE.sub(lambda m: " " * len(m[0]), value)
    at = rest.find("${")
    if at >= 0:
        raise ConfigError(
            f"{what} has a '${{' at character {at + 1} that does not start a ${{NAME}} "
            "reference (NAME: letters, digits and underscores, then '}'); close it or remove it"
        )
    return value


def authority(url: str) -> str:
    """The ``user@host:port`` part of a URL, read as written (``urlsplit`` drops newlines)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def unusable_host(host: str) -> bool:
    """True for an empty host or one with whitespace or control characters (never resolved)."""
    return not host.strip() or any(c.isspace() or not c.isprintable() for c in host)


def url(value: object) -> str:
    """An http(s) URL with a host; ``${NAME}`` references are checked once expanded."""
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"url must be a string such as 'https://example.com/health', got {value!r}"
        )
    closed_references(value, "url")
    if unusable_host(value):  # urlsplit would quietly drop a newline or tab
        raise ConfigError(
            f"url must not contain whitespace or control characters, got "
            f"{_short(redact_url(value))!r}; it is never sent to a resolver"
        )
    probe = REFERENCE.sub("x", value)
    if value.startswith("${"):
        return value  # the scheme and host come from the environment
    try:
        parts = urlsplit(probe)
    except ValueError as exc:
        raise ConfigError(f"url is not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"url must start with http:// or https:// and name a host, "
            f"got {_short(redact_url(value))!r}"
        )
    return value


def method(value: object) -> str:
    """An HTTP method, upper-cased."""
    if not isinstance(value, str) or value.upper() not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}; got {value!r}")
    return value.upper()


def headers(value: object) -> dict[str, str]:
    """Header names and values, both strings."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"headers must be a table of name = value strings, got {type(value).__name__}"
        )
    bad = [str(k) for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise ConfigError(f"header values must be strings; not a string: {', '.join(bad)}")
    for header, text in value.items():
        closed_references(text, f"header {header!r}")
    return dict(value)


def seconds(value: object, what: str) -> float:
    """A finite number of seconds > 0."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:  # type: ignore[operator]
        raise ConfigError(f"{what} must be a finite number of seconds > 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def byte_count(value: object, what: str) -> int:
    """A whole number of bytes >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be a whole number of bytes >= 1, got {value!r}")
    return value


def port(value: object) -> int | str:
    """A TCP port from 1 to 65535, or a ``${NAME}`` reference to one."""
    if isinstance(value, str) and REFERENCE.fullmatch(value):
        return value
    if isinstance(value, str) and "${" in value:
        closed_references(value, "port")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(f"port must be a number from 1 to 65535 (or '${{NAME}}'), got {value!r}")
    return value


def host(value: object, what: str = "host") -> str:
    """A host name or address: no whitespace or control characters, references closed."""
    if not isinstance(value, str) or unusable_host(value):
        raise ConfigError(
            f"{what} must be a host name or address such as 'db.internal' (no whitespace or "
            f"control characters), got {value!r}"
        )
    return closed_references(value, what)


def json_key(value: object) -> str | None:
    """A dotted path into a JSON body ("data.items.0.id"), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or any(not part for part in value.split(".")):
        raise ConfigError(
            f"json_key must be a dotted path such as 'status' or 'data.0.id', got {value!r}"
        )
    return value


def names(value: object, what: str, *, secret: bool = False) -> tuple[str, ...]:
    """A list of strings (header or variable names).

    ``secret``: where the names of secrets belong, what was given is described but
    never shown (a secret pasted there instead of its name stays unseen).
    """
    if isinstance(value, str) or not isinstance(value, Iterable):
        given = _described(value) if secret else repr(value)
        raise ConfigError(f'{what} must be a list of strings, such as ["NAME"], got {given}')
    items = list(value)
    bad = [item for item in items if not isinstance(item, str) or not item]
    if bad:
        given = ", ".join(_described(item) for item in bad) if secret else repr(bad)
        raise ConfigError(f"{what} must be a list of strings; not a string: {given}")
    return tuple(items)


def _described(value: object) -> str:
    """What a value is, without showing it: "a string of 12 characters (not shown)"."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters (not shown: it may be a secret)"
    return f"a value of type {type(value).__name__} (not shown: it may be a secret)"


def dig(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` (list items by index); KeyError says where it stopped."""
    current = document
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            where = ".".join(walked) or "the top level"
            raise KeyError(f"{part!r} not found at {where} ({_shape(current)})")
        walked.append(part)
    return current


def _shape(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = list(value)[:8]
        more = ", ..." if len(value) > 8 else ""
        return f"keys: {', '.join(map(str, keys))}{more}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}, not an object"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
