# Two commands for a fresh machine:  `make demo` (main job on the demo corpus) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := data/demo

.PHONY: setup demo test lint clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt torch
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) -m aligner.demo_corpus --out $(DEMO)
	$(PY) -m matcha.utils.precompute_corpus --corpus $(DEMO)
	$(PY) -m aligner.reference_durations --corpus $(DEMO)
	$(PY) -m aligner.evaluate --corpus $(DEMO) --durations $(DEMO)/reference_durations

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) data outputs
