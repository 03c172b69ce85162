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


READ_ALL = LuaScript("""
local out, now = {}, tonumber(ARGV[1])
for i = 0, #KEYS / 6 - 1 do
  local k, a = i * 6, 1 + i * 4
  local v = redis.call('MGET', KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5])
  local state, holder = v[1], false
  if state and not v[5] and (state == 'open' or state == 'half-open') then
    local due = state == 'half-open'
    if not due then
      local opened = tonumber(v[4])
      if opened and opened > now + 1 then opened = tonumber(ARGV[a + 4]) end
      due = opened == nil or opened + tonumber(ARGV[a + 1]) <= now
    end
    if due then
      if redis.call('SET', KEYS[k + 6], ARGV[a + 3], 'NX', 'PX', ARGV[a + 2]) then
        holder = ARGV[a + 3]
      else
        holder = redis.call('GET', KEYS[k + 6])
      end
    end
  end
  v[6] = holder
  for j = 1, 6 do
    local x = v[j]
    if x then out[#out + 1] = #x .. ':' .. x else out[#out + 1] = '-' end
  end
end
return table.concat(out)
""")
"""Every breaker of a run in one script call: its five keys, and the trial lease taken
when its trial is due; the replies come back in one string.

KEYS: six per breaker (state, fail_counter, success_counter, opened_at, isolated,
trial); ARGV: the worker's now, then per breaker its
reset_timeout, lease in ms, token, and the opened_at it believes in place of one more
than a second in the future. Returns each breaker's five values and the lease's holder
(false when no trial is due) as ``<length>:<bytes>``, or ``-`` for none: one reply
to parse, not seven per breaker (parsing them was most of a big run's cost)."""


def split_read_all(reply: bytes, count: int) -> list[list[bytes | None]]:
    """``READ_ALL``'s string as ``count`` lists of six values (None where Redis has none)."""
    values: list[bytes | None] = []
    position, end = 0, len(reply)
    find = reply.find
    while position < end:
        if reply[position] == 45:  # "-"
            values.append(None)
            position += 1
            continue
        colon = find(b":", position)
        length = int(reply[position:colon])
        values.append(reply[colon + 1 : colon + 1 + length])
        position = colon + 1 + length
    if len(values) != 6 * count:
        raise ValueError(f"expected {6 * count} values, got {len(values)}")
    return [values[i : i + 6] for i in range(0, len(values), 6)]


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

ALL = (READ_ALL, RAISE_OPENED_AT, INCREMENT, RELEASE)
BY_SHA = {script.sha: script for script in ALL}
