"""What a click starts: at once, or as a task on the kernel's running event loop.

Inside a kernel a button callback runs on the kernel's event loop, so a run is
scheduled there as a task and the callback returns at once: the kernel never
freezes. Outside any loop (plain Python, pytest) the run happens synchronously.
Whatever a handler raises is handed to ``report``, never to the widget machinery.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

logger = logging.getLogger("toolkit.dashboard")

Report = Callable[[str, BaseException], None]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Actions:
    """Runs the dashboard's handlers, tracks scheduled runs and reports failures."""

    def __init__(self, report: Report, landed: Callable[[], None]) -> None:
        self._report = report
        self._landed = landed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiting: Counter[str] = Counter()

    def do(self, label: str, handler: Callable[[], object]) -> bool:
        """Call ``handler`` now; False (and a report) when it raised."""
        try:
            handler()
        except Exception as exc:
            self._report(label, exc)
            return False
        return True

    def run(
        self,
        label: str,
        names: Iterable[str],
        start: Callable[[], Coroutine[Any, Any, object]],
        run_sync: Callable[[], object],
    ) -> asyncio.Task[Any] | None:
        """Schedule ``start()`` on the running loop, or call ``run_sync`` when there is none.

        ``names`` count as waiting (shown as running) until the task begins, after
        which the runner's own in-flight state takes over.
        """
        loop = running_loop()
        if loop is None:
            self.do(label, run_sync)
            return None
        waiting = list(names)
        self._waiting.update(waiting)

        async def begin() -> object:
            self._release(waiting)
            return await start()

        task = loop.create_task(begin(), name=f"toolkit-dashboard: {label}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(label, waiting, t))
        return task

    def _release(self, names: list[str]) -> None:
        self._waiting.subtract(names)
        self._waiting = +self._waiting  # drop names that reached zero
        names.clear()

    def _done(self, label: str, waiting: list[str], task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._release(waiting)
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            self._report(label, failure)
        try:
            self._landed()
        except Exception as exc:
            self._report("refresh", exc)

    def waiting(self, name: str) -> bool:
        """True while a run of ``name`` is scheduled but has not begun."""
        return self._waiting[name] > 0

    @property
    def pending(self) -> int:
        """How many scheduled runs have not landed yet."""
        return len(self._tasks)

    async def wait(self) -> None:
        """Wait until every scheduled run has landed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
