"""What the Redis server says of its own data (INFO), asked with each poll.

- A replica cut off from its primary serves the copy it had when the link
  went down: it is a failed poll, and the poller goes to the next address
  (audit A5 F1: after one dropped connection the poller stayed on the
  replica, read its frozen copy as current, and max_stale never applied).
- After a while on a later address the poller tries the first again.
- An eviction policy is warned of at connect; an incident key that vanishes
  in a poll after which Redis evicted keys is said to be maybe evicted, in
  the change line and in the status (audit A5 F2: it read as an operator's
  DEL).
- A user without +info polls as before, said once, INFO not asked again.
"""
import re

from harness import Redis, free_port, wait_for
from outage_fixtures import *                           # noqa: F401,F403

CONF = """
    outage_redis %(addrs)s interval=300ms
                 timeout=200ms connect_timeout=200ms max_stale=2s;
    server {
        listen 127.0.0.1:{port};
        location / {
            add_header X-State $outage_state always;
            return 200 "ok\\n";
        }
        location = /outage/status { outage_status; }
    }
"""


def state(n):
    return n.get("/")[1]["x-state"]


def module_polls(r):
    """Connections on r that ran the module's poll (MULTI/EXEC)."""
    out = r.cli("CLIENT", "LIST")
    return [ln for ln in out.splitlines() if "cmd=exec" in ln]


def addrs(*servers):
    return " ".join("127.0.0.1:%d" % s.port for s in servers)


def test_a_replica_that_lost_its_primary_is_not_read_as_current(
        nginx_factory, tmp_path):
    primary = Redis(str(tmp_path / "a"))
    replica = Redis(str(tmp_path / "b"),
                    extra_args=["--replicaof", "127.0.0.1",
                                str(primary.port)])
    try:
        wait_for(lambda: "master_link_status:up"
                 in replica.cli("INFO", "replication"), what="replica sync")
        n = nginx_factory(CONF % {"addrs": addrs(primary, replica)},
                          workers=1)
        primary.cli("HSET", "outage:site", "state", "down", "message",
                    "database migration")
        wait_for(lambda: state(n) == "down", what="incident declared")
        wait_for(lambda: replica.cli("HGET", "outage:site", "state")
                 == "down", what="replicated")

        # a blip of the primary's link: the poller goes to the replica,
        # which is linked to its primary: a current copy
        primary.cli("CLIENT", "KILL", "TYPE", "normal")
        wait_for(lambda: module_polls(replica), what="poller on replica")
        assert state(n) == "down"

        # the replica loses its primary: it serves its frozen copy
        replica.cli("REPLICAOF", "127.0.0.1", free_port())
        wait_for(lambda: "master_link_status:down"
                 in replica.cli("INFO", "replication"), what="link down")

        # the operator ends the incident on the primary: the poller must
        # leave the replica and read it there
        primary.cli("DEL", "outage:site")
        wait_for(lambda: state(n) != "down", timeout=8,
                 what="the cleared incident read (not the replica's copy)")
        assert state(n) == "ok"
        # a replica in sync says its primary's replication id: the move
        # there and back is no failover, the DEL is not said as a loss
        assert "restarted or failed over" not in n.log_text()
        log = n.log_text()
        assert "a replica cut off from its primary" in log, log
        assert "master_link_status:down" in log, log
    finally:
        replica.stop()
        primary.stop()


def test_only_stale_replicas_left_means_max_stale_applies(nginx_factory,
                                                          tmp_path):
    # a replica of a primary that is gone: no address serves current data
    dead = free_port()
    replica = Redis(str(tmp_path / "b"),
                    extra_args=["--replicaof", "127.0.0.1", str(dead)])
    try:
        n = nginx_factory(CONF % {"addrs": addrs(replica)}, workers=1)
        wait_for(lambda: "a replica cut off from its primary"
                 in str(n.status_json()["redis"]["last_error"]),
                 what="the poll fails with its reason")
        st = n.status_json()["redis"]
        assert st["up"] is False and st["polls"] == 0, st
    finally:
        replica.stop()


def test_back_to_the_first_address_after_a_while(nginx_factory, tmp_path):
    first = Redis(str(tmp_path / "a"))
    second = Redis(str(tmp_path / "b"))
    try:
        # the second is a replica of the first, in sync: only from a
        # replica does the poller go back (review s12 R5 F1: a primary
        # there may be where a failover put the writes)
        second.cli("REPLICAOF", "127.0.0.1", str(first.port))
        wait_for(lambda: "master_link_status:up"
                 in second.cli("INFO", "replication"),
                 what="the second in sync with the first")
        n = nginx_factory(CONF % {"addrs": addrs(first, second)}, workers=1)
        wait_for(lambda: module_polls(first), what="poller on the first")
        first.cli("CLIENT", "KILL", "TYPE", "normal")
        wait_for(lambda: module_polls(second), what="poller on the second")
        connects = n.status_json()["redis"]["connects"]

        # PREFER_MIN is 30 s: one return, no storm of reconnects
        wait_for(lambda: "trying the first address" in n.log_text(),
                 timeout=40, interval=0.5, what="the return")
        wait_for(lambda: not module_polls(second) and module_polls(first),
                 timeout=5, what="poller back on the first")
        # the push link follows it (push=on is the default)
        wait_for(lambda: "cmd=subscribe" not in second.cli("CLIENT", "LIST")
                 and "cmd=subscribe" in first.cli("CLIENT", "LIST"),
                 timeout=5, what="push link back on the first")
        # one return, no storm (a loaded machine may add a reconnect)
        assert n.status_json()["redis"]["connects"] <= connects + 2
        assert n.status_json()["redis"]["up"] is True
    finally:
        second.stop()
        first.stop()


def evicted_keys(r):
    return int(r.cli("INFO", "stats").split("evicted_keys:")[1].split()[0])


def test_an_evicted_incident_is_said_as_maybe_evicted(nginx_factory,
                                                      tmp_path):
    r = Redis(str(tmp_path / "r"),
              extra_args=["--maxmemory", "4mb",
                          "--maxmemory-policy", "volatile-ttl"])
    try:
        n = nginx_factory(CONF % {"addrs": addrs(r)}, workers=1)
        r.cli("HSET", "outage:site", "state", "down", "message",
              "payment provider outage")
        # volatile-ttl evicts the keys nearest their expiry first: the
        # incident's, deterministically (an LRU policy would keep it, since
        # every poll reads it)
        r.cli("EXPIRE", "outage:site", 3600)
        wait_for(lambda: state(n) == "down", what="incident declared")

        # said at connect, once
        warn = [ln for ln in n.log_text().splitlines()
                if "may evict keys" in ln]
        assert len(warn) == 1 and "volatile-ttl" in warn[0] \
            and "[warn]" in warn[0], warn
        assert n.status_json()["redis"]["maxmemory_policy"] == "volatile-ttl"

        # the shop's cache fills the Redis (keys with a TTL)
        for i in range(60):
            r.cli("EVAL", "for i=1,200 do redis.call('SET', 'cache:'..ARGV[1]"
                  "..':'..i, string.rep('x', 1000), 'EX', 86400) end", 0, i)
            if r.cli("EXISTS", "outage:site") == "0":
                break
        assert r.cli("EXISTS", "outage:site") == "0", "not evicted yet"
        assert evicted_keys(r) > 0

        wait_for(lambda: state(n) != "down", timeout=5,
                 what="the poll read the eviction")
        lines = [ln for ln in n.log_text().splitlines()
                 if "down -> none by redis" in ln]
        assert len(lines) == 1 and "may have been evicted" in lines[0], lines
        st = n.status_json()
        site = [s for s in st["scopes"] if s["name"] == "site"][0]
        assert site["redis_maybe_evicted"] is True, site
        assert st["redis"]["evicted_keys_seen"] > 0, st["redis"]
        assert len([ln for ln in n.log_text().splitlines()
                    if "may evict keys" in ln]) == 1
    finally:
        r.stop()


def test_an_operators_del_is_not_said_as_evicted(nginx_factory, tmp_path):
    r = Redis(str(tmp_path / "r"))      # noeviction: no warning either
    try:
        n = nginx_factory(CONF % {"addrs": addrs(r)}, workers=1)
        r.cli("HSET", "outage:site", "state", "down", "message", "x")
        wait_for(lambda: state(n) == "down", what="incident declared")
        r.cli("DEL", "outage:site")
        wait_for(lambda: state(n) == "ok", what="incident ended")
        log = n.log_text()
        assert "evict" not in log, log
        st = n.status_json()
        assert st["redis"]["maxmemory_policy"] == "noeviction", st["redis"]
        assert st["scopes"][0]["redis_maybe_evicted"] is False
    finally:
        r.stop()


def info_refused(r):
    stats = r.cli("INFO", "commandstats")
    m = re.search(r"cmdstat_info:.*rejected_calls=(\d+)", stats)
    return int(m.group(1)) if m else 0


def test_a_user_without_info_still_polls_and_says_so_once(nginx_factory,
                                                          tmp_path):
    r = Redis(str(tmp_path / "r"))
    try:
        # the recipe of earlier releases: no +info
        assert r.cli("ACL", "SETUSER", "old", "on", ">pw", "~outage:*",
                     "+get", "+hgetall", "+pttl", "+multi", "+exec") == "OK"
        n = nginx_factory(CONF % {"addrs": addrs(r)
                                  + " user=old password=pw"}, workers=1)
        r.cli("HSET", "outage:site", "state", "down", "message", "x")
        wait_for(lambda: state(n) == "down", what="polls without INFO")
        refused = info_refused(r)
        assert refused >= 1
        polls = n.status_json()["redis"]["polls"]
        wait_for(lambda: n.status_json()["redis"]["polls"] >= polls + 3,
                 what="more polls")
        # not asked again: no refusal per poll in ACL LOG
        assert info_refused(r) == refused
        lines = [ln for ln in n.log_text().splitlines()
                 if "refuses INFO" in ln]
        assert len(lines) == 1 and "NOPERM" in lines[0], lines
        r.cli("DEL", "outage:site")
        wait_for(lambda: state(n) == "ok", what="still polled")
    finally:
        r.stop()


def test_an_incident_lost_in_a_redis_restart_is_said_as_maybe_lost(
        nginx_factory, tmp_path):
    """A Redis without persistence restarts empty (an OOM kill, a moved
    container): the incident's key is gone and the state follows Redis,
    but the change line and the status say the replication id changed
    (audit A5: it read as an operator's DEL)."""
    r = Redis(str(tmp_path / "r"))      # --save "" --appendonly no
    try:
        n = nginx_factory(CONF % {"addrs": addrs(r)}, workers=1)
        r.cli("HSET", "outage:site", "state", "down", "message",
              "payment provider outage")
        wait_for(lambda: state(n) == "down", what="incident declared")
        # a poll after the first, so that the replication id is known
        polls = r.command_count("exec")
        wait_for(lambda: r.command_count("exec") > polls, what="a poll")
        r.stop()
        r.start()
        wait_for(lambda: state(n) == "ok", timeout=5,
                 what="the empty Redis read")
        lines = [ln for ln in n.log_text().splitlines()
                 if "down -> none by redis" in ln]
        assert len(lines) == 1 and "restarted or failed over" in lines[0] \
            and "may have been lost, not ended" in lines[0], lines
        assert "evicted" not in lines[0], lines
        site = [s for s in n.status_json()["scopes"]
                if s["name"] == "site"][0]
        assert site["redis_maybe_restarted"] is True, site
        assert site["redis_maybe_evicted"] is False, site

        # the next change says nothing of it, and the status forgets it
        r.cli("HSET", "outage:site", "state", "down", "message", "again")
        wait_for(lambda: state(n) == "down", what="declared again")
        site = [s for s in n.status_json()["scopes"]
                if s["name"] == "site"][0]
        assert site["redis_maybe_restarted"] is False, site
    finally:
        r.stop()


def test_an_operators_del_is_not_said_as_restart(nginx_factory, tmp_path):
    r = Redis(str(tmp_path / "r"))
    try:
        n = nginx_factory(CONF % {"addrs": addrs(r)}, workers=1)
        r.cli("HSET", "outage:site", "state", "down", "message", "x")
        wait_for(lambda: state(n) == "down", what="incident declared")
        # the link drops but the server (and its data) stays: same id
        r.cli("CLIENT", "KILL", "TYPE", "normal")
        polls = r.command_count("exec")
        wait_for(lambda: r.command_count("exec") > polls + 1,
                 what="polls after the reconnect")
        r.cli("DEL", "outage:site")
        wait_for(lambda: state(n) == "ok", what="incident ended")
        assert "restarted or failed over" not in n.log_text()
        site = [s for s in n.status_json()["scopes"]
                if s["name"] == "site"][0]
        assert site["redis_maybe_restarted"] is False, site
    finally:
        r.stop()
