"""toolkit.plots.replay: the policies side by side, and a state strip per policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

import toolkit
from toolkit import ConfigError, Policy, plots
from toolkit._view.palette import STATE_COLORS

matplotlib.use("Agg")

T0 = 1_700_000_000.0


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def flapping() -> pd.DataFrame:
    """'flappy' fails in bursts (and was skipped once); 'steady' always answers."""
    rows = []
    for i in range(60):
        down = (i // 6) % 2 == 1
        rows.append(("flappy", 2.0 * i, 0.05, "error" if down else "ok"))
        rows.append(("steady", 2.0 * i + 1, 0.05, "ok"))
    rows.append(("flappy", 200.0, 0.0, "circuit_open"))
    return pd.DataFrame(
        {
            "name": [r[0] for r in rows],
            "started_at": pd.to_datetime([T0 + r[1] for r in rows], unit="s", utc=True),
            "duration_ms": [r[2] * 1000 for r in rows],
            "outcome": [r[3] for r in rows],
        }
    )


POLICIES = {
    "1 in a row": Policy(fail_max=1, reset_timeout=5.0),
    "half of 10": Policy(window=10, min_calls=10, reset_timeout=5.0),
}


def bar_widths(ax: plt.Axes) -> list[float]:
    return [p.get_width() for p in ax.patches if isinstance(p, Rectangle)]


def test_per_call_rows_draw_bars_and_a_state_strip_per_policy(tmp_path: Path) -> None:
    rows = toolkit.replay(flapping(), POLICIES, per_call=True)
    summary = toolkit.replay(flapping(), POLICIES)
    fig = plots.replay(rows)
    bars, strips = fig.axes[:2]
    totals = summary.groupby("policy", observed=True)[["skipped_known_ok", "failed_reaching"]].sum()
    lost, reached = bar_widths(bars)[:2], bar_widths(bars)[2:4]
    assert lost == totals["skipped_known_ok"].tolist()
    assert reached == totals["failed_reaching"].tolist()
    assumed = summary.groupby("policy", observed=True)["assumed"].sum()
    assert [t.get_text() for t in bars.get_yticklabels()] == [
        f"{p}\n({assumed[p]} outcomes assumed)" if assumed[p] else p for p in POLICIES
    ]
    assert assumed.sum() > 0  # the call skipped in the history was let through
    assert [t.get_text() for t in strips.get_yticklabels()] == list(POLICIES)
    assert strips.get_title().startswith("flappy")  # the integration that opened most
    first = strips.collections[0]  # the first policy's calls of flappy
    flappy = rows[(rows["policy"] == "1 in a row") & (rows["name"] == "flappy")]
    colours = [to_hex(tuple(c)) for c in np.asarray(first.get_edgecolor())]
    assert colours == [STATE_COLORS[s] for s in flappy["state_before"].astype(str)]
    path = tmp_path / "replay.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000


def test_a_summary_draws_the_bars_alone() -> None:
    summary = toolkit.replay(flapping(), POLICIES)
    fig = plots.replay(summary)
    assert len(fig.axes) == 1
    lost = summary.groupby("policy", observed=True)["skipped_known_ok"].sum().tolist()
    assert bar_widths(fig.axes[0])[:2] == lost


def test_the_strip_shows_the_integration_asked_for() -> None:
    fig = plots.replay(toolkit.replay(flapping(), POLICIES, per_call=True), name="steady")
    assert fig.axes[1].get_title().startswith("steady")


def test_a_frame_that_is_not_a_replay_is_refused() -> None:
    with pytest.raises(ConfigError, match="lacks skipped_known_ok, failed_reaching, assumed"):
        plots.replay(pd.DataFrame({"policy": ["x"]}))
