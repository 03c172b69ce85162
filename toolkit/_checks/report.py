"""What ``python -m toolkit check`` prints: tables for people, JSON for machines.

Everything shown passes through the masking of ``toolkit._engine.redact`` once more, with the
secrets every check declares: a report is the last place a credential could leak. Then it
is capped by ``shown``: a table cell shows at most ``SHOWN_CHARS`` characters, a JSON string
as many and a JSON list ``SHOWN_ITEMS`` items, each with a note of what was cut, and a value
whose ``repr`` raises is marked rather than fatal. Text is masked before it is cut, over a
window wider than the cut, so no cut ever ends in the first characters of a secret.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from toolkit._engine.redact import redact_data, redact_text, secrets_of
from toolkit._engine.results import IntegrationResults
from toolkit._engine.runner import IntegrationRunner
from toolkit._engine.shown import SHOWN_CHARS, Shown, shown
from toolkit._engine.status import BreakerStatus

_HIDDEN = ("elapsed_ms", "truncated")
SHOWN_ITEMS = 1000
"""Items of one JSON list written; the rest are replaced by one note of how many were cut."""
_MASK_WINDOW = 8 * SHOWN_CHARS
"""Characters of a value masked before it is cut to ``SHOWN_CHARS``."""


@dataclass(slots=True)
class Round:
    """One run of every check, as reported: results, breakers, and what changed since the last."""

    number: int
    at: datetime
    results: IntegrationResults
    statuses: list[BreakerStatus]
    skipped: list[str]
    changes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when every check that ran succeeded."""
        return all(s.success for s in self.results.sections)

    @property
    def exit_code(self) -> int:
        """0 when all healthy, 1 when any check failed."""
        return 0 if self.healthy else 1


class Reporter:
    """Turns rounds into text or JSON, masking every declared secret of the runner's checks."""

    def __init__(self, runner: IntegrationRunner) -> None:
        self.runner = runner
        self._events_seen = 0
        self._last: dict[str, bool] = {}

    def secrets(self) -> list[str]:
        """What every check declares secret, as of now."""
        return [s for i in self.runner.integrations.values() for s in secrets_of(i)]

    def round(self, number: int, results: IntegrationResults, skipped: list[str]) -> Round:
        """Snapshot a finished run, noting result flips and breaker changes since the last."""
        statuses = self.runner.statuses()
        changes: list[str] = []
        for section in results.sections:
            before = self._last.get(section.name)
            if before is not None and before != section.success:
                if section.success:
                    changes.append(f"{section.name}: failed -> ok")
                else:
                    changes.append(f"{section.name}: ok -> failed: {section.error_message}")
            self._last[section.name] = section.success
        events = self.runner.events[self._events_seen :]
        self._events_seen = len(self.runner.events)
        changes += [f"breaker {e.name}: {e.old_state} -> {e.new_state}" for e in events]
        at = datetime.now(UTC)
        return Round(number, at, results, statuses, skipped, changes)

    # ----------------------------------------------------------------- text
    def text(self, rnd: Round, *, full: bool) -> str:
        """The results and breakers tables (``full``), or one line and the changes."""
        secrets = self.secrets()
        failed = sum(not s.success for s in rnd.results.sections)
        ran = len(rnd.results.sections)
        clock = rnd.at.astimezone().strftime("%H:%M:%S")
        verdict = "all healthy" if not failed else f"{failed} failed"
        if not ran:
            verdict = f"nothing ran ({len(rnd.skipped)} not configured)"
        head = f"[{clock}] round {rnd.number}: {ran} checks, {verdict}"
        lines = [head]
        if full:
            lines += ["", "results:", *_table(self._result_rows(rnd), secrets)]
            lines += ["", "breakers:", *_table(_breaker_rows(rnd.statuses), secrets)]
            if rnd.skipped:
                lines += ["", f"skipped (not configured): {', '.join(rnd.skipped)}"]
        else:
            lines += [f"  {redact_text(change, secrets)}" for change in rnd.changes]
        return "\n".join(lines)

    def _result_rows(self, rnd: Round) -> list[list[str]]:
        by_name = {s.name: s for s in rnd.statuses}
        rows = [["name", "result", "ms", "detail"]]
        for section in rnd.results.sections:
            status = by_name.get(section.name)
            ms = status.last_duration_s if status else None
            detail = section.error_message if not section.success else _summary(section.data)
            rows.append(
                [
                    section.name,
                    "ok" if section.success else "FAILED",
                    "" if ms is None else f"{ms * 1000:.1f}",
                    detail or "",
                ]
            )
        return rows

    # ----------------------------------------------------------------- json
    def json(self, rnd: Round, *, indent: int | None) -> str:
        """The round as one JSON document, secrets masked."""
        by_name = {s.name: s for s in rnd.statuses}
        results = []
        for section in rnd.results.sections:
            status = by_name.get(section.name)
            results.append(
                {
                    "name": section.name,
                    "display_name": section.display_name,
                    "success": section.success,
                    "outcome": status.last_outcome if status else None,
                    "duration_ms": _ms(status.last_duration_s if status else None),
                    "error": section.error_message,
                    "data": _jsonable(section.data),
                }
            )
        breakers = [
            {
                "name": s.name,
                "state": s.state,
                "failures": s.failures,
                "fail_max": s.fail_max,
                "trial_in_s": s.trial_in_s,
                "last_error": s.last_error,
            }
            for s in rnd.statuses
        ]
        document = {
            "round": rnd.number,
            "at": rnd.at.isoformat(),
            "healthy": rnd.healthy,
            "exit_code": rnd.exit_code,
            "results": results,
            "breakers": breakers,
            "skipped": rnd.skipped,
            "changes": rnd.changes,
        }
        masked = _capped(_finite(redact_data(document, self.secrets())))
        return json.dumps(masked, indent=indent, allow_nan=False)


def _breaker_rows(statuses: Iterable[BreakerStatus]) -> list[list[str]]:
    rows = [["name", "state", "failures", "trial"]]
    for s in statuses:
        rows.append([s.name, s.state, f"{s.failures}/{s.fail_max}", s.trial_label])
    return rows


def _table(rows: Sequence[Sequence[str]], secrets: list[str]) -> list[str]:
    """Rows as left-aligned columns, secrets masked."""
    cells = [[_cell(c, secrets) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    joined = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
    return [f"  {line}".rstrip() for line in joined]


def _cell(value: object, secrets: list[str], limit: int = SHOWN_CHARS) -> str:
    """A value as one line of a table cell: masked, then cut to ``limit`` with a note."""
    line = " ".join(shown(value, _MASK_WINDOW).split())
    return shown(redact_text(line, secrets), limit)


def _summary(data: Any, limit: int = 80) -> str:
    """Success data in one short line: ``status=200 size=29 value=42``."""
    if data is None:
        return ""
    if isinstance(data, dict):
        parts = [
            f"{shown(k, _MASK_WINDOW)}={shown(v, _MASK_WINDOW)}"
            for k, v in data.items()
            if k not in _HIDDEN and not (k == "note" and not data.get("truncated"))
        ]
        text = " ".join(parts)
    else:
        text = shown(data, _MASK_WINDOW)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def _finite(data: Any) -> Any:
    """``data`` with NaN and infinite floats as None, which JSON has no number for."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def _capped(data: Any) -> Any:
    """``data`` with long strings and lists cut, each with a note of what was cut."""
    if isinstance(data, str):
        return data if len(data) <= SHOWN_CHARS else shown(data)
    if isinstance(data, dict):
        return {key: _capped(value) for key, value in data.items()}
    if isinstance(data, list):
        kept = [_capped(value) for value in data[:SHOWN_ITEMS]]
        if len(data) > SHOWN_ITEMS:
            kept.append(Shown("", len(data) - SHOWN_ITEMS, "items").note)
        return kept
    return data


def _jsonable(data: Any) -> Any:
    """``data`` as JSON can hold it (anything else as ``shown`` writes it)."""
    try:
        json.dumps(data)
        return data
    except Exception:  # not JSON, or a value whose own methods raise
        pass
    try:
        return json.loads(json.dumps(data, default=shown))
    except Exception:  # a container that holds itself, keys JSON cannot have
        return shown(data, _MASK_WINDOW)
