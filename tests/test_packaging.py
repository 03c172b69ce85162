"""pyproject.toml and environment.yml describe the same environment.

pip users install from pyproject.toml, conda users from environment.yml; these tests
fail as soon as one names a dependency or a lower bound that the other does not.
environment.yml holds the runtime dependencies plus the ``dev`` extra (the ``lab``
extra is left to ``make lab``), each as ``name>=bound``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# PyPI name -> conda-forge name, where the two differ. Names are compared after PEP 503
# normalisation (lower case, runs of "-", "_", "." as one "-").
CONDA_NAMES: dict[str, str] = {
    "redis": "redis-py",
    "playwright": "playwright-python",
    "duckdb": "python-duckdb",
}

# Conda entries that pyproject.toml states elsewhere (requires-python) or not at all.
CONDA_ONLY = {"python", "pip"}

REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*(?P<bound>[0-9][0-9.]*)$")


def normalise(name: str) -> str:
    """PEP 503 form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_bounds(requirements: list[str], source: str) -> dict[str, str]:
    """Map ``name>=bound`` strings to {normalised name: bound}; anything else is an error."""
    bounds: dict[str, str] = {}
    for requirement in requirements:
        match = REQUIREMENT.match(requirement.strip())
        assert match, f"{source}: {requirement!r} is not of the form name>=version"
        name = normalise(match["name"])
        assert name not in bounds, f"{source}: {name} is listed twice"
        bounds[name] = match["bound"]
    return bounds


def load_pyproject() -> dict[str, Any]:
    """pyproject.toml as a dict."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def pyproject_bounds() -> dict[str, str]:
    """{name: lower bound} of the runtime dependencies and the ``dev`` extra."""
    project = load_pyproject()["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return parse_bounds(requirements, "pyproject.toml")


def read_conda_dependencies(text: str) -> tuple[list[str], list[str]]:
    """The ``dependencies:`` list of an environment.yml and its nested ``pip:`` list.

    A line-based reader for the plain block style this file uses: top-level keys at
    column 0, list items as ``- item``; comments and blank lines are ignored.
    """
    conda: list[str] = []
    pip: list[str] = []
    in_dependencies = False
    dependency_indent: int | None = None
    in_pip = False
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            in_dependencies = line == "dependencies:"
            in_pip = False
            continue
        if not in_dependencies:
            continue
        item = line.strip()
        assert item.startswith("- "), f"environment.yml: unexpected line {raw!r}"
        value = item[2:].strip()
        if dependency_indent is None:
            dependency_indent = indent
        if indent == dependency_indent:
            in_pip = value == "pip:"
            if not in_pip:
                conda.append(value)
        elif in_pip:
            pip.append(value)
        else:
            raise AssertionError(f"environment.yml: unexpected nesting at {raw!r}")
    return conda, pip


def environment() -> tuple[list[str], list[str]]:
    """environment.yml's conda dependencies and its pip list."""
    return read_conda_dependencies((ROOT / "environment.yml").read_text())


def entry_name(entry: str) -> str:
    """Normalised package name of a conda entry such as ``pandas>=2.2``."""
    return normalise(re.split(r"[<>=!~ ]", entry, maxsplit=1)[0])


def test_environment_reader_handles_the_nested_pip_list() -> None:
    text = "name: x\n# note\ndependencies:\n  - python>=3.11\n  - a>=1  # why\n  - pip\n"
    text += "  - pip:\n      - -e .[dev]\nchannels:\n  - conda-forge\n"
    assert read_conda_dependencies(text) == (["python>=3.11", "a>=1", "pip"], ["-e .[dev]"])


def test_environment_yml_names_the_same_dependencies_and_bounds_as_pyproject() -> None:
    expected = {CONDA_NAMES.get(name, name): bound for name, bound in pyproject_bounds().items()}
    conda_entries, _ = environment()
    packages = [entry for entry in conda_entries if entry_name(entry) not in CONDA_ONLY]
    conda = parse_bounds(packages, "environment.yml")

    missing = {name: bound for name, bound in expected.items() if name not in conda}
    extra = {name: bound for name, bound in conda.items() if name not in expected}
    differ = {
        name: (expected[name], conda[name])
        for name in expected.keys() & conda.keys()
        if expected[name] != conda[name]
    }
    problems = [
        f"in pyproject.toml but not environment.yml: {missing}" if missing else "",
        f"in environment.yml but not pyproject.toml: {extra}" if extra else "",
        f"lower bounds differ (pyproject.toml, environment.yml): {differ}" if differ else "",
    ]
    assert not any(problems), "; ".join(filter(None, problems))


def test_name_map_only_names_pyproject_dependencies() -> None:
    stale = set(CONDA_NAMES) - set(pyproject_bounds())
    assert not stale, f"CONDA_NAMES maps packages pyproject.toml no longer names: {stale}"


def test_environment_python_matches_requires_python() -> None:
    requires_python = load_pyproject()["project"]["requires-python"]
    conda_entries, _ = environment()
    python = [entry for entry in conda_entries if entry_name(entry) == "python"]
    assert python == [f"python{requires_python}"]


def test_environment_installs_this_project_with_the_dev_extra_from_conda_forge() -> None:
    conda_entries, pip_entries = environment()
    assert "pip" in conda_entries
    assert pip_entries == ["-e .[dev]"]
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^channels:\n  - conda-forge$", text, re.MULTILINE)
