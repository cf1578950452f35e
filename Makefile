# Every target bootstraps .venv on a machine that has only Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(shell git ls-files '*.ipynb' 2>/dev/null)

.PHONY: install book test lint lab data bench exercises clean book-student vendor student-branch test-e2e

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,nn]"
	touch $(STAMP)

install: $(STAMP)

## Front-end files the book serves itself (MathJax) and the e2e tests use (axe-core, proxy).
VENDOR_STAMP := tools/vendor/node_modules/.package-lock.json
$(VENDOR_STAMP): tools/vendor/package-lock.json
	npm ci --prefix tools/vendor --no-audit --no-fund
vendor: $(VENDOR_STAMP)

## Execute every notebook and build the HTML book into _build/html (any cell error fails).
book: install $(VENDOR_STAMP)
	rm -rf _build/html _build/.doctrees
	EMCOURSE_STATIC=1 $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Open _build/html/index.html"

## The student edition (lessons + exercises/, no solutions) into _build/student/_build/html.
book-student: install $(VENDOR_STAMP)
	rm -rf _build/student
	EMCOURSE_STATIC=1 $(VENV)/bin/jupyter-book build . --toc _toc_student.yml \
		--path-output _build/student --warningiserror --nitpick --keep-going
	@echo "Open _build/student/_build/html/index.html"

## The branch the launch links and hubs pull (launch_buttons.student_branch): HEAD without solutions/.
STUDENT_BRANCH ?= student
student-branch:
	tools/student-branch.sh $(STUDENT_BRANCH)

## Lint, format check, stripped notebooks, generated files in sync, then every test, in two
## passes: offline on the synthetic stand-ins, then every lesson and sheet again on the real
## files of ../shared/fixtures served by a local mirror (skips, saying why, without them).
test: install lint
	EMCOURSE_OFFLINE=1 EMCOURSE_CHECKS_STRICT=1 $(PY) -m pytest --doctest-modules -m "not realdata" \
		src tests notebooks solutions --nbval-lax --nbval-current-env
	$(PY) -m pytest -m realdata tests

## End to end: both books built, their HTML checked, every page in Chromium, an exercise
## sheet in a real JupyterLab, the course on a real JupyterHub (root only; .ci/run prepares it).
E2E_STAMP := $(VENV)/.installed-e2e
$(E2E_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,e2e]"
	touch $(E2E_STAMP)

test-e2e: $(E2E_STAMP) $(VENDOR_STAMP) book book-student
	EMCOURSE_OFFLINE=1 $(PY) -m pytest -p no:cacheprovider e2e

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

## Per-notebook wall time, peak memory and downloads, then the heaviest lesson in 8 kernels at
## once (wall time, total peak memory) -> _build/bench.json, _build/bench.md
bench: install
	$(PY) -m emcourse.bench --concurrent 8

## Regenerate exercises/ from solutions/ and the data page from the registry.
exercises: install
	$(VENV)/bin/emcourse exercises build
	$(VENV)/bin/emcourse data list --markdown > book/data-table.md
	$(PY) book/_ext/emcourse_book.py

clean:
	rm -rf _build
