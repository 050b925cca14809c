
/*
 * Unit tests for ngx_http_outage_banner.c: wording per state, times,
 * placeholders, escaping of everything taken from Redis, and the default
 * markup's structure.  Runner: tests/support/unit_runner.h.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_banner.h"
#include "../support/unit_runner.h"


#define U(s)  ((const unsigned char *) (s))

/* 2026-11-22T15:30:00Z */
#define T0    ((time_t) 1795361400)


static void
set(ngx_http_outage_banner_str_t *s, const char *v)
{
    s->data = U(v);
    s->len = strlen(v);
}


static void
input(ngx_http_outage_banner_input_t *in, int state)
{
    memset(in, 0, sizeof(*in));
    in->state = state;
    set(&in->scope, "site");
}


/* renders into a fresh heap buffer (ASan sees overflows); caller frees */
static char *
render(const char *tpl, ngx_http_outage_banner_t *b)
{
    size_t   n, m;
    char    *out;

    n = ngx_http_outage_banner_render(NULL, 0, tpl ? U(tpl) : NULL,
                                      tpl ? strlen(tpl) : 0, b);
    out = malloc(n + 1);
    if (out == NULL) {
        abort();
    }

    m = ngx_http_outage_banner_render((unsigned char *) out, n,
                                      tpl ? U(tpl) : NULL,
                                      tpl ? strlen(tpl) : 0, b);
    CHECK(m == n);
    out[m] = '\0';

    return out;
}


static int
count(const char *hay, const char *needle)
{
    int          n;
    const char  *p;

    n = 0;

    for (p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }

    return n;
}


static void
t_when(void)
{
    unsigned char  buf[NGX_HTTP_OUTAGE_WHEN_LEN];

    CHECK(ngx_http_outage_banner_when(buf, T0, T0) == 17);
    CHECK(strcmp((char *) buf, "Nov 22, 15:30 UTC") == 0);

    /* another year than now: the year is shown */
    CHECK(ngx_http_outage_banner_when(buf, T0 + 45 * 86400, T0) > 17);
    CHECK(strcmp((char *) buf, "Jan 6 2027, 15:30 UTC") == 0);

    CHECK(ngx_http_outage_banner_when(buf, 60, T0) > 0);
    CHECK(strcmp((char *) buf, "Jan 1 1970, 00:01 UTC") == 0);

    CHECK(ngx_http_outage_banner_when(buf, 0, T0) == 0 && buf[0] == '\0');
    CHECK(ngx_http_outage_banner_when(buf, -5, T0) == 0);
}


static void
t_states(void)
{
    static const struct {
        int          state;
        int          announced;
        const char  *name;
        const char  *label;
    } cases[] = {
        { NGX_HTTP_OUTAGE_STATE_DEGRADED, 0, "degraded",
          "Degraded performance" },
        { NGX_HTTP_OUTAGE_STATE_DOWN, 0, "down", "Service disruption" },
        { NGX_HTTP_OUTAGE_STATE_MAINTENANCE, 0, "maintenance",
          "Maintenance in progress" },
        { NGX_HTTP_OUTAGE_STATE_MAINTENANCE,
          NGX_HTTP_OUTAGE_STATE_MAINTENANCE, "scheduled",
          "Scheduled maintenance" },
        /* announced: in the declared state's words, not as maintenance */
        { NGX_HTTP_OUTAGE_STATE_MAINTENANCE, NGX_HTTP_OUTAGE_STATE_DOWN,
          "scheduled", "Planned service disruption" },
        { NGX_HTTP_OUTAGE_STATE_MAINTENANCE, NGX_HTTP_OUTAGE_STATE_DEGRADED,
          "scheduled", "Planned degraded performance" },
    };

    char                            *out, cls[128];
    size_t                           i;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        input(&in, cases[i].state);
        in.announced = cases[i].announced;

        ngx_http_outage_banner_init(&b, &in, T0);
        out = render("{{state}}|{{label}}|{{class}}|{{scope}}", &b);

        snprintf(cls, sizeof(cls), "%s|%s|outage-banner outage-banner--%s"
                 "|site", cases[i].name, cases[i].label, cases[i].name);
        CHECK(strcmp(out, cls) == 0);
        free(out);
    }
}


static void
t_times(void)
{
    char                            *out;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    input(&in, NGX_HTTP_OUTAGE_STATE_DOWN);
    in.since = T0 - 25 * 60;
    in.checked = T0 - 3 * 60;
    in.eta = T0 + 45 * 60;

    ngx_http_outage_banner_init(&b, &in, T0);
    out = render("{{since}}|{{since_iso}}|{{updated}}|{{eta}}|{{eta_iso}}|"
                 "{{eta_label}}|{{starts}}", &b);
    CHECK(strcmp(out, "Nov 22, 15:05 UTC|2026-11-22T15:05Z|3 min ago|"
                 "Nov 22, 16:15 UTC (in 45 min)|2026-11-22T16:15Z|"
                 "Expected resolution|") == 0);
    free(out);

    /* without evidence time, "updated" falls back to since */
    in.checked = 0;
    ngx_http_outage_banner_init(&b, &in, T0);
    out = render("{{updated}}", &b);
    CHECK(strcmp(out, "25 min ago") == 0);
    free(out);

    /* a clock ahead of ours is "just now", never "in ..." */
    in.checked = T0 + 30;
    ngx_http_outage_banner_init(&b, &in, T0);
    out = render("{{updated}}", &b);
    CHECK(strcmp(out, "just now") == 0);
    free(out);

    /* an ETA that is not a time is shown as given, escaped */
    in.eta = 0;
    set(&in.eta_text, "after <lunch>");
    ngx_http_outage_banner_init(&b, &in, T0);
    out = render("{{eta}}|{{eta_iso}}", &b);
    CHECK(strcmp(out, "after &lt;lunch&gt;|") == 0);
    free(out);

    /* an ETA already past is no ETA (review s9 R5 F6: "(5 min ago)") */
    input(&in, NGX_HTTP_OUTAGE_STATE_DOWN);
    in.eta = T0 - 300;
    ngx_http_outage_banner_init(&b, &in, T0);
    out = render(NULL, &b);
    CHECK(strstr(out, "outage-banner__eta") == NULL);
    CHECK(strstr(out, "ago") == NULL);
    free(out);

    /* nothing known: sections disappear */
    input(&in, NGX_HTTP_OUTAGE_STATE_DEGRADED);
    ngx_http_outage_banner_init(&b, &in, T0);
    out = render(NULL, &b);
    CHECK(strstr(out, "outage-banner__eta") == NULL);
    CHECK(strstr(out, "outage-banner__updated") == NULL);
    CHECK(strstr(out, "outage-banner__link") == NULL);
    CHECK(strstr(out, "outage-banner__message") == NULL);
    free(out);
}


static void
t_scheduled(void)
{
    char                            *out;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    input(&in, NGX_HTTP_OUTAGE_STATE_MAINTENANCE);
    in.announced = 1;
    in.starts = T0 + 3 * 3600;
    in.eta = T0 + 5 * 3600;

    ngx_http_outage_banner_init(&b, &in, T0);
    out = render(NULL, &b);
    CHECK(strstr(out, "outage-banner--scheduled") != NULL);
    CHECK(strstr(out, "Starts: Nov 22, 18:30 UTC (in 3 h)") != NULL);
    CHECK(strstr(out, "Ends: Nov 22, 20:30 UTC (in 5 h)") != NULL);
    free(out);

    /* once the window is open, there is no start to announce */
    in.announced = 0;
    ngx_http_outage_banner_init(&b, &in, T0 + 4 * 3600);
    out = render("{{starts}}|{{state}}|{{eta_label}}", &b);
    CHECK(strcmp(out, "|maintenance|Expected end") == 0);
    free(out);
}


static void
t_escaping(void)
{
    char                            *out;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    input(&in, NGX_HTTP_OUTAGE_STATE_DOWN);
    set(&in.message, "<script>alert(1)</script>\"'&");
    set(&in.link, "https://status.example.com/?a=1&b=\"2\"");
    set(&in.nonce, "n\"once");
    set(&in.scope, "checkout");

    ngx_http_outage_banner_init(&b, &in, T0);
    out = render(NULL, &b);

    CHECK(strstr(out, "<script") == NULL);
    CHECK(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;")
          != NULL);
    CHECK(strstr(out, "href=\"https://status.example.com/?a=1&amp;b=&quot;2"
                 "&quot;\" rel=\"noopener\"") != NULL);
    free(out);

    out = render("{{nonce}}|{{message|raw}}", &b);
    CHECK(strcmp(out, "n&quot;once|<script>alert(1)</script>\"'&") == 0);
    free(out);
}


static void
t_default_markup(void)
{
    char                            *out;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    input(&in, NGX_HTTP_OUTAGE_STATE_DOWN);
    set(&in.message, "Payments failing");
    set(&in.link, "https://status.example.com/");
    in.eta = T0 + 600;
    in.checked = T0;

    ngx_http_outage_banner_init(&b, &in, T0);
    out = render(NULL, &b);

    CHECK(strncmp(out, "<div class=\"outage-banner outage-banner--down\" "
                  "role=\"status\" aria-live=\"polite\">",
                  sizeof("<div class=\"outage-banner outage-banner--down\" "
                         "role=\"status\" aria-live=\"polite\">") - 1)
          == 0);
    CHECK(strstr(out, "<strong class=\"outage-banner__state\">Service "
                  "disruption</strong>") != NULL);
    CHECK(strstr(out, "<span class=\"outage-banner__message\">Payments "
                  "failing</span>") != NULL);
    CHECK(strstr(out, "<span class=\"outage-banner__eta\">Expected "
                  "resolution: Nov 22, 15:40 UTC (in 10 min)</span>") != NULL);
    CHECK(strstr(out, "<a class=\"outage-banner__link\" href=\"https://"
                  "status.example.com/\" rel=\"noopener\">") != NULL);
    CHECK(strstr(out, "<span class=\"outage-banner__updated\">Updated just "
                  "now</span>") != NULL);

    /* balanced, no script, no external reference but the link */
    CHECK(count(out, "<div") == count(out, "</div>"));
    CHECK(count(out, "<p") == count(out, "</p>"));
    CHECK(count(out, "<span") == count(out, "</span>"));
    CHECK(strstr(out, "<script") == NULL);
    CHECK(count(out, "http") == 1);
    CHECK(strlen(out) < 1024);
    free(out);

    /* the stylesheet: every documented class and state has a rule */
    CHECK(ngx_http_outage_banner_css_len
          == strlen((const char *) ngx_http_outage_banner_css));
    CHECK(strstr((const char *) ngx_http_outage_banner_css, "</") == NULL);
    CHECK(strstr((const char *) ngx_http_outage_banner_css, "url(") == NULL);
    CHECK(strstr((const char *) ngx_http_outage_banner_css, "@import")
          == NULL);

    {
        static const char  *classes[] = {
            ".outage-banner{", ".outage-banner__inner{",
            ".outage-banner__text{", ".outage-banner__state{",
            ".outage-banner__meta{", ".outage-banner__link{",
            ".outage-banner--degraded{",
            ".outage-banner--down{", ".outage-banner--maintenance{",
            ".outage-banner--scheduled{", NULL
        };

        const char  **c;

        for (c = classes; *c; c++) {
            CHECK(strstr((const char *) ngx_http_outage_banner_css, *c)
                  != NULL);
        }
    }
}


static void
t_lookup(void)
{
    size_t                           len;
    const unsigned char             *v;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    input(&in, NGX_HTTP_OUTAGE_STATE_DEGRADED);
    ngx_http_outage_banner_init(&b, &in, T0);

    CHECK(ngx_http_outage_banner_lookup(&b, U("scope"), 5, &v, &len) == 1);
    CHECK(len == 4 && memcmp(v, "site", 4) == 0);

    /* known but empty */
    CHECK(ngx_http_outage_banner_lookup(&b, U("link"), 4, &v, &len) == 1);
    CHECK(len == 0);

    /* unknown, and prefixes of known names */
    CHECK(ngx_http_outage_banner_lookup(&b, U("nope"), 4, &v, &len) == 0);
    CHECK(ngx_http_outage_banner_lookup(&b, U("eta_"), 4, &v, &len) == 0);
    CHECK(ngx_http_outage_banner_lookup(&b, U("stat"), 4, &v, &len) == 0);
}


/*
 * The filter caches a banner rendered without a nonce and serves it to
 * every request unless the template asked for the nonce: the lookup must
 * notice every way a template can depend on it.
 */
static void
t_nonce_used(void)
{
    char                            *out;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    input(&in, NGX_HTTP_OUTAGE_STATE_DOWN);
    set(&in.message, "m");

    ngx_http_outage_banner_init(&b, &in, T0);
    CHECK(b.nonce_used == 0);

    /* the built-in markup never shows it */
    out = render(NULL, &b);
    CHECK(b.nonce_used == 0);
    free(out);

    out = render("{{message}}{{^link}}-{{/link}}", &b);
    CHECK(strcmp(out, "m-") == 0 && b.nonce_used == 0);
    free(out);

    /* as a value, raw, and as an (empty) section condition */
    out = render("<x n=\"{{nonce}}\">", &b);
    CHECK(strcmp(out, "<x n=\"\">") == 0 && b.nonce_used == 1);
    free(out);

    ngx_http_outage_banner_init(&b, &in, T0);
    CHECK(b.nonce_used == 0);
    out = render("{{ nonce|raw }}", &b);
    CHECK(b.nonce_used == 1);
    free(out);

    ngx_http_outage_banner_init(&b, &in, T0);
    out = render("{{#nonce}}has{{/nonce}}{{^nonce}}none{{/nonce}}", &b);
    CHECK(strcmp(out, "none") == 0 && b.nonce_used == 1);
    free(out);

    /* shown only inside a hidden section: this text does not depend on it */
    ngx_http_outage_banner_init(&b, &in, T0);
    out = render("{{#link}}{{nonce}}{{/link}}ok", &b);
    CHECK(strcmp(out, "ok") == 0);
    free(out);
}


static void
t_short_buffer(void)
{
    char                            *full;
    size_t                           n, i, m;
    unsigned char                    buf[2048];
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    input(&in, NGX_HTTP_OUTAGE_STATE_DOWN);
    set(&in.message, "a & b < c");

    ngx_http_outage_banner_init(&b, &in, T0);
    full = render(NULL, &b);
    n = strlen(full);

    /* every short buffer holds a clean prefix and nothing past its end */
    for (i = 0; i < n; i += 7) {
        memset(buf, 0xA5, sizeof(buf));
        m = ngx_http_outage_banner_render(buf, i, NULL, 0, &b);
        CHECK(m == n);
        CHECK(buf[i] == 0xA5);
    }

    free(full);
}


static void
t_marker(void)
{
    unsigned     r;
    const char  *v;

#define RANK(v, s)  ngx_http_outage_marker_rank(U(v), strlen(v), U(s),      \
                                                strlen(s))

    for (r = 1; r <= 4; r++) {
        char  buf[64];

        snprintf(buf, sizeof(buf), "site; state=%s",
                 ngx_http_outage_marker_state(r));
        CHECK(RANK(buf, "site") == r);
        CHECK(RANK(buf, "sit") == 0);
        CHECK(RANK(buf, "site2") == 0);
    }

    CHECK(ngx_http_outage_marker_state(0) == NULL);
    CHECK(ngx_http_outage_marker_state(5) == NULL);

    v = "site; state=down";
    CHECK(RANK(v, "checkout") == 0);
    CHECK(RANK(v, "") == 0);

    /* older versions' value, spoofs of other shapes */
    CHECK(RANK("site", "site") == 0);
    CHECK(RANK("nope", "site") == 0);
    CHECK(RANK("site; state=", "site") == 0);
    CHECK(RANK("site; state=downx", "site") == 0);
    CHECK(RANK("site; state=Down", "site") == 0);
    CHECK(RANK("site;state=down", "site") == 0);
    CHECK(RANK("site; state=down ", "site") == 0);
    CHECK(RANK("site; state=ok", "site") == 0);

#undef RANK
}


static const unit_test_t  tests[] = {
    { "when", t_when },
    { "states", t_states },
    { "times", t_times },
    { "scheduled", t_scheduled },
    { "escaping", t_escaping },
    { "default_markup", t_default_markup },
    { "lookup", t_lookup },
    { "nonce_used", t_nonce_used },
    { "short_buffer", t_short_buffer },
    { "marker", t_marker },
};


int
main(void)
{
    return unit_run("banner", tests, sizeof(tests) / sizeof(tests[0]));
}
