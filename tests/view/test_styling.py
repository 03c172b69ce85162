"""toolkit.frames.style: coloured states, bars and rates, with every text HTML-escaped."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pandas as pd
import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, Fault, IntegrationRunner, frames
from toolkit._view.palette import STATE_COLORS

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def runner() -> Iterator[IntegrationRunner]:
    probes = [Probe("fast"), Probe(EVIL, "raise"), Probe("slow", "sleep", delay=0.02)]
    runner = IntegrationRunner(registry_of(*probes), timeout=0.5, fail_max=2)
    runner.inject("fast", Fault.fail("<script>alert(1)</script>"))
    for _ in range(3):
        runner.run_all_sync()
    yield runner
    runner.close()


def test_style_is_reachable_from_frames() -> None:
    assert "style" in frames.__all__
    assert frames.style.__module__ == "toolkit.frames"


@pytest.mark.parametrize("frame", ["breakers", "calls", "latency", "events"])
def test_every_runner_frame_renders_escaped(runner: IntegrationRunner, frame: str) -> None:
    html = frames.style(getattr(frames, frame)(runner)).to_html()
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_results_frame_escapes_data_objects(runner: IntegrationRunner) -> None:
    assert runner.last_results is not None
    df = frames.results(runner.last_results)
    row: list[object] = ["x", "x", True, None, {"html": "<b>bold</b>"}]
    df.loc[len(df)] = row  # type: ignore[assignment]
    html = frames.style(df).to_html()
    assert "<b>bold" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert ">yes<" in html and ">no<" in html


def test_index_headers_and_axis_names_are_escaped() -> None:
    df = pd.DataFrame({"<th>col</th>": ["<i>cell</i>"]}, index=pd.Index(["<u>row</u>"]))
    df.index.name = "<em>index</em>"
    df.columns.name = "<q>columns</q>"
    html = frames.style(df).to_html()
    for raw in ("<th>col", "<i>", "<u>", "<em>", "<q>"):
        assert raw not in html
    for escaped in ("&lt;th&gt;col", "&lt;i&gt;cell", "&lt;u&gt;row", "&lt;em&gt;", "&lt;q&gt;"):
        assert escaped in html


def test_states_get_their_colours(runner: IntegrationRunner) -> None:
    styler = frames.style(frames.breakers(runner))
    html = styler.to_html()
    assert f"background-color: {STATE_COLORS['open']}" in html  # EVIL's breaker opened
    assert f"background-color: {STATE_COLORS['closed']}" in html


def test_durations_get_bars_and_rates_a_heat(runner: IntegrationRunner) -> None:
    html = frames.style(frames.latency(runner)).to_html()
    assert "linear-gradient" in html  # duration bars
    assert ">0%<" in html and ">100%<" in html
    assert "#ffd7d5" in html and "#d1f2d6" in html  # red for 0 %, green for 100 %
    plain = frames.style(frames.latency(runner), bars=False).to_html()
    assert "linear-gradient" not in plain


def test_empty_and_all_missing_frames_render() -> None:
    empty = frames.style(pd.DataFrame({"p50_ms": pd.Series([], dtype="float64")}))
    assert "p50_ms" in empty.to_html()
    missing = frames.style(pd.DataFrame({"p95_ms": [float("nan")], "success_rate": [None]}))
    html = missing.to_html()
    assert 'class="data row0 col0" ></td>' in html and 'class="data row0 col1" ></td>' in html


def test_style_refuses_what_is_not_a_dataframe() -> None:
    with pytest.raises(ConfigError, match=r"style\(\) needs a pandas DataFrame .* got list"):
        frames.style([1, 2])  # type: ignore[arg-type]


def test_frames_load_without_jinja2_until_styling() -> None:
    code = (
        "import sys, pandas as pd, toolkit.frames as f; assert 'jinja2' not in sys.modules; "
        "f.style(pd.DataFrame({'a': [1]})).to_html(); assert 'jinja2' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_frames_with_repeated_labels_style_and_stay_escaped(runner: IntegrationRunner) -> None:
    by_name = frames.calls(runner).set_index("name")
    assert not by_name.index.is_unique
    html = frames.style(by_name).to_html()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert STATE_COLORS["open"] in html  # the state columns are still coloured
    doubled = pd.concat([frames.latency(runner), frames.latency(runner)], axis=1)
    html = frames.style(doubled).to_html()
    assert html.count(">p95_ms<") == 2


def test_an_infinite_duration_leaves_the_other_bars_in_place() -> None:
    df = pd.DataFrame({"p95_ms": [10.0, 20.0, float("inf")]})
    html = frames.style(df).to_html()
    widths = re.findall(r"linear-gradient\(90deg, #[0-9a-f]+ ([0-9.]+)%", html)
    assert sorted(widths) == ["100.0", "50.0"]


class Unreadable:
    """A value whose ``str`` and ``repr`` both raise."""

    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    __str__ = __repr__

    def __float__(self) -> float:
        raise RuntimeError("float refused")


def test_values_whose_repr_raises_render_marked_in_cells_labels_and_rules() -> None:
    columns = ["name", "data", "state", "outcome", "duration_ms", "success_rate", Unreadable()]
    df = pd.DataFrame(
        [
            ["a", Unreadable(), Unreadable(), Unreadable(), Unreadable(), Unreadable(), 1],
            ["b", {"k": Unreadable()}, "open", "ok", 1.5, 0.5, 2],
        ],
        index=pd.Index([Unreadable(), "row"], dtype=object),
        columns=pd.Index(columns, dtype=object),
    )
    html = frames.style(df).to_html()
    assert html.count("&lt;unreadable Unreadable&gt;") >= 7
    assert "{&#x27;k&#x27;: &lt;unreadable Unreadable&gt;}" in html
    assert f"background-color: {STATE_COLORS['open']}" in html  # the readable cell keeps its rule


def test_a_huge_value_is_cut_to_the_cell_cap_with_a_note() -> None:
    from toolkit._view.styling import CELL_CHARS

    huge = "y" * 5_000_000
    df = pd.DataFrame({"name": ["a"], "data": [huge]}, index=pd.Index(["z" * 20_000]))
    html = frames.style(df).to_html()
    assert len(html) < 3 * CELL_CHARS + 3000
    assert "y" * CELL_CHARS + f"… [+{5_000_000 - CELL_CHARS:,} characters]" in html
    assert "z" * CELL_CHARS + f"… [+{20_000 - CELL_CHARS:,} characters]" in html


def test_a_styled_frame_prints_as_a_plain_table(runner: IntegrationRunner) -> None:
    frame = frames.breakers(runner)[["name", "state", "failures"]]
    styled = frames.style(frame)
    text = repr(styled)
    assert "Styler at 0x" not in text and str(styled) == text
    assert text == frame.to_string(index=False)
    assert text.splitlines()[0].split() == ["name", "state", "failures"]
    assert EVIL in text  # plain text is not HTML: nothing to escape there
    assert "&lt;img" in styled.to_html()  # while the HTML stays escaped
