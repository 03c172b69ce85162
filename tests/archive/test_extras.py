"""Without pyarrow, ``toolkit.Archive`` names the extra to install; ``import toolkit`` works."""

from __future__ import annotations

import subprocess
import sys

from test_public_api import without


def test_archive_without_pyarrow_names_the_archive_extra() -> None:
    script = without("pyarrow") + (
        "import toolkit\n"
        "runner = toolkit.IntegrationRunner(toolkit.IntegrationRegistry())\n"
        "try:\n"
        "    toolkit.Archive\n"
        "except toolkit.MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.startswith("toolkit.Archive needs pyarrow, which is not installed")
    assert "pip install 'integration-health-toolkit[archive]'" in done.stdout
    assert ".venv/bin/pip install -e '.[archive]'" in done.stdout


def test_the_archive_command_without_pyarrow_exits_2_naming_the_extra() -> None:
    script = without("pyarrow") + (
        "from toolkit.__main__ import main\n"
        "sys.exit(main(['archive', 'redis://127.0.0.1:1/0', '--namespace', 's', '--to', 'x']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "needs pyarrow, which is not installed" in done.stderr
    assert "integration-health-toolkit[archive]" in done.stderr


def test_import_toolkit_loads_no_pyarrow() -> None:
    script = "import sys, toolkit\nprint('pyarrow' in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
