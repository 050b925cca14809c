"""Passive detection with TLS to the upstream (audit s10/A1 F1): nginx
records an upstream's connect time only once the TLS handshake is done, so
a handshake the peer refused (strict SNI: with "proxy_ssl_name $host" a
visitor's Host chooses the name) or a certificate proxy_ssl_verify refused
reached the log phase like a refused port: "cannot connect", direct
evidence, no probe.  Ten requests with a foreign Host paged a healthy
checkout.  Such a failure reached the peer: a probe decides."""

import http.server
import ssl
import subprocess
import threading

import pytest

from harness import LATENCY_FACTOR, free_port, wait_for
from passive_helpers import Ok, checks_of, lines, scope

T = 10 * LATENCY_FACTOR

# nginx logs a handshake the peer refused at [crit] ("SSL_do_handshake()
# failed ... unrecognized name"): its own line, not the module's
pytestmark = pytest.mark.allow_log_errors


@pytest.fixture
def strict_sni(tmp_path):
    """An HTTPS application that answers 200 and refuses a handshake for
    any name but shop.example (as nginx's ssl_reject_handshake, or an
    ingress with strict SNI).  Yields (port, certificate file)."""
    key, crt = str(tmp_path / "k.pem"), str(tmp_path / "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", "/CN=shop.example"],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)

    def sni(sock, name, c):
        if name not in (None, "shop.example"):
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        return None

    ctx.sni_callback = sni
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                          Ok)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1], crt
    srv.shutdown()
    srv.server_close()


def _conf(port, extra):
    return """
    outage_check checkout https://127.0.0.1:%d/health interval=1s
        timeout=500ms tls_verify=off;
    server {
        listen 127.0.0.1:{port};
        location /checkout/ {
            outage_page checkout;
            proxy_pass https://127.0.0.1:%d;
            proxy_ssl_server_name on;
            proxy_ssl_name $host;
            %s
        }
        location = /outage/status { outage_status; }
    }
""" % (port, port, extra)


@pytest.mark.parametrize("verify", [False, True],
                         ids=["sni-refused", "certificate-refused"])
def test_a_refused_tls_handshake_needs_a_probe(nginx_factory, strict_sni,
                                               verify):
    port, crt = strict_sni
    # refused by the peer (its SNI), or by nginx's own verification (a
    # name the certificate does not carry)
    extra = ("proxy_ssl_verify on; proxy_ssl_trusted_certificate %s;" % crt
             if verify else "proxy_ssl_session_reuse off;")
    n = nginx_factory(_conf(port, extra), workers=1)
    wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
             what="the check up")
    assert n.get("/checkout/cart", headers={"Host": "shop.example"})[0] \
        == 200
    for _ in range(12):
        assert n.get("/checkout/x", headers={"Host": "nope.example"})[0] \
            in (502, 503)
    # the rule fired and asked a probe (which passes): not a take-down
    got = wait_for(lambda: lines(n, r"probing now to confirm"), timeout=T,
                   what="a confirming probe asked")
    assert "connect or TLS handshake failed" in got[0], got
    probes = checks_of(n)[0]["probes"]
    wait_for(lambda: checks_of(n)[0]["probes"] > probes, timeout=T,
             what="the confirming probe")
    assert scope(n, "checkout")["state"] == "ok", scope(n, "checkout")
    assert checks_of(n)[0]["transitions"] == 0, checks_of(n)
    assert not lines(n, r"is down"), n.log_text()
    assert n.get("/checkout/cart", headers={"Host": "shop.example"})[0] \
        == 200
