"""The public surface: ``toolkit.__all__`` is sorted, complete and importable."""

from __future__ import annotations

import toolkit


def test_all_is_sorted() -> None:
    assert toolkit.__all__ == sorted(toolkit.__all__, key=lambda n: (n[0].islower(), n))


def test_every_public_name_resolves() -> None:
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None, name


def test_all_lists_every_public_attribute() -> None:
    public = {
        name
        for name, value in vars(toolkit).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("toolkit")
    }
    assert public <= set(toolkit.__all__)


def test_contract_names_from_the_design() -> None:
    for name in (
        "Integration", "IntegrationResult", "IntegrationSection", "IntegrationResults",
        "IntegrationRegistry", "IntegrationRunner", "Fault", "CallRecord", "BreakerEvent",
        "frames", "Dashboard",
    ):  # fmt: skip
        assert name in toolkit.__all__


PUBLIC_MODULES = {
    "toolkit.metrics": ["PrometheusCollector", "instrument"],
    "toolkit.health": ["app"],
    "toolkit.frames": ["breakers", "calls", "events", "latency", "results", "style"],
    "toolkit.plots": ["latency", "timeline"],
    "toolkit.integrations": ["HttpCheck", "TcpCheck", "integration", "SharedClient"],
    "toolkit.demo": ["DemoIntegration", "demo_integrations", "demo_registry"],
    "toolkit.fleet_demo": ["FleetWorkers", "LocalRedis"],
}


def test_public_modules_keep_their_import_paths() -> None:
    import importlib

    for module_name, names in PUBLIC_MODULES.items():
        module = importlib.import_module(module_name)
        assert set(names) <= set(module.__all__), module_name
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module_name}.{name}"


def test_top_level_names_are_the_objects_of_the_public_modules() -> None:
    from toolkit import frames, integrations

    assert toolkit.frames is frames
    assert toolkit.integrations is integrations
    assert toolkit.HttpCheck is integrations.HttpCheck
    assert toolkit.integration is integrations.integration


def test_import_toolkit_stays_light_in_a_fresh_interpreter() -> None:
    import json
    import subprocess
    import sys

    heavy = ["pandas", "ipywidgets", "matplotlib", "httpx", "jinja2"]
    heavy += ["prometheus_client", "starlette", "uvicorn"]  # the ops extra
    script = (
        "import json, sys, toolkit\n"
        "runner = toolkit.IntegrationRunner(toolkit.IntegrationRegistry())\n"
        "runner.run_all_sync()\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_command_line_entry_points_keep_their_names() -> None:
    import subprocess
    import sys

    for command in ("demo", "check"):
        done = subprocess.run(
            [sys.executable, "-m", "toolkit", command, "--help"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"python -m toolkit {command}" in done.stdout


def without(*packages: str) -> str:
    """Python source that makes ``packages`` unimportable, as on an install without them."""
    return (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {packages!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )


def test_ops_modules_without_their_extra_name_it() -> None:
    import subprocess
    import sys

    blocked = without("prometheus_client", "starlette", "uvicorn")  # the ops extra
    script = blocked + (
        "import toolkit\n"
        "for module in ('toolkit.metrics', 'toolkit.health'):\n"
        "    try:\n"
        "        __import__(module)\n"
        "    except toolkit.MissingExtraError as exc:\n"
        "        print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout + done.stderr
    assert lines[0].startswith("toolkit.metrics needs prometheus_client")
    assert lines[1].startswith("toolkit.health needs starlette")
    for line in lines:
        assert "pip install 'integration-health-toolkit[ops]'" in line
    serve = subprocess.run(
        [sys.executable, "-c", blocked
         + "from toolkit.__main__ import main; sys.exit(main(['serve', 'x.toml']))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert serve.returncode == 2
    assert "integration-health-toolkit[ops]" in serve.stderr


def test_prometheus_alone_needs_no_opentelemetry() -> None:
    import subprocess
    import sys

    script = without("opentelemetry") + (
        "import toolkit\n"
        "from toolkit.metrics import PrometheusCollector\n"
        "print(PrometheusCollector.__module__)\n"
        "try:\n"
        "    from toolkit.metrics import instrument\n"
        "except toolkit.MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "toolkit.metrics"
    assert lines[1].startswith("toolkit.metrics.instrument needs opentelemetry")
