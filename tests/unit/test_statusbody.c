
/*
 * Unit tests for ngx_http_outage_statusbody.c: the status page's overall
 * line, HTML rows, the stale notice, the summary.json body, escaping, and
 * the output contract (measure == write, clean prefixes in short buffers).
 * Self-contained runner: one line per failed check, then
 * "statusbody: N passed, M failed"; exit status 1 if anything failed.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_statusbody.h"
#include "../support/unit_runner.h"


/* 2026-11-22T15:30:00Z */
#define NOW  1795361400

#define U(s)  ((const unsigned char *) (s))


static ngx_http_outage_sp_row_t  rows[3];
static ngx_http_outage_sp_t      sp;


static void
setup(void)
{
    memset(rows, 0, sizeof(rows));
    memset(&sp, 0, sizeof(sp));

    rows[0].id = U("checkout");
    rows[0].id_len = 8;
    rows[0].label = U("Checkout & payments");
    rows[0].label_len = strlen("Checkout & payments");
    rows[0].state = NGX_HTTP_OUTAGE_STATE_OK;
    rows[0].confirmed = NOW - 1;

    rows[1].id = U("search");
    rows[1].id_len = 6;
    rows[1].label = U("Search");
    rows[1].label_len = 6;
    rows[1].confirmed = NOW - 1;

    sp.now = NOW;
    sp.id = U("nginx-1");
    sp.id_len = 7;
    sp.name = U("Shop");
    sp.name_len = 4;
    sp.rows = rows;
    sp.nrows = 2;
    sp.confirmed = NOW - 1;
}


/* renders into an exact buffer after measuring; NUL-terminated copy */
static char *
render(int json)
{
    size_t   n, m, at;
    char    *buf;

    n = json ? ngx_http_outage_sp_json(NULL, 0, &sp)
             : ngx_http_outage_sp_html(NULL, 0, &sp, NULL);

    buf = malloc(n + 1);
    if (buf == NULL) {
        abort();
    }

    at = 0;
    m = json ? ngx_http_outage_sp_json((unsigned char *) buf, n, &sp)
             : ngx_http_outage_sp_html((unsigned char *) buf, n, &sp, &at);

    CHECK(m == n);
    buf[n] = '\0';

    if (!json) {
        CHECK(at > 6 && memcmp(buf + at - 6, "<style", 6) == 0);
        CHECK(buf[at] == '>');
    }

    return buf;
}


static void
test_overall(void)
{
    setup();
    CHECK(ngx_http_outage_sp_overall(&sp) == NGX_HTTP_OUTAGE_SP_OK);

    rows[1].state = NGX_HTTP_OUTAGE_STATE_DEGRADED;
    CHECK(ngx_http_outage_sp_overall(&sp) == NGX_HTTP_OUTAGE_SP_DEGRADED);

    rows[0].state = NGX_HTTP_OUTAGE_STATE_MAINTENANCE;
    CHECK(ngx_http_outage_sp_overall(&sp) == NGX_HTTP_OUTAGE_SP_MAINTENANCE);

    /* a window still ahead is news, not an outage */
    rows[0].announced = 1;
    CHECK(ngx_http_outage_sp_overall(&sp) == NGX_HTTP_OUTAGE_SP_DEGRADED);

    rows[1].state = NGX_HTTP_OUTAGE_STATE_DOWN;
    CHECK(ngx_http_outage_sp_overall(&sp) == NGX_HTTP_OUTAGE_SP_DOWN);
    CHECK(strcmp(ngx_http_outage_sp_overall_text(NGX_HTTP_OUTAGE_SP_DOWN),
                 "Major outage") == 0);
    CHECK(strcmp(ngx_http_outage_sp_overall_text(NGX_HTTP_OUTAGE_SP_OK),
                 "All systems operational") == 0);
}


static void
test_html_rows(void)
{
    char  *h;

    setup();
    rows[0].state = NGX_HTTP_OUTAGE_STATE_DOWN;
    rows[0].since = NOW - 600;
    rows[0].eta = NOW + 1800;
    rows[0].message = U("Payments <b>fail</b>");
    rows[0].message_len = strlen("Payments <b>fail</b>");
    rows[0].link = U("https://example.com/a?b=1&c=2");
    rows[0].link_len = strlen("https://example.com/a?b=1&c=2");

    h = render(0);
    CHECK(strstr(h, "<p class=\"overall down\" id=\"overall\">Major outage"
                    "</p>") != NULL);
    CHECK(strstr(h, "<h3>Checkout &amp; payments</h3><span class=\"badge\">"
                    "Down</span>") != NULL);
    CHECK(strstr(h, "Payments &lt;b&gt;fail&lt;/b&gt;") != NULL);
    CHECK(strstr(h, "<b>") == NULL);
    CHECK(strstr(h, "<time datetime=\"2026-11-22T15:20:00Z\">15:20 UTC"
                    "</time> (10 min ago)") != NULL);
    CHECK(strstr(h, "<dt>Expected back</dt><dd><time datetime=\""
                    "2026-11-22T16:00:00Z\">16:00 UTC</time> (in 30 min)")
          != NULL);
    CHECK(strstr(h, "href=\"https://example.com/a?b=1&amp;c=2\"") != NULL);
    CHECK(strstr(h, "Operational</span>") != NULL);
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, "id=\"stale\"") == NULL);
    CHECK(strstr(h, "http-equiv") == NULL);
    free(h);

    sp.refresh = 30;
    h = render(0);
    CHECK(strstr(h, "<meta http-equiv=\"refresh\" content=\"30\">") != NULL);
    free(h);
}


static void
test_html_stale(void)
{
    char  *h;

    setup();
    sp.stale = 1;
    sp.confirmed = NOW - 3 * 3600;
    rows[0].stale = 1;

    h = render(0);
    CHECK(strstr(h, "role=\"alert\"><strong>Status may be out of date."
                    "</strong>") != NULL);
    CHECK(strstr(h, "was last confirmed <time datetime=\""
                    "2026-11-22T12:30:00Z\">12:30 UTC</time> (3 h ago)")
          != NULL);
    CHECK(strstr(h, "<title>Shop: status may be out of date</title>")
          != NULL);
    CHECK(strstr(h, "<p class=\"overall degraded\" id=\"overall\">Last "
                    "known: All systems operational</p>") != NULL);
    CHECK(strstr(h, "(may be out of date)") != NULL);
    free(h);

    sp.confirmed = 0;
    rows[1].confirmed = 0;
    h = render(0);
    CHECK(strstr(h, "has not been confirmed yet.") != NULL);
    /* nothing known is not "all systems operational" */
    CHECK(strstr(h, "id=\"overall\">Status not confirmed yet</p>") != NULL);
    CHECK(strstr(h, "<h3>Search</h3><span class=\"badge\">Unknown</span>")
          != NULL);
    CHECK(strstr(h, "operational") == NULL);
    free(h);
}


static void
test_html_window(void)
{
    char  *h;

    setup();
    rows[0].state = NGX_HTTP_OUTAGE_STATE_MAINTENANCE;
    rows[0].announced = 1;
    rows[0].starts = NOW + 86400;
    rows[0].ends = NOW + 86400 + 7200;

    h = render(0);
    CHECK(strstr(h, "All systems operational") != NULL);
    CHECK(strstr(h, "Scheduled maintenance</span>") != NULL);
    CHECK(strstr(h, "<dt>Window</dt><dd>from <time datetime=\""
                    "2026-11-23T15:30:00Z\">Nov 23, 15:30 UTC</time> "
                    "(in 24 h) to <time datetime=\"2026-11-23T17:30:00Z\">"
                    "Nov 23, 17:30 UTC</time></dd>") != NULL);
    free(h);

    /* a planned outage is announced as one, not as maintenance */
    rows[0].announced = NGX_HTTP_OUTAGE_STATE_DOWN;
    h = render(0);
    CHECK(strstr(h, "All systems operational") != NULL);
    CHECK(strstr(h, "Planned service disruption</span>") != NULL);
    CHECK(strstr(h, "maintenance") == NULL);
    free(h);

    rows[0].announced = NGX_HTTP_OUTAGE_STATE_DEGRADED;
    h = render(1);
    CHECK(strstr(h, "\"name\":\"Checkout \\u0026 payments: planned "
                    "degraded performance\",\"status\":\"scheduled\"")
          != NULL);
    CHECK(strstr(h, "\"impact\":\"minor\"") != NULL);
    free(h);
}


static void
test_json(void)
{
    char  *j;

    setup();
    rows[0].state = NGX_HTTP_OUTAGE_STATE_DOWN;
    rows[0].since = NOW - 60;
    rows[0].message = U("a \"quoted\" </script> \n line");
    rows[0].message_len = strlen("a \"quoted\" </script> \n line");
    rows[1].state = NGX_HTTP_OUTAGE_STATE_MAINTENANCE;
    rows[1].announced = 1;
    rows[1].starts = NOW + 3600;

    j = render(1);
    CHECK(strstr(j, "\"status\":{\"indicator\":\"major\",\"description\":"
                    "\"Major outage\",\"stale\":false") != NULL);
    CHECK(strstr(j, "{\"id\":\"checkout\",\"name\":\"Checkout \\u0026 "
                    "payments\",\"status\":\"major_outage\"") != NULL);
    CHECK(strstr(j, "\"description\":\"a \\\"quoted\\\" \\u003c/script"
                    "\\u003e \\n line\"") != NULL);
    CHECK(strstr(j, "</script>") == NULL);
    CHECK(strstr(j, "\"id\":\"search\",\"name\":\"Search\",\"status\":"
                    "\"operational\"") != NULL);
    CHECK(strstr(j, "\"status\":\"scheduled\"") != NULL);
    CHECK(strstr(j, "\"scheduled_for\":\"2026-11-22T16:30:00Z\","
                    "\"scheduled_until\":null") != NULL);
    CHECK(strstr(j, "\"impact\":\"major\"") != NULL);
    CHECK(strstr(j, "\"created_at\":\"2026-11-22T15:29:00Z\"") != NULL);
    free(j);

    rows[1].state = NGX_HTTP_OUTAGE_STATE_DOWN;
    rows[1].announced = 0;
    sp.stale = 1;
    j = render(1);
    CHECK(strstr(j, "\"indicator\":\"critical\",\"description\":\"Major "
                    "outage (status may be out of date)\",\"stale\":true")
          != NULL);
    free(j);
}


static void
test_template(void)
{
    char            *out;
    size_t           n, m, clen;
    unsigned char   *comp;

    static const char  tpl[] =
        "<title>{{name}}</title><h1 class=\"{{overall_class}}\">"
        "{{overall}}</h1>{{#stale}}<p>stale since {{confirmed}}</p>"
        "{{/stale}}{{components|raw}}{{components}}<i>{{time_zone}}"
        "{{refresh}}{{nope}}</i>";

    setup();
    sp.name = U("A&B");
    sp.name_len = 3;
    sp.refresh = 30;
    rows[0].state = NGX_HTTP_OUTAGE_STATE_DOWN;
    rows[0].message = U("<script>x</script>");
    rows[0].message_len = strlen("<script>x</script>");

    clen = ngx_http_outage_sp_components(NULL, 0, &sp);
    comp = malloc(clen);
    CHECK(ngx_http_outage_sp_components(comp, clen, &sp) == clen);

    n = ngx_http_outage_sp_template(NULL, 0, U(tpl), strlen(tpl), &sp, comp,
                                    clen);
    out = malloc(n + 1);
    m = ngx_http_outage_sp_template((unsigned char *) out, n, U(tpl),
                                    strlen(tpl), &sp, comp, clen);
    CHECK(m == n);
    out[n] = '\0';

    CHECK(strstr(out, "<title>A&amp;B</title><h1 class=\"down\">Major "
                      "outage</h1><ul id=\"components\"") != NULL);
    CHECK(strstr(out, "&lt;script&gt;x&lt;/script&gt;") != NULL);
    CHECK(strstr(out, "<script>") == NULL);
    /* without |raw the list is text */
    CHECK(strstr(out, "&lt;ul id=") != NULL);
    CHECK(strstr(out, "<i>UTC30</i>") != NULL);
    CHECK(strstr(out, "stale since") == NULL);
    free(out);

    sp.stale = 1;
    n = ngx_http_outage_sp_template(NULL, 0, U(tpl), strlen(tpl), &sp, comp,
                                    clen);
    out = malloc(n + 1);
    CHECK(ngx_http_outage_sp_template((unsigned char *) out, n, U(tpl),
                                      strlen(tpl), &sp, comp, clen) == n);
    out[n] = '\0';
    CHECK(strstr(out, "<h1 class=\"degraded\">Last known: Major outage"
                      "</h1><p>stale since 15:29 UTC (just now)</p>")
          != NULL);
    free(out);
    free(comp);
}


/* every prefix length: never past the buffer, never a partial unit */
static void
test_short_buffers(void)
{
    int             json;
    size_t          n, i, m, w, k;
    unsigned char  *full, *buf;

    setup();
    rows[0].state = NGX_HTTP_OUTAGE_STATE_DEGRADED;
    rows[0].message = U("<&>\"' \xe2\x82\xac \xff");
    rows[0].message_len = strlen("<&>\"' \xe2\x82\xac \xff");

    for (json = 0; json < 2; json++) {
        n = json ? ngx_http_outage_sp_json(NULL, 0, &sp)
                 : ngx_http_outage_sp_html(NULL, 0, &sp, NULL);
        full = malloc(n);
        buf = malloc(n + 16);
        if (full == NULL || buf == NULL) {
            abort();
        }

        CHECK((json ? ngx_http_outage_sp_json(full, n, &sp)
                    : ngx_http_outage_sp_html(full, n, &sp, NULL)) == n);

        for (i = 0; i < n; i += 7) {
            memset(buf, 0xA5, n + 16);
            m = json ? ngx_http_outage_sp_json(buf, i, &sp)
                     : ngx_http_outage_sp_html(buf, i, &sp, NULL);
            CHECK(m == n);

            /* what was written is a prefix of the full output, and
             * nothing after it was touched (the output has no 0xA5) */
            for (w = 0; w < i && buf[w] != 0xA5; w++) { /* void */ }

            CHECK(memcmp(buf, full, w) == 0);

            for (k = w; k < n + 16; k++) {
                if (buf[k] != 0xA5) {
                    CHECK(buf[k] == 0xA5);
                    break;
                }
            }
        }

        free(full);
        free(buf);
    }
}


int
main(void)
{
    static const unit_test_t  tests[] = {
        { "overall", test_overall },
        { "html_rows", test_html_rows },
        { "html_stale", test_html_stale },
        { "html_window", test_html_window },
        { "json", test_json },
        { "template", test_template },
        { "short_buffers", test_short_buffers },
    };

    return unit_run("statusbody", tests, sizeof(tests) / sizeof(tests[0]));
}
