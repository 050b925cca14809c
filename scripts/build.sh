#!/usr/bin/env bash
# Builds ngx_http_outage_module.
#
# Dynamic (default): copies Debian's nginx-dev tree (/usr/share/nginx/src),
# configures it with the stock binary's flags plus --add-dynamic-module, and
# builds only the modules: the .so loads into the stock nginx with load_module.
#
# Static: NGINX_SRC=/path/to/nginx-x.y.z builds a whole nginx with the module
# compiled in (--add-module), in that tree's objs/.
#
# CC=clang selects the compiler; EXTRA_CFLAGS adds flags (e.g. sanitizers).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
cc=${CC:-cc}
extra=${EXTRA_CFLAGS:-}
ldextra=${EXTRA_LDFLAGS:-}

if [ -n "${NGINX_SRC:-}" ]; then
    cd "$NGINX_SRC"
    ./configure --with-compat --with-http_ssl_module --with-http_v2_module \
        --with-cc="$cc" --with-cc-opt="-Wextra -Wno-unused-parameter $extra" \
        --with-ld-opt="$ldextra" --add-module="$repo"
    make -j2
    echo "built: $NGINX_SRC/objs/nginx (module compiled in)"
    exit 0
fi

src=/usr/share/nginx/src
[ -f "$src/conf_flags" ] || { echo "build: $src missing: run 'make deps' (needs nginx-dev)" >&2; exit 1; }

tree=$build/nginx-$(basename "$cc")
stamp="$cc|$extra|$ldextra|$(md5sum "$repo/config" "$src/conf_flags" | md5sum)"

if [ ! -f "$tree/objs/Makefile" ] || [ "$(cat "$tree/.outage-stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$tree"
    mkdir -p "$build"
    cp -a "$src" "$tree"
    # shellcheck disable=SC1091
    . "$tree/conf_flags"
    (cd "$tree" && ./configure "${NGX_CONF_FLAGS[@]}" \
        --with-cc="$cc" --with-cc-opt="-Wextra -Wno-unused-parameter $extra" \
        --with-ld-opt="$ldextra" \
        --add-dynamic-module="$repo" >"$tree/configure.log" 2>&1) \
        || { tail -30 "$tree/configure.log"; exit 1; }
    echo "$stamp" >"$tree/.outage-stamp"
fi

make -s -C "$tree" -f objs/Makefile modules >/dev/null
mkdir -p "$build/modules"
cp "$tree/objs/ngx_http_outage_module.so" "$build/modules/ngx_http_outage_module$( [ "$(basename "$cc")" = cc ] || echo "-$(basename "$cc")").so"
echo "built: $build/modules/ngx_http_outage_module.so ($cc)"
