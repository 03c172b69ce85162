"""The chart behind ``toolkit.plots.replay`` (documented there)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from toolkit._engine.errors import ConfigError
from toolkit._engine.history import STATES
from toolkit._view.palette import MUTED_COLOR, outcome_color, state_color
from toolkit._view.plots import LABEL_CHARS, _nums, _time_axis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["replay"]

MAX_POLICIES = 12
"""More policies than this are not drawn side by side: the labels would not fit."""


def replay(result: pd.DataFrame, name: str | None = None) -> Figure:
    """The policies of a ``toolkit.replay`` side by side: good calls lost against failures
    that reached the service, and (given ``per_call=True`` rows) a strip per policy of
    the breaker's state at each call of integration ``name`` (default: the one that
    opened most often).
    """
    from matplotlib import pyplot as plt

    per_call = "decision" in result.columns
    needed = ["policy", "decision", "recorded_outcome", "outcome", "assumed", "name"]
    if not per_call:
        needed = ["policy", "skipped_known_ok", "failed_reaching", "assumed"]
    missing = [c for c in needed if c not in result.columns]
    if missing:
        raise ConfigError(
            f"plots.replay() draws what toolkit.replay() returns; this frame lacks"
            f" {', '.join(missing)}"
        )
    totals = _totals(result, per_call)
    if len(totals) > MAX_POLICIES:
        raise ConfigError(
            f"plots.replay() draws at most {MAX_POLICIES} policies side by side,"
            f" got {len(totals)}; replay fewer at a time"
        )
    rows = 2 if per_call else 1
    fig, axes = plt.subplots(
        rows, 1, figsize=(10.0, 1.6 + 0.55 * len(totals) * rows + (0.6 if per_call else 0)),
        layout="constrained", squeeze=False,
    )  # fmt: skip
    _bars(axes[0][0], totals)
    if per_call:
        _strips(axes[1][0], result, name)
    return fig


def _totals(result: pd.DataFrame, per_call: bool) -> pd.DataFrame:
    """Per policy: good calls lost, failures that reached the service, assumed outcomes."""
    if per_call:
        skipped = result["decision"] == "skip"
        frame = pd.DataFrame(
            {
                "policy": result["policy"],
                "skipped_known_ok": skipped & (result["recorded_outcome"] == "ok"),
                "failed_reaching": ~skipped & result["outcome"].isin(["error", "timeout"]),
                "assumed": result["assumed"].astype(bool),
            }
        )
    else:
        frame = result[["policy", "skipped_known_ok", "failed_reaching", "assumed"]]
    return frame.groupby("policy", sort=False, observed=True).sum().astype("int64")


def _short(label: object) -> str:
    text = str(label)
    return text if len(text) <= 2 * LABEL_CHARS else text[: 2 * LABEL_CHARS - 1] + "…"


def _bars(ax: Any, totals: pd.DataFrame) -> None:
    labels = [
        _short(p).replace("$", r"\$") + (f"\n({n} outcomes assumed)" if n else "")
        for p, n in zip(totals.index, totals["assumed"], strict=True)
    ]
    y = np.arange(len(labels))
    lost = totals["skipped_known_ok"].to_numpy()
    reached = totals["failed_reaching"].to_numpy()
    ax.barh(y - 0.2, lost, height=0.38, color=outcome_color("circuit_open"),
            label="good calls lost (skipped, recorded ok)")  # fmt: skip
    ax.barh(y + 0.2, reached, height=0.38, color=outcome_color("error"),
            label="failures that reached the service")  # fmt: skip
    top = max(int(lost.max(initial=0)), int(reached.max(initial=0)), 1)
    for row, (a, b) in enumerate(zip(lost, reached, strict=True)):
        ax.text(a + top * 0.01, row - 0.2, str(a), va="center", fontsize=8)
        ax.text(b + top * 0.01, row + 0.2, str(b), va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0, top * 1.25)
    ax.set_xlabel("calls")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title("What each policy would have done")
    ax.grid(True, axis="x", alpha=0.3)


def _strips(ax: Any, result: pd.DataFrame, name: str | None) -> None:
    names = result["name"].astype(str)
    if name is None:
        opened = result["state_after"].astype(str).eq("open") & result["state_before"].astype(
            str
        ).ne("open")
        counts = opened.groupby(names).sum()
        name = str(counts.idxmax()) if len(counts) and counts.max() > 0 else (
            str(names.iloc[0]) if len(names) else ""
        )  # fmt: skip
    rows = result[names == name]
    policies = list(pd.unique(result["policy"]))
    if rows.empty:
        ax.text(0.5, 0.5, f"no calls of {name!r}", ha="center", va="center",
                transform=ax.transAxes, color=MUTED_COLOR)  # fmt: skip
        return
    for row, policy in enumerate(policies):
        calls = rows[rows["policy"] == policy]
        x = _nums(calls["started_at"])
        colors = [state_color(s) for s in calls["state_before"].astype(str)]
        ax.scatter(x, np.full(len(x), row), marker="|", s=260, c=colors, linewidths=1.6)
        assumed = calls["assumed"].to_numpy(dtype=bool)
        if assumed.any():
            ax.scatter(x[assumed], np.full(int(assumed.sum()), row - 0.32), marker="v", s=10,
                       color=MUTED_COLOR, linewidths=0)  # fmt: skip
    ax.set_yticks(range(len(policies)), [_short(p).replace("$", r"\$") for p in policies],
                  fontsize=9)  # fmt: skip
    ax.set_ylim(len(policies) - 0.5, -0.6)
    _time_axis(ax)
    handles = [Patch(color=state_color(s), label=s) for s in STATES if s != "isolated"]
    handles.append(Patch(color=MUTED_COLOR, label="▼ outcome assumed"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              title="breaker at each call")  # fmt: skip
    ax.set_title(f"{_short(name).replace('$', chr(92) + '$')}: the breaker at each call")
