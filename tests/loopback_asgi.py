"""An ASGI app served by uvicorn on 127.0.0.1 in a thread, for tests that talk HTTP to it."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from fresh_loop import run_fresh
from loopback_redis import free_port


class AsgiServer:
    """uvicorn serving ``app`` on a free loopback port until ``close()``."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def _run(self) -> None:
        run_fresh(self.server.serve())

    def url(self, path: str = "/") -> str:
        """The URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(10)
