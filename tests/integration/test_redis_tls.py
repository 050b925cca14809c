"""The Redis link over TLS through nginx's OpenSSL (issue 14): a real
redis-server with --tls-port, a CA and certificates made here with openssl."""

import os
import shutil
import subprocess

import pytest

from harness import NGINX, Redis, free_port, wait_for

CONF = """
    outage_redis 127.0.0.1:{port} interval=300ms timeout=500ms
                 connect_timeout=500ms {tls};
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        location / {{
            add_header X-State $outage_state always;
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }}
        location /page {{
            outage_banner on;
            default_type text/html;
            return 200 "<!DOCTYPE html><html><body><p>shop</p></body></html>";
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key",
            "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + name,
            cwd=d)


def make_cert(d, name, ca, ext):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext + "\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + name, cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".crt",
            "-days", "2", "-extfile", name + ".ext", cwd=d)


@pytest.fixture
def pki(tmp_path):
    d = str(tmp_path / "pki")
    os.makedirs(d)
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "server", "ca",
              "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
              "extendedKeyUsage=serverAuth")
    make_cert(d, "client", "ca", "extendedKeyUsage=clientAuth")
    return d


def tls_redis(tmp_path, pki, auth_clients="no"):
    port = free_port()
    r = Redis(str(tmp_path), extra_args=[
        "--tls-port", str(port),
        "--tls-cert-file", os.path.join(pki, "server.crt"),
        "--tls-key-file", os.path.join(pki, "server.key"),
        "--tls-ca-cert-file", os.path.join(pki, "ca.crt"),
        "--tls-auth-clients", auth_clients])
    r.tls_port = port
    return r


def start(nginx_factory, r, tls):
    return nginx_factory(CONF.format(port=r.tls_port, tls=tls))


def redis_errors(n):
    return [ln for ln in n.log_text().splitlines()
            if "[error]" in ln or "[crit]" in ln]


@pytest.mark.parametrize("name", ["tls_name=localhost", ""])
def test_banner_and_state_over_tls(nginx_factory, tmp_path, pki, name):
    """By host name (SNI) and by the address's IP (checked against the IP
    in the certificate)."""
    r = tls_redis(tmp_path, pki)
    try:
        n = start(nginx_factory, r, "tls tls_trusted_certificate=%s/ca.crt %s"
                  % (pki, name))
        r.cli("SET", "outage:site", "Over TLS")
        wait_for(lambda: n.get("/")[1]["x-message"] == "Over TLS", timeout=5,
                 what="state read over TLS")
        _, _, body = n.get("/page")
        assert b"Over TLS" in body
        assert n.status_json()["redis"]["up"] is True
        r.cli("DEL", "outage:site")
        wait_for(lambda: n.get("/")[1]["x-state"] == "ok", timeout=5)
        assert redis_errors(n) == []
    finally:
        r.stop()


@pytest.mark.parametrize("tls,line", [
    ("tls tls_trusted_certificate={pki}/otherca.crt tls_name=localhost",
     "TLS certificate verify error: (19: self-signed certificate in "
     "certificate chain)"),
    ("tls tls_trusted_certificate={pki}/ca.crt tls_name=redis.example.com",
     'TLS certificate does not match: \\x22redis.example.com\\x22'),
])
def test_untrusted_server_is_refused_once(nginx_factory, tmp_path, pki, tls,
                                          line):
    r = tls_redis(tmp_path, pki)
    try:
        r.cli("SET", "outage:site", "must not be shown")
        n = start(nginx_factory, r, tls.format(pki=pki))
        wait_for(lambda: n.status_json()["redis"]["errors"] >= 4, timeout=10,
                 what="4 refused connections")
        errors = redis_errors(n)
        assert len(errors) == 1, errors
        assert line in errors[0], errors
        assert n.get("/")[1]["x-state"] == "ok"
        assert n.status_json()["redis"]["up"] is False
    finally:
        r.stop()


def test_client_certificate(nginx_factory, tmp_path, pki):
    r = tls_redis(tmp_path, pki, auth_clients="yes")
    try:
        r.cli("SET", "outage:site", "Client cert works")
        base = "tls tls_trusted_certificate=%s/ca.crt tls_name=localhost" % pki

        # without a certificate the server hangs up: logged once, no state
        n1 = start(nginx_factory, r, base)
        wait_for(lambda: n1.status_json()["redis"]["errors"] >= 3,
                 timeout=10, what="refused without a client certificate")
        errors = redis_errors(n1)
        assert len(errors) == 1, errors
        assert "certificate required" in errors[0], errors
        assert n1.get("/")[1]["x-state"] == "ok"

        n2 = start(nginx_factory, r, base
                   + " tls_certificate=%s/client.crt"
                     " tls_certificate_key=%s/client.key" % (pki, pki))
        wait_for(lambda: n2.get("/")[1]["x-message"] == "Client cert works",
                 timeout=5, what="state read with a client certificate")
        assert redis_errors(n2) == []
    finally:
        r.stop()


@pytest.mark.parametrize("args,words", [
    ("127.0.0.1 tls_name=x", '"outage_redis": "tls_name" needs "tls"'),
    ("127.0.0.1 tls tls_verify=maybe",
     '"outage_redis": invalid value in "tls_verify=maybe"'),
    ("127.0.0.1 tls tls_protocols=SSLv3",
     '"outage_redis": invalid protocol "SSLv3" in "tls_protocols=SSLv3"'),
    ("127.0.0.1 tls tls_certificate=/x.crt",
     '"tls_certificate=" and "tls_certificate_key=" go together'),
    ("127.0.0.1 tls tls_trusted_certificate=/nonexistent/ca.crt",
     '"outage_redis": cannot open "tls_trusted_certificate=" file '
     '"/nonexistent/ca.crt" (2: No such file or directory)'),
    ("127.0.0.1 tls tls_bogus=1", '"outage_redis": unknown parameter '
                                 '"tls_bogus=1"'),
])
def test_tls_config_errors(nginx_factory, args, words):
    n = nginx_factory(CONF.format(port=1, tls="").replace(
        "127.0.0.1:1 ", args + " "), start=False)
    ok, out = n.test_config()
    assert not ok
    assert words in out, out


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_the_module_looks_at_the_tls_files_and_never_reads_them(
        nginx_factory, pki, tmp_path):
    """The module opens the certificate, key and CA (non-blocking) only to
    refuse a FIFO, a directory or a huge file before nginx's own loader
    reads them; it reads none of them, so no copy of the client key stays
    in the cycle's pool, in the master and every worker and their core
    dumps (review s11 R3 F6).  The module reads with pread(), OpenSSL's
    loader with read()."""
    files = ("ca.crt", "client.crt", "client.key")
    n = nginx_factory(CONF.format(port=1, tls=(
        "tls tls_trusted_certificate=%s/ca.crt tls_certificate=%s/client.crt"
        " tls_certificate_key=%s/client.key" % (pki, pki, pki))),
        start=False)
    trace = str(tmp_path / "nginx-t.strace")
    out = subprocess.run(["strace", "-f", "-y", "-o", trace, "-e",
                          "trace=openat,read,pread64", NGINX, "-t", "-p",
                          n.dir, "-c", n.conf_path, "-e",
                          os.path.join(n.dir, "nginx-t.log")],
                         capture_output=True, text=True, timeout=60,
                         env=n.test_env())
    if not os.path.exists(trace) or "ptrace" in out.stderr:
        pytest.skip("strace cannot trace here: " + out.stderr[-200:])
    assert out.returncode == 0, out.stdout + out.stderr
    with open(trace) as f:
        lines = f.read().splitlines()
    for name in files:
        on = [ln for ln in lines if "/%s>" % name in ln or
              '"%s/%s"' % (pki, name) in ln]
        # looked at by the module, then loaded by nginx
        assert any("O_NONBLOCK" in ln for ln in on), (name, on)
        assert any(" read(" in ln or ln.startswith("read(") for ln in on), \
            (name, on)
        assert not [ln for ln in on if "pread64(" in ln], (name, on)


def test_push_over_tls_with_client_certificate(nginx_factory, tmp_path, pki):
    """The push connection uses the same TLS settings: with a 10 s interval,
    a change seen within 2 s came through it."""
    import time
    from harness import LATENCY_FACTOR
    r = tls_redis(tmp_path, pki, auth_clients="yes")
    try:
        n = nginx_factory(CONF.format(port=r.tls_port, tls=(
            "tls tls_trusted_certificate=%s/ca.crt tls_name=localhost"
            " tls_certificate=%s/client.crt tls_certificate_key=%s/client.key"
            % (pki, pki, pki))).replace("interval=300ms", "interval=10s"))
        wait_for(lambda: "pushes changes of" in n.log_text(), timeout=5,
                 what="push subscribed over TLS")
        r.cli("SET", "outage:site", "Pushed over TLS")
        t0 = time.monotonic()
        wait_for(lambda: n.get("/")[1]["x-message"] == "Pushed over TLS",
                 timeout=5 * LATENCY_FACTOR, interval=0.01, what="pushed")
        assert time.monotonic() - t0 < 2.0 * LATENCY_FACTOR
        assert redis_errors(n) == []
    finally:
        r.stop()
