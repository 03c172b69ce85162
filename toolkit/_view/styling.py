"""Styled views of ``toolkit.frames``: state colours, duration bars, success-rate heat.

``style(df)`` recognises the frames' columns by name, so it styles any of them (and
any slice or join of them). Every cell, index label, header and axis name is
HTML-escaped: pandas' ``Styler`` escapes none of them by default, and a
``format(escape="html")`` still leaves axis names and non-string cells raw. Every
text goes through ``shown``: a value whose ``repr`` raises is marked, not fatal, and
a cell shows at most ``CELL_CHARS`` characters and a note of how many were cut.
Where there is no HTML (``print``, a headless run's text output) the styled frame
shows as the frame's plain table, its texts capped the same way.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit._engine.errors import ConfigError
from toolkit._view.palette import BAR_COLOR, ON_COLOR, outcome_color, rate_color, state_color
from toolkit._view.shown import SHOWN_CHARS, shown

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler  # imports jinja2: only when styling

__all__ = ["style"]

STATE_COLUMNS = frozenset({"state", "state_before", "state_after", "old_state", "new_state"})
OUTCOME_COLUMNS = frozenset({"outcome", "last_outcome"})
FLAG_COLUMNS = frozenset({"success", "storage_ok"})
RATE_COLUMNS = frozenset({"success_rate"})
SECONDS_COLUMNS = frozenset({"trial_in_s", "timeout_s", "reset_timeout_s"})
CELL_CHARS = SHOWN_CHARS
"""Characters of one cell, label or axis name shown; the rest is cut with a note."""


def style(df: pd.DataFrame, *, bars: bool = True) -> Styler:
    """A ``Styler`` for a ``toolkit.frames`` DataFrame, with every text HTML-escaped.

    States get their badge colour, outcomes a coloured label, ``*_ms`` columns a
    duration bar (``bars=False`` for plain numbers) and ``success_rate`` a red to
    green background.
    """
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(
            f"style() needs a pandas DataFrame such as toolkit.frames.breakers(runner), "
            f"got {type(df).__name__}"
        )
    frame = df.copy(deep=False)
    frame.index = frame.index.set_names([_name(n) for n in frame.index.names])
    frame.columns = frame.columns.set_names([_name(n) for n in frame.columns.names])
    rows, columns = list(frame.index), list(frame.columns)
    hide_rows = isinstance(frame.index, pd.RangeIndex)
    unique = _plain(frame.index) and _plain(frame.columns)
    if not unique:
        # Styler cannot address repeated labels (calls indexed by name, a concat), and
        # pandas formats labels itself, so one whose repr raises would break it:
        # style by position, then show the original labels.
        frame = frame.set_axis(pd.RangeIndex(len(rows)), axis=0)
        frame = frame.set_axis(pd.RangeIndex(len(columns)), axis=1)
    styler = _plain_styler()(frame, plain=df)
    styler.format(_text, escape=None)
    styler.format_index(_text, axis=0, escape=None)
    styler.format_index(_text, axis=1, escape=None)
    styler.set_table_attributes('class="toolkit-frame"')
    styler.set_table_styles(
        [
            {"selector": "th", "props": "text-align: left; padding: 2px 8px;"},
            {"selector": "td", "props": "padding: 2px 8px;"},
        ]
    )
    if not unique:
        styler.relabel_index([_text(label) for label in columns], axis=1)
        if not hide_rows:
            styler.relabel_index([_text(label) for label in rows], axis=0)
    if hide_rows:
        styler.hide(axis="index")
    for position, label in enumerate(columns):
        key = label if isinstance(label, str) else shown(label, CELL_CHARS)
        _style_column(styler, frame, frame.columns[position], key, position, bars)
    return styler


_PLAIN_LABELS = (str, int, float, np.number, pd.Timestamp, pd.Timedelta)


def _plain(index: pd.Index) -> bool:
    """Labels ``Styler`` can address and format itself: unique, and of plain types only."""
    if not index.is_unique:
        return False
    if isinstance(index, pd.RangeIndex) or index.dtype.kind in "biufcmM":
        return True
    levels = index.levels if isinstance(index, pd.MultiIndex) else [index]
    return all(
        value is None or isinstance(value, _PLAIN_LABELS) for level in levels for value in level
    )


@functools.cache
def _plain_styler() -> Callable[..., Styler]:
    """``Styler`` that prints as a plain table where there is no HTML (``print``, a terminal).

    Made on first use: importing pandas' ``Styler`` imports jinja2, which a service
    that never styles a frame should not pay for.
    """
    from pandas.io.formats.style import Styler

    class StyledFrame(Styler):
        """A styled ``toolkit.frames`` table whose text form is the frame's plain table."""

        def __init__(
            self, data: pd.DataFrame, *args: Any, plain: pd.DataFrame | None = None, **kw: Any
        ) -> None:
            super().__init__(data, *args, **kw)  # pandas' copies pass only the data
            self._plain = data if plain is None else plain

        def __repr__(self) -> str:
            return plain_table(self._plain)

        __str__ = __repr__

    return StyledFrame


def plain_table(df: pd.DataFrame) -> str:
    """``df`` as a plain-text table, every text capped by ``shown``; never raises."""
    try:
        capped = df.copy(deep=False)
        for position in range(capped.shape[1]):
            column = capped.iloc[:, position]
            if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
                texts = [v if _missing(v) else shown(v, CELL_CHARS) for v in column]
                capped.isetitem(position, texts)
        return capped.to_string(index=not isinstance(capped.index, pd.RangeIndex))
    except Exception as exc:  # a label or dtype pandas cannot print
        return f"<styled frame of {len(df)} rows; it cannot be printed as text: {shown(exc)}>"


def _style_column(
    styler: Styler, df: pd.DataFrame, column: Hashable, key: str, position: int, bars: bool
) -> None:
    """Apply the rule that the column's name (``key``) or dtype calls for."""
    series = df.iloc[:, position]
    subset = [column]
    if key in STATE_COLUMNS:
        styler.map(_state_css, subset=subset)
    elif key in OUTCOME_COLUMNS:
        styler.map(_outcome_css, subset=subset)
    elif key in FLAG_COLUMNS and series.dtype == bool:
        styler.format(_flag, subset=subset)
        styler.map(_flag_css, subset=subset)
    elif key in RATE_COLUMNS and _numeric(series):
        styler.format(_percent, subset=subset)
        styler.map(_rate_css, subset=subset)
    elif key.endswith("_ms") and _numeric(series):
        styler.format(_milliseconds, subset=subset)
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        if bars and finite.size and finite.max() > 0:
            # vmax from finite values only: one inf would otherwise erase every bar.
            styler.bar(
                subset=subset, color=BAR_COLOR, vmin=0.0, vmax=float(finite.max()), height=70
            )
    elif key in SECONDS_COLUMNS and _numeric(series):
        styler.format(_seconds, subset=subset)
    elif isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        styler.format(_timestamp, subset=subset)


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _missing(value: Any) -> bool:
    """True for None, NaN, NaT and pd.NA (and never raises on containers)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _guarded(format_number: Callable[[float], str]) -> Callable[[Any], str]:
    """A number formatter that shows missing values as empty and anything else escaped."""

    def formatter(value: Any) -> str:
        if _missing(value):
            return ""
        try:
            return format_number(float(value))
        except Exception:  # not a number, or one whose __float__ raises
            return _text(value)

    return formatter


def _text(value: Any) -> str:
    """Any value as escaped text; missing values as an empty cell."""
    return "" if _missing(value) else html.escape(shown(value, CELL_CHARS))


def _name(value: Hashable) -> Hashable:
    """An axis name, escaped (``Styler`` renders axis names as raw HTML)."""
    return None if value is None else html.escape(shown(value, CELL_CHARS))


_percent = _guarded(lambda v: f"{v:.0%}")
_milliseconds = _guarded(lambda v: f"{v:,.1f}")
_seconds = _guarded(lambda v: f"{v:,.1f} s")


def _timestamp(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, pd.Timestamp):  # to the millisecond: a trial follows its error closely
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    return _text(value)


def _flag(value: Any) -> str:
    return "" if _missing(value) else ("yes" if bool(value) else "no")


def _state_css(value: Any) -> str:
    if _missing(value):
        return ""
    return f"background-color: {state_color(value)}; color: {ON_COLOR}; font-weight: 600;"


def _outcome_css(value: Any) -> str:
    return "" if _missing(value) else f"color: {outcome_color(value)}; font-weight: 600;"


def _flag_css(value: Any) -> str:
    if _missing(value):
        return ""
    return f"color: {outcome_color('ok' if bool(value) else 'error')}; font-weight: 600;"


def _rate_css(value: Any) -> str:
    if _missing(value):
        return ""
    try:
        return f"background-color: {rate_color(float(value))};"
    except (TypeError, ValueError):
        return ""
