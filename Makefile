# Every target sets up .venv on first use (and again when pyproject.toml changes),
# so a fresh clone needs only Python 3.11+ and make. `make demo` installs the runtime
# dependencies only; `make docs` adds the dev extra, `make test` the dev and lab extras
# (the dashboard's browser tests run in JupyterLab itself).

VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
PIP_LOG := $(VENV)/pip.log
# python3.11 when it runs (a pyenv shim may exist without the version), else python3.
BOOTSTRAP_PYTHON := $(shell python3.11 -c '' >/dev/null 2>&1 && echo python3.11 || echo python3)
# mypy fails on a missing path; check the directories that exist.
TYPED_PATHS := $(wildcard toolkit tests benchmarks docs/hooks.py)
# Jupyter refuses to start as root (containers, CI machines) unless told.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)
comma := ,
# pip quietly into a log; on failure the log's tail says why. --no-compile: modules are
# compiled when first imported, not all up front (about 8 s of a first install).
PIP = $(BIN)/python -m pip install --disable-pip-version-check --no-compile
QUIET_PIP = { $(PIP) $(1) >$(PIP_LOG) 2>&1 || { tail -n 40 $(PIP_LOG) >&2; \
	echo "pip failed; the whole log is in $(PIP_LOG)" >&2; exit 1; }; }

# Strict: a broken reference or a public name without a docstring (docs/hooks.py) fails.
# (--quiet would hide the warnings that strict mode counts.)
MKDOCS = NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/docs

.PHONY: demo test docs lab bench

demo: $(RUNTIME)
	$(BIN)/python -m toolkit demo

test: $(VENV)/.installed-lab
	$(BIN)/ruff check .
	$(BIN)/mypy $(TYPED_PATHS)
	$(BIN)/lint-imports
	$(MKDOCS)
	$(BIN)/pytest

docs: $(DEV)
	$(MKDOCS)
	@echo "API reference and architecture map: build/docs/index.html"

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

bench: $(RUNTIME)
	@set -e; found=; \
	for script in benchmarks/bench_*.py; do \
		[ -e "$$script" ] || continue; found=1; \
		echo "== $$script"; $(BIN)/python "$$script"; \
	done; \
	[ -n "$$found" ] || echo "no benchmarks/bench_*.py yet"

$(BIN)/python:
	@$(BOOTSTRAP_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is required; $(BOOTSTRAP_PYTHON) is $$($(BOOTSTRAP_PYTHON) --version 2>&1)" >&2; exit 1; }
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	@echo "Installing the toolkit and its runtime dependencies into $(VENV) (log: $(PIP_LOG))"
	@$(call QUIET_PIP,-e .)
	@touch $@

$(DEV): $(RUNTIME)
	@echo "Installing the test, lint and docs tools into $(VENV) (log: $(PIP_LOG))"
	@$(call QUIET_PIP,-e '.[dev]')
	@touch $@

$(VENV)/.installed-lab: $(DEV)
	@echo "Installing JupyterLab into $(VENV) (log: $(PIP_LOG))"
	@$(call QUIET_PIP,-e '.[dev$(comma)lab]')
	@touch $@
