"""Breaker metrics where services already look: Prometheus and OpenTelemetry.

- ``PrometheusCollector(source, naming="toolkit")``: register it in a
  ``prometheus_client.CollectorRegistry``; ``source`` is an ``IntegrationRunner`` or a
  ``Fleet``. ``naming="resilience4j"`` writes resilience4j's metric names and labels,
  so its published Grafana dashboard works unchanged. ``collector.render()`` writes
  one scrape as text, as ``generate_latest`` would, several times faster.
- ``instrument(source, meter_provider=None)``: the same as OpenTelemetry instruments
  through ``opentelemetry-api`` (imported when first used, so Prometheus alone needs
  only prometheus_client).

Needs the ``ops`` extra (``pip install 'integration-health-toolkit[ops]'``); without it,
using a name of this module raises ``MissingExtraError`` naming the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._ops.prometheus import PrometheusCollector

if TYPE_CHECKING:
    from toolkit._ops.otel import Instruments, instrument

__all__ = ["Instruments", "PrometheusCollector", "instrument"]

PrometheusCollector.__module__ = __name__  # shown, and pickled, under the public path


def __getattr__(name: str) -> Any:
    """Load the OpenTelemetry side on first use."""
    if name not in ("Instruments", "instrument"):
        raise AttributeError(f"module 'toolkit.metrics' has no attribute {name!r}")
    from toolkit._ops import otel

    value = getattr(otel, name)
    value.__module__ = __name__
    globals()[name] = value
    return value
