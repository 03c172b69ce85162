"""Frames: 100,000 history records to ``frames.calls()`` vs ``pd.DataFrame(list_of_records)``.

The baseline is the naive way: a list of ``CallRecord`` dataclasses handed to
pandas, as a hand-rolled history would store them. Goal: at most 0.1x.

Run: ``.venv/bin/python benchmarks/bench_frames.py``
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict

import pandas as pd
from timing import best

from toolkit import IntegrationRegistry, IntegrationRunner, frames
from toolkit._engine.history import OUTCOMES, CallRecord

N = 100_000
REPEATS = 3


def _fill(runner: IntegrationRunner, n: int) -> None:
    """Append ``n`` realistic records straight into the runner's history."""
    rng = random.Random(1)
    start = time.time() - n
    for i in range(n):
        outcome = rng.choice(OUTCOMES)
        runner.history.append(
            i // 50, f"integration-{i % 50}", start + i, rng.uniform(0.001, 0.5), outcome,
            None if outcome == "ok" else "RuntimeError: down", "closed", "closed", None, False,
        )  # fmt: skip


def _best(fn: Callable[[], object]) -> float:
    return best(fn, REPEATS)


def main() -> None:
    runner = IntegrationRunner(IntegrationRegistry(), history_size=N)
    _fill(runner, N)
    records: list[CallRecord] = list(runner.history)
    ours = _best(lambda: frames.calls(runner))
    naive = _best(lambda: pd.DataFrame(records))
    naive_dicts = _best(lambda: pd.DataFrame([asdict(r) for r in records]))
    latency = _best(lambda: frames.latency(runner))
    print(f"records: {N:,}")
    print(f"frames.calls(runner)                       {ours * 1000:8.1f} ms")
    print(f"pd.DataFrame(list_of_records)  (baseline)  {naive * 1000:8.1f} ms")
    print(f"pd.DataFrame([asdict(r) ...])              {naive_dicts * 1000:8.1f} ms")
    print(f"frames.latency(runner)                     {latency * 1000:8.1f} ms")
    print(f"ratio calls / baseline: {ours / naive:.3f}  (goal <= 0.1)")


if __name__ == "__main__":
    main()
