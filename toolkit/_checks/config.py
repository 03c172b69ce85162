"""``load_config(path)``: checks and runner settings from a TOML file, all or nothing.

    [runner]                      # defaults for every check (all optional)
    timeout = 5.0                 # seconds per call
    fail_max = 3
    reset_timeout = 60.0
    slow_after = 1.0              # successes slower than this are marked slow
    window = 20                   # rate-based breakers: window or window_s, failure_rate,
    failure_rate = 0.5            # slow_rate, min_calls, half_open_calls, backoff,
    min_calls = 10                # max_reset_timeout, shared_window (see Policy)

    [[http]]
    name = "partner-api"
    url = "https://api.example.com/health?key=${PARTNER_KEY}"
    token_env = "PARTNER_TOKEN"   # sent as "Authorization: Bearer <value>"
    headers = { Accept = "application/json" }
    expect_status = "200-299"     # or 200, [200, 204], "2xx"
    json_key = "status"
    timeout = 2.0                 # policy overrides: timeout, fail_max, reset_timeout, slow_after

    [[tcp]]
    name = "database"
    host = "${DB_HOST}"
    port = 5432

Every problem in the file is collected (file, line, key, what is expected) and
raised together as one ``ConfigFileError``; nothing is half-loaded.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit._checks import options as opt
from toolkit._checks.client import SharedClient
from toolkit._checks.http import HttpCheck
from toolkit._checks.settings import check_name
from toolkit._checks.tcp import TcpCheck
from toolkit._checks.toml_lines import TomlLines, decode_position
from toolkit._engine.errors import ConfigError, ConfigFileError, ConfigProblem
from toolkit._engine.history import MAX_HISTORY
from toolkit._engine.policy import Policy
from toolkit._engine.redact import redact_text
from toolkit._engine.registry import IntegrationRegistry
from toolkit._engine.runner import IntegrationRunner

Check = HttpCheck | TcpCheck
Validator = Callable[[Any], Any]

RATE_KEYS = (
    "window", "window_s", "failure_rate", "slow_rate", "min_calls", "half_open_calls",
    "backoff", "max_reset_timeout", "shared_window",
)  # fmt: skip
"""Policy keys of rate-based breakers; under [runner] they apply to every check."""
POLICY_KEYS = ("timeout", "fail_max", "reset_timeout", "slow_after", *RATE_KEYS)
RUNNER_KEYS = (*POLICY_KEYS, "history_size", "grace")
_ALONE = {"max_reset_timeout": {"reset_timeout": 0.0}, "shared_window": {"window_s": 1.0}}
"""What a key is checked against on its own (its pairing is checked per table)."""


def _policy_value(key: str) -> Validator:
    def check(value: Any) -> Any:
        Policy(**_ALONE.get(key, {})).updated(**{key: value})  # type: ignore[arg-type]
        return value

    return check


_REFUSED = (ConfigError, OverflowError, ValueError, TypeError)
"""What checking a value may raise: each becomes a problem with its line and key."""


def _reason(exc: Exception) -> str:
    """A refused value's message; a number too large for its setting says so."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, OverflowError):
        return "is too large for this setting; give a smaller number"
    return f"cannot be used ({type(exc).__name__}: {exc})"


def _whole(minimum: int, what: str, maximum: int | None = None) -> Validator:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{what} must be a whole number >= {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{what} must be at most {maximum:,}, got {value!r}")
        return value

    return check


def _grace(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 60:
        raise ConfigError(f"grace must be a number of seconds from 0 to 60, got {value!r}")
    return float(value)


def _flag(key: str) -> Validator:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value

    return check


def _text(key: str) -> Validator:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key} must be a non-empty string, got {value!r}")
        return value

    return check


def _verify(value: Any) -> bool | str:
    if not isinstance(value, bool | str) or value == "":
        raise ConfigError(f"verify must be true, false or a CA bundle path, got {value!r}")
    if isinstance(value, str) and not Path(value).is_file():
        raise ConfigError(f"verify names a CA bundle file that does not exist: {value!r}")
    return value


_POLICY: dict[str, Validator] = {key: _policy_value(key) for key in POLICY_KEYS}
_RUNNER: dict[str, Validator] = {
    **_POLICY, "history_size": _whole(1, "history_size", MAX_HISTORY), "grace": _grace,
}  # fmt: skip
_COMMON: dict[str, Validator] = {
    "name": opt.name,
    "display_name": _text("display_name"),
    "secret_env": lambda v: [
        check_name(n, "secret_env") for n in opt.names(v, "secret_env", secret=True)
    ],
}
_HTTP: dict[str, Validator] = {
    **_COMMON,
    "url": opt.url,
    "method": opt.method,
    "headers": opt.headers,
    "token_env": lambda v: check_name(v, "token_env"),
    "token_scheme": _text("token_scheme"),
    "expect_status": opt.statuses,
    "json_key": opt.json_key,
    "follow_redirects": _flag("follow_redirects"),
    "max_body_bytes": lambda v: opt.byte_count(v, "max_body_bytes"),
    "verify": _verify,
    "secret_headers": lambda v: opt.names(v, "secret_headers", secret=True),
}
_TCP: dict[str, Validator] = {**_COMMON, "host": opt.host, "port": opt.port}
_KINDS: dict[str, tuple[dict[str, Validator], tuple[str, ...]]] = {
    "http": (_HTTP, ("name", "url")),
    "tcp": (_TCP, ("name", "host", "port")),
}


@dataclass(frozen=True)
class CheckConfig:
    """A loaded config: its checks in a registry, and the settings of the runner that runs them."""

    path: Path
    registry: IntegrationRegistry
    runner_kwargs: dict[str, Any]
    client: SharedClient = field(repr=False)

    @property
    def names(self) -> list[str]:
        """Every check's name, in file order (configured or not)."""
        return self.registry.names()

    def make_runner(self, **overrides: Any) -> IntegrationRunner:
        """A new runner for these checks; ``overrides`` replace settings from the file."""
        return IntegrationRunner(self.registry, **{**self.runner_kwargs, **overrides})


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> CheckConfig:
    """Read the checks of a TOML config; raise ``ConfigFileError`` listing every problem.

    ``env`` is where ``${NAME}`` references and ``token_env`` are looked up
    (``os.environ`` when None, read when each check runs).
    """
    loader = _Loader(Path(path), env)
    config = loader.load()
    if loader.problems:
        raise ConfigFileError(sorted(loader.problems, key=lambda p: p.line or 0))
    assert config is not None
    return config


class _Loader:
    """One pass over one file, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, env: Mapping[str, str] | None) -> None:
        self.path = path
        self.env = env
        self.problems: list[ConfigProblem] = []
        self.lines = TomlLines("")
        self.runner_ok = True

    def problem(self, line: int | None, key: str, message: str) -> None:
        message = _one_line(redact_text(message))
        self.problems.append(ConfigProblem(str(self.path), line, _one_line(key), message))

    def load(self) -> CheckConfig | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(None, "", "file not found; give the path of a TOML config file")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(None, "", f"cannot read the file: {exc}")
            return None
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line, message = decode_position(str(exc))
            self.problem(line, "", f"not valid TOML: {message}")
            return None
        except ValueError as exc:  # an integer of more than 4,300 digits, say
            self.problem(None, "", f"not readable TOML: {exc}")
            return None
        self.lines = TomlLines(text)
        return self._build(document)

    def _build(self, document: dict[str, Any]) -> CheckConfig | None:
        for key in document:
            if key not in ("runner", *_KINDS):
                self.problem(
                    self.lines.top_key(key), key, _unknown(key, ["runner", *_KINDS], "table")
                )
        runner = self._runner(document.get("runner", {}))
        rates = {key: runner.pop(key) for key in RATE_KEYS if key in runner}
        client = SharedClient()
        placed: list[tuple[Check, str, int]] = []
        for kind in _KINDS:
            tables = document.get(kind, [])
            if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
                line = self.lines.top_key(kind)
                self.problem(line, kind, f"write each check as a [[{kind}]] table")
                continue
            for index, table in enumerate(tables, start=1):
                check = self._check(kind, index, table, runner, rates, client)
                if check is not None:
                    placed.append((check, kind, index))
        if not placed and not self.problems:
            self.problem(None, "", "no checks: add at least one [[http]] or [[tcp]] table")
        self._unique(document)
        if self.problems:
            return None
        registry = IntegrationRegistry()
        for check, _, _ in placed:
            registry.register(check)
        return CheckConfig(self.path, registry, runner, client)

    def _runner(self, table: object) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"policies": {}}
        if not isinstance(table, dict):
            self.problem(self.lines.top_key("runner"), "runner", "must be a [runner] table")
            return kwargs
        for key, value in table.items():
            line = self.lines.key("runner", 0, key)
            if key not in _RUNNER:
                self.problem(line, f"runner.{key}", _unknown(key, _RUNNER, "key"))
                continue
            try:
                kwargs[key] = _RUNNER[key](value)
            except _REFUSED as exc:
                self.problem(line, f"runner.{key}", _strip(key, _reason(exc)))
        self.runner_ok = self._combined(self.lines.top_key("runner"), "runner", kwargs, {})
        return kwargs

    def _combined(
        self, line: int | None, label: str, runner: dict[str, Any], policy: dict[str, Any]
    ) -> bool:
        """Check the keys that go together (window/window_s, max_reset_timeout) as a whole."""
        settings = {k: v for k, v in {**runner, **policy}.items() if k in POLICY_KEYS}
        try:
            Policy().updated(**settings)
        except _REFUSED as exc:
            self.problem(line, label, _reason(exc))
            return False
        return True

    def _check(
        self, kind: str, index: int, table: dict[str, Any], runner: dict[str, Any],
        rates: dict[str, Any], client: SharedClient,
    ) -> Check | None:  # fmt: skip
        policies: dict[str, Any] = runner["policies"]
        validators, required = _KINDS[kind]
        name = table.get("name")
        label = f"{kind}[{index}]" + (f" {name!r}" if isinstance(name, str) and name else "")
        before = len(self.problems)
        values: dict[str, Any] = {}
        policy: dict[str, Any] = {}
        for key, value in table.items():
            line = self.lines.key(kind, index, key)
            validator = validators.get(key) or _POLICY.get(key)
            if validator is None:
                known = [*validators, *POLICY_KEYS]
                self.problem(line, f"{label}.{key}", _unknown(key, known, "key"))
                continue
            try:
                checked = validator(value)
            except _REFUSED as exc:
                self.problem(line, f"{label}.{key}", _strip(key, _reason(exc)))
                continue
            (policy if key in POLICY_KEYS else values)[key] = checked
        for key in required:
            if key not in table:
                self.problem(self.lines.table(kind, index), label, f"missing required key {key!r}")
        if len(self.problems) > before:
            return None
        inherited = dict(rates)  # [runner]'s rate keys, then the check's own
        if "window" in policy or "window_s" in policy:  # a check's window kind replaces
            inherited.pop("window", None)
            inherited.pop("window_s", None)
        policy = {**inherited, **policy}
        if self.runner_ok and not self._combined(
            self.lines.table(kind, index), label, runner, policy
        ):
            return None
        if policy:
            policies[values["name"]] = policy
        try:
            if kind == "http":
                return HttpCheck(**values, env=self.env, client=client)
            return TcpCheck(**values, env=self.env)
        except _REFUSED as exc:
            self.problem(self.lines.table(kind, index), label, _reason(exc))
            return None

    def _unique(self, document: dict[str, Any]) -> None:
        """One problem for each check that reuses a name taken earlier in the file."""
        seen: dict[str, str] = {}
        for kind in _KINDS:
            tables = document.get(kind, [])
            for index, table in enumerate(tables if isinstance(tables, list) else [], start=1):
                name = table.get("name") if isinstance(table, dict) else None
                if not isinstance(name, str) or not name:
                    continue
                where = f"{kind}[{index}] {name!r}"
                if name in seen:
                    self.problem(
                        self.lines.key(kind, index, "name"), f"{where}.name",
                        f"name already used by {seen[name]}; names must be unique",
                    )  # fmt: skip
                seen.setdefault(name, where)


def _one_line(text: str) -> str:
    """``text`` on one printable line: a key or value with a newline is shown escaped."""
    return text if text.isprintable() else repr(text)[1:-1]


def _unknown(key: str, known: Any, what: str) -> str:
    """'unknown key 'timout'; did you mean 'timeout'? known keys: ...'."""
    names = sorted(known)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {key!r}{hint} (known {what}s: {', '.join(names)})"


def _strip(key: str, message: str) -> str:
    """A validator's message without its leading key name (the problem names the key)."""
    return message[len(key) + 1 :] if message.startswith(f"{key} ") else message
