#!/usr/bin/env bash
# The demo: a private redis-server, a small storefront and a checkout
# backend, behind the stock nginx with the module, all on 127.0.0.1.
#   scripts/demo.sh start   start (foreground; Ctrl-C stops; DEMO_DETACH=1
#                           returns once everything is up)
#   scripts/demo.sh stop    stop everything it started, by PID
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
run=${DEMO_DIR:-$repo/build/demo}
http_port=${DEMO_PORT:-8088}
redis_port=${DEMO_REDIS_PORT:-6380}
shop_port=${DEMO_SHOP_PORT:-8089}
checkout_port=${DEMO_CHECKOUT_PORT:-8090}
py=/usr/bin/python3
module=$repo/build/modules/ngx_http_outage_module.so

stop() {
    local f pid
    for f in nginx redis shop checkout; do
        [ -f "$run/$f.pid" ] || continue
        pid=$(cat "$run/$f.pid")
        if [ "$f" = nginx ]; then
            kill -QUIT "$pid" 2>/dev/null || true
        else
            kill -TERM "$pid" 2>/dev/null || true
        fi
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$run/$f.pid"
    done
}

wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "demo: nothing answers on 127.0.0.1:$1" >&2
    return 1
}

start() {
    [ -f "$module" ] || { echo "demo: build first (make run does)" >&2; exit 1; }
    stop
    mkdir -p "$run"/{nginx,redis}

    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$run/redis" --daemonize yes \
        --pidfile "$run/redis.pid" --logfile "$run/redis/redis.log"
    wait_port "$redis_port"

    "$py" "$repo/tests/support/backend.py" --port "$shop_port" \
        --docroot "$repo/demo/site" >"$run/shop.log" 2>&1 &
    echo $! >"$run/shop.pid"
    "$py" "$repo/tests/support/backend.py" --port "$checkout_port" \
        --docroot "$repo/demo/site" >"$run/checkout.log" 2>&1 &
    echo $! >"$run/checkout.pid"
    wait_port "$shop_port"; wait_port "$checkout_port"

    sed -e "s|@MODULE@|$module|g" -e "s|@RUN@|$run|g" \
        -e "s|@HTTP_PORT@|$http_port|g" -e "s|@REDIS_PORT@|$redis_port|g" \
        -e "s|@SHOP_PORT@|$shop_port|g" -e "s|@CHECKOUT_PORT@|$checkout_port|g" \
        -e "s|@USER@|$( [ "$(id -u)" -eq 0 ] && echo 'user root;')|g" \
        "$repo/demo/nginx.conf.in" >"$run/nginx/nginx.conf"
    nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -e "$run/nginx/error.log"
    wait_port "$http_port"

    local rc="redis-cli -p $redis_port"
    cat <<MSG

  Demo shop:      http://127.0.0.1:$http_port/
  Checkout:       http://127.0.0.1:$http_port/checkout/
  Status (JSON):  http://127.0.0.1:$http_port/outage/status
  Error log:      $run/nginx/error.log

  Try:
    $rc SET outage:site "Payments are slow right now, we're on it"
    $rc DEL outage:site
    $rc HSET outage:checkout state down message "Checkout is unavailable" eta "$(date -u -d '+30 min' +%Y-%m-%dT%H:%MZ)"
    $rc DEL outage:checkout
    $rc HSET outage:site state maintenance message "Planned upgrade" starts "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%MZ)" ends "$(date -u -d '+2 hour' +%Y-%m-%dT%H:%MZ)"
    curl -s "http://127.0.0.1:$checkout_port/__ctl/health?mode=500"   # break checkout
    curl -s "http://127.0.0.1:$checkout_port/__ctl/health?mode=ok"    # fix checkout
    curl -s http://127.0.0.1:$http_port/outage/status

  Stop: Ctrl-C here, or 'make stop' from another terminal.
MSG

    if [ "${DEMO_DETACH:-0}" = 1 ]; then
        return 0
    fi

    trap 'echo; echo "demo: stopping"; stop; exit 0' INT TERM
    while [ -f "$run/nginx.pid" ] && kill -0 "$(cat "$run/nginx.pid")" 2>/dev/null; do
        sleep 1
    done
    stop
}

case "${1:-start}" in
    start) start ;;
    stop) stop; echo "demo: stopped" ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
