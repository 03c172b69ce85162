"""The Lua scripts a breaker runs in Redis, each one atomic step of one round trip.

Scripts are sent as ``EVALSHA`` inside pipelines; every pipeline that uses them starts
with their ``SCRIPT LOAD`` (cheap when cached), so a Redis that lost its script cache
(a restart, a failover to a replica) answers in the same round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from toolkit._fleet.io import Command, Packed, bulks


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
local out, now, n = {}, tonumber(ARGV[1]), #KEYS / 6
for first = 0, n - 1, 1000 do
  local last = math.min(n - 1, first + 999)
  local got = redis.call('MGET', unpack(KEYS, first * 5 + 1, last * 5 + 5))
  for i = first, last do
    local b, a = (i - first) * 5, 2 + i * 4
    local state, fails, wins = got[b + 1], got[b + 2], got[b + 3]
    local opened, isolated = got[b + 4], got[b + 5]
    if state == 'closed' and (not fails or fails == '0') and (not wins or wins == '0')
        and not opened and not isolated then
      out[#out + 1] = 'c'
    else
      local holder = false
      if state and not isolated and (state == 'open' or state == 'half-open') then
        local due = state == 'half-open'
        if not due then
          local at = tonumber(opened)
          if at and at > now + 1 then at = tonumber(ARGV[a + 3]) or now end
          due = at == nil or at + tonumber(ARGV[a]) <= now
        end
        if due then
          local trial = KEYS[5 * n + i + 1]
          if redis.call('SET', trial, ARGV[a + 2], 'NX', 'PX', ARGV[a + 1]) then
            holder = ARGV[a + 2]
          else
            holder = redis.call('GET', trial)
          end
        end
      end
      local values = {state, fails, wins, opened, isolated, holder}
      for j = 1, 6 do
        local x = values[j]
        if x then out[#out + 1] = #x .. ':' .. x else out[#out + 1] = '-' end
      end
    end
  end
end
return table.concat(out)
""")
"""Every breaker of a run in one script call: its five keys, and the trial lease taken
when its trial is due; the replies come back in one string.

KEYS: every breaker's five (state, fail_counter, success_counter, opened_at,
isolated), then every breaker's trial lease, so that the script reads 1,000 breakers
to an ``MGET`` straight from KEYS; ARGV: the worker's now, then per breaker its
reset_timeout, lease in ms, token, and the opened_at it believes in place of one more
than a second in the future (empty: now). Returns per breaker ``c`` when it is closed
with no failures, successes, opening or isolation (a healthy fleet's every breaker,
one byte each), else its five values and the lease's holder (false when no trial is
due) as ``<length>:<bytes>``, or ``-`` for none: one reply to parse, not seven per
breaker. Built by ``read_all`` from each breaker's packed keys and arguments."""

CLEAN: tuple[()] = ()
"""``split_read_all``'s item for a breaker read as ``c``: closed, nothing counted."""


def read_all(parts: Sequence[tuple[bytes, bytes, bytes]], now: float) -> Packed:
    """The ``EVALSHA`` of ``READ_ALL`` from each breaker's keys, trial key and arguments,
    packed once (``RedisBreakerStorage.read_wire``): a run of 1,000 breakers packs its
    11,000 arguments in one join."""
    count = len(parts)
    head = b"*%d\r\n" % (4 + 10 * count) + bulks(("EVALSHA", READ_ALL.sha, 6 * count))
    return Packed(
        b"".join(
            [head, *[p[0] for p in parts], *[p[1] for p in parts], bulks((repr(now),)),
             *[p[2] for p in parts]]
        )
    )


def split_read_all(reply: bytes, count: int) -> list[list[bytes | None] | tuple[()]]:
    """``READ_ALL``'s string as ``count`` items: ``CLEAN``, or six values (None where
    Redis has none). Raises ValueError for a reply that does not hold ``count``."""
    if reply == b"c" * count:
        return [CLEAN] * count
    items: list[list[bytes | None] | tuple[()]] = []
    position, end = 0, len(reply)
    find = reply.find
    try:
        while position < end:
            if reply[position] == 99:  # "c"
                items.append(CLEAN)
                position += 1
                continue
            values: list[bytes | None] = []
            for _ in range(6):
                if reply[position] == 45:  # "-"
                    values.append(None)
                    position += 1
                    continue
                colon = find(b":", position)
                length = int(reply[position:colon])
                values.append(reply[colon + 1 : colon + 1 + length])
                position = colon + 1 + length
            items.append(values)
    except IndexError:
        raise ValueError(f"a reply cut short after {len(items)} breakers") from None
    if len(items) != count:
        raise ValueError(f"expected {count} breakers, got {len(items)}")
    return items


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
