"""A runner attaches an archive when built and detaches it on close; event observers."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from probes import Probe, registry_of

from toolkit import BreakerEvent, IntegrationRunner


class Recorder:
    """A RunnerAttachment that notes what the runner told it."""

    def __init__(self) -> None:
        self.told: list[str] = []
        self.events: list[tuple[BreakerEvent, bool]] = []

    def attach(self, runner: Any) -> None:
        self.told.append("attach")
        runner.add_event_observer(self.note)

    def detach(self, runner: Any) -> None:
        self.told.append("detach")
        runner.remove_event_observer(self.note)

    def note(self, event: BreakerEvent, by_hand: bool) -> None:
        self.events.append((event, by_hand))


def test_an_attachment_is_attached_when_built_and_detached_by_close() -> None:
    attachment = Recorder()
    runner = IntegrationRunner(registry_of(Probe("svc", "raise")), fail_max=1, archive=attachment)
    assert attachment.told == ["attach"] and runner.archive is attachment
    runner.run_all_sync()
    runner.reset("svc")
    runner.close()
    assert attachment.told == ["attach", "detach"]
    assert [(e.old_state, e.new_state, hand) for e, hand in attachment.events] == [
        ("closed", "open", False), ("open", "closed", True),
    ]  # fmt: skip
    assert [e.at for e, _ in attachment.events] == list(
        runner.events[i].at for i in range(len(runner.events))
    )


async def test_aclose_detaches_too() -> None:
    attachment = Recorder()
    async with IntegrationRunner(registry_of(Probe("svc")), archive=attachment) as runner:
        await runner.run_all()
    assert attachment.told == ["attach", "detach"]


def test_an_event_observer_that_raises_is_logged_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: BreakerEvent, by_hand: bool) -> None:
        raise RuntimeError("observer bug")

    with IntegrationRunner(registry_of(Probe("svc", "raise")), fail_max=1) as runner:
        runner.add_event_observer(broken)
        with caplog.at_level(logging.ERROR, "toolkit"):
            runner.run_all_sync()
        assert runner.breaker("svc").current_state == "open"
        assert len(runner.events) == 1
    assert any("observer" in r.message and "raised" in r.message for r in caplog.records)
