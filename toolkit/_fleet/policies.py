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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import redis

from toolkit._fleet.breaker import RedisBreakerStorage
from toolkit._fleet.client import describe
from toolkit._fleet.io import Command
from toolkit._fleet.keys import BreakerKeys

if TYPE_CHECKING:
    import pybreaker

    from toolkit._engine.policy import Policy

logger = logging.getLogger("toolkit")
SETTLED_KEPT = 16
"""How many runs' lists of breakers ``due_in_run`` remembers as settled."""

Due = tuple[RedisBreakerStorage, tuple["Policy", int]]
"""A breaker's storage, and the policy to publish for it with the storage's ``losses`` now."""


def policy_fields(policy: Policy, worker: str) -> dict[str, str | int | float]:
    """What ``Fleet`` shows of a worker's policy (``<ns>:<integration>:toolkit:policy``)."""
    return {
        "fail_max": policy.fail_max,
        "reset_timeout": policy.reset_timeout,
        "timeout": policy.timeout,
        "worker": worker,
    }


class PolicyPublisher:
    """The commands that publish policies, and the note of what each breaker published
    (``RedisBreakerStorage.published``: per breaker, so two runners on one storage
    keep theirs apart)."""

    def __init__(
        self, namespace: str, worker: str, losses: Callable[[], int] = lambda: 0
    ) -> None:
        self.namespace = namespace
        self.worker = worker
        self._complained = False
        self._losses = losses
        self._settled: dict[int, tuple[list[Any], list[Any], int]] = {}
        """Per list of breakers found with nothing due: the list, their policies then,
        and the storage's losses then (the same again: nothing is due still)."""

    def command(self, name: str, policy: Policy) -> Command:
        """The ``HSET`` that publishes ``policy`` for ``name``."""
        fields = policy_fields(policy, self.worker)
        key = BreakerKeys(self.namespace, name).policy
        return ("HSET", key, *[item for pair in fields.items() for item in pair])

    def commands(self, due: Sequence[Due]) -> list[Command]:
        """The ``HSET`` of each of ``due``."""
        return [self.command(storage.keys.name, now[0]) for storage, now in due]

    def due_in_run(self, breakers: list[pybreaker.CircuitBreaker]) -> list[Due]:
        """``due`` for a run's breakers: found at once to be none when none was due the
        last time and neither a policy nor a loss changed since (a run's usual case)."""
        policies = [getattr(cb, "policy", None) for cb in breakers]
        losses = self._losses()
        seen = self._settled.get(id(breakers))
        if seen is not None and seen[0] is breakers and seen[2] == losses and seen[1] == policies:
            return []
        out = self.due(breakers)
        if out:
            self._settled.pop(id(breakers), None)
        else:
            if len(self._settled) >= SETTLED_KEPT:
                del self._settled[next(iter(self._settled))]
            self._settled[id(breakers)] = (breakers, policies, losses)
        return out

    def due(self, breakers: Sequence[pybreaker.CircuitBreaker]) -> list[Due]:
        """Those of ``breakers`` whose policy Redis may not hold as it is now."""
        out = []
        for cb in breakers:
            storage = cb._state_storage
            policy = getattr(cb, "policy", None)
            if type(storage) is not RedisBreakerStorage or policy is None:
                continue
            published = storage.published
            if (
                published is None
                or published[1] != storage.losses
                or (published[0] is not policy and published[0] != policy)
            ):
                out.append((storage, (policy, storage.losses)))
        return out

    def sent(self, items: Sequence[Due], replies: Sequence[Any] | None) -> None:
        """Note each policy as published, refused (logged, not retried), or owed still."""
        if replies is None:
            return  # not answered: the next run that calls them sends them again
        for (storage, now), reply in zip(items, replies, strict=True):
            if isinstance(reply, redis.ResponseError) and not self._complained:
                self._complained = True
                logger.warning(
                    "Redis refused to store the policy of %r (%s); Fleet shows what it "
                    "held before, until the policy changes",
                    storage.keys.name, describe(reply),
                )  # fmt: skip
            storage.published = now

    def for_run(self, breakers: list[pybreaker.CircuitBreaker]) -> RunPolicies:
        """The run extension that publishes what changed among these breakers' policies."""
        return RunPolicies(self, breakers)


class RunPolicies:
    """A ``RunExtension`` for one run: its changed policies go with its write."""

    def __init__(self, publisher: PolicyPublisher, breakers: list[pybreaker.CircuitBreaker]):
        self._publisher = publisher
        self._breakers = breakers
        self._sending: list[Due] = []

    def read_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """Nothing to read."""
        return ()

    def read_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Nothing was read."""

    def write_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """An ``HSET`` per policy Redis may not hold as it is (decided after the run's
        read, which counts the breakers Redis lost)."""
        self._sending = self._publisher.due_in_run(self._breakers)
        return self._publisher.commands(self._sending)

    def write_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Published, refused, or owed still when Redis did not answer."""
        self._publisher.sent(self._sending, replies)
