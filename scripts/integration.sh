#!/usr/bin/env bash
# The integration suite (make integration).  Most of its time is spent
# waiting for the module's timers, not on the CPU, so with
# INTEGRATION_JOBS=n it runs as n pytest processes side by side: each gets
# every n-th test (OUTAGE_SHARD=k/n, tests/integration/outage_fixtures.py)
# and its own slice of loopback ports (harness.free_port), so that the
# processes never pick the same port.  Each one's output is printed whole
# once all have ended; the suite fails if any of them failed.
# INTEGRATION_JOBS=1 (the default) is one plain pytest, as before.
# Arguments are passed to pytest (PYTEST_ARGS of the Makefile).
set -uo pipefail
cd "$(dirname "$0")/.."

py=/usr/bin/python3
jobs=${INTEGRATION_JOBS:-1}

case $jobs in
    ''|*[!0-9]*|0)
        echo "integration: INTEGRATION_JOBS=$jobs is not a number of processes" >&2
        exit 2 ;;
esac

if [ "$jobs" = 1 ]; then
    exec "$py" -m pytest -q -p no:cacheprovider tests/integration "$@"
fi

# a short base directory: some tests bind unix sockets in theirs
# (at most 107 bytes of path)
dir=$(mktemp -d /tmp/outage-it.XXXXXX)
pids=()
t0=$SECONDS
for ((k = 0; k < jobs; k++)); do
    OUTAGE_SHARD=$k/$jobs "$py" -m pytest -q -p no:cacheprovider \
        --basetemp="$dir/$k" tests/integration "$@" >"$dir/shard$k.log" 2>&1 &
    pids+=($!)
done

rc=0
ran=0
for ((k = 0; k < jobs; k++)); do
    wait "${pids[$k]}"
    r=$?
    echo "integration: shard $k/$jobs (exit $r)"
    cat "$dir/shard$k.log"
    case $r in
        0) ran=1 ;;
        5) ;;               # no test of the selection fell to this shard
        *) rc=1 ;;
    esac
done
echo "integration: $jobs processes took $((SECONDS - t0)) s"

if [ $rc = 0 ] && [ $ran = 0 ]; then
    echo "integration: no test selected" >&2
    rc=1
fi
if [ $rc = 0 ]; then
    rm -rf "$dir"
else
    echo "integration: the failed tests' directories are under $dir" >&2
fi
exit $rc
