# One entry point for set-up, the tutorial, the tests and the book.
# Every target installs what it needs first (Python packages from uv.lock into .venv).

PYTHON ?= python3
VENV := .venv
RUN := $(VENV)/bin/python
UV := $(PYTHON) -m uv

.PHONY: env tutorial test book demo-data clean-demo-data

$(VENV)/.installed: pyproject.toml uv.lock
	$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv>=0.9"
	$(UV) sync --frozen --all-extras --python $(PYTHON)
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

## book: execute every notebook (demo data unless WFSS_TUTORIAL_DATA=real) and render the
## Jupyter Book, offline, failing on any warning (HTML in jupyter_book/_build/html)
book: env book-mathjax
	$(VENV)/bin/jupyter-book build jupyter_book --warningiserror --keep-going --all
	@echo "Open $(CURDIR)/jupyter_book/_build/html/index.html"

## book-mathjax: install the MathJax copy the book serves itself (npm mathjax@3 in jupyter_book/_mathjax)
.PHONY: book-mathjax
book-mathjax:
	bash jupyter_book/install_mathjax.sh
