"""Redis storage at production latency: runs, a fleet of worker processes, Fleet's reads.

Sections (one run of this script, every ratio against a baseline measured in it):

1. The I/O thread against ``redis.asyncio``: 1,000 ``MGET`` in one pipeline, the wall
   time and the event loop's longest stall while it is in flight.
2. 1,000 no-op integrations per run on a local Redis: memory storage, ``RedisStorage``
   without and with the call stream, pybreaker's ``CircuitRedisStorage`` as is. Goal:
   a Redis run at most 1.3x the memory run plus 3 PINGs; round trips per run counted
   by the storage's I/O thread, commands by Redis (``INFO commandstats``).
3. The same through a loopback proxy that delays every reply by 1 ms and by 10 ms.
   Goal: at most the memory run plus 4x the added latency, and no call timing out. The
   added latency is what the proxy adds to a PING, measured (its delay and its own
   forwarding, about 0.25 ms here); the line also says how the run compares with 4x
   the nominal delay. The proxy runs in a process of its own, but on a 2-core machine
   its forwarding still shares the cores (and their caches) with the worker.
4. 8 worker processes x 500 integrations against one Redis for a few seconds: round
   trips per run per worker, Redis CPU per 1,000 guarded calls (``INFO cpu``), and the
   fleet's guarded calls per second.
5. ``Fleet.breakers()`` over 10,000 breakers and ``Fleet.calls()`` over 100,000 stream
   entries: wall time and round trips (sends counted on the Fleet's connections), and
   one fleet dashboard refresh with 50 workers' calls in the stream.

Needs ``redis-server`` on PATH; about a minute.
Run: ``.venv/bin/python benchmarks/bench_redis.py``
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pybreaker
import redis
import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_runner import NoOp
from delay_proxy import DelayProcess

from toolkit import (
    Fleet,
    IntegrationRegistry,
    IntegrationRunner,
    MemoryStorage,
    RedisStorage,
)
from toolkit._engine.errors import StorageError
from toolkit._fleet.client import Health, connect
from toolkit._fleet.io import RedisIO
from toolkit._fleet.keys import BreakerKeys, registry_key, stream_key
from toolkit.fleet_demo import LocalRedis

INTEGRATIONS = 1_000
REPEATS = 41
"""Timed runs per storage (medians): a shared machine's noise needs a few dozen."""
PLAIN_REPEATS = 5
"""Timed runs of plain pybreaker's storage, a second each: its ratio is not close."""
PINGS = 500
WORKERS = 8
PER_WORKER = 500
FLEET_SECONDS = 6.0
FLEET_BREAKERS = 10_000
STREAM_ENTRIES = 100_000
DASHBOARD_WORKERS = 50


def registry(count: int, prefix: str = "i") -> IntegrationRegistry:
    made = IntegrationRegistry()
    for i in range(count):
        made.register(NoOp(f"{prefix}{i:05d}"))
    return made


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


def ping_s(url: str) -> float:
    client, _ = connect(url, socket_timeout=5.0)
    client.ping()
    samples = []
    for _ in range(PINGS):
        started = time.perf_counter()
        client.ping()
        samples.append(time.perf_counter() - started)
    client.close()
    return statistics.median(samples)


@contextmanager
def counted_sends() -> Iterator[Counter[str]]:
    """Counts sends on every redis-py connection meanwhile: one per round trip."""
    counts: Counter[str] = Counter()
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        counts["sends"] += 1
        original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


# --------------------------------------------------------------------- 1. I/O choice
def io_choice(url: str, raw: redis.Redis) -> None:
    keys = [BreakerKeys("io", f"p{i}").snapshot() for i in range(1000)]
    pipe = raw.pipeline(transaction=False)
    for five in keys:
        pipe.set(five[0], "closed")
        pipe.set(five[1], 0)
    pipe.execute()
    client, label = connect(url, socket_timeout=5.0)
    io = RedisIO(client, Health(client, label), deadline=5.0)

    async def thread_way() -> object:
        return await io.exchange([("MGET", *five) for five in keys])

    async def main() -> dict[str, tuple[float, float]]:
        aclient = redis.asyncio.Redis.from_url(url)

        async def asyncio_way() -> object:
            pipe = aclient.pipeline(transaction=False)
            for five in keys:
                pipe.mget(five)
            return await pipe.execute()

        async def ticker(stop: asyncio.Event, gaps: list[float]) -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        found = {}
        for label_, way in (("I/O thread (chosen)", thread_way), ("redis.asyncio", asyncio_way)):
            walls, stalls = [], []
            for _ in range(20):
                stop, gaps = asyncio.Event(), list[float]()
                tick = asyncio.create_task(ticker(stop, gaps))
                await asyncio.sleep(0)
                started = time.perf_counter()
                await way()
                walls.append(time.perf_counter() - started)
                stop.set()
                await tick
                stalls.append(max(gaps, default=0.0))
            found[label_] = (statistics.median(walls), statistics.median(stalls))
        await aclient.aclose()
        return found

    found = asyncio.run(main())
    io.close()
    client.close()
    print("1. a run's read of 1,000 breakers (1,000 MGET, one pipeline), median of 20")
    for label_, (wall, stall) in found.items():
        print(
            f"   {label_:22} {wall * 1000:7.2f} ms"
            f"   longest event-loop stall {stall * 1000:6.2f} ms"
        )


# ------------------------------------------------------------------- 2. and 3. runs
def runs(url: str, raw: redis.Redis, server_port: int) -> None:
    plain_client, _ = connect(url, socket_timeout=5.0)
    storages: dict[str, Any] = {
        "memory": MemoryStorage(),
        "redis, no stream": RedisStorage(
            url, "bench1", record_calls=False, deadline=1.0, socket_timeout=5.0
        ),
        "redis (shipped)": RedisStorage(url, "bench2", deadline=1.0, socket_timeout=5.0),
        "plain pybreaker": PlainPybreakerStorage(plain_client, "bench3"),
    }
    runners = {
        label: IntegrationRunner(registry(INTEGRATIONS), storage=storage, timeout=5.0)
        for label, storage in storages.items()
    }
    shipped = storages["redis (shipped)"]
    counted: dict[str, tuple[Counter[str], int]] = {}
    for label, runner in runners.items():
        runner.run_all_sync()  # warm up: keys created, connections open
        if isinstance(runner.storage, RedisStorage):
            runner.storage.flush(30.0)
        before = commands(raw)
        trips = runner.storage.io.round_trips if isinstance(runner.storage, RedisStorage) else 0
        runner.run_all_sync()
        if isinstance(runner.storage, RedisStorage):
            runner.storage.flush(30.0)
            trips = runner.storage.io.round_trips - trips
        else:
            trips = -1
        counted[label] = (+(commands(raw) - before), trips)
    times: dict[str, list[float]] = {label: [] for label in runners}
    pings = []
    for repeat in range(REPEATS):
        for label, runner in runners.items():
            if label == "plain pybreaker" and repeat >= PLAIN_REPEATS:
                continue
            times[label].append(timed(runner.run_all_sync))
            if label == "redis (shipped)":
                shipped.flush(30.0)  # drain the stream before anyone else is timed
        pings.append(ping_s(url))
    ping = statistics.median(pings)
    memory = statistics.median(times["memory"])
    print(
        f"\n2. {INTEGRATIONS} no-op integrations per run on local Redis, median of {REPEATS}"
        f" ({PLAIN_REPEATS} for plain pybreaker)"
    )
    print(f"   bare PING {ping * 1e6:.0f} us; goal: a Redis run <= 1.3 x memory + 3 PINGs")
    print(
        f"   {'storage':18} {'run ms':>8} {'ratio':>6} {'goal ms':>8}"
        f" {'round trips/run':>16}  commands per run"
    )
    goal = 1.3 * memory + 3 * ping
    for label in runners:
        run = statistics.median(times[label])
        counts, trips = counted[label]
        rt = {"memory": "0", "plain pybreaker": "~4 per call"}.get(label, str(trips))
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v) or "-"
        mark = "" if label == "memory" else (" ok" if run <= goal else " OVER")
        print(
            f"   {label:18} {run * 1000:8.1f} {run / memory:6.2f} {goal * 1000:8.1f}"
            f" {rt:>16}  {detail}{mark}"
        )
    for runner in runners.values():
        runner.close()
    for storage in storages.values():
        if isinstance(storage, RedisStorage):
            storage.close()
    plain_client.close()

    print(
        "\n3. the same through a proxy delaying every reply (a process of its own, as a slow"
        " network\n   takes no time from the worker); goal: <= memory + 4 x the latency it adds"
    )
    print("   (each Redis run alternates with a memory run, its baseline, as in 2.)")
    baseline = IntegrationRunner(registry(INTEGRATIONS), storage=MemoryStorage(), timeout=5.0)
    baseline.run_all_sync()
    for delay in (0.001, 0.010):
        with DelayProcess(server_port, delay) as proxy:
            added = ping_s(proxy.url) - ping
            storage = RedisStorage(proxy.url, "bench4", record_calls=False)
            runner = IntegrationRunner(registry(INTEGRATIONS), storage=storage, timeout=5.0)
            runner.run_all_sync()
            runner.run_all_sync()
            trips = storage.io.round_trips
            samples, bases = [], []
            for _ in range(REPEATS):
                bases.append(timed(baseline.run_all_sync))
                samples.append(timed(runner.run_all_sync))
            trips = storage.io.round_trips - trips
            run, base = statistics.median(samples), statistics.median(bases)
            outcomes = Counter(r.outcome for r in runner.history)
            shared = storage.available
            limit, nominal = base + 4 * added, base + 4 * delay
            print(
                f"   +{delay * 1000:g} ms (a PING through it: +{added * 1000:.2f} ms): run "
                f"{run * 1000:.1f} ms, memory {base * 1000:.1f} ms, limit {limit * 1000:.1f} ms "
                f"({'ok' if run <= limit else 'OVER'}); added {(run - base) / added:.2f} x the "
                f"added latency ({(run - base) / delay:.2f} x the nominal delay: "
                f"{'within' if run <= nominal else 'over'} 4x); "
                f"round trips/run {trips / REPEATS:.2f}; "
                f"outcomes {dict(outcomes)}; Redis shared throughout: {shared}"
            )
            runner.close()
            storage.close()
    baseline.close()


# ------------------------------------------------------------------------- 4. fleet
def fleet_worker(url: str, index: int, seconds: float, queue: Any, go: Any) -> None:
    """One worker process: runs its 500 integrations over and over for ``seconds``."""
    logging.disable(logging.WARNING)
    storage = RedisStorage(url, "fleet", worker=f"w{index}", deadline=1.0, socket_timeout=5.0)
    runner = IntegrationRunner(registry(PER_WORKER, f"w{index}-"), storage=storage, timeout=5.0)
    runner.run_all_sync()
    storage.flush(30.0)
    queue.put(("ready", index))
    go.wait(120)
    trips0, runs, calls = storage.io.round_trips, 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        runner.run_all_sync()
        runs += 1
        calls += PER_WORKER
    wall = time.perf_counter() - started
    trips = storage.io.round_trips - trips0
    storage.flush(30.0)
    queue.put(("done", index, runs, calls, trips, wall, storage.available))
    runner.close()
    storage.close()


def fleet(url: str, raw: redis.Redis) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    go = context.Event()
    processes = [
        context.Process(target=fleet_worker, args=(url, i, FLEET_SECONDS, queue, go))
        for i in range(WORKERS)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        queue.get(timeout=120)
    cpu0 = raw.info("cpu")
    go.set()
    stats = [queue.get(timeout=120) for _ in processes]
    cpu1 = raw.info("cpu")
    for process in processes:
        process.join(timeout=30)
    redis_cpu = sum(cpu1[k] - cpu0[k] for k in ("used_cpu_sys", "used_cpu_user"))
    runs = sum(s[2] for s in stats)
    calls = sum(s[3] for s in stats)
    trips = sum(s[4] for s in stats)
    wall = max(s[5] for s in stats)
    print(
        f"\n4. {WORKERS} worker processes x {PER_WORKER} integrations, one Redis, "
        f"{FLEET_SECONDS:g} s"
    )
    print(
        f"   runs {runs}, guarded calls {calls}, "
        f"every worker still sharing: {all(s[6] for s in stats)}"
    )
    print(f"   round trips per run per worker: {trips / runs:.2f}")
    print(
        f"   Redis CPU per 1,000 guarded calls: {redis_cpu / calls * 1000 * 1000:.2f} ms "
        f"(INFO cpu, sys+user, over the timed runs and their streamed records)"
    )
    print(f"   fleet: {calls / wall:,.0f} guarded calls/s")


# ------------------------------------------------------------------------- 5. Fleet
def fleet_reads(url: str, raw: redis.Redis) -> None:
    namespace = "big"
    pipe = raw.pipeline(transaction=False)
    for i in range(FLEET_BREAKERS):
        keys = BreakerKeys(namespace, f"b{i:05d}")
        pipe.mset(
            {
                keys.state: "open" if i % 10 == 0 else "closed",
                keys.fail_counter: i % 3,
                keys.success_counter: 0,
                keys.opened_at: int(time.time()) - i % 60,
            }
        )
        pipe.hset(
            keys.policy, mapping={"fail_max": 3, "reset_timeout": 60, "timeout": 5, "worker": "w"}
        )
        pipe.sadd(registry_key(namespace), keys.name)
        if len(pipe) >= 3000:
            pipe.execute()
    pipe.execute()
    stream = stream_key(namespace)
    now = time.time()
    for start in range(0, STREAM_ENTRIES, 5000):
        pipe = raw.pipeline(transaction=False)
        for i in range(start, start + 5000):
            pipe.xadd(
                stream,
                {
                    "worker": f"w{i % DASHBOARD_WORKERS}",
                    "source": "s",
                    "seq": i,
                    "run_id": i // 100,
                    "name": f"b{i % 500:05d}",
                    "started_at": repr(now - 60 + i * 1e-4),
                    "duration_s": "0.01",
                    "outcome": "ok" if i % 7 else "error",
                    "state_before": "closed",
                    "state_after": "closed",
                    "slow": 0,
                },
            )
        pipe.execute()
    with Fleet(url, namespace, socket_timeout=30.0) as view:
        view.ping()
        print(f"\n5. Fleet over {FLEET_BREAKERS:,} breakers and {STREAM_ENTRIES:,} stream entries")
        for label, read in (
            ("Fleet.breakers()", view.breakers),
            ("Fleet.calls(last=100_000)", lambda: view.calls(last=STREAM_ENTRIES)),
        ):
            read()
            with counted_sends() as sends:
                wall = timed(read)
            print(f"   {label:28} {wall * 1000:8.0f} ms   round trips {sends['sends']}")
        dashboard = view.dashboard(interval=60.0)
        try:
            dashboard.refresh()
            with counted_sends() as sends:
                wall = timed(dashboard.refresh)
            workers = len({f["worker"] for _, f in view.entries(last=10_000)})
            print(
                f"   dashboard refresh, {workers} workers   {wall * 1000:8.0f} ms"
                f"   round trips {sends['sends']}"
            )
        finally:
            dashboard.close()


def main() -> None:
    logging.disable(logging.WARNING)
    try:
        server = LocalRedis().start()
    except StorageError as exc:
        print(f"skipped: {exc}")
        return
    started = time.perf_counter()
    with server:
        raw = redis.Redis.from_url(server.url)
        port = server.port
        io_choice(server.url, raw)
        runs(server.url, raw, port)
        fleet(server.url, raw)
        fleet_reads(server.url, raw)
        raw.close()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
