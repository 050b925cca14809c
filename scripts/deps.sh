#!/usr/bin/env bash
# Installs, with apt-get, only the Debian packages this project needs that
# are missing. Idempotent: a second run installs nothing.
#   scripts/deps.sh            build, test (including the bench smoke test)
#                              and demo dependencies
#   scripts/deps.sh bench      the same (kept for the bench target)
set -euo pipefail

pkgs=(gcc make clang nginx nginx-dev libhiredis-dev libcurl4-openssl-dev
      redis-server redis-tools python3-pytest python3-html5lib curl chromium
      libclang-rt-14-dev valgrind wrk libnginx-mod-http-lua lua-nginx-redis)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#pkgs[@]} packages present"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
