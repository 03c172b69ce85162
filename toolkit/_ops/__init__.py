"""Ops: what the engine and the fleet know, exported to the tools services already use.

- ``readings``: one read of a runner or a ``Fleet`` (breakers, storage, call totals),
  the single source every exporter below uses.
- ``prometheus``: ``PrometheusCollector`` (public as ``toolkit.metrics``), in the
  toolkit's names or resilience4j's; ``otel``: the same as OpenTelemetry instruments.
- ``health``: the IETF health document, ``/livez`` and ``/readyz`` (``toolkit.health``);
  ``page``: the HTML status page; ``serve``: ``python -m toolkit serve``.
- ``extras``: the error naming the extra to install when one is missing.
"""
