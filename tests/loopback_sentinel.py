"""A Redis primary, its replica and three ``redis-sentinel`` processes on 127.0.0.1.

``SentinelCluster.start()`` starts them and waits until every sentinel knows the
primary and its replica; ``kill_primary()`` ends the primary with SIGKILL, and
``wait_failover()`` waits until the sentinels name the replica as the new primary.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis
from loopback_redis import LOOPBACK, RedisServer, free_port

SERVICE = "toolkit-test"
DOWN_AFTER_MS = 1000
"""How long the sentinels wait before they count the primary as down."""


class SentinelServer(RedisServer):
    """One ``redis-sentinel`` process watching ``SERVICE``, with its own config file."""

    def __init__(self, binary: str, port: int, directory: Path, primary_port: int) -> None:
        super().__init__(binary, port, directory, {})
        self.config = directory / "sentinel.conf"
        self.config.write_text(
            f"port {port}\nbind {LOOPBACK}\ndir {directory}\n"
            f"sentinel monitor {SERVICE} {LOOPBACK} {primary_port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )

    def command(self) -> list[str]:
        """``redis-sentinel <config>``: sentinels need a config file they can rewrite."""
        return [self.binary, str(self.config), "--daemonize", "no"]


class SentinelCluster:
    """A primary, one replica and three sentinels, every one on loopback."""

    def __init__(self, server_binary: str, sentinel_binary: str, directory: Path) -> None:
        options = {"save": "", "appendonly": "no"}
        self.primary = RedisServer(server_binary, free_port(), _dir(directory, "primary"), options)
        replica_options = {**options, "replicaof": f"{LOOPBACK} {self.primary.port}"}
        self.replica = RedisServer(
            server_binary, free_port(), _dir(directory, "replica"), replica_options
        )
        self.sentinels = [
            SentinelServer(
                sentinel_binary, free_port(), _dir(directory, f"s{i}"), self.primary.port
            )
            for i in range(3)
        ]

    def url(self, db: int = 0, password: str | None = None) -> str:
        """The ``redis+sentinel://`` URL of the service."""
        hosts = ",".join(f"{LOOPBACK}:{s.port}" for s in self.sentinels)
        auth = f":{password}@" if password else ""
        return f"redis+sentinel://{auth}{hosts}/{SERVICE}/{db}"

    def start(self, timeout: float = 15.0) -> None:
        """Start everything and wait until every sentinel sees the primary and its replica."""
        self.primary.start()
        self.replica.start()
        for sentinel in self.sentinels:
            sentinel.start()
        deadline = time.monotonic() + timeout
        while not all(self._ready(s) for s in self.sentinels):
            if time.monotonic() > deadline:
                logs = "\n".join(s.log()[-2000:] for s in self.sentinels)
                raise RuntimeError(f"the sentinels did not find the replica:\n{logs}")
            time.sleep(0.05)

    def _ready(self, sentinel: SentinelServer) -> bool:
        client = sentinel.client()
        try:
            replicas = client.execute_command("SENTINEL", "REPLICAS", SERVICE)
            others = client.execute_command("SENTINEL", "SENTINELS", SERVICE)
        except redis.RedisError:
            return False
        finally:
            client.close()
        link = self.replica.client()
        try:
            synced = link.info("replication").get("master_link_status") == "up"
        except redis.RedisError:
            synced = False
        finally:
            link.close()
        return bool(replicas) and len(others) == 2 and synced

    def primary_port(self) -> int | None:
        """The port the first sentinel that answers names as the primary's."""
        for sentinel in self.sentinels:
            client = sentinel.client()
            try:
                address = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            except redis.RedisError:
                continue
            finally:
                client.close()
            if address:
                return int(address[1])
        return None

    def kill_primary(self) -> None:
        """End the primary abruptly (SIGKILL), as a crash would."""
        self.primary.kill()

    def wait_failover(self, timeout: float = 20.0) -> float:
        """Wait until the sentinels name the replica as the primary; returns when (monotonic)."""
        deadline = time.monotonic() + timeout
        while self.primary_port() != self.replica.port:
            if time.monotonic() > deadline:
                raise RuntimeError("no failover: " + self.sentinels[0].log()[-2000:])
            time.sleep(0.02)
        return time.monotonic()

    def stop(self) -> None:
        """Stop every process."""
        for server in [*self.sentinels, self.replica, self.primary]:
            server.stop()


def _dir(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir(parents=True, exist_ok=True)
    return path
