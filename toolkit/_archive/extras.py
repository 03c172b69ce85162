"""The ``archive`` extra: pyarrow.

``import toolkit`` needs no pyarrow; ``toolkit.Archive`` imports it when first used and,
when it is missing, raises ``MissingExtraError`` naming the extra to install.
"""

from __future__ import annotations

from toolkit._engine.errors import MissingExtraError

EXTRA = "archive"


def missing(feature: str, exc: ImportError) -> MissingExtraError:
    """The error for ``feature`` when importing a package of the extra failed with ``exc``."""
    module = (exc.name or str(exc)).split(".")[0]
    return MissingExtraError(feature, module, EXTRA)
