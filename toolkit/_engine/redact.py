"""Masking credentials before they are shown: in error text, URLs, headers and data.

What is masked (as ``***``):

- URL userinfo: ``https://user:pass@host`` becomes ``https://***@host``;
- values of query parameters and ``key=value`` pairs whose key names a credential
  (token, key, secret, password, signature, auth, ...);
- values of secret headers (``Authorization``, ``Cookie``, ``X-Api-Key``, ...);
- ``Bearer``/``Basic``/``Token`` credentials written out in text;
- every value an integration declares secret (its ``secrets()``), wherever it appears and
  in every spelling it can take there (``spelling.py``: percent-, JSON- and repr-encoded).

Every pattern here runs in time linear in the text (possessive repeats, keys matched
only from their first character), so masking a 1 MiB body without separators costs
milliseconds, not hours.

The checks mask at their source; the runner masks every error text again as it
enters the history (``describe_error``), so a hand-written integration that puts a
token in an exception message is covered too. Libraries that log what they send
(httpx logs every request URL at INFO) get ``LOG_REDACTOR`` on their loggers.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from toolkit._engine.spelling import mask_secrets

logger = logging.getLogger("toolkit")

MASK = "***"

SECRET_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
    }
)
"""Header names whose values are always masked (compared case-insensitively)."""

_SECRET_WORDS = ("token", "secret", "passw", "pwd", "signature", "credential", "apikey", "auth")
_SECRET_SEGMENTS = frozenset({"key", "sig", "pass", "session", "cookie", "jwt", "otp"})

_USERINFO = re.compile(
    r"(?P<scheme>(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*+://)(?P<userinfo>[^/?#@\s]++)@"
)
_PAIR = re.compile(
    r"(?<![A-Za-z0-9_.\-\[\]])(?P<key>[A-Za-z0-9_.\-\[\]]++)(?P<eq>=|%3D)"
    r"(?P<value>[^&#\s,;'\"<>)]++)"
)
_QUOTED = re.compile(
    r"(?P<open>[\"'])(?P<key>[A-Za-z0-9_.\-]++)(?P=open)(?P<sep>\s*+:\s*+)"
    r"(?P<q>[\"'])(?P<value>.*?)(?P=q)"
)
_SCHEME_CREDENTIAL = re.compile(r"\b(?P<scheme>Bearer|Basic|Token|Digest)\s+(?P<value>[^\s,;'\"]+)")


def is_secret_key(key: str) -> bool:
    """True when a query parameter, setting or field name looks like it holds a credential."""
    lowered = key.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    segments = re.split(r"[^a-z0-9]+", lowered)
    return any(segment in _SECRET_SEGMENTS for segment in segments) or lowered.endswith("key")


def is_secret_header(name: str, extra: Iterable[str] = ()) -> bool:
    """True when a header's value must never be shown."""
    lowered = name.lower()
    return (
        lowered in SECRET_HEADERS or lowered in {e.lower() for e in extra} or is_secret_key(lowered)
    )


def clean_secrets(values: Iterable[object]) -> list[str]:
    """The declared secrets to mask (as given and stripped), longest first, none empty.

    Their encoded spellings are found by ``spelling.secret_pattern``; one shorter than
    ``spelling.MIN_SECRET_LENGTH`` is masked only where it stands alone.
    """
    found: set[str] = set()
    for value in values:
        if value is None:
            continue
        text = value if isinstance(value, str) else str(value)
        found.update((text, text.strip()))
    return sorted((v for v in found if v), key=lambda v: (-len(v), v))


def redact_text(text: str, secrets: Iterable[object] = ()) -> str:
    """``text`` with declared secrets, URL userinfo and credential-looking values masked."""
    text = mask_secrets(text, clean_secrets(secrets), MASK)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _PAIR.sub(_mask_pair, text)
    text = _QUOTED.sub(_mask_quoted, text)
    return _SCHEME_CREDENTIAL.sub(lambda m: f"{m['scheme']} {MASK}", text)


def _mask_pair(match: re.Match[str]) -> str:
    key = match["key"]
    if not is_secret_key(key) or match["value"] == MASK:
        return match[0]
    return f"{key}{match['eq']}{MASK}"


def _mask_quoted(match: re.Match[str]) -> str:
    if not is_secret_key(match["key"]):
        return match[0]
    q = match["q"]
    return f"{match['open']}{match['key']}{match['open']}{match['sep']}{q}{MASK}{q}"


def redact_url(url: str, secrets: Iterable[object] = ()) -> str:
    """``url`` with its userinfo and the values of credential-looking query keys masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url, secrets)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(_mask_query_item(item) for item in parts.query.split("&"))
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return redact_text(rebuilt, secrets)


def _mask_query_item(item: str) -> str:
    key, eq, _ = item.partition("=")
    return f"{key}={MASK}" if eq and is_secret_key(key) else item


def redact_headers(
    headers: Mapping[str, str], extra_secret: Iterable[str] = (), secrets: Iterable[object] = ()
) -> dict[str, str]:
    """A copy of ``headers`` with secret header values masked and secrets removed from the rest."""
    extra = tuple(extra_secret)
    return {
        name: MASK if is_secret_header(name, extra) else redact_text(value, secrets)
        for name, value in headers.items()
    }


def redact_data(data: Any, secrets: Iterable[object] = (), *, mask_keys: bool = True) -> Any:
    """``data`` (JSON-like) with secrets masked in its strings and under secret-looking keys.

    ``mask_keys=False`` leaves values under keys such as ``token`` as they are.
    """
    return _redact_value(data, clean_secrets(secrets), mask_keys)


def _redact_value(value: Any, secrets: list[str], mask_keys: bool) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets) if secrets or mask_keys else value
    if isinstance(value, Mapping):
        return {
            key: MASK
            if mask_keys and isinstance(key, str) and is_secret_key(key) and value[key] is not None
            else _redact_value(value[key], secrets, mask_keys)
            for key in value
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item, secrets, mask_keys) for item in value]
    return value


def secrets_of(integration: object) -> list[str]:
    """The values ``integration`` declares secret (its ``secrets()`` or ``secrets`` attribute).

    An integration that raises while listing its secrets is logged, never trusted: an empty
    list would let a credential through silently, so the failure is visible.
    """
    try:
        declared = getattr(integration, "secrets", None)
        if declared is None:
            return []
        values = declared() if callable(declared) else declared
        return clean_secrets(values)
    except Exception:
        logger.exception("listing the secrets of %r failed", getattr(integration, "name", "?"))
        return []


class LogRedactor(logging.Filter):
    """Masks credentials in log records of loggers we do not own (httpx logs each URL at INFO).

    Checks ``declare`` what they are about to send; records are masked with those
    values and with the patterns above (userinfo, ``token=``...). It never drops a record.
    """

    def __init__(self) -> None:
        super().__init__()
        self._declared: weakref.WeakKeyDictionary[object, tuple[str, ...]] = (
            weakref.WeakKeyDictionary()
        )
        self._merged: list[str] | None = None

    def declare(self, owner: object, secrets: Iterable[str]) -> None:
        """Remember the secrets ``owner`` sends now (replacing what it declared before)."""
        values = tuple(secrets)
        if self._declared.get(owner) != values:
            self._declared[owner] = values
            self._merged = None

    def secrets(self) -> list[str]:
        """Every declared secret of owners still alive, longest first."""
        if self._merged is None:
            self._merged = clean_secrets(v for values in self._declared.values() for v in values)
        return self._merged

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with credentials masked."""
        try:
            message = record.getMessage()
        except Exception:
            return True  # a broken record is logging's to report, not ours
        masked = redact_text(message, self.secrets())
        if masked != message:
            record.msg, record.args = masked, ()
        return True


LOG_REDACTOR = LogRedactor()


def guard_loggers(*names: str) -> None:
    """Put ``LOG_REDACTOR`` on the named loggers (once each)."""
    for name in names:
        target = logging.getLogger(name)
        if LOG_REDACTOR not in target.filters:
            target.addFilter(LOG_REDACTOR)
