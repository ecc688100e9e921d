# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   - create .venv, install, open JupyterLab on the quickstart notebook
#   make test   - create .venv, install dev dependencies, lint, strict type check, tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo sdk-demo test lint typecheck pytest bench clean server

$(VENV)/.stamp-dev: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || (echo "Python 3.11+ is required" && exit 1)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

$(VENV)/.stamp-demo: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || (echo "Python 3.11+ is required" && exit 1)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e ".[demo]"
	touch $@

# --allow-root only where it is needed (containers, Binder-like sandboxes)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

demo: $(VENV)/.stamp-demo
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/01-quickstart.ipynb

sdk-demo: $(VENV)/.stamp-demo
	$(PY) -m rtwidget.demo

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy

pytest: $(VENV)/.stamp-dev
	$(PY) -m pytest -q

test: lint typecheck pytest

server: $(VENV)/.stamp-dev
	$(PY) -m rtwidget.server --host 127.0.0.1 --port 8765

bench: $(VENV)/.stamp-dev
	$(PY) bench/parse.py
	$(PY) bench/simulator.py
	$(PY) bench/widget.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
