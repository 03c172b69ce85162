"""Replay: 4 policies over 100,000 recorded calls of 50 integrations. Goal: at most 2 s.

The history is a night of flapping services: each integration runs once a second
and moves between healthy, failing and slow spells; a tenth of its calls were
skipped by the recorded breaker (their outcomes are assumed), some timed out. The
replay is timed from a calls frame, as ``frames.calls(runner)`` gives it, with the
summary and with ``per_call=True``. The baseline, measured in the same run, is the
floor of any per-call replay in Python: one loop over every call of every policy
reading its start, duration and outcome and doing nothing else.

Run: ``.venv/bin/python benchmarks/bench_replay.py``
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from timing import best

import toolkit
from toolkit import IntegrationRegistry, IntegrationRunner, Policy, frames
from toolkit._engine.history import Outcome

N = 100_000
INTEGRATIONS = 50
REPEATS = 3
GOAL_S = 2.0
# fmt: off
POLICIES = {
    "3 in a row": Policy(fail_max=3, reset_timeout=30.0, timeout=2.0),
    "half of 20 calls": Policy(window=20, min_calls=10, reset_timeout=30.0, timeout=2.0),
    "half in 60 s, slow": Policy(
        window_s=60.0, min_calls=10, slow_after=1.0, slow_rate=0.8, reset_timeout=30.0,
        timeout=2.0,
    ),
    "30% of 50, 3 trials, backoff": Policy(
        window=50, failure_rate=0.3, min_calls=20, half_open_calls=3, backoff=2.0,
        max_reset_timeout=600.0, reset_timeout=15.0, timeout=1.0,
    ),
}
# fmt: on


def _history() -> IntegrationRunner:
    """A runner whose history holds ``N`` calls of a flapping night (appended directly)."""
    runner = IntegrationRunner(IntegrationRegistry(), history_size=N)
    rng = random.Random(7)
    spell = ["up"] * INTEGRATIONS
    start = time.time() - N / INTEGRATIONS
    for i in range(N):
        k = i % INTEGRATIONS
        if rng.random() < 0.02:
            spell[k] = rng.choice(["up", "up", "down", "slow"])
        outcome: Outcome
        if rng.random() < 0.1:
            outcome, duration, error = "circuit_open", 0.0001, "circuit open: trial in 12.0s"
        elif spell[k] == "down" and rng.random() < 0.8:
            if rng.random() < 0.3:
                outcome, duration, error = "timeout", 2.001, "timed out after 2s"
            else:
                outcome, duration, error = "error", rng.uniform(0.01, 0.3), "RuntimeError: down"
        else:
            slow = spell[k] == "slow"
            outcome, duration, error = "ok", rng.uniform(1.0, 1.9) if slow else 0.05, None
        runner.history.append(
            i // INTEGRATIONS, f"integration-{k:02d}", start + i / INTEGRATIONS, duration,
            outcome, error, "closed", "closed", None, False,
        )  # fmt: skip
    return runner


def _best(fn: Callable[[], object]) -> float:
    return best(fn, REPEATS)


def _floor(starts: list[float], durations: list[float], outcomes: list[str]) -> None:
    """Visit every call once per policy, reading what a replay reads."""
    for _ in POLICIES:
        total = 0.0
        for start, duration, outcome in zip(starts, durations, outcomes, strict=True):
            if outcome != "ok":
                total += start + duration


def main() -> None:
    runner = _history()
    calls = frames.calls(runner)
    columns = runner.history.columns()
    summary = _best(lambda: toolkit.replay(calls, POLICIES))
    per_call = _best(lambda: toolkit.replay(calls, POLICIES, per_call=True))
    floor = _best(lambda: _floor(columns["started_at"], columns["duration_s"], columns["outcome"]))
    result = toolkit.replay(calls, POLICIES)
    print(f"calls: {len(calls):,} of {INTEGRATIONS} integrations, policies: {len(POLICIES)}")
    print(f"toolkit.replay(calls, 4 policies)                 {summary * 1000:8.1f} ms")
    print(f"toolkit.replay(calls, 4 policies, per_call=True)  {per_call * 1000:8.1f} ms")
    print(f"bare loop over the calls, once per policy (floor) {floor * 1000:8.1f} ms")
    print(f"ratio replay / floor: {summary / floor:.1f}x; per_call: {per_call / floor:.1f}x")
    verdict = "met" if max(summary, per_call) <= GOAL_S else "MISSED"
    print(f"goal: at most {GOAL_S:g} s -> {verdict}")
    totals = result.groupby("policy", observed=True)[
        ["reached", "failed_reaching", "skipped_known_ok", "assumed", "opens"]
    ].sum()
    print(totals.to_string())


if __name__ == "__main__":
    main()
