# One entry point for set-up, the tutorial, the tests and the book.
# Every target installs what it needs first (Python packages from uv.lock into .venv).
#
# PYTHON is the interpreter .venv is made with (Python 3.11, 3.12 or 3.13):
#   make env PYTHON=python3.12
# Given on the command line (or in the environment), it also re-creates an existing .venv
# that was made with another Python version; otherwise an existing .venv is kept.

PYTHON ?= python3
VENV := .venv
RUN := $(VENV)/bin/python
# Where uv is installed when neither `$(PYTHON) -m uv` nor `uv` on PATH is usable: a
# private virtualenv, so that no system or conda Python is changed.
UV_HOME := build/uv
UV_MIN := 0.9
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: env tutorial test book demo-data lab clean-demo-data

# The Python version of $(PYTHON) and of .venv (empty if there is none).
python_version = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifneq ($(filter command line environment,$(origin PYTHON)),)
ifneq ($(wildcard $(RUN)),)
ifneq ($(call python_version,$(PYTHON)),$(call python_version,$(RUN)))
# .venv was made with another Python than the one asked for: sync again.
.PHONY: $(VENV)/.installed
endif
endif
UV_PYTHON := --python $(PYTHON)
else
# No Python asked for: keep the existing .venv's interpreter; a new one uses $(PYTHON).
UV_PYTHON := $(if $(wildcard $(RUN)),,--python $(PYTHON))
endif

# Checks the Python version, finds (or installs) uv, then installs .venv from uv.lock.
$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; \
	sys.exit(0 if (3, 11) <= v < (3, 14) else \
	"$(PYTHON) is Python %d.%d; the tutorial needs Python 3.11, 3.12 or 3.13: " \
	"make env PYTHON=/path/to/python3.12, for example." % v)' || { \
	command -v $(PYTHON) >/dev/null 2>&1 || echo "$(PYTHON) not found: give a Python 3.11-3.13 \
	with make env PYTHON=/path/to/python3.12, for example."; exit 1; }
	@uv_ok() { v=$$($$1 --version 2>/dev/null | awk '{print $$2}'); [ -n "$$v" ] && \
	  $(PYTHON) -c "import sys; sys.exit(tuple(map(int, '$$v'.split('.')[:2])) < \
	  tuple(map(int, '$(UV_MIN)'.split('.'))))"; }; \
	if uv_ok "$(PYTHON) -m uv"; then uv="$(PYTHON) -m uv"; \
	elif uv_ok uv; then uv=uv; \
	elif uv_ok $(UV_HOME)/bin/uv; then uv=$(UV_HOME)/bin/uv; \
	else \
	  echo "uv >= $(UV_MIN) not found: installing it into $(UV_HOME) with $(PYTHON)'s pip"; \
	  $(PYTHON) -m venv $(UV_HOME) && $(UV_HOME)/bin/python -m pip install --quiet \
	    "uv>=$(UV_MIN)" || { echo "Could not install uv. Install it yourself (pipx install \
	uv, or see https://docs.astral.sh/uv/) and run make again. On Debian/Ubuntu, \
	python3 -m venv needs the python3-venv package."; exit 1; }; \
	  uv=$(UV_HOME)/bin/uv; \
	fi; \
	echo "$$uv sync --frozen --all-extras $(UV_PYTHON)"; \
	$$uv sync --frozen --all-extras $(UV_PYTHON)
	touch $@

## env: create .venv with every dependency pinned in uv.lock
env: $(VENV)/.installed

## demo-data: generate (or reuse) the embedded demo dataset and print where it is
demo-data: env
	$(RUN) -m wfss_helpers.demo.dataset

## tutorial: run every notebook, start to end, on the demo data (executed copies in build/notebooks)
tutorial: env
	$(RUN) scripts/run_notebooks.py notebooks build/notebooks

## test: unit, property and notebook tests
test: env
	$(RUN) -m pytest

## lab: JupyterLab in notebooks/, where the .py notebooks open as notebooks (jupytext's
## contents manager and JupyterLab extension; a double click opens them as notebooks).
## Extra options: make lab LAB_ARGS="--no-browser --port=8899"
LAB_ARGS ?=
lab: env
	@$(VENV)/bin/jupytext-config --settings-file $(LAB_SETTINGS) set-default-viewer python
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

## book: execute every notebook (demo data unless WFSS_TUTORIAL_DATA=real) and render the
## Jupyter Book, offline, failing on any warning (HTML in jupyter_book/_build/html)
book: env book-mathjax
	$(VENV)/bin/jupyter-book build jupyter_book --warningiserror --keep-going --all
	@echo "Open $(CURDIR)/jupyter_book/_build/html/index.html"

## book-mathjax: install the MathJax copy the book serves itself (npm mathjax@3 in jupyter_book/_mathjax)
.PHONY: book-mathjax
book-mathjax:
	bash jupyter_book/install_mathjax.sh
