"""A fleet on one machine for notebooks and demos: a throwaway Redis and worker processes.

``LocalRedis()`` starts ``redis-server`` on 127.0.0.1 on a free port with no
persistence; ``FleetWorkers(url, namespace, count=2)`` starts worker processes
(``python -m toolkit._demo.worker``) that run demo integrations against it. Both stop their
processes on ``stop()``, when the Python process that started them exits (also after
an error), and on Linux when it dies without exiting (the children are asked to
end with it).
"""

from __future__ import annotations

from toolkit._demo.fleet import FleetWorkers, LocalRedis

__all__ = ["FleetWorkers", "LocalRedis"]

for _name in __all__:  # shown, and pickled, under the public path
    globals()[_name].__module__ = __name__
