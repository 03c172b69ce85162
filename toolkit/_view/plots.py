"""The charts behind ``toolkit.plots`` (documented there)."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.patches import Patch

from toolkit._engine.history import OUTCOMES, STATES
from toolkit._view import frames
from toolkit._view.palette import MUTED_COLOR, outcome_color, state_color
from toolkit._view.shown import shown

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from toolkit._engine.runner import IntegrationRunner

__all__ = ["latency", "timeline"]

MAX_LABELS = 40
"""More integrations than this and only every n-th gets a tick label."""
LABEL_CHARS = 32
"""Characters of an integration's name shown as a tick label; the rest is cut with a note."""
MARKERS = {"ok": "o", "error": "x", "timeout": "^", "circuit_open": "."}


def timeline(runner: IntegrationRunner, ax: Axes | None = None) -> Axes:
    """One bar per integration coloured by its breaker state over time, up to now."""
    names = runner.names
    if ax is None:
        ax = _new_axes(height=min(max(1.4 + 0.28 * len(names), 2.6), 14.0))
    events = frames.events(runner)
    now = pd.Timestamp.now(tz="UTC")
    start = _start_time(runner, events, now)
    current = {s.name: s.state for s in runner.statuses()}
    lefts: list[float] = []
    widths: list[float] = []
    rows: list[int] = []
    colors: list[str] = []
    by_name = {name: group for name, group in events.groupby("name", sort=False, observed=True)}
    t_now = _num(now)
    for row, name in enumerate(names):
        group = by_name.get(name)
        if group is None or group.empty:
            points: list[float] = []
            states: list[str] = [current[name]]
        else:
            points = [_num(t) for t in group["at"]]
            states = [str(group["old_state"].iloc[0]), *map(str, group["new_state"])]
            states[-1] = current[name]
        edges = [_num(start), *points, t_now]
        for (left, right), state in zip(itertools.pairwise(edges), states, strict=True):
            lefts.append(left)
            widths.append(max(right - left, 0.0))
            rows.append(row)
            colors.append(state_color(state))
    if names:
        ax.barh(
            rows,
            widths,
            left=lefts,
            height=0.8 if len(names) <= 40 else 0.95,
            color=colors,
            linewidth=0,
        )
        _label_rows(ax, names)
        ax.set_ylim(len(names) - 0.5, -0.5)  # first integration on top
        _time_axis(ax)
    else:
        _empty(ax, "no integrations")
    ax.legend(
        handles=[Patch(color=state_color(s), label=s) for s in STATES],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        title="breaker",
    )
    ax.set_title(f"Breaker states over time ({len(names)} integrations)")
    return ax


def latency(runner: IntegrationRunner, ax: Axes | None = None) -> Axes:
    """Every recorded call's duration over time, one marker and colour per outcome."""
    if ax is None:
        ax = _new_axes(height=4.5)
    calls = frames.calls(runner)
    if calls.empty:
        _empty(ax, "no calls yet")
        ax.set_title("Call latency")
        return ax
    x = _nums(calls["started_at"])
    ms = calls["duration_ms"].to_numpy(dtype="float64")
    positive = ms[ms > 0]
    log = positive.size > 0 and positive.max() / max(positive.min(), 1e-3) > 100
    y = np.maximum(ms, 1e-3) if log else ms
    outcome = calls["outcome"].astype("string").to_numpy()
    for kind in OUTCOMES:
        mask = outcome == kind
        if not mask.any():
            continue
        ax.scatter(
            x[mask],
            y[mask],
            marker=MARKERS[kind],
            color=outcome_color(kind),
            s=14 if kind == "circuit_open" else 22,
            linewidths=1.2,
            label=f"{kind} ({int(mask.sum())})",
            zorder=3,
        )
    timeout = runner.default_policy.timeout
    finite = ms[np.isfinite(ms)]
    top = float(finite.max()) if finite.size else 0.0
    if timeout * 1000.0 <= 10 * top:
        ax.axhline(
            timeout * 1000.0,
            color=MUTED_COLOR,
            linestyle="--",
            linewidth=1,
            label=f"timeout {timeout:g} s",
        )
    else:  # far above every call: a line there would squash the data onto the axis
        ax.text(
            0.99, 0.98, f"timeout {timeout:g} s (off scale)", transform=ax.transAxes,
            ha="right", va="top", color=MUTED_COLOR, fontsize=8,
        )  # fmt: skip
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("duration (ms)")
    _time_axis(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="outcome")
    n_names = calls["name"].nunique()
    ax.set_title(f"Call latency ({len(calls)} calls, {n_names} integrations)")
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def _new_axes(height: float) -> Axes:
    """A new figure (through pyplot, so a notebook shows it) with room for a side legend."""
    from matplotlib import pyplot as plt

    _, ax = plt.subplots(figsize=(10.0, height), layout="constrained")
    return ax


def _start_time(runner: IntegrationRunner, events: pd.DataFrame, now: pd.Timestamp) -> pd.Timestamp:
    """Where the timeline begins: the first call or event, at least one second before now."""
    candidates = []
    if len(runner.history):
        candidates.append(pd.Timestamp(runner.history[0].started_at))
    if not events.empty:
        candidates.append(events["at"].iloc[0])
    start = min(candidates) if candidates else now - pd.Timedelta(seconds=60)
    return min(start, now - pd.Timedelta(seconds=1))


def _num(stamp: Any) -> float:
    """A timestamp as a Matplotlib date number."""
    return float(mdates.date2num(pd.Timestamp(stamp).tz_convert("UTC").tz_localize(None)))


def _nums(stamps: pd.Series) -> np.ndarray:
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return np.asarray(mdates.date2num(naive), dtype="float64")


def _label_rows(ax: Axes, names: list[str]) -> None:
    """Integration names as tick labels; with many, every n-th only and smaller."""
    step = max(1, math.ceil(len(names) / MAX_LABELS))
    ticks = list(range(0, len(names), step))
    ax.set_yticks(ticks, [_plain(names[i]) for i in ticks], fontsize=9 if len(names) <= 20 else 7)


def _plain(name: object) -> str:
    """A label Matplotlib shows as typed: cut with a note, ``$`` kept out of mathtext."""
    return shown(name, LABEL_CHARS).replace("$", r"\$")


def _time_axis(ax: Axes) -> None:
    """Date ticks that stay distinct from sub-second spans to days."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=MUTED_COLOR)
    ax.set_xticks([])
    ax.set_yticks([])
