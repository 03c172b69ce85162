"""RunnerAttachment: something a runner tells when it is built and when it closes.

An archive (``toolkit.Archive``) is one: ``attach(runner)`` adds its observers,
``detach(runner)`` removes them and writes out what it still holds of that runner.
"""

from __future__ import annotations

from typing import Any, Protocol


class RunnerAttachment(Protocol):
    """Observes one or more runners between ``attach`` and ``detach``.

    ``runner`` is an ``IntegrationRunner`` (typed loosely: the runner imports this module).
    """

    def attach(self, runner: Any) -> None:
        """Start observing ``runner`` (called once, as the runner is built)."""
        ...

    def detach(self, runner: Any) -> None:
        """Stop observing ``runner`` and write out what is held of it (called by close)."""
        ...
