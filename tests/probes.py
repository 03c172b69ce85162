"""Small real integrations for the tests: each behaves as told, and counts its calls."""

from __future__ import annotations

import asyncio
from typing import Any

from toolkit import IntegrationResult


class Probe:
    """An integration whose next calls do what ``behaviour`` says.

    ok: return success with ``data``; raise: raise RuntimeError; fail: return
    success=False; bad: return a non-result; sleep: wait ``delay`` then succeed;
    hang: wait until cancelled; stubborn: ignore cancellation until ``delay`` passes.
    """

    def __init__(
        self,
        name: str,
        behaviour: str = "ok",
        *,
        delay: float = 0.0,
        data: Any = None,
        configured: bool = True,
        warning: str | None = None,
        display_name: str | None = None,
    ) -> None:
        self.name = name
        self.behaviour = behaviour
        self.delay = delay
        self.data = {"value": 1} if data is None else data
        self.configured = configured
        self.warning = warning
        if display_name is not None:
            self.display_name = display_name
        self.calls = 0
        self.active = 0
        self.max_active = 0

    def is_configured(self) -> bool:
        return self.configured

    def validate_config(self) -> str | None:
        return self.warning

    async def fetch(self) -> Any:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            return await self._behave()
        finally:
            self.active -= 1

    async def _behave(self) -> Any:
        b = self.behaviour
        if b == "ok":
            if self.delay:
                await asyncio.sleep(self.delay)
            return IntegrationResult(self.name, True, self.data)
        if b == "sleep":
            await asyncio.sleep(self.delay)
            return IntegrationResult(self.name, True, self.data)
        if b == "raise":
            if self.delay:
                await asyncio.sleep(self.delay)
            raise RuntimeError(f"{self.name} is down")
        if b == "fail":
            return IntegrationResult(self.name, False, None, "upstream said no")
        if b == "bad":
            return {"not": "a result"}
        if b == "hang":
            await asyncio.Event().wait()
        if b == "stubborn":
            loop = asyncio.get_running_loop()
            end = loop.time() + self.delay
            while loop.time() < end:
                try:
                    await asyncio.sleep(end - loop.time())
                except asyncio.CancelledError:
                    continue
            return IntegrationResult(self.name, True, self.data)
        raise AssertionError(f"unknown behaviour {b!r}")


class NeedsSettings:
    """A class-registered integration configured from a settings mapping, like the seed's."""

    name = "needs_settings"
    display_name = "Needs Settings"

    def __init__(self, settings: dict[str, str] | None) -> None:
        settings = settings or {}
        self.url = settings.get("URL")
        self.token = settings.get("TOKEN")

    def is_configured(self) -> bool:
        return bool(self.url and self.token)

    def validate_config(self) -> str | None:
        if self.url and not self.token:
            return "URL is set but TOKEN is missing"
        return None

    async def fetch(self) -> IntegrationResult:
        return IntegrationResult(self.name, True, {"url": self.url})


def registry_of(*integrations: Any) -> Any:
    """A registry holding ``integrations`` in order."""
    from toolkit import IntegrationRegistry

    registry = IntegrationRegistry()
    for integration in integrations:
        registry.register(integration)
    return registry
