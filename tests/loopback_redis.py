"""A ``redis-server`` process on 127.0.0.1 that tests start, stop, kill and restart."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 with a fixed port and data directory.

    ``stop()`` shuts it down cleanly, ``kill()`` ends it without warning
    (SIGKILL, as a crash would) and ``start()`` brings it back on the same port and
    directory, so persisted data (``appendonly="yes"``) survives a restart.
    """

    host = LOOPBACK

    def __init__(self, binary: str, port: int, directory: Path, options: dict[str, str]) -> None:
        self.binary = binary
        self.port = port
        self.directory = directory
        self.options = options
        self.log_path = directory / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The command line that starts this server."""
        args = [self.binary, "--port", str(self.port), "--bind", self.host]
        args += ["--dir", str(self.directory), "--daemonize", "no"]
        for key, value in self.options.items():
            args += [f"--{key}", value]
        return args

    def start(self, timeout: float = 10.0) -> None:
        """Start the process (no-op if running) and wait until it answers PING."""
        if self.running:
            return
        self._close_log()
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT, cwd=self.directory
        )
        self._wait_ready(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down cleanly (SHUTDOWN, as SIGTERM would) and wait for the exit.

        The command acts at once, where SIGTERM waits for the next server tick (~0.1 s).
        """
        if self.running:
            client = self.client()
            try:
                client.shutdown()
            except redis.RedisError:
                pass  # closed connection once the server exits, or already unreachable
            finally:
                client.close()
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """End the server abruptly, as a crash would (SIGKILL)."""
        self._end(signal.SIGKILL, 10.0)

    def client(self, **kwargs: Any) -> redis.Redis:
        """A new client (bytes mode unless told) that never retries; the caller closes it."""
        options: dict[str, Any] = {
            "socket_timeout": 2.0,
            "socket_connect_timeout": 2.0,
            "retry": Retry(NoBackoff(), 0),
        }
        options.update(kwargs)
        return redis.Redis(host=self.host, port=self.port, **options)

    def log(self) -> str:
        """The server's log so far, for failure messages."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while True:
                if not self.running:
                    raise RuntimeError(f"redis-server exited on port {self.port}:\n{self.log()}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"redis-server on port {self.port} did not answer PING within "
                        f"{timeout} s:\n{self.log()}"
                    )
                time.sleep(0.02)
        finally:
            client.close()

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {self.url} {state}>"
