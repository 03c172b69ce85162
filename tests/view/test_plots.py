"""toolkit.plots: a breaker timeline and a latency chart, for one integration or two hundred."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from probes import Probe, registry_of

from toolkit import Fault, IntegrationRunner, plots
from toolkit._view import plots as _plots
from toolkit._view.palette import OUTCOME_COLORS, STATE_COLORS

matplotlib.use("Agg")  # no display needed; switching to Agg is allowed at any time


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def story(count: int) -> IntegrationRunner:
    """``count`` integrations, the second one failing until its breaker opens."""
    probes = [Probe(f"svc-{i:03d}") for i in range(count)]
    runner = IntegrationRunner(registry_of(*probes), timeout=0.2, fail_max=2, reset_timeout=30)
    runner.run_all_sync()
    if count > 1:
        runner.inject("svc-001", Fault.fail("down"))
    runner.inject("svc-000", Fault.hang())
    for _ in range(3):
        runner.run_all_sync()
    return runner


def bar_colors(ax: Axes, row: int) -> set[str]:
    """The colours of the bars drawn in timeline row ``row``."""
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    return {to_hex(p.get_facecolor()) for p in bars if round(p.get_y() + p.get_height() / 2) == row}


def figure_of(ax: Axes) -> Figure:
    fig = ax.figure
    assert isinstance(fig, Figure)
    return fig


@pytest.mark.parametrize("count", [1, 200])
def test_timeline_draws_each_breakers_states(count: int, tmp_path: Path) -> None:
    runner = story(count)
    try:
        ax = plots.timeline(runner)
        assert {to_hex(STATE_COLORS["closed"]), to_hex(STATE_COLORS["open"])} <= bar_colors(ax, 0)
        if count > 1:
            assert to_hex(STATE_COLORS["open"]) in bar_colors(ax, 1)
            assert bar_colors(ax, 2) == {to_hex(STATE_COLORS["closed"])}
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels[0] == "svc-000"
        assert len(labels) <= _plots.MAX_LABELS
        assert figure_of(ax).get_figheight() <= 14
        figure_of(ax).savefig(tmp_path / "timeline.png")
    finally:
        runner.close()


@pytest.mark.parametrize("count", [1, 200])
def test_latency_marks_each_outcome(count: int, tmp_path: Path) -> None:
    runner = story(count)
    try:
        ax = plots.latency(runner)
        box = ax.get_legend()
        assert box is not None
        legend = [t.get_text() for t in box.get_texts()]
        assert any(t.startswith("ok (") for t in legend)
        assert "timeout (2)" in legend  # svc-000 hung twice, then its breaker opened
        assert any(t.startswith("circuit_open (") for t in legend)
        colors = {to_hex(rgba) for c in ax.collections for rgba in np.asarray(c.get_facecolor())}
        assert to_hex(OUTCOME_COLORS["timeout"]) in colors
        assert "timeout 0.2 s" in legend
        figure_of(ax).savefig(tmp_path / "latency.png")
    finally:
        runner.close()


def test_plots_draw_into_a_given_axes_and_cope_with_nothing_to_show() -> None:
    runner = IntegrationRunner(registry_of(Probe("a$b$c")))
    try:
        fig, (top, bottom) = plt.subplots(2)
        assert plots.timeline(runner, ax=top) is top
        assert plots.latency(runner, ax=bottom) is bottom
        assert [t.get_text() for t in top.get_yticklabels()] == [r"a\$b\$c"]
        assert any(t.get_text() == "no calls yet" for t in bottom.texts)
        fig.canvas.draw()  # "$" in a name is not parsed as mathtext
    finally:
        runner.close()


def test_latency_keeps_fast_calls_readable_under_a_long_timeout() -> None:
    runner = IntegrationRunner(registry_of(Probe("a", "sleep", delay=0.01)), timeout=30)
    try:
        for _ in range(3):
            runner.run_all_sync()
        ax = plots.latency(runner)
        high = ax.get_ylim()[1]
        assert high < 1000  # the axis fits the ~10 ms calls, not the 30,000 ms timeout
        assert any(t.get_text() == "timeout 30 s (off scale)" for t in ax.texts)
    finally:
        runner.close()


def test_a_long_name_is_cut_to_the_label_cap_with_a_note_and_dollars_stay_text() -> None:
    long_name = "$x$" + "n" * 9_997
    runner = IntegrationRunner(registry_of(Probe(long_name)), timeout=0.2)
    try:
        runner.run_all_sync()
        ax = plots.timeline(runner)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        kept = long_name[: _plots.LABEL_CHARS].replace("$", r"\$")
        assert labels == [f"{kept}… [+{10_000 - _plots.LABEL_CHARS:,} characters]"]
    finally:
        runner.close()
