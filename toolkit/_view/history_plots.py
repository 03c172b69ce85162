"""Charts of a history (documented in ``toolkit.plots``): availability as a heatmap, and
incidents as bars on a time axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.patches import Patch
from pandas.tseries.frequencies import to_offset

from toolkit._engine.errors import ConfigError
from toolkit._view import history
from toolkit._view.palette import MUTED_COLOR, OUTCOME_COLORS, STATE_COLORS
from toolkit._view.plots import _empty, _label_rows, _new_axes, _num, _plain, _time_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["availability", "incidents"]

MAX_ROWS = 60
"""Integrations shown at most (the least available first); the title says how many more."""
MAX_PERIODS = 400
"""Periods shown at most (the latest); the title says so when there were more."""
CAUSE_COLORS = {
    "timeout": OUTCOME_COLORS["timeout"],
    "error": OUTCOME_COLORS["error"],
    "by hand": STATE_COLORS["isolated"],
    "another worker": "#8250df",
    "unknown": MUTED_COLOR,
}
VALUES = {
    "ok_share": ("share of ok calls", "RdYlGn"),
    "open_share": ("share of time open", "RdYlGn_r"),
}


def availability(
    frame: pd.DataFrame, *, value: str = "ok_share", freq: str = "1h", ax: Axes | None = None
) -> Axes:
    """A heatmap of integration x period: ``value`` (``ok_share`` or ``open_share``).

    ``frame`` is an ``frames.availability`` frame, or a calls frame (made into one with
    ``freq``). Periods without calls are blank; the least available integrations are on
    top.
    """
    if value not in VALUES:
        raise ConfigError(f"value must be one of {', '.join(VALUES)}, got {value!r}")
    if "period" not in frame.columns:
        frame = history.availability(frame, freq=freq)
    label, cmap = VALUES[value]
    grid = frame.pivot_table(index="name", columns="period", values=value, dropna=False,
                             observed=True, aggfunc="mean")  # fmt: skip
    grid = grid.astype("float64")
    notes = []
    if grid.shape[1] > MAX_PERIODS:
        notes.append(f"last {MAX_PERIODS} of {grid.shape[1]} periods")
        grid = grid.iloc[:, -MAX_PERIODS:]
    worst = grid.mean(axis=1, skipna=True)
    order = worst.sort_values(ascending=value == "ok_share", na_position="last", kind="stable")
    if len(order) > MAX_ROWS:
        notes.append(f"{MAX_ROWS} of {len(order)} integrations")
    grid = grid.loc[order.index[:MAX_ROWS]]
    names = [str(n) for n in grid.index]
    if ax is None:
        ax = _new_axes(height=min(max(1.6 + 0.3 * len(names), 2.8), 16.0))
    title = f"Availability: {label} per {_period_name(frame)}"
    if grid.empty or grid.shape[1] == 0:
        _empty(ax, "no calls")
        ax.set_title(title)
        return ax
    periods = pd.DatetimeIndex(grid.columns)
    step = periods[1] - periods[0] if len(periods) > 1 else pd.Timedelta(hours=1)
    left, right = _num(periods[0]), _num(periods[-1] + step)
    image = ax.imshow(
        np.ma.masked_invalid(grid.to_numpy()),
        aspect="auto", interpolation="nearest", cmap=colormaps[cmap], vmin=0.0, vmax=1.0,
        extent=(left, right, len(names) - 0.5, -0.5),
    )  # fmt: skip
    ax.set_facecolor("#f0f0f0")
    _label_rows(ax, names)
    _time_axis(ax)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
    bar.set_label(label)
    ax.set_title(title + (f" ({'; '.join(notes)})" if notes else ""))
    return ax


def _period_name(frame: pd.DataFrame) -> str:
    periods = pd.DatetimeIndex(frame["period"].dropna().unique()).sort_values()
    if len(periods) < 2:
        return "period"
    step = periods[1] - periods[0]
    names = {pd.Timedelta(minutes=1): "minute", pd.Timedelta(hours=1): "hour",
             pd.Timedelta(days=1): "day"}  # fmt: skip
    return names.get(step) or str(to_offset(step).freqstr)


def incidents(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each incident as a bar from its start to its end, one row per integration, coloured
    by its cause. ``frame`` is a ``frames.incidents`` frame (or an events frame)."""
    if "cause" not in frame.columns:
        frame = history.incidents(frame)
    counts = frame.groupby("name", observed=True)["duration_s"].sum()
    names = [str(n) for n in counts.sort_values(ascending=False, kind="stable").index]
    notes = ""
    if len(names) > MAX_ROWS:
        notes = f" ({MAX_ROWS} of {len(names)} integrations)"
        names = names[:MAX_ROWS]
    if ax is None:
        ax = _new_axes(height=min(max(1.6 + 0.3 * len(names), 2.8), 16.0))
    title = f"Incidents: {len(frame)} breaker openings to closings{notes}"
    if not names:
        _empty(ax, "no incidents")
        ax.set_title(title)
        return ax
    row_of = {name: row for row, name in enumerate(names)}
    shown = frame[frame["name"].astype(str).isin(row_of)]
    starts = [_num(t) for t in shown["start"]]
    ends = [
        _num(start + pd.Timedelta(seconds=float(seconds)))
        for start, seconds in zip(shown["start"], shown["duration_s"], strict=True)
    ]
    widths = [max(e - s, 1e-6) for s, e in zip(starts, ends, strict=True)]
    colors = [CAUSE_COLORS.get(str(c), MUTED_COLOR) for c in shown["cause"]]
    rows = [row_of[str(n)] for n in shown["name"]]
    ongoing = shown["ongoing"].to_numpy(dtype=bool)
    hatches = ["//" if o else "" for o in ongoing]  # still open when the data ends
    bars = ax.barh(rows, widths, left=starts, height=0.7, color=colors, linewidth=0, zorder=3)
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    _label_rows(ax, names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    _time_axis(ax)
    ax.grid(True, axis="x", alpha=0.3)
    present = [c for c in history.CAUSES if (shown["cause"].astype(str) == c).any()]
    handles = [Patch(color=CAUSE_COLORS[c], label=_plain(c)) for c in present]
    if ongoing.any():
        handles.append(Patch(facecolor="white", edgecolor=MUTED_COLOR, hatch="//",
                             label="still open"))  # fmt: skip
    ax.legend(
        handles=handles,
        loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="opened by",
    )  # fmt: skip
    ax.set_title(title)
    return ax
