# ngx_outage_module — see README.md.
#
#   make run     install what is missing, build, start the demo on loopback
#   make test    install what is missing, build, run every fast test
#   make stop    stop the demo
#
# Other targets: deps build build-clang static-check unit fuzz integration
#                check-deep bench screenshots clean

SHELL      := /bin/bash
REPO       := $(abspath .)
BUILD      := $(REPO)/build
PY         := /usr/bin/python3
SRC        := ngx_outage_module
UNIT_CFLAGS := -std=gnu99 -g -O1 -Wall -Wextra -Werror -I$(SRC)
FUZZ_RUNS  ?= 20000
# nginx-free sources: unit tests and fuzzers link them directly
PURE_SRCS  := $(addprefix $(SRC)/ngx_http_outage_,scan.c text.c payload.c \
                pagebody.c banner.c statusbody.c tz.c)
FUZZ_SECONDS ?= 60
FUZZ_ARGS  ?= -runs=$(FUZZ_RUNS)

.PHONY: all deps build build-clang static-check build-asan unit fuzz fuzz-build integration \
        integration-asan integration-valgrind test run stop check-deep bench \
        screenshots clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@bash scripts/build.sh

# the same sources under clang, warnings as errors (CI proves both compile)
build-clang: deps
	@CC=clang bash scripts/build.sh

# config in static mode: configure --add-module, module order, compile
static-check: deps
	@bash scripts/static_check.sh

$(BUILD)/unit/%: tests/unit/%.c $(wildcard $(SRC)/*.c $(SRC)/*.h tests/support/*.h)
	@mkdir -p $(BUILD)/unit
	cc $(UNIT_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    $< $(PURE_SRCS) -lhiredis -o $@

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))

unit: deps $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do $$t; done

FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard $(SRC)/*.c $(SRC)/*.h tests/support/*.h)
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(SRC) \
	    $< $(PURE_SRCS) -lhiredis -o $@

fuzz-build: deps $(FUZZERS)

# bounded run inside "make test"; check-deep runs each for FUZZ_SECONDS
fuzz: fuzz-build
	@set -eo pipefail; for f in $(FUZZERS); do n=$$(basename $$f); n=$${n#fuzz_}; \
	    mkdir -p $(BUILD)/corpus/$$n; \
	    $$f $(FUZZ_ARGS) $(BUILD)/corpus/$$n tests/fuzz/corpus/$$n 2>&1 | tail -1; \
	done

integration: build
	@$(PY) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

test: deps build build-clang static-check unit fuzz integration
	@echo "make test: all green"

run: build
	@bash scripts/demo.sh start

stop:
	@bash scripts/demo.sh stop

ASAN_RT := $(shell gcc -print-file-name=libasan.so) $(shell gcc -print-file-name=libubsan.so)

# the module under AddressSanitizer + UBSan, runtime preloaded into stock nginx
build-asan: deps
	@BUILD_DIR=$(BUILD)/asan \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" bash scripts/build.sh

integration-asan: build-asan
	@OUTAGE_PRELOAD="$(ASAN_RT)" \
	    OUTAGE_MODULE_SO=$(BUILD)/asan/modules/ngx_http_outage_module.so \
	    $(PY) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

integration-valgrind: build
	@OUTAGE_VALGRIND=1 $(PY) -m pytest -q -p no:cacheprovider \
	    tests/integration $(PYTEST_ARGS)

# everything: the fast suite, the suite under ASan/UBSan and valgrind, each
# fuzzer for FUZZ_SECONDS, and the long soak tests (tests/deep)
check-deep: test integration-asan
	@$(MAKE) --no-print-directory integration-valgrind \
	    PYTEST_ARGS="-k 'not bench and not browser and not reloads'"
	@$(MAKE) --no-print-directory fuzz \
	    FUZZ_ARGS="-max_total_time=$(FUZZ_SECONDS)"
	@OUTAGE_DEEP=1 $(PY) -m pytest -q -p no:cacheprovider tests/deep

# peers side by side (docs/performance.md); BENCH_ARGS=--quick for ~1 min
bench: build
	@bash scripts/deps.sh bench
	@$(PY) tests/bench/bench.py $(BENCH_ARGS)

screenshots: build
	@$(PY) scripts/screenshots.py

clean:
	rm -rf $(BUILD)
