"""The Debian package `make deb` builds (scripts/deb.sh).

test_contents (make deb-check, part of make test) reads the .deb without
installing it: fields, files, the Depends against what the installed nginx
provides and the packages that own the libraries the .so really links
(ldd + dpkg -S, not dpkg-shlibdeps, which built the field), the maintainer
scripts, and the unpacked module serving a banner in the stock nginx
through the package's own modules-available snippet.

test_install_remove (make deb-install-check, part of make check-deep, and
only with OUTAGE_DEB_INSTALL=1, as root) installs it into this machine's
nginx with dpkg: the modules-enabled symlink appears, the stock
/etc/nginx/nginx.conf passes nginx -t with it, an nginx of ours that
includes the enabled snippet shows a banner after redis-cli SET; dpkg -r
then leaves a working nginx, and --purge leaves no trace.  It changes the
system, which make test must not do on a machine shared by parallel runs.
"""

import glob
import os
import re
import subprocess

import pytest

import harness
from harness import REPO, wait_for

DEB_DIR = os.path.join(REPO, "build", "deb")
PKG = "libnginx-mod-http-outage"
SO = "usr/lib/nginx/modules/ngx_http_outage_module.so"
SNIPPET = "usr/share/nginx/modules-available/mod-http-outage.conf"
ENABLED = "/etc/nginx/modules-enabled/50-mod-http-outage.conf"
STOCK_NGINX = "/usr/sbin/nginx"

HTTP = """
    outage_redis 127.0.0.1:%d interval=200ms;
    server {
        listen 127.0.0.1:{port};
        outage_banner on;
        location / { return 200 "<html><body><p>shop</p></body></html>"; }
    }
"""


def run(*cmd, check=True):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, (cmd, out.stdout + out.stderr)
    return out


def the_deb():
    debs = glob.glob(os.path.join(DEB_DIR, PKG + "_*.deb"))
    assert len(debs) == 1, "run make deb first: %s" % debs
    return debs[0]


def field(deb, name):
    return run("dpkg-deb", "-f", deb, name).stdout.strip()


def owner_package(path):
    """The package that ships a file (dpkg -S), arch qualifier dropped."""
    real = os.path.realpath(path)
    for p in (path, real, real.replace("/usr/lib/", "/lib/", 1)):
        out = run("dpkg", "-S", p, check=False)
        if out.returncode == 0:
            return out.stdout.split(":")[0].strip()
    raise AssertionError("no package owns %s" % path)


def linked_libs(so):
    """{soname: resolved path} of the libraries the .so needs itself."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]",
                        run("readelf", "-d", so).stdout)
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)",
                               run("ldd", so).stdout, re.M))
    return {n: resolved[n] for n in needed}


def serves_banner(nginx_factory, redis, tmp_path, main_conf, modules_dir,
                  monkeypatch):
    # Debian's nginx, whatever OUTAGE_NGINX says, and the snippet's
    # load_module is the only one
    monkeypatch.setattr(harness, "NGINX", STOCK_NGINX)
    monkeypatch.setattr(harness, "LOAD_MODULE", "")
    n = nginx_factory(HTTP % redis.port, main_conf=main_conf, start=False)
    os.symlink(modules_dir, os.path.join(n.dir, "modules"))
    ok, out = n.test_config()
    assert ok, out
    n.start()
    assert b"outage-banner" not in n.get("/")[2]
    redis.cli("SET", "outage:site", "Checkout is slow <b>now</b>")
    wait_for(lambda: b"outage-banner" in n.get("/")[2], timeout=10,
             what="banner after redis-cli SET")
    assert b"Checkout is slow &lt;b&gt;now&lt;/b&gt;" in n.get("/")[2]
    return n


def test_contents(nginx_factory, redis, tmp_path, monkeypatch):
    deb = the_deb()
    assert field(deb, "Package") == PKG
    assert field(deb, "Architecture") == run(
        "dpkg", "--print-architecture").stdout.strip()

    depends = [d.strip() for d in field(deb, "Depends").split(",")]
    names = [d.split()[0] for d in depends]
    provides = run("dpkg-query", "-W", "-f=${Provides}",
                   "nginx").stdout
    abi = re.findall(r"nginx-abi-[^\s,]+", provides)
    assert len(abi) == 1 and abi[0] in names, (provides, depends)
    # exactly one ABI: a module is never installable beside another nginx
    assert len([n for n in names if n.startswith("nginx-abi-")]) == 1

    files = run("dpkg-deb", "-c", deb).stdout
    for path in (SO, SNIPPET, "usr/share/doc/%s/copyright" % PKG):
        assert re.search(r" \./%s$" % re.escape(path), files, re.M), path
    assert "etc/nginx" not in files   # the symlink is the postinst's

    root = tmp_path / "root"
    run("dpkg-deb", "-x", deb, str(root))
    libs = linked_libs(str(root / SO))

    # built with Debian's hardening flags (hardening=+all), as Debian's own
    # libnginx-mod-* are: immediate binding and fortified libc calls
    dyn = run("readelf", "-d", str(root / SO)).stdout
    assert "BIND_NOW" in dyn or "Flags: NOW" in dyn, dyn
    assert "_chk" in run("nm", "-D", str(root / SO)).stdout
    for want in ("libhiredis", "libcurl"):
        so = [p for n, p in libs.items() if n.startswith(want)]
        assert len(so) == 1, (want, libs)
        assert owner_package(so[0]) in names, (so[0], depends)

    with open(root / SNIPPET) as f:
        assert f.read().strip() == \
            "load_module modules/ngx_http_outage_module.so;"

    ctl = tmp_path / "control"
    run("dpkg-deb", "-e", deb, str(ctl))
    for script in ("postinst", "prerm", "postrm"):
        text = (ctl / script).read_text()
        run("sh", "-n", str(ctl / script))
        assert "mod-http-outage.conf:50-mod-http-outage.conf" in text
    assert "ln -sf /usr/share/nginx/modules-available/$from" in \
        (ctl / "postinst").read_text()

    # the unpacked package, enabled by its own snippet, in the stock nginx
    serves_banner(nginx_factory, redis, tmp_path,
                  "include %s;\n" % (root / SNIPPET),
                  str(root / "usr/lib/nginx/modules"), monkeypatch)


def installed():
    out = run("dpkg-query", "-W", "-f=${Status}", PKG, check=False)
    return out.returncode == 0 and "ok installed" in out.stdout


@pytest.mark.skipif(os.environ.get("OUTAGE_DEB_INSTALL") != "1"
                    or os.geteuid() != 0,
                    reason="changes the system: make deb-install-check")
def test_install_remove(nginx_factory, redis, tmp_path, monkeypatch):
    deb = the_deb()
    assert not installed(), "%s is installed already" % PKG
    assert not os.path.lexists(ENABLED)
    run(STOCK_NGINX, "-t")                      # works before

    try:
        run("dpkg", "-i", deb)
        assert installed()
        assert os.path.islink(ENABLED)
        assert os.readlink(ENABLED) == "/" + SNIPPET
        assert os.path.exists("/" + SO)
        run(STOCK_NGINX, "-t")                  # stock config + snippet
        serves_banner(nginx_factory, redis, tmp_path,
                      "include %s;\n" % ENABLED, "/usr/share/nginx/modules",
                      monkeypatch)

        run("dpkg", "-r", PKG)
        assert not installed()
        assert not os.path.exists("/" + SO)
        assert not os.path.lexists(ENABLED)
        assert os.path.islink(ENABLED + ".removed")   # Debian's way
        run(STOCK_NGINX, "-t")                  # nginx still works
    finally:
        run("dpkg", "--purge", PKG, check=False)
    assert not os.path.lexists(ENABLED + ".removed")
    assert not os.path.exists("/" + SNIPPET)

    monkeypatch.setattr(harness, "NGINX", STOCK_NGINX)
    monkeypatch.setattr(harness, "LOAD_MODULE", "")
    n = nginx_factory("""
    server {
        listen 127.0.0.1:{port};
        location / { return 200 "plain"; }
    }
""")
    assert n.get("/")[0] == 200
