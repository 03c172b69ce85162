"""Writes a run's breakers queue while its calls settle, sent together when the run ends.

``ACTIVE`` holds, in the context of a run (its task and the tasks of its calls), the
breaker storages that run has read: those serve reads from that read and
queue their writes here instead of sending them. Controls and status reads made
outside a run are not affected and go to Redis at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from toolkit._fleet.io import Command

ACTIVE: ContextVar[Container[object] | None] = ContextVar("toolkit_fleet_run", default=None)
"""The breaker storages whose I/O the current run batches (None: no run)."""


class Sender(Protocol):
    """Whoever queued a write: told once the write was sent (or given up)."""

    def sent(self, refused: str | None = None) -> None:
        """One queued write of this sender is no longer pending (``refused``: Redis's why not)."""
        ...


@dataclass(slots=True)
class Write:
    """One queued command, what to do with its reply, and who queued it."""

    command: Command
    on_reply: Callable[[Any], None] | None
    sender: Sender | None


class Outbox:
    """The queued writes of one storage's breakers, in the order they were made."""

    def __init__(self) -> None:
        self._writes: list[Write] = []
        self._lock = threading.Lock()

    def add(
        self,
        command: Command,
        on_reply: Callable[[Any], None] | None = None,
        sender: Sender | None = None,
    ) -> None:
        """Queue ``command``; ``on_reply`` gets its reply once sent."""
        with self._lock:
            self._writes.append(Write(command, on_reply, sender))

    def drain(self) -> list[Write]:
        """Everything queued so far, oldest first; the outbox is empty afterwards."""
        with self._lock:
            writes, self._writes = self._writes, []
        return writes

    def __len__(self) -> int:
        return len(self._writes)
