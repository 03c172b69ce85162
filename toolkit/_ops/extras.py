"""The ``ops`` extra: prometheus_client, opentelemetry-api, starlette and uvicorn.

``import toolkit`` needs none of them; ``toolkit.metrics`` and ``toolkit.health``
import them when first used and say which extra to install when they are missing.
"""

from __future__ import annotations

from toolkit._engine.errors import MissingExtraError

EXTRA = "ops"


def missing(feature: str, exc: ImportError) -> MissingExtraError:
    """The error for ``feature`` when importing a package of the extra failed with ``exc``."""
    module = (exc.name or str(exc)).split(".")[0]
    return MissingExtraError(feature, module, EXTRA)
