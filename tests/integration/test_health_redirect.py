"""outage_check and redirects: the default status= is 200-299, so a health
endpoint that answers with a redirect (a login wall, an error page, an
HTTP-to-HTTPS hop) fails as "status", and last_error says where it leads
without showing hosts, queries or credentials.  nginx itself serves the
redirects (return 3xx), so the oracle is nginx's own Location header."""

from harness import wait_for

CONF = """
    server {{
        listen 127.0.0.1:{{port}};
        location = /hc/login {{ return 302 /login?token=s3cret; }}
        location = /hc/error {{ return 302 /error/500?code=500#x; }}
        location = /hc/elsewhere {{
            return 301 https://user:pw@other.example:8443/health?k=v;
        }}
        location = /hc/slash {{
            return 302 "https://user:secret/tok3n@idp.example/login?x=1";
        }}
        location = /hc/listed {{ return 302 /ok; }}
        location = /ok {{ return 200 "ok"; }}
        location = /outage/status {{ outage_status; }}
    }}
    outage_check login http://127.0.0.1:{{port}}/hc/login
        interval=300ms timeout=200ms fall=1 rise=1;
    outage_check error http://127.0.0.1:{{port}}/hc/error
        interval=300ms timeout=200ms fall=1 rise=1;
    outage_check elsewhere http://127.0.0.1:{{port}}/hc/elsewhere
        interval=300ms timeout=200ms fall=1 rise=1;
    outage_check slash http://127.0.0.1:{{port}}/hc/slash
        interval=300ms timeout=200ms fall=1 rise=1;
    outage_check listed http://127.0.0.1:{{port}}/hc/listed
        interval=300ms timeout=200ms fall=1 rise=1 status=200-399;
"""


def test_redirect_fails_by_default_and_names_its_path(nginx_factory):
    n = nginx_factory(CONF.format(), workers=1)

    def checks():
        return {c["scope"]: c for c in n.status_json()["checks"]}

    wait_for(lambda: all(c["health"] != "unknown"
                         for c in checks().values()), timeout=10)
    c = checks()
    assert c["login"]["health"] == "down"
    assert c["login"]["error_kind"] == "status"
    assert c["login"]["last_error"] == "HTTP 302 to /login", c["login"]
    assert c["error"]["last_error"] == "HTTP 302 to /error/500", c["error"]
    assert c["elsewhere"]["last_error"] == \
        "HTTP 301 to another origin, /health", c["elsewhere"]
    # a '/' in the userinfo does not end the authority there
    assert c["slash"]["last_error"] == \
        "HTTP 302 to another origin, /login", c["slash"]
    # a 3xx listed in status= is accepted, as before
    assert c["listed"]["health"] == "up", c["listed"]

    text = n.status_json()
    for secret in ("s3cret", "token", "user:pw", "other.example", "k=v",
                   "tok3n", "idp.example", "secret"):
        assert secret not in str(text), secret
    lines = [ln for ln in n.log_text().splitlines()
             if 'check "slash"' in ln and "is down" in ln]
    assert lines and all("/login" in ln and "tok3n" not in ln.split("; curl:")[0]
                         for ln in lines), lines
    scopes = {s["name"]: s for s in text["scopes"]}
    assert scopes["login"]["state"] == "down"
    assert scopes["login"]["reason"] == "check: HTTP 302 to /login"
