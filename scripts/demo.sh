#!/usr/bin/env bash
# The demo: Northwind Outfitters, a small storefront and its checkout backend
# behind the stock nginx with the module, plus a private redis-server, all on
# 127.0.0.1.
#
#   scripts/demo.sh start   start, print the URLs and the lines to try, and
#                           stay in the foreground (Ctrl-C stops everything);
#                           with DEMO_DETACH=1 return once everything is up
#   scripts/demo.sh stop    stop everything that start started, by PID
#
# Environment: DEMO_PORT (nginx, 8088), DEMO_REDIS_PORT (6380),
# DEMO_SHOP_PORT (8089), DEMO_CHECKOUT_PORT (8090), DEMO_DIR (build/demo:
# rendered config, the built pages, PID files, logs, the bypass key and
# try.txt).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
run=${DEMO_DIR:-$repo/build/demo}
http_port=${DEMO_PORT:-8088}
redis_port=${DEMO_REDIS_PORT:-6380}
shop_port=${DEMO_SHOP_PORT:-8089}
checkout_port=${DEMO_CHECKOUT_PORT:-8090}
py=/usr/bin/python3
nginx=${OUTAGE_NGINX:-/usr/sbin/nginx}
module=${OUTAGE_MODULE_SO:-$repo/build/modules/ngx_http_outage_module.so}
components="nginx redis shop checkout"

say() { printf 'demo: %s\n' "$*" >&2; }

# What a PID file's process must look like before we signal it: a stale PID
# file must never make us kill whatever process got that number since.
pattern() {
    case $1 in
        nginx) echo 'nginx' ;;
        redis) echo 'redis-server' ;;
        shop|checkout) echo 'backend\.py' ;;
    esac
}

pid_of() {
    local f=$run/$1.pid pid
    [ -f "$f" ] || return 1
    pid=$(tr -dc '0-9' <"$f")
    [ -n "$pid" ] || return 1
    alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$(pattern "$1")" \
        || return 1
    echo "$pid"
}

# running, and not a zombie left for a parent that does not reap
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

wait_gone() {   # pid, tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    return 1
}

stop_one() {
    local name=$1 pid kids=()
    if pid=$(pid_of "$name"); then
        if [ "$name" = nginx ]; then
            # graceful first; workers are children of the master, so a
            # master that does not go is taken down with its own workers
            kill -QUIT "$pid" 2>/dev/null || true
            if ! wait_gone "$pid" 50; then
                kill -TERM "$pid" 2>/dev/null || true
                if ! wait_gone "$pid" 30; then
                    mapfile -t kids < <(pgrep -P "$pid" || true)
                    kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
                fi
            fi
        else
            kill -TERM "$pid" 2>/dev/null || true
            wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null || true
        fi
        wait_gone "$pid" 20 || say "$name (pid $pid) did not exit"
    fi
    rm -f "$run/$name.pid"
}

stop() {
    local name
    for name in $components; do
        stop_one "$name"
    done
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# waits until the port answers; fails early if the process already died
wait_port() {   # port, name, pid
    local i
    for ((i = 0; i < 200; i++)); do
        port_busy "$1" && return 0
        if [ -n "${3:-}" ] && ! alive "$3"; then
            break
        fi
        sleep 0.05
    done
    say "$2 did not come up on 127.0.0.1:$1"
    return 1
}

fail() {
    say "$*"
    stop
    exit 1
}

check_ports() {
    local var port seen=" "
    for var in DEMO_PORT:$http_port DEMO_REDIS_PORT:$redis_port \
               DEMO_SHOP_PORT:$shop_port DEMO_CHECKOUT_PORT:$checkout_port; do
        port=${var#*:}
        var=${var%%:*}
        case $port in
            ''|*[!0-9]*) say "$var=$port is not a port number"; exit 1 ;;
        esac
        if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
            say "$var=$port is not a port number"; exit 1
        fi
        case $seen in
            *" $port "*) say "port $port is given twice ($var)"; exit 1 ;;
        esac
        seen="$seen$port "
        if port_busy "$port"; then
            say "port $port ($var) is already in use on 127.0.0.1;" \
                "stop what uses it, or pick another: $var=<port> make run"
            exit 1
        fi
    done
}

render_conf() {
    sed -e "s|@MODULE@|$module|g" -e "s|@RUN@|$run|g" \
        -e "s|@HTTP_PORT@|$http_port|g" -e "s|@REDIS_PORT@|$redis_port|g" \
        -e "s|@SHOP_PORT@|$shop_port|g" \
        -e "s|@CHECKOUT_PORT@|$checkout_port|g" \
        -e "s|@USER@|$( [ "$(id -u)" -eq 0 ] && echo 'user root;')|g" \
        "$repo/demo/nginx.conf.in" >"$run/nginx/nginx.conf"
}

# errors go to test.log, not to the error log the demo will show
test_conf() {
    "$nginx" -t -q -p "$run/nginx" -c "$run/nginx/nginx.conf" \
        -e /dev/null 2>"$run/nginx/test.log"
}

# The lines printed under "Try:", written to try.txt too (one per line).
# They run as pasted into bash: redis-cli -p and curl on 127.0.0.1.
try_lines() {
    local rc="redis-cli -p $redis_port" web="http://127.0.0.1:$http_port"
    local be="http://127.0.0.1:$checkout_port" jar
    jar=$(printf '%q' "$run/cookies.txt")
    # the times are computed when the line is pasted, not now
    # shellcheck disable=SC2016
    local in30='$(date -u -d "+30 min" +%Y-%m-%dT%H:%MZ)'
    # shellcheck disable=SC2016
    local in60='$(date -u -d "+1 hour" +%Y-%m-%dT%H:%MZ)'
    # shellcheck disable=SC2016
    local in120='$(date -u -d "+2 hour" +%Y-%m-%dT%H:%MZ)'
    cat <<EOF
# A site-wide incident: a banner on every page, then the all-clear
$rc SET outage:site "Payments are slow right now, we're on it"
$rc DEL outage:site
# Checkout down with an ETA: /checkout/ and /api/ answer 503 (HTML, or problem+json for APIs)
$rc HSET outage:checkout state down message "Checkout is unavailable while we fix a payment provider issue" eta "$in30"
curl -s -o /dev/null -D - $web/checkout/
curl -s -H 'Accept: application/json' $web/api/cart
# Staff still get through: log in for a bypass cookie, then open checkout with it
curl -s -c $jar $web/outage/staff-login
curl -s -o /dev/null -D - -b $jar $web/checkout/
$rc DEL outage:checkout
# A maintenance window for payments an hour from now: the banner announces it
$rc HSET outage:payments state maintenance message "Planned payment system upgrade" starts "$in60" ends "$in120"
$rc DEL outage:payments
# Break the checkout backend's health check (down after two failed probes), then fix it
curl -s "$be/__ctl/health?mode=500"
curl -s "$be/__ctl/health?mode=ok"
# Watch what nginx believes: status (JSON) and metrics (Prometheus)
curl -s $web/outage/status | python3 -m json.tool
curl -s $web/outage/metrics
EOF
}

# try.txt appears whole (renamed into place): its existence means "up"
write_try_txt() {
    try_lines | grep -v '^#' >"$run/try.txt.new"
    mv -f "$run/try.txt.new" "$run/try.txt"
}

start() {
    local pid
    [ -f "$module" ] || { say "no module at $module: build first (make run does)"; exit 1; }
    for cmd in redis-server redis-cli curl "$nginx" "$py"; do
        command -v "$cmd" >/dev/null || { say "$cmd is missing (make deps installs it)"; exit 1; }
    done

    mkdir -p "$run"
    run=$(cd "$run" && pwd)
    for name in $components; do
        if pid=$(pid_of "$name"); then
            say "already running in $run ($name is pid $pid):" \
                "stop it first with 'make stop' (same DEMO_DIR)"
            exit 1
        fi
    done
    stop                        # PID files a crashed demo left behind
    check_ports
    mkdir -p "$run"/{nginx,redis}
    rm -f "$run/try.txt" "$run/try.txt.new" "$run/cookies.txt"
    # Ctrl-C at any point from here on (even before try.txt is written, or
    # half-way through start-up) takes down whatever already started
    trap 'echo; say "stopping"; stop; exit 0' INT TERM

    # staff bypass cookies are signed with this key; a new one every start
    (umask 077 && head -c 32 /dev/urandom | base64 >"$run/bypass.key")

    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$run/redis" --daemonize yes \
        --pidfile "$run/redis.pid" --logfile "$run/redis/redis.log" \
        || fail "redis-server did not start (see $run/redis/redis.log)"
    wait_port "$redis_port" redis-server || fail "see $run/redis/redis.log"

    # the shop's pages: one layout, products from demo/catalog.json
    "$py" "$repo/demo/build_site.py" "$run/site" \
        || fail "could not build the shop's pages into $run/site"

    # own sessions, like the daemonized redis-server and nginx: Ctrl-C in
    # the terminal reaches only this script, which stops the parts in order
    setsid "$py" "$repo/tests/support/backend.py" --port "$shop_port" \
        --docroot "$run/site" >"$run/shop.log" 2>&1 &
    echo $! >"$run/shop.pid"
    setsid "$py" "$repo/tests/support/backend.py" --port "$checkout_port" \
        --docroot "$run/site" >"$run/checkout.log" 2>&1 &
    echo $! >"$run/checkout.pid"
    wait_port "$shop_port" "shop backend" "$(cat "$run/shop.pid")" \
        || fail "see $run/shop.log"
    wait_port "$checkout_port" "checkout backend" "$(cat "$run/checkout.pid")" \
        || fail "see $run/checkout.log"

    render_conf
    if ! test_conf; then
        cat "$run/nginx/test.log" >&2
        fail "nginx rejected $run/nginx/nginx.conf"
    fi
    "$nginx" -p "$run/nginx" -c "$run/nginx/nginx.conf" \
        -e "$run/nginx/error.log" || fail "nginx did not start"
    pid=$(cat "$run/nginx.pid" 2>/dev/null || true)
    wait_port "$http_port" nginx "$pid" \
        || fail "see $run/nginx/error.log"

    cat <<MSG

  Northwind Outfitters is open (every port on 127.0.0.1 only):

    Shop              http://127.0.0.1:$http_port/
    Checkout          http://127.0.0.1:$http_port/checkout/
    Status page       http://127.0.0.1:$http_port/status
    Status (JSON)     http://127.0.0.1:$http_port/outage/status
    Metrics           http://127.0.0.1:$http_port/outage/metrics
    Checkout health   http://127.0.0.1:$checkout_port/health
    Redis             redis-cli -p $redis_port
    Logs              $run/nginx/error.log, access.log

  Try, from another terminal (then reload the shop in the browser):
MSG
    try_lines | while IFS= read -r line; do
        case $line in
            '#'*) printf '\n    %s\n' "$line" ;;
            *) printf '      %s\n' "$line" ;;
        esac
    done
    cat <<MSG

  These lines are also in $run/try.txt.
  Stop: Ctrl-C here, or 'make stop' from another terminal.

MSG

    if [ "${DEMO_DETACH:-0}" = 1 ]; then
        write_try_txt
        trap - INT TERM
        return 0
    fi

    # Stay up while every part is up; if one dies, take the rest down.  The
    # PIDs are looked up once, here: the loop runs no command substitution,
    # because a Ctrl-C that lands while bash 5.2 parses one breaks the trap
    # ("interrupt trap: unexpected EOF while looking for matching `)'") and
    # the script dies without stopping anything.  try.txt, which tells
    # scripts and tests that the demo is up, is written right before it.
    local watch="" entry
    for name in $components; do
        pid=$(pid_of "$name") || fail "$name exited during start-up"
        watch="$watch $name:$pid"
    done
    write_try_txt

    while :; do
        for entry in $watch; do
            name=${entry%%:*}
            if [ ! -f "$run/$name.pid" ]; then
                stop                # "make stop" got there first
                exit 0
            fi
            if ! kill -0 "${entry#*:}" 2>/dev/null; then
                say "$name exited unexpectedly; stopping the demo"
                stop
                exit 1
            fi
        done
        sleep 1 &
        wait $! || true
    done
}

case "${1:-start}" in
    start) start ;;
    stop) stop; say "stopped" ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
