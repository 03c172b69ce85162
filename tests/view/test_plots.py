"""toolkit.plots: a breaker timeline and a latency chart, for one integration or two hundred."""

from __future__ import annotations

import re
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

from toolkit import ConfigError, Fault, IntegrationRunner, plots
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
def test_latency_draws_each_integration_and_marks_what_happened(count: int, tmp_path: Path) -> None:
    runner = story(count)
    try:
        ax = plots.latency(runner, theme="light")
        box = ax.get_legend()
        assert box is not None
        legend = [t.get_text() for t in box.get_texts()]
        assert legend[0] == "svc-000"  # the slowest first: it hung
        assert "timeout (2)" in legend  # svc-000 hung twice, then its breaker opened
        assert any(t.startswith("circuit_open (skipped) (") for t in legend)
        assert "timeout 0.2 s" in legend
        assert not any(t.startswith("trial call") for t in legend)  # no trial happened
        if count == 1:
            assert not any(t.startswith("error (") for t in legend)  # only what happened
        else:
            assert any(t.startswith("error (") for t in legend)
            assert f"{count - _plots.LINES} others" in legend
            own = [ln for ln in ax.get_lines() if not str(ln.get_label()).startswith("_")]
            own = [ln for ln in own if str(ln.get_label()).startswith("svc-")]
            assert len(own) == _plots.LINES  # the slowest ten in their own colours
            assert len({to_hex(ln.get_color()) for ln in own}) == _plots.LINES
        colors = {to_hex(rgba) for c in ax.collections for rgba in np.asarray(c.get_facecolor())}
        assert to_hex(OUTCOME_COLORS["timeout"]) in colors
        assert ax.get_xlabel().startswith("seconds since ") and ax.get_xlabel().endswith(
            "UTC (first call)"
        )
        assert ax.get_xlim()[0] <= 0.0 < ax.get_xlim()[1] < 60
        figure_of(ax).savefig(tmp_path / "latency.png")
    finally:
        runner.close()


def test_latency_marks_the_trial_call_with_its_outcome_and_duration() -> None:
    runner = IntegrationRunner(registry_of(Probe("pay")), fail_max=1, reset_timeout=30)
    try:
        runner.trip("pay")
        runner.expire("pay")
        runner.run_all_sync()  # the trial: it succeeds and closes the breaker
        ax = plots.latency(runner, theme="light")
        box = ax.get_legend()
        assert box is not None
        assert "trial call (1)" in [t.get_text() for t in box.get_texts()]
        notes = [t.get_text() for t in ax.texts]
        assert any(re.fullmatch(r"trial: ok, [\d.,]+ ms", n) for n in notes), notes
    finally:
        runner.close()


def test_timeline_lists_only_the_states_that_happened() -> None:
    runner = story(3)
    try:
        ax = plots.timeline(runner, theme="light")
        box = ax.get_legend()
        assert box is not None
        assert [t.get_text() for t in box.get_texts()] == ["closed", "open"]
        assert ax.get_xlabel().startswith("seconds since ")
    finally:
        runner.close()


def test_dark_theme_draws_light_text_on_a_dark_background() -> None:
    runner = story(3)
    try:
        for draw in (plots.timeline, plots.latency):
            ax = draw(runner, theme="dark")
            assert to_hex(ax.get_facecolor()) == "#111111"
            assert to_hex(figure_of(ax).get_facecolor()) == "#111111"
            assert to_hex(ax.title.get_color()) == "#e6edf3"
            assert to_hex(ax.xaxis.label.get_color()) == "#e6edf3"
            box = ax.get_legend()
            assert box is not None and {to_hex(t.get_color()) for t in box.get_texts()} == {
                "#e6edf3"
            }
    finally:
        runner.close()


def test_auto_theme_follows_jupyterlabs_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "themes.jupyterlab-settings").write_text(
        '{\n  // the theme\n  "theme": "JupyterLab Dark"\n}'
    )
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path))
    runner = story(1)
    try:
        assert to_hex(plots.timeline(runner).get_facecolor()) == "#111111"
        monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path / "none"))
        monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "none"))
        assert to_hex(plots.timeline(runner).get_facecolor()) == "#ffffff"
        with pytest.raises(ConfigError, match="theme must be 'auto', 'light' or 'dark'"):
            plots.latency(runner, theme="purple")  # type: ignore[arg-type]
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
