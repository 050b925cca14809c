#!/usr/bin/env bash
# Builds build/deb/libnginx-mod-http-outage_<version>_<arch>.deb from the
# dynamic module `make build` made against Debian's nginx-dev tree, laid out
# the way Debian ships its nginx modules (libnginx-mod-*):
#   /usr/lib/nginx/modules/ngx_http_outage_module.so
#   /usr/share/nginx/modules-available/mod-http-outage.conf  (load_module)
#   postinst/prerm/postrm from nginx-dev's dh_nginx autoscripts: the
#   /etc/nginx/modules-enabled/50-mod-http-outage.conf symlink is made on
#   install, moved aside (.removed) on remove, deleted on purge, and nginx
#   is reloaded through dpkg's nginx-reload trigger
#   Depends: the exact nginx ABI the .so was compiled for (nginx-abi-...,
#   from the tree's debian/libnginx-mod.abisubstvars, as dh_nginx does) and
#   the shared libraries it links (dpkg-shlibdeps: libhiredis0.14 and
#   libcurl4 on Debian 12, libhiredis1.1.0 on Debian 13)
# Only dpkg-deb and dpkg-shlibdeps: no network, no debhelper.
# DEB_VERSION overrides the version (default 0~git<date>.<commit>).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
src=/usr/share/nginx/src
# the packaged .so is built with Debian's hardening flags, as Debian's own
# libnginx-mod-* are (bindnow, fortify, stack protector), in its own tree
sobuild=$build/deb-so
so=$sobuild/modules/ngx_http_outage_module.so
pkg=libnginx-mod-http-outage
conf=mod-http-outage.conf
link=50-$conf

fail() { echo "deb: $*" >&2; exit 1; }

command -v dpkg-buildflags >/dev/null || fail "dpkg-buildflags missing: install dpkg-dev"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all     # as debian/rules of nginx
BUILD_DIR=$sobuild \
    EXTRA_CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
    EXTRA_LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
    bash "$repo/scripts/build.sh" >&2 || fail "building the hardened .so failed"
[ -f "$so" ] || fail "$so missing after the build"
abifile=$src/debian/libnginx-mod.abisubstvars
[ -f "$abifile" ] || fail "$abifile missing (package nginx-dev)"
abi=$(sed -n 's/^nginx:abi=//p' "$abifile")
[ -n "$abi" ] || fail "no nginx:abi in $abifile"
# the stock nginx must be the one the tree belongs to
stock=$(dpkg-query -W -f='${Provides}' nginx 2>/dev/null || true)
case ", $stock," in
    *", $abi,"*) ;;
    *) fail "the .so is built for $abi, the installed nginx provides '${stock:-nothing}'" ;;
esac
for t in postinst prerm postrm; do
    [ -f "/usr/share/debhelper/autoscripts/$t-nginx" ] \
        || fail "/usr/share/debhelper/autoscripts/$t-nginx missing (package nginx-dev)"
done
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps missing (package dpkg-dev)"

if [ -n "${DEB_VERSION:-}" ]; then
    version=$DEB_VERSION
elif git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
    version=0~git$(git -C "$repo" log -1 --format=%cd --date=format:%Y%m%d).$(git -C "$repo" rev-parse --short=8 HEAD)
    [ -z "$(git -C "$repo" status --porcelain -- config ngx_outage_module)" ] || version=$version+dirty
else
    version=0~local
fi
arch=$(dpkg --print-architecture)

out=$build/deb
root=$out/root
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/lib/nginx/modules" \
         "$root/usr/share/nginx/modules-available" "$root/usr/share/doc/$pkg"
install -m 0644 "$so" "$root/usr/lib/nginx/modules/"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$root/usr/lib/nginx/modules/ngx_http_outage_module.so"
install -m 0644 "$repo/packaging/deb/$conf" "$root/usr/share/nginx/modules-available/"
install -m 0644 "$repo/packaging/deb/copyright" "$root/usr/share/doc/$pkg/"
gzip -9n <"$repo/README.md" >"$root/usr/share/doc/$pkg/README.md.gz"
cp -r "$repo/docs" "$root/usr/share/doc/$pkg/docs"
find "$root/usr/share/doc/$pkg/docs" -name '*.md' -exec gzip -9n {} +
find "$root/usr/share/doc/$pkg" -type d -exec chmod 0755 {} +
find "$root/usr/share/doc/$pkg" -type f -exec chmod 0644 {} +

# the shared libraries the .so needs, as package names with versions
work=$out/shlibs
rm -rf "$work"
mkdir -p "$work/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" \
    >"$work/debian/control"
(cd "$work" && dpkg-shlibdeps -O -e"$root/usr/lib/nginx/modules/ngx_http_outage_module.so") \
    >"$work/substvars" 2>"$work/shlibdeps.log" \
    || { cat "$work/shlibdeps.log" >&2; fail "dpkg-shlibdeps failed"; }
libs=$(sed -n 's/^shlibs:Depends=//p' "$work/substvars")
[ -n "$libs" ] || fail "dpkg-shlibdeps found no libraries"
case $libs in *libhiredis*) ;; *) fail "no hiredis package in '$libs'" ;; esac
case $libs in *libcurl*) ;; *) fail "no libcurl package in '$libs'" ;; esac

cat >"$root/DEBIAN/control" <<END
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: ngx_outage_module maintainers <root@localhost>
Section: httpd
Priority: optional
Depends: $abi, $libs
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: outage banner and maintenance page module for nginx
 ngx_http_outage_module shows shoppers an outage banner injected into HTML
 pages, or a 503 maintenance page, while an incident is declared in Redis or
 a backend dependency fails its health checks.
 .
 This package contains the dynamic module for Debian's nginx, enabled by
 /etc/nginx/modules-enabled/$link.
END

for t in postinst prerm postrm; do
    {
        echo "#!/bin/sh"
        echo "set -e"
        echo "# from nginx-dev's dh_nginx autoscripts, as in Debian's libnginx-mod-* packages"
        sed "s/#NAMES#/$conf:$link/g" "/usr/share/debhelper/autoscripts/$t-nginx"
        echo "exit 0"
    } >"$root/DEBIAN/$t"
    chmod 0755 "$root/DEBIAN/$t"
done
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"

deb=$out/${pkg}_${version}_${arch}.deb
rm -f "$out"/*.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "deb: $deb"
echo "deb: Depends: $abi, $libs"
