"""The run's Redis I/O off the event loop, under a deadline: a slow Redis is an absent one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from delay_proxy import DelayProxy
from loopback_redis import RedisServer
from probes import Probe, registry_of

from toolkit import IntegrationRunner, RedisStorage, frames


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[DelayProxy]:
    with DelayProxy(redis_server.port) as made:
        yield made


def test_a_redis_100_ms_late_never_times_out_nor_opens_a_healthy_integration(
    proxy: DelayProxy,
) -> None:
    storage = RedisStorage(proxy.url, "ns", worker="slow", deadline=0.05)
    probes = [Probe(f"p{i}", "sleep", delay=0.01) for i in range(50)]
    runner = IntegrationRunner(registry_of(*probes), storage=storage, timeout=1.0)
    try:
        runner.run_all_sync()
        proxy.delay = 0.1  # answers, but later than the storage's 50 ms deadline
        for _ in range(3):
            results = runner.run_all_sync()
            assert all(section.success for section in results.sections)
        outcomes = {record.outcome for record in runner.history}
        assert outcomes == {"ok"} and all(p.calls == 4 for p in probes)
        breakers = frames.breakers(runner)
        assert set(breakers["state"]) == {"closed"} and not breakers["storage_ok"].any()
        assert "deadline" in (storage.health.last_error or "")
        proxy.delay = 0.0  # fast again: shared again once a PING comes back in time
        assert storage.health.wait_ok(5.0)
        for _ in range(50):  # a loaded machine may miss the deadline once more
            runner.run_all_sync()
            if runner.status("p0").storage_ok:
                break
            storage.health.wait_ok(5.0)
        assert runner.status("p0").storage_ok
    finally:
        runner.close()
        storage.close()


async def test_the_event_loop_runs_on_while_a_run_waits_for_redis(proxy: DelayProxy) -> None:
    storage = RedisStorage(proxy.url, "ns", socket_timeout=2.0, deadline=2.0)
    runner = IntegrationRunner(registry_of(Probe("pay")), storage=storage)
    try:
        proxy.hold()  # Redis's replies wait until the loop has shown it is free
        run = asyncio.create_task(runner.run_all())
        ticks = 0
        while ticks < 5:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not run.done()  # still waiting for its read, without holding the loop
        proxy.release()
        results = await run
        assert results.get_section("pay").success  # type: ignore[union-attr]
        assert storage.available and runner.history[-1].outcome == "ok"
    finally:
        await runner.aclose()
        storage.close()
