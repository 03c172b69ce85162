"""The served status page: one escaped HTML table, no JavaScript, refreshing itself.

Light or dark as the browser prefers; on a narrow screen the table scrolls sideways
inside the page instead of widening it.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime

from toolkit._ops.health import document, reading_status
from toolkit._ops.readings import Snapshot
from toolkit._view.palette import ON_COLOR, state_color

_SEVERITY = {"isolated": 0, "open": 1, "half-open": 2, "closed": 3}
CELL_CHARS = 200
"""Longer texts are cut in the page, with a note of how much was left out."""


def _text(value: object) -> str:
    text = "" if value is None else str(value)
    if len(text) > CELL_CHARS:
        text = text[:CELL_CHARS] + f"... ({len(text) - CELL_CHARS} more characters)"
    return html.escape(text)


def _ms(seconds: float | None) -> str:
    return "" if seconds is None or not math.isfinite(seconds) else f"{seconds * 1000:.0f} ms"


def page(snap: Snapshot, *, refresh_s: float, required: frozenset[str] = frozenset()) -> str:
    """The status page of one read: overall status, then a row per integration."""
    _, overall = document(snap, required)
    when = datetime.fromtimestamp(snap.taken_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    rows = []
    for r in sorted(snap.readings, key=lambda r: _SEVERITY.get(r.state, 4)):  # worst first
        status, why = reading_status(r)
        badge = (
            f'<span class="badge" style="background:{state_color(r.state)};color:{ON_COLOR}">'
            f"{_text(r.state)}</span>"
        )
        rows.append(
            f'<tr data-name="{_text(r.name)}" data-status="{status}">'
            f"<td class=name>{_text(r.name)}</td>"
            f"<td>{badge}</td><td>{status}</td><td class=num>{r.failures}</td>"
            f"<td>{_text(r.last_outcome)}</td><td class=num>{_ms(r.last_duration_s)}</td>"
            f"<td class=why>{_text(why)}</td></tr>"
        )
    storage = "reachable" if snap.storage_ok else "UNREACHABLE"
    body = "\n".join(rows) or '<tr><td colspan="7">No integrations configured.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{max(1, math.ceil(refresh_s))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Integration health: {overall}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; color: #1f2328; background: #fff; }}
a {{ color: #0969da; }}
.scroll {{ overflow-x: auto; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 4px 10px; border-bottom: 1px solid #d0d7de; text-align: left; }}
.num {{ text-align: right; }}
td.why {{ min-width: 18em; }}
td.name {{ min-width: 8em; }}
.badge {{ padding: 1px 8px; border-radius: 10px; font-weight: 600; }}
@media (prefers-color-scheme: dark) {{
  body {{ color: #e6edf3; background: #0d1117; }} td, th {{ border-color: #30363d; }}
  a {{ color: #58a6ff; }}
}}
</style></head><body>
<h1>Integration health: <span id="overall">{overall}</span></h1>
<p>Breaker storage: {_text(snap.storage)}, {storage} · read {when} ·
<a href="/health">/health</a> · <a href="/metrics">/metrics</a></p>
<div class="scroll"><table><thead><tr><th>integration</th><th>breaker</th><th>status</th>
<th>failures</th><th>last call</th><th>duration</th><th>why</th></tr></thead>
<tbody>
{body}
</tbody></table></div></body></html>
"""
