"""``@toolkit.integration``: an async function as an integration, set up from the environment."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

import toolkit
from toolkit import (
    Integration,
    IntegrationRegistry,
    IntegrationResult,
    IntegrationRunner,
    NotAnIntegrationError,
)
from toolkit.integrations import FunctionIntegration, integration


async def test_returned_data_becomes_a_successful_result() -> None:
    @integration
    async def weather() -> dict[str, int]:
        return {"temp": 21}

    assert isinstance(weather, Integration)
    assert weather.name == "weather" and weather.display_name == "weather"
    assert await weather.fetch() == IntegrationResult("weather", True, {"temp": 21})


async def test_name_and_display_name_are_taken_from_the_decorator() -> None:
    @toolkit.integration(name="wx", display_name="Weather API")
    async def fetch_weather() -> int:
        return 1

    assert (fetch_weather.name, fetch_weather.display_name) == ("wx", "Weather API")
    assert fetch_weather.__doc__ is None and fetch_weather.__wrapped__ is not None  # type: ignore[attr-defined]


async def test_a_returned_result_is_passed_through() -> None:
    @integration(name="api")
    async def api() -> IntegrationResult:
        return IntegrationResult("api", False, None, "maintenance")

    assert await api.fetch() == IntegrationResult("api", False, None, "maintenance")


async def test_raising_is_a_failure_counted_by_the_runner() -> None:
    @integration(name="broken")
    async def broken() -> None:
        raise RuntimeError("upstream said no")

    @integration(name="fine")
    async def fine() -> str:
        return "ok"

    registry = IntegrationRegistry()
    registry.register(broken)
    registry.register(fine)
    runner = IntegrationRunner(registry, timeout=1)
    results = await runner.run_all()
    assert results.get_section("broken").error_message == "RuntimeError: upstream said no"  # type: ignore[union-attr]
    assert results.get_section("fine").data == "ok"  # type: ignore[union-attr]
    assert runner.breaker("broken").fail_counter == 1 and runner.breaker("fine").fail_counter == 0


async def test_calling_it_still_calls_the_function() -> None:
    @integration
    async def numbers() -> list[int]:
        return [1, 2]

    assert await numbers() == [1, 2]


async def test_required_settings_are_passed_when_the_function_takes_them() -> None:
    seen: list[Mapping[str, str]] = []

    @integration(requires=["WX_URL", "WX_KEY"], env={"WX_URL": "u", "WX_KEY": "k3y-value"})
    async def wx(settings: Mapping[str, str]) -> str:
        seen.append(settings)
        return "ok"

    assert wx.is_configured()
    await wx.fetch()
    assert seen == [{"WX_URL": "u", "WX_KEY": "k3y-value"}]
    assert wx.secrets() == ["k3y-value"]  # WX_KEY looks secret; WX_URL does not


def test_missing_settings_skip_silently_and_partial_ones_warn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @integration(name="none_set", requires=["A_URL", "A_TOKEN"], env={})
    async def none_set() -> None: ...

    @integration(name="half_set", requires=["B_URL", "B_TOKEN"], env={"B_URL": "u"})
    async def half_set() -> None: ...

    registry = IntegrationRegistry()
    registry.register(none_set)
    registry.register(half_set)
    with caplog.at_level(logging.DEBUG, logger="toolkit"):
        assert registry.get_configured() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert warnings == [
        "integration 'half_set' is partly configured: environment variable B_TOKEN not set"
    ]


def test_secret_names_a_setting_to_mask() -> None:
    @integration(requires=["ACCOUNT"], secret=["ACCOUNT"], env={"ACCOUNT": "acct-123"})
    async def billing() -> None: ...

    assert billing.secrets() == ["acct-123"]


def test_a_plain_function_is_refused() -> None:
    def not_async() -> int:
        return 1

    with pytest.raises(NotAnIntegrationError, match="needs an 'async def' function"):
        integration(not_async)  # type: ignore[arg-type]


def test_a_function_of_two_arguments_is_refused() -> None:
    async def two(a: int, b: int) -> int:
        return a + b

    with pytest.raises(NotAnIntegrationError, match="takes 2 arguments"):
        FunctionIntegration(two)


async def test_secret_settings_are_masked_in_returned_data() -> None:
    @integration(requires=["SVC_TOKEN"], env={"SVC_TOKEN": "tok-98765"})
    async def whoami(settings: Mapping[str, str]) -> dict[str, str]:
        return {"token_used": settings["SVC_TOKEN"], "note": f"sent {settings['SVC_TOKEN']}"}

    assert (await whoami.fetch()).data == {"token_used": "***", "note": "sent ***"}
