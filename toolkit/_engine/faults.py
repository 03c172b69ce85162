"""Fault: a failure injected around an integration's call, never by patching the integration."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from toolkit._engine.errors import ConfigError, InjectedFault

FaultKind = Literal["fail", "slow", "hang", "flaky", "bad_result"]
FAULT_KINDS: tuple[FaultKind, ...] = ("fail", "slow", "hang", "flaky", "bad_result")


@dataclass(frozen=True, slots=True)
class Fault:
    """A description of a fault; build one with ``Fault.fail()``, ``.slow()``, ``.hang()``,
    ``.flaky()`` or ``.bad_result()`` and pass it to ``runner.inject(name, fault)``."""

    kind: FaultKind
    message: str = "injected failure"
    seconds: float = 0.0
    rate: float = 0.0
    seed: int | None = None

    @classmethod
    def fail(cls, message: str = "injected failure") -> Fault:
        """Every call fails with ``InjectedFault(message)``; ``fetch`` is not called."""
        return cls("fail", message=str(message))

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Every call waits ``seconds`` before ``fetch`` (the wait counts toward the timeout)."""
        if not _finite(seconds) or seconds < 0:
            raise ConfigError(f"Fault.slow needs seconds >= 0, got {seconds!r}")
        return cls("slow", seconds=float(seconds))

    @classmethod
    def hang(cls) -> Fault:
        """Every call waits until it is cancelled, so only the timeout ends it."""
        return cls("hang")

    @classmethod
    def flaky(cls, rate: float, seed: int | None = None) -> Fault:
        """Each call fails with probability ``rate``; a ``seed`` makes the sequence repeatable."""
        if not _finite(rate) or not 0.0 <= rate <= 1.0:
            raise ConfigError(f"Fault.flaky needs a rate between 0 and 1, got {rate!r}")
        return cls("flaky", message="injected flaky failure", rate=float(rate), seed=seed)

    @classmethod
    def bad_result(cls) -> Fault:
        """Every call returns something that is not an ``IntegrationResult``."""
        return cls("bad_result")

    @property
    def label(self) -> str:
        """A short text for tables: ``fail('boom')``, ``slow(2s)``, ``flaky(30%)``."""
        if self.kind == "fail":
            return f"fail({self.message!r})"
        if self.kind == "slow":
            return f"slow({self.seconds:g}s)"
        if self.kind == "flaky":
            return f"flaky({self.rate:.0%})"
        return f"{self.kind}()"

    def __str__(self) -> str:
        return self.label


@dataclass(slots=True)
class ActiveFault:
    """An injected fault with its own random stream (one per injection)."""

    fault: Fault
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.fault.seed)

    async def call(self, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``fetch`` through the fault."""
        fault = self.fault
        if fault.kind == "fail":
            raise InjectedFault(fault.message)
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "hang":
            await asyncio.Event().wait()
        elif fault.kind == "flaky":
            if self.rng.random() < fault.rate:
                raise InjectedFault(fault.message)
        elif fault.kind == "bad_result":
            return _BadResult()
        return await fetch()


class _BadResult:
    """What ``Fault.bad_result()`` returns: deliberately not an IntegrationResult."""

    def __repr__(self) -> str:
        return "<injected bad result>"


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
