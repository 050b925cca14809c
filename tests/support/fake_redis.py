#!/usr/bin/python3
"""A Redis-protocol (RESP2) server that misbehaves on purpose, for the ngx_outage_module tests.

Usage::

    /usr/bin/python3 tests/support/fake_redis.py --port N --mode MODE [--quiet]

Once listening (127.0.0.1 only; ``--port 0`` picks a free port), it prints
``READY <port>`` on stdout (flushed).  SIGTERM or SIGINT makes it exit cleanly
with status 0.  Each connection is served by its own daemon thread.
Pipelined commands (several in one packet, or one split over several
packets) work, and so do both request syntaxes: multibulk
(``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n``) and inline (``GET k\\r\\n``).

Logging (stderr, one line each, flushed; ``--quiet`` turns it off)::

    fake_redis: accept conn=<id> peer=127.0.0.1:<port> mode=<mode>
    fake_redis: cmd conn=<id> <NAME> <arg> ...   (long args are cut short)
    fake_redis: control conn=<id>                (first command was FAKE*)
    fake_redis: close conn=<id>

Test-control commands (inline or multibulk, answered in every mode except
``close``, which never reads)::

    FAKECOUNT        -> :N  accepted connections, not counting control
                            connections (those whose first command is a FAKE*
                            command, such as the one asking)
    FAKERESET        -> +OK zero the connection count and empty the data store
    FAKEMODE <mode>  -> +OK switch the mode of the whole server, for every
                            connection, from the next command on
    FAKEDELAY <ms> [NAME ...]
                     -> +OK from now on, every EXEC (and GET/HGETALL outside
                            MULTI), or every command NAME given, is answered
                            <ms> after it was read: a slow server or path
                            (0: at once again)
    FAKEFLAP <up_ms> <down_ms>
                     -> +OK from now on the server is up for <up_ms>, then
                            down for <down_ms>, and so on: while down, a
                            connection is reset (RST) right after accept, and
                            an open one at its next command (a Redis
                            restarting in a loop, a proxy resetting
                            connections).  ``FAKEFLAP 0 up`` stops it for
                            good up, ``FAKEFLAP 0 down`` down.  Control
                            commands are always answered.
    FAKEDRIP <ms>    -> +OK the "drip" mode's pace (default 100)

The protocol part that every mode except garbage, stall and authfail shares:
    AUTH, SELECT, CLIENT ...  -> +OK
    PING [msg]                -> +PONG (or the message as a bulk string)
    ECHO msg                  -> bulk msg
    QUIT                      -> +OK, then the connection is closed
    HELLO                     -> -ERR unknown command 'HELLO' (forces RESP2)
    MULTI                     -> +OK; later commands -> +QUEUED (a command
                                 that is unknown or has the wrong number of
                                 arguments gets -ERR and makes EXEC answer
                                 -EXECABORT)
    DISCARD                   -> +OK
    EXEC                      -> depends on the mode (below)
    GET/HGETALL outside MULTI -> depends on the mode, like one EXEC element
    any other known command   -> what the "ok" mode would answer

Modes (``--mode``):
    ok          A small correct implementation on an in-memory store shared by
                all connections: GET, SET [NX|XX|EX s|PX ms (ignored)], HGETALL,
                HSET/HMSET, HGET, DEL, EXISTS, EXPIRE/PEXPIRE (no-op, :1 if the
                key exists), TTL/PTTL, DBSIZE, FLUSHDB/FLUSHALL, INFO [section] (a
                small bulk string), COMMAND (*0).  Asking for a key of the
                other type gives -WRONGTYPE Operation against a key holding the
                wrong kind of value.  EXEC answers the array of the queued
                commands' replies.
    garbage     Every command (AUTH and PING too) gets
                ``@@!!garbage <16 random hex digits>\\r\\n``, which is not RESP.
                The connection stays open.
    half        GET, HGETALL and EXEC work out a valid reply (GET -> a 79-byte
                bulk string, HGETALL -> two field/value pairs), send its first
                half (len // 2 bytes) and then never answer on that connection
                again.  The connection stays open.
    close       Every connection is closed (FIN) right after accept.
    huge        GET -> a 1 MiB (1048576 bytes) bulk string full of
                ``<script>alert('huge')</script>\\r\\n\\x00``, HGETALL -> *0.
                EXEC -> an array of those, one per queued command.  Valid RESP.
    wrongtypes  GET -> :12345 (an integer where a string is expected); HGETALL
                -> *3 [*2 [$1 f, $1 v], :7, *0] (an array holding a nested
                array, an integer and an empty array where flat strings are
                expected).  EXEC -> an array of those.
    stall       Reads everything and never answers (except FAKE* commands).
    authfail    AUTH -> -WRONGPASS invalid username-password pair or user is
                disabled; every other command -> -NOAUTH Authentication
                required.
    reset       Every connection is reset (RST, SO_LINGER 0) right after
                accept.

Hostile replies to EXEC (and to GET/HGETALL outside MULTI); everything else
as in "ok".  Each is sent as fast as the client reads it, in 1 MiB chunks, and
the connection then stays open and silent:
    bigarray    ``*100000000\r\n`` and nothing more (an announced array of
                10^8 elements).
    bigbulk     ``*1\r\n$52428800\r\n`` then 50 MiB of "x" and CRLF.
    longline    ``+`` then 50 MiB of "x" with no CRLF ever.
    bighash     a complete, valid EXEC array whose HGETALL replies are a hash
                of 100000 fields (200000 bulk strings, ~2.5 MB each).
    endless     ``*3\r\n*2147483646\r\n`` then ``$1\r\nx\r\n`` for as long as
                the client reads (an array that never ends, at full speed).
    deep        ``*1\r\n`` 100000 times (arrays nested without end).
    resp3       a RESP3 push, map and attribute where RESP2 replies belong
                (``>2 ... %1 ... |1 ...``).
    negative    lengths below -1 (``*3\r\n$-7\r\n*-3\r\n$-2\r\n``).

Key tracking (the module's push connection).  In every mode that answers
like "ok": ``CLIENT ID`` -> :<connection id>, ``CLIENT TRACKING ...`` -> +OK,
``SUBSCRIBE ch...`` -> one ``subscribe`` confirmation per channel; the fake
never sends invalidations itself.  Modes that change only this part:
    notracking  CLIENT TRACKING -> the error Redis 5 gives for an unknown
                subcommand (the push connection is refused; polling works).
    trackbusy   CLIENT TRACKING -> "-ERR max number of clients reached", a
                temporary error (retried with backoff, not a refusal).
    pushbigarray, pushbigbulk, pushgarbage
                SUBSCRIBE is confirmed, then the connection gets
                ``*100000000\r\n`` / a "message" whose payload announces
                50 MiB and sends it / a line that is not RESP, and stays
                silent after that.
    pushbigerror
                SUBSCRIBE is confirmed, then a 70 KB error line (not a
                message), then silence.
    pushflood   SUBSCRIBE is confirmed, then "message"s of a 1 MiB payload
                follow one another as fast as the connection takes them,
                until the server's mode changes (FAKEMODE ok).
    pushhalf    SUBSCRIBE is confirmed, then the first half of a valid
                invalidation "message" (of the key outage:site), then
                silence with the connection left open: a server or proxy
                that stalls mid-message.

PING on a subscribed connection (the push connection's liveness check) is
answered as Redis 6/7 do with RESP2, ``*2 $4 pong $0 ""`` (``["pong", msg]``),
in every mode that answers like "ok".  Modes that change only that answer:
    pingsilent  never answered; the connection stays open (a path cut
                without FIN or RST, as far as the client can tell).
    pinggarbage ``@@!!garbage answer to PING``, not RESP.
    pinghuge    ``*100000000`` and silence after it.
    pingmessage an invalidation "message" of outage:site instead of a pong
                (and no pong ever).
    pingflood   pongs, one after another, as fast as the client reads them,
                until the server's mode changes.
    pingerror   ``-NOPERM`` and text with an ESC sequence and quotes (an
                error proves the connection alive; its text is logged).
    pingbigpong ``["pong", <70000 bytes>]``: a pong with a payload too big
                for the reader (an echoed PING, or a broken peer).

A reply that never ends, one byte at a time:
    drip        EXEC -> ``*3\r\n$1000000000\r\n`` then one ``x`` every
                FAKEDRIP ms (100 by default) for as long as the mode stays
                "drip", then silence: a hostile Redis or path that keeps a
                reply "arriving" forever.
"""

import argparse
import os
import signal
import socket
import struct
import sys
import threading
import time

HOST = "127.0.0.1"
MODES = ("ok", "garbage", "half", "close", "huge", "wrongtypes", "stall", "authfail",
         "reset", "bigarray", "bigbulk", "longline", "bighash", "notracking",
         "trackbusy", "pushbigarray", "pushbigbulk", "pushgarbage", "pushflood",
         "pushbigerror", "pushhalf", "pingsilent", "pinggarbage", "pinghuge",
         "pingmessage", "pingflood", "pingerror", "pingbigpong", "drip",
         "endless", "deep", "resp3", "negative")
HOSTILE = ("bigarray", "bigbulk", "longline", "bighash", "endless", "deep",
           "resp3", "negative")
PUSH_HOSTILE = ("pushbigarray", "pushbigbulk", "pushgarbage", "pushflood",
                "pushbigerror", "pushhalf")
NO_TRACKING = (b"-ERR Unknown subcommand or wrong number of arguments for "
               b"'TRACKING'. Try CLIENT HELP\r\n")
BIG = 50 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)

MAX_INLINE = 64 * 1024              # longest inline or header line accepted
HUGE_VALUE = (b"<script>alert('huge')</script>\r\n\x00" * 40000)[:1024 * 1024]
HALF_VALUE = b"<p>value served in half mode; only the first half of the reply is ever sent</p>"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled\r\n"
NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
OK = b"+OK\r\n"
QUEUED = b"+QUEUED\r\n"
PONG = b"+PONG\r\n"
NIL = b"$-1\r\n"


# ---- RESP encoding helpers -------------------------------------------------

def bulk(data):
    return b"$%d\r\n%s\r\n" % (len(data), data)


def array(items):
    return b"*%d\r\n" % len(items) + b"".join(items)


def integer(n):
    return b":%d\r\n" % n


def error(msg):
    return b"-" + msg.encode() + b"\r\n"


WRONGTYPES_GET = integer(12345)
WRONGTYPES_HGETALL = array([array([bulk(b"f"), bulk(b"v")]), integer(7), array([])])


_BIGHASH = None       # built once, on first use


class Stream:
    """A reply too big to build in memory: an iterable of byte chunks."""

    def __init__(self, chunks):
        self.chunks = chunks


def hostile_reply(mode, queue):
    """The hostile EXEC reply of `mode` for the queued commands."""
    if mode == "endless":
        return Stream(_chain([b"*3\r\n*2147483646\r\n"],
                             iter(lambda: b"$1\r\nx\r\n" * 20000, None)))
    if mode == "deep":
        return Stream(iter([b"*1\r\n" * 100000]))
    if mode == "resp3":
        return Stream(iter([b">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n"
                            b"%1\r\n$5\r\nstate\r\n$4\r\ndown\r\n"
                            b"|1\r\n$1\r\na\r\n$1\r\nb\r\n"]))
    if mode == "negative":
        return Stream(iter([b"*3\r\n$-7\r\n*-3\r\n$-2\r\n"]))
    if mode == "bigarray":
        return Stream(iter([b"*100000000\r\n"]))
    if mode == "bigbulk":
        return Stream(_chain([b"*1\r\n$%d\r\n" % BIG], _repeat(CHUNK, BIG // len(CHUNK)),
                             [b"\r\n"]))
    if mode == "longline":
        return Stream(_chain([b"+"], _repeat(CHUNK, BIG // len(CHUNK))))
    # bighash: valid, but each HGETALL is a hash of 100000 fields
    fields = bighash_fields()
    parts = []
    for cmd in queue or [[b"HGETALL", b"k"]]:
        if cmd[0].upper() == b"HGETALL":
            parts.append(b"*200000\r\n" + fields)
        else:
            parts.append(NIL)
    return Stream(iter([b"*%d\r\n" % len(parts)] + parts))


def push_hostile(mode):
    if mode == "pushbigarray":
        return b"*100000000\r\n"
    if mode == "pushbigerror":
        return b"-ERR " + b"x" * 70000 + b"\r\n"
    if mode == "pushhalf":
        message = array([bulk(b"message"), bulk(b"__redis__:invalidate"),
                         array([bulk(b"outage:site")])])
        return message[:len(message) // 2]
    return b"@@!!garbage on the push connection\r\n"


PONG_PUSH = b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"


def ping_subscribed(srv, mode, args):
    """The answer to PING on a subscribed connection in `mode`."""
    if mode == "pingsilent":
        return None
    if mode == "pinggarbage":
        return b"@@!!garbage answer to PING\r\n"
    if mode == "pinghuge":
        return b"*100000000\r\n"
    if mode == "pingmessage":
        return array([bulk(b"message"), bulk(b"__redis__:invalidate"),
                      array([bulk(b"outage:site")])])
    if mode == "pingflood":
        return Stream(_pong_flood(srv))
    if mode == "pingerror":
        return b'-NOPERM evil \x1b[2J "quoted" \\ text\r\n'
    if mode == "pingbigpong":
        return array([bulk(b"pong"), bulk(b"x" * 70000)])
    return array([bulk(b"pong"), bulk(args[1] if len(args) > 1 else b"")])


def _pong_flood(srv):
    while srv.mode == "pingflood":
        yield PONG_PUSH * 64


def drip(srv):
    yield b"*3\r\n$1000000000\r\n"
    while srv.mode == "drip":
        time.sleep(srv.drip)
        yield b"x"


def push_bigbulk():
    yield b"*3\r\n" + bulk(b"message") + bulk(b"__redis__:invalidate") + b"$%d\r\n" % BIG
    for chunk in _repeat(CHUNK, BIG // len(CHUNK)):
        yield chunk
    yield b"\r\n"


def push_flood(srv):
    message = (b"*3\r\n" + bulk(b"message") + bulk(b"__redis__:invalidate")
               + bulk(CHUNK))
    while srv.mode == "pushflood":
        yield message


def bighash_fields():
    """The 100000 fields, built once.  FAKEMODE bighash (and --mode bighash)
    builds them before answering, so that the first hostile reply is not
    delayed by building them: under load that took longer than the module's
    reply timeout, and the test saw "no reply within timeout" instead of the
    refusal it waits for."""
    global _BIGHASH
    if _BIGHASH is None:
        _BIGHASH = b"".join(bulk(b"f%d" % i) + bulk(b"v") for i in range(100000))
    return _BIGHASH


def _repeat(chunk, n):
    for _ in range(n):
        yield chunk


def _chain(*iterables):
    for it in iterables:
        for x in it:
            yield x


# ---- RESP request parsing --------------------------------------------------

class ProtocolError(Exception):
    pass


def parse_command(buf):
    """Parse one request from the front of `buf` (a bytearray).

    Returns (args, consumed): args is a list of bytes (possibly empty for a
    blank inline line) or None if `buf` does not yet hold a whole request.
    Raises ProtocolError on malformed input.
    """
    if not buf:
        return None, 0
    if buf[0:1] == b"*":                               # multibulk
        nl = buf.find(b"\r\n")
        if nl < 0:
            if len(buf) > MAX_INLINE:
                raise ProtocolError("too big mbulk count string")
            return None, 0
        try:
            count = int(buf[1:nl])
        except ValueError:
            raise ProtocolError("invalid multibulk length")
        pos = nl + 2
        args = []
        for _ in range(max(count, 0)):
            if pos >= len(buf):
                return None, 0
            if buf[pos:pos + 1] != b"$":
                raise ProtocolError("expected '$', got '%s'" % chr(buf[pos]))
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                if len(buf) - pos > MAX_INLINE:
                    raise ProtocolError("too big bulk count string")
                return None, 0
            try:
                length = int(buf[pos + 1:nl])
            except ValueError:
                raise ProtocolError("invalid bulk length")
            if length < 0:
                raise ProtocolError("invalid bulk length")
            start = nl + 2
            end = start + length
            if len(buf) < end + 2:
                return None, 0
            if buf[end:end + 2] != b"\r\n":
                raise ProtocolError("bulk string not followed by CRLF")
            args.append(bytes(buf[start:end]))
            pos = end + 2
        return args, pos
    nl = buf.find(b"\n")                               # inline
    if nl < 0:
        if len(buf) > MAX_INLINE:
            raise ProtocolError("too big inline request")
        return None, 0
    line = bytes(buf[:nl]).rstrip(b"\r")
    return line.split(), nl + 1


# ---- the "ok" mode's command table ----------------------------------------

# name -> (min argc, max argc or None), argc counting the command name.
ARITY = {
    b"GET": (2, 2), b"SET": (3, None), b"HGETALL": (2, 2), b"HSET": (4, None),
    b"HMSET": (4, None), b"HGET": (3, 3), b"DEL": (2, None), b"EXISTS": (2, None),
    b"EXPIRE": (3, 4), b"PEXPIRE": (3, 4), b"TTL": (2, 2), b"PTTL": (2, 2),
    b"DBSIZE": (1, 1),
    b"FLUSHDB": (1, 2), b"FLUSHALL": (1, 2), b"INFO": (1, 2), b"COMMAND": (1, None),
    b"PING": (1, 2), b"ECHO": (2, 2), b"AUTH": (2, 3), b"SELECT": (2, 2),
    b"CLIENT": (2, None), b"QUIT": (1, None), b"SUBSCRIBE": (2, None),
}

INFO_TEXT = (b"# Server\r\nredis_version:7.2.0\r\nredis_mode:standalone\r\n"
             b"fake_redis:1\r\n\r\n# Keyspace\r\n")


def check_arity(args):
    """None if the command is known and has a valid argument count, else an error reply."""
    name = args[0].upper()
    if name not in ARITY:
        return error("ERR unknown command '%s', with args beginning with: %s" % (
            args[0].decode("latin-1"),
            " ".join("'%s'" % a.decode("latin-1") for a in args[1:4])))
    lo, hi = ARITY[name]
    if len(args) < lo or (hi is not None and len(args) > hi) or \
            (name in (b"HSET", b"HMSET") and len(args) % 2):
        return error("ERR wrong number of arguments for '%s' command"
                     % name.decode().lower())
    return None


class FakeRedis:
    """Shared server state: mode, connection counters, data store, logging."""

    def __init__(self, mode, quiet):
        self.mode = mode
        self.delay = 0.0
        self.delay_names = set()
        self.flap = None                     # (up s, down s, since)
        self.down = False                    # FAKEFLAP 0 down
        self.drip = 0.1
        self.quiet = quiet
        self.lock = threading.Lock()         # counters and store
        self.log_lock = threading.Lock()
        self.next_id = 0
        self.accepted = 0
        self.control = 0
        self.store = {}                      # key -> bytes | dict

    def log(self, line):
        if self.quiet:
            return
        with self.log_lock:
            try:
                sys.stderr.write("fake_redis: %s\n" % line)
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    def on_accept(self):
        with self.lock:
            self.next_id += 1
            self.accepted += 1
            return self.next_id

    def flapped_down(self):
        """FAKEFLAP: whether connections are reset now."""
        flap = self.flap
        if flap is None:
            return self.down
        up, down, since = flap
        return (time.monotonic() - since) % (up + down) >= up

    def mark_control(self):
        with self.lock:
            self.control += 1

    def count(self):
        with self.lock:
            return self.accepted - self.control

    def reset(self):
        with self.lock:
            self.accepted = 0
            self.control = 0
            self.store.clear()

    # -- the ok-mode data commands

    def execute(self, args):
        """Run one command the way a (tiny) real Redis would; return the reply bytes."""
        bad = check_arity(args)
        if bad:
            return bad
        name = args[0].upper()
        if name in (b"AUTH", b"SELECT", b"CLIENT", b"QUIT"):
            return OK
        if name == b"PING":
            return bulk(args[1]) if len(args) > 1 else PONG
        if name == b"ECHO":
            return bulk(args[1])
        if name == b"INFO":
            return bulk(INFO_TEXT + b"db0:keys=%d,expires=0\r\n" % len(self.store))
        if name == b"COMMAND":
            return array([])
        with self.lock:
            store = self.store
            key = args[1] if len(args) > 1 else None
            value = store.get(key)
            if name == b"GET":
                if isinstance(value, dict):
                    return WRONGTYPE
                return NIL if value is None else bulk(value)
            if name == b"SET":
                opts = [a.upper() for a in args[3:]]
                if (b"NX" in opts and value is not None) or (b"XX" in opts and value is None):
                    return NIL
                store[key] = args[2]
                return OK
            if name == b"HGETALL":
                if value is None:
                    return array([])
                if not isinstance(value, dict):
                    return WRONGTYPE
                return array([bulk(x) for kv in value.items() for x in kv])
            if name == b"HGET":
                if value is None:
                    return NIL
                if not isinstance(value, dict):
                    return WRONGTYPE
                return bulk(value[args[2]]) if args[2] in value else NIL
            if name in (b"HSET", b"HMSET"):
                if value is None:
                    value = store[key] = {}
                elif not isinstance(value, dict):
                    return WRONGTYPE
                added = 0
                for i in range(2, len(args), 2):
                    added += args[i] not in value
                    value[args[i]] = args[i + 1]
                return OK if name == b"HMSET" else integer(added)
            if name in (b"DEL", b"EXISTS"):
                n = 0
                for k in args[1:]:
                    if k in store:
                        n += 1
                        if name == b"DEL":
                            del store[k]
                return integer(n)
            if name in (b"EXPIRE", b"PEXPIRE"):
                return integer(1 if value is not None else 0)
            if name in (b"TTL", b"PTTL"):
                return integer(-1 if value is not None else -2)
            if name == b"DBSIZE":
                return integer(len(store))
            if name in (b"FLUSHDB", b"FLUSHALL"):
                store.clear()
                return OK
        return error("ERR command not implemented")   # not reached


def describe(args):
    """A short, printable rendering of a command for the log."""
    out = []
    for i, arg in enumerate(args[:16]):
        text = arg.decode("latin-1")
        if len(text) > 64:
            text = text[:64] + "...(%d bytes)" % len(arg)
        text = text.encode("unicode_escape").decode("ascii")
        out.append(text.upper() if i == 0 else text)
    if len(args) > 16:
        out.append("...(%d args)" % len(args))
    return " ".join(out)


class Connection:
    """Serves one client connection (run in its own daemon thread)."""

    def __init__(self, server, sock, cid):
        self.server = server
        self.sock = sock
        self.cid = cid
        self.first = True          # no command seen yet
        self.in_multi = False
        self.queue = []
        self.multi_error = False   # a queued command was rejected -> EXECABORT
        self.dead = False          # half mode: never answer again
        self.closing = False       # QUIT: close after sending the reply
        self.subscribed = False    # PING answers as in a subscribed RESP2

    def run(self):
        try:
            self.loop()
        except OSError:
            pass                   # client went away; only this thread ends
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            self.server.log("close conn=%d" % self.cid)

    def loop(self):
        buf = bytearray()
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            buf += data
            replies = []
            streams = []
            while buf and not self.closing:
                try:
                    args, used = parse_command(buf)
                except ProtocolError as exc:
                    replies.append(error("ERR Protocol error: %s" % exc))
                    self.closing = True
                    break
                if args is None:
                    break
                del buf[:used]
                if not args:
                    continue       # blank inline line
                reply = self.handle(args)
                if isinstance(reply, Stream):
                    streams.append((len(replies), reply))
                elif reply:
                    replies.append(reply)
            if streams:
                # in order: the replies before the stream, then the stream
                at, stream = streams[0]
                self.sock.sendall(b"".join(replies[:at]))
                for chunk in stream.chunks:
                    self.sock.sendall(chunk)
                self.dead = True               # silent from now on
            elif replies:
                self.sock.sendall(b"".join(replies))
            if self.closing:
                return

    def handle(self, args):
        """Answer one command; returns the reply bytes or None for no reply."""
        srv = self.server
        name = args[0].upper()
        srv.log("cmd conn=%d %s" % (self.cid, describe(args)))

        # Test-control commands, answered in every mode.
        if self.first:
            self.first = False
            if name.startswith(b"FAKE"):
                srv.mark_control()
                srv.log("control conn=%d" % self.cid)
        if name == b"FAKECOUNT":
            return integer(srv.count())
        if name == b"FAKERESET":
            srv.reset()
            return OK
        if name == b"FAKEMODE":
            if len(args) != 2 or args[1].decode("latin-1") not in MODES:
                return error("ERR FAKEMODE needs one of: %s" % " ".join(MODES))
            srv.mode = args[1].decode()
            if srv.mode == "bighash":
                bighash_fields()
            return OK
        if name == b"FAKEFLAP":
            if (len(args) != 3 or not args[1].isdigit()
                    or not (args[2].isdigit() or args[2] in (b"up", b"down"))):
                return error("ERR FAKEFLAP needs <up_ms> <down_ms>, or 0 up|down")
            if args[1] == b"0":
                srv.flap, srv.down = None, args[2] == b"down"
            else:
                srv.flap = (int(args[1]) / 1000.0, int(args[2]) / 1000.0,
                            time.monotonic())
            return OK
        if name == b"FAKEDRIP":
            if len(args) != 2 or not args[1].isdigit():
                return error("ERR FAKEDRIP needs a number of milliseconds")
            srv.drip = int(args[1]) / 1000.0
            return OK
        if name == b"FAKEDELAY":
            if len(args) < 2 or not args[1].isdigit():
                return error("ERR FAKEDELAY needs a number of milliseconds")
            srv.delay = int(args[1]) / 1000.0
            srv.delay_names = set(a.upper() for a in args[2:])
            return OK

        mode = srv.mode
        if srv.flapped_down():
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
            raise ConnectionResetError("FAKEFLAP: down")
        if self.dead or mode == "stall":
            return None
        if mode == "garbage":
            return b"@@!!garbage " + os.urandom(8).hex().encode() + b"\r\n"
        if mode == "authfail":
            return WRONGPASS if name == b"AUTH" else NOAUTH
        if srv.delay and (name in srv.delay_names if srv.delay_names else (
                name in (b"EXEC", b"GET", b"HGETALL")
                and (name == b"EXEC" or not self.in_multi))):
            time.sleep(srv.delay)

        if name == b"QUIT":
            self.closing = True
            return OK
        if name == b"HELLO":
            return error("ERR unknown command 'HELLO'")
        if name == b"CLIENT" and len(args) > 1 and not self.in_multi:
            sub = args[1].upper()
            if sub == b"ID":
                return integer(self.cid)
            if sub == b"TRACKING" and mode == "notracking":
                return NO_TRACKING
            if sub == b"TRACKING" and mode == "trackbusy":
                return b"-ERR max number of clients reached\r\n"
            return OK
        if name == b"PING" and self.subscribed:
            return ping_subscribed(srv, mode, args)
        if name == b"SUBSCRIBE" and len(args) > 1 and not self.in_multi:
            self.subscribed = True
            confirm = b"".join(array([bulk(b"subscribe"), bulk(ch), integer(i + 1)])
                               for i, ch in enumerate(args[1:]))
            if mode == "pushflood":
                return Stream(_chain([confirm], push_flood(srv)))
            if mode in PUSH_HOSTILE:
                return Stream(iter([confirm, push_hostile(mode)]) if mode != "pushbigbulk"
                              else _chain([confirm], push_bigbulk()))
            return confirm
        if name == b"MULTI":
            if self.in_multi:
                return error("ERR MULTI calls can not be nested")
            self.in_multi, self.queue, self.multi_error = True, [], False
            return OK
        if name == b"DISCARD":
            if not self.in_multi:
                return error("ERR DISCARD without MULTI")
            self.in_multi, self.queue = False, []
            return OK
        if name == b"EXEC":
            if not self.in_multi:
                return error("ERR EXEC without MULTI")
            queue, failed = self.queue, self.multi_error
            self.in_multi, self.queue, self.multi_error = False, [], False
            if failed:
                return error("EXECABORT Transaction discarded because of previous errors.")
            if mode in HOSTILE:
                return hostile_reply(mode, queue)
            if mode == "drip":
                return Stream(drip(srv))
            reply = array([self.reply_for(mode, cmd) for cmd in queue])
            return self.maybe_half(mode, reply)
        if self.in_multi:
            bad = check_arity(args)
            if bad:
                self.multi_error = True
                return bad
            self.queue.append(args)
            return QUEUED
        if mode in HOSTILE and name in (b"GET", b"HGETALL"):
            return hostile_reply(mode, [args])
        reply = self.reply_for(mode, args)
        if name in (b"GET", b"HGETALL"):
            reply = self.maybe_half(mode, reply)
        return reply

    def reply_for(self, mode, args):
        """The complete reply of one data command in `mode` (also used for EXEC elements)."""
        name = args[0].upper()
        if check_arity(args) is None and name in (b"GET", b"HGETALL"):
            if mode == "huge":
                return bulk(HUGE_VALUE) if name == b"GET" else array([])
            if mode == "wrongtypes":
                return WRONGTYPES_GET if name == b"GET" else WRONGTYPES_HGETALL
            if mode == "half":
                if name == b"GET":
                    return bulk(HALF_VALUE)
                return array([bulk(b"field1"), bulk(HALF_VALUE),
                              bulk(b"field2"), bulk(HALF_VALUE)])
        return self.server.execute(args)

    def maybe_half(self, mode, reply):
        """In half mode, cut `reply` in half and go silent for good."""
        if mode != "half":
            return reply
        self.dead = True
        return reply[:len(reply) // 2]


class _Stop(Exception):
    """Raised from the signal handler to leave the accept loop."""


def _on_signal(signo, frame):
    raise _Stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Misbehaving Redis-protocol server.")
    ap.add_argument("--port", type=int, required=True,
                    help="port to listen on (127.0.0.1); 0 picks a free one")
    ap.add_argument("--mode", choices=MODES, default="ok")
    ap.add_argument("--quiet", action="store_true", help="no logging on stderr")
    args = ap.parse_args(argv)

    server = FakeRedis(args.mode, args.quiet)
    if args.mode == "bighash":
        bighash_fields()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((HOST, args.port))
            listener.listen(1024)
        except OSError as exc:
            sys.stderr.write("fake_redis: cannot listen on %s:%d: %s\n" % (HOST, args.port, exc))
            return 1
        sys.stdout.write("READY %d\n" % listener.getsockname()[1])
        sys.stdout.flush()
        while True:
            try:
                sock, peer = listener.accept()
            except OSError:
                time.sleep(0.01)    # e.g. ECONNABORTED, EMFILE: keep serving
                continue
            cid = server.on_accept()
            server.log("accept conn=%d peer=%s:%d mode=%s" % (cid, peer[0], peer[1], server.mode))
            if server.mode == "reset" or server.flapped_down():
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                sock.close()
                server.log("reset conn=%d" % cid)
                continue
            if server.mode == "close":
                sock.close()
                server.log("close conn=%d" % cid)
                continue
            threading.Thread(target=Connection(server, sock, cid).run,
                             name="conn-%d" % cid, daemon=True).start()
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
