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

.PHONY: setup run test lint typecheck proto bench clean native native-test native-fuzz cometbft torture
NATIVE_SOURCES := $(wildcard native/src/*.c native/src/*.h native/include/*.h) native/build_ffi.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Generated protobuf code (sultan/pb, modules' pb/) is rebuilt whenever a .proto changes.
$(VENV)/.proto-stamp: $(BIN)/python $(PROTOS) scripts/gen_proto.py
	$(BIN)/pip install --quiet "grpcio-tools>=1.60"
	$(BIN)/python scripts/gen_proto.py
	touch $@

$(VENV)/.install-stamp: $(VENV)/.proto-stamp pyproject.toml $(MODULE_DIRS) $(TUTORIAL_DIRS)
	@sh native/scripts/ensure-deps.sh
	$(BIN)/pip install --quiet -e ".[dev]" $(foreach f,$(MODULE_DIRS) $(TUTORIAL_DIRS),-e $(dir $(f)))
	touch $@

setup: $(VENV)/.install-stamp $(VENV)/.native-stamp

# The C crypto core (native/): its cffi extension is rebuilt in place when a source changes;
# the build dependencies (libsecp256k1, OpenSSL) are installed if missing (as root on Debian).
$(VENV)/.native-stamp: $(VENV)/.install-stamp $(NATIVE_SOURCES)
	@sh native/scripts/ensure-deps.sh
	$(BIN)/python native/build_ffi.py
	touch $@

native: $(VENV)/.native-stamp

# C unit tests under AddressSanitizer + UBSan, and every fuzz target for FUZZ_SECONDS each.
native-test:
	$(MAKE) -C native test

native-fuzz:
	$(MAKE) -C native fuzz

proto: $(VENV)/.proto-stamp

run: setup
	$(BIN)/sultan run --home "$(HOME_DIR)" --dev

# CometBFT v0.38 for tests/cometbft and `sultan testnet`: built once with `go install` into
# .cache/cometbft/<version>/ (needs Go and the Go module proxy), cached afterwards.
cometbft: setup
	@echo "== CometBFT for tests/cometbft (first run builds it with go install; cached after) =="
	bash scripts/cometbft.sh

test: setup cometbft
	bash scripts/install-test-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q
	$(MAKE) native-test native-fuzz

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

bench: setup
	bash scripts/install-test-deps.sh --bench
	$(BIN)/python -m bench

# The long crash-torture run (CI runs 6 + 3 cycles): SIGKILL under load (anywhere, and while
# snapshots are written), then replay from genesis; plus the restore-kill and disk-full tests.
TORTURE_CYCLES ?= 200
SNAPSHOT_KILL_CYCLES ?= 30
torture: setup
	SULTAN_KILL_CYCLES=$(TORTURE_CYCLES) SULTAN_SNAPSHOT_KILL_CYCLES=$(SNAPSHOT_KILL_CYCLES) \
	  $(BIN)/python -m pytest -q -s --timeout=0 tests/e2e/test_torture.py \
	  tests/e2e/test_snapshot_crashes.py tests/e2e/test_disk_full.py

clean:
	rm -rf $(VENV) sultan/pb modules/*/sultan_*/pb docs/tutorial/*/sultan_*/pb native/build sultan/kernel/crypto/_sultan_crypto*
