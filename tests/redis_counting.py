"""Counting the commands a Redis server executed, from its own INFO commandstats."""

from __future__ import annotations

from collections import Counter

import redis


def command_counts(client: redis.Redis) -> Counter[str]:
    """Commands executed so far, by name (INFO itself excluded)."""
    stats = client.info("commandstats")
    counts: Counter[str] = Counter()
    for key, value in stats.items():
        name = key.removeprefix("cmdstat_")
        if name != "info":
            counts[name] = int(value["calls"])
    return counts


def commands_during(client: redis.Redis, before: Counter[str]) -> Counter[str]:
    """Commands executed since ``before`` was taken, without zero entries."""
    return +(command_counts(client) - before)
