"""Review s11/A2-F5: a freeze of the whole nginx (every worker stopped: a
paused container, `docker pause`, a cgroup freeze, a VM pause on a
monotonic clock that keeps counting) longer than the "nobody polls at
all" bound made the first requests after the resume lose the incident
declared in Redis: they were answered from the last state with Redis
judged stale, before the poller (resumed too) had a chance to poll.  A
declared incident blinked off although Redis answered every poll, and the
log said "no Redis poll has completed" as if the poller had died.

One worker (so "every worker"); max_stale at the least nginx -t accepts
(interval 1s + connect_timeout 1s + timeout 1s + 1s = 4s); the bound is
max_stale + 3 x interval + 2 x (connect_timeout + timeout) + 2s = 13 s.
The worker is stopped for 14 s; requests sent during the freeze wait in the
listen queue and are answered first thing at the resume.  The worker
drops the Redis states only once it has seen them past the bound for an
interval + connect_timeout + timeout of its own running time; the resumed
poller polls well before that.
"""

import os
import signal
import threading
import time

from harness import wait_for

SERVER = """
    outage_redis 127.0.0.1:%d interval=1s connect_timeout=1s timeout=1s
                 max_stale=4s;
    server {
        listen 127.0.0.1:{port};
        location / {
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }
        location = /outage/status { outage_status; }
    }
"""


def test_freeze_of_every_worker_keeps_the_declared_incident(nginx_factory,
                                                            redis):
    n = nginx_factory(SERVER % redis.port, workers=1)
    redis.cli("SET", "outage:site", "declared incident")
    wait_for(lambda: n.get("/")[1].get("x-message") == "declared incident",
             timeout=10, what="the incident")
    worker = n.worker_pids()[0]

    answers = []

    def ask():
        try:
            answers.append(n.get("/", timeout=30)[1].get("x-message"))
        except OSError as e:
            answers.append("error %s" % e)

    os.kill(worker, signal.SIGSTOP)
    try:
        time.sleep(14)                  # the freeze itself (no state awaited)
        threads = [threading.Thread(target=ask) for _ in range(5)]
        for t in threads:
            t.start()
        time.sleep(0.3)                 # queued in the listen backlog
    finally:
        os.kill(worker, signal.SIGCONT)
    for t in threads:
        t.join(35)
    assert answers == ["declared incident"] * 5, answers
    assert "no Redis poll has completed" not in n.log_text()
