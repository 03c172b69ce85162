"""Running the runner's coroutines from plain code or from a notebook cell.

Outside any event loop a private loop is kept (so tasks and clients survive
between calls); inside a running loop (Jupyter) nest-asyncio is applied to that
loop the first time it is needed, never at import.

A runner's calls live on one event loop at a time. Sync calls from several threads
take turns (each waits for the one before to finish, then runs whole); an async run
asked from a second loop while calls run on the first raises ``ConcurrentRunError``
(``LoopGuard``) instead of sharing a call across two loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from toolkit._engine.errors import ConcurrentRunError

T = TypeVar("T")


class SyncBridge:
    """Runs a coroutine to completion from synchronous code."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = threading.RLock()  # one thread's run at a time; re-entrant in a thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the running loop (re-entrantly) or on a private loop.

        Callers in other threads wait for their turn: each gets a whole run of its own.
        """
        with self._turn:
            return self._run(coro)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is None:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            loop = self._loop
        else:
            loop = running
            if not getattr(loop, "_nest_patched", False):  # set by nest_asyncio.apply
                import nest_asyncio

                nest_asyncio.apply(loop)
        task = loop.create_task(coro)
        try:
            return loop.run_until_complete(task)
        except BaseException:
            # Interrupted (Ctrl-C in a script or a cell): cancel the run here and now, so it
            # is not left pending to resume, long past its deadlines, at the next call.
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.wait([task], timeout=1.0))
            raise

    def close(self) -> None:
        """Cancel what is left on the private loop and close it."""
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            # A task that ignores cancellation gets one second, then is left behind.
            loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        loop.close()


class LoopGuard:
    """Refuses a run from a second event loop while runs are in progress on the first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runs = 0

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Count a run on the running loop for as long as the block lasts."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._runs and self._loop is not loop:
                raise ConcurrentRunError(
                    "this runner's calls are running on another event loop (another thread's);"
                    " a runner runs on one loop at a time: wait for that run, use "
                    "run_all_sync() (threads take turns), or give each thread its own runner"
                )
            self._loop = loop
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
