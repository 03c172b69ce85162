"""RedisStorage: every worker's breakers shared through one Redis, and its calls streamed there.

``IntegrationRunner(registry, storage=RedisStorage("redis://host:6379/0", namespace="shop"))``
gives each integration's breaker a ``pybreaker.CircuitRedisStorage`` (see
``RedisBreakerStorage``) under ``<namespace>:<integration>``: a plain pybreaker
worker with ``CircuitRedisStorage(..., namespace="shop:payments")`` shares the
``payments`` breaker with ours. A runner using this storage also appends each of its
calls, tagged with ``worker``, to the namespace's capped call stream, which
``toolkit.Fleet`` reads.

Each run costs at most three round trips whatever its size (``run_one`` two): one
pipelined read of every breaker before its calls launch, left out for breakers
Redis's client tracking reports unchanged, a re-read of those that changed while it
travelled, and one pipelined write once they have settled (see run.py), sent by an
I/O thread and awaited by the event loop for at most ``deadline`` seconds (0.1 s by
default). A Redis slower than that is treated as an unreachable one, for that run
and until a PING comes back within the deadline.

One trial per fleet: when a shared breaker's wait ends, the first worker whose run
reads it takes the trial lease (``<ns>:<integration>:toolkit:trial``, ``SET NX PX``)
and makes the one trial call; every other worker of ours answers ``circuit_open``
("another worker is making the trial call") until it settles. The lease lapses on
its own, after the call's timeout and grace plus one second, when that worker dies
mid-trial. Plain pybreaker workers know nothing of the lease and make their own
trial, as pybreaker does.

When Redis is unreachable (fallback chosen deliberately): runs go on, each breaker
keeps its state in this process's memory, starting from the state it last shared
(an open breaker stays open, failures keep counting, nothing falls back to
"closed"); ``available`` is False, so frames and dashboards show the storage as
down; one warning is logged, not one per call. A run then takes at most its
integrations' own timeouts plus one deadline, paid by the run that finds Redis gone
or slow: after that no run waits for Redis, and a background thread PINGs it (after
0.5 s, then every second) until it answers within the deadline. Then the shared
state wins again; a breaker Redis lost (restarted or flushed empty) is written back
from this process's state, and the policies and the set of breakers are published
again. Controls and status reads outside a run wait at most ``socket_timeout``.
Call records wait in memory meanwhile and are streamed once Redis is back.
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
from typing import TYPE_CHECKING, Any

import redis

from toolkit._engine.errors import ConfigError
from toolkit._engine.recorder import CallFields
from toolkit._fleet.breaker import RedisBreakerStorage
from toolkit._fleet.client import SOCKET_TIMEOUT, DirectConnection, Health, connect
from toolkit._fleet.io import DEADLINE, RedisIO
from toolkit._fleet.keys import BreakerKeys, check_namespace, stream_key
from toolkit._fleet.outbox import Outbox
from toolkit._fleet.policies import PolicyPublisher
from toolkit._fleet.run import FleetRun, Group, RunExtension
from toolkit._fleet.stream import STREAM_MAXLEN, StreamWriter
from toolkit._fleet.window import SharedWindows

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pybreaker

    from toolkit._engine.runner import IntegrationRunner

DEFAULT_NAMESPACE = "toolkit"
GROUPS_KEPT = 16
"""How many runs' breaker groups a storage keeps (a runner's run_all, its run_one)."""


def default_worker() -> str:
    """``host:pid``: how this process is named in the call stream."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RedisStorage:
    """Breaker state shared by every worker through Redis, in pybreaker's key layout."""

    kind = "redis"

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        worker: str | None = None,
        record_calls: bool = True,
        stream_maxlen: int = STREAM_MAXLEN,
        socket_timeout: float = SOCKET_TIMEOUT,
        deadline: float = DEADLINE,
        client_tracking: bool = True,
    ) -> None:
        self.namespace = check_namespace(namespace)
        if worker is not None and (not isinstance(worker, str) or not worker):
            raise ConfigError(f"worker must be a non-empty string, got {worker!r}")
        if (
            isinstance(stream_maxlen, bool)
            or not isinstance(stream_maxlen, int)
            or stream_maxlen < 1
        ):
            raise ConfigError(f"stream_maxlen must be a whole number >= 1, got {stream_maxlen!r}")
        if (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or not 0 < deadline <= socket_timeout
        ):
            raise ConfigError(
                f"deadline must be > 0 and <= socket_timeout ({socket_timeout:g} s), "
                f"got {deadline!r}"
            )
        self.client, self.url = connect(url_or_client, socket_timeout=socket_timeout)
        self.health = Health(self.client, self.url, deadline=float(deadline))
        self.worker = worker or default_worker()
        self.deadline = float(deadline)
        self.io = RedisIO(
            self.client, self.health, deadline=self.deadline, tracking=bool(client_tracking)
        )
        """The I/O thread runs use; ``io.round_trips`` counts its exchanges."""
        self._outbox = Outbox()
        self.windows = SharedWindows()
        """The shared windows of this storage's breakers, read and written by its runs."""
        self._extensions: list[RunExtension] = [self.windows]
        self.lost = 0
        """Breakers found missing in Redis and written back (a restart, FLUSHALL)."""
        self._direct = DirectConnection(self.client)
        self.stream: StreamWriter | None = (
            StreamWriter(self.client, stream_key(self.namespace), self.health, maxlen=stream_maxlen)
            if record_calls
            else None
        )
        self._seq = itertools.count(1)
        self.source = secrets.token_hex(4)
        """Random per storage: with ``seq``, tells its records from another's of one worker name."""
        self._observers: dict[int, Callable[[CallFields], None] | None] = {}
        """Attached runners, by id: the observer streaming each one's calls (None: not streamed)."""
        self._policies = PolicyPublisher(self.namespace, self.worker, lambda: self.lost)
        self._groups: dict[tuple[Any, ...], Group] = {}

    def state_storage(self, name: str) -> RedisBreakerStorage:
        """pybreaker storage for integration ``name`` under ``<namespace>:<name>``."""
        keys = BreakerKeys(self.namespace, name)
        return RedisBreakerStorage(
            self.client, keys, self.health, self._direct, self._outbox, self.worker,
            self._lost, self.windows, self.io.tracker,
        )  # fmt: skip

    def _lost(self) -> None:
        self.lost += 1

    def begin_run(self, calls: Sequence[tuple[pybreaker.CircuitBreaker, float]]) -> FleetRun:
        """One run's read and write of these breakers (the runner calls it; see run.py).

        The same calls make the same ``Group``: the last ``GROUPS_KEPT`` are kept, so a
        runner's every ``run_all`` finds its breakers sorted out already."""
        key = tuple(calls)
        group = self._groups.pop(key, None)
        if group is None:
            group = Group(calls)
            if len(self._groups) >= GROUPS_KEPT:
                del self._groups[next(iter(self._groups))]  # the least recently used
        self._groups[key] = group
        extensions = [*self._extensions, self._policies.for_run(group.breakers)]
        return FleetRun(self.io, self._outbox, group, extensions)

    def add_run_extension(self, extension: RunExtension) -> None:
        """Add ``extension``'s commands to every later run's read and write pipelines."""
        if not isinstance(extension, RunExtension):
            raise ConfigError(
                "a run extension needs read_commands, read_replies, write_commands and "
                f"write_replies, got {extension!r}"
            )
        if extension not in self._extensions:
            self._extensions.append(extension)

    def remove_run_extension(self, extension: RunExtension) -> None:
        """Stop adding ``extension``'s commands to runs."""
        if extension in self._extensions:
            self._extensions.remove(extension)

    @property
    def available(self) -> bool:
        """False while Redis is unreachable (breakers then keep their state locally)."""
        return self.health.ok

    # ------------------------------------------------- runner hooks (optional)
    def attach(self, runner: IntegrationRunner) -> None:
        """Publish ``runner``'s policies and stream its calls (called by the runner).

        The policies are written at once (waiting at most a second: the fleet sees them
        as soon as the runner exists); one changed later, or not acknowledged, or of a
        breaker Redis lost, is written by the next run that calls it (policies.py).
        """
        if id(runner) in self._observers:
            return
        publisher = self._policies
        due = publisher.due([runner.breaker(name) for name in runner.names])
        publisher.sent(due, self.io.call(publisher.commands(due), timeout=1.0))
        stream, worker, seq, source = self.stream, self.worker, self._seq, self.source
        self._observers[id(runner)] = None
        if stream is None:  # a runner's record sinks cost each call; none unless streaming
            return

        def observe(fields: CallFields) -> None:
            stream.append_fields(fields, worker, next(seq), source)

        self._observers[id(runner)] = observe
        runner.add_record_sink(observe)

    def detach(self, runner: IntegrationRunner) -> None:
        """Stop streaming ``runner``'s calls and send what is queued (called on close)."""
        observe = self._observers.pop(id(runner), None)
        if observe is not None:
            runner.remove_record_sink(observe)
        self.flush(timeout=2.0)

    # -------------------------------------------------------------- lifecycle
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued call record is in Redis (False if ``timeout`` passed)."""
        return True if self.stream is None else self.stream.flush(timeout)

    def close(self) -> None:
        """Send queued call records, stop the background threads, close the connections."""
        if self.stream is not None:
            self.stream.close()
        self.io.close()
        self.health.close()
        self._direct.close()
        self.client.close()

    def __enter__(self) -> RedisStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "available" if self.available else "unreachable: local state"
        return f"RedisStorage({self.url!r}, namespace={self.namespace!r}) <{state}>"
