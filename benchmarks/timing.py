"""Timing shared by the benchmarks: the best of a few runs, each after a collection."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def best(fn: Callable[[], object], repeats: int = 3) -> float:
    """Seconds of ``fn``'s fastest run out of ``repeats`` (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)
