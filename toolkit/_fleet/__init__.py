"""The fleet: breakers shared through Redis by many workers, seen and steered at once.

- ``client``: connections, health and fallback; ``keys``: the key layout (pybreaker's);
  ``snapshot``: one breaker's keys read at once.
- ``breaker``: pybreaker storage on Redis; ``storage``: ``RedisStorage``, the runner's
  storage for a fleet; ``stream``: the capped call stream every worker appends to.
- ``status``: ``FleetBreaker`` and the ``FleetSource`` a fleet view reads.
- ``control``: ``Fleet``, reads and controls over Redis; ``frames``: its DataFrames;
  ``rows`` and ``dashboard``: its live widget, built from the view's dashboard parts.
"""
