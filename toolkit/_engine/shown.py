"""Any value as text a person can read: it never raises, is capped, and says what it cut.

Every renderer (styled frames, the dashboard, the ``check`` report, plots' labels) shows
values that came from integrations. A value whose ``str``/``repr`` raises must not break
the view, and a 50 MB string must not become 50 MB of HTML. ``shown(value)`` is the one
way they turn a value into text:

- a ``str`` is used as it is; anything else by its ``str()``, falling back to ``repr()``,
  and to ``<unreadable TypeName: ErrorType>`` when both raise;
- lists, tuples, dicts and sets are written item by item (as ``str()`` would write
  them), so an item that cannot be read is marked in place and a ten-million-item list
  costs only the items shown;
- at most ``limit`` characters are kept (``SHOWN_CHARS`` unless a renderer asks for
  fewer), followed by a note of what was cut: ``… [+49,999,000 characters]`` or
  ``… [+9,999,990 items]``.

The result is plain text: renderers still escape it for HTML (or mathtext).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SHOWN_CHARS", "Shown", "shown", "shown_parts"]

SHOWN_CHARS = 1000
"""The default cap: no renderer shows more than this many characters of one value."""

ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Shown:
    """A value's text as shown (``text``) and how much of it was left out (``cut``, ``unit``)."""

    text: str
    cut: int = 0
    unit: str = "characters"

    @property
    def note(self) -> str:
        """What was cut, ``… [+1,234 characters]``, or ``""`` when nothing was."""
        if not self.cut:
            return ""
        unit = self.unit if self.cut != 1 else self.unit.removesuffix("s")
        return f"{ELLIPSIS} [+{self.cut:,} {unit}]"

    def __str__(self) -> str:
        return self.text + self.note


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``value`` as text of at most ``limit`` characters plus a note of what was cut."""
    return str(shown_parts(value, limit))


def shown_parts(value: object, limit: int = SHOWN_CHARS) -> Shown:
    """``value`` as text cut to ``limit`` characters, and what was cut (for a styled note)."""
    limit = max(int(limit), 1)
    if isinstance(value, str):
        return _cut(str.__str__(value), limit)
    if type(value) in _CONTAINERS:
        writer = _Writer(limit)
        writer.value(value, str_form=True)
        return writer.result()
    return _cut(_text(value), limit)


def _cut(text: str, limit: int) -> Shown:
    if len(text) <= limit:
        return Shown(text)
    return Shown(text[:limit], len(text) - limit)


def _text(value: object, *, use_repr: bool = False) -> str:
    """``str()`` (or ``repr()``) of a value, falling back to the other, then to a marker."""
    first, second = (repr, str) if use_repr else (str, repr)
    for render in (first, second):
        try:
            text = render(value)
        except Exception:
            continue
        if isinstance(text, str):
            return str.__str__(text)
    return _unreadable(value)


def _unreadable(value: object) -> str:
    try:
        name = type(value).__qualname__
    except Exception:
        name = "object"
    return f"<unreadable {name}>"


_CONTAINERS = (list, tuple, dict, set, frozenset)


class _Writer:
    """Writes a builtin container as ``str()`` would, stopping at the budget."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.full = False
        self.cut_items = 0
        self.cut_chars = 0
        self.open: set[int] = set()

    def write(self, text: str) -> None:
        if self.full:
            self.cut_chars += len(text)
            return
        room = self.limit - self.size
        if len(text) > room:
            self.parts.append(text[:room])
            self.size = self.limit
            self.cut_chars += len(text) - room
            self.full = True
            return
        self.parts.append(text)
        self.size += len(text)

    def value(self, value: object, *, str_form: bool = False) -> None:
        kind = type(value)
        if kind not in _CONTAINERS:
            if self.full:
                self.cut_items += 1  # not read at all: counted as an item left out
                return
            self.write(_text(value, use_repr=not str_form))
            return
        if id(value) in self.open:
            self.write({list: "[...]", dict: "{...}"}.get(kind, "(...)"))
            return
        self.open.add(id(value))
        try:
            self._container(value)
        finally:
            self.open.discard(id(value))

    def _container(self, value: object) -> None:
        if isinstance(value, dict):
            self.write("{")
            self._items(value.items(), len(value), pairs=True)
            self.write("}")
        elif isinstance(value, list):
            self.write("[")
            self._items(iter(value), len(value))
            self.write("]")
        elif isinstance(value, tuple):
            self.write("(")
            self._items(iter(value), len(value))
            self.write(",)" if len(value) == 1 else ")")
        elif isinstance(value, set | frozenset):
            name = type(value).__name__
            if not value:
                self.write(f"{name}()")
                return
            head, tail = ("{", "}") if isinstance(value, set) else ("frozenset({", "})")
            self.write(head)
            self._items(iter(value), len(value))
            self.write(tail)

    def _items(self, items: Iterable[object], count: int, *, pairs: bool = False) -> None:
        for index, item in enumerate(items):
            if self.full:
                self.cut_items += count - index
                return
            if index:
                self.write(", ")
            if pairs:
                pair: tuple[object, object] = item  # type: ignore[assignment]
                self.value(pair[0])
                self.write(": ")
                self.value(pair[1])
            else:
                self.value(item)

    def result(self) -> Shown:
        text = "".join(self.parts)
        if self.cut_items:
            return Shown(text, self.cut_items, "items")
        return Shown(text, self.cut_chars)
