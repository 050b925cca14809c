#!/usr/bin/env bash
# The module compiled into the nginx.org releases vendored in
# ../shared/vendor (current stable and mainline), beside the Debian build
# that `make build` makes:
#
#   stable    nginx 1.30.4, static (--add-module), the suite's modules (ssl,
#             http_v2, http_v3, gunzip, sub, addition), Debian's hiredis
#   mainline  nginx 1.31.4, static, no --with-compat, linked against
#             hiredis 1.2.0 built from the vendored tarball into build/
#   minimal   nginx 1.31.4 with nginx's defaults minus gzip and rewrite (so
#             no gzip family, no PCRE, no OpenSSL): the module's sources
#             compiled with its flags (nginx itself is not built)
#   compat    nginx 1.31.4 --with-compat, the module as a dynamic module
#             (--add-dynamic-module): compiled and linked only
#
# All with -Werror; build trees are kept under build/ (a second run only
# recompiles what changed).  Then, unless MATRIX_TESTS=none, runs pytest
# against each static binary (OUTAGE_NGINX=<objs/nginx>, OUTAGE_MODULE_SO=
# empty: compiled in): MATRIX_TESTS=quick (default) a representative part
# of the suite, MATRIX_TESTS=all the whole suite.
#
#   scripts/nginx_matrix.sh [stable|mainline|minimal|compat ...]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
vendor=${VENDOR_DIR:-$repo/../shared/vendor}
py=/usr/bin/python3
tests=${MATRIX_TESTS:-quick}

fail() { echo "nginx-matrix: $*" >&2; exit 1; }

[ -d "$vendor" ] || fail "$vendor is missing: the vendored nginx and hiredis
sources are expected in ../shared/vendor beside the repository (see
docs/install.md, 'What is tested')"
vendor=$(cd "$vendor" && pwd)
for f in nginx-1.30.4.tar.gz nginx-1.31.4.tar.gz hiredis-1.2.0.tar.gz; do
    [ -f "$vendor/$f" ] || fail "$vendor/$f is missing"
done
if [ -f "$vendor/SHA256SUMS" ]; then
    (cd "$vendor" && sha256sum --quiet -c SHA256SUMS) \
        || fail "$vendor: checksums do not match SHA256SUMS"
fi

# A representative part of the integration suite, what depends on the
# nginx version or the hiredis/libcurl one: module loading and config
# errors, the status endpoint, the banner filter whole (304s, ranges, HEAD,
# gzip, HTTP/2, proxy cache), the maintenance page and bypass (but its
# screenshots), and Redis and health checks through their libraries
# (hostile Redis replies, ACL/unix socket, failover, TLS, each failure
# kind).  About 75 s per binary; matrix-deep runs the whole suite.
QUICK=(
    tests/integration/test_foundation.py
    tests/integration/test_status.py
    tests/integration/test_config_errors.py
    tests/integration/test_banner.py
    tests/integration/test_page.py
    tests/integration/test_redis.py::test_set_hset_del_expire_reach_every_worker
    tests/integration/test_redis.py::test_misbehaving_redis
    tests/integration/test_redis.py::test_acl_user_password_db_and_unix_socket
    tests/integration/test_redis.py::test_failover_to_second_address
    tests/integration/test_health.py::test_failure_marks_down_then_up
    tests/integration/test_health.py::test_untrusted_certificate_is_a_tls_failure
    tests/integration/test_health.py::test_one_prober_across_workers
    tests/integration/test_health.py::test_config_errors
)
QUICK_K="not test_screenshots"

hiredis_prefix=$build/hiredis-1.2.0
hiredis() {
    local src=$build/src/hiredis-1.2.0
    if [ -f "$hiredis_prefix/.outage-built" ]; then
        return
    fi
    rm -rf "$src" "$hiredis_prefix"
    mkdir -p "$src"
    tar -xzf "$vendor/hiredis-1.2.0.tar.gz" -C "$src" --strip-components=1
    # LIBRARY_PATH=lib: hiredis's Makefile takes the install directory from
    # a variable of that name, which compilers also read from the environment
    make -s -C "$src" -j2 PREFIX="$hiredis_prefix" LIBRARY_PATH=lib install \
        >"$build/hiredis-1.2.0.log" 2>&1 \
        || { tail -20 "$build/hiredis-1.2.0.log" >&2; fail "hiredis 1.2.0 did not build"; }
    [ -f "$hiredis_prefix/lib/libhiredis.so" ] || fail "hiredis 1.2.0: no $hiredis_prefix/lib/libhiredis.so"
    touch "$hiredis_prefix/.outage-built"
}

SUITE="--with-debug --with-threads --with-http_ssl_module --with-http_v2_module --with-http_gunzip_module --with-http_sub_module --with-http_addition_module --with-http_auth_request_module"

# name -> prints the binary (static) after building it
build_one() {
    local name=$1 out
    case $name in
        stable)
            out=$(NGINX_SRC=$vendor/nginx-1.30.4.tar.gz NGINX_MODULE=static \
                  NGINX_TREE=$build/nginx-1.30.4-stable \
                  NGINX_CONFIGURE="$SUITE --with-http_v3_module" \
                  bash "$repo/scripts/build.sh") || fail "build $name failed" ;;
        mainline)
            hiredis
            out=$(NGINX_SRC=$vendor/nginx-1.31.4.tar.gz NGINX_MODULE=static \
                  NGINX_TREE=$build/nginx-1.31.4-mainline \
                  NGINX_CONFIGURE="$SUITE" \
                  HIREDIS_INC=$hiredis_prefix/include HIREDIS_LIB=$hiredis_prefix/lib \
                  bash "$repo/scripts/build.sh") || fail "build $name failed" ;;
        minimal)
            out=$(NGINX_SRC=$vendor/nginx-1.31.4.tar.gz NGINX_MODULE=static \
                  NGINX_TREE=$build/nginx-1.31.4-minimal NGINX_TARGETS=objects \
                  NGINX_CONFIGURE="--without-http_gzip_module --without-http_rewrite_module" \
                  bash "$repo/scripts/build.sh") || fail "build $name failed" ;;
        compat)
            out=$(NGINX_SRC=$vendor/nginx-1.31.4.tar.gz NGINX_MODULE=dynamic \
                  NGINX_TREE=$build/nginx-1.31.4-compat \
                  NGINX_CONFIGURE="--with-compat --with-http_ssl_module" \
                  bash "$repo/scripts/build.sh") || fail "build $name failed" ;;
        *) fail "unknown build $name (stable, mainline, minimal, compat)" ;;
    esac
    echo "$out" | sed 's/^/  /' >&2
    echo "$out" | sed -n 's/^built: \([^ ]*\) .*/\1/p'
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(stable mainline minimal compat)

declare -A bins
for n in "${names[@]}"; do
    t0=$SECONDS
    echo "nginx-matrix: $n" >&2
    # a failed build must fail the matrix ($(...) does not inherit set -e)
    bins[$n]=$(build_one "$n") || exit 1
    case $n in
        stable|mainline) [ -n "${bins[$n]}" ] || fail "build $n printed no binary" ;;
    esac
    echo "nginx-matrix: $n built in $((SECONDS - t0))s" >&2
done

# the hiredis a binary runs with is the one it was built against
linked() { ldd "$1" | grep -F "$2" || true; }
if [ -n "${bins[mainline]:-}" ]; then
    [ -n "$(linked "${bins[mainline]}" "$hiredis_prefix/lib/libhiredis.so.1")" ] \
        || fail "mainline nginx is not linked against hiredis 1.2.0: $(linked "${bins[mainline]}" hiredis)"
fi
if [ -n "${bins[stable]:-}" ]; then
    [ -n "$(linked "${bins[stable]}" libhiredis.so.0.14)" ] \
        || fail "stable nginx is not linked against Debian's hiredis 0.14: $(linked "${bins[stable]}" hiredis)"
fi

[ "$tests" = none ] && exit 0
case $tests in
    quick) sel=("${QUICK[@]}" -k "$QUICK_K") ;;
    # the demo (test_demo.py) is the Debian-package one: stock nginx + .so
    all)   sel=(tests/integration --ignore=tests/integration/test_demo.py) ;;
    *) fail "MATRIX_TESTS=$tests: quick, all or none" ;;
esac

cd "$repo"
for n in stable mainline; do
    [ -n "${bins[$n]:-}" ] || continue
    t0=$SECONDS
    echo "nginx-matrix: tests against $n (${bins[$n]}, module compiled in)" >&2
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of words
    OUTAGE_NGINX=${bins[$n]} OUTAGE_MODULE_SO='' \
        $py -m pytest -q -p no:cacheprovider "${sel[@]}" ${PYTEST_ARGS:-}
    echo "nginx-matrix: $n tests took $((SECONDS - t0))s" >&2
done
