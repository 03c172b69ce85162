"""Breaker metrics where services already look: Prometheus and OpenTelemetry.

- ``PrometheusCollector(source, naming="toolkit")``: register it in a
  ``prometheus_client.CollectorRegistry``; ``source`` is an ``IntegrationRunner`` or a
  ``Fleet``. ``naming="resilience4j"`` writes resilience4j's metric names and labels,
  so its published Grafana dashboard works unchanged. ``collector.render()`` writes
  one scrape as text, as ``generate_latest`` would, several times faster.
- ``instrument(source, meter_provider=None)``: the same as OpenTelemetry instruments
  through ``opentelemetry-api``.

Needs the ``ops`` extra (``pip install 'integration-health-toolkit[ops]'``); without it,
importing this module raises ``MissingExtraError`` naming the extra.
"""

from __future__ import annotations

from toolkit._ops.otel import Instruments, instrument
from toolkit._ops.prometheus import PrometheusCollector

__all__ = ["Instruments", "PrometheusCollector", "instrument"]

for _name in __all__:  # shown, and pickled, under the public path
    globals()[_name].__module__ = __name__
