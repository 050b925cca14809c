# ngx_outage_module — see README.md.
#
#   make run     install what is missing, build, start the demo on loopback
#   make test    install what is missing, build, run every fast test
#   make stop    stop the demo
#
# Other targets: deps build build-clang unit fuzz integration check-deep
#                bench screenshots clean

SHELL      := /bin/bash
REPO       := $(abspath .)
BUILD      := $(REPO)/build
PY         := /usr/bin/python3
SRC        := ngx_outage_module
UNIT_CFLAGS := -std=gnu99 -g -O1 -Wall -Wextra -Werror -I$(SRC)
FUZZ_RUNS  ?= 20000
FUZZ_SECONDS ?= 60
FUZZ_ARGS  ?= -runs=$(FUZZ_RUNS)

.PHONY: all deps build build-clang unit fuzz fuzz-build integration test run \
        stop check-deep bench screenshots clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@bash scripts/build.sh

# the same sources under clang, warnings as errors (CI proves both compile)
build-clang: deps
	@CC=clang bash scripts/build.sh

$(BUILD)/unit/%: tests/unit/%.c $(wildcard $(SRC)/*.c $(SRC)/*.h)
	@mkdir -p $(BUILD)/unit
	cc $(UNIT_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    $< $(SRC)/ngx_http_outage_scan.c $(SRC)/ngx_http_outage_text.c \
	    $(SRC)/ngx_http_outage_payload.c -lhiredis -o $@

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))

unit: deps $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do $$t; done

FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard $(SRC)/*.c $(SRC)/*.h)
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(SRC) \
	    $< $(SRC)/ngx_http_outage_scan.c $(SRC)/ngx_http_outage_text.c \
	    $(SRC)/ngx_http_outage_payload.c -lhiredis -o $@

fuzz-build: deps $(FUZZERS)

# bounded run inside "make test"; check-deep runs each for FUZZ_SECONDS
fuzz: fuzz-build
	@set -eo pipefail; for f in $(FUZZERS); do n=$$(basename $$f); n=$${n#fuzz_}; \
	    mkdir -p $(BUILD)/corpus/$$n; \
	    $$f $(FUZZ_ARGS) $(BUILD)/corpus/$$n tests/fuzz/corpus/$$n 2>&1 | tail -1; \
	done

integration: build
	@$(PY) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

test: deps build build-clang unit fuzz integration
	@echo "make test: all green"

run: build
	@bash scripts/demo.sh start

stop:
	@bash scripts/demo.sh stop

check-deep: test
	@$(MAKE) --no-print-directory fuzz \
	    FUZZ_ARGS="-max_total_time=$(FUZZ_SECONDS)"
	@OUTAGE_DEEP=1 $(PY) -m pytest -q -p no:cacheprovider tests/integration tests/deep

# peers side by side (docs/performance.md); BENCH_ARGS=--quick for ~1 min
bench: build
	@bash scripts/deps.sh bench
	@$(PY) tests/bench/bench.py $(BENCH_ARGS)

screenshots: build
	@$(PY) scripts/screenshots.py

clean:
	rm -rf $(BUILD)
