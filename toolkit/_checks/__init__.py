"""Checks: ready-made integrations, their TOML configuration and the ``check`` command.

Renders nothing (no pandas, widgets or plots: a contract in pyproject.toml); the
public names are re-exported by ``toolkit.integrations``.

- ``http``: ``HttpCheck``; ``tcp``: ``TcpCheck``; ``function``: the ``integration``
  decorator; ``options``: the options they share (status sets, JSON paths, timeouts);
  ``settings``: ``${NAME}`` references and secrets read from the environment.
- ``client``: the shared ``httpx.AsyncClient`` per runner and loop; ``transport``: its
  pooled transport.
- ``config``: ``load_config`` for TOML files; ``toml_lines``: line numbers for its errors.
- ``command``: ``python -m toolkit check``; ``report``: its text and JSON report.
"""
