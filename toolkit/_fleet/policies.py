"""Each breaker's policy in its hash, where ``Fleet`` reads it: written when it changes.

A runner's policies are published when it attaches to the storage; after that a
changed policy (``set_policy``) rides in the write pipeline of the next run that
calls that integration, costing that run no round trip and its calls nothing (it is
checked once per breaker per run, not per call). After an outage, or when a run's
read finds that Redis lost breakers (restarted or flushed empty), every policy is
written again by the next run that calls it; a write Redis did not acknowledge is
sent again by the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from toolkit._fleet.client import Health
from toolkit._fleet.io import Command
from toolkit._fleet.keys import BreakerKeys

if TYPE_CHECKING:
    import pybreaker

    from toolkit._engine.policy import Policy


def policy_fields(policy: Policy, worker: str) -> dict[str, str | int | float]:
    """What ``Fleet`` shows of a worker's policy (``<ns>:<integration>:toolkit:policy``)."""
    return {
        "fail_max": policy.fail_max,
        "reset_timeout": policy.reset_timeout,
        "timeout": policy.timeout,
        "worker": worker,
    }


class PolicyPublisher:
    """Which policy each integration last published, and the commands to publish more."""

    def __init__(
        self, namespace: str, worker: str, health: Health, lost: Callable[[], int]
    ) -> None:
        self.namespace = namespace
        self.worker = worker
        self._health = health
        self._lost = lost
        self._published: dict[str, Policy] = {}
        self._seen = (health.outages, lost())

    def published(self, name: str, policy: Policy) -> None:
        """``policy`` of ``name`` was sent (by the storage's own writer)."""
        self._published[name] = policy

    def command(self, name: str, policy: Policy) -> Command:
        """The ``HSET`` that publishes ``policy`` for ``name``."""
        fields = policy_fields(policy, self.worker)
        return ("HSET", BreakerKeys(self.namespace, name).policy, *_flat(fields))

    def for_run(self, calls: Sequence[tuple[pybreaker.CircuitBreaker, float]]) -> RunPolicies:
        """The run extension that publishes what changed among these breakers' policies."""
        policies: dict[str, Policy] = {}
        for cb, _ in calls:
            keys = getattr(cb._state_storage, "keys", None)
            policy = getattr(cb, "policy", None)
            if isinstance(keys, BreakerKeys) and policy is not None:
                policies[keys.name] = policy
        return RunPolicies(self, policies)

    def changed(self, policies: dict[str, Policy]) -> dict[str, Policy]:
        """Those of ``policies`` Redis does not hold as they are (all, after a loss)."""
        seen = (self._health.outages, self._lost())
        if seen != self._seen:  # Redis was away, or lost breakers: it may hold none
            self._seen = seen
            self._published.clear()
        published = self._published
        return {n: p for n, p in policies.items() if published.get(n) is not p}

    def sent(self, policies: dict[str, Policy], acknowledged: bool) -> None:
        """Note ``policies`` as published, or as owed again when Redis did not answer."""
        for name, policy in policies.items():
            if acknowledged:
                self._published[name] = policy
            elif self._published.get(name) is policy:
                del self._published[name]


class RunPolicies:
    """A ``RunExtension`` for one run: its changed policies go with its write."""

    def __init__(self, publisher: PolicyPublisher, policies: dict[str, Policy]) -> None:
        self._publisher = publisher
        self._policies = policies
        self._sending: dict[str, Policy] = {}

    def read_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """Nothing to read."""
        return ()

    def read_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Nothing was read."""

    def write_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """An ``HSET`` per policy Redis does not hold yet (checked after the run's read,
        which may have found breakers lost)."""
        self._sending = self._publisher.changed(self._policies)
        command = self._publisher.command
        return [command(name, policy) for name, policy in self._sending.items()]

    def write_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Published, unless Redis did not answer or refused one."""
        ok = replies is not None and not any(isinstance(r, Exception) for r in replies)
        self._publisher.sent(self._sending, ok)


def _flat(fields: dict[str, str | int | float]) -> list[str | int | float]:
    return [item for pair in fields.items() for item in pair]
