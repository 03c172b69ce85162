"""``run_fresh(coro)``: ``asyncio.run`` on a loop of its own, closed afterwards, always.

Not ``asyncio.run`` itself: once a test applied nest_asyncio (the sync bridge does in
a running loop), it patches ``asyncio.run`` into one that reuses the thread's loop and
never closes it; that loop is then collected in a later test, as a ResourceWarning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_fresh(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a new event loop, and close the loop."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
