"""The layer rules of docs/architecture.md hold, and a new import that breaks one fails.

``lint-imports`` reads the contracts in pyproject.toml (``[tool.importlinter]``). The
failing cases run on a copy of the package with one bad import added, so each test
shows that its rule is really checked and that the failure names the contract.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with ``root`` as the working directory (its toolkit is checked)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, to break on purpose."""
    shutil.copytree(
        ROOT / "toolkit", tmp_path / "toolkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}  # noqa: E402\n")


def test_the_tree_keeps_every_contract() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "toolkit._engine.faults",
            "import pandas",
            "The engine needs neither pandas, ipywidgets, matplotlib nor httpx",
        ),
        (
            "toolkit._engine.status",
            "from toolkit._view import palette",
            "Layers: demo, ops | archive, fleet, checks | view, engine (top to bottom)",
        ),
        (
            "toolkit._checks.report",
            "from toolkit._view import palette",
            "Layers: demo, ops | archive, fleet, checks | view, engine (top to bottom)",
        ),
        ("toolkit._checks.command", "import ipywidgets", "Checks render nothing"),
        (
            "toolkit._view.frames",
            "import redis",
            "The view reads nothing of the fleet's Redis side",
        ),
        (
            "toolkit._fleet.dashboard",
            "from toolkit._fleet import control",
            "Fleet above its widget and frames, those above its Redis parts",
        ),
        (
            "toolkit._engine.errors",
            "from toolkit._engine import runner",
            "No import circle among the modules of any package",
        ),
    ],
)
def test_an_import_that_breaks_a_rule_fails_with_the_contracts_name(
    copy: Path, module: str, line: str, contract: str
) -> None:
    add_import(copy, module, line)
    done = lint(copy)
    assert done.returncode != 0
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, done.stdout
    assert module.rsplit(".", 1)[-1] in broken  # the module that imports (cycles: ".errors")


def test_a_subpackage_outside_every_layer_is_refused(copy: Path) -> None:
    (copy / "toolkit" / "_extra").mkdir()
    (copy / "toolkit" / "_extra" / "__init__.py").write_text('"""Not in any layer."""\n')
    done = lint(copy)
    assert done.returncode != 0
    assert "_extra" in done.stdout
