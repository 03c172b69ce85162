"""mkdocs hook: a public name without a docstring is a build warning (an error with --strict).

The public names are those of ``toolkit.__all__`` and of the public modules' ``__all__``;
for a class, also every public method and property of it and of its toolkit bases
(members inherited from ipywidgets or pybreaker are theirs to document). A constant
needs a docstring of its own below its assignment, read from the source by griffe
(an instance's ``__doc__`` is its type's).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import griffe

log = logging.getLogger("mkdocs.plugins.toolkit-docstrings")

PUBLIC_MODULES = (
    "toolkit",
    "toolkit.frames",
    "toolkit.plots",
    "toolkit.integrations",
    "toolkit.demo",
    "toolkit.fleet_demo",
    "toolkit.metrics",
    "toolkit.health",
)


ROOT = Path(__file__).resolve().parent.parent


def missing_docstrings() -> list[str]:
    """Dotted names of public objects that have no docstring of their own."""
    missing: list[str] = []
    source = griffe.load("toolkit", search_paths=[str(ROOT)])
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        if not inspect.getdoc(module):
            missing.append(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if isinstance(value, ModuleType):
                continue  # a public module: checked on its own
            where = f"{module_name}.{name}"
            if inspect.isclass(value) or callable(value):
                documented = _own_doc(value)
            else:
                documented = _source_doc(source, where)
            if not documented:
                missing.append(where)
            if inspect.isclass(value):
                missing.extend(f"{where}.{m}" for m in _undocumented_members(value))
    return sorted(set(missing))


def _own_doc(value: Any) -> bool:
    doc = getattr(value, "__doc__", None)
    return isinstance(doc, str) and bool(doc.strip())


def _source_doc(source: griffe.Object | griffe.Alias, dotted: str) -> bool:
    path = dotted.removeprefix(source.path).lstrip(".")
    try:
        docstring = source[path].docstring
    except (KeyError, griffe.AliasResolutionError):
        return False
    return docstring is not None and bool(docstring.value.strip())


def _undocumented_members(cls: type) -> list[str]:
    found = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("toolkit"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_"):
                continue
            target = member.fget if isinstance(member, property) else member
            if isinstance(target, staticmethod | classmethod):
                target = target.__func__
            if inspect.isfunction(target) and not _own_doc(target):
                found.append(name)
    return found


def on_pre_build(config: Any) -> None:
    """Warn once per public name that has no docstring."""
    for name in missing_docstrings():
        log.warning("public name %s has no docstring", name)
