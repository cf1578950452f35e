# Every target bootstraps .venv on a machine that has only Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(shell git ls-files '*.ipynb' 2>/dev/null)

.PHONY: install book test lint lab data bench exercises clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,nn]"
	touch $(STAMP)

install: $(STAMP)

## Execute every notebook and build the HTML book into _build/html (any cell error fails).
book: install
	rm -rf _build/html _build/.doctrees
	EMCOURSE_STATIC=1 $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Open _build/html/index.html"

## Lint, format check, stripped notebooks, generated files in sync, then every test, in two
## passes: offline on the synthetic stand-ins, then every lesson and sheet again on the real
## files of ../shared/fixtures served by a local mirror (skips, saying why, without them).
test: install lint
	EMCOURSE_OFFLINE=1 EMCOURSE_CHECKS_STRICT=1 $(PY) -m pytest --doctest-modules -m "not realdata" \
		src tests notebooks solutions --nbval-lax --nbval-current-env
	$(PY) -m pytest -m realdata tests

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/nbstripout --verify $(NOTEBOOKS)

## JupyterLab on the course.
lab: install
	$(VENV)/bin/jupyter lab notebooks

## Pre-fetch every dataset into the cache (EMCOURSE_DATA_DIR, default ~/.cache/emcourse).
data: install
	$(VENV)/bin/emcourse data fetch --all

## Per-notebook wall time, peak memory and downloads -> _build/bench.json, _build/bench.md
bench: install
	$(PY) -m emcourse.bench

## Regenerate exercises/ from solutions/ and the data page from the registry.
exercises: install
	$(VENV)/bin/emcourse exercises build
	$(VENV)/bin/emcourse data list --markdown > book/data-table.md

clean:
	rm -rf _build
