#!/usr/bin/env bash
# Proves the `config` addon file works for a static build (--add-module).
#
# Debian's nginx-dev tree has nginx's configure, auto/ scripts and headers but
# not nginx's own .c files, so a whole static nginx cannot be linked from it
# (NGINX_SRC=/path/to/nginx-x.y.z does that: see build.sh).  What can be
# proved without them, and is what breaks when `config` is wrong:
#   - configure accepts the repo with --add-module (static mode of auto/module);
#   - objs/ngx_modules.c lists ngx_http_outage_module right after gzip and
#     before postpone (config moves it there: ngx_module_order only places
#     dynamic modules), the place a dynamic build gives it too, so the
#     filter chain is the same in both builds: below postpone, ssi,
#     charset, sub and addition, above gzip;
#   - the link line carries -lhiredis and -lcurl;
#   - every module source compiles with nginx's static-build flags, -Werror.
#
# Any other nginx tree: NGINX_SRC= a release tarball, a git checkout or a
# `git archive` of nginx (directory or .tar.gz), configured with
# NGINX_CONFIGURE (default: nginx's defaults), through scripts/build.sh.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
src=/usr/share/nginx/src
cc=${CC:-cc}

fail() { echo "static-check: $*" >&2; exit 1; }

if [ -n "${NGINX_SRC:-}" ]; then
    tree=$build/nginx-static-check
    rm -rf "$tree"
    NGINX_MODULE=static NGINX_TARGETS=none NGINX_TREE=$tree \
        NGINX_CONFIGURE=${NGINX_CONFIGURE:-} bash "$repo/scripts/build.sh" >/dev/null \
        || fail "configure --add-module failed"
else
    tree=$build/nginx-static
    [ -f "$src/conf_flags" ] || fail "$src missing: run 'make deps' (needs nginx-dev), or set NGINX_SRC"

    rm -rf "$tree"
    mkdir -p "$build"
    cp -a "$src" "$tree"
    # shellcheck disable=SC1091
    . "$tree/conf_flags"
    (cd "$tree" && ./configure "${NGX_CONF_FLAGS[@]}" \
        --with-cc="$cc" --with-cc-opt="-Wextra -Wno-unused-parameter" \
        --add-module="$repo" >"$tree/configure.log" 2>&1) \
        || { tail -30 "$tree/configure.log" >&2; fail "configure --add-module failed"; }
fi

modules=$tree/objs/ngx_modules.c
grep -q '&ngx_http_outage_module,' "$modules" \
    || fail "ngx_http_outage_module is not in $modules"

# position in ngx_modules[]: filters run in the reverse order of this list
# (an nginx without the gzip module has no gzip filter to come after)
order=$(grep -n -e '&ngx_http_gzip_filter_module,' \
                -e '&ngx_http_outage_module,' \
                -e '&ngx_http_postpone_filter_module,' "$modules" \
        | sed 's/^\([0-9]*\):.*&\(ngx_[a-z_]*\),$/\2/' | tr '\n' ' ')
want="ngx_http_outage_module ngx_http_postpone_filter_module "
grep -q '&ngx_http_gzip_filter_module,' "$modules" && want="ngx_http_gzip_filter_module $want"
[ "$order" = "$want" ] \
    || fail "unexpected filter order in $modules: $order"

grep -q -- '-lhiredis' "$tree/objs/Makefile" && grep -q -- '-lcurl' "$tree/objs/Makefile" \
    || fail "the link line in $tree/objs/Makefile lacks -lhiredis/-lcurl"

objs=$(grep -o 'objs/addon/[^ :]*\.o' "$tree/objs/Makefile" | sort -u)
expected=$(sed -n 's/.*\/\(ngx_http_outage_[a-z]*\)\.c.*/\1/p' "$repo/config" | sort -u | wc -l)
[ "$(echo "$objs" | grep -c .)" = "$expected" ] \
    || fail "objs/Makefile has $(echo "$objs" | grep -c .) module objects, config lists $expected"

# shellcheck disable=SC2086
make -s -C "$tree" -f objs/Makefile -j2 $objs >/dev/null \
    || fail "the module does not compile in a static build"

echo "static-check: config works with --add-module ($expected sources compiled, between gzip and postpone in ngx_modules[] as in a dynamic build, -lhiredis -lcurl)"
