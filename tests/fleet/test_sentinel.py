"""Redis Sentinel: workers and Fleet follow a failover (a primary, a replica, three sentinels)."""

from __future__ import annotations

import threading
import time

from loopback_sentinel import SentinelCluster
from probes import Probe, registry_of

from toolkit import Fleet, IntegrationRunner, RedisStorage


class Worker(threading.Thread):
    """A worker that runs its integrations over and over until told to stop."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(name=f"worker {name}", daemon=True)
        # a generous deadline: a loaded test machine must not pass for a slow Redis
        self.storage = RedisStorage(
            url, "ns", worker=name, record_calls=False, deadline=0.5, socket_timeout=0.5
        )
        self.probes = [Probe("pay"), Probe("mail")]
        self.runner = IntegrationRunner(
            registry_of(*self.probes), storage=self.storage, timeout=1.0, fail_max=3
        )
        self.runs: list[tuple[float, bool, bool]] = []
        """Per run: when it ended (monotonic), all its calls succeeded, Redis was shared."""
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            results = self.runner.run_all_sync()
            ok = all(section.success for section in results.sections)
            self.runs.append((time.monotonic(), ok, self.storage.available))
            time.sleep(0.02)

    def close(self) -> None:
        self.stop.set()
        self.join(timeout=10.0)
        self.runner.close()
        self.storage.close()


def test_workers_run_through_a_failover_and_a_trip_after_it_reaches_them_all(
    sentinel_cluster: SentinelCluster,
) -> None:
    url = sentinel_cluster.url()
    workers = [Worker(url, f"w{i}") for i in range(3)]
    try:
        for worker in workers:
            worker.start()
        while not all(len(w.runs) >= 3 for w in workers):
            time.sleep(0.02)
        killed = time.monotonic()
        sentinel_cluster.kill_primary()
        switched = sentinel_cluster.wait_failover()
        while not all(w.runs[-1][0] > switched + 0.1 and w.runs[-1][2] for w in workers):
            assert time.monotonic() < switched + 10.0, "the workers did not rejoin"
            time.sleep(0.02)
        for worker in workers:
            during = [r for r in worker.runs if killed < r[0] < switched]
            assert during and all(ok for _, ok, _ in during)  # runs went on, locally
            assert not all(shared for _, _, shared in during)  # ...without the dead primary
            rejoined = next(t for t, _, shared in worker.runs if t > switched and shared)
            assert rejoined - killed <= (switched - killed) + 1.0  # failover time + 1 s
            # the new primary tracks the worker's reads: the trip below reaches it by a push
            assert worker.storage.io.tracker.active and worker.storage.io.tracker.enabled
        with Fleet(url, "ns") as fleet:
            assert fleet.status("pay").state == "closed"
            fleet.trip("pay")
        before = {w.name: w.probes[0].calls for w in workers}
        marks = {w.name: len(w.runs) for w in workers}
        while not all(len(w.runs) >= marks[w.name] + 2 for w in workers):
            time.sleep(0.02)
        for worker in workers:
            worker.stop.set()
            worker.join(timeout=10.0)
            assert worker.probes[0].calls <= before[worker.name] + 1  # at most one in flight
            assert worker.runner.status("pay").state == "open"
            last = [r for r in worker.runner.history if r.name == "pay"][-1]
            assert last.outcome == "circuit_open"
    finally:
        for worker in workers:
            worker.close()
