# The two commands of the README:
#   make run    set everything up (first time only) and run a local single-validator chain
#   make test   set everything up (first time only) and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOME_DIR ?= $(HOME)/.sultan
MODULE_DIRS := $(wildcard modules/*/pyproject.toml)
TUTORIAL_DIRS := $(wildcard docs/tutorial/*/pyproject.toml)
PROTOS := $(shell find proto modules/*/proto docs/tutorial/*/proto -name '*.proto' 2>/dev/null)

.PHONY: setup run test lint typecheck proto bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Generated protobuf code (sultan/pb, modules' pb/) is rebuilt whenever a .proto changes.
$(VENV)/.proto-stamp: $(BIN)/python $(PROTOS) scripts/gen_proto.py
	$(BIN)/pip install --quiet "grpcio-tools>=1.60"
	$(BIN)/python scripts/gen_proto.py
	touch $@

$(VENV)/.install-stamp: $(VENV)/.proto-stamp pyproject.toml $(MODULE_DIRS) $(TUTORIAL_DIRS)
	$(BIN)/pip install --quiet -e ".[dev]" $(foreach f,$(MODULE_DIRS) $(TUTORIAL_DIRS),-e $(dir $(f)))
	touch $@

setup: $(VENV)/.install-stamp

proto: $(VENV)/.proto-stamp

run: setup
	$(BIN)/sultan run --home "$(HOME_DIR)" --dev

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) sultan/pb modules/*/sultan_*/pb docs/tutorial/*/sultan_*/pb
