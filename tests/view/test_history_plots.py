"""plots.availability and plots.incidents: what is drawn is what the frames hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from toolkit import ConfigError, frames, plots
from toolkit._view.history_plots import CAUSE_COLORS, MAX_ROWS
from view.test_history import OUTAGE, calls_of, events_of
from view.test_plots import figure_of

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def heat(ax: Axes) -> np.ma.MaskedArray:
    """The values the heatmap's one image shows, blanks masked."""
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    values = image.get_array()
    assert values is not None
    return np.ma.masked_invalid(np.ma.filled(np.ma.asarray(values, dtype="float64"), np.nan))


def week_of_calls(names: int) -> pd.DataFrame:
    """``names`` integrations called hourly for a day; svc-000 fails every call."""
    rows = [
        (f"svc-{n:03d}", h * 3600, 5, "error" if n == 0 else "ok", "closed", "closed")
        for n in range(names)
        for h in range(24)
    ]
    return calls_of(rows)


def test_the_heatmap_holds_each_integrations_share_per_period_least_available_on_top(
    tmp_path: Path,
) -> None:
    rows = [
        *OUTAGE,
        ("b", 0, 0, "ok", "closed", "closed"),
        ("b", 2400, 0, "ok", "closed", "closed"),
    ]
    table = frames.availability(calls_of(rows), freq="15min")
    ax = plots.availability(table)
    grid = heat(ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]  # a had the outage
    expected = table.pivot(index="name", columns="period", values="ok_share").to_numpy()
    np.testing.assert_allclose(grid.filled(np.nan), expected)
    assert np.ma.is_masked(grid[1, 1])  # b had no calls in the second quarter: blank
    assert "share of ok calls per 15min" in ax.get_title()
    figure_of(ax).savefig(tmp_path / "heatmap.png")


def test_the_heatmap_of_open_time_takes_a_calls_frame_and_its_freq() -> None:
    ax = plots.availability(calls_of(OUTAGE), value="open_share", freq="15min")
    np.testing.assert_allclose(heat(ax)[0].filled(np.nan), np.array([1 / 3, 1.0, 0.0]))
    assert "share of time open" in ax.get_title()
    with pytest.raises(ConfigError, match="value must be one of"):
        plots.availability(calls_of(OUTAGE), value="uptime")


def test_the_heatmap_caps_its_rows_and_says_so() -> None:
    ax = plots.availability(week_of_calls(MAX_ROWS + 5))
    assert heat(ax).shape[0] == MAX_ROWS
    assert f"{MAX_ROWS} of {MAX_ROWS + 5} integrations" in ax.get_title()
    assert ax.get_yticklabels()[0].get_text() == "svc-000"  # the failing one first


def test_incidents_are_bars_from_start_to_end_coloured_by_cause(tmp_path: Path) -> None:
    calls = calls_of([
        ("a", 9.99, 10, "error", "closed", "open"),
        ("b", 100, 1, "ok", "closed", "closed"),
    ])  # fmt: skip
    events = events_of([
        ("a", 10, "closed", "open"), ("a", 70, "open", "closed"),
        ("b", 200, "closed", "open"),  # tripped by hand, still open
    ])  # fmt: skip
    found = frames.incidents(events, calls)
    ax = plots.incidents(found)
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0]
    assert len(bars) == 2
    by_color = {to_hex(bar.get_facecolor()): bar for bar in bars}
    assert set(by_color) == {CAUSE_COLORS["error"], CAUSE_COLORS["by hand"]}
    error_bar = by_color[CAUSE_COLORS["error"]]
    assert error_bar.get_width() * 86400 == pytest.approx(60.0, abs=1e-3)  # days to seconds
    assert by_color[CAUSE_COLORS["by hand"]].get_hatch() == "//"  # still open
    box = ax.get_legend()
    assert box is not None
    legend = [t.get_text() for t in box.get_texts()]
    assert legend == ["error", "by hand", "still open"]
    figure_of(ax).savefig(tmp_path / "incidents.png")


def test_no_incidents_say_so() -> None:
    ax = plots.incidents(frames.incidents(events_of([])))
    assert any(t.get_text() == "no incidents" for t in ax.texts)
    empty = plots.availability(calls_of([]))
    assert any(t.get_text() == "no calls" for t in empty.texts)
