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

# The first `make demo` installs JupyterLab (2-3 minutes): say so, and let pip show what it fetches.
$(VENV)/.stamp-demo: pyproject.toml
	@echo "make demo: first run (or pyproject.toml changed): installing into $(VENV), 2-3 minutes"
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || (echo "Python 3.11+ is required" && exit 1)
	@echo "make demo: [1/3] creating the virtual environment $(VENV)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "make demo: [2/3] upgrading pip"
	$(PY) -m pip install -q -U pip
	@echo "make demo: [3/3] installing rtwidget, JupyterLab and ipykernel (pip lists each package)"
	$(PY) -m pip install -e ".[demo]"
	touch $@

# JupyterLab reads overrides.json from <sys.prefix>/share/jupyter/lab/settings/: the news question is off in
# this environment only, the user's HOME is not touched.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES):
	@mkdir -p $(dir $@)
	@echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

# --allow-root only where it is needed (containers, Binder-like sandboxes)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# More flags for `jupyter lab`; on a headless or remote machine: make demo DEMO_ARGS="--no-browser --port 8888"
DEMO_ARGS ?=

demo: $(VENV)/.stamp-demo $(LAB_OVERRIDES)
	@echo "make demo: starting JupyterLab on notebooks/01-quickstart.ipynb (Ctrl+C to stop); open the URL with ?token= it prints"
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --LabApp.news_url=None $(DEMO_ARGS) notebooks/01-quickstart.ipynb

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
	$(PY) bench/frames.py
	$(PY) bench/widget.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
