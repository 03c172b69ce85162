"""The Integration protocol."""

from __future__ import annotations

from probes import NeedsSettings, Probe

from toolkit import Integration


class TestProtocolCompliance:
    def test_configured_integration_is_protocol_compliant(self) -> None:
        integration = NeedsSettings({"URL": "https://example.invalid", "TOKEN": "t"})
        assert isinstance(integration, Integration)
        assert integration.is_configured() is True
        assert integration.validate_config() is None

    def test_unconfigured_integration_is_protocol_compliant(self) -> None:
        integration = NeedsSettings({})
        assert isinstance(integration, Integration)
        assert integration.is_configured() is False
        assert integration.validate_config() is None

    def test_partially_configured_returns_warning(self) -> None:
        integration = NeedsSettings({"URL": "https://example.invalid"})
        assert integration.is_configured() is False
        assert integration.validate_config() == "URL is set but TOKEN is missing"

    def test_object_missing_fetch_is_not_an_integration(self) -> None:
        class NoFetch:
            name = "x"

            def is_configured(self) -> bool:
                return True

            def validate_config(self) -> None:
                return None

        assert not isinstance(NoFetch(), Integration)
        assert isinstance(Probe("p"), Integration)
