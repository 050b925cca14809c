"""Times in Redis fields against Python's own readers (docs/redis.md#times).

ngx_http_outage_payload_time_at() (pure C, built here with a small driver)
is compared with Python: HTTP dates with email.utils.parsedate_tz() (its
calendar, zones and fields), unix times with datetime.fromtimestamp().
Where the module follows a rule Python does not, the rule is applied to
Python's answer, from its text:

- RFC 9110 5.6.7: an RFC 850 two-digit year that appears to be more than
  50 years in the future is the most recent past year with those digits
  (email.utils uses a fixed pivot instead: 69-99 are 19xx);
- digits alone are seconds up to 12 digits, exactly 13 are milliseconds,
  more are refused; anything before 2000 or after 9999 is refused.
"""

import calendar
import datetime
import email.utils
import os
import random
import subprocess

import pytest

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MOD = os.path.join(REPO, "ngx_outage_module")
PURE = ["scan", "text", "payload", "sniff", "pagebody", "banner",
        "statusbody", "tz", "resp"]

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_http_outage_payload.h"
/* stdin: "now<TAB>value" lines; stdout: the time read, or -1 */
int main(void) {
    char line[512], *tab;
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        tab = strchr(line, '\t');
        if (tab == NULL) return 2;
        *tab++ = '\0';
        printf("%lld\n", (long long) ngx_http_outage_payload_time_at(
                   (const unsigned char *) tab, strlen(tab),
                   (time_t) atoll(line)));
    }
    return 0;
}
"""

T2000 = calendar.timegm((2000, 1, 1, 0, 0, 0))
T9999 = calendar.timegm((9999, 12, 31, 23, 59, 59))
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
        "Sunday"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = tmp_path_factory.mktemp("times")
    src = d / "times.c"
    src.write_text(DRIVER)
    exe = d / "times"
    subprocess.run(["cc", "-std=gnu99", "-O1", "-Wall", "-Werror", "-I", MOD,
                    str(src)]
                   + [os.path.join(MOD, "ngx_http_outage_%s.c" % f)
                      for f in PURE]
                   + ["-lhiredis", "-o", str(exe)], check=True, timeout=300)

    def run(cases):
        text = "".join("%d\t%s\n" % (now, v) for now, v in cases)
        out = subprocess.run([str(exe)], input=text, capture_output=True,
                             text=True, check=True, timeout=60)
        return [int(x) for x in out.stdout.split()]

    return run


def in_range(t):
    return t if T2000 <= t <= T9999 else -1


def rfc850_year(yy, now):
    """RFC 9110 5.6.7, read by year number: the year with these two last
    digits that is not more than 50 years after now's year, the latest."""
    cur = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).year
    for y in range(cur + 50, cur - 50, -1):
        if y % 100 == yy:
            return y
    raise AssertionError("no year")   # pragma: no cover


def python_http(value, now):
    """email.utils' reading, its two-digit year replaced by RFC 9110's."""
    tt = email.utils.parsedate_tz(value)
    assert tt is not None, value
    tt = list(tt)
    if "-" in value.split()[1]:                 # RFC 850: "06-Nov-94"
        tt[0] = rfc850_year(tt[0] % 100, now)
    return in_range(email.utils.mktime_tz(tuple(tt)))


def python_digits(value):
    if len(value) > 13:
        return -1
    n = int(value)
    secs = n // 1000 if len(value) == 13 else n
    try:
        dt = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
    except (OverflowError, ValueError, OSError):
        return -1
    return in_range(int(dt.timestamp()))


def http_forms(t, rng):
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    day, mon = DAYS[dt.weekday()], MONTHS[dt.month - 1]
    off = rng.choice([0, 0, 60, -330, 1439, -1439])
    local = dt + datetime.timedelta(minutes=off)
    zone = "GMT" if off == 0 else "%s%02d%02d" % (
        "+" if off > 0 else "-", abs(off) // 60, abs(off) % 60)
    return [
        "%s, %02d %s %04d %02d:%02d:%02d %s" % (
            day[:3], local.day, MONTHS[local.month - 1], local.year,
            local.hour, local.minute, local.second, zone),
        "%s, %02d-%s-%02d %02d:%02d:%02d GMT" % (
            day, dt.day, mon, dt.year % 100, dt.hour, dt.minute, dt.second),
        "%s %s %2d %02d:%02d:%02d %04d" % (
            day[:3], mon, dt.day, dt.hour, dt.minute, dt.second, dt.year),
    ]


def test_http_dates_read_as_python_reads_them(driver):
    rng = random.Random(9110)
    cases = []
    # instants from 1950 to 2200, clocks from 2000 to 2120, and the edges
    # of the two-digit window (exactly 50 years ahead, 49 behind)
    for _ in range(3000):
        now = rng.randrange(T2000, calendar.timegm((2120, 1, 1, 0, 0, 0)))
        year = datetime.datetime.fromtimestamp(
            now, datetime.timezone.utc).year
        t = rng.choice([
            rng.randrange(calendar.timegm((1950, 1, 1, 0, 0, 0)),
                          calendar.timegm((2200, 1, 1, 0, 0, 0))),
            calendar.timegm((year + 50, rng.randrange(1, 13), 1, 0, 0, 0)),
            calendar.timegm((year + 51, rng.randrange(1, 13), 1, 0, 0, 0)),
            calendar.timegm((year - 49, rng.randrange(1, 13), 1, 0, 0, 0)),
        ])
        for v in http_forms(t, rng):
            cases.append((now, v))
    got = driver(cases)
    bad = [(now, v, g, python_http(v, now))
           for (now, v), g in zip(cases, got) if g != python_http(v, now)]
    assert bad == [], bad[:10]
    # the RFC 850 rule is not a no-op: some years came out as 19xx/21xx
    assert any(g != -1 and "-" in v.split()[1]
               and datetime.datetime.fromtimestamp(
                   g, datetime.timezone.utc).year >= 2100
               for (_, v), g in zip(cases, got))


def test_rfc850_two_digit_year_window():
    """Spot values of the rule the oracle applies (RFC 9110 5.6.7)."""
    now = calendar.timegm((2026, 12, 6, 0, 0, 0))
    assert rfc850_year(76, now) == 2076      # 50 years ahead: not more
    assert rfc850_year(77, now) == 1977      # 51: the past century
    assert rfc850_year(26, now) == 2026
    assert rfc850_year(69, now) == 2069      # email.utils: 1969


def test_unix_times_read_as_datetime_reads_them(driver):
    rng = random.Random(1970)
    now = calendar.timegm((2026, 12, 6, 0, 0, 0))
    values = ["946684799", "946684800", "1796609880", "1796609880000",
              "0001796609880", "01796609880", "17966098800", "179660988000",
              "253402300799", "253402300800", "999999999999",
              "9999999999999", "0000000000001", "17966098800000", "30", "0"]
    for digits in range(1, 15):
        for _ in range(40):
            values.append("".join(rng.choice("0123456789")
                                  for _ in range(digits)))
    got = driver([(now, v) for v in values])
    bad = [(v, g, python_digits(v)) for v, g in zip(values, got)
           if g != python_digits(v)]
    assert bad == [], bad[:10]
