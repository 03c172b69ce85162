"""What an integration returns and what a run hands back: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class IntegrationResult:
    """The outcome of one ``fetch``: success with optional data, or failure with an error."""

    name: str
    success: bool
    data: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IntegrationSection:
    """One integration's part of a run, ready to display (``display_name``, ``error_message``)."""

    name: str
    display_name: str
    success: bool
    data: Any = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class IntegrationResults:
    """All sections of one run, in the registry's order."""

    sections: list[IntegrationSection] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        """True when at least one section succeeded and carries non-empty data."""
        return any(s.success and _non_empty(s.data) for s in self.sections)

    def get_section(self, name: str) -> IntegrationSection | None:
        """The section of integration ``name``, or None when the run had none."""
        for section in self.sections:
            if section.name == name:
                return section
        return None

    def __len__(self) -> int:
        return len(self.sections)


def _non_empty(data: Any) -> bool:
    """Data counts when it is not None and not an empty container or string."""
    if data is None:
        return False
    try:
        return len(data) > 0
    except TypeError:
        return True
