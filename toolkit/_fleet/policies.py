"""Each breaker's policy in its hash, where ``Fleet`` reads it: written when it changes.

Every policy write goes through the storage's one I/O thread (io.py), so they reach
Redis in the order they were made. A runner's policies are written when it attaches
to the storage; after that a changed policy (``set_policy``) rides in the write
pipeline of the next run that calls that integration, costing that run no round trip
and its calls nothing (it is compared once per breaker per run, not per call). What
was published is kept per breaker, so two runners sharing a storage do not undo
each other's. A policy Redis did not acknowledge (down, or slow past the deadline)
is written by the next run that calls it, and so is every policy of a breaker Redis
lost (restarted or flushed empty); one that Redis refused is logged once and not
sent again until it changes.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis

from toolkit._fleet.client import describe
from toolkit._fleet.io import Command
from toolkit._fleet.keys import BreakerKeys

if TYPE_CHECKING:
    import pybreaker

    from toolkit._engine.policy import Policy

logger = logging.getLogger("toolkit")

Published = tuple["Policy", int]
"""A policy as published, with its breaker's ``losses`` then (a later loss republishes)."""


def policy_fields(policy: Policy, worker: str) -> dict[str, str | int | float]:
    """What ``Fleet`` shows of a worker's policy (``<ns>:<integration>:toolkit:policy``)."""
    return {
        "fail_max": policy.fail_max,
        "reset_timeout": policy.reset_timeout,
        "timeout": policy.timeout,
        "worker": worker,
    }


class PolicyPublisher:
    """Which policy each breaker last published, and the commands that publish more."""

    def __init__(self, namespace: str, worker: str) -> None:
        self.namespace = namespace
        self.worker = worker
        self._published: weakref.WeakKeyDictionary[Any, Published] = (
            weakref.WeakKeyDictionary()
        )
        self._complained = False

    def command(self, name: str, policy: Policy) -> Command:
        """The ``HSET`` that publishes ``policy`` for ``name``."""
        fields = policy_fields(policy, self.worker)
        key = BreakerKeys(self.namespace, name).policy
        return ("HSET", key, *[item for pair in fields.items() for item in pair])

    def due(
        self, breakers: Sequence[pybreaker.CircuitBreaker]
    ) -> list[tuple[pybreaker.CircuitBreaker, str, Published]]:
        """Those of ``breakers`` whose policy Redis may not hold as it is now."""
        published = self._published
        out = []
        for cb in breakers:
            storage = cb._state_storage
            keys = getattr(storage, "keys", None)
            policy = getattr(cb, "policy", None)
            if not isinstance(keys, BreakerKeys) or policy is None:
                continue
            now = (policy, getattr(storage, "losses", 0))
            if published.get(cb) != now:
                out.append((cb, keys.name, now))
        return out

    def sent(
        self,
        items: Sequence[tuple[pybreaker.CircuitBreaker, str, Published]],
        replies: Sequence[Any] | None,
    ) -> None:
        """Note each policy as published, refused (logged, not retried), or owed still."""
        if replies is None:
            return  # not answered: the next run that calls them sends them again
        for (cb, name, now), reply in zip(items, replies, strict=True):
            if isinstance(reply, redis.ResponseError) and not self._complained:
                self._complained = True
                logger.warning(
                    "Redis refused to store the policy of %r (%s); Fleet shows what it "
                    "held before, until the policy changes",
                    name, describe(reply),
                )  # fmt: skip
            self._published[cb] = now

    def for_run(self, calls: Sequence[tuple[pybreaker.CircuitBreaker, float]]) -> RunPolicies:
        """The run extension that publishes what changed among these breakers' policies."""
        return RunPolicies(self, [cb for cb, _ in calls])


class RunPolicies:
    """A ``RunExtension`` for one run: its changed policies go with its write."""

    def __init__(self, publisher: PolicyPublisher, breakers: list[pybreaker.CircuitBreaker]):
        self._publisher = publisher
        self._breakers = breakers
        self._sending: list[tuple[pybreaker.CircuitBreaker, str, Published]] = []

    def read_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """Nothing to read."""
        return ()

    def read_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Nothing was read."""

    def write_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """An ``HSET`` per policy Redis may not hold as it is (decided after the run's
        read, which counts the breakers Redis lost)."""
        self._sending = self._publisher.due(self._breakers)
        command = self._publisher.command
        return [command(name, now[0]) for _, name, now in self._sending]

    def write_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Published, refused, or owed still when Redis did not answer."""
        self._publisher.sent(self._sending, replies)
