"""The public surface: ``toolkit.__all__`` is sorted, complete and importable."""

from __future__ import annotations

import toolkit


def test_all_is_sorted() -> None:
    assert toolkit.__all__ == sorted(toolkit.__all__, key=lambda n: (n[0].islower(), n))


def test_every_public_name_resolves() -> None:
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None, name


def test_all_lists_every_public_attribute() -> None:
    public = {
        name
        for name, value in vars(toolkit).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("toolkit")
    }
    assert public <= set(toolkit.__all__)


def test_contract_names_from_the_design() -> None:
    for name in (
        "Integration", "IntegrationResult", "IntegrationSection", "IntegrationResults",
        "IntegrationRegistry", "IntegrationRunner", "Fault", "CallRecord", "BreakerEvent",
        "frames", "Dashboard",
    ):  # fmt: skip
        assert name in toolkit.__all__
