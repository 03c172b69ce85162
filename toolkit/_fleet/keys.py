"""Where the fleet's state lives in Redis: one key layout shared by workers and ``Fleet``.

pybreaker's ``CircuitRedisStorage`` with namespace ``<ns>:<integration>`` keeps
``<ns>:<integration>:pybreaker:{state,fail_counter,success_counter,opened_at}``, so
plain pybreaker workers configured that way share breakers with ours. The toolkit
adds its own keys beside them, and one capped stream of call records per namespace:

    <ns>:<integration>:toolkit:isolated   "1" while held open until reset
    <ns>:<integration>:toolkit:policy     hash: fail_max, reset_timeout, timeout, worker
    <ns>:<integration>:toolkit:window     hash: a shared time window's bucketed counters
    <ns>:<integration>:toolkit:trial      the worker making the trial call (a lease, PX)
    <ns>:toolkit:calls                    stream of call records from every worker
    <ns>:toolkit:breakers                 set of the integrations our workers made breakers for
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PYBREAKER = "pybreaker"
STATE_SUFFIX = f":{PYBREAKER}:state"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def check_namespace(namespace: object) -> str:
    """The namespace, refused unless it is a non-empty string without spaces or ``:``.

    A ``:`` would nest one namespace in another (``shop:eu`` inside ``shop``), and a
    Fleet of the outer one would list the inner one's breakers as its own.
    """
    if (
        not isinstance(namespace, str)
        or not namespace
        or ":" in namespace
        or any(c.isspace() for c in namespace)
    ):
        from toolkit._engine.errors import ConfigError

        raise ConfigError(
            "a Redis namespace must be a non-empty string without spaces or ':' "
            f"(':' separates it from the integration's name in keys), got {namespace!r}"
        )
    return namespace


@dataclass(frozen=True, slots=True)
class BreakerKeys:
    """The keys of one integration's breaker under a namespace."""

    namespace: str
    name: str

    @property
    def pybreaker_namespace(self) -> str:
        """The ``namespace`` argument pybreaker's ``CircuitRedisStorage`` gets."""
        return f"{self.namespace}:{self.name}"

    def pybreaker(self, field: str) -> str:
        """pybreaker's own key for ``field`` (state, fail_counter, ...)."""
        return f"{self.namespace}:{self.name}:{PYBREAKER}:{field}"

    @property
    def state(self) -> str:
        return self.pybreaker("state")

    @property
    def fail_counter(self) -> str:
        return self.pybreaker("fail_counter")

    @property
    def success_counter(self) -> str:
        return self.pybreaker("success_counter")

    @property
    def opened_at(self) -> str:
        return self.pybreaker("opened_at")

    @property
    def isolated(self) -> str:
        return f"{self.namespace}:{self.name}:toolkit:isolated"

    @property
    def policy(self) -> str:
        return f"{self.namespace}:{self.name}:toolkit:policy"

    @property
    def trial(self) -> str:
        return f"{self.namespace}:{self.name}:toolkit:trial"

    @property
    def registry(self) -> str:
        return registry_key(self.namespace)

    def snapshot(self) -> list[str]:
        """The keys read together in one ``MGET``, in ``Snapshot`` field order."""
        return [self.state, self.fail_counter, self.success_counter, self.opened_at, self.isolated]


def stream_key(namespace: str) -> str:
    """The capped stream every worker appends its call records to."""
    return f"{namespace}:toolkit:calls"


def registry_key(namespace: str) -> str:
    """The set of integration names whose breakers toolkit workers created."""
    return f"{namespace}:toolkit:breakers"


def state_pattern(namespace: str) -> str:
    """A ``SCAN MATCH`` pattern for every breaker's state key under ``namespace``."""
    escaped = _GLOB_SPECIAL.sub(r"\\\1", namespace)
    return f"{escaped}:*{STATE_SUFFIX}"


def name_of_state_key(namespace: str, key: str) -> str | None:
    """The integration name in a state key of ``namespace`` (None for another layout)."""
    prefix = f"{namespace}:"
    if not key.startswith(prefix) or not key.endswith(STATE_SUFFIX):
        return None
    name = key[len(prefix) : -len(STATE_SUFFIX)]
    return name or None
