"""Settings from the environment: ``${NAME}`` references, what is missing, what is secret.

A ready-made check is configured the way a hand-written integration is: it is
configured when every setting it needs is present, silently skipped when none is,
and warns when only some are (a URL given but its token variable unset).
Values are looked up when the check asks, so setting a variable later takes effect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from toolkit._engine.errors import ConfigError
from toolkit._engine.redact import is_secret_key

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
REFERENCE = re.compile(r"\$\{(?P<name>" + _NAME + r")\}")
NAME = re.compile(_NAME)


def references(text: str) -> list[str]:
    """The variable names ``text`` refers to as ``${NAME}``, in order, without repeats."""
    return list(dict.fromkeys(m["name"] for m in REFERENCE.finditer(text)))


def check_name(value: object, what: str) -> str:
    """``value`` when it is a valid environment variable name, else a ConfigError."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        given = (
            f"a value of {len(value)} characters, not shown (it may be the secret itself)"
            if isinstance(value, str)
            else f"a {type(value).__name__}"
        )
        raise ConfigError(
            f"{what} must be an environment variable name (letters, digits, underscores, "
            f"not starting with a digit), got {given}"
        )
    return value


class EnvSettings:
    """The variables a check needs, where to read them, and which of them are secret.

    ``literal`` says whether the check also has settings given directly (a URL in the
    config): with one of those present, a missing variable is a partial configuration.
    """

    def __init__(
        self,
        needed: Iterable[str],
        *,
        secret: Iterable[str] = (),
        literal: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.needed = tuple(dict.fromkeys(needed))
        self.secret = frozenset(
            {n for n in self.needed if is_secret_key(n)}
            | {check_name(n, "a secret setting") for n in secret}
        )
        self.literal = literal
        self._env = env

    @property
    def env(self) -> Mapping[str, str]:
        """Where values are read: the mapping given, else ``os.environ`` as it is now."""
        return os.environ if self._env is None else self._env

    def missing(self) -> list[str]:
        """The needed variables that are unset or empty."""
        env = self.env
        return [name for name in self.needed if not env.get(name)]

    def is_configured(self) -> bool:
        """True when every needed variable has a value."""
        return not self.missing()

    def warning(self) -> str | None:
        """A warning naming the missing variables when only some settings are present."""
        missing = self.missing()
        if not missing:
            return None
        present = len(self.needed) - len(missing)
        if present == 0 and not self.literal:
            return None  # nothing configured at all: skipped silently
        listed = ", ".join(missing)
        return f"environment variable{'s' if len(missing) > 1 else ''} {listed} not set"

    def expand(self, text: str) -> str:
        """``text`` with every ``${NAME}`` replaced by its value (missing ones by nothing)."""
        env = self.env
        return REFERENCE.sub(lambda m: env.get(m["name"], ""), text)

    def secret_values(self, extra: Iterable[str] = ()) -> list[str]:
        """The current values of the secret variables and of the ``extra`` ones."""
        env = self.env
        names = self.secret | set(extra)
        return [env[name] for name in sorted(names) if env.get(name)]

    def __repr__(self) -> str:
        return f"EnvSettings(needed={list(self.needed)!r}, secret={sorted(self.secret)!r})"


class FromEnv:
    """The integration contract's configuration checks, answered by the ``settings`` it needs."""

    settings: EnvSettings

    def is_configured(self) -> bool:
        """True when every environment variable the integration needs is set."""
        return self.settings.is_configured()

    def validate_config(self) -> str | None:
        """A warning naming the unset variables when only some settings are present."""
        return self.settings.warning()

    def secrets(self) -> list[str]:
        """The values of the variables that are named secret or look secret (``*_TOKEN``...)."""
        return self.settings.secret_values()
