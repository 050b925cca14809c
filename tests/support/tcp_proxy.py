"""A TCP relay that can go silent without closing, for the ngx_outage_module tests.

Owns the "path cut without a FIN or an RST" of the Redis push tests: a NAT
or firewall that forgot a connection's state, a host that vanished.  Every
connection accepted on 127.0.0.1:<port> is relayed to 127.0.0.1:<target> by
one selector thread (in the test's own process; ``close()`` ends it).  A
connection can be *frozen*: from then on nothing is read from either side
of it and nothing is sent, yet both sockets stay open, so the client sees a
connection that is still established and simply silent (its bytes are
acknowledged by the kernel and never answered, as with a stopped server).

Usage::

    proxy = TcpProxy(redis.port)        # proxy.port: where clients connect
    proxy.freeze(b"SUBSCRIBE")          # connections whose client sent it
    proxy.freeze(b"SUBSCRIBE", new=True)  # ... and those that send it later
    proxy.thaw()                        # relay everything again
    proxy.accepted                      # connections accepted so far
    proxy.close()

``Relay`` is the simpler kind, one thread per direction of each
connection, for tests that shape the bytes on their way (a slow path, a
worker stopped when it sends a command): a subclass overrides
``carry()``.
"""

import selectors
import socket
import threading

HOST = "127.0.0.1"
CHUNK = 65536


class _Link:
    """One relayed connection: the client's socket and the server's."""

    def __init__(self, client, server):
        self.client = client
        self.server = server
        self.tail = b""          # the client's last bytes, for a match
        self.marks = set()       # patterns the client has sent
        self.frozen = False
        self.out = {client: bytearray(), server: bytearray()}

    def peer(self, sock):
        return self.server if sock is self.client else self.client


class TcpProxy:
    def __init__(self, target_port, target_host=HOST):
        self.target = (target_host, target_port)
        self.lock = threading.Lock()
        self.links = []
        self.rules = []          # patterns that freeze links that send them
        self.accepted = 0
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="tcp-proxy",
                                       daemon=True)
        self.thread.start()

    # ---- control (any thread) -------------------------------------------

    def freeze(self, pattern, new=False):
        """Freeze every connection whose client has sent `pattern`; with
        new=True also those that send it from now on, until thaw()."""
        with self.lock:
            for link in self.links:
                if pattern in link.marks:
                    link.frozen = True
            if new:
                self.rules.append(pattern)
        self._wake()

    def thaw(self):
        with self.lock:
            self.rules = []
            for link in self.links:
                link.frozen = False
        self._wake()

    def frozen(self):
        with self.lock:
            return sum(1 for link in self.links if link.frozen)

    def close(self):
        self.stopping = True
        self._wake()
        self.thread.join(5)
        with self.lock:
            for link in self.links:
                for s in (link.client, link.server):
                    try:
                        s.close()
                    except OSError:
                        pass
            self.links = []
        for s in (self.listener, self.wake_r, self.wake_w):
            s.close()
        self.sel.close()

    def _wake(self):
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass

    # ---- the relay thread -------------------------------------------------

    def _run(self):
        while not self.stopping:
            for key, _ in self.sel.select(0.5):
                sock = key.fileobj
                if sock is self.listener:
                    self._accept()
                elif sock is self.wake_r:
                    try:
                        self.wake_r.recv(4096)
                    except OSError:
                        pass
                else:
                    self._io(key.data, sock)
            self._interest()

    def _accept(self):
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for s in (client, server):
            s.setblocking(False)
        link = _Link(client, server)
        with self.lock:
            self.accepted += 1
            self.links.append(link)
        for s in (client, server):
            self.sel.register(s, selectors.EVENT_READ, link)

    def _drop(self, link):
        with self.lock:
            if link in self.links:
                self.links.remove(link)
        for s in (link.client, link.server):
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def _io(self, link, sock):
        if link.frozen:
            return
        try:
            data = sock.recv(CHUNK)
        except BlockingIOError:
            data = None
        except OSError:
            data = b""
        if data == b"":
            self._drop(link)
            return
        if data:
            if sock is link.client:
                seen = link.tail + data
                link.tail = seen[-32:]
                with self.lock:
                    for pattern in self.rules + [b"SUBSCRIBE"]:
                        if pattern in seen:
                            link.marks.add(pattern)
                    if any(p in link.marks for p in self.rules):
                        # held, as a NAT that forgot it would: not sent on
                        link.frozen = True
            link.out[link.peer(sock)] += data
        self._flush(link)

    def _flush(self, link):
        if link.frozen:
            return
        for s, buf in link.out.items():
            while buf:
                try:
                    n = s.send(buf)
                except BlockingIOError:
                    break
                except OSError:
                    self._drop(link)
                    return
                del buf[:n]

    def _interest(self):
        """Frozen links are not watched (their bytes wait in the kernel);
        links with bytes to send are watched for writing too."""
        with self.lock:
            links = list(self.links)
        for link in links:
            if not link.frozen:
                self._flush(link)
            for s in (link.client, link.server):
                if s.fileno() < 0:
                    continue
                if link.frozen:
                    ev = 0
                else:
                    ev = selectors.EVENT_READ
                    if link.out[s]:
                        ev |= selectors.EVENT_WRITE
                try:
                    if ev:
                        self.sel.modify(s, ev, link)
                    else:
                        self.sel.unregister(s)
                except KeyError:
                    if ev:
                        self.sel.register(s, ev, link)
                except ValueError:
                    pass


class Relay:
    """Relays every connection accepted on 127.0.0.1:<port> to
    127.0.0.1:<target>; ``carry(data, to, up, state)`` sends each chunk on
    (up: from the client; state: a dict per connection)."""

    chunk = CHUNK

    def __init__(self, target):
        self.target = target
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((HOST, 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.socks = [self.ls]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection((HOST, self.target))
            except OSError:
                c.close()       # the server stopped at the test's end
                continue
            self.socks += [c, u]
            state = {}
            for a, b, up in ((c, u, True), (u, c, False)):
                threading.Thread(target=self._pipe, args=(a, b, up, state),
                                 daemon=True).start()

    def _pipe(self, a, b, up, state):
        try:
            while True:
                d = a.recv(self.chunk)
                if not d:
                    break
                self.carry(d, b, up, state)
        except OSError:
            pass
        # the end of either side ends the connection, as a real close
        # would: left open, a connection the client gave up stayed open
        # at the server (a Redis kept computing and holding the replies
        # of every poll the module had dropped, and fell behind for good)
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def carry(self, data, to, up, state):
        to.sendall(data)

    def close(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
