
/*
 * Unit tests for ngx_http_outage_tz.c against glibc as the oracle: for
 * zones with every kind of rule (northern and southern daylight time,
 * negative daylight time, half-hour and 45-minute offsets, no daylight
 * time, a zone that changed rules often), the offset and abbreviation at
 * many times from 1901 to 2100 must equal what localtime_r() says with TZ
 * set to the same zone.  A "slim" file (no transitions, only the footer)
 * built here must give the same answers, so the POSIX rule is checked on
 * its own.  Runner output as in the other unit tests.
 */


#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_outage_tz.h"


static const char  *current;
static int          current_failed;
static int          reported;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            if (reported++ < 20) {                                           \
                printf("FAIL %s (line %d): %s\n", current, __LINE__, #cond); \
            }                                                                \
            current_failed = 1;                                              \
        }                                                                    \
    } while (0)


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


static uint32_t  rng_state = 2463534242u;

static uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
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
        if (reported++ < 20) {
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


int
main(void)
{
    size_t  i;
    int     passed, failed;

    static const struct {
        const char  *name;
        void       (*fn)(void);
    } tests[] = {
        { "against_glibc", test_against_glibc },
        { "footer_only", test_footer_only },
        { "rejects", test_rejects },
    };

    passed = 0;
    failed = 0;

    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        current = tests[i].name;
        current_failed = 0;
        tests[i].fn();

        if (current_failed) {
            failed++;

        } else {
            passed++;
        }
    }

    printf("tz: %d passed, %d failed\n", passed, failed);

    return failed ? 1 : 0;
}
