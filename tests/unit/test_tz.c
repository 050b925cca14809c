
/*
 * Unit tests for ngx_http_outage_tz.c against glibc as the oracle: for
 * zones with every kind of rule (northern and southern daylight time,
 * negative daylight time, half-hour and 45-minute offsets, no daylight
 * time, a zone that changed rules often), the offset and abbreviation at
 * many times from 1901 to 2100 must equal what localtime_r() says with TZ
 * set to the same zone.  A "slim" file (no transitions, only the footer)
 * built here must give the same answers, so the POSIX rule is checked on
 * its own.  The visitor-facing form of a time (tz_format, and through it
 * the banner and the maintenance page) is checked against glibc's
 * strftime() in the same zone, across Berlin's daylight saving changes.
 * Runner output as in the other unit tests.
 */


#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_outage_tz.h"
#include "ngx_http_outage_banner.h"
#include "ngx_http_outage_pagebody.h"

/* a zone that disagrees with glibc would fail at thousands of times */
#define UNIT_MAX_REPORTS  20
#include "../support/unit_runner.h"
#include "../support/unit_helpers.h"


static const char  *zones[] = {
    "Europe/Berlin", "America/New_York", "Australia/Sydney",
    "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham",
    "Europe/Dublin", "Africa/Casablanca", "America/St_Johns", "UTC",
    "Asia/Kathmandu", "Pacific/Apia", "Etc/GMT+5", "America/Santiago",
    NULL
};


static unsigned char *
slurp(const char *path, size_t *len)
{
    FILE           *f;
    unsigned char  *buf;
    long            n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n);

    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        abort();
    }

    fclose(f);
    *len = n;

    return buf;
}


/* compares with glibc at t; TZ is already set */
static void
compare(const ngx_http_outage_tz_t *tz, time_t t, const char *zone)
{
    long         off;
    struct tm    tm;
    const char  *abbr;

    off = ngx_http_outage_tz_offset(tz, t, &abbr);

    if (localtime_r(&t, &tm) == NULL) {
        return;
    }

    if (off != tm.tm_gmtoff || strcmp(abbr, tm.tm_zone) != 0) {
        if (reported++ < UNIT_MAX_REPORTS) {
            printf("FAIL %s: %s at %lld: %ld %s, glibc %ld %s\n", current,
                   zone, (long long) t, off, abbr, (long) tm.tm_gmtoff,
                   tm.tm_zone);
        }

        current_failed = 1;
    }
}


static void
test_against_glibc(void)
{
    int                    i, k;
    char                   path[256];
    size_t                 len;
    time_t                 t, lo, hi;
    const char            *err;
    unsigned char         *data;
    ngx_http_outage_tz_t  *tz;

    tz = malloc(sizeof(ngx_http_outage_tz_t));

    /* 1901-12-14 .. 2100-01-01 */
    lo = -2147483647L;
    hi = 4102444800L;

    for (i = 0; zones[i]; i++) {
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zones[i]);
        data = slurp(path, &len);
        CHECK(data != NULL);
        if (data == NULL) {
            continue;
        }

        err = ngx_http_outage_tz_parse(tz, data, len);
        CHECK(err == NULL);
        if (err) {
            printf("  %s: %s\n", zones[i], err);
            free(data);
            continue;
        }

        setenv("TZ", zones[i], 1);
        tzset();

        for (k = 0; k < 20000; k++) {
            t = lo + (time_t) (((uint64_t) rng() << 16 ^ rng())
                               % (uint64_t) (hi - lo));
            compare(tz, t, zones[i]);
        }

        /* a second either side of every transition */
        for (k = 0; k < (int) tz->ntrans; k++) {
            if (tz->trans[k] > lo && tz->trans[k] < hi) {
                compare(tz, (time_t) tz->trans[k] - 1, zones[i]);
                compare(tz, (time_t) tz->trans[k], zones[i]);
            }
        }

        free(data);
    }

    free(tz);
}


/* a v2 file with one type, no transitions, and the given footer */
static size_t
slim(unsigned char *buf, const char *abbr, long off, const char *footer)
{
    size_t  n, alen;

    alen = strlen(abbr) + 1;
    n = 0;

    /* version 2 header and an empty-ish v1 block, twice */
    for (int pass = 0; pass < 2; pass++) {
        memset(buf + n, 0, 44);
        memcpy(buf + n, "TZif2", 5);
        buf[n + 39] = 1;                    /* typecnt */
        buf[n + 43] = (unsigned char) alen; /* charcnt */
        n += 44;
        buf[n++] = (unsigned char) (off >> 24);
        buf[n++] = (unsigned char) (off >> 16);
        buf[n++] = (unsigned char) (off >> 8);
        buf[n++] = (unsigned char) off;
        buf[n++] = 0;
        buf[n++] = 0;
        memcpy(buf + n, abbr, alen);
        n += alen;
    }

    buf[n++] = '\n';
    memcpy(buf + n, footer, strlen(footer));
    n += strlen(footer);
    buf[n++] = '\n';

    return n;
}


static void
test_footer_only(void)
{
    int                    i, k;
    size_t                 len;
    time_t                 t;
    unsigned char          buf[512];
    ngx_http_outage_tz_t  *tz;

    static const struct {
        const char  *zone, *abbr, *footer;
        long         off;
    } cases[] = {
        { "Europe/Berlin", "CET", "CET-1CEST,M3.5.0,M10.5.0/3", 3600 },
        { "America/New_York", "EST", "EST5EDT,M3.2.0,M11.1.0", -18000 },
        { "Australia/Sydney", "AEST", "AEST-10AEDT,M10.1.0,M4.1.0/3",
          36000 },
        { "Europe/Dublin", "IST", "IST-1GMT0,M10.5.0,M3.5.0/1", 3600 },
        { "Asia/Kolkata", "IST", "IST-5:30", 19800 },
        { "America/St_Johns", "NST", "NST3:30NDT,M3.2.0,M11.1.0", -12600 },
        { "Pacific/Chatham", "+1245",
          "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 45900 },
    };

    tz = malloc(sizeof(ngx_http_outage_tz_t));

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        len = slim(buf, cases[i].abbr, cases[i].off, cases[i].footer);
        CHECK(ngx_http_outage_tz_parse(tz, buf, len) == NULL);
        CHECK(tz->footer == 1);

        setenv("TZ", cases[i].zone, 1);
        tzset();

        /* 2012-2037: every one of these zones has had its current rule
         * since then, so glibc's table must agree with the rule alone */
        for (k = 0; k < 20000; k++) {
            t = 1325376000L + (time_t) (rng() % (2145916800UL
                                                 - 1325376000UL));
            compare(tz, t, cases[i].zone);
        }
    }

    free(tz);
}


static void
test_rejects(void)
{
    size_t                 len;
    unsigned char          buf[512];
    ngx_http_outage_tz_t  *tz;

    tz = malloc(sizeof(ngx_http_outage_tz_t));

    CHECK(ngx_http_outage_tz_parse(tz, (const unsigned char *) "TZif", 4)
          != NULL);
    CHECK(ngx_http_outage_tz_parse(tz, (const unsigned char *)
                                   "<html>not a zone file at all, really"
                                   "..........", 46) != NULL);

    len = slim(buf, "CET", 3600, "CET-1CEST,M3.5.0");
    CHECK(ngx_http_outage_tz_parse(tz, buf, len) != NULL);
    len = slim(buf, "CET", 3600, "CET-1CEST,M13.5.0,M10.5.0");
    CHECK(ngx_http_outage_tz_parse(tz, buf, len) != NULL);
    len = slim(buf, "C<T", 3600, "");
    CHECK(ngx_http_outage_tz_parse(tz, buf, len) != NULL);

    /* truncated anywhere: an error, never a read past the end (ASan) */
    len = slim(buf, "CET", 3600, "CET-1CEST,M3.5.0,M10.5.0/3");
    for (size_t cut = 0; cut < len - 1; cut++) {
        unsigned char *copy = malloc(cut + 1);
        memcpy(copy, buf, cut);
        CHECK(ngx_http_outage_tz_parse(tz, copy, cut) != NULL);
        free(copy);
    }

    CHECK(ngx_http_outage_tz_name_valid((const unsigned char *)
                                        "America/Argentina/Buenos_Aires", 30));
    CHECK(ngx_http_outage_tz_name_valid((const unsigned char *)
                                        "Etc/GMT+5", 9));
    CHECK(!ngx_http_outage_tz_name_valid((const unsigned char *)
                                         "../etc/passwd", 13));
    CHECK(!ngx_http_outage_tz_name_valid((const unsigned char *)
                                         "/etc/localtime", 14));
    CHECK(!ngx_http_outage_tz_name_valid((const unsigned char *)
                                         "Europe//Berlin", 14));
    CHECK(!ngx_http_outage_tz_name_valid((const unsigned char *)
                                         "Europe/", 7));
    CHECK(!ngx_http_outage_tz_name_valid((const unsigned char *) "", 0));

    /* NULL is UTC */
    {
        const char *abbr;
        CHECK(ngx_http_outage_tz_offset(NULL, 1795361400, &abbr) == 0);
        CHECK(strcmp(abbr, "UTC") == 0);
    }

    free(tz);
}


static ngx_http_outage_tz_t *
load_zone(const char *zone)
{
    char                   path[256];
    size_t                 len;
    unsigned char         *data;
    ngx_http_outage_tz_t  *tz;

    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
    data = slurp(path, &len);
    if (data == NULL) {
        return NULL;
    }

    tz = malloc(sizeof(ngx_http_outage_tz_t));
    if (ngx_http_outage_tz_parse(tz, data, len) != NULL) {
        free(tz);
        tz = NULL;
    }

    free(data);
    return tz;
}


/* what glibc says, in the module's format; TZ is already set */
static void
glibc_when(char *out, size_t size, time_t t, time_t now, int flags)
{
    char       day[32], hm[64];
    struct tm  tm, tn;

    localtime_r(&t, &tm);
    localtime_r(&now, &tn);

    strftime(hm, sizeof(hm), "%H:%M %Z", &tm);

    if ((flags & NGX_HTTP_OUTAGE_TZ_TODAY) && tm.tm_year == tn.tm_year
        && tm.tm_yday == tn.tm_yday)
    {
        snprintf(out, size, "%s", hm);
        return;
    }

    if (tm.tm_year == tn.tm_year) {
        strftime(day, sizeof(day), "%b %-d", &tm);

    } else {
        strftime(day, sizeof(day), "%b %-d %Y", &tm);
    }

    snprintf(out, size, "%s, %s", day, hm);
}


static void
test_format(void)
{
    int                    k, flags;
    char                   want[128];
    size_t                 n;
    time_t                 t, now;
    unsigned char          got[NGX_HTTP_OUTAGE_TZ_WHEN_LEN];
    ngx_http_outage_tz_t  *tz;

    static const char  *fmt_zones[] = {
        "Europe/Berlin", "America/New_York", "Australia/Sydney",
        "Asia/Kolkata", "Pacific/Chatham", NULL
    };

    /* 2026-03-29 01:00 UTC: Berlin goes from 01:59:59 CET to 03:00 CEST */
    tz = load_zone("Europe/Berlin");
    CHECK(tz != NULL);

    if (tz) {
        n = ngx_http_outage_tz_format(got, 1774745999, 1774745999, tz,
                                      NGX_HTTP_OUTAGE_TZ_TODAY);
        CHECK(n == 9 && strcmp((char *) got, "01:59 CET") == 0);
        n = ngx_http_outage_tz_format(got, 1774746000, 1774745999, tz,
                                      NGX_HTTP_OUTAGE_TZ_TODAY);
        CHECK(n == 10 && strcmp((char *) got, "03:00 CEST") == 0);
        n = ngx_http_outage_tz_format(got, 1774746000, 1774745999, tz, 0);
        CHECK(strcmp((char *) got, "Mar 29, 03:00 CEST") == 0);

        /* 23:30 UTC is already tomorrow in Berlin: the date is shown */
        n = ngx_http_outage_tz_format(got, 1774740600,
                                      1774699200, tz,
                                      NGX_HTTP_OUTAGE_TZ_TODAY);
        CHECK(strcmp((char *) got, "Mar 29, 00:30 CET") == 0);

        /* 2026-10-25 01:00 UTC: back from 02:59 CEST to 02:00 CET */
        ngx_http_outage_tz_format(got, 1792889999, 1792889999, tz, 0);
        CHECK(strcmp((char *) got, "Oct 25, 02:59 CEST") == 0);
        ngx_http_outage_tz_format(got, 1792890000, 1792889999, tz, 0);
        CHECK(strcmp((char *) got, "Oct 25, 02:00 CET") == 0);

        /* another local year than now's */
        ngx_http_outage_tz_format(got, 1798757999, 1792890000, tz, 0);
        CHECK(strcmp((char *) got, "Dec 31, 23:59 CET") == 0);
        ngx_http_outage_tz_format(got, 1798758000, 1792890000, tz, 0);
        CHECK(strcmp((char *) got, "Jan 1 2027, 00:00 CET") == 0);

        free(tz);
    }

    /* no zone is UTC; nothing for unknown times */
    ngx_http_outage_tz_format(got, 1795361400, 1795361400, NULL, 0);
    CHECK(strcmp((char *) got, "Nov 22, 15:30 UTC") == 0);
    CHECK(ngx_http_outage_tz_format(got, 0, 1795361400, NULL, 0) == 0
          && got[0] == '\0');
    CHECK(ngx_http_outage_tz_format(got, -5, 1795361400, NULL, 0) == 0);
    CHECK(ngx_http_outage_tz_format(got, (time_t) 400000000000LL,
                                    1795361400, NULL, 0) == 0);

    /* random times and "nows" within two days of each other, every zone */
    for (int z = 0; fmt_zones[z]; z++) {
        tz = load_zone(fmt_zones[z]);
        CHECK(tz != NULL);
        if (tz == NULL) {
            continue;
        }

        setenv("TZ", fmt_zones[z], 1);
        tzset();

        for (k = 0; k < 20000; k++) {
            t = 946684800L + (time_t) (rng() % 2000000000UL);
            now = t + (time_t) (rng() % 345600) - 172800;
            flags = (k & 1) ? NGX_HTTP_OUTAGE_TZ_TODAY : 0;

            ngx_http_outage_tz_format(got, t, now, tz, flags);
            glibc_when(want, sizeof(want), t, now, flags);

            if (strcmp((char *) got, want) != 0) {
                if (reported++ < UNIT_MAX_REPORTS) {
                    printf("FAIL format: %s at %lld (now %lld): \"%s\", "
                           "glibc \"%s\"\n", fmt_zones[z], (long long) t,
                           (long long) now, got, want);
                }

                current_failed = 1;
            }
        }

        free(tz);
    }
}


/* the banner and the maintenance page say the same times, in the zone */
static void
test_banner_and_page(void)
{
    size_t                          n;
    unsigned char                  *html;
    ngx_http_outage_tz_t           *tz;
    ngx_http_outage_banner_t        b;
    ngx_http_outage_page_t          page;
    ngx_http_outage_page_scope_t    s;
    ngx_http_outage_banner_input_t  in;

    static const unsigned char  tpl[] =
        "{{since}}|{{eta}}|{{checked}}|{{time_zone}}";

    tz = load_zone("Europe/Berlin");
    CHECK(tz != NULL);
    if (tz == NULL) {
        return;
    }

    /* since 00:30 UTC, ETA 01:30 UTC: the clocks jump at 01:00 UTC */
    memset(&in, 0, sizeof(in));
    in.state = NGX_HTTP_OUTAGE_STATE_DOWN;
    in.since = 1774744200;
    in.eta = 1774747800;
    in.tz = tz;
    ngx_http_outage_banner_init(&b, &in, 1774745400);

    CHECK(b.since.len == 17
          && memcmp(b.since.data, "Mar 29, 01:30 CET", 17) == 0);
    CHECK(b.eta.len == 30
          && memcmp(b.eta.data, "Mar 29, 03:30 CEST (in 40 min)", 30) == 0);
    CHECK(b.eta_iso.len == 17
          && memcmp(b.eta_iso.data, "2026-03-29T01:30Z", 17) == 0);

    /* the banner template sees the same names as the page's */
    {
        static const unsigned char  btpl[] =
            "{{since}}|{{eta}}|{{time_zone}}";
        unsigned char               out[128];

        in.tz_name.data = (const unsigned char *) "Europe/Berlin";
        in.tz_name.len = 13;
        ngx_http_outage_banner_init(&b, &in, 1774745400);
        n = ngx_http_outage_banner_render(out, sizeof(out), btpl,
                                          sizeof(btpl) - 1, &b);
        CHECK(n < sizeof(out));
        out[n < sizeof(out) ? n : 0] = '\0';
        CHECK(strcmp((char *) out, "Mar 29, 01:30 CET|Mar 29, 03:30 CEST "
                                   "(in 40 min)|Europe/Berlin") == 0);
        in.tz_name.len = 0;
    }

    /* without a zone: UTC as before */
    in.tz = NULL;
    ngx_http_outage_banner_init(&b, &in, 1774745400);
    CHECK(b.eta.len == 29
          && memcmp(b.eta.data, "Mar 29, 01:30 UTC (in 40 min)", 29) == 0);

    memset(&s, 0, sizeof(s));
    s.name = (const unsigned char *) "checkout";
    s.name_len = 8;
    s.state = NGX_HTTP_OUTAGE_STATE_DOWN;
    s.since = in.since;
    s.eta = in.eta;
    s.checked = 1774745400;

    memset(&page, 0, sizeof(page));
    page.status = 503;
    page.now = 1774745400;
    page.main = &s;
    page.scopes = &s;
    page.nscopes = 1;
    page.tz = tz;
    page.tz_name = (const unsigned char *) "Europe/Berlin";
    page.tz_name_len = 13;

    n = ngx_http_outage_page_html(NULL, 0, &page);
    html = malloc(n + 1);
    CHECK(ngx_http_outage_page_html(html, n, &page) == n);
    html[n] = '\0';
    CHECK(strstr((char *) html, "<time datetime=\"2026-03-29T01:30Z\">"
                                "03:30 CEST</time> (in 40 min)") != NULL);
    CHECK(strstr((char *) html, "<time datetime=\"2026-03-29T00:30Z\">"
                                "01:30 CET</time>") != NULL);
    CHECK(strstr((char *) html, "UTC") == NULL);
    free(html);

    n = ngx_http_outage_page_template(NULL, 0, tpl, sizeof(tpl) - 1, &page,
                                      NULL, 0);
    html = malloc(n + 1);
    CHECK(ngx_http_outage_page_template(html, n, tpl, sizeof(tpl) - 1,
                                        &page, NULL, 0) == n);
    html[n] = '\0';
    CHECK(strcmp((char *) html,
                 "01:30 CET|03:30 CEST|01:50 CET|Europe/Berlin") == 0);
    free(html);

    free(tz);
}


int
main(void)
{
    static const unit_test_t  tests[] = {
        { "against_glibc", test_against_glibc },
        { "footer_only", test_footer_only },
        { "rejects", test_rejects },
        { "format", test_format },
        { "banner_and_page", test_banner_and_page },
    };

    rng_state = 2463534242u;

    return unit_run("tz", tests, sizeof(tests) / sizeof(tests[0]));
}
