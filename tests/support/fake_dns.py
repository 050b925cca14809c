#!/usr/bin/python3
"""A tiny DNS server (UDP, 127.0.0.1) whose A records a test changes while
it runs, for the ngx_outage_module tests of `resolver` (issue 14).

Usage::

    /usr/bin/python3 tests/support/fake_dns.py --port N --zone FILE

Once listening (``--port 0`` picks a free port) it prints ``READY <port>``
on stdout (flushed).  SIGTERM or SIGINT makes it exit with status 0.

FILE is read again for every query, so a test changes an answer by
rewriting it (write a temporary file and rename it over FILE).  One record
a line, ``name ip [ip...]``; ``#`` starts a comment.  Answers (RFC 1035):

- an A query for a listed name: its addresses, TTL 0 (nothing to cache);
- any other type (AAAA...) for a listed name: no answers, NOERROR;
- a name not listed: NXDOMAIN;
- a name listed as ``name silent``: no answer at all (a resolver that
  never answers, to test timeouts).

Each query is logged on stderr: ``fake_dns: <name> <type> -> <answer>``.
"""

import argparse
import signal
import socket
import struct
import sys

HOST = "127.0.0.1"
TYPE_A = 1


def read_zone(path):
    zone = {}
    try:
        with open(path) as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) >= 2:
                    zone[words[0].lower().rstrip(".")] = words[1:]
    except OSError:
        pass
    return zone


def parse_question(msg):
    """(id, flags, name, qtype, end of the question) of a query."""
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    pos, labels = 12, []
    while True:
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    qtype, _qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return qid, flags, ".".join(labels).lower(), qtype, pos + 4


def answer(msg, zone):
    qid, flags, name, qtype, end = parse_question(msg)
    question = msg[12:end]
    rd = flags & 0x0100
    if name not in zone:
        head = struct.pack("!HHHHHH", qid, 0x8000 | rd | 0x0080 | 3, 1, 0, 0, 0)
        return head + question, "NXDOMAIN"
    ips = zone[name] if qtype == TYPE_A else []
    head = struct.pack("!HHHHHH", qid, 0x8000 | rd | 0x0080, 1, len(ips), 0, 0)
    body = b"".join(struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, 0, 4)
                    + socket.inet_aton(ip) for ip in ips)
    return head + question + body, " ".join(ips) or "(none)"


class _Stop(Exception):
    pass


def _on_signal(signo, frame):
    raise _Stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description="A DNS server for tests.")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", required=True)
    args = ap.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        sock.bind((HOST, args.port))
        sys.stdout.write("READY %d\n" % sock.getsockname()[1])
        sys.stdout.flush()
        while True:
            msg, peer = sock.recvfrom(512)
            try:
                zone = read_zone(args.zone)
                _, _, name, qtype, _ = parse_question(msg)
                if zone.get(name) == ["silent"]:
                    reply, text = None, "(silent)"
                else:
                    reply, text = answer(msg, zone)
            except (ValueError, IndexError, struct.error) as exc:
                sys.stderr.write("fake_dns: bad query: %s\n" % exc)
                continue
            sys.stderr.write("fake_dns: %s %d -> %s\n" % (name, qtype, text))
            sys.stderr.flush()
            if reply is not None:
                sock.sendto(reply, peer)
    except _Stop:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
