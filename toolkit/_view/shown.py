"""``shown(value)`` for every renderer of the view: any value as capped text that never raises.

The same helper as ``toolkit._engine.shown`` (where it lives so that the ``check``
command's report, beside the view, shares it): a value whose ``repr`` raises is
marked ``<unreadable TypeName>``, and at most ``SHOWN_CHARS`` characters are kept,
followed by a note of what was cut (``… [+49,999,000 characters]``).
"""

from __future__ import annotations

from toolkit._engine.shown import SHOWN_CHARS, Shown, shown, shown_parts

__all__ = ["SHOWN_CHARS", "Shown", "shown", "shown_parts"]
