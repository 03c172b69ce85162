"""Asyncio-safe use of real ``pybreaker.CircuitBreaker`` objects.

pybreaker's ``call`` holds a thread lock around the guarded function and its
``call_async`` is Tornado-only, so an ``await`` cannot run inside it. The call is
therefore split in two steps that never hold the lock across an ``await``:

* ``admit`` decides, before the call, whether it may run (an open breaker whose
  wait has passed moves to half-open here, making this call its one trial);
* ``settle`` replays the finished call's outcome through pybreaker's own
  ``call()``, so its counters, state machine, excluded exceptions and listeners
  behave exactly as for a synchronous call.
"""

from __future__ import annotations

import contextlib
import logging
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pybreaker

from toolkit._engine.history import State

logger = logging.getLogger("toolkit")


_NO_BATCH = contextlib.nullcontext()


def _no_batch() -> AbstractContextManager[Any]:
    """The batch of a storage without one: nothing to group."""
    return _NO_BATCH


class _SafeListener(pybreaker.CircuitBreakerListener):
    """Forwards to a user listener and logs, rather than raises, whatever it raises."""

    def __init__(self, inner: pybreaker.CircuitBreakerListener) -> None:
        self.inner = inner
        self._failed: set[str] = set()

    def _forward(self, hook: str, *args: Any) -> None:
        try:
            getattr(self.inner, hook)(*args)
        except Exception:
            if hook in self._failed:  # one traceback per hook, not one per call
                logger.debug("listener %r raised in %s again; ignored", self.inner, hook)
                return
            self._failed.add(hook)
            logger.exception(
                "circuit breaker listener %r raised in %s; ignored (again: DEBUG)", self.inner, hook
            )

    def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
        self._forward("before_call", cb, func, *args)

    def failure(self, cb: Any, exc: BaseException) -> None:
        self._forward("failure", cb, exc)

    def success(self, cb: Any) -> None:
        self._forward("success", cb)

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self._forward("state_change", cb, old_state, new_state)

    def __eq__(self, other: object) -> bool:
        return other is self or other is self.inner

    def __hash__(self) -> int:
        return id(self.inner)


class SafeBreaker(pybreaker.CircuitBreaker):
    """A ``pybreaker.CircuitBreaker`` whose listeners can never break a guarded call.

    Each listener is wrapped as it is added; a wrapper compares equal to the listener
    it wraps, so ``remove_listener(listener)`` and ``listener in cb.listeners`` work.
    """

    def add_listener(self, listener: Any) -> None:
        """Register ``listener``; its exceptions are logged and swallowed."""
        super().add_listener(_SafeListener(listener))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        storage = self._state_storage
        # Looked up once: the hooks a shared storage offers (see toolkit/_engine/storage.py).
        self._shared_isolation = hasattr(type(storage), "isolated")
        self._isolated = False
        begin = getattr(storage, "batch", None)
        self._batch: Any = begin if begin is not None else _no_batch

    @property
    def isolated(self) -> bool:
        """Held open with no trial until reset; a storage with ``isolated`` shares it."""
        if self._shared_isolation:
            return bool(self._state_storage.isolated)  # type: ignore[attr-defined]
        return self._isolated

    @isolated.setter
    def isolated(self, value: bool) -> None:
        if self._shared_isolation:
            self._state_storage.isolated = value  # type: ignore[attr-defined]
        else:
            self._isolated = value


def make_breaker(
    name: str,
    fail_max: int,
    reset_timeout: float,
    state_storage: pybreaker.CircuitBreakerStorage | None = None,
) -> SafeBreaker:
    """A breaker for one integration (memory storage unless one is given)."""
    return SafeBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        state_storage=state_storage,
        name=name,
        throw_new_error_on_trip=False,
    )


def batch(cb: pybreaker.CircuitBreaker) -> AbstractContextManager[Any]:
    """Group one step's storage reads: a storage with ``batch()`` fetches them in one go."""
    begin: Any = getattr(cb, "_batch", None) or getattr(cb._state_storage, "batch", _no_batch)
    return begin()  # type: ignore[no-any-return]


def storage_state(cb: pybreaker.CircuitBreaker) -> State:
    """The breaker's state as its storage reports it (one storage read)."""
    state = cb.current_state
    return state if state in ("closed", "open", "half-open") else "closed"  # type: ignore[return-value]


def trial_in(cb: pybreaker.CircuitBreaker, now: datetime | None = None) -> float:
    """Seconds until an open breaker allows its trial call (0.0 when the trial is due)."""
    opened_at = cb._state_storage.opened_at
    if opened_at is None:
        return 0.0
    now = now or datetime.now(UTC)
    due = opened_at + timedelta(seconds=cb.reset_timeout)
    return max(0.0, (due - now).total_seconds())


def admit(cb: pybreaker.CircuitBreaker) -> State | float:
    """The state the call runs in, or the seconds left until the trial when refused.

    An open breaker whose ``reset_timeout`` has passed moves to half-open: the
    caller's call is the trial. A closed breaker costs one storage read.
    """
    state = cb._state_storage.state
    if state == "closed":
        return "closed"
    with cb._lock:
        state = storage_state(cb)
        if state != "open":
            return state
        opened_at = cb._state_storage.opened_at
        if opened_at is not None:
            left = opened_at.timestamp() + cb.reset_timeout - time.time()
            if left > 0.0:
                return left
        cb.half_open()
        return "half-open"


def _succeed() -> None:
    return None


def _fail(exc: BaseException) -> NoReturn:
    raise exc


def settle(cb: pybreaker.CircuitBreaker, failure: BaseException | None) -> None:
    """Count a finished call: ``failure`` None for success, else the exception to count.

    A breaker that was opened while the call ran (by hand, or by another worker)
    stays open and the outcome is not counted: replayed into an open breaker whose
    wait has passed, pybreaker would take it for the trial call.
    """
    with cb._lock:
        current = cb._state_storage.state
        if current == "open":
            return
        if cb._state.name != current:
            # Changed elsewhere (another worker, a fleet-wide reset): adopt it quietly.
            # pybreaker's own resync notifies, and a closed state's notification resets
            # the shared failure counter, wiping failures other workers have counted.
            cb._state = cb._create_new_state(current, prev_state=cb._state, notify=False)
    try:
        if failure is None:
            cb.call(_succeed)
        else:
            cb.call(_fail, failure)
    except pybreaker.CircuitBreakerError:
        pass
    except BaseException as exc:
        if exc is not failure:
            logger.exception("circuit breaker %r failed to record an outcome", cb.name)


def expire(cb: pybreaker.CircuitBreaker) -> None:
    """End an open breaker's wait now, so the next call is its trial."""
    with cb._lock:
        if storage_state(cb) == "open":
            past = datetime.now(UTC) - timedelta(seconds=cb.reset_timeout + 1.0)
            # A shared storage may only move opened_at forward (pybreaker's Redis storage
            # does); its rewind_opened_at moves it back on purpose.
            rewind = getattr(cb._state_storage, "rewind_opened_at", None)
            if rewind is not None:
                rewind(past)
            else:
                cb._state_storage.opened_at = past
