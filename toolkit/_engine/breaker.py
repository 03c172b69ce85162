"""Asyncio-safe use of real ``pybreaker.CircuitBreaker`` objects.

pybreaker's ``call`` holds a thread lock around the guarded function and its
``call_async`` is Tornado-only, so an ``await`` cannot run inside it. The call is
therefore split in two steps that never hold the lock across an ``await``:

* ``admit`` decides, before the call, whether it may run (an open breaker whose
  wait has passed moves to half-open here, making this call a trial);
* ``settle`` replays the finished call's outcome through pybreaker's own
  ``call()``, so its counters, state machine, excluded exceptions and listeners
  behave exactly as for a synchronous call.

The state always lives in pybreaker (and so in its storage). A rate-based policy
(``window``/``window_s``) decides when to open it: pybreaker's own ``fail_max`` is
then set out of reach, and ``settle`` opens the breaker when the window's verdict
says so (see ``toolkit/_engine/verdict.py``). With ``half_open_calls`` above one,
``settle`` tallies the trials in the storage's failure and success counters (shared
by a fleet) and decides once they have all finished. Every opening in a row without
a close lengthens the wait (``backoff``); the breaker counts them itself.
"""

from __future__ import annotations

import contextlib
import logging
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, NoReturn

import pybreaker

from toolkit._engine.errors import ConfigError
from toolkit._engine.history import State
from toolkit._engine.policy import UNBOUNDED_FAIL_MAX, Policy
from toolkit._engine.verdict import NAN, rates, trials_reopen, trips
from toolkit._engine.window import Window, window_for

logger = logging.getLogger("toolkit")


_NO_BATCH = contextlib.nullcontext()
TRIAL_ELSEWHERE: Final = "trial-elsewhere"
"""What ``admit`` answers when the trial is due but another worker of the fleet makes it."""


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
        self._memory = type(storage) is pybreaker.CircuitMemoryStorage
        self.policy = Policy(reset_timeout=self.reset_timeout, fail_max=self.fail_max)
        """The policy this breaker decides by (``apply_policy`` sets it)."""
        self.window: Window | None = None
        """The rate window, None while the policy counts consecutive failures."""
        self.openings = 0
        """Openings in a row without a close: the exponent of ``backoff``."""
        self.known: str | None = None
        """The state this breaker last saw, to tell an opening or a close when it happens."""

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
    policy: Policy,
    state_storage: pybreaker.CircuitBreakerStorage | None = None,
) -> SafeBreaker:
    """A breaker for one integration deciding by ``policy`` (memory storage unless given)."""
    cb = SafeBreaker(
        fail_max=policy.fail_max,
        reset_timeout=policy.reset_timeout,
        state_storage=state_storage,
        name=name,
        throw_new_error_on_trip=False,
    )
    apply_policy(cb, policy)
    return cb


def apply_policy(cb: SafeBreaker, policy: Policy) -> None:
    """Decide by ``policy`` from now on; a window of the same shape keeps its calls.

    Raises ConfigError, changing nothing, when the storage cannot give the window.
    """
    old = cb.policy
    same_shape = (old.window, old.window_s, old.shared_window) == (
        policy.window, policy.window_s, policy.shared_window
    )  # fmt: skip
    window = cb.window if cb.window is not None and same_shape else _window_of(cb, policy)
    cb.policy = policy
    cb.window = window
    cb.fail_max = UNBOUNDED_FAIL_MAX if policy.rate_based else policy.fail_max
    cb.reset_timeout = policy.wait_after(cb.openings)


def check_policy(cb: SafeBreaker, policy: Policy) -> None:
    """Raise ConfigError when this breaker's storage cannot serve ``policy``."""
    if policy.shared_window and getattr(cb._state_storage, "shared_window", None) is None:
        raise ConfigError(
            f"shared_window=True for {cb.name!r} needs a storage that shares windows"
            " (RedisStorage); with this storage use shared_window=False"
        )


def _window_of(cb: SafeBreaker, policy: Policy) -> Window | None:
    """The policy's window: the fleet's own when shared (the storage must offer one)."""
    if policy.shared_window:
        check_policy(cb, policy)
        return cb._state_storage.shared_window(float(policy.window_s))  # type: ignore[arg-type,attr-defined,no-any-return]
    return window_for(policy)


def window_rates(cb: pybreaker.CircuitBreaker, now: float) -> tuple[float, float]:
    """The window's failure and slow rates as of ``now``; NaN below min_calls or no window."""
    window = getattr(cb, "window", None)
    if window is None:
        return NAN, NAN
    return rates(cb.policy, *window.peek(now))  # type: ignore[attr-defined]


def note_state(cb: SafeBreaker, state: str) -> None:
    """Follow the breaker into ``state``: an opening clears the window and counts one
    more in a row (the next wait lengthens by ``backoff``); a close clears both."""
    known = cb.known
    if state == known:
        return
    cb.known = state
    if state == "open" and known != "open":
        cb.openings += 1
        if cb.window is not None:
            cb.window.clear()
        cb.reset_timeout = cb.policy.wait_after(cb.openings)
    elif state == "closed":
        cb.openings = 0
        if cb.window is not None:
            cb.window.clear()
        cb.reset_timeout = cb.policy.reset_timeout


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


def admit(cb: SafeBreaker, now: float | None = None) -> State | float | Literal["trial-elsewhere"]:
    """The state the call starting at ``now`` runs in, or why it is refused: the seconds
    left until the trial, or ``TRIAL_ELSEWHERE``.

    An open breaker whose wait has passed moves to half-open: the caller's call is a
    trial, unless the storage's ``trial_granted()`` says another worker holds it (a
    shared storage allows one trial per fleet; a half-open breaker found in the
    storage is another worker's trial until its lease is ours). A closed breaker costs
    one storage read.
    """
    storage = cb._state_storage
    state = storage.state
    if state == "closed":
        note_state(cb, "closed")
        return "closed"
    granted = getattr(storage, "trial_granted", None)
    with cb._lock:
        state = storage_state(cb)
        if state == "half-open" and granted is not None and not granted():
            return TRIAL_ELSEWHERE
        if state != "open":
            note_state(cb, state)
            return state
        note_state(cb, "open")
        opened_at = storage.opened_at
        if opened_at is not None:
            left = opened_at.timestamp() + cb.reset_timeout - (time.time() if now is None else now)
            if left > 0.0:
                return left
        if granted is not None and not granted():
            return TRIAL_ELSEWHERE
        cb.half_open()
        if cb.policy.half_open_calls > 1:
            cb._state_storage.reset_counter()  # the trials' tally starts empty
        note_state(cb, "half-open")
        return "half-open"


def _succeed() -> None:
    return None


def _fail(exc: BaseException) -> NoReturn:
    raise exc


def settle(
    cb: SafeBreaker, failure: BaseException | None, ended_at: float | None = None,
    duration: float = 0.0,
) -> State:  # fmt: skip
    """Count a finished call: ``failure`` None for success, else the exception to count;
    returns the breaker's state after it (as ``storage_state`` would read it).

    ``ended_at`` (epoch seconds) and ``duration`` place the call in a time window and
    tell whether it was slow; an opening is dated ``ended_at``. A breaker that was
    opened while the call ran (by hand, or by another worker) stays open and the
    outcome is not counted: replayed into an open breaker whose wait has passed,
    pybreaker would take it for the trial call.
    """
    end = time.time() if ended_at is None else ended_at
    with cb._lock:
        current = cb._state_storage.state
        if current == "open":
            note_state(cb, "open")
            return "open"
        if cb._state.name != current:
            # Changed elsewhere (another worker, a fleet-wide reset): adopt it quietly.
            # pybreaker's own resync notifies, and a closed state's notification resets
            # the shared failure counter, wiping failures other workers have counted.
            cb._state = cb._create_new_state(current, prev_state=cb._state, notify=False)
        note_state(cb, current)
        policy = cb.policy
        if current == "half-open" and policy.half_open_calls > 1:
            _trial(cb, failure)
        else:
            _replay(cb, failure)
            window = cb.window
            if current == "closed" and window is not None:
                slow = policy.slow_after is not None and duration > policy.slow_after
                window.add(end, failure is not None, slow)
                if cb._state_storage.state == "closed" and trips(policy, *window.counts(end)):
                    cb.open()
        after = cb._state_storage.state
        if after == "open" and cb._memory:
            cb._state_storage.opened_at = datetime.fromtimestamp(end, UTC)
        note_state(cb, after)
        return after if after in ("closed", "open", "half-open") else "closed"  # type: ignore[return-value]


def _replay(cb: SafeBreaker, failure: BaseException | None) -> None:
    """Run the outcome through pybreaker's ``call()``: its counters, rules and listeners."""
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


def _trial(cb: SafeBreaker, failure: BaseException | None) -> None:
    """Tally one of several half-open trials; the last owed one closes or reopens.

    The tally lives in the storage's failure and success counters, so a fleet's
    workers share it. Listeners hear each trial as a call.
    """
    storage = cb._state_storage
    if failure is None:
        storage.increment_success_counter()
    else:
        storage.increment_counter()
    for listener in cb.listeners:
        listener.before_call(cb, _trial)
        if failure is None:
            listener.success(cb)
        else:
            listener.failure(cb, failure)
    failed = storage.counter
    reopen = trials_reopen(cb.policy, failed + storage.success_counter, failed)
    if reopen is True:
        cb.open()
    elif reopen is False:
        cb.close()


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
