"""Faults injected around calls: each kind, the history's fault column, clearing."""

from __future__ import annotations

import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, Fault, IntegrationRunner


async def test_fail_fault_fails_without_calling_fetch() -> None:
    probe = Probe("svc")
    runner = IntegrationRunner(registry_of(probe))
    runner.inject("svc", Fault.fail("boom"))
    result = await runner.run_one("svc")
    assert result.success is False and result.error == "injected fault: boom"
    assert probe.calls == 0
    assert runner.history[-1].fault == "fail('boom')"
    assert runner.breaker("svc").fail_counter == 1


async def test_slow_fault_delays_fetch_and_counts_toward_the_timeout() -> None:
    probe = Probe("svc")
    runner = IntegrationRunner(registry_of(probe), timeout=0.05)
    runner.inject("svc", Fault.slow(0.02))
    assert (await runner.run_one("svc")).success
    assert runner.history[-1].duration_s >= 0.02
    runner.inject("svc", Fault.slow(0.2))
    result = await runner.run_one("svc")
    assert result.error == "timed out after 0.05s"
    assert probe.calls == 1


async def test_hang_fault_is_ended_by_the_timeout() -> None:
    runner = IntegrationRunner(registry_of(Probe("svc"), Probe("other")), timeout=0.05)
    runner.inject("svc", Fault.hang())
    results = await runner.run_all()
    assert results.get_section("svc").error_message == "timed out after 0.05s"  # type: ignore[union-attr]
    assert results.get_section("other").success  # type: ignore[union-attr]
    assert {r.name: r.fault for r in runner.history} == {"svc": "hang()", "other": None}


async def test_flaky_fault_with_seed_repeats_the_same_sequence() -> None:
    def outcomes() -> list[bool]:
        runner = IntegrationRunner(registry_of(Probe("svc")), fail_max=1000)
        runner.inject("svc", Fault.flaky(0.5, seed=42))
        return [runner.run_one_sync("svc").success for _ in range(40)]

    first, second = outcomes(), outcomes()
    assert first == second
    assert 5 < first.count(False) < 35


async def test_flaky_fault_rate_bounds() -> None:
    runner = IntegrationRunner(registry_of(Probe("svc")), fail_max=1000)
    runner.inject("svc", Fault.flaky(0.0))
    assert all([(await runner.run_one("svc")).success for _ in range(10)])
    runner.inject("svc", Fault.flaky(1.0))
    assert not any([(await runner.run_one("svc")).success for _ in range(10)])


async def test_bad_result_fault_counts_as_failure() -> None:
    runner = IntegrationRunner(registry_of(Probe("svc")))
    runner.inject("svc", Fault.bad_result())
    result = await runner.run_one("svc")
    assert result.error == "fetch returned _BadResult instead of an IntegrationResult"
    assert runner.breaker("svc").fail_counter == 1


async def test_injecting_never_patches_the_integration() -> None:
    probe = Probe("svc")
    fetch_before = type(probe).fetch
    runner = IntegrationRunner(registry_of(probe))
    runner.inject("svc", Fault.fail())
    assert type(probe).fetch is fetch_before and "fetch" not in vars(probe)
    runner.clear_faults("svc")
    assert (await runner.run_one("svc")).success


async def test_clear_faults_without_name_clears_every_fault() -> None:
    runner = IntegrationRunner(registry_of(Probe("a"), Probe("b")))
    runner.inject("a", Fault.fail())
    runner.inject("b", Fault.hang())
    assert runner.fault("a") == Fault.fail()
    runner.clear_faults()
    assert runner.fault("a") is None and runner.fault("b") is None
    results = await runner.run_all()
    assert all(s.success for s in results.sections)
    assert [r.fault for r in runner.history] == [None, None]


def test_bad_fault_arguments_are_refused() -> None:
    runner = IntegrationRunner(registry_of(Probe("svc")))
    with pytest.raises(ConfigError, match=r"toolkit\.Fault"):
        runner.inject("svc", "fail")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"between 0 and 1, got 1\.5"):
        Fault.flaky(1.5)
    with pytest.raises(ConfigError, match="seconds >= 0, got -1"):
        Fault.slow(-1)
    with pytest.raises(KeyError, match="nope"):
        runner.inject("nope", Fault.fail())


def test_fault_labels() -> None:
    faults = (Fault.slow(2), Fault.flaky(0.3), Fault.hang(), Fault.bad_result())
    assert [f.label for f in faults] == [
        "slow(2s)", "flaky(30%)", "hang()", "bad_result()",
    ]  # fmt: skip
