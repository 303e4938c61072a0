# The two set-up commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench fuzz install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

demo: install
	$(BIN)/tokensim demo

test: install-dev
	bash scripts/ensure-services.sh
	$(BIN)/ruff check tokens firmware_sim hw bench tests pytest_tokensim.py
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check tokens firmware_sim hw bench tests pytest_tokensim.py
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/tokensim bench

# the adversarial suite with long hypothesis runs (minutes): before a release
fuzz: install-dev
	TOKENSIM_FUZZ=1 $(BIN)/python -m pytest tests/fuzz -q

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
