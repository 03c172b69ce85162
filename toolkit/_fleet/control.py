"""Fleet: every breaker stored under a namespace, from every worker, seen and steered at once.

``Fleet("redis://127.0.0.1:6379/0", "shop")`` finds breakers by their pybreaker
state keys (``shop:<integration>:pybreaker:state``), so breakers of workers that run
plain pybreaker appear too. ``trip``, ``reset``, ``isolate`` and ``expire`` write the
keys pybreaker reads, so they act in every worker at its next call. ``calls`` and
``latency`` read the capped call stream every toolkit worker appends to.

A worker of ours publishes each integration's policy beside its breaker; for a
breaker without one (a plain pybreaker worker), countdowns assume the Fleet's
``reset_timeout``. Reads and controls raise ``StorageError`` when Redis cannot be
reached; the fleet dashboard shows that instead of raising.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import redis

from toolkit._engine.errors import ConfigError, StorageError, UnknownIntegrationError
from toolkit._engine.history import State
from toolkit._fleet.breaker import EXPIRED
from toolkit._fleet.client import connect, describe
from toolkit._fleet.keys import (
    BreakerKeys,
    check_namespace,
    name_of_state_key,
    registry_key,
    state_pattern,
    stream_key,
)
from toolkit._fleet.snapshot import Snapshot, parse_snapshot
from toolkit._fleet.status import FleetBreaker
from toolkit._fleet.storage import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    import pandas as pd

    from toolkit._fleet.dashboard import FleetDashboard

logger = logging.getLogger("toolkit")
T = TypeVar("T")
SCAN_COUNT = 100_000
"""Keys one SCAN step looks at: a database of that many keys is scanned in one round trip."""
SCAN_EVERY = 30.0
"""Seconds between SCANs for plain pybreaker breakers when a caller allows a cached list."""


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _number(value: Any) -> float | None:
    try:
        number = float(_text(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Fleet:
    """Every breaker under ``namespace`` in one Redis: read them, trip and reset them."""

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        reset_timeout: float = 60.0,
        socket_timeout: float = 0.5,
    ) -> None:
        self.namespace = check_namespace(namespace)
        if isinstance(reset_timeout, bool) or not isinstance(reset_timeout, int | float):
            raise ConfigError(f"reset_timeout must be a number of seconds, got {reset_timeout!r}")
        if not (math.isfinite(reset_timeout) and reset_timeout >= 0):
            raise ConfigError(f"reset_timeout must be finite and >= 0, got {reset_timeout!r}")
        self.reset_timeout = float(reset_timeout)
        self.client, self.url = connect(url_or_client, socket_timeout=socket_timeout)
        self.stream_key = stream_key(self.namespace)
        self._scanned: set[str] = set()
        self._scanned_at: float | None = None
        self._warned: set[tuple[str, str]] = set()

    # ------------------------------------------------------------- plumbing
    def _ask(self, what: str, command: Callable[[redis.Redis], T]) -> T:
        """Run ``command``; a redis error becomes a ``StorageError`` saying what failed."""
        try:
            return command(self.client)
        except redis.RedisError as exc:
            raise StorageError(
                f"could not {what}: Redis at {self.url} answered {describe(exc)}"
            ) from exc

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    # ---------------------------------------------------------------- reads
    def names(self, *, rescan: bool = True) -> list[str]:
        """Every integration with a breaker under the namespace, sorted.

        Our workers list their breakers in a set; plain pybreaker ones are found by a
        SCAN of the whole database, done every time unless ``rescan`` is False, then
        only when the last one is ``SCAN_EVERY`` seconds old.
        """
        due = (
            rescan
            or self._scanned_at is None
            or (time.monotonic() - self._scanned_at >= SCAN_EVERY)
        )

        def read(r: redis.Redis) -> list[str]:
            found = {_text(m) for m in r.smembers(registry_key(self.namespace))}
            if due:
                scanned = set()
                for key in r.scan_iter(match=state_pattern(self.namespace), count=SCAN_COUNT):
                    name = name_of_state_key(self.namespace, _text(key))
                    if name is not None:
                        scanned.add(name)
                self._scanned, self._scanned_at = scanned, time.monotonic()
            return sorted(found | self._scanned)

        return self._ask("list the fleet's breakers", read)

    def statuses(self, *, rescan: bool = True) -> list[FleetBreaker]:
        """Every breaker as of now, sorted by name (see ``names`` for ``rescan``)."""
        names = self.names(rescan=rescan)

        def read(r: redis.Redis) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            for name in names:
                keys = BreakerKeys(self.namespace, name)
                pipe.mget(keys.snapshot())
                pipe.hgetall(keys.policy)
            return list(pipe.execute())

        replies = self._ask("read the fleet's breakers", read) if names else []
        now = time.time()
        found = []
        for i, name in enumerate(names):
            snap = parse_snapshot(replies[2 * i])
            if snap is not None:  # reset between the scan and the read
                found.append(self._breaker(name, snap, replies[2 * i + 1], now))
        return found

    def status(self, name: str) -> FleetBreaker:
        """One breaker as of now."""
        keys = BreakerKeys(self.namespace, name)

        def read(r: redis.Redis) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            pipe.mget(keys.snapshot())
            pipe.hgetall(keys.policy)
            return list(pipe.execute())

        values, policy = self._ask(f"read breaker {name!r}", read)
        snap = parse_snapshot(values)
        if snap is None:
            raise UnknownIntegrationError(name, self.names())
        return self._breaker(name, snap, policy, time.time())

    def _breaker(
        self, name: str, snap: Snapshot, policy: dict[Any, Any], now: float
    ) -> FleetBreaker:
        fields = {_text(k): v for k, v in policy.items()}
        reset_timeout = _number(fields.get("reset_timeout"))
        if reset_timeout is None:
            reset_timeout = self.reset_timeout
        fail_max = _number(fields.get("fail_max"))
        timeout = _number(fields.get("timeout"))
        worker = fields.get("worker")
        state: State = "isolated" if snap.isolated else snap.state  # type: ignore[assignment]
        opened_at = float(snap.opened_at) if snap.opened_at else None
        self._warn(name, snap)
        trial = None
        if state == "open":  # an opened_at ahead of this clock counts from now, as workers do
            trial = (
                0.0 if opened_at is None else max(0.0, min(opened_at, now) + reset_timeout - now)
            )
        return FleetBreaker(
            name=name,
            state=state,
            failures=snap.fail_counter,
            opened_at=opened_at if state in ("open", "isolated") else None,
            trial_in_s=trial,
            fail_max=None if fail_max is None else int(fail_max),
            reset_timeout_s=reset_timeout,
            timeout_s=timeout,
            worker=None if worker is None else _text(worker),
            taken_at=now,
        )

    def _warn(self, name: str, snap: Snapshot) -> None:
        """One warning per value in Redis that is no count, state or time."""
        for problem in snap.problems:
            if (name, problem) not in self._warned:
                self._warned.add((name, problem))
                logger.warning(
                    "breaker %r in Redis: %s, which is not a valid value; shown as %s",
                    name, problem, "closed" if problem.startswith("state") else "0",
                )  # fmt: skip

    def entries(self, last: int | None = 10_000) -> list[tuple[str, dict[str, str]]]:
        """The newest ``last`` call-stream entries (all when None), oldest first, decoded."""
        if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
            raise ConfigError(f"last must be a whole number >= 1 or None, got {last!r}")

        def read(r: redis.Redis) -> list[Any]:
            if last is None:
                return list(r.xrange(self.stream_key) or [])
            return list(reversed(r.xrevrange(self.stream_key, count=last) or []))

        raw = self._ask("read the fleet's call stream", read)
        return [(_text(i), {_text(k): _text(v) for k, v in f.items()}) for i, f in raw]

    def newest_entry_id(self) -> str | None:
        """The id of the call stream's newest entry (None while it is empty)."""
        raw = self._ask(
            "read the fleet's call stream", lambda r: r.xrevrange(self.stream_key, count=1)
        )
        return _text(raw[0][0]) if raw else None

    def entries_after(
        self, entry_id: str, count: int = 100_000
    ) -> list[tuple[str, dict[str, str]]]:
        """Call-stream entries after ``entry_id`` ("0" for all), oldest first, at most ``count``."""

        def read(r: redis.Redis) -> list[Any]:
            return list(r.xrange(self.stream_key, min=f"({entry_id}", count=count) or [])

        raw = self._ask("read the fleet's call stream", read)
        return [(_text(i), {_text(k): _text(v) for k, v in f.items()}) for i, f in raw]

    def breakers(self) -> pd.DataFrame:
        """One row per breaker in Redis, most severe state first.

        Columns: name, state, failures, fail_max, opened_at, trial_in_s,
        reset_timeout_s, timeout_s, worker (``fail_max``, ``timeout_s`` and ``worker``
        come from the policy a toolkit worker published; missing for plain pybreaker).
        """
        from toolkit._fleet import frames

        return frames.breakers(self.statuses())

    def calls(self, last: int | None = 10_000) -> pd.DataFrame:
        """The fleet's recent calls from every worker, oldest first, with a ``worker`` column."""
        from toolkit._fleet import frames

        return frames.calls(self.entries(last))

    def latency(self, last: int | None = 10_000) -> pd.DataFrame:
        """Per integration over the fleet's recent calls: counts, success rate, percentiles."""
        from toolkit._fleet import frames

        return frames.latency(self.calls(last), self.names())

    # ------------------------------------------------------------- controls
    def _control(self, name: str, what: str, write: Callable[[Any, BreakerKeys], None]) -> None:
        keys = BreakerKeys(self.namespace, name)
        if not self._ask(f"{what} {name!r}", lambda r: r.exists(keys.state)):
            raise UnknownIntegrationError(name, self.names())

        def apply(r: redis.Redis) -> None:
            pipe = r.pipeline(transaction=True)
            write(pipe, keys)
            pipe.execute()

        self._ask(f"{what} {name!r}", apply)

    def trip(self, name: str) -> None:
        """Open ``name``'s breaker in every worker now; its wait starts now (an isolation stays)."""

        def write(pipe: Any, keys: BreakerKeys) -> None:
            pipe.set(keys.opened_at, math.ceil(time.time()))
            pipe.set(keys.success_counter, 0)
            pipe.set(keys.state, "open")

        self._control(name, "trip", write)

    def isolate(self, name: str) -> None:
        """Hold ``name``'s breaker open in every worker of ours, with no trial, until reset."""

        def write(pipe: Any, keys: BreakerKeys) -> None:
            pipe.set(keys.opened_at, math.ceil(time.time()))
            pipe.set(keys.success_counter, 0)
            pipe.set(keys.isolated, 1)
            pipe.set(keys.state, "open")

        self._control(name, "isolate", write)

    def reset(self, name: str) -> None:
        """Close ``name``'s breaker in every worker and clear its counts (ends an isolation)."""

        def write(pipe: Any, keys: BreakerKeys) -> None:
            pipe.set(keys.fail_counter, 0)
            pipe.set(keys.success_counter, 0)
            pipe.delete(keys.isolated, keys.opened_at, keys.trial)  # a bad opened_at too
            pipe.set(keys.state, "closed")

        self._control(name, "reset", write)

    def reset_all(self) -> None:
        """``reset`` every breaker under the namespace."""
        for name in self.names():
            self.reset(name)

    def expire(self, name: str) -> None:
        """End an open breaker's wait now: its next call, in any worker, is the trial."""
        status = self.status(name)
        if status.state != "open":
            return
        keys = BreakerKeys(self.namespace, name)  # long ago: over whatever a worker's wait
        self._ask(f"expire {name!r}", lambda r: r.set(keys.opened_at, EXPIRED))

    # ---------------------------------------------------------------- views
    def dashboard(self, *, interval: float = 1.0, recent: int = 20) -> FleetDashboard:
        """A live widget of every breaker in the fleet, with Trip and Reset."""
        from toolkit._fleet.dashboard import FleetDashboard

        return FleetDashboard(self, interval=interval, recent=recent)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Fleet({self.url!r}, namespace={self.namespace!r})"
