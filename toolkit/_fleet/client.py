"""Redis connections that cannot hold a run up, and one flag saying whether Redis answers.

redis-py's defaults retry a failed command ten times with backoff (seconds per call
on a dead Redis, far more on one that does not answer at all). The toolkit opens its
own connections instead: the host, port, database, credentials and TLS settings of
the URL or client it is given, but bytes replies, short socket timeouts and no
retries. A client made with ``decode_responses=True`` is therefore accepted: its
settings are reused, its text mode is not.

``Health`` is shared by everything that talks to one Redis: the first failed command
marks Redis unreachable and logs one warning (no traceback); from then on nobody
waits for Redis, and a background thread PINGs it with a growing pause until it
answers, which is logged once too.
"""

from __future__ import annotations

import inspect
import logging
import select
import threading
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

import redis
from redis._parsers import _RESP3Parser
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from toolkit._engine.errors import ConfigError
from toolkit._engine.redact import redact_url
from toolkit._fleet.tracking import PUSHED, Tracker, refusal

logger = logging.getLogger("toolkit")

SOCKET_TIMEOUT = 0.25
"""Seconds a connect, and then a reply, may take before Redis counts as unreachable."""
SENTINEL_SCHEME = "redis+sentinel"
"""URLs of a primary found through Redis Sentinel (``redis+sentinel://h:p,h:p/service/db``)."""
RETRY_FIRST = 0.5
RETRY_MAX = 1.0

# Settings the toolkit always chooses itself, whatever the given client says.
_OURS = frozenset(
    {
        "self", "connection_pool", "decode_responses", "socket_timeout", "socket_connect_timeout",
        "retry", "retry_on_error", "retry_on_timeout", "health_check_interval",
        "single_connection_client", "protocol", "cache", "cache_config",
        "maint_notifications_config",
    }
)  # fmt: skip
_REDIS_PARAMETERS = frozenset(inspect.signature(redis.Redis.__init__).parameters) - _OURS


def connect(
    url_or_client: str | redis.Redis, *, socket_timeout: float = SOCKET_TIMEOUT
) -> tuple[redis.Redis, str]:
    """A bytes-mode client with short timeouts and no retries, and a masked label for messages.

    ``redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db]`` asks
    the sentinels for the service's primary, and asks again whenever a connection to it
    fails, so the client follows a failover (the password is the data nodes'; the
    sentinels are asked without one). Nothing is sent to Redis here: a Redis that is
    down is noticed by the first command.
    """
    if isinstance(socket_timeout, bool) or not isinstance(socket_timeout, int | float):
        raise ConfigError(f"socket_timeout must be a number of seconds, got {socket_timeout!r}")
    if not 0 < socket_timeout <= 30:
        raise ConfigError(f"socket_timeout must be > 0 and <= 30 seconds, got {socket_timeout!r}")
    if isinstance(url_or_client, str) and url_or_client.startswith(SENTINEL_SCHEME + "://"):
        return _sentinel_client(url_or_client, socket_timeout)
    if isinstance(url_or_client, str):
        _check_database(url_or_client)
        try:
            base = redis.Redis.from_url(url_or_client)
        except ValueError as exc:
            raise ConfigError(
                f"not a Redis URL: {redact_url(url_or_client)!r} ({exc}); "
                "expected e.g. redis://127.0.0.1:6379/0"
            ) from exc
        label = redact_url(url_or_client)
    elif isinstance(url_or_client, redis.Redis):
        base = url_or_client
        label = _label(url_or_client)
    else:
        raise ConfigError(
            "expected a redis:// URL or a synchronous redis.Redis client, got "
            f"{type(url_or_client).__module__}.{type(url_or_client).__qualname__}"
        )
    settings = _settings_of(base)
    if isinstance(url_or_client, str):
        base.close()
    client = redis.Redis(
        **settings,
        decode_responses=False,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
        protocol=2,
    )
    return client, label


def _check_database(url: str) -> None:
    """Refuse a database that is not a number (redis-py would quietly use db 0)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("redis", "rediss"):
        return
    database = parsed.path.strip("/")
    if database and not database.isdigit():
        raise ConfigError(
            f"not a Redis URL: {redact_url(url)!r} names database {database!r}, which is "
            "not a number; expected e.g. redis://127.0.0.1:6379/0"
        )


def parse_sentinel_url(url: str) -> tuple[list[tuple[str, int]], str, int, str | None, str | None]:
    """``redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db]``
    as (sentinels, service name, db, username, password)."""
    example = "expected e.g. redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/0"
    rest = url[len(SENTINEL_SCHEME) + 3 :]
    where, _, path = rest.partition("/")
    userinfo, _, hosts = where.rpartition("@")
    username = password = None
    if userinfo:
        user, _, secret = userinfo.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) if secret else None
    sentinels = []
    for host_port in hosts.split(","):
        host, _, port = host_port.strip().rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"not a Redis Sentinel URL: {redact_url(url)!r} (sentinel "
                f"{host_port.strip()!r} is not host:port); {example}"
            )
        sentinels.append((host, int(port)))
    parts = [urllib.parse.unquote(part) for part in path.strip("/").split("/") if part]
    if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ConfigError(
            f"not a Redis Sentinel URL: {redact_url(url)!r} (after the sentinels comes "
            f"/service_name and optionally /db, a number); {example}"
        )
    return sentinels, parts[0], int(parts[1]) if len(parts) == 2 else 0, username, password


def _sentinel_client(url: str, socket_timeout: float) -> tuple[redis.Redis, str]:
    """A client of the primary the sentinels name, following a failover."""
    sentinels, service, db, username, password = parse_sentinel_url(url)
    timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_timeout}
    manager = Sentinel(
        sentinels,
        sentinel_kwargs={**timeouts, "retry": Retry(NoBackoff(), 0)},
        **timeouts,
    )
    client = manager.master_for(
        service,
        redis_class=redis.Redis,
        db=db,
        username=username,
        password=password,
        decode_responses=False,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
        protocol=2,
        **timeouts,
    )
    hosts = ",".join(f"{host}:{port}" for host, port in sentinels)
    return client, f"{SENTINEL_SCHEME}://{hosts}/{service}/{db}"


def _settings_of(client: redis.Redis) -> dict[str, Any]:
    """Where and as whom ``client`` connects: host, port, db, credentials, TLS."""
    pool = client.connection_pool
    kwargs: dict[str, Any] = dict(pool.connection_kwargs)
    settings = {k: v for k, v in kwargs.items() if k in _REDIS_PARAMETERS}
    if "path" in kwargs:
        settings["unix_socket_path"] = kwargs["path"]
        settings.pop("host", None)
        settings.pop("port", None)
    if issubclass(pool.connection_class, redis.SSLConnection):
        settings["ssl"] = True
    return settings


def _label(client: redis.Redis) -> str:
    """``redis://host:port/db`` of a client, without credentials."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    scheme = (
        "rediss"
        if issubclass(client.connection_pool.connection_class, redis.SSLConnection)
        else "redis"
    )
    host = kwargs.get("host", "localhost")
    return f"{scheme}://{host}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def describe(exc: BaseException) -> str:
    """A short text for a redis error (its type and first line)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class DirectConnection:
    """A connection of its own for pre-packed commands, bypassing the pool.

    redis-py spends about as long on a command's bookkeeping (pool checkout, retry
    wrapper, packing, pipeline callbacks) as on the round trip itself. A breaker's
    read is the same MGET every time, packed once; the call stream sends its batch
    packed in one go and reads the replies back.

    With a ``tracker`` the connection speaks RESP3 and tracks the keys it reads (see
    tracking.py); a Redis that refuses RESP3 is then spoken to in RESP2, untracked.
    """

    def __init__(self, client: redis.Redis, tracker: Tracker | None = None) -> None:
        pool = client.connection_pool
        self._pool = pool
        self._tracker = tracker
        kwargs = dict(pool.connection_kwargs)
        if tracker is not None and tracker.enabled:
            kwargs.update(protocol=3, parser_class=_RESP3Parser)
        self._conn = pool.connection_class(**kwargs)
        if tracker is not None:
            self._conn.register_connect_callback(tracker.on_connect)
        self._lock = threading.Lock()
        self._used = False

    def pack(self, *args: str | bytes | int | float) -> Any:
        """``args`` as the bytes of one command."""
        return self._conn.pack_command(*args)

    def pack_many(self, commands: Sequence[tuple[str | bytes | int | float, ...]]) -> Any:
        """Several commands as the bytes of one send."""
        return self._conn.pack_commands(commands)

    def call(self, packed: Any) -> Any:
        """Send one packed command and return its reply; redis errors are raised.

        A connection that served before may have been closed by a Redis restart: a
        connection error on it is retried once on a new connection (refused at once
        if Redis is really gone; a timeout is never retried).
        """
        return self.call_many(packed, 1, raise_errors=True)[0]

    def call_many(self, packed: Any, count: int, *, raise_errors: bool = False) -> list[Any]:
        """Send ``count`` packed commands at once; error replies come back as exceptions."""
        with self._lock:
            served = self._used
            try:
                return self._exchange(packed, count, raise_errors)
            except redis.ConnectionError:
                if not served:
                    raise
                return self._exchange(packed, count, raise_errors)

    def _exchange(self, packed: Any, count: int, raise_errors: bool) -> list[Any]:
        conn = self._conn
        replies: list[Any] = []
        try:
            if conn._sock is None:  # connect() first: a Sentinel connection asks for the primary
                self._connect()
                conn = self._conn
            conn.send_packed_command(packed, check_health=False)
            for _ in range(count):
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:  # the reply was read: the stream stays in step
                    if raise_errors:
                        raise
                    replies.append(exc)
        except redis.ResponseError:
            self._used = True
            raise
        except BaseException:
            conn.disconnect()
            self._used = False
            if self._tracker is not None:
                self._tracker.active = False
                self._tracker.forget()
            raise
        self._used = True
        return replies

    def _connect(self) -> None:
        """Connect; a Redis that refuses RESP3 (``HELLO``) is spoken to in RESP2, untracked."""
        try:
            self._conn.connect()
        except redis.ResponseError as exc:
            tracker = self._tracker
            if tracker is None or not tracker.enabled:
                raise
            self._conn.disconnect()
            passing = refusal(exc, "HELLO 3")
            if passing is not None:
                raise passing from exc
            tracker.refused(f"HELLO 3 was refused ({describe(exc)})")
            self._conn = self._pool.connection_class(**self._pool.connection_kwargs)
            self._conn.connect()

    def drain(self) -> None:
        """Read the pushes already received (tracking's invalidations), without waiting;
        connect first when not connected, so that the tracker knows whether it tracks.

        A connection found closed (Redis restarted since) is opened again, as ``call``
        would; raises what connecting raises.
        """
        with self._lock:
            tracker = self._tracker
            if self._conn._sock is not None and tracker is not None and tracker.active:
                conn = self._conn
                try:
                    while _pending(conn):
                        if conn.read_response(push_request=True) is not PUSHED:
                            raise redis.ConnectionError("a reply nobody asked for: out of step")
                except BaseException as exc:
                    conn.disconnect()  # a push can be lost with it: what was read clean is not
                    self._used = False
                    tracker.active = False
                    tracker.forget()
                    if not isinstance(exc, redis.ConnectionError):
                        raise  # a timeout inside a push: Redis is slow
            if self._conn._sock is None:
                self._connect()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.disconnect()


def _pending(conn: Any) -> bool:
    """Whether bytes wait to be read on ``conn``: in redis-py's buffer, or on the socket
    (one ``poll``, which, unlike ``select``, takes descriptors above 1023; redis-py's own
    ``can_read`` costs three system calls). A closed socket counts as pending: reading
    it then says it is closed."""
    buffer = getattr(conn._parser, "_buffer", None)
    unread = getattr(buffer, "unread_bytes", None)
    if unread is None or conn._sock is None or not hasattr(select, "poll"):
        return bool(conn.can_read(timeout=0))
    if unread():
        return True
    poller = select.poll()
    poller.register(conn._sock, select.POLLIN)
    return bool(poller.poll(0))


class Health:
    """Whether one Redis answers; shared by every storage, stream and view that uses it."""

    def __init__(
        self,
        client: redis.Redis,
        label: str,
        *,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        deadline: float | None = None,
    ) -> None:
        self.client = client
        self.deadline = deadline
        """When set, Redis answers again only once a PING comes back within this many seconds."""
        self.label = label
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.ok = True
        self.last_error: str | None = None
        self.outages = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._up = threading.Event()
        self._up.set()
        self._watcher: threading.Thread | None = None

    def wait_ok(self, timeout: float) -> bool:
        """Wait until Redis answers (True) or ``timeout`` seconds pass (False)."""
        return self._up.wait(timeout)

    def failed(self, exc: BaseException) -> None:
        """Note a failed command: the first one of an outage is logged and starts the watcher."""
        with self._lock:
            self.last_error = describe(exc)
            if not self.ok:
                return
            self.ok = False
            self._up.clear()
            self.outages += 1
            logger.warning(
                "Redis at %s is unreachable (%s): breakers keep their state in this process "
                "until it answers again",
                self.label, self.last_error,
            )  # fmt: skip
            if not self._closed.is_set():
                self._watcher = threading.Thread(
                    target=self._watch, name=f"toolkit-redis-watch {self.label}", daemon=True
                )
                self._watcher.start()

    def _watch(self) -> None:
        """PING with a growing pause until Redis answers (or ``close``)."""
        pause = self.retry_first
        while not self._closed.wait(pause):
            started = time.perf_counter()
            try:
                self.client.ping()
            except redis.RedisError as exc:
                self.last_error = describe(exc)
                pause = min(pause * 2, self.retry_max)
                continue
            took = time.perf_counter() - started
            if self.deadline is not None and took > self.deadline:
                self.last_error = (
                    f"PING answered in {took * 1000:.0f} ms, over the "
                    f"{self.deadline * 1000:g} ms deadline"
                )
                pause = min(pause * 2, self.retry_max)
                continue
            logger.info("Redis at %s answers again: breaker state is shared again", self.label)
            with self._lock:  # logged first: whoever waits on _up finds the line written
                self.ok = True
                self._up.set()
            return

    def close(self) -> None:
        """Stop watching; commands are no longer attempted while Redis is down."""
        self._closed.set()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=2.0)

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"unreachable ({self.last_error})"
        return f"<Health {self.label} {state}>"
