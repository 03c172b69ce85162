"""The view: runner state as DataFrames, styled tables, plots and the live dashboard.

Reads the engine, never the fleet's Redis side (contracts in pyproject.toml).

- ``frames``: tidy DataFrames (public as ``toolkit.frames``); ``styling``: their
  HTML-escaped, coloured ``Styler``; ``plots``: matplotlib charts (``toolkit.plots``);
  ``palette``: the colours every renderer shares; ``shown``: any value as capped text
  that never raises, with a note of what was cut (every renderer uses it).
- ``dashboard``: the ``Dashboard`` widget and the parts the fleet dashboard reuses.
"""
