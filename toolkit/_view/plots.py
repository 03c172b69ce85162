"""The charts behind ``toolkit.plots`` (documented there).

Times run along the x axis as seconds since the first call shown, and the axis label
says since when (its clock time, UTC). Latency is drawn per integration: one line and
colour each (the ten slowest by p95 when there are more, the others thin and grey), so
"everyone else's latency never moved" can be seen; failures, refusals and trial calls
are marked on top. Legends list only what happened. ``theme="dark"`` draws on a dark
background for JupyterLab's dark theme; the default, ``"auto"``, reads JupyterLab's
theme setting when the kernel runs on the same machine as JupyterLab, else light.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from toolkit._engine.errors import ConfigError
from toolkit._engine.history import STATES
from toolkit._view import frames
from toolkit._view.palette import MUTED_COLOR, outcome_color, state_color
from toolkit._view.shown import shown

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from toolkit._engine.runner import IntegrationRunner

__all__ = ["latency", "timeline"]

Theme = Literal["auto", "light", "dark"]

MAX_LABELS = 40
"""More integrations than this and only every n-th gets a tick label."""
LABEL_CHARS = 32
"""Characters of an integration's name shown as a tick label; the rest is cut with a note."""
LINES = 10
"""Integrations drawn in their own colour; the rest are thin grey lines."""
MARKERS = {"error": "x", "timeout": "^", "circuit_open": "|"}
OUTCOME_LABELS = {
    "error": "error",
    "timeout": "timeout",
    "circuit_open": "circuit_open (skipped)",
}
INK = {"light": "#1f2328", "dark": "#e6edf3"}
PAPER = {"light": "#ffffff", "dark": "#111111"}
GRID = {"light": "#d0d7de", "dark": "#3d444d"}
MUTED = {"light": MUTED_COLOR, "dark": "#b1bac4"}
DARK_OUTCOMES = {
    "ok": "#56d364", "error": "#ff9a92", "timeout": "#ffab70", "circuit_open": "#b1bac4",
}  # fmt: skip
SETTINGS = Path("@jupyterlab", "apputils-extension", "themes.jupyterlab-settings")


def timeline(runner: IntegrationRunner, ax: Axes | None = None, *, theme: Theme = "auto") -> Axes:
    """One bar per integration coloured by its breaker state over time, up to now."""
    tone = _tone(theme)
    names = runner.names
    if ax is None:
        ax = _new_axes(height=min(max(1.4 + 0.28 * len(names), 2.6), 14.0), tone=tone)
    events = frames.events(runner)
    now = pd.Timestamp.now(tz="UTC")
    start = _start_time(runner, events, now)
    current = {s.name: s.state for s in runner.statuses()}
    lefts: list[float] = []
    widths: list[float] = []
    rows: list[int] = []
    colors: list[str] = []
    seen: set[str] = set()
    by_name = {name: group for name, group in events.groupby("name", sort=False, observed=True)}
    t_now = _seconds(now, start)
    for row, name in enumerate(names):
        group = by_name.get(name)
        if group is None or group.empty:
            points: list[float] = []
            states: list[str] = [current[name]]
        else:
            points = [_seconds(t, start) for t in group["at"]]
            states = [str(group["old_state"].iloc[0]), *map(str, group["new_state"])]
            states[-1] = current[name]
        edges = [0.0, *points, t_now]
        for (left, right), state in zip(itertools.pairwise(edges), states, strict=True):
            lefts.append(left)
            widths.append(max(right - left, 0.0))
            rows.append(row)
            colors.append(state_color(state))
            seen.add(state)
    if names:
        ax.barh(
            rows, widths, left=lefts, height=0.8 if len(names) <= 40 else 0.95,
            color=colors, linewidth=0,
        )  # fmt: skip
        _label_rows(ax, names)
        ax.set_ylim(len(names) - 0.5, -0.5)  # first integration on top
        ax.set_xlim(0.0, max(t_now, 1.0))
        _time_axis(ax, start)
        ax.legend(
            handles=[Patch(color=state_color(s), label=s) for s in STATES if s in seen],
            loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="breaker",
        )  # fmt: skip
    else:
        _empty(ax, "no integrations", tone)
    ax.set_title(f"Breaker states over time ({len(names)} integrations)")
    _paint(ax, tone)
    return ax


def latency(runner: IntegrationRunner, ax: Axes | None = None, *, theme: Theme = "auto") -> Axes:
    """Each integration's call durations over time, one line each; failures and trials marked."""
    tone = _tone(theme)
    if ax is None:
        ax = _new_axes(height=4.5, tone=tone)
    calls = frames.calls(runner)
    if calls.empty:
        _empty(ax, "no calls yet", tone)
        ax.set_title("Call latency")
        _paint(ax, tone)
        return ax
    start = pd.Timestamp(calls["started_at"].iloc[0])
    x = _seconds_of(calls["started_at"], start)
    ms = calls["duration_ms"].to_numpy(dtype="float64")
    outcome = calls["outcome"].astype("string").to_numpy()
    ran = outcome != "circuit_open"
    positive = ms[ran & (ms > 0)]
    log = positive.size > 0 and positive.max() / max(positive.min(), 1e-3) > 100
    y = np.maximum(ms, 1e-3) if log else ms
    names = calls["name"].astype("string").to_numpy()
    order = _slowest_first(calls)
    palette = _palette(tone)
    handles: list[Any] = []
    for rank, name in enumerate(order):
        mask = (names == name) & ran
        if not mask.any():
            continue
        own = rank < LINES
        color = palette[rank % len(palette)] if own else MUTED[tone]
        (line,) = ax.plot(
            x[mask], y[mask], color=color, linewidth=1.4 if own else 0.6,
            marker="o" if own else None, markersize=3, alpha=1.0 if own else 0.5,
            label=_plain(name) if own else None, zorder=2,
        )  # fmt: skip
        if own:
            handles.append(line)
    if len(order) > LINES:
        others = f"{len(order) - LINES} others"
        handles.append(Line2D([], [], color=MUTED[tone], linewidth=0.6, label=others))
    colors = _outcome_colors(tone)
    floor = float(np.nanmin(y[ran])) if ran.any() else 1.0
    for kind, marker in MARKERS.items():
        mask = outcome == kind
        if not mask.any():
            continue
        heights = np.full(int(mask.sum()), floor) if kind == "circuit_open" else y[mask]
        label = f"{OUTCOME_LABELS[kind]} ({int(mask.sum())})"
        marks = ax.scatter(
            x[mask], heights, marker=marker, color=colors[kind], s=36, linewidths=1.6,
            label=label, zorder=4,
        )  # fmt: skip
        handles.append(marks)
    trial = (calls["state_before"].astype("string") == "half-open").to_numpy()
    if trial.any():
        rings = ax.scatter(
            x[trial], y[trial], marker="o", s=140, facecolors="none", edgecolors=INK[tone],
            linewidths=1.6, label=f"trial call ({int(trial.sum())})", zorder=5,
        )  # fmt: skip
        handles.append(rings)
        for xi, yi, out, dur in zip(x[trial], y[trial], outcome[trial], ms[trial], strict=True):
            ax.annotate(
                f"trial: {out}, {dur:,.1f} ms", (xi, yi), xytext=(8, 8),
                textcoords="offset points", fontsize=8, color=INK[tone],
            )  # fmt: skip
    timeout = runner.default_policy.timeout
    finite = ms[np.isfinite(ms)]
    top = float(finite.max()) if finite.size else 0.0
    if timeout * 1000.0 <= 10 * top:
        line = ax.axhline(
            timeout * 1000.0, color=MUTED[tone], linestyle="--", linewidth=1,
            label=f"timeout {timeout:g} s",
        )  # fmt: skip
        handles.append(line)
    else:  # far above every call: a line there would squash the data onto the axis
        ax.text(
            0.99, 0.98, f"timeout {timeout:g} s (off scale)", transform=ax.transAxes,
            ha="right", va="top", color=MUTED[tone], fontsize=8,
        )  # fmt: skip
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("duration (ms)")
    _time_axis(ax, start)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(f"Call latency per integration ({len(calls)} calls, {len(order)} integrations)")
    ax.grid(True, axis="y", alpha=0.5, color=GRID[tone])
    _paint(ax, tone)
    return ax


def _tone(theme: str) -> Literal["light", "dark"]:
    """The theme to draw in: as asked, or for "auto" JupyterLab's theme setting."""
    if theme == "light":
        return "light"
    if theme == "dark":
        return "dark"
    if theme != "auto":
        raise ConfigError(f"theme must be 'auto', 'light' or 'dark', got {theme!r}")
    return "dark" if "dark" in _lab_theme().lower() else "light"


def _lab_theme() -> str:
    """JupyterLab's theme from its user settings ("" when there are none)."""
    folders = [os.environ.get("JUPYTERLAB_SETTINGS_DIR", "")]
    config = os.environ.get("JUPYTER_CONFIG_DIR") or str(Path.home() / ".jupyter")
    folders.append(str(Path(config, "lab", "user-settings")))
    for folder in folders:
        if not folder:
            continue
        try:
            text = (Path(folder) / SETTINGS).read_text()
        except OSError:
            continue
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
        try:
            found = json.loads(body).get("theme", "")
        except (ValueError, AttributeError):
            return ""
        return found if isinstance(found, str) else ""
    return ""


def _palette(tone: str) -> list[str]:
    """Line colours, each readable on the theme's background."""
    if tone == "dark":
        return ["#79c0ff", "#ffa657", "#7ee787", "#ff7b72", "#d2a8ff", "#f2cc60",
                "#56d4dd", "#ffbedd", "#a5d6ff", "#e3b341"]  # fmt: skip
    return ["#0969da", "#bc4c00", "#1a7f37", "#cf222e", "#8250df", "#9a6700",
            "#1b7c83", "#bf3989", "#0550ae", "#6e7781"]  # fmt: skip


def _outcome_colors(tone: str) -> dict[str, str]:
    if tone == "dark":
        return DARK_OUTCOMES
    return {kind: outcome_color(kind) for kind in DARK_OUTCOMES}


def _slowest_first(calls: pd.DataFrame) -> list[str]:
    """Integration names, the highest p95 of the calls that ran first."""
    ran = calls[calls["outcome"].astype("string") != "circuit_open"]
    p95 = ran.groupby("name", observed=True)["duration_ms"].quantile(0.95)
    names = list(dict.fromkeys(calls["name"].astype("string")))
    return sorted(names, key=lambda n: (-float(p95.get(n, -1.0)), n))


def _new_axes(height: float, tone: str = "light") -> Axes:
    """A new figure (through pyplot, so a notebook shows it) with room for a side legend."""
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(10.0, height), layout="constrained")
    fig.set_facecolor(PAPER[tone])
    return ax


def _paint(ax: Axes, tone: str) -> None:
    """Background, text, ticks and frame in the theme's colours."""
    ink = INK[tone]
    ax.set_facecolor(PAPER[tone])
    for spine in ax.spines.values():
        spine.set_color(GRID[tone])
    ax.tick_params(colors=ink, which="both")
    ax.title.set_color(ink)
    ax.xaxis.label.set_color(ink)
    ax.yaxis.label.set_color(ink)
    legend = ax.get_legend()
    if legend is not None:
        for item in legend.get_texts():
            item.set_color(ink)
        legend.get_title().set_color(ink)


def _start_time(runner: IntegrationRunner, events: pd.DataFrame, now: pd.Timestamp) -> pd.Timestamp:
    """Where the timeline begins: the first call or event, at least one second before now."""
    candidates = []
    if len(runner.history):
        candidates.append(pd.Timestamp(runner.history[0].started_at))
    if not events.empty:
        candidates.append(events["at"].iloc[0])
    start = min(candidates) if candidates else now - pd.Timedelta(seconds=60)
    return min(start, now - pd.Timedelta(seconds=1))


def _seconds(stamp: Any, start: pd.Timestamp) -> float:
    """Seconds from ``start`` to ``stamp``."""
    return float((pd.Timestamp(stamp) - start).total_seconds())


def _seconds_of(stamps: pd.Series, start: pd.Timestamp) -> np.ndarray:
    return np.asarray((stamps - start).dt.total_seconds(), dtype="float64")


def _label_rows(ax: Axes, names: list[str]) -> None:
    """Integration names as tick labels; with many, every n-th only and smaller."""
    step = max(1, math.ceil(len(names) / MAX_LABELS))
    ticks = list(range(0, len(names), step))
    ax.set_yticks(ticks, [_plain(names[i]) for i in ticks], fontsize=9 if len(names) <= 20 else 7)


def _plain(name: object) -> str:
    """A label Matplotlib shows as typed: cut with a note, ``$`` kept out of mathtext."""
    return shown(name, LABEL_CHARS).replace("$", r"\$")


def _time_axis(ax: Axes, start: pd.Timestamp | None = None) -> None:
    """Seconds since ``start``, the axis label saying when that was; clock dates without it."""
    if start is None:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlabel("time (UTC)")
        return
    ax.set_xlabel(f"seconds since {start.tz_convert('UTC').strftime('%H:%M:%S')} UTC (first call)")


def _num(stamp: Any) -> float:
    """A timestamp as a Matplotlib date number (for charts drawn on clock dates)."""
    return float(mdates.date2num(pd.Timestamp(stamp).tz_convert("UTC").tz_localize(None)))


def _nums(stamps: pd.Series) -> np.ndarray:
    """Timestamps as Matplotlib date numbers (for charts drawn on clock dates)."""
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return np.asarray(mdates.date2num(naive), dtype="float64")


def _empty(ax: Axes, text: str, tone: str = "light") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=MUTED[tone])
    ax.set_xticks([])
    ax.set_yticks([])
