"""The *_sync methods, from plain code and from inside a running loop (as in a notebook)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from probes import Probe, registry_of

from toolkit import IntegrationRunner


def test_run_all_sync_without_a_loop_keeps_one_private_loop() -> None:
    runner = IntegrationRunner(registry_of(Probe("a"), Probe("b", "raise")))
    first = runner.run_all_sync()
    second = runner.run_all_sync()
    assert [s.success for s in first.sections] == [True, False]
    assert [s.success for s in second.sections] == [True, False]
    assert runner.run_one_sync("a").success
    assert len(runner.history) == 5
    runner.close()


async def test_run_all_sync_inside_a_running_loop() -> None:
    runner = IntegrationRunner(registry_of(Probe("a", "sleep", delay=0.01)))
    results = runner.run_all_sync()  # as a notebook cell would, with the kernel's loop running
    assert results.sections[0].success
    assert (await runner.run_one("a")).success
    assert asyncio.get_running_loop().is_running()


def test_import_applies_nothing_and_loads_no_display_layers() -> None:
    # redis is left out: pybreaker itself imports it when it is installed.
    code = (
        "import sys, toolkit\n"
        "heavy = [m for m in ('nest_asyncio', 'pandas', 'ipywidgets', 'httpx', 'matplotlib') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_close_cancels_calls_left_on_the_private_loop() -> None:
    stubborn = Probe("s", "hang")
    runner = IntegrationRunner(registry_of(stubborn), timeout=0.05)
    assert runner.run_one_sync("s").error == "timed out after 0.05s"
    runner.close()
    assert stubborn.active == 0
