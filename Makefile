# ngx_outage_module — see README.md.
#
#   make run     install what running needs, build, start the demo on loopback
#   make test    install what testing needs, build, run every fast test
#   make stop    stop the demo
#
# Other targets: deps build build-clang static-check unit oracle fuzz
#                integration matrix matrix-deep deb deb-check
#                deb-install-check check-deep bench bench-scan screenshots clean

SHELL      := /bin/bash
REPO       := $(abspath .)
BUILD      := $(REPO)/build
PY         := /usr/bin/python3
SRC        := ngx_outage_module
UNIT_CFLAGS := -std=gnu99 -g -O1 -Wall -Wextra -Werror -I$(SRC)
FUZZ_RUNS  ?= 20000
# nginx-free sources: unit tests and fuzzers link them directly
PURE_SRCS  := $(addprefix $(SRC)/ngx_http_outage_,scan.c text.c payload.c sniff.c cond.c \
                pagebody.c banner.c statusbody.c tz.c resp.c tplcheck.c)
FUZZ_SECONDS ?= 60
# documents the HTML5 oracle checks in "make test" (check-deep: many more)
ORACLE_COUNT ?= 5000
ORACLE_SEED  ?= 15
# a fixed seed keeps "make test" deterministic; check-deep explores freely
FUZZ_SEED  ?= 1
FUZZ_ARGS  ?= -runs=$(FUZZ_RUNS) -seed=$(FUZZ_SEED)
# pytest processes of "make integration" (scripts/integration.sh)
INTEGRATION_JOBS ?= 1

.PHONY: all deps build build-clang static-check build-asan unit oracle fuzz fuzz-build integration \
        integration-asan integration-valgrind test run stop check-deep bench bench-scan \
        screenshots clean matrix matrix-deep deb deb-check deb-install-check

# scripts/deps.sh installs only what a purpose needs (build, run, unit,
# fuzz, deb, test, bench, deep): `make run` never pulls in the test toolchain
DEPS_PURPOSES := build run unit fuzz deb test bench deep
.PHONY: $(addprefix deps-,$(DEPS_PURPOSES))
$(addprefix deps-,$(DEPS_PURPOSES)):
	@bash scripts/deps.sh $(@:deps-%=%)

all: build

deps: deps-test

build: deps-build
	@bash scripts/build.sh

# the same sources under clang, warnings as errors (CI proves both compile)
build-clang: deps-fuzz
	@CC=clang bash scripts/build.sh

# config in static mode: configure --add-module, module order, compile
static-check: deps-build
	@bash scripts/static_check.sh

$(BUILD)/unit/%: tests/unit/%.c $(wildcard $(SRC)/*.c $(SRC)/*.h tests/support/*.h)
	@mkdir -p $(BUILD)/unit
	cc $(UNIT_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    $< $(PURE_SRCS) -lhiredis -o $@

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))

# the scanner's portable variant (no SSE2 searches) is tested too
$(BUILD)/unit/test_scan_nosse2: tests/unit/test_scan.c $(SRC)/ngx_http_outage_scan.c $(SRC)/ngx_http_outage_scan.h
	@mkdir -p $(BUILD)/unit
	cc $(UNIT_CFLAGS) -DNGX_HTTP_OUTAGE_SCAN_NO_SSE2 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer $< $(SRC)/ngx_http_outage_scan.c -o $@
UNIT_TESTS += $(BUILD)/unit/test_scan_nosse2

# and its SSE2 variant on a CPU with AVX2 (no AVX2 reading of <meta> runs)
$(BUILD)/unit/test_scan_noavx2: tests/unit/test_scan.c $(SRC)/ngx_http_outage_scan.c $(SRC)/ngx_http_outage_scan.h
	@mkdir -p $(BUILD)/unit
	cc $(UNIT_CFLAGS) -DNGX_HTTP_OUTAGE_SCAN_NO_AVX2 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer $< $(SRC)/ngx_http_outage_scan.c -o $@
UNIT_TESTS += $(BUILD)/unit/test_scan_noavx2

unit: deps-unit $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do $$t; done

# the banner's place against an HTML5 parser (tests/oracle/oracle.py)
$(BUILD)/oracle/scan_driver: tests/oracle/scan_driver.c $(SRC)/ngx_http_outage_scan.c $(SRC)/ngx_http_outage_scan.h
	@mkdir -p $(BUILD)/oracle
	cc $(UNIT_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    $< $(SRC)/ngx_http_outage_scan.c -o $@

$(BUILD)/oracle/scan_driver_nosse2: tests/oracle/scan_driver.c $(SRC)/ngx_http_outage_scan.c $(SRC)/ngx_http_outage_scan.h
	@mkdir -p $(BUILD)/oracle
	cc $(UNIT_CFLAGS) -DNGX_HTTP_OUTAGE_SCAN_NO_SSE2 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer $< $(SRC)/ngx_http_outage_scan.c -o $@

$(BUILD)/oracle/scan_driver_noavx2: tests/oracle/scan_driver.c $(SRC)/ngx_http_outage_scan.c $(SRC)/ngx_http_outage_scan.h
	@mkdir -p $(BUILD)/oracle
	cc $(UNIT_CFLAGS) -DNGX_HTTP_OUTAGE_SCAN_NO_AVX2 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer $< $(SRC)/ngx_http_outage_scan.c -o $@

# the template context check against the same parser (tplcheck_oracle.py)
$(BUILD)/oracle/tplcheck_driver: tests/oracle/tplcheck_driver.c $(SRC)/ngx_http_outage_tplcheck.c \
        $(SRC)/ngx_http_outage_tplcheck.h $(SRC)/ngx_http_outage_text.c $(SRC)/ngx_http_outage_text.h
	@mkdir -p $(BUILD)/oracle
	cc $(UNIT_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    $< $(SRC)/ngx_http_outage_tplcheck.c $(SRC)/ngx_http_outage_text.c -o $@

oracle: deps $(BUILD)/oracle/scan_driver $(BUILD)/oracle/scan_driver_nosse2 \
	    $(BUILD)/oracle/scan_driver_noavx2 $(BUILD)/oracle/tplcheck_driver
	@$(PY) tests/oracle/oracle.py --driver $(BUILD)/oracle/scan_driver \
	    --count $(ORACLE_COUNT) --seed $(ORACLE_SEED)
	@$(PY) tests/oracle/oracle.py --driver $(BUILD)/oracle/scan_driver_noavx2 \
	    --count $(ORACLE_COUNT) --seed $(ORACLE_SEED)
	@$(PY) tests/oracle/oracle.py --driver $(BUILD)/oracle/scan_driver_nosse2 \
	    --count $(ORACLE_COUNT) --seed $(ORACLE_SEED)
	@$(PY) tests/oracle/tplcheck_oracle.py --driver $(BUILD)/oracle/tplcheck_driver \
	    --count $(ORACLE_COUNT) --seed $(ORACLE_SEED)

FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard $(SRC)/*.c $(SRC)/*.h tests/support/*.h)
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(SRC) \
	    $< $(PURE_SRCS) -lhiredis -o $@

fuzz-build: deps-fuzz $(FUZZERS)

# bounded run inside "make test"; check-deep runs each for FUZZ_SECONDS
fuzz: fuzz-build
	@set -eo pipefail; for f in $(FUZZERS); do n=$$(basename $$f); n=$${n#fuzz_}; \
	    mkdir -p $(BUILD)/corpus/$$n; \
	    $$f $(FUZZ_ARGS) $(BUILD)/corpus/$$n tests/fuzz/corpus/$$n 2>&1 | tail -1; \
	done

# INTEGRATION_JOBS=n: n pytest processes side by side (scripts/integration.sh)
integration: deps-test build
	@INTEGRATION_JOBS=$(INTEGRATION_JOBS) bash scripts/integration.sh $(PYTEST_ARGS)

# the module compiled into nginx.org's stable and mainline releases from
# ../shared/vendor (one linked against hiredis 1.2.0), a minimal nginx
# (no gzip family, rewrite, OpenSSL) and a --with-compat dynamic build, all
# cached under build/; a representative part of the integration suite runs
# against each static binary (matrix-deep: the whole suite)
matrix: deps-test
	@bash scripts/nginx_matrix.sh

matrix-deep: deps-test
	@MATRIX_TESTS=all bash scripts/nginx_matrix.sh

# libnginx-mod-http-outage_*.deb in build/deb (docs/install.md)
deb: deps-deb build
	@bash scripts/deb.sh

# the package read without installing it (make test)
deb-check: deps-test deb
	@$(PY) -m pytest -q -p no:cacheprovider tests/package/test_deb.py

# dpkg -i / nginx -t / banner / dpkg -r / --purge on this machine's nginx:
# changes the system, so only in check-deep (tests/package/test_deb.py)
deb-install-check: deps-test deb
	@OUTAGE_DEB_INSTALL=1 $(PY) -m pytest -q -p no:cacheprovider \
	    tests/package/test_deb.py

test: deps build build-clang static-check unit oracle fuzz integration matrix deb-check
	@echo "make test: all green"

run: deps-run build
	@bash scripts/demo.sh start

stop:
	@bash scripts/demo.sh stop

ASAN_RT := $(shell gcc -print-file-name=libasan.so) $(shell gcc -print-file-name=libubsan.so)

# the module under AddressSanitizer + UBSan, runtime preloaded into stock nginx
build-asan: deps-build
	@BUILD_DIR=$(BUILD)/asan \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -DNGX_HTTP_OUTAGE_RACE_HOOK=1" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" bash scripts/build.sh

integration-asan: build-asan
	@OUTAGE_PRELOAD="$(ASAN_RT)" OUTAGE_RACE_HOOK=1 \
	    OUTAGE_MODULE_SO=$(BUILD)/asan/modules/ngx_http_outage_module.so \
	    $(PY) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

integration-valgrind: deps-deep build
	@OUTAGE_VALGRIND=1 $(PY) -m pytest -q -p no:cacheprovider \
	    tests/integration $(PYTEST_ARGS)

# everything: the fast suite, the suite under ASan/UBSan and valgrind, each
# fuzzer for FUZZ_SECONDS, and the long soak tests (tests/deep)
check-deep: deps-deep test integration-asan matrix-deep deb-install-check
	@$(MAKE) --no-print-directory integration-valgrind \
	    PYTEST_ARGS="-k 'not bench and not browser and not reloads'"
	@$(MAKE) --no-print-directory fuzz \
	    FUZZ_ARGS="-max_total_time=$(FUZZ_SECONDS)"
	@set -e; for seed in 1 2 3 4; do $(MAKE) --no-print-directory oracle \
	    ORACLE_COUNT=50000 ORACLE_SEED=$$seed; done
	@OUTAGE_ORACLE_NGINX_DOCS=2000 $(PY) -m pytest -q -p no:cacheprovider \
	    tests/integration/test_banner_oracle.py
	@OUTAGE_DEEP=1 $(PY) -m pytest -q -p no:cacheprovider tests/deep

# peers side by side (docs/performance.md); BENCH_ARGS=--quick for ~1 min
bench: deps-bench build
	@$(PY) tests/bench/bench.py $(BENCH_ARGS)

# the scanner's instructions per byte of <head> (callgrind, issue 15)
bench-scan: deps-bench
	@$(PY) tests/bench/scan_ir.py

screenshots: deps-test build
	@$(PY) scripts/screenshots.py

clean:
	rm -rf $(BUILD)
