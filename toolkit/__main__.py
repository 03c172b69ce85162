"""Command line: ``python -m toolkit demo`` tells the failure-isolation story;
``python -m toolkit check FILE`` runs the checks of a config file once (or ``--watch``);
``python -m toolkit serve FILE`` runs them on a schedule and serves metrics and health;
``python -m toolkit archive REDIS --namespace NS --to DIR`` archives a fleet's calls."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    usage = (
        "usage: python -m toolkit {demo,check,serve,archive} [options]"
        "   (python -m toolkit CMD --help)\n"
        "  demo   the failure-isolation story, told in the terminal\n"
        "  check  run a TOML config's checks once (or --watch N)\n"
        "  serve  run them every interval; serve /metrics, /health, /livez, /readyz and a page\n"
        "  archive  keep a fleet's call stream in a Parquet archive (toolkit.Archive)"
    )
    if not args or args[0] in ("-h", "--help"):
        print(usage)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "demo":
        from toolkit._demo.story import main as demo_main

        return int(demo_main(rest))
    if command == "check":
        from toolkit._checks.command import main as check_main

        return int(check_main(rest))
    if command == "serve":
        from toolkit._engine.errors import MissingExtraError

        try:
            from toolkit._ops.serve import main as serve_main
        except MissingExtraError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return int(serve_main(rest))
    if command == "archive":
        from toolkit._engine.errors import MissingExtraError

        try:
            from toolkit._archive.command import main as archive_main
        except MissingExtraError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return int(archive_main(rest))
    print(f"unknown command {command!r}\n{usage}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
