"""Shared pytest fixtures (imported by the conftest of tests/integration and
tests/deep): real redis-server, backends and nginx per test, stopped by PID.

A test fails if its nginx error log has [alert], [crit] or [emerg] lines
(unless it marks itself with @pytest.mark.allow_log_errors), and the error
log is printed when a test fails.
"""

import os
import sys

import pytest

from harness import Backend, Nginx, Redis

__all__ = ["pytest_configure", "pytest_runtest_makereport", "redis",
           "backend", "nginx_factory"]


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "allow_log_errors: emerg/alert lines are expected")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def redis(tmp_path):
    r = Redis(str(tmp_path))
    yield r
    r.stop()


@pytest.fixture
def backend(tmp_path):
    b = Backend(str(tmp_path), health_port=True)
    yield b
    b.stop()


@pytest.fixture
def nginx_factory(tmp_path, request):
    """nginx_factory(http_conf, workers=2, ...) -> started Nginx."""
    started = []

    def make(http_conf, **kw):
        n = Nginx(str(tmp_path / ("n%d" % len(started))), http_conf, **kw)
        started.append(n)
        return n

    yield make

    failed = getattr(request.node, "rep_call", None)
    failed = failed is not None and failed.failed
    for n in started:
        n.stop()
        bad = n.bad_log_lines()
        if failed:
            sys.stderr.write("\n--- nginx error log (%s) ---\n%s\n"
                             % (n.dir, n.log_text()[-20000:]))
        reports = n.sanitizer_reports()
        if reports:
            pytest.fail("sanitizer/valgrind reports involving the module:\n"
                        + "\n".join(reports[:5]))
        if bad and not request.node.get_closest_marker("allow_log_errors"):
            pytest.fail("nginx error log has alert/crit/emerg lines:\n"
                        + "\n".join(bad[:20]))
