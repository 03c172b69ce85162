"""Running the runner's coroutines from plain code or from a notebook cell.

Outside any event loop a private loop is kept (so tasks and clients survive
between calls); inside a running loop (Jupyter) nest-asyncio is applied to that
loop the first time it is needed, never at import.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class SyncBridge:
    """Runs a coroutine to completion from synchronous code."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the running loop (re-entrantly) or on a private loop."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is None:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(coro)
        if not getattr(running, "_nest_patched", False):  # set by nest_asyncio.apply
            import nest_asyncio

            nest_asyncio.apply(running)
        return running.run_until_complete(coro)

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
