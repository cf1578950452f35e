# Every target but test-e2e bootstraps .venv on a machine that has only Python 3.11, pip and
# make (test-e2e also needs Node for axe-core and the test hub's proxy).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(shell git ls-files '*.ipynb' 2>/dev/null)

.PHONY: install torch book test lint lab data bench exercises clean book-student vendor \
	student-branch test-e2e

## PyTorch (lesson 20-04 only) in a step of its own, from TORCH_INDEX: PyTorch's CPU wheels by
## default (plain `pip install torch` on Linux takes the multi-gigabyte CUDA build). For the GPU
## build name its index, e.g. `make install TORCH_INDEX=https://download.pytorch.org/whl/cu128`.
## pip's own configuration (find-links, extra indexes) still applies, so a machine that keeps
## the wheel on disk installs it even when TORCH_INDEX cannot be reached; one retry and a short
## timeout keep that case quick (pip's default: 5 retries).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_REQ := torch==2.13.0
TORCH_PIP_ARGS ?=
TORCH_STAMP := $(VENV)/.installed-torch

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(TORCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --retries 1 --timeout 20 --index-url $(TORCH_INDEX) \
		$(TORCH_PIP_ARGS) "$(TORCH_REQ)"
	touch $@

torch: $(TORCH_STAMP)

install: $(STAMP) $(TORCH_STAMP)

## Node packages for the end-to-end tests only (axe-core, configurable-http-proxy).
VENDOR_STAMP := tools/vendor/node_modules/.package-lock.json
$(VENDOR_STAMP): tools/vendor/package-lock.json
	npm ci --prefix tools/vendor --no-audit --no-fund
vendor: $(VENDOR_STAMP)

## Both books share one execution cache (_config.yml: execute.cache): a lesson executed for
## one edition is reused by the other, and one whose code cells changed runs again.
## tools/book_cache.py empties it when the package, the installed packages or the data
## settings changed. IPYTHONDIR gives the build's kernels a configuration that keeps their
## log quiet (each one otherwise warns that it "is running over TCP without encryption",
## which it does on loopback only). The solutions' checks record no progress of the builder's.
EXEC_CACHE := _build/.jupyter_cache
BUILD_IPYTHON := _build/ipython
KERNEL_CONFIG := $(BUILD_IPYTHON)/profile_default/ipython_kernel_config.json
BUILD_ENV := EMCOURSE_STATIC=1 EMCOURSE_PROGRESS_DIR=off IPYTHONDIR=$(CURDIR)/$(BUILD_IPYTHON)

$(KERNEL_CONFIG):
	mkdir -p $(@D)
	echo '{"IPKernelApp": {"log_level": "ERROR"}}' > $@

## Execute every notebook and build the HTML book into _build/html (any cell error fails).
book: install $(KERNEL_CONFIG)
	rm -rf _build/html _build/.doctrees
	$(BUILD_ENV) $(PY) tools/book_cache.py $(EXEC_CACHE)
	$(BUILD_ENV) $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Open _build/html/index.html"

## The student edition (lessons + exercises/, no solutions) into _build/student/_build/html.
book-student: install $(KERNEL_CONFIG)
	rm -rf _build/student
	$(BUILD_ENV) $(PY) tools/book_cache.py $(EXEC_CACHE)
	$(BUILD_ENV) $(VENV)/bin/jupyter-book build . --toc _toc_student.yml \
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
	$(PY) -m pytest -m realdata tests --durations=0 --durations-min=1.0

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

## JupyterLab at the course root, on the start page (start-here.ipynb: every lesson and its
## exercise sheet). As root (a container) JupyterLab refuses to start without --allow-root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: install
	$(if $(LAB_ARGS),@echo "Running as root: jupyter lab $(LAB_ARGS)")
	$(VENV)/bin/jupyter lab $(LAB_ARGS) start-here.ipynb

## Pre-fetch every dataset into the cache (EMCOURSE_DATA_DIR, default ~/.cache/emcourse).
data: install
	$(VENV)/bin/emcourse data fetch --all

## Per-notebook wall time, peak memory and downloads, then the heaviest lesson in 8 kernels at
## once (wall time, total peak memory) -> _build/bench.json, _build/bench.md
bench: install
	$(PY) -m emcourse.bench --concurrent 8

## Regenerate exercises/ from solutions/, the data page from the registry, and from _toc.yml
## the student edition's table of contents and the start page (start-here.ipynb).
exercises: install
	$(VENV)/bin/emcourse exercises build
	$(VENV)/bin/emcourse data list --markdown > book/data-table.md
	$(PY) book/_ext/emcourse_book.py

clean:
	rm -rf _build
