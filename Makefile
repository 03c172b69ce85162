# Every target sets up .venv on first use (and again when pyproject.toml changes),
# so a fresh clone needs only Python 3.11+ and make.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# python3.11 when it runs (a pyenv shim may exist without the version), else python3.
BOOTSTRAP_PYTHON := $(shell python3.11 -c '' >/dev/null 2>&1 && echo python3.11 || echo python3)
# mypy fails on a missing path; check the directories that exist.
TYPED_PATHS := $(wildcard toolkit tests benchmarks)
# Jupyter refuses to start as root (containers, CI machines) unless told.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: demo test lab bench

demo: $(STAMP)
	$(BIN)/python -m toolkit demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy $(TYPED_PATHS)
	$(BIN)/pytest

lab: $(VENV)/.lab-installed
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

bench: $(STAMP)
	@set -e; found=; \
	for script in benchmarks/bench_*.py; do \
		[ -e "$$script" ] || continue; found=1; \
		echo "== $$script"; $(BIN)/python "$$script"; \
	done; \
	[ -n "$$found" ] || echo "no benchmarks/bench_*.py yet"

$(STAMP): pyproject.toml
	@$(BOOTSTRAP_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is required; $(BOOTSTRAP_PYTHON) is $$($(BOOTSTRAP_PYTHON) --version 2>&1)" >&2; exit 1; }
	test -x $(BIN)/python || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

$(VENV)/.lab-installed: $(STAMP)
	$(BIN)/python -m pip install -e '.[dev,lab]'
	touch $@
