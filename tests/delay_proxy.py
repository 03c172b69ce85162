"""A TCP proxy on 127.0.0.1 that delays every reply from its upstream: a slow Redis, not a dead one.

``DelayProxy(port, delay=0.01)`` forwards each connection to ``127.0.0.1:port``;
requests pass at once, each chunk of a reply is handed back ``delay`` seconds after it
arrived (in order). ``delay`` may be changed while it runs; ``hold()`` keeps every reply
back until ``release()``. Used by the tests and by ``benchmarks/bench_redis.py``.

``DelayProcess(port, delay)`` runs one in a process of its own (``python delay_proxy.py
PORT DELAY``): its threads then take no time from the process it delays, as a slow
network would not. The benchmark measures through that.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import subprocess
import sys
import threading
import time

LOOPBACK = "127.0.0.1"


class DelayProxy:
    """Forwards connections to an upstream port, delaying what comes back."""

    def __init__(self, upstream_port: int, *, delay: float = 0.0) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self._listener = socket.create_server((LOOPBACK, 0))
        self._listener.settimeout(0.05)  # accept() looks at _closed this often
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._released = threading.Event()
        self._released.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept)

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0 through this proxy."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def hold(self) -> None:
        """Keep every reply back from now on, until ``release``."""
        self._released.clear()

    def release(self) -> None:
        """Hand back the replies held (each still after its delay)."""
        self._released.set()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection((LOOPBACK, self.upstream_port))
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._delayed, upstream, client)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        """Requests: forwarded as they come."""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        self._shut(source, target)

    def _delayed(self, source: socket.socket, target: socket.socket) -> None:
        """Replies: each chunk sent ``delay`` seconds after it arrived."""
        due: list[tuple[float, int, bytes]] = []
        order = itertools.count()
        cond = threading.Condition()
        done = threading.Event()

        def reader() -> None:
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    with cond:
                        heapq.heappush(due, (time.monotonic() + self.delay, next(order), data))
                        cond.notify()
            done.set()
            with cond:
                cond.notify()

        self._spawn(reader)
        with contextlib.suppress(OSError):
            while True:
                with cond:
                    while not due and not done.is_set():
                        cond.wait(0.1)
                    if not due and done.is_set():
                        break
                    at, _, data = due[0]
                    wait = at - time.monotonic()
                    if wait > 0:
                        cond.wait(wait)
                        continue
                    heapq.heappop(due)
                self._released.wait()
                target.sendall(data)
        self._shut(source, target)

    def _shut(self, *socks: socket.socket) -> None:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop accepting, cut every connection, and wait for the threads."""
        self._closed.set()
        self._released.set()
        for thread in self._threads[:1]:  # the acceptor: no new connection after this
            thread.join(timeout=2.0)
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        self._shut(*sockets)
        for sock in sockets:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=2.0)

    def __enter__(self) -> DelayProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DelayProcess:
    """A ``DelayProxy`` in a child process, stopped by ``close`` (or leaving the ``with``)."""

    def __init__(self, upstream_port: int, delay: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, str(upstream_port), repr(delay)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f"the delay proxy did not start (it said {line!r})")
        self.port = int(line)

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0 through the proxy."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def close(self) -> None:
        """Stop the child (it stops when its stdin closes)."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(5.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5.0)

    def __enter__(self) -> DelayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(upstream_port: int, delay: float) -> None:
    """Proxy until stdin closes, after printing the port."""
    with DelayProxy(upstream_port, delay=delay) as proxy:
        print(proxy.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), float(sys.argv[2]))
