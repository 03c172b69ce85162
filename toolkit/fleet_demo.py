"""A fleet on one machine for notebooks and demos: ``LocalRedis`` (a throwaway
``redis-server`` on 127.0.0.1) and ``FleetWorkers`` (worker processes running the demo
integrations against it).

Built in ``toolkit._demo.fleet``; this module is the public path.
"""

from __future__ import annotations

from toolkit._demo.fleet import FleetWorkers, LocalRedis

__all__ = ["FleetWorkers", "LocalRedis"]
