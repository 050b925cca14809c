
/*
 * Unit tests for ngx_http_outage_text.c: escapers, sanitiser, links, times,
 * states and templates.  Runner (tests/support/unit_runner.h): one line
 * per failed check, then "text: N passed, M failed"; exit status 1 if
 * anything failed.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <limits.h>

#include "ngx_http_outage_text.h"
#include "../support/unit_runner.h"
#include "../support/unit_helpers.h"
#include "../support/utf8_oracle.h"


typedef size_t (*escape_pt)(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len);

typedef struct {
    const char  *name;
    const char  *value;
    size_t       len;      /* 0: strlen(value) */
} tpl_var_t;


/* ---- helpers ---------------------------------------------------------- */

/* runs an escaper: checks measure == write and the canary; returns length */

static size_t
run_escape(escape_pt fn, const unsigned char *in, size_t len,
    unsigned char *out, size_t out_size)
{
    size_t  need, got, i;

    need = fn(NULL, 0, in, len);

    if (need + CANARY_LEN > out_size) {
        CHECK(need + CANARY_LEN <= out_size);
        return 0;
    }

    memset(out, CANARY, need + CANARY_LEN);
    got = fn(out, need, in, len);
    CHECK(got == need);

    for (i = need; i < need + CANARY_LEN; i++) {
        CHECK(out[i] == CANARY);
    }

    return need;
}


static int
escape_is(escape_pt fn, const char *in, size_t len, const char *expect)
{
    unsigned char  out[4096];
    size_t         n;

    n = run_escape(fn, U(in), len, out, sizeof(out));

    if (n != strlen(expect) || memcmp(out, expect, n) != 0) {
        printf("  got \"%.*s\" expected \"%s\"\n", (int) n, out, expect);
        return 0;
    }

    return 1;
}


/*
 * Writes with dst_size k twice (buffer pre-filled with 0x00, then 0xFF):
 * bytes that agree were written.  Returns that length, or (size_t) -1 if
 * writes were not a clean prefix or the canary was touched.
 */

static size_t
written_len(escape_pt fn, const unsigned char *in, size_t len, size_t k,
    size_t need)
{
    unsigned char  a[1024], b[1024];
    size_t         i, w;

    if (k + CANARY_LEN > sizeof(a)) {
        return (size_t) -1;
    }

    memset(a, 0x00, k);
    memset(a + k, CANARY, CANARY_LEN);
    memset(b, 0xFF, k);
    memset(b + k, CANARY, CANARY_LEN);

    if (fn(a, k, in, len) != need || fn(b, k, in, len) != need) {
        return (size_t) -1;
    }

    for (i = k; i < k + CANARY_LEN; i++) {
        if (a[i] != CANARY || b[i] != CANARY) {
            return (size_t) -1;
        }
    }

    for (w = 0; w < k && a[w] == b[w]; w++) {
        /* void */
    }

    for (i = w; i < k; i++) {
        if (a[i] == b[i]) {
            return (size_t) -1;     /* a write after a gap */
        }
    }

    return w;
}


/* length of the output unit starting at out[j], per escaper kind */

static size_t
unit_len(int kind, const unsigned char *out, size_t j, size_t n)
{
    size_t  k;

    if (kind == 0 && out[j] == '&') {
        for (k = j; k < n && out[k] != ';'; k++) {
            /* void */
        }
        return k - j + 1;
    }

    if (kind == 1 && out[j] == '\\') {
        /* a surrogate pair is one unit: never cut between its halves */
        if (out[j + 1] == 'u' && out[j + 2] == 'd'
            && out[j + 3] >= '8' && out[j + 3] <= 'b')
        {
            return 12;
        }

        return out[j + 1] == 'u' ? 6 : 2;
    }

    if (kind == 2 && out[j] == '\\') {
        return 4;
    }

    if (out[j] < 0x80) {
        return 1;
    }

    return (out[j] & 0xE0) == 0xC0 ? 2 : (out[j] & 0xF0) == 0xE0 ? 3 : 4;
}


/* random input biased towards the characters escapers care about */

static size_t
random_input(unsigned char *buf, size_t max)
{
    static const char  *frags[] = {
        "&", "<", ">", "\"", "'", "\\", "\n", "\r", "\t", "a", "Z", " ",
        "\xc3\xa9", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xf0\x9f\x98\x80",
        "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80",
        "\x7f", "\x01", "{{", "}}", "\xe2\x80\xae", "\xc2\x85"
    };

    size_t  len, n, k, i;

    /* each step adds at most 4 bytes */
    len = rng() % (max / 4);
    n = 0;

    for (i = 0; i < len; i++) {
        if (rng() % 4 == 0) {
            buf[n++] = (unsigned char) rng();
            continue;
        }

        k = rng() % (sizeof(frags) / sizeof(frags[0]));

        if (rng() % 3 == 0) {
            buf[n++] = (unsigned char) (rng() % 2 ? 0 : 0x80 + rng() % 0x80);
            continue;
        }

        memcpy(buf + n, frags[k], strlen(frags[k]));
        n += strlen(frags[k]);
    }

    return n;
}


static int
lookup_vars(void *ctx, const unsigned char *name, size_t name_len,
    const unsigned char **value, size_t *value_len)
{
    tpl_var_t  *v;

    for (v = ctx; v->name; v++) {
        if (strlen(v->name) == name_len
            && memcmp(v->name, name, name_len) == 0)
        {
            *value = U(v->value);
            *value_len = v->len ? v->len : strlen(v->value);
            return 1;
        }
    }

    return 0;
}


/* renders a template, checking measure == write and the canary */

static size_t
render(const char *tpl, int mode, tpl_var_t *vars, unsigned char *out,
    size_t out_size)
{
    size_t  need, got, i;

    need = ngx_http_outage_tpl_render(NULL, 0, U(tpl), strlen(tpl), mode,
                                      lookup_vars, vars);

    if (need + CANARY_LEN > out_size) {
        CHECK(need + CANARY_LEN <= out_size);
        return 0;
    }

    memset(out, CANARY, need + CANARY_LEN);
    got = ngx_http_outage_tpl_render(out, need, U(tpl), strlen(tpl), mode,
                                     lookup_vars, vars);
    CHECK(got == need);

    for (i = need; i < need + CANARY_LEN; i++) {
        CHECK(out[i] == CANARY);
    }

    return need;
}


static int
render_is(const char *tpl, int mode, tpl_var_t *vars, const char *expect)
{
    unsigned char  out[4096];
    size_t         n;

    n = render(tpl, mode, vars, out, sizeof(out));

    if (n != strlen(expect) || memcmp(out, expect, n) != 0) {
        printf("  template \"%s\": got \"%.*s\" expected \"%s\"\n",
               tpl, (int) n, out, expect);
        return 0;
    }

    return 1;
}


static int
sanitize_is(const char *in, size_t len, size_t max, const char *expect,
    int expect_trunc)
{
    unsigned char  out[2048];
    size_t         n, i;
    int            trunc;

    memset(out, CANARY, sizeof(out));
    trunc = -1;
    n = ngx_http_outage_sanitize(out, max, U(in), len, &trunc);

    for (i = max; i < max + CANARY_LEN; i++) {
        if (out[i] != CANARY) {
            printf("  sanitize wrote past max\n");
            return 0;
        }
    }

    if (n != strlen(expect) || memcmp(out, expect, n) != 0
        || trunc != expect_trunc)
    {
        printf("  sanitize: got \"%.*s\" (trunc %d) expected \"%s\" (%d)\n",
               (int) n, out, trunc, expect, expect_trunc);
        return 0;
    }

    return 1;
}


static time_t
pt(const char *s)
{
    return ngx_http_outage_parse_time(U(s), strlen(s));
}


static int
ago_is(time_t then, time_t now, const char *expect)
{
    unsigned char  out[NGX_HTTP_OUTAGE_AGO_LEN];
    size_t         n;

    n = ngx_http_outage_format_ago(out, sizeof(out), then, now);

    if (n != strlen(expect) || memcmp(out, expect, n) != 0) {
        printf("  ago: got \"%.*s\" expected \"%s\"\n", (int) n, out, expect);
        return 0;
    }

    return 1;
}


static int
link_ok(const char *s)
{
    return ngx_http_outage_link_valid(U(s), strlen(s));
}


static int
state(const char *s)
{
    return ngx_http_outage_parse_state(U(s), strlen(s));
}


static const char *
check(const char *tpl, size_t *offset)
{
    *offset = (size_t) -1;
    return ngx_http_outage_tpl_check(U(tpl), strlen(tpl), offset);
}


/* ---- HTML ------------------------------------------------------------- */

static void
t_html_specials(void)
{
    escape_pt  f = ngx_http_outage_html_escape;

    CHECK(escape_is(f, "&<>\"'", 5, "&amp;&lt;&gt;&quot;&#39;"));
    CHECK(escape_is(f, "a & b", 5, "a &amp; b"));
    CHECK(escape_is(f, "<script>", 8, "&lt;script&gt;"));
    CHECK(escape_is(f, "", 0, ""));
    CHECK(escape_is(f, "plain text 123", 14, "plain text 123"));
}


static void
t_html_utf8(void)
{
    escape_pt  f = ngx_http_outage_html_escape;

    CHECK(escape_is(f, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 14,
                    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"));
    /* controls other than NUL are not HTML-significant */
    CHECK(escape_is(f, "a\nb\tc", 5, "a\nb\tc"));
}


static void
t_html_invalid_utf8(void)
{
    escape_pt  f = ngx_http_outage_html_escape;

    /* overlong "/" : C0 is never valid, AF is a lone continuation */
    CHECK(escape_is(f, "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"));
    /* 3-byte overlong */
    CHECK(escape_is(f, "\xe0\x80\xaf", 3,
                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
    /* surrogate U+D800 */
    CHECK(escape_is(f, "\xed\xa0\x80", 3,
                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
    /* truncated sequence at the end: one replacement */
    CHECK(escape_is(f, "a\xe2\x82", 3, "a\xef\xbf\xbd"));
    /* truncated sequence followed by ASCII */
    CHECK(escape_is(f, "\xe2\x82<", 3, "\xef\xbf\xbd&lt;"));
    CHECK(escape_is(f, "\xff", 1, "\xef\xbf\xbd"));
    /* above U+10FFFF */
    CHECK(escape_is(f, "\xf4\x90\x80\x80", 4,
                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
    /* NUL */
    CHECK(escape_is(f, "a\0b", 3, "a\xef\xbf\xbd" "b"));
}


static void
t_html_cut(void)
{
    unsigned char  buf[32];
    size_t         n;

    /* "a&amp;" needs 6; with 5 only "a" is written, no partial entity */
    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_html_escape(buf, 5, U("a&b"), 3);
    CHECK(n == 7);
    CHECK(buf[0] == 'a');
    CHECK(buf[1] == CANARY);
    CHECK(buf[5] == CANARY);

    /* the output stops at the first unit that does not fit: "b" is not
     * written after the dropped entity */
    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_html_escape(buf, 3, U("a&b"), 3);
    CHECK(n == 7);
    CHECK(buf[0] == 'a' && buf[1] == CANARY && buf[2] == CANARY);

    /* a 4-byte character is not split */
    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_html_escape(buf, 4, U("a\xf0\x9f\x98\x80"), 5);
    CHECK(n == 5);
    CHECK(buf[0] == 'a' && buf[1] == CANARY);

    /* dst_size 0 with a real pointer writes nothing */
    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_html_escape(buf, 0, U("<"), 1);
    CHECK(n == 4);
    CHECK(buf[0] == CANARY);
}


/* ---- JSON ------------------------------------------------------------- */

/* $outage_message_html: the built-in banner's ASCII (review s9 R0 F9) */
static void
t_html_ascii(void)
{
    static const struct {
        const char  *in;
        size_t       len;
        const char  *out;
    } c[] = {
        { "Caf\xc3\xa9 <b>", 9, "Caf&#x00e9; &lt;b&gt;" },
        { "\xe6\xb1\xba\xf0\x9f\x98\x80", 7, "&#x6c7a;&#x01f600;" },
        { "\xc2\x85\xff", 3, "&#xFFFD;&#xFFFD;" },
        { "a\"'&", 4, "a&quot;&#39;&amp;" },
    };

    size_t  i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        CHECK(escape_is(ngx_http_outage_html_escape_ascii, c[i].in, c[i].len,
                        c[i].out));
    }
}


static void
t_json_specials(void)
{
    escape_pt  f = ngx_http_outage_json_escape;

    CHECK(escape_is(f, "\"\\\n\r\t", 5, "\\\"\\\\\\n\\r\\t"));
    CHECK(escape_is(f, "<>&'", 4, "\\u003c\\u003e\\u0026\\u0027"));
    CHECK(escape_is(f, "</script>", 9, "\\u003c/script\\u003e"));
    CHECK(escape_is(f, "plain", 5, "plain"));
}


static void
t_json_controls(void)
{
    escape_pt  f = ngx_http_outage_json_escape;

    CHECK(escape_is(f, "\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f"));
    CHECK(escape_is(f, "a\0b", 3, "a\\u0000b"));
    CHECK(escape_is(f, "\b\f", 2, "\\u0008\\u000c"));
}


static void
t_json_utf8(void)
{
    escape_pt  f = ngx_http_outage_json_escape;

    /* ASCII only: no charset filter can change it */
    CHECK(escape_is(f, "\xc3\xa9\xf0\x9f\x98\x80", 6,
                    "\\u00e9\\ud83d\\ude00"));
    CHECK(escape_is(f, "\xd0\x9e\xe2\x80\x94\xef\xbf\xbf", 8,
                    "\\u041e\\u2014\\uffff"));
    CHECK(escape_is(f, "\xf4\x8f\xbf\xbf", 4, "\\udbff\\udfff"));
    CHECK(escape_is(f, "\xe2\x80\xa8\xe2\x80\xa9", 6, "\\u2028\\u2029"));
    CHECK(escape_is(f, "\xff", 1, "\\ufffd"));
    CHECK(escape_is(f, "\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd"));
    CHECK(escape_is(f, "\xc0\x80", 2, "\\ufffd\\ufffd"));
    CHECK(escape_is(f, "x\xf0\x9f\x98", 4, "x\\ufffd"));
}


static void
t_json_cut(void)
{
    unsigned char  buf[32];
    size_t         n;

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_json_escape(buf, 2, U("a\n"), 2);
    CHECK(n == 3);
    CHECK(buf[0] == 'a' && buf[1] == CANARY);

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_json_escape(buf, 6, U("a<"), 2);
    CHECK(n == 7);
    CHECK(buf[0] == 'a' && buf[1] == CANARY);
}


/* ---- log -------------------------------------------------------------- */

static void
t_log_escape(void)
{
    escape_pt  f = ngx_http_outage_log_escape_cut;

    CHECK(escape_is(f, "ab c~", 5, "ab c~"));
    CHECK(escape_is(f, "\\\"", 2, "\\x5c\\x22"));
    CHECK(escape_is(f, "\n\r\t\0\x7f", 5, "\\x0a\\x0d\\x09\\x00\\x7f"));
    CHECK(escape_is(f, "\xc3\xa9\xff", 3, "\\xc3\\xa9\\xff"));
}


static void
t_log_cut(void)
{
    unsigned char  buf[32];
    size_t         n;

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_log_escape_cut(buf, 4, U("ab\n"), 3);
    CHECK(n == 2);
    CHECK(buf[0] == 'a' && buf[1] == 'b' && buf[2] == CANARY);
}


/*
 * Review s7 R3/M3: a buffer 1 to 3 bytes short of an escape unit: what is
 * reported written is written (callers used min(need, size) and published
 * up to 3 unwritten bytes: stack garbage, NULs, in the log and the zone).
 */
static void
t_log_escape_cut(void)
{
    unsigned char  buf[64];
    size_t         n, size, i;

    for (size = 0; size <= 12; size++) {
        memset(buf, CANARY, sizeof(buf));
        n = ngx_http_outage_log_escape_cut(buf, size, U("a\xc3\xc3\xc3"),
                                           4);
        CHECK(n <= size);
        CHECK(n == (size < 1 ? 0 : 1 + 4 * ((size - 1) / 4 < 3
                                             ? (size - 1) / 4 : 3)));

        for (i = 0; i < n; i++) {
            CHECK(buf[i] != CANARY);
        }

        for (i = n; i < sizeof(buf); i++) {
            CHECK(buf[i] == CANARY);
        }
    }

    CHECK(ngx_http_outage_log_escape_cut(buf, sizeof(buf), U("ok"), 2) == 2);
}


static void
t_log_preview(void)
{
    unsigned char  buf[64];
    size_t         n;

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_log_preview(buf, 16, U("short"), 5);
    CHECK(n == 5 && memcmp(buf, "short", 5) == 0);

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_log_preview(buf, 16,
                                    U("0123456789\n\n\n\n\n\n"), 16);
    CHECK(n <= 16);
    CHECK(n == 13 && memcmp(buf, "0123456789...", 13) == 0);
    CHECK(buf[16] == CANARY);

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_log_preview(buf, 10, U("\n\n\n\n\n"), 5);
    CHECK(n == 7 && memcmp(buf, "\\x0a...", 7) == 0);
    CHECK(buf[10] == CANARY);

    n = ngx_http_outage_log_preview(buf, 2, U("abcdef"), 6);
    CHECK(n == 2);

    CHECK(ngx_http_outage_log_preview(NULL, 10, U("abc"), 3) == 0);
}


/* ---- sanitiser -------------------------------------------------------- */

static void
t_sanitize_controls(void)
{
    CHECK(sanitize_is("a\r\nb\tc", 6, 64, "a b c", 0));
    CHECK(sanitize_is("a\0b", 3, 64, "ab", 0));
    CHECK(sanitize_is("  a  \x01 b \x7f ", 12, 64, "a b", 0));
    CHECK(sanitize_is("\r\n\t \0", 5, 64, "", 0));
    CHECK(sanitize_is("", 0, 64, "", 0));
    /* C1 control NEL, line separator */
    CHECK(sanitize_is("a\xc2\x85" "b\xe2\x80\xa8" "c", 8, 64, "a b c", 0));
    /* bidi override is dropped, not replaced */
    CHECK(sanitize_is("x\xe2\x80\xaey\xe2\x81\xa6z", 9, 64, "xyz", 0));
    /* NBSP is ordinary text */
    CHECK(sanitize_is("a\xc2\xa0" "b", 4, 64, "a\xc2\xa0" "b", 0));
}


static void
t_sanitize_invalid(void)
{
    CHECK(sanitize_is("a\xff" "b", 3, 64, "a\xef\xbf\xbd" "b", 0));
    CHECK(sanitize_is("\xc0\xaf", 2, 64, "\xef\xbf\xbd\xef\xbf\xbd", 0));
    CHECK(sanitize_is("\xed\xa0\x80", 3, 64,
                      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0));
    CHECK(sanitize_is("ok\xe2\x82", 4, 64, "ok\xef\xbf\xbd", 0));
}


static void
t_sanitize_cut(void)
{
    /* 20 x 'a' into 10: 7 + ellipsis */
    CHECK(sanitize_is("aaaaaaaaaaaaaaaaaaaa", 20, 10,
                      "aaaaaaa\xe2\x80\xa6", 1));
    /* exact fit is not a cut */
    CHECK(sanitize_is("aaaaaaaaaa", 10, 10, "aaaaaaaaaa", 0));
    /* trailing whitespace beyond max does not count */
    CHECK(sanitize_is("abc   \r\n", 8, 3, "abc", 0));
    /* multibyte: never split, and the ellipsis fits within max */
    CHECK(sanitize_is("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10, 8,
                      "\xc3\xa9\xc3\xa9\xe2\x80\xa6", 1));
    /* no dangling space before the ellipsis */
    CHECK(sanitize_is("aaaa bbbbbbbb", 13, 8, "aaaa\xe2\x80\xa6", 1));
    /* a first character too big for the room leaves only the ellipsis */
    CHECK(sanitize_is("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 8, 5,
                      "\xe2\x80\xa6", 1));
}


static void
t_sanitize_small_max(void)
{
    CHECK(sanitize_is("abc", 3, 2, "ab", 1));
    CHECK(sanitize_is("abc", 3, 0, "", 1));
    CHECK(sanitize_is("a bc", 4, 2, "a", 1));
    CHECK(sanitize_is("\xc3\xa9\xc3\xa9", 4, 3, "\xe2\x80\xa6", 1));
    CHECK(sanitize_is("abcd", 4, 3, "\xe2\x80\xa6", 1));
}


static void
t_sanitize_huge(void)
{
    unsigned char  *big, out[600];
    size_t          n, i;
    int             trunc;

    big = malloc(1 << 20);
    CHECK(big != NULL);
    if (big == NULL) {
        return;
    }

    for (i = 0; i < (1 << 20); i++) {
        big[i] = (unsigned char) ("x\n\0<\xc3\xa9\xff"[i % 7]);
    }

    memset(out, CANARY, sizeof(out));
    n = ngx_http_outage_sanitize(out, 512, big, 1 << 20, &trunc);
    CHECK(n <= 512);
    CHECK(trunc == 1);
    CHECK(oracle_utf8_ok(out, n));
    CHECK(out[512] == CANARY);
    CHECK(n >= 3 && memcmp(out + n - 3, "\xe2\x80\xa6", 3) == 0);

    free(big);
}


/* ---- links ------------------------------------------------------------ */

static void
t_link_valid(void)
{
    CHECK(link_ok("https://status.example.com"));
    CHECK(link_ok("http://x/y?z=1&w=2#frag"));
    CHECK(link_ok("HTTPS://EXAMPLE.COM/"));
    CHECK(link_ok("http://[::1]:8080/status"));
    CHECK(link_ok("https://status.example.com:443/incidents/42"));
    CHECK(link_ok("https://a.b/%3Cx%3E"));
    CHECK(link_ok("https://a.example:65535/"));
    CHECK(link_ok("http://a.example:80/"));
    CHECK(link_ok("https://a.example:8443/"));
    CHECK(link_ok("http://a.example:6001/"));
    CHECK(link_ok("http://a.example:26/"));
    CHECK(link_ok("http://127.0.0.1:8080/s"));
    CHECK(link_ok("http://[2001:db8::1]/"));
    CHECK(link_ok("http://[::ffff:1.2.3.4]/"));
    CHECK(link_ok("https://status.example.com/"));
    CHECK(link_ok("https://a1.b2/"));
    CHECK(link_ok("https://a.example./"));
    CHECK(link_ok("https://1.2.3.4./"));
    CHECK(link_ok("https://1password.com/"));
    CHECK(link_ok("https://123.example/"));
    CHECK(link_ok("https://a.0xg/"));
}


static void
t_link_invalid(void)
{
    char  longurl[300];

    CHECK(!link_ok("javascript:alert(1)"));
    CHECK(!link_ok("JaVaScRiPt:alert(1)"));
    CHECK(!link_ok("data:text/html,<script>"));
    CHECK(!link_ok("//evil.example"));
    CHECK(!link_ok("/relative"));
    CHECK(!link_ok("https://"));
    CHECK(!link_ok("https:///path"));
    CHECK(!link_ok("ftp://example.com"));
    CHECK(!link_ok("https://a b"));
    CHECK(!link_ok("https://a/\"onmouseover=x"));
    CHECK(!link_ok("https://a/'x"));
    CHECK(!link_ok("https://a/<script>"));
    CHECK(!link_ok("https://user@evil.example"));
    CHECK(!link_ok("https://good.example@evil.example/"));
    CHECK(!link_ok("https://a\\evil"));
    CHECK(!link_ok("https://a/\n"));
    CHECK(!link_ok("https://a:99999999/"));
    /* review s9/R0 F3: links a browser does not open */
    CHECK(!link_ok("https://a.example:99999/"));
    CHECK(!link_ok("https://a.example:65536/"));
    CHECK(!link_ok("http://[:::::]/"));
    CHECK(!link_ok("http://[1.2.3.4]/"));
    CHECK(!link_ok("https://1.2.3.4.5/"));
    CHECK(!link_ok("https://300.1.1.1/"));
    CHECK(!link_ok("https://shop.123/"));
    CHECK(!link_ok("https://1.2.3.4.5./"));
    CHECK(!link_ok("https://shop.123./"));
    CHECK(!link_ok("https://a.0x10/"));
    CHECK(!link_ok("https://a.0x/"));
    CHECK(!link_ok("https://a:/"));
    /* review s9/R5 F4: ports browsers refuse to open (Fetch "bad port") */
    CHECK(!link_ok("https://example.com:0/"));
    CHECK(!link_ok("https://example.com:00/"));
    CHECK(!link_ok("https://example.com:25/"));
    CHECK(!link_ok("http://example.com:6000/"));
    CHECK(!link_ok("http://example.com:6667"));
    CHECK(!link_ok("https://example.com:10080/x"));
    CHECK(!link_ok("https://[::1]:1/"));
    /* ... told apart, so a configured URL can be kept with a warning */
    CHECK(ngx_http_outage_link_check(U("https://e.example:10080/"), 24)
          == NGX_HTTP_OUTAGE_LINK_BAD_PORT);
    CHECK(ngx_http_outage_link_check(U("https://e.example:10080/ x"), 26)
          == NGX_HTTP_OUTAGE_LINK_INVALID);
    CHECK(ngx_http_outage_link_check(U("https://e.example:8080/"), 23)
          == NGX_HTTP_OUTAGE_LINK_OK);
    CHECK(!link_ok("https://.evil"));
    CHECK(!link_ok("https://[]/"));
    CHECK(!link_ok("https://a/\xc3\xa9"));
    CHECK(!link_ok(""));
    CHECK(!ngx_http_outage_link_valid(U("https://a\0b"), 11));

    memset(longurl, 'a', sizeof(longurl));
    memcpy(longurl, "https://a/", 10);
    longurl[NGX_HTTP_OUTAGE_URL_MAX] = '\0';
    CHECK(link_ok(longurl));
    longurl[NGX_HTTP_OUTAGE_URL_MAX] = 'a';
    longurl[NGX_HTTP_OUTAGE_URL_MAX + 1] = '\0';
    CHECK(!link_ok(longurl));
}


/* ---- times ------------------------------------------------------------ */

static void
t_time_valid(void)
{
    CHECK(pt("2026-11-22T15:30Z") == 1795361400);
    CHECK(pt("2026-11-22T15:30:00Z") == 1795361400);
    CHECK(pt("2026-11-22 15:30") == 1795361400);
    CHECK(pt("2026-11-22t15:30z") == 1795361400);
    CHECK(pt(" 2026-11-22T15:30Z\t") == 1795361400);
    CHECK(pt("2026-11-22T15:30:00.123Z") == 1795361400);
    CHECK(pt("2026-11-22") == 1795305600);
    CHECK(pt("1795000000") == 1795000000);
    CHECK(pt("0") == 0);
    CHECK(pt("1970-01-01T00:00Z") == 0);
}


static void
t_time_offsets(void)
{
    CHECK(pt("2026-11-22T15:30:00+01:00") == 1795357800);
    CHECK(pt("2026-11-22T15:30+0100") == 1795357800);
    CHECK(pt("2026-11-22T15:30+01") == 1795357800);
    CHECK(pt("2026-11-22T15:30-05:30") == 1795381200);
    CHECK(pt("2026-11-22T15:30+00:00") == 1795361400);
    CHECK(pt("2026-11-22T15:30-00:00") == 1795361400);
    CHECK(pt("2026-11-22T15:30+23:59") == 1795361400 - 23 * 3600 - 59 * 60);
    /* crossing midnight and the year boundary */
    CHECK(pt("2026-01-01T01:30+01:00") == 1767227400);
    CHECK(pt("2026-01-01T00:30+01:00") == 1767227400 - 3600);
    CHECK(pt("2025-12-31T23:30-01:00") == 1767227400);
}


static void
t_time_leap_years(void)
{
    CHECK(pt("2024-02-29T12:00Z") == 1709208000);
    CHECK(pt("2000-02-29") == 951782400);
    CHECK(pt("2000-03-01") == 951782400 + 86400);
    CHECK(pt("2024-03-01") - pt("2024-02-28") == 2 * 86400);
    CHECK(pt("2023-03-01") - pt("2023-02-28") == 86400);
    CHECK(pt("2023-02-29") == -1);
    CHECK(pt("2100-02-29") == -1);
    CHECK(pt("2400-02-29") != -1);
    CHECK(pt("2026-12-31T23:59:59Z") + 1 == pt("2027-01-01"));
}


static void
t_time_invalid(void)
{
    CHECK(pt("2026-02-30T00:00Z") == -1);
    CHECK(pt("2026-04-31") == -1);
    CHECK(pt("2023-02-29") == -1);
    CHECK(pt("2100-02-29") == -1);
    CHECK(pt("2026-11-22T24:00Z") == -1);
    CHECK(pt("2026-13-01T00:00Z") == -1);
    CHECK(pt("2026-00-01") == -1);
    CHECK(pt("2026-01-00") == -1);
    CHECK(pt("2026-11-22T15:60Z") == -1);
    CHECK(pt("2026-11-22T15:30:60Z") == -1);
    CHECK(pt("2026-11-22T15:30+24:00") == -1);
    CHECK(pt("2026-11-22T15:30+01:60") == -1);
    CHECK(pt("2026-11-22T15:30+1") == -1);
    CHECK(pt("2026-11-22T15:30Zjunk") == -1);
    CHECK(pt("2026-11-22T15:30:00.Z") == -1);
    CHECK(pt("2026-11-22T15:30:00.1234567890Z") == -1);
    CHECK(pt("2026-11-22T") == -1);
    CHECK(pt("2026-11-22X15:30") == -1);
    CHECK(pt("2026-1-2") == -1);
    CHECK(pt("1969-12-31T23:59Z") == -1);
    CHECK(pt("1970-01-01T00:30+01:00") == -1);
    CHECK(pt("10000-01-01") == -1);
    CHECK(pt("1234567890123") == -1);
    CHECK(pt("-5") == -1);
    CHECK(pt("+5") == -1);
    CHECK(pt("") == -1);
    CHECK(pt("   ") == -1);
    CHECK(pt("soon") == -1);
    CHECK(ngx_http_outage_parse_time(U("2026-11-22\0"), 11) == -1);
    CHECK(ngx_http_outage_parse_time(U("17950\0"), 6) == -1);
    CHECK(ngx_http_outage_parse_time(NULL, 0) == -1);
}


static void
t_time_format(void)
{
    unsigned char  buf[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t         n;

    n = ngx_http_outage_format_time(buf, 0);
    CHECK(n == 17 && memcmp(buf, "1970-01-01T00:00Z", 18) == 0);

    n = ngx_http_outage_format_time(buf, 1795361400 + 59);
    CHECK(n == 17 && memcmp(buf, "2026-11-22T15:30Z", 18) == 0);

    n = ngx_http_outage_format_time(buf, 1709208000);
    CHECK(n == 17 && memcmp(buf, "2024-02-29T12:00Z", 18) == 0);

    n = ngx_http_outage_format_time(buf, 951782400 - 1);
    CHECK(n == 17 && memcmp(buf, "2000-02-28T23:59Z", 18) == 0);

    n = ngx_http_outage_format_time(buf, (time_t) -1);
    CHECK(n == 0 && buf[0] == '\0');

    if (sizeof(time_t) > 4) {
        n = ngx_http_outage_format_time(buf, (time_t) 253402300799LL);
        CHECK(n == 17 && memcmp(buf, "9999-12-31T23:59Z", 18) == 0);
        n = ngx_http_outage_format_time(buf, (time_t) 253402300800LL);
        CHECK(n == 0);
    }
}


static void
t_time_roundtrip(void)
{
    unsigned char  buf[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t         n, i;
    time_t         t, back;
    long long      span;

    rng_state = 0x12345678;
    span = sizeof(time_t) > 4 ? 253402300799LL : 2147483647LL;

    for (i = 0; i < 20000; i++) {
        t = (time_t) ((((long long) rng() << 20) ^ rng()) % (span + 1));
        n = ngx_http_outage_format_time(buf, t);
        back = ngx_http_outage_parse_time(buf, n);

        if (back != t - t % 60) {
            CHECK(back == t - t % 60);
            printf("  t=%lld \"%.*s\"\n", (long long) t, (int) n, buf);
            break;
        }
    }
}


static void
t_time_ago(void)
{
    time_t  now = 1795361400;

    CHECK(ago_is(now, now, "just now"));
    CHECK(ago_is(now - 59, now, "just now"));
    CHECK(ago_is(now - 60, now, "1 min ago"));
    CHECK(ago_is(now - 180, now, "3 min ago"));
    CHECK(ago_is(now - 3599, now, "59 min ago"));
    CHECK(ago_is(now - 7200, now, "2 h ago"));
    CHECK(ago_is(now - 47 * 3600, now, "47 h ago"));
    CHECK(ago_is(now - 3 * 86400, now, "3 days ago"));
    CHECK(ago_is(now + 30, now, "in under a minute"));
    CHECK(ago_is(now + 900, now, "in 15 min"));
    CHECK(ago_is(now + 841, now, "in 15 min"));
    CHECK(ago_is(now + 3600, now, "in 1 h"));
    CHECK(ago_is(now + 3601, now, "in 2 h"));
    CHECK(ago_is(now + 5 * 86400, now, "in 5 days"));
    CHECK(ago_is(0, now, "20779 days ago"));
}


static void
t_time_ago_cut(void)
{
    unsigned char  buf[32];
    size_t         n;

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_format_ago(buf, 3, 0, 180);
    CHECK(n == 9);
    CHECK(buf[0] == CANARY);

    n = ngx_http_outage_format_ago(NULL, 0, 0, 180);
    CHECK(n == 9);

    if (sizeof(time_t) == 8) {
        n = ngx_http_outage_format_ago(buf, sizeof(buf),
                                       (time_t) INT64_MIN, (time_t) INT64_MAX);
        CHECK(n > 0 && n < NGX_HTTP_OUTAGE_AGO_LEN);
        n = ngx_http_outage_format_ago(buf, sizeof(buf),
                                       (time_t) INT64_MAX, (time_t) INT64_MIN);
        CHECK(n > 0 && n < NGX_HTTP_OUTAGE_AGO_LEN);
    }
}


/* ---- states ----------------------------------------------------------- */

static void
t_states(void)
{
    CHECK(state("ok") == NGX_HTTP_OUTAGE_STATE_OK);
    CHECK(state("UP") == NGX_HTTP_OUTAGE_STATE_OK);
    CHECK(state("Degraded") == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(state("down") == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(state("OUTAGE") == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(state(" maintenance ") == NGX_HTTP_OUTAGE_STATE_MAINTENANCE);
    /* what "echo down | redis-cli -x HSET key state" stores */
    CHECK(state("down\n") == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(state("\r\nok\r\n") == NGX_HTTP_OUTAGE_STATE_OK);
    CHECK(state("\tdegraded\v\f") == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(state("do\nwn") == -1);
    CHECK(state("") == -1);
    CHECK(state("none") == -1);
    CHECK(state("dow") == -1);
    CHECK(state("downn") == -1);
    CHECK(state("maintenanc3") == -1);
    CHECK(ngx_http_outage_parse_state(U("ok\0"), 3) == -1);
    CHECK(ngx_http_outage_parse_state(NULL, 0) == -1);
}


static void
t_state_names(void)
{
    CHECK(strcmp(ngx_http_outage_state_name(NGX_HTTP_OUTAGE_STATE_NONE),
                 "none") == 0);
    CHECK(strcmp(ngx_http_outage_state_name(NGX_HTTP_OUTAGE_STATE_OK),
                 "ok") == 0);
    CHECK(strcmp(ngx_http_outage_state_name(NGX_HTTP_OUTAGE_STATE_DEGRADED),
                 "degraded") == 0);
    CHECK(strcmp(ngx_http_outage_state_name(NGX_HTTP_OUTAGE_STATE_DOWN),
                 "down") == 0);
    CHECK(strcmp(ngx_http_outage_state_name(
                     NGX_HTTP_OUTAGE_STATE_MAINTENANCE), "maintenance") == 0);
    CHECK(strcmp(ngx_http_outage_state_name(42), "unknown") == 0);
    CHECK(strcmp(ngx_http_outage_state_name(-1), "unknown") == 0);
}


/* ---- templates -------------------------------------------------------- */

static void
t_tpl_html(void)
{
    tpl_var_t  vars[] = {
        { "message", "<b>\"Hi\" & 'bye'</b>", 0 },
        { "state", "down", 0 },
        { NULL, NULL, 0 }
    };

    CHECK(render_is("<p class=\"{{state}}\">{{message}}</p>",
                    NGX_HTTP_OUTAGE_TPL_HTML, vars,
                    "<p class=\"down\">&lt;b&gt;&quot;Hi&quot; &amp; "
                    "&#39;bye&#39;&lt;/b&gt;</p>"));
    CHECK(render_is("{{message}}", 42, vars,
                    "&lt;b&gt;&quot;Hi&quot; &amp; &#39;bye&#39;&lt;/b&gt;"));
    CHECK(render_is("", NGX_HTTP_OUTAGE_TPL_HTML, vars, ""));
    CHECK(render_is("no tags", NGX_HTTP_OUTAGE_TPL_HTML, vars, "no tags"));
}


static void
t_tpl_raw(void)
{
    tpl_var_t  vars[] = {
        { "css", "<style>b{}</style>", 0 },
        { NULL, NULL, 0 }
    };

    CHECK(render_is("{{css|raw}}", NGX_HTTP_OUTAGE_TPL_HTML, vars,
                    "<style>b{}</style>"));
    CHECK(render_is("{{ css | raw }}", NGX_HTTP_OUTAGE_TPL_JSON, vars,
                    "<style>b{}</style>"));
    /* only "raw" is a filter */
    CHECK(render_is("{{css|html}}", NGX_HTTP_OUTAGE_TPL_HTML, vars,
                    "{{css|html}}"));
}


static void
t_tpl_json(void)
{
    tpl_var_t  vars[] = {
        { "message", "say \"hi\"\n</script>", 0 },
        { "eta", "1795361400", 0 },
        { NULL, NULL, 0 }
    };

    CHECK(render_is("{\"message\":\"{{message}}\",\"eta\":{{eta|raw}}}",
                    NGX_HTTP_OUTAGE_TPL_JSON, vars,
                    "{\"message\":\"say \\\"hi\\\"\\n\\u003c/script\\u003e\","
                    "\"eta\":1795361400}"));
}


static void
t_tpl_unknown(void)
{
    tpl_var_t  vars[] = { { NULL, NULL, 0 } };

    CHECK(render_is("[{{nope}}]", NGX_HTTP_OUTAGE_TPL_HTML, vars, "[]"));
    CHECK(render_is("[{{#nope}}x{{/nope}}]", NGX_HTTP_OUTAGE_TPL_HTML, vars,
                    "[]"));
    CHECK(render_is("[{{^nope}}x{{/nope}}]", NGX_HTTP_OUTAGE_TPL_HTML, vars,
                    "[x]"));

    /* no lookup at all */
    CHECK(ngx_http_outage_tpl_render(NULL, 0, U("a{{b}}c"), 7,
                                     NGX_HTTP_OUTAGE_TPL_HTML, NULL, NULL)
          == 2);
}


static void
t_tpl_sections(void)
{
    tpl_var_t  with[] = {
        { "eta", "15:30", 0 },
        { "empty", "", 0 },
        { NULL, NULL, 0 }
    };
    tpl_var_t  without[] = { { NULL, NULL, 0 } };

    CHECK(render_is("A{{#eta}} ETA {{eta}}.{{/eta}}B",
                    NGX_HTTP_OUTAGE_TPL_HTML, with, "A ETA 15:30.B"));
    CHECK(render_is("A{{#eta}} ETA {{eta}}.{{/eta}}B",
                    NGX_HTTP_OUTAGE_TPL_HTML, without, "AB"));
    CHECK(render_is("{{#empty}}x{{/empty}}{{^empty}}y{{/empty}}",
                    NGX_HTTP_OUTAGE_TPL_HTML, with, "y"));
    CHECK(render_is("{{^eta}}no eta{{/eta}}", NGX_HTTP_OUTAGE_TPL_HTML,
                    with, ""));
    CHECK(render_is("{{#eta}}{{/eta}}", NGX_HTTP_OUTAGE_TPL_HTML, with, ""));
    /* a section can repeat */
    CHECK(render_is("{{#eta}}1{{/eta}}-{{#eta}}2{{/eta}}",
                    NGX_HTTP_OUTAGE_TPL_HTML, with, "1-2"));
}


static void
t_tpl_nested(void)
{
    tpl_var_t  ab[] = { { "a", "1", 0 }, { "b", "2", 0 }, { NULL, NULL, 0 } };
    tpl_var_t  a[] = { { "a", "1", 0 }, { NULL, NULL, 0 } };
    tpl_var_t  b[] = { { "b", "2", 0 }, { NULL, NULL, 0 } };
    const char *t = "<{{#a}}A{{#b}}B{{b}}{{/b}}a{{/a}}>";

    CHECK(render_is(t, NGX_HTTP_OUTAGE_TPL_HTML, ab, "<AB2a>"));
    CHECK(render_is(t, NGX_HTTP_OUTAGE_TPL_HTML, a, "<Aa>"));
    CHECK(render_is(t, NGX_HTTP_OUTAGE_TPL_HTML, b, "<>"));

    /* same name nested */
    CHECK(render_is("{{#a}}x{{#a}}y{{/a}}z{{/a}}", NGX_HTTP_OUTAGE_TPL_HTML,
                    a, "xyz"));
    CHECK(render_is("{{#a}}x{{^a}}y{{/a}}z{{/a}}", NGX_HTTP_OUTAGE_TPL_HTML,
                    a, "xz"));
    CHECK(render_is("{{#b}}x{{#a}}y{{/a}}z{{/b}}w", NGX_HTTP_OUTAGE_TPL_HTML,
                    a, "w"));
}


static void
t_tpl_malformed(void)
{
    tpl_var_t  a[] = { { "a", "<1>", 0 }, { NULL, NULL, 0 } };

    CHECK(render_is("{{", NGX_HTTP_OUTAGE_TPL_HTML, a, "{{"));
    CHECK(render_is("x{", NGX_HTTP_OUTAGE_TPL_HTML, a, "x{"));
    CHECK(render_is("{{a", NGX_HTTP_OUTAGE_TPL_HTML, a, "{{a"));
    CHECK(render_is("{{a}", NGX_HTTP_OUTAGE_TPL_HTML, a, "{{a}"));
    CHECK(render_is("{{ }}", NGX_HTTP_OUTAGE_TPL_HTML, a, "{{ }}"));
    CHECK(render_is("{{}}", NGX_HTTP_OUTAGE_TPL_HTML, a, "{{}}"));
    CHECK(render_is("}}{{a b}}", NGX_HTTP_OUTAGE_TPL_HTML, a, "}}{{a b}}"));
    CHECK(render_is("{{#a}}x", NGX_HTTP_OUTAGE_TPL_HTML, a, "{{#a}}x"));
    CHECK(render_is("x{{/a}}", NGX_HTTP_OUTAGE_TPL_HTML, a, "x{{/a}}"));
    CHECK(render_is("{{#a|raw}}", NGX_HTTP_OUTAGE_TPL_HTML, a,
                    "{{#a|raw}}"));
    CHECK(render_is("{{{a}}}", NGX_HTTP_OUTAGE_TPL_HTML, a, "{&lt;1&gt;}"));
    CHECK(render_is("{{{{a}}", NGX_HTTP_OUTAGE_TPL_HTML, a, "{{&lt;1&gt;"));
    /* crossed sections: inner open finds no close inside the outer one */
    CHECK(render_is("{{#a}}1{{#b}}2{{/a}}3{{/b}}", NGX_HTTP_OUTAGE_TPL_HTML,
                    a, "1{{#b}}23{{/b}}"));
    /* a name longer than 64 is not a tag */
    CHECK(render_is("{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaaaa}}", NGX_HTTP_OUTAGE_TPL_HTML, a,
                    "{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaaaa}}"));
    /* values are never re-interpreted as template text */
    {
        tpl_var_t  v[] = { { "a", "{{a}}", 0 }, { NULL, NULL, 0 } };

        CHECK(render_is("{{a}}", NGX_HTTP_OUTAGE_TPL_HTML, v, "{{a}}"));
    }
}


static void
t_tpl_depth(void)
{
    char           tpl[1024];
    unsigned char  out[2048];
    size_t         n, off;
    int            i;
    tpl_var_t      vars[] = { { "a", "1", 0 }, { NULL, NULL, 0 } };
    const char    *e;

    /* 17 nested sections: the 17th cannot be shown as a section */
    tpl[0] = '\0';
    for (i = 0; i < 17; i++) {
        strcat(tpl, "{{#a}}");
    }
    strcat(tpl, "x");
    for (i = 0; i < 17; i++) {
        strcat(tpl, "{{/a}}");
    }

    n = render(tpl, NGX_HTTP_OUTAGE_TPL_HTML, vars, out, sizeof(out));
    CHECK(n == strlen("{{#a}}x{{/a}}"));
    CHECK(memcmp(out, "{{#a}}x{{/a}}", n) == 0);

    e = check(tpl, &off);
    CHECK(e != NULL && strstr(e, "deeply") != NULL);
    CHECK(off == 16 * 6);

    /* 16 is fine */
    tpl[0] = '\0';
    for (i = 0; i < 16; i++) {
        strcat(tpl, "{{#a}}");
    }
    strcat(tpl, "x");
    for (i = 0; i < 16; i++) {
        strcat(tpl, "{{/a}}");
    }

    n = render(tpl, NGX_HTTP_OUTAGE_TPL_HTML, vars, out, sizeof(out));
    CHECK(n == 1 && out[0] == 'x');
    CHECK(check(tpl, &off) == NULL);
}


static void
t_tpl_cut(void)
{
    unsigned char  buf[64];
    size_t         n;
    tpl_var_t      vars[] = { { "a", "&\xc3\xa9", 0 }, { NULL, NULL, 0 } };

    /* "x" + "&amp;" + e-acute: at 4 bytes only "x" fits */
    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_tpl_render(buf, 4, U("x{{a}}y"), 7,
                                   NGX_HTTP_OUTAGE_TPL_HTML, lookup_vars,
                                   vars);
    CHECK(n == 9);
    CHECK(buf[0] == 'x' && buf[1] == CANARY && buf[4] == CANARY);

    /* a literal multibyte character is not split either */
    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_tpl_render(buf, 2, U("a\xe2\x9c\x93"), 4,
                                   NGX_HTTP_OUTAGE_TPL_HTML, lookup_vars,
                                   vars);
    CHECK(n == 4);
    CHECK(buf[0] == 'a' && buf[1] == CANARY);
}


static void
t_tpl_check(void)
{
    size_t       off;
    const char  *e;

    CHECK(check("", &off) == NULL);
    CHECK(check("<p>{{message}}</p>{{#eta}}{{eta}}{{/eta}}", &off) == NULL);
    CHECK(check("{{#a}}{{^b}}{{c|raw}}{{/b}}{{/a}}", &off) == NULL);
    CHECK(check("css { color: red } }}", &off) == NULL);

    e = check("abc {{message", &off);
    CHECK(e != NULL && strstr(e, "unclosed") != NULL && off == 4);

    e = check("ab{{bad name}}", &off);
    CHECK(e != NULL && strstr(e, "invalid") != NULL && off == 2);

    e = check("x{{/a}}", &off);
    CHECK(e != NULL && strstr(e, "without") != NULL && off == 1);

    e = check("{{#a}}{{#b}}{{/a}}{{/b}}", &off);
    CHECK(e != NULL && strstr(e, "does not match") != NULL && off == 12);

    e = check("{{#a}}x{{#b}}y{{/b}}", &off);
    CHECK(e != NULL && strstr(e, "unclosed section") != NULL && off == 0);

    e = check("{{{a}}}", &off);
    CHECK(e != NULL && off == 0);

    /* Redis-provided fields are always escaped: "|raw" on them is refused */
    e = check("<p>{{ message | raw }}</p>", &off);
    CHECK(e != NULL && strstr(e, "|raw") != NULL && off == 3);
    e = check("{{#eta}}{{eta|raw}}{{/eta}}", &off);
    CHECK(e != NULL && strstr(e, "Redis") != NULL && off == 8);
    CHECK(check("{{link|raw}}", &off) != NULL && off == 0);
    CHECK(check("{{components|raw}}{{message}}{{eta_iso|raw}}{{links|raw}}",
                &off) == NULL);

    /* offset may be NULL */
    CHECK(ngx_http_outage_tpl_check(U("{{"), 2, NULL) != NULL);
}


static void
t_measure_null(void)
{
    /* dst NULL: dst_size is ignored, nothing is touched */
    CHECK(ngx_http_outage_html_escape(NULL, 100, U("<>"), 2) == 8);
    CHECK(ngx_http_outage_json_escape(NULL, 100, U("\n"), 1) == 2);
    CHECK(ngx_http_outage_log_escape_cut(NULL, 100, U("\n"), 1) == 4);
    CHECK(ngx_http_outage_format_ago(NULL, 100, 0, 0) == 8);
    CHECK(ngx_http_outage_tpl_render(NULL, 100, U("x"), 1, 0, NULL, NULL)
          == 1);
    CHECK(ngx_http_outage_tpl_render(NULL, 0, NULL, 0, 0, NULL, NULL) == 0);
}


static void
t_json_cut_separator(void)
{
    unsigned char  buf[32];
    size_t         n;

    /* "\u2028" is one 6-byte unit */
    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_json_escape(buf, 8, U("ab\xe2\x80\xa8"), 5);
    CHECK(n == 8);
    CHECK(memcmp(buf, "ab\\u2028", 8) == 0);
    CHECK(buf[8] == CANARY);

    memset(buf, CANARY, sizeof(buf));
    n = ngx_http_outage_json_escape(buf, 7, U("ab\xe2\x80\xa8"), 5);
    CHECK(n == 8);
    CHECK(buf[0] == 'a' && buf[1] == 'b' && buf[2] == CANARY);
}


static void
t_sanitize_null_flag(void)
{
    unsigned char  out[8];
    size_t         n;

    /* truncated may be NULL */
    n = ngx_http_outage_sanitize(out, 4, U("abcdefgh"), 8, NULL);
    CHECK(n == 4 && memcmp(out, "a\xe2\x80\xa6", 4) == 0);

    n = ngx_http_outage_sanitize(out, 4, U("abc"), 3, NULL);
    CHECK(n == 3 && memcmp(out, "abc", 3) == 0);
}


static void
t_link_ipv6(void)
{
    CHECK(link_ok("https://[2001:db8::1]/"));
    CHECK(link_ok("http://[::ffff:10.0.0.1]:8080"));
    CHECK(!link_ok("https://[2001:db8::1/"));
    CHECK(!link_ok("https://[zz]/"));
    CHECK(!link_ok("https://[::1]x/"));
}


static void
t_tpl_json_sections(void)
{
    tpl_var_t  vars[] = {
        { "eta", "in 5 min", 0 },
        { "link", "https://s.example/?a=1&b=<2>", 0 },
        { NULL, NULL, 0 }
    };

    CHECK(render_is("{\"eta\":{{#eta}}\"{{eta}}\"{{/eta}}{{^eta}}null{{/eta}}"
                    ",\"link\":\"{{link}}\"}", NGX_HTTP_OUTAGE_TPL_JSON, vars,
                    "{\"eta\":\"in 5 min\",\"link\":"
                    "\"https://s.example/?a=1\\u0026b=\\u003c2\\u003e\"}"));
}


static int
lookup_null_value(void *ctx, const unsigned char *name, size_t name_len,
    const unsigned char **value, size_t *value_len)
{
    (void) ctx;
    (void) name;
    (void) name_len;

    /* "found", but with no bytes behind it */
    *value = NULL;
    *value_len = 5;

    return 1;
}


static void
t_tpl_null_value(void)
{
    unsigned char  out[32];
    size_t         n;

    n = ngx_http_outage_tpl_render(out, sizeof(out),
                                   U("[{{a}}{{#a}}x{{/a}}{{^a}}y{{/a}}]"), 33,
                                   NGX_HTTP_OUTAGE_TPL_HTML,
                                   lookup_null_value, NULL);
    CHECK(n == 3 && memcmp(out, "[y]", 3) == 0);
}


/* ---- randomised properties -------------------------------------------- */

static void
random_escaper(escape_pt fn, int kind)
{
    unsigned char  in[512], full[4096];
    size_t         len, need, k, w, j, b;
    int            iter;

    for (iter = 0; iter < 3000; iter++) {
        len = random_input(in, sizeof(in) / 2);
        need = run_escape(fn, in, len, full, sizeof(full));

        if (need + 1 + CANARY_LEN > 1024) {
            continue;
        }

        /* escaped output is always valid UTF-8 */
        if (kind != 2 && !oracle_utf8_ok(full, need)) {
            CHECK(oracle_utf8_ok(full, need));
            return;
        }

        for (k = 0; k <= need; k++) {
            w = written_len(fn, in, len, k, need);

            if (w == (size_t) -1) {
                CHECK(w != (size_t) -1);
                return;
            }

            /* a clean prefix of the full output ... */
            {
                unsigned char  tmp[1024];

                fn(tmp, k, in, len);

                if (memcmp(tmp, full, w) != 0) {
                    CHECK(memcmp(tmp, full, w) == 0);
                    return;
                }
            }

            /* ... ending on a unit boundary, as long as possible */
            for (j = 0; j < w; j += unit_len(kind, full, j, need)) {
                /* void */
            }

            if (j != w) {
                CHECK(j == w);
                printf("  kind %d: cut inside a unit at %zu\n", kind, w);
                return;
            }

            if (w < need) {
                b = unit_len(kind, full, w, need);

                if (w + b <= k) {
                    CHECK(w + b > k);
                    return;
                }
            }

            if (k == need && w != need) {
                CHECK(w == need);
                return;
            }
        }
    }
}


static void
t_random_html(void)
{
    rng_state = 0xC0FFEE01;
    random_escaper(ngx_http_outage_html_escape, 0);
}


static void
t_random_json(void)
{
    rng_state = 0xC0FFEE02;
    random_escaper(ngx_http_outage_json_escape, 1);
}


/*
 * The log escaper returns what it wrote, the others what the whole text
 * needs: for the shared checks (prefix, unit boundaries, canaries,
 * printable output) it is asked the others' way.
 */
static size_t
log_escape_need(unsigned char *dst, size_t dst_size, const unsigned char *src,
    size_t len)
{
    (void) ngx_http_outage_log_escape_cut(dst, dst_size, src, len);

    return ngx_http_outage_log_escape_cut(NULL, 0, src, len);
}


static void
t_random_log(void)
{
    unsigned char  in[256], full[1024], buf[1024 + CANARY_LEN];
    size_t         len, need, k, w, i;
    int            iter;

    rng_state = 0xC0FFEE03;
    random_escaper(log_escape_need, 2);

    /* what it says it wrote is written, within the room, as much as fits */
    for (iter = 0; iter < 2000; iter++) {
        len = random_input(in, sizeof(in));
        need = ngx_http_outage_log_escape_cut(NULL, 0, in, len);

        if (need > sizeof(full)) {
            continue;
        }

        CHECK(ngx_http_outage_log_escape_cut(full, sizeof(full), in, len)
              == need);

        for (k = 0; k <= need; k++) {
            memset(buf, CANARY, sizeof(buf));
            w = ngx_http_outage_log_escape_cut(buf, k, in, len);

            if (w > k || memcmp(buf, full, w) != 0
                || (w < need && k - w >= 4))
            {
                CHECK(w <= k && memcmp(buf, full, w) == 0
                      && !(w < need && k - w >= 4));
                return;
            }

            for (i = w; i < k + CANARY_LEN; i++) {
                if (buf[i] != CANARY) {
                    CHECK(buf[i] == CANARY);
                    return;
                }
            }
        }
    }
}


static void
t_random_sanitize(void)
{
    unsigned char  in[512], out[600];
    size_t         len, max, n, i;
    int            iter, trunc;

    rng_state = 0xC0FFEE04;

    for (iter = 0; iter < 20000; iter++) {
        len = random_input(in, sizeof(in));
        max = rng() % 64;

        memset(out, CANARY, sizeof(out));
        n = ngx_http_outage_sanitize(out, max, in, len, &trunc);

        CHECK(n <= max);
        CHECK(oracle_utf8_ok(out, n));
        CHECK(n == 0 || (out[0] != ' ' && out[n - 1] != ' '));

        for (i = 0; i < n; i++) {
            if (out[i] < 0x20 || out[i] == 0x7F
                || (out[i] == 0xC2 && i + 1 < n && out[i + 1] < 0xA0)
                || (i > 0 && out[i] == ' ' && out[i - 1] == ' '))
            {
                CHECK(!"control, C1 or double space in sanitised text");
                return;
            }
        }

        for (i = max; i < max + CANARY_LEN; i++) {
            if (out[i] != CANARY) {
                CHECK(out[i] == CANARY);
                return;
            }
        }

        if (trunc && max >= 3) {
            CHECK(n >= 3 && memcmp(out + n - 3, "\xe2\x80\xa6", 3) == 0);
        }

        if (current_failed) {
            return;
        }
    }
}


static void
t_random_template(void)
{
    static const char  *toks[] = {
        "{{a}}", "{{b}}", "{{c|raw}}", "{{#a}}", "{{/a}}", "{{^b}}", "{{/b}}",
        "{{#c}}", "{{/c}}", "{{", "}}", "{", "}", "x", " ", "<", "\xc3\xa9",
        "{{ a }}", "{{#z}}", "{{/z}}", "{{z}}", "\xe2\x9c\x93"
    };

    char           tpl[600];
    unsigned char  full[4096], a[4096], b[4096];
    size_t         tlen, need, k, w, i, n, amp;
    int            iter, mode;
    tpl_var_t      vars[] = {
        { "a", "&<\xc3\xa9>\"", 0 },
        { "b", "", 0 },
        { "c", "raw \xe2\x9c\x93", 0 },
        { NULL, NULL, 0 }
    };

    rng_state = 0xC0FFEE05;

    for (iter = 0; iter < 3000; iter++) {
        tlen = 0;
        n = rng() % 24;

        for (i = 0; i < n; i++) {
            k = rng() % (sizeof(toks) / sizeof(toks[0]));
            memcpy(tpl + tlen, toks[k], strlen(toks[k]));
            tlen += strlen(toks[k]);
        }

        tpl[tlen] = '\0';
        mode = (int) (rng() % 2);

        need = render(tpl, mode, vars, full, sizeof(full));

        if (!oracle_utf8_ok(full, need)) {
            CHECK(oracle_utf8_ok(full, need));
            return;
        }

        for (k = 0; k < need; k++) {
            memset(a, 0x00, k);
            memset(a + k, CANARY, CANARY_LEN);
            memset(b, 0xFF, k);
            memset(b + k, CANARY, CANARY_LEN);

            if (ngx_http_outage_tpl_render(a, k, U(tpl), tlen, mode,
                                           lookup_vars, vars) != need
                || ngx_http_outage_tpl_render(b, k, U(tpl), tlen, mode,
                                              lookup_vars, vars) != need)
            {
                CHECK(!"measure differs with a short buffer");
                return;
            }

            for (i = k; i < k + CANARY_LEN; i++) {
                if (a[i] != CANARY || b[i] != CANARY) {
                    CHECK(!"short buffer overrun");
                    return;
                }
            }

            for (w = 0; w < k && a[w] == b[w]; w++) {
                /* void */
            }

            if (memcmp(a, full, w) != 0 || !oracle_utf8_ok(a, w)) {
                CHECK(!"cut output is not a clean prefix");
                return;
            }

            /* no partial entity in HTML mode (no literal & in toks) */
            if (mode == NGX_HTTP_OUTAGE_TPL_HTML) {
                for (amp = w; amp > 0 && a[amp - 1] != '&'; amp--) {
                    /* void */
                }

                if (amp > 0 && memchr(a + amp, ';', w - amp) == NULL) {
                    CHECK(!"cut inside an entity");
                    return;
                }
            }
        }
    }
}


/* the page bodies' sink: one sequence of pieces, every buffer size */
static size_t
wr_sample(unsigned char *dst, size_t size)
{
    ngx_http_outage_wr_t  w;

    ngx_http_outage_wr_init(&w, dst, size);
    ngx_http_outage_wr_str(&w, "<p>");
    ngx_http_outage_wr_html(&w, U("a<b & \"c\""), 9);
    ngx_http_outage_wr_str(&w, "</p>{\"m\":");
    ngx_http_outage_wr_jstr(&w, U("x\n\"<"), 4);
    ngx_http_outage_wr_str(&w, ",\"e\":");
    ngx_http_outage_wr_jstr(&w, U(""), 0);
    ngx_http_outage_wr_str(&w, ",\"n\":");
    ngx_http_outage_wr_num(&w, -42);
    ngx_http_outage_wr_raw(&w, U("}"), 1);
    ngx_http_outage_wr_json(&w, U("\xff"), 1);

    return w.need;
}


static void
t_writer(void)
{
    static const char  want[] =
        "<p>a&lt;b &amp; &quot;c&quot;</p>{\"m\":\"x\\n\\\"\\u003c\","
        "\"e\":null,\"n\":-42}\\ufffd";
    unsigned char      buf[128], b24[24];
    size_t             n, size, len;

    len = sizeof(want) - 1;

    CHECK(wr_sample(NULL, 0) == len);
    memset(buf, CANARY, sizeof(buf));
    CHECK(wr_sample(buf, sizeof(buf)) == len);
    CHECK(memcmp(buf, want, len) == 0 && buf[len] == CANARY);

    /* short buffers: the full size is still reported, what is written is
     * a prefix made of whole pieces, and nothing past the size is touched */
    for (size = 0; size < len; size++) {
        memset(buf, CANARY, sizeof(buf));
        n = wr_sample(buf, size);
        CHECK(n == len);
        CHECK(buf[size] == CANARY);

        for (n = 0; n < size && buf[n] != CANARY; n++) { /* void */ }
        CHECK(memcmp(buf, want, n) == 0);
    }

    CHECK(ngx_http_outage_ltoa(b24, 0) == 1 && b24[0] == '0');
    CHECK(ngx_http_outage_ltoa(b24, 86400) == 5
          && memcmp(b24, "86400", 5) == 0);
    n = ngx_http_outage_ltoa(b24, LONG_MIN);
    len = (size_t) snprintf((char *) buf, sizeof(buf), "%ld", LONG_MIN);
    CHECK(n == len && memcmp(b24, buf, n) == 0);
    n = ngx_http_outage_ltoa(b24, LONG_MAX);
    len = (size_t) snprintf((char *) buf, sizeof(buf), "%ld", LONG_MAX);
    CHECK(n == len && memcmp(b24, buf, n) == 0);
}


static const unit_test_t  tests[] = {
    { "html_specials", t_html_specials },
    { "html_utf8", t_html_utf8 },
    { "html_invalid_utf8", t_html_invalid_utf8 },
    { "html_cut", t_html_cut },
    { "json_specials", t_json_specials },
    { "json_controls", t_json_controls },
    { "json_utf8", t_json_utf8 },
    { "json_cut", t_json_cut },
    { "log_escape", t_log_escape },
    { "log_escape_cut", t_log_escape_cut },
    { "log_cut", t_log_cut },
    { "log_preview", t_log_preview },
    { "sanitize_controls", t_sanitize_controls },
    { "sanitize_invalid", t_sanitize_invalid },
    { "sanitize_cut", t_sanitize_cut },
    { "sanitize_small_max", t_sanitize_small_max },
    { "sanitize_huge", t_sanitize_huge },
    { "link_valid", t_link_valid },
    { "link_invalid", t_link_invalid },
    { "html_ascii", t_html_ascii },
    { "time_valid", t_time_valid },
    { "time_invalid", t_time_invalid },
    { "time_format", t_time_format },
    { "time_roundtrip", t_time_roundtrip },
    { "time_ago", t_time_ago },
    { "time_ago_cut", t_time_ago_cut },
    { "parse_state", t_states },
    { "state_names", t_state_names },
    { "measure_null", t_measure_null },
    { "json_cut_separator", t_json_cut_separator },
    { "sanitize_null_flag", t_sanitize_null_flag },
    { "link_ipv6", t_link_ipv6 },
    { "time_offsets", t_time_offsets },
    { "time_leap_years", t_time_leap_years },
    { "tpl_json_sections", t_tpl_json_sections },
    { "tpl_null_value", t_tpl_null_value },
    { "tpl_html", t_tpl_html },
    { "tpl_raw", t_tpl_raw },
    { "tpl_json", t_tpl_json },
    { "tpl_unknown", t_tpl_unknown },
    { "tpl_sections", t_tpl_sections },
    { "tpl_nested", t_tpl_nested },
    { "tpl_malformed", t_tpl_malformed },
    { "tpl_depth", t_tpl_depth },
    { "tpl_cut", t_tpl_cut },
    { "tpl_check", t_tpl_check },
    { "random_html", t_random_html },
    { "random_json", t_random_json },
    { "random_log", t_random_log },
    { "random_sanitize", t_random_sanitize },
    { "random_template", t_random_template },
    { "writer", t_writer },
};


int
main(void)
{
    return unit_run("text", tests, sizeof(tests) / sizeof(tests[0]));
}
