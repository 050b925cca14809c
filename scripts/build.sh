#!/usr/bin/env bash
# Builds ngx_http_outage_module.
#
# Debian (default): copies Debian's nginx-dev tree (/usr/share/nginx/src),
# configures it with the stock binary's flags plus --add-dynamic-module, and
# builds only the modules: the .so loads into the stock nginx with
# load_module.  Result: build/modules/ngx_http_outage_module[-clang].so.
#
# Any other nginx: NGINX_SRC= a release tarball (nginx-x.y.z.tar.gz, with
# ./configure), a git checkout or `git archive` of nginx (auto/configure),
# either as a directory or a .tar.gz, or Debian's tree.  The source is
# copied (or unpacked) under build/ and never written to; the build tree is
# kept, so a second run only recompiles what changed.
#   NGINX_MODULE=static   (default) a whole nginx with the module compiled
#                         in (--add-module): <tree>/objs/nginx
#   NGINX_MODULE=dynamic  the module as a .so for that nginx
#                         (--add-dynamic-module; add --with-compat to
#                         NGINX_CONFIGURE for a binary built with it)
#   NGINX_CONFIGURE       configure arguments; default: what the test suite
#                         uses (ssl, http_v2, gunzip, sub, addition, threads,
#                         debug); "" for nginx's defaults
#   NGINX_TREE            the build tree (default build/nginx-<ver>-<mode>-<cc>-<hash
#                         of the arguments>); scripts print it as "tree: ..."
#   NGINX_TARGETS         make targets (default: binary for static, modules for
#                         dynamic); "none" stops after configure, "objects"
#                         compiles only the module's sources
#
# CC=clang selects the compiler; EXTRA_CFLAGS/EXTRA_LDFLAGS add flags (e.g.
# sanitizers); HIREDIS_INC/HIREDIS_LIB point at a hiredis outside the
# default paths (see config).  Warnings are errors (-Werror) everywhere.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
cc=${CC:-cc}
extra=${EXTRA_CFLAGS:-}
ldextra=${EXTRA_LDFLAGS:-}
ccopt="-Wextra -Wno-unused-parameter -Werror $extra"

fail() { echo "build: $*" >&2; exit 1; }

# the configure script of an nginx source tree: release tarballs ship
# ./configure, the git repository has only auto/configure
configure_of() {
    if [ -f "$1/configure" ]; then echo ./configure
    elif [ -f "$1/auto/configure" ]; then echo auto/configure
    else return 1
    fi
}

# unpacks a tarball once under build/src; prints the source directory
unpack() {
    local tgz=$1 dest sum
    sum=$(md5sum <"$tgz" | cut -c1-8)
    dest=$build/src/$(basename "$tgz" .tar.gz)-$sum
    if [ ! -f "$dest/.outage-unpacked" ]; then
        rm -rf "$dest"
        mkdir -p "$dest"
        tar -xzf "$tgz" -C "$dest" --strip-components=1 \
            || fail "cannot unpack $tgz"
        touch "$dest/.outage-unpacked"
    fi
    echo "$dest"
}

if [ -n "${NGINX_SRC:-}" ]; then
    src=$NGINX_SRC
    case $src in
        *.tar.gz|*.tgz)
            [ -f "$src" ] || fail "NGINX_SRC=$src: no such file"
            src=$(unpack "$(cd "$(dirname "$src")" && pwd)/$(basename "$src")") ;;
        *)
            [ -d "$src" ] || fail "NGINX_SRC=$src: no such directory"
            src=$(cd "$src" && pwd) ;;
    esac
    conf=$(configure_of "$src") \
        || fail "NGINX_SRC=$src has neither configure nor auto/configure: not an nginx source tree"
    [ -f "$src/src/core/nginx.h" ] || fail "NGINX_SRC=$src has no src/core/nginx.h"
    ver=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' "$src/src/core/nginx.h")

    mode=${NGINX_MODULE:-static}
    case $mode in
        static)  addm=--add-module ;       targets=${NGINX_TARGETS:-binary} ;;
        dynamic) addm=--add-dynamic-module; targets=${NGINX_TARGETS:-modules} ;;
        *) fail "NGINX_MODULE=$mode: static or dynamic" ;;
    esac
    args=${NGINX_CONFIGURE-"--with-debug --with-threads --with-http_ssl_module --with-http_v2_module --with-http_gunzip_module --with-http_sub_module --with-http_addition_module"}
    stamp="$ver|$src|$mode|$cc|$ccopt|$ldextra|$args|${HIREDIS_INC:-}|${HIREDIS_LIB:-}|$(md5sum "$repo/config" | cut -c1-32)"
    tree=${NGINX_TREE:-$build/nginx-$ver-$mode-$(basename "$cc")-$(echo "$stamp" | md5sum | cut -c1-8)}

    if [ ! -f "$tree/objs/Makefile" ] || [ "$(cat "$tree/.outage-stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$tree"
        mkdir -p "$(dirname "$tree")"
        cp -a "$src" "$tree"
        rm -f "$tree/.outage-unpacked"
        # shellcheck disable=SC2086
        (cd "$tree" && $conf $args --with-cc="$cc" --with-cc-opt="$ccopt" \
            --with-ld-opt="$ldextra" $addm="$repo" >"$tree/configure.log" 2>&1) \
            || { tail -30 "$tree/configure.log" >&2; fail "nginx $ver: configure $addm failed (log: $tree/configure.log)"; }
        echo "$stamp" >"$tree/.outage-stamp"
    fi
    echo "tree: $tree"
    [ "$targets" = none ] && exit 0
    if [ "$targets" = objects ]; then
        # only the module's sources, with this nginx's flags and -Werror
        targets=$(grep -o 'objs/addon/[^ :]*\.o' "$tree/objs/Makefile" | sort -u)
    fi
    # shellcheck disable=SC2086
    make -s -C "$tree" -f objs/Makefile -j2 $targets >"$tree/make.log" 2>&1 \
        || { grep -B2 -A8 -m5 'error' "$tree/make.log" >&2 || tail -30 "$tree/make.log" >&2
             fail "nginx $ver ($mode, $cc): make failed (log: $tree/make.log)"; }
    if [ "${NGINX_TARGETS:-}" = objects ]; then
        echo "built: $tree/objs/addon (nginx $ver, the module's objects only, $cc)"
    elif [ "$mode" = static ]; then
        echo "built: $tree/objs/nginx (nginx $ver, module compiled in, $cc)"
    else
        echo "built: $tree/objs/ngx_http_outage_module.so (nginx $ver, $cc)"
    fi
    exit 0
fi

src=/usr/share/nginx/src
[ -f "$src/conf_flags" ] || fail "$src missing: run 'make deps' (needs nginx-dev), or set NGINX_SRC"

tree=$build/nginx-$(basename "$cc")
stamp="$cc|$extra|$ldextra|${HIREDIS_INC:-}|${HIREDIS_LIB:-}|$(md5sum "$repo/config" "$src/conf_flags" | md5sum)"

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
        || { tail -30 "$tree/configure.log" >&2; fail "configure failed (log: $tree/configure.log)"; }
    echo "$stamp" >"$tree/.outage-stamp"
fi

make -s -C "$tree" -f objs/Makefile modules >/dev/null
mkdir -p "$build/modules"
# A new file renamed into place: an nginx that has the old .so mapped keeps
# its inode (cp over it would change the code under a running worker).
so="$build/modules/ngx_http_outage_module$( [ "$(basename "$cc")" = cc ] || echo "-$(basename "$cc")").so"
cp "$tree/objs/ngx_http_outage_module.so" "$so.tmp.$$"
mv -f "$so.tmp.$$" "$so"
echo "built: $build/modules/ngx_http_outage_module.so ($cc)"
