"""Redis storage: 1,000 integrations per run, against memory storage in the same process.

Four runners over the same 1,000 instant integrations take turns (so all see the
same CPU, heap and Redis): memory storage; ``RedisStorage`` without the call stream;
``RedisStorage`` as shipped (calls streamed); and, for comparison, pybreaker's own
``CircuitRedisStorage`` used as is. Each run is timed ``REPEATS`` times; medians are
printed. Round trips are counted by Redis itself (``INFO commandstats`` before and
after one run) and a bare ``PING`` is timed alongside with the same client settings.

Goals: the added cost per call (Redis run minus memory run, over 1,000) within 1.5x
of (round trips per call x one PING); round trips per call as few as pybreaker
allows. Why two: a guarded call must read the breaker before it runs (may it run?)
and again after (did another worker trip it meanwhile, and what does pybreaker's state
machine make of the outcome?). Each read is one MGET of all five keys; writes happen
only when something changes (a failure's INCR, a state change). Streamed calls add no
round trip to the call: a background thread sends them in pipelined batches.

Needs ``redis-server`` on PATH. Run: ``.venv/bin/python benchmarks/bench_redis.py``
"""

from __future__ import annotations

import gc
import logging
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pybreaker
import redis

from toolkit import IntegrationRunner, MemoryStorage, RedisStorage
from toolkit._engine.errors import StorageError
from toolkit._fleet.client import connect
from toolkit.demo import demo_registry
from toolkit.fleet_demo import LocalRedis

INTEGRATIONS = 1_000
REPEATS = 15
PINGS = 1_000


class PlainPybreakerStorage:
    """pybreaker's own ``CircuitRedisStorage``, unchanged, as a ``BreakerStorage``."""

    kind = "redis"
    available = True

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def state_storage(self, name: str) -> pybreaker.CircuitBreakerStorage:
        return pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, self.client, namespace=f"{self.namespace}:{name}"
        )


def commands(client: redis.Redis) -> Counter[str]:
    counts: Counter[str] = Counter()
    for key, value in client.info("commandstats").items():
        if key != "cmdstat_info":
            counts[key.removeprefix("cmdstat_")] = int(value["calls"])
    return counts


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def ping_us(url: str) -> float:
    client, _ = connect(url)
    client.ping()
    samples = []
    for _ in range(PINGS):
        started = time.perf_counter()
        client.ping()
        samples.append(time.perf_counter() - started)
    client.close()
    return statistics.median(samples) * 1e6


def main() -> None:
    logging.disable(logging.WARNING)
    try:
        server = LocalRedis().start()
    except StorageError as exc:
        print(f"skipped: {exc}")
        return
    with server:
        raw = redis.Redis.from_url(server.url)
        plain_client, _ = connect(server.url)
        storages: dict[str, Any] = {
            "memory": MemoryStorage(),
            "redis, no stream": RedisStorage(server.url, "bench1", record_calls=False),
            "redis (shipped)": RedisStorage(server.url, "bench2"),
            "plain pybreaker": PlainPybreakerStorage(plain_client, "bench3"),
        }
        runners = {
            label: IntegrationRunner(
                demo_registry(INTEGRATIONS, latency_scale=0.0), storage=storage, timeout=5.0
            )
            for label, storage in storages.items()
        }
        batches = Counter[str]()
        shipped = storages["redis (shipped)"].stream
        send = shipped._send

        def counting_send(batch: list[Any]) -> bool:
            batches["pipelines"] += 1
            return bool(send(batch))

        shipped._send = counting_send

        per_call: dict[str, Counter[str]] = {}
        for label, runner in runners.items():
            runner.run_all_sync()  # warm up: keys created, connections open
            if label == "redis (shipped)":
                shipped.flush(30.0)
            before = commands(raw)
            batches.clear()
            runner.run_all_sync()
            if label == "redis (shipped)":
                shipped.flush(30.0)
            per_call[label] = +(commands(raw) - before)
            per_call[label]["(stream pipelines)"] = batches["pipelines"]

        times: dict[str, list[float]] = {label: [] for label in runners}
        flushes: list[float] = []
        pings = []
        for _ in range(REPEATS):
            for label, runner in runners.items():
                times[label].append(timed(runner.run_all_sync))
                if label == "redis (shipped)":  # drain the stream before anyone else is timed
                    flushes.append(timed(lambda: shipped.flush(30.0)))
            pings.append(ping_us(server.url))
        ping = statistics.median(pings)

        memory_ms = statistics.median(times["memory"]) * 1000
        print(f"{INTEGRATIONS} integrations per run, median of {REPEATS} runs each")
        print(f"bare PING round trip (same client settings): {ping:.1f} us")
        print(
            f"{'storage':18} {'run ms':>8} {'ratio':>6} {'added us/call':>14}"
            f" {'round trips/call':>17} {'added / (rt x PING)':>20}  commands per call"
        )
        for label in runners:
            run_ms = statistics.median(times[label]) * 1000
            added_us = (run_ms - memory_ms) * 1000 / INTEGRATIONS
            counted = per_call[label]
            stream = {"xadd", "hset"}
            trips = sum(v for k, v in counted.items() if k not in stream and not k.startswith("("))
            trips_per_call = trips / INTEGRATIONS
            goal = f"{added_us / (trips_per_call * ping):.2f}" if trips_per_call else "-"
            detail = ", ".join(f"{k} {v / INTEGRATIONS:g}" for k, v in sorted(counted.items()) if v)
            print(
                f"{label:18} {run_ms:8.1f} {run_ms / memory_ms:6.2f} {added_us:14.1f}"
                f" {trips_per_call:17.2f} {goal:>20}  {detail or '-'}"
            )
        flush_ms = statistics.median(flushes) * 1000
        print(
            f"stream: {flush_ms:.1f} ms after a shipped run until Redis has all its records "
            "(sent by a background thread in pipelined batches, off the call path)"
        )
        print("goal: added / (round trips x PING) <= 1.5 (round trips on the call path)")
        for runner in runners.values():
            runner.close()
        for storage in storages.values():
            if isinstance(storage, RedisStorage):
                storage.close()
        plain_client.close()
        raw.close()


if __name__ == "__main__":
    main()
