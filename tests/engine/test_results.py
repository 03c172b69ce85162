"""IntegrationResult, IntegrationSection and IntegrationResults."""

from __future__ import annotations

import dataclasses

import pytest

from toolkit import IntegrationResult, IntegrationResults, IntegrationSection


class TestIntegrationResult:
    def test_integration_result_dataclass(self) -> None:
        result = IntegrationResult(name="weather", success=True, data={"temp": 21})
        assert (result.name, result.success, result.data, result.error) == (
            "weather", True, {"temp": 21}, None,
        )  # fmt: skip

    def test_integration_result_failure(self) -> None:
        result = IntegrationResult(name="weather", success=False, error="HTTP 503")
        assert result.success is False
        assert result.error == "HTTP 503"
        assert result.data is None

    def test_integration_result_defaults(self) -> None:
        result = IntegrationResult("weather", True)
        assert result.data is None and result.error is None

    def test_integration_result_is_frozen(self) -> None:
        result = IntegrationResult("weather", True)
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.success = False  # type: ignore[misc]


class TestIntegrationSection:
    def test_integration_section_dataclass(self) -> None:
        section = IntegrationSection("geo", "Geocoder", True, data=[1, 2])
        assert (section.name, section.display_name, section.success, section.data) == (
            "geo", "Geocoder", True, [1, 2],
        )  # fmt: skip
        assert section.error_message is None

    def test_integration_section_failure(self) -> None:
        section = IntegrationSection("geo", "Geocoder", False, error_message="timed out after 5s")
        assert section.success is False
        assert section.error_message == "timed out after 5s"

    def test_integration_section_defaults(self) -> None:
        section = IntegrationSection("geo", "Geocoder", True)
        assert section.data is None and section.error_message is None


class TestIntegrationResults:
    def test_integration_results_has_data_true(self) -> None:
        results = IntegrationResults([IntegrationSection("a", "A", True, data={"x": 1})])
        assert results.has_data is True

    def test_integration_results_has_data_false_no_sections(self) -> None:
        assert IntegrationResults([]).has_data is False

    def test_integration_results_has_data_false_all_failed(self) -> None:
        results = IntegrationResults(
            [
                IntegrationSection("a", "A", False, error_message="down"),
                IntegrationSection("b", "B", False, data={"partial": 1}, error_message="down"),
            ]
        )
        assert results.has_data is False

    @pytest.mark.parametrize("empty", [None, {}, [], ""])
    def test_integration_results_has_data_false_success_but_empty(self, empty: object) -> None:
        results = IntegrationResults([IntegrationSection("a", "A", True, data=empty)])
        assert results.has_data is False

    def test_integration_results_has_data_counts_scalar_data(self) -> None:
        assert IntegrationResults([IntegrationSection("a", "A", True, data=0)]).has_data is True

    def test_integration_results_get_section_found(self) -> None:
        wanted = IntegrationSection("b", "B", True, data=1)
        results = IntegrationResults([IntegrationSection("a", "A", True), wanted])
        assert results.get_section("b") is wanted

    def test_integration_results_get_section_not_found(self) -> None:
        results = IntegrationResults([IntegrationSection("a", "A", True)])
        assert results.get_section("zzz") is None

    def test_integration_results_default_empty(self) -> None:
        first, second = IntegrationResults(), IntegrationResults()
        assert first.sections == [] and len(first) == 0
        assert first.sections is not second.sections
