# Two entry points: `make demo` (set up, run the main job on built-in data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,ml,torch,serve,spark]"
	touch $(STAMP)

demo: setup
	$(PY) -m recembed demo

test: setup
	$(PY) -m pytest -q -x --durations=15

clean:
	rm -rf $(VENV) .pytest_cache
