"""outage_check over TLS (review s8/R1 #3): tls_verify= and
tls_trusted_certificate= let a probe judge an internal upstream's
certificate the way nginx's traffic does (proxy_ssl_verify off by default,
proxy_ssl_trusted_certificate), and a refused certificate says why in the
status ("TLS: certificate has expired"), without an address.  Certificates
are made here with the openssl command line: an internal CA, a valid and an
expired leaf for 127.0.0.1."""

import os
import re
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from harness import wait_for

SERVER = """
    server {
        listen 127.0.0.1:{port};
        location / { outage_page shop; proxy_pass https://127.0.0.1:%(app)d; }
        location = /outage/status { outage_status; }
    }
"""


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def leaf(d, name, days):
    """A certificate for 127.0.0.1 signed by the CA; days -1: expired."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
            "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".crt",
            "-days", str(days), "-extfile", name + ".ext", cwd=d)


@pytest.fixture
def pki(tmp_path):
    d = str(tmp_path / "pki")
    os.makedirs(d)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-days", "30", "-subj", "/CN=internal CA",
            cwd=d)
    leaf(d, "valid", 30)
    leaf(d, "expired", -1)
    return d


class TlsApp:
    """HTTPS on loopback answering 200 "ok"; self.cert ("valid" or
    "expired") is the certificate of the next connection."""

    def __init__(self, pki, cert):
        self.pki, self.cert = pki, cert
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self.serve, daemon=True).start()

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.pki, self.cert + ".crt"),
                            os.path.join(self.pki, self.cert + ".key"))
        return ctx

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,),
                             daemon=True).start()

    def answer(self, conn):
        conn.settimeout(5)
        try:
            with self.context().wrap_socket(conn, server_side=True) as c:
                c.recv(65536)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                          b"Connection: close\r\n\r\nok")
        except (OSError, ssl.SSLError):
            pass

    def stop(self):
        self.stopped = True
        self.lsock.close()


@pytest.fixture
def tls_app(pki):
    apps = []

    def make(cert):
        a = TlsApp(pki, cert)
        apps.append(a)
        return a
    yield make
    for a in apps:
        a.stop()


def conf(app, params):
    return ("outage_check shop https://127.0.0.1:%d/health interval=300ms "
            "timeout=250ms fall=2 rise=2 %s;\n" % (app.port, params)
            + SERVER.replace("%(app)d", str(app.port)))


def check(n):
    return n.status_json()["checks"][0]


def shop(n):
    return [s for s in n.status_json()["scopes"] if s["name"] == "shop"][0]


def test_internal_ca_and_the_reason_of_an_expired_certificate(
        nginx_factory, tls_app, pki):
    app = tls_app("valid")
    ca = os.path.join(pki, "internal-ca.pem")
    shutil.copy(os.path.join(pki, "ca.crt"), ca)
    n = nginx_factory(conf(app, "tls_trusted_certificate=%s" % ca),
                      workers=2)
    # the internal CA (not in the system store) is trusted: up
    wait_for(lambda: check(n)["probes"] >= 3, timeout=10, what="3 probes")
    c = check(n)
    assert c["health"] == "up" and c["consecutive_failures"] == 0, c
    assert n.get("/")[0] == 200

    app.cert = "expired"
    wait_for(lambda: check(n)["health"] == "down", timeout=10,
             what="check down")
    c = check(n)
    assert c["last_error"] == "TLS: certificate has expired", c
    assert shop(n)["reason"] == "check: TLS: certificate has expired"
    st, _, body = n.get("/outage/status")
    assert b"127.0.0.1" not in body and str(app.port).encode() not in body
    # curl's own message (with the address) stays in the log line
    lines = [ln for ln in n.log_text().splitlines()
             if re.search(r'outage: check "shop" .* is down', ln)]
    assert len(lines) == 1 and "certificate has expired" in lines[0], lines


def test_tls_verify_off_keeps_an_expired_certificate_up(nginx_factory,
                                                        tls_app):
    # nginx proxies with proxy_ssl_verify off and serves the shop: the probe
    # judges it the same way
    app = tls_app("expired")
    n = nginx_factory(conf(app, "tls_verify=off"), workers=2)
    wait_for(lambda: check(n)["probes"] >= 4, timeout=10, what="4 probes")
    c = check(n)
    assert c["health"] == "up" and c["consecutive_failures"] == 0, c
    assert shop(n)["state"] == "ok"
    assert n.get("/")[0] == 200

    # the default still verifies: the same target fails as "tls"
    n2 = nginx_factory(conf(app, ""), workers=1)
    wait_for(lambda: check(n2)["health"] == "down", timeout=10,
             what="default verifies")
    assert check(n2)["last_error"].startswith("TLS: "), check(n2)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for 'user'")
def test_ca_file_only_the_master_can_read(nginx_factory, tls_app, pki):
    """The CA file is read with the configuration, as nginx's own
    certificates: workers running as another user (nobody) probe with it
    although they cannot read it (0600, root's)."""
    app = tls_app("valid")
    ca = os.path.join(pki, "internal-ca.pem")
    shutil.copy(os.path.join(pki, "ca.crt"), ca)
    os.chmod(ca, 0o600)
    n = nginx_factory(conf(app, "tls_trusted_certificate=%s" % ca),
                      workers=1, start=False)
    with open(n.conf_path) as f:
        text = f.read()
    assert "user root;" in text
    with open(n.conf_path, "w") as f:
        f.write(text.replace("user root;", "user nobody nogroup;"))
    n.start()
    wait_for(lambda: check(n)["probes"] >= 3, timeout=10, what="3 probes")
    c = check(n)
    assert c["health"] == "up" and c["consecutive_failures"] == 0, c


@pytest.mark.parametrize("url, params, error", [
    ("https", "tls_verify=maybe",
     r'invalid value in "tls_verify=maybe", expected "on" or "off"'),
    ("https", "tls_trusted_certificate=",
     r'no file in "tls_trusted_certificate="'),
    ("https", "tls_trusted_certificate={d}/nonexistent.crt",
     r'cannot open "tls_trusted_certificate=" file "{d}/nonexistent.crt" '
     r'\(2: No such file or directory\)'),
    ("https", "tls_trusted_certificate={d}/valid.ext",
     r'"{d}/valid.ext" of "tls_trusted_certificate=" holds no PEM '
     r'certificate'),
    ("http", "tls_verify=off",
     r'"tls_verify=off" needs an https:// URL'),
    ("http", "tls_trusted_certificate={d}/ca.crt",
     r'"tls_trusted_certificate={d}/ca.crt" needs an https:// URL'),
    ("https", "tls_verify=", r'invalid value in "tls_verify=", expected '
                             r'"on" or "off"'),
    ("https", "tls_verify=off tls_verify=on", r'duplicate "tls_verify="'),
    ("https", "tls_trusted_certificate={d}/ca.crt "
              "tls_trusted_certificate={d}/ca.crt",
     r'duplicate "tls_trusted_certificate="'),
    ("https", "tls_verify=off tls_trusted_certificate={d}/ca.crt",
     r'"tls_trusted_certificate=" has no use with "tls_verify=off"'),
    ("https", "tls_trusted_certificate={d}/ca.crt tls_verify=off",
     r'"tls_trusted_certificate=" has no use with "tls_verify=off"'),
])
def test_config_errors(nginx_factory, pki, url, params, error):
    n = nginx_factory("outage_check shop %s://127.0.0.1:1/health %s;\n"
                      % (url, params.format(d=pki))
                      + SERVER.replace("%(app)d", "1"), start=False)
    ok, out = n.test_config()
    assert not ok, out
    assert re.search(r'\[emerg\] "outage_check": '
                     + error.format(d=re.escape(pki)), out), out


def test_config_accepts_the_tls_parameters(nginx_factory, pki):
    n = nginx_factory("outage_check shop https://127.0.0.1:1/health "
                      "tls_verify=on tls_trusted_certificate=%s;\n"
                      "outage_check shop https://127.0.0.1:2/health "
                      "tls_verify=off;\n" % os.path.join(pki, "ca.crt")
                      + SERVER.replace("%(app)d", "1"), start=False)
    ok, out = n.test_config()
    assert ok, out
