"""The fleet on one machine behind ``toolkit.fleet_demo`` (documented there)."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import redis

from toolkit._engine.errors import StorageError


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM when the parent thread ends."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _end(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LocalRedis:
    """A ``redis-server`` on 127.0.0.1 that lives no longer than this Python process."""

    def __init__(self, binary: str | None = None) -> None:
        found = shutil.which(binary or "redis-server")
        if found is None:
            raise StorageError(
                f"{binary or 'redis-server'} was not found or is not executable: "
                "install it (apt-get install redis-server)"
            )
        self.binary = found
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> LocalRedis:
        """Start the server and wait until it answers PING."""
        if self.process is not None and self.process.poll() is None:
            return self
        self._dir = tempfile.TemporaryDirectory(prefix="toolkit-redis-")
        self.port = _free_port()
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self._dir.name, "--daemonize", "no",
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            self.stop()
            raise StorageError(f"could not start {self.binary}: {exc}") from exc
        atexit.register(self.stop)
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.RedisError:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise StorageError(
                            f"redis-server did not start on 127.0.0.1:{self.port}"
                        ) from None
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self.process is not None:
            _end(self.process, 5.0)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        running = self.process is not None and self.process.poll() is None
        return f"<LocalRedis {self.url if running else 'stopped'}>"


def worker_env() -> dict[str, str]:
    """This environment, with the directory holding this ``toolkit`` first on PYTHONPATH.

    So the workers import the same toolkit as the process that starts them, installed
    or not.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


class FleetWorkers:
    """Worker processes running demo integrations with breakers shared under ``namespace``."""

    def __init__(
        self,
        url: str,
        namespace: str,
        count: int = 2,
        *,
        integrations: int = 4,
        failing: Sequence[str] = (),
        interval: float = 0.2,
        fail_max: int = 2,
        reset_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.count = count
        self.args = [
            "--url", url, "--namespace", namespace, "--count", str(integrations),
            "--failing", ",".join(failing), "--interval", str(interval),
            "--fail-max", str(fail_max), "--reset-timeout", str(reset_timeout),
        ]  # fmt: skip
        self.processes: list[subprocess.Popen[str]] = []
        self.reports: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []
        self._logs: list[IO[str]] = []
        self._errors: list[str] = []

    def start(self) -> FleetWorkers:
        """Start the workers, named ``worker-1``, ``worker-2``, ..."""
        env = worker_env()
        for i in range(1, self.count + 1):
            log = tempfile.TemporaryFile("w+", prefix=f"toolkit-worker-{i}-")  # noqa: SIM115  (closed in stop)
            self._logs.append(log)
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "toolkit._demo.worker",
                    *self.args,
                    "--worker",
                    f"worker-{i}",
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                preexec_fn=_die_with_parent,
            )
            self.processes.append(process)
            assert process.stdout is not None
            reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
            reader.start()
            self._readers.append(reader)
        atexit.register(self.stop)
        return self

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.reports.append(report)

    def latest(self) -> dict[str, dict[str, Any]]:
        """Each worker's most recent report (what it called and saw in its last run)."""
        with self._lock:
            return {r["worker"]: r for r in self.reports}

    def errors(self) -> list[str]:
        """What each worker wrote to stderr (its log lines and any traceback)."""
        if not self._logs:
            return list(self._errors)
        texts = []
        for log in self._logs:
            log.seek(0)
            texts.append(log.read())
        return texts

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [p.pid for p in self.processes]

    @property
    def alive(self) -> int:
        """How many workers are still running."""
        return sum(1 for p in self.processes if p.poll() is None)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every worker to stop (they send their last call records), then wait."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:  # one SIGTERM each: a second could land mid-exit
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for reader in self._readers:
            reader.join(timeout=1.0)
        for process in self.processes:
            if process.stdout is not None:
                process.stdout.close()
        if self._logs:
            self._errors = self.errors()
            for log in self._logs:
                log.close()
            self._logs = []
        atexit.unregister(self.stop)

    def __enter__(self) -> FleetWorkers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FleetWorkers {self.alive} of {len(self.processes)} running on {self.namespace!r}>"
