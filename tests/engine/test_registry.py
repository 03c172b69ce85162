"""IntegrationRegistry: registration, configuration filtering and its log lines."""

from __future__ import annotations

import logging

import pytest
from probes import NeedsSettings, Probe

from toolkit import (
    DuplicateIntegrationError,
    IntegrationRegistry,
    IntegrationResult,
    NotAnIntegrationError,
)

SETTINGS = {"URL": "https://example.invalid", "TOKEN": "t"}


class TestIntegrationRegistry:
    def test_registry_empty_when_no_integrations(self) -> None:
        registry = IntegrationRegistry()
        assert registry.get_configured() == []
        assert registry.get_all() == []
        assert len(registry) == 0

    def test_registry_filters_unconfigured(self, caplog: pytest.LogCaptureFixture) -> None:
        registry = IntegrationRegistry()
        registry.register(Probe("on"))
        registry.register(Probe("off", configured=False))
        caplog.set_level(logging.DEBUG, logger="toolkit")
        assert [i.name for i in registry.get_configured()] == ["on"]
        assert not [r for r in caplog.records if r.levelno >= logging.INFO]

    def test_registry_logs_partial_config_warning(self, caplog: pytest.LogCaptureFixture) -> None:
        registry = IntegrationRegistry()
        registry.register(NeedsSettings)
        with caplog.at_level(logging.DEBUG, logger="toolkit"):
            configured = registry.get_configured({"URL": "https://example.invalid"})
        assert configured == []
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert "needs_settings" in warnings[0].getMessage()
        assert "TOKEN is missing" in warnings[0].getMessage()

    def test_registry_get_all_returns_all(self) -> None:
        registry = IntegrationRegistry()
        registry.register(Probe("on"))
        registry.register(Probe("off", configured=False))
        registry.register(NeedsSettings)
        assert [i.name for i in registry.get_all()] == ["on", "off", "needs_settings"]

    def test_registry_register_idempotent(self) -> None:
        registry = IntegrationRegistry()
        probe = Probe("p")
        assert registry.register(probe) is probe
        assert registry.register(probe) is probe
        assert registry.register(NeedsSettings) is NeedsSettings
        assert registry.register(NeedsSettings) is NeedsSettings
        assert len(registry) == 2

    def test_registry_handles_init_failure(self, caplog: pytest.LogCaptureFixture) -> None:
        class Broken:
            name = "broken"

            def __init__(self, settings: object) -> None:
                raise ValueError("no credentials file")

            def is_configured(self) -> bool:
                return True

            def validate_config(self) -> None:
                return None

            async def fetch(self) -> IntegrationResult:
                return IntegrationResult("broken", True)

        registry = IntegrationRegistry()
        registry.register(Broken)
        registry.register(Probe("fine"))
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            configured = registry.get_configured()
        assert [i.name for i in configured] == ["fine"]
        assert any("no credentials file" in r.getMessage() for r in caplog.records)

    def test_register_works_as_class_decorator_and_passes_settings(self) -> None:
        registry = IntegrationRegistry()

        @registry.register
        class Decorated(NeedsSettings):
            name = "decorated"

        assert Decorated.__name__ == "Decorated"
        (instance,) = registry.get_configured(SETTINGS)
        assert isinstance(instance, Decorated)
        assert instance.url == SETTINGS["URL"]

    def test_registries_do_not_share_state(self) -> None:
        first, second = IntegrationRegistry(), IntegrationRegistry()
        first.register(Probe("only-in-first"))
        assert second.get_all() == []

    def test_register_rejects_object_missing_members(self) -> None:
        class NotOne:
            name = "x"

            def is_configured(self) -> bool:
                return True

        with pytest.raises(NotAnIntegrationError) as info:
            IntegrationRegistry().register(NotOne())
        assert isinstance(info.value, TypeError)
        assert "validate_config" in str(info.value) and "fetch" in str(info.value)

    def test_register_rejects_sync_fetch(self) -> None:
        class SyncFetch:
            name = "sync"

            def is_configured(self) -> bool:
                return True

            def validate_config(self) -> None:
                return None

            def fetch(self) -> IntegrationResult:
                return IntegrationResult("sync", True)

        with pytest.raises(NotAnIntegrationError, match="async def fetch"):
            IntegrationRegistry().register(SyncFetch)

    def test_register_rejects_instance_without_name(self) -> None:
        probe = Probe("p")
        probe.name = 42  # type: ignore[assignment]
        with pytest.raises(NotAnIntegrationError, match="name"):
            IntegrationRegistry().register(probe)

    def test_two_integrations_with_one_name_are_refused(self) -> None:
        registry = IntegrationRegistry()
        registry.register(Probe("same"))
        with pytest.raises(DuplicateIntegrationError, match="'same'"):
            registry.register(Probe("same"))

    def test_duplicate_name_set_in_constructor_is_refused_when_instantiated(self) -> None:
        class Late:
            def __init__(self, settings: object) -> None:
                self.name = "same"

            def is_configured(self) -> bool:
                return True

            def validate_config(self) -> None:
                return None

            async def fetch(self) -> IntegrationResult:
                return IntegrationResult("same", True)

        registry = IntegrationRegistry()
        registry.register(Probe("same"))
        registry.register(Late)
        with pytest.raises(DuplicateIntegrationError, match="unique"):
            registry.get_configured()

    def test_class_redefined_in_a_rerun_cell_replaces_the_old_one(self) -> None:
        registry = IntegrationRegistry()

        def define() -> type:
            class Cell(NeedsSettings):
                name = "cell"

            return Cell

        first, second = define(), define()
        registry.register(first)
        registry.register(second)
        assert len(registry) == 1
        assert type(registry.get_all(SETTINGS)[0]) is second

    def test_configuration_check_that_raises_skips_only_that_integration(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        class Exploding(Probe):
            def is_configured(self) -> bool:
                raise OSError("cannot read env")

        registry = IntegrationRegistry()
        registry.register(Exploding("boom"))
        registry.register(Probe("fine"))
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            assert [i.name for i in registry.get_configured()] == ["fine"]
        assert any("cannot read env" in r.getMessage() for r in caplog.records)
