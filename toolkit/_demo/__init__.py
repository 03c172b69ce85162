"""Demo: simulated services, the terminal story and a fleet on one machine.

- ``services``: seeded simulated integrations (public as ``toolkit.demo``).
- ``story``: ``python -m toolkit demo``, failure isolation told in a terminal.
- ``fleet``: ``LocalRedis`` and ``FleetWorkers`` (public as ``toolkit.fleet_demo``);
  ``worker``: the process each fleet worker runs.
"""
