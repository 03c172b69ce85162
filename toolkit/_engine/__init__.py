"""The engine: integrations run in parallel, each behind its own breaker and timeout.

Free of pandas, widgets, plots and HTTP, so a service can use it without Jupyter
(an import-linter contract in pyproject.toml keeps it so).

- ``contract``: the ``Integration`` protocol; ``results``: what a run returns.
- ``registry``: integration classes and instances, built with the runner's settings.
- ``runner``: ``IntegrationRunner`` (a run: admit, fly, settle); ``controls``: its
  trip/reset/expire/isolate, faults, policies and status; ``slot``: one integration's
  breaker, lock and in-flight call; ``recorder``: history, events and observers.
- ``breaker``: pybreaker's breaker split around an await (admit before, settle after).
- ``policy``: per-integration timeout and breaker settings; ``faults``: injected failures.
- ``history``: call records and breaker events, bounded, stored by column.
- ``status``: one breaker as of now; ``storage``: where breaker state lives.
- ``sync``: ``*_sync`` calls from plain code or a notebook; ``context``: the runner a
  call belongs to; ``errors``: every exception type; ``redact``: secrets masked.
"""
