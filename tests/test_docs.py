"""The API reference's docstring rule: every public name has a docstring of its own.

``docs/hooks.py`` runs inside ``mkdocs build --strict`` (in ``make test``), where each
missing docstring is a warning that fails the build.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import toolkit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("toolkit_docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_public_name_has_a_docstring(hooks: ModuleType) -> None:
    assert hooks.missing_docstrings() == []


def test_a_public_method_without_a_docstring_is_named(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toolkit.IntegrationRunner.run_one_sync, "__doc__", None)
    assert hooks.missing_docstrings() == ["toolkit.IntegrationRunner.run_one_sync"]


def test_a_public_function_of_a_public_module_without_a_docstring_is_named(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toolkit.frames.latency, "__doc__", "  ")
    assert hooks.missing_docstrings() == ["toolkit.frames.latency"]


def test_the_mkdocs_configuration_runs_the_hook_in_strict_mode() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    assert "strict: true" in config
    assert "- docs/hooks.py" in config


def test_a_constant_needs_a_docstring_in_the_source(hooks: ModuleType, tmp_path: Path) -> None:
    import griffe

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A package."""\n\nLIMIT = 3\n"""How many."""\n\nBARE = (1, 2)\n'
    )
    source = griffe.load("pkg", search_paths=[str(tmp_path)])
    assert hooks._source_doc(source, "pkg.LIMIT") is True
    assert hooks._source_doc(source, "pkg.BARE") is False
