#!/usr/bin/env bash
# Installs, with apt-get, only the Debian packages missing for a purpose.
# Idempotent: a second run installs nothing.
#   scripts/deps.sh build   compile the module (make build)
#   scripts/deps.sh run     build, plus what the demo runs (make run)
#   scripts/deps.sh unit    build, plus the sanitizer runtimes of the unit tests
#   scripts/deps.sh fuzz    build, plus clang's libFuzzer
#   scripts/deps.sh deb     build, plus dpkg-dev (make deb)
#   scripts/deps.sh test    everything `make test` runs: the above, clang,
#                           pytest, chromium (browser tests), the bench
#                           peers (bench smoke test), dpkg-dev (make deb)
#   scripts/deps.sh bench   run, plus wrk, valgrind (callgrind), strace and the Lua
#                           peers (make bench)
#   scripts/deps.sh deep    test (valgrind included; make check-deep)
# Several purposes may be given; no argument means test.
set -euo pipefail

# off Debian (make build NGINX_SRC=... on RHEL, Alpine) there is no apt:
# docs/install.md lists each platform's packages
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system: install the packages docs/install.md lists for yours"
    exit 0
fi

build=(gcc make pkg-config nginx-dev libhiredis-dev libcurl4-openssl-dev)
run=("${build[@]}" nginx redis-server redis-tools curl)
unit=("${build[@]}")                 # gcc ships libasan/libubsan
fuzz=("${build[@]}" clang libclang-rt-14-dev)
deb=("${build[@]}" dpkg-dev)
bench=("${run[@]}" wrk valgrind strace libnginx-mod-http-lua lua-nginx-redis)
test=("${run[@]}" "${fuzz[@]}" "${deb[@]}" "${bench[@]}" python3-pytest python3-html5lib chromium)
deep=("${test[@]}")

pkgs=()
[ $# -gt 0 ] || set -- test
for purpose in "$@"; do
    case $purpose in
        build) pkgs+=("${build[@]}") ;;
        run)   pkgs+=("${run[@]}") ;;
        unit)  pkgs+=("${unit[@]}") ;;
        fuzz)  pkgs+=("${fuzz[@]}") ;;
        deb)   pkgs+=("${deb[@]}") ;;
        test)  pkgs+=("${test[@]}") ;;
        bench) pkgs+=("${bench[@]}") ;;
        deep)  pkgs+=("${deep[@]}") ;;
        *) echo "deps: unknown purpose '$purpose' (build run unit fuzz deb test bench deep)" >&2
           exit 2 ;;
    esac
done
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps ($*): all ${#pkgs[@]} packages present"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

echo "deps ($*): installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
