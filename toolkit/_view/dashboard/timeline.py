"""Each integration's breaker changes of the last minutes, read incrementally from the events.

The dashboard's rows say since when a breaker is in its state, and its timeline
draws every integration's state over the last ``span`` seconds. Both come from
here: the first look reads the event log's tail back to ``span`` (and the last
change of each integration, however old); later looks read only new events.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit._engine.history import EventLog

SPAN_S = 300.0
"""How far back the timeline looks: five minutes."""
MAX_CHANGES = 8
"""Changes kept per integration for its lane (the oldest fall off first)."""


class StateChanges:
    """Per integration: when its state last changed, and its changes within ``span``."""

    def __init__(self, span: float = SPAN_S) -> None:
        self.span = span
        self._last: dict[str, tuple[float, str, str]] = {}
        self._changes: dict[str, deque[tuple[float, str]]] = {}
        self._seen: int | None = None

    def update(self, events: EventLog) -> set[str]:
        """Take in the events logged since the last update; the names that changed."""
        version = events.version
        if version == self._seen:
            return set()
        new = None if self._seen is None else version - self._seen
        self._seen = version
        cols = events.columns()
        at, name, old, state = cols["at"], cols["name"], cols["old_state"], cols["new_state"]
        moved: set[str] = set()
        if new is None or not 0 < new <= len(at):
            self._last.clear()
            self._changes.clear()
            start = 0
        else:
            start = len(at) - new
        for i in range(start, len(at)):
            self._last[name[i]] = (at[i], old[i], state[i])
            lane = self._changes.get(name[i])
            if lane is None:
                lane = self._changes[name[i]] = deque(maxlen=MAX_CHANGES)
            lane.append((at[i], state[i]))
            moved.add(name[i])
        return moved

    def since(self, name: str) -> tuple[float, str, str] | None:
        """``(epoch seconds, old state, new state)`` of ``name``'s last change, if any."""
        return self._last.get(name)

    def lane(self, name: str) -> list[list[object]]:
        """``[[epoch s, state], ...]``: ``name``'s last ``MAX_CHANGES`` changes, oldest first.

        Not cut to the window here: the page draws the window as its own clock moves,
        so a row is not resent just because an old change left the window.
        """
        return [[round(at, 3), state] for at, state in self._changes.get(name, ())]
