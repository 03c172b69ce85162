"""The Lua scripts a breaker runs in Redis, each one atomic step of one round trip.

Scripts are sent as ``EVALSHA`` inside pipelines; every pipeline that uses them starts
with their ``SCRIPT LOAD`` (cheap when cached), so a Redis that lost its script cache
(a restart, a failover to a replica) answers in the same round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from toolkit._fleet.io import Command


@dataclass(frozen=True)
class LuaScript:
    """A script and its SHA1, as the commands that load and run it."""

    body: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.body.encode()).hexdigest())

    def load(self) -> Command:
        """``SCRIPT LOAD``: caches the script (a no-op when cached already)."""
        return ("SCRIPT", "LOAD", self.body)

    def call(self, keys: Iterable[str], args: Iterable[str | int | float] = ()) -> Command:
        """``EVALSHA`` of the script (needs it loaded earlier in the same pipeline)."""
        keys = list(keys)
        return ("EVALSHA", self.sha, len(keys), *keys, *args)

    def eval(self, keys: Iterable[str], args: Iterable[str | int | float] = ()) -> Command:
        """``EVAL`` with the body: for a lone command outside a pipeline."""
        keys = list(keys)
        return ("EVAL", self.body, len(keys), *keys, *args)


READ = LuaScript("""
local v = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local state, holder = v[1], false
if state and not v[5] and (state == 'open' or state == 'half-open') then
  local due = state == 'half-open'
  if not due then
    local now = tonumber(ARGV[1])
    local opened = tonumber(v[4])
    if opened and opened > now + 1 then opened = tonumber(ARGV[5]) end
    due = opened == nil or opened + tonumber(ARGV[2]) <= now
  end
  if due then
    if redis.call('SET', KEYS[6], ARGV[4], 'NX', 'PX', ARGV[3]) then
      holder = ARGV[4]
    else
      holder = redis.call('GET', KEYS[6])
    end
  end
end
v[6] = holder
return v
""")
"""One breaker's five keys, and the trial lease taken when its trial is due.

KEYS: state, fail_counter, success_counter, opened_at, isolated, trial. ARGV: the
worker's now, its reset_timeout, the lease in ms, its token, and the opened_at it
believes in place of one more than a second in the future. Returns the five values
and the lease's holder (false when no trial is due)."""

RAISE_OPENED_AT = LuaScript("""
local current = tonumber(redis.call('GET', KEYS[1]) or '')
local proposed = tonumber(ARGV[1])
if current == nil or proposed > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return proposed
end
return current
""")
"""Set ``opened_at`` only if it moves forward (pybreaker's rule); garbage is written over."""

INCREMENT = LuaScript("""
local n = redis.pcall('INCR', KEYS[1])
if type(n) == 'table' and n.err then
  redis.call('SET', KEYS[1], 1)
  return -1
end
return n
""")
"""``INCR``, but a counter that holds no whole number is written over with 1 (-1 says so)."""

RELEASE = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""")
"""Delete the trial lease only if this worker still holds it."""

ALL = (READ, RAISE_OPENED_AT, INCREMENT, RELEASE)
BY_SHA = {script.sha: script for script in ALL}
