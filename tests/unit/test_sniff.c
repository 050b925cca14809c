
/*
 * Unit tests for ngx_http_outage_sniff.c: the types that never get a
 * banner, the charsets an ASCII banner cannot go into, and the WHATWG MIME
 * Sniffing HTML signature, fed whole and split at every byte.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_http_outage_sniff.h"


static int  failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                   \
            failed = 1;                                                      \
        }                                                                    \
    } while (0)


static int
type(const char *t)
{
    return ngx_http_outage_type_class((const unsigned char *) t, strlen(t));
}


/* 1 if the essence of Content-Type "ct" is "want" */

static int
essence(const char *ct, const char *want)
{
    size_t         n;
    unsigned char  out[64];

    n = ngx_http_outage_type_essence((const unsigned char *) ct, strlen(ct),
                                     out, sizeof(out));

    return n == strlen(want) && memcmp(out, want, n) == 0;
}


/*
 * ngx_http_outage_content_type(): the essence "want" (NULL: the value is
 * refused, (size_t) -1) and the charset "want_cs" (NULL: none) of "ct"
 * in one parse, each as type_essence() and charset_param() give it alone
 */

static int
one_parse(const char *ct, const char *want, const char *want_cs)
{
    size_t                n, cslen, cslen1;
    unsigned char         out[64], out1[64];
    const unsigned char  *cs, *cs1;

    n = ngx_http_outage_content_type((const unsigned char *) ct, strlen(ct),
                                     out, sizeof(out), &cs, &cslen);

    if (want == NULL ? n != (size_t) -1
                     : n != strlen(want) || memcmp(out, want, n) != 0)
    {
        return 0;
    }

    if (want_cs == NULL ? cs != NULL
                        : cs == NULL || cslen != strlen(want_cs)
                          || memcmp(cs, want_cs, cslen) != 0)
    {
        return 0;
    }

    if (ngx_http_outage_type_essence((const unsigned char *) ct, strlen(ct),
                                     out1, sizeof(out1))
        != n
        || (n != (size_t) -1 && memcmp(out, out1, n) != 0))
    {
        return 0;
    }

    cs1 = ngx_http_outage_charset_param((const unsigned char *) ct,
                                        strlen(ct), &cslen1);

    return cs1 == cs && (cs == NULL || cslen1 == cslen);
}


static int
not_html(const char *ct)
{
    return ngx_http_outage_not_html((const unsigned char *) ct, strlen(ct));
}


static int
ascii(const char *cs)
{
    return ngx_http_outage_charset_ascii((const unsigned char *) cs,
                                         strlen(cs));
}


/* the answer for body "b" fed in two pieces split at "at" (then finished) */

static int
sniff_split(const char *b, size_t len, size_t at)
{
    int                      rc;
    ngx_http_outage_sniff_t  s;

    ngx_http_outage_sniff_init(&s);

    rc = ngx_http_outage_sniff_feed(&s, (const unsigned char *) b, at);
    if (rc == NGX_HTTP_OUTAGE_SNIFF_MORE) {
        rc = ngx_http_outage_sniff_feed(&s, (const unsigned char *) b + at,
                                        len - at);
    }

    if (rc == NGX_HTTP_OUTAGE_SNIFF_MORE) {
        rc = ngx_http_outage_sniff_finish(&s);
    }

    return rc;
}


static int
sniff(const char *b, size_t len)
{
    size_t  at;
    int     rc, r2;

    rc = sniff_split(b, len, len);

    for (at = 0; at < len; at++) {
        r2 = sniff_split(b, len, at);
        if (r2 != rc) {
            printf("FAIL split of \"%s\" at %zu\n", b, at);
            failed = 1;
        }
    }

    return rc;
}

#define S(lit)  sniff(lit, sizeof(lit) - 1)


/* 1: a page an ASCII banner can go in, for Fetch and Chromium alike */

static const struct {
    const char  *ct;
    int          page;
} ct_list[] = {
    { "text/html, text/plain", 0 },
    { "text/html;charset=utf-8, text/plain", 0 },
    { "text/html;level=1, text/plain", 0 },
    { "text/html;,text/plain", 0 },
    { "TEXT/HTML;utf-8,text/plain", 0 },
    { "text/html;\t;,text/plain", 0 },
    { "text/html;charset=,utf-8text/plain ", 0 },
    { "text/html;TEXT/HTMLcharset=,text/plain", 0 },
    { "TEXT/HTML;text/plain,TEXT/HTMLutf-16", 0 },
    { "TEXT/HTML\t;,\tx/html", 0 },
    { "TEXT/HTML;,TEXT/HTMLx", 0 },
    { "\tTEXT/HTML;,text/plain", 0 },
    { "TEXT/HTML;\\ ,text/plain", 0 },
    { "text/html;x=\"a,b\", text/plain", 0 },
    { "text/html;charset=utf-8, text/html;charset=utf-16", 0 },
    { "text/html;charset=utf-16, text/html", 0 },
    { "text/html;charset=\"utf\\-16\"", 0 },
    { "text/html;charset=;charset=utf-16", 0 },
    { "text/html;charset=utf-8\x01;charset=utf-16", 0 },
    { "text/html;charset=utf-8;charset=utf-16", 0 },
    { "text/html, text/plain garbage", 0 },          /* Chromium: plain */
    { "text/html, garbage", 0 },
    { "text/html, */*;q=1", 0 },
    { "text/plain, text/html", 0 },                  /* safe-side miss */
    { "text/html;level=1, text/html;charset=utf-8", 1 },
    { "text/html, */*", 1 },
    { "text/html, ", 1 },
    { ",text/html", 1 },
    { "text/html;x=\"a,text/plain\"", 1 },
    { "text/html;charset=\"utf-8\", TEXT/HTML", 1 },
    { "text/html;charset=\"utf-8,utf-16\"", 1 },   /* an unknown label */
    { NULL, 0 }
};


int
main(void)
{
    size_t                i, n;
    char                  ws[1506];
    unsigned char         lc[64];
    size_t                cslen;
    const unsigned char  *cs;
    const char           *ct;

    CHECK(type("text/html") == NGX_HTTP_OUTAGE_TYPE_HTML);

    /* essence and charset in one parse, as the two functions alone */
    CHECK(one_parse("text/html", "text/html", NULL));
    CHECK(one_parse("text/html; charset=utf-8", "text/html", "utf-8"));
    CHECK(one_parse("text/html; charset=UTF-8", "text/html", "UTF-8"));
    CHECK(one_parse("text/html;charset=utf-8", "text/html", "utf-8"));
    CHECK(one_parse("text/html; charset=utf-16", "text/html", "utf-16"));
    CHECK(one_parse("text/html; charset=utf-8 ", "text/html", "utf-8"));
    CHECK(one_parse("text/html;", "text/html", NULL));
    CHECK(one_parse("text/htmlx", "text/htmlx", NULL));
    CHECK(one_parse("text/html, text/plain", NULL, NULL));
    CHECK(ngx_http_outage_content_type((const unsigned char *) "text/html",
                                       9, lc, 8, &cs, &cslen)
          == (size_t) -1 && cs == NULL);
    CHECK(one_parse("Text/HTML;Charset=\" UTF-8 \"", "text/html", "UTF-8"));
    CHECK(one_parse("text/html; charset=utf-8, text/html; charset=utf-16",
                    "text/html", "utf-16"));
    CHECK(one_parse("text/html, text/plain;charset=koi8-r", NULL, NULL));
    CHECK(one_parse("", "", NULL));
    /* every tchar (RFC 9110 5.6.2) is a token character, no other is */
    CHECK(one_parse("a!#$%&'*+-.^_`|~0Z/b!#$%&'*+-.^_`|~9z",
                    "a!#$%&'*+-.^_`|~0z/b!#$%&'*+-.^_`|~9z", NULL));
    for (i = 1; i < 256; i++) {
        char  t[16];
        int   tc;

        tc = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z')
             || (i >= '0' && i <= '9') || strchr("!#$%&'*+-.^_`|~", (int) i);
        if (i == ',' || i == '"' || i == ';' || i == '/' || i == ' '
            || i == '\t' || i == '\r' || i == '\n')
        {
            continue;
        }
        snprintf(t, sizeof(t), "te%cxt/html", (int) i);
        n = ngx_http_outage_type_essence((const unsigned char *) t,
                                         strlen(t), lc, sizeof(lc));
        CHECK(tc ? n == 10 : n == (size_t) -1);
        snprintf(t, sizeof(t), "text/ht%cml", (int) i);
        n = ngx_http_outage_type_essence((const unsigned char *) t,
                                         strlen(t), lc, sizeof(lc));
        CHECK(tc ? n == 10 : n == (size_t) -1);
    }
    /* an essence that does not fit still has its charset read */
    CHECK(ngx_http_outage_content_type(
              (const unsigned char *) "text/html;charset=utf-16", 24, lc, 4,
              &cs, &cslen)
          == (size_t) -1
          && cs && cslen == 6 && memcmp(cs, "utf-16", 6) == 0);

    /* the type browsers read, whatever parameters nginx left on it */
    CHECK(essence("text/html", "text/html"));
    CHECK(essence("TEXT/Html ; charset=utf-8", "text/html"));
    CHECK(essence("text/html;\tcharset=utf-8", "text/html"));
    CHECK(essence("text/html; foo=bar", "text/html"));
    CHECK(essence("text/html;level=1", "text/html"));
    CHECK(essence(" \ttext/html\t", "text/html"));
    /* no type a browser can be trusted to read: never a page */
    CHECK(ngx_http_outage_type_essence((const unsigned char *) "; cs=x",
                                       6, lc, sizeof(lc))
          == (size_t) -1);
    CHECK(essence("", ""));
    CHECK(ngx_http_outage_type_essence((const unsigned char *) "text/html",
                                       9, lc, 8)
          == (size_t) -1);

    /*
     * a comma list (Fetch, "extract a MIME type": the last type that
     * parses), trusted only if every item is the same type and no
     * charset parameter names an encoding ASCII cannot go in; the
     * reviewer's divergent values first
     */
    for (i = 0; ct_list[i].ct; i++) {
        n = strlen(ct_list[i].ct);
        if ((!ngx_http_outage_not_html((const unsigned char *) ct_list[i].ct,
                                       n))
            != ct_list[i].page)
        {
            printf("FAIL list \"%s\": page %d\n", ct_list[i].ct,
                   ct_list[i].page);
            failed = 1;
        }
    }

    CHECK(essence("text/plain, text/plain;charset=utf-8", "text/plain"));
    CHECK(essence("*/*, text/html", "text/html"));
    CHECK(essence(" , ,text/html,", "text/html"));
    CHECK(essence("*/*", "*/*"));
    CHECK(essence(" , ", ""));
    CHECK(ngx_http_outage_type_essence(
              (const unsigned char *) "text/html, text/plain", 21, lc,
              sizeof(lc))
          == (size_t) -1);
    CHECK(ngx_http_outage_type_essence(
              (const unsigned char *) "text/plain x", 12, lc, sizeof(lc))
          == (size_t) -1);

    /* Fetch keeps the charset of the first item of one type */
    ct = "text/html;charset=koi8-r, text/html;charset=utf-8, text/html";
    cs = ngx_http_outage_charset_param((const unsigned char *) ct,
                                       strlen(ct), &cslen);
    CHECK(cs && cslen == 6 && memcmp(cs, "koi8-r", 6) == 0);
    /* a charset ASCII cannot go in wins, wherever it is */
    ct = "text/html;charset=utf-8, text/html;charset=\"UTF-16\"";
    cs = ngx_http_outage_charset_param((const unsigned char *) ct,
                                       strlen(ct), &cslen);
    CHECK(cs && cslen == 6 && memcmp(cs, "UTF-16", 6) == 0);

    /* another Content-Type header: a page only if it is text/html */
    CHECK(!not_html("text/html"));
    CHECK(!not_html("Text/HTML ;level=1"));
    CHECK(!not_html("text/html; charset=utf-8"));
    CHECK(not_html("text/html; charset=utf-16"));
    CHECK(not_html("text/plain"));
    CHECK(not_html("text/htmlx"));
    CHECK(not_html(""));
    CHECK(not_html("application/unknown"));
    CHECK(type("text/plain") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("text/html \t") == NGX_HTTP_OUTAGE_TYPE_HTML);  /* "; cs" */
    CHECK(type(" ") == NGX_HTTP_OUTAGE_TYPE_SNIFF);
    CHECK(type("text/css") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("text/javascript") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/javascript") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/json") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/problem+json") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("image/svg+xml") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/xhtml+xml") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/rss+xml") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("text/xml") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("image/png") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/octet-stream") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    /* named types are never sniffed to HTML by a browser: downloads */
    CHECK(type("application/x-php") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/x-foo") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("application/x-msdownload") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("text/html-sandboxed") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("text/htm") == NGX_HTTP_OUTAGE_TYPE_NEVER);
    CHECK(type("") == NGX_HTTP_OUTAGE_TYPE_SNIFF);
    CHECK(type("unknown/unknown") == NGX_HTTP_OUTAGE_TYPE_SNIFF);
    CHECK(type("application/unknown") == NGX_HTTP_OUTAGE_TYPE_SNIFF);
    CHECK(type("*/*") == NGX_HTTP_OUTAGE_TYPE_SNIFF);
    CHECK(type("*/*x") == NGX_HTTP_OUTAGE_TYPE_NEVER);

#define DISP(lit)                                                            \
    !ngx_http_outage_disposition_download((const unsigned char *) lit,       \
                                          sizeof(lit) - 1)
    CHECK(DISP("inline"));
    CHECK(DISP(" InLine ; filename=a.html"));
    CHECK(DISP(""));
    CHECK(DISP("  ; filename=a.html"));
    CHECK(!DISP("attachment"));
    CHECK(!DISP("attachment; filename=\"inline\""));
    CHECK(!DISP("ATTACHMENT;filename=a.html"));
    CHECK(!DISP("form-data; name=x"));            /* unknown: attachment */
    CHECK(!DISP("inlinex"));
    /* as browsers read it (see ngx_http_outage_disposition_download()) */
    CHECK(DISP("inline x"));                      /* Firefox: "inline";
                                                     Chromium: no token */
    CHECK(DISP("filename=\"p.html\""));           /* no type: all inline */
    CHECK(DISP("FileName=p.html"));
    CHECK(DISP(" filename*=UTF-8''p.html"));
    CHECK(DISP("filename = \"p.html\"; x=y"));
    CHECK(!DISP("filenamex"));                    /* a token: Chromium */
    CHECK(!DISP("filename"));
    CHECK(!DISP("\"inline\""));                   /* Firefox downloads */
    CHECK(!DISP("\"inline\"; filename=a.html"));
    CHECK(!DISP("name=\"p.html\""));              /* Firefox downloads */
    CHECK(!DISP("attachment x"));                 /* Firefox: attachment */
    CHECK(!DISP("x-unknown"));
    CHECK(!DISP("Attachment ; filename=a.html"));

#define NOSNIFF(lit)                                                         \
    ngx_http_outage_nosniff((const unsigned char *) lit, sizeof(lit) - 1)
    CHECK(NOSNIFF("nosniff"));
    CHECK(NOSNIFF(" NoSniff , other"));
    CHECK(!NOSNIFF("other, nosniff"));            /* the first value only */
    CHECK(!NOSNIFF("nosniffx"));
    CHECK(!NOSNIFF(""));

#define VARY(lit)                                                            \
    ngx_http_outage_vary_lists((const unsigned char *) lit, sizeof(lit) - 1, \
                               "Sec-Fetch-Dest", sizeof("Sec-Fetch-Dest") - 1)
    CHECK(VARY("Sec-Fetch-Dest"));
    CHECK(VARY("sec-fetch-dest"));
    CHECK(VARY("Accept-Encoding, SEC-FETCH-DEST"));
    CHECK(VARY("Accept-Encoding,Sec-Fetch-Dest ,Cookie"));
    CHECK(VARY(" ,\tSec-Fetch-Dest\t, "));
    CHECK(VARY("*"));
    CHECK(VARY("Cookie, *"));
    CHECK(!VARY(""));
    CHECK(!VARY("Accept-Encoding"));
    CHECK(!VARY("Sec-Fetch-Destination"));
    CHECK(!VARY("Sec-Fetch-Des"));
    CHECK(!VARY("X-Sec-Fetch-Dest"));
    CHECK(!VARY("Sec-Fetch-Dest-X, Sec-Fetch-Mode"));
    CHECK(!VARY("**"));
    CHECK(!VARY("\"Sec-Fetch-Dest\""));

    CHECK(!ascii("utf-16le"));
    CHECK(!ascii("UTF-16"));
    CHECK(!ascii("utf-32BE"));
    CHECK(!ascii("ISO-2022-JP"));
    CHECK(!ascii("unicodeFFFE"));
    CHECK(ascii("utf-8"));
    CHECK(ascii("koi8-r"));
    CHECK(ascii("windows-1251"));
    CHECK(ascii("shift_jis"));
    CHECK(ascii(""));

    ct = "text/html; charset=\"UTF-16LE\"; x=y";
    cs = ngx_http_outage_charset_param((const unsigned char *) ct,
                                       strlen(ct), &cslen);
    CHECK(cs && cslen == 8 && memcmp(cs, "UTF-16LE", 8) == 0);
    ct = "text/html;foo=bar;Charset=koi8-r";
    cs = ngx_http_outage_charset_param((const unsigned char *) ct,
                                       strlen(ct), &cslen);
    CHECK(cs && cslen == 6 && memcmp(cs, "koi8-r", 6) == 0);
    /* the label as a browser reads it: unquoted, without spaces */
    ct = "text/html; charset=\" utf-16\"";
    cs = ngx_http_outage_charset_param((const unsigned char *) ct,
                                       strlen(ct), &cslen);
    CHECK(cs && cslen == 6 && memcmp(cs, "utf-16", 6) == 0);
    CHECK(!ngx_http_outage_charset_ascii(cs, cslen));
    /* charset= inside another parameter's quoted value is not the charset */
    ct = "text/html; x=\"a;charset=utf-8\"; charset=utf-16";
    cs = ngx_http_outage_charset_param((const unsigned char *) ct,
                                       strlen(ct), &cslen);
    CHECK(cs && cslen == 6 && memcmp(cs, "utf-16", 6) == 0);
    ct = "text/html; x=\"a\\\";charset=utf-16\"";
    CHECK(ngx_http_outage_charset_param((const unsigned char *) ct,
                                        strlen(ct), &cslen) == NULL);
    ct = "text/html; mycharset=utf-16;charset= koi8-r ";
    cs = ngx_http_outage_charset_param((const unsigned char *) ct,
                                       strlen(ct), &cslen);
    CHECK(cs && cslen == 6 && memcmp(cs, "koi8-r", 6) == 0);
    /* "charset " is no parameter name to Fetch, but is one to Chromium */
    CHECK(not_html("text/html; charset = utf-16"));
    CHECK(!not_html("text/html; charset = koi8-r"));
    ct = "text/html";
    CHECK(ngx_http_outage_charset_param((const unsigned char *) ct,
                                        strlen(ct), &cslen) == NULL);

    CHECK(S("<!DOCTYPE html><html>") == NGX_HTTP_OUTAGE_SNIFF_HTML);
    CHECK(S("  \r\n\t<html lang=en>") == NGX_HTTP_OUTAGE_SNIFF_HTML);
    CHECK(S("<p>text") == NGX_HTTP_OUTAGE_SNIFF_HTML);
    CHECK(S("<!-- c --><p>") == NGX_HTTP_OUTAGE_SNIFF_HTML);
    CHECK(S("<a href=x>") == NGX_HTTP_OUTAGE_SNIFF_HTML);
    CHECK(S("<b>") == NGX_HTTP_OUTAGE_SNIFF_HTML);
    CHECK(S("<br>") == NGX_HTTP_OUTAGE_SNIFF_HTML);
    CHECK(S("<body>") == NGX_HTTP_OUTAGE_SNIFF_HTML);

    CHECK(S("{\"ok\":true}") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("body { color: red }") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("<?xml version=\"1.0\"?><svg>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("<svg xmlns=x>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("<pre>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("<abbr>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("<html") == NGX_HTTP_OUTAGE_SNIFF_NO);       /* ends: no */
    CHECK(S("<htmlx>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("hello <html>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("   ") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("\xef\xbb<html>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    /* a BOM is not whitespace: browsers show such a body as text */
    CHECK(S("\xef\xbb\xbf<HTML>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("\xef\xbb\xbf <!doctype html>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("\xfe\xff<html>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("\xff\xfe<html>") == NGX_HTTP_OUTAGE_SNIFF_NO);

    /*
     * whitespace before the tag is what every browser skips: Firefox does
     * not skip FF (WHATWG and Chromium do), nor VT (Chromium does)
     */
    CHECK(S("\f<html>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S(" \f<html>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("\v<html>") == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S(" \t\r\n<html>") == NGX_HTTP_OUTAGE_SNIFF_HTML);

    /*
     * the tag with its ">" in the first 512 bytes, as Firefox reads
     * (Chromium also takes a tag cut off at byte 512)
     */
    memset(ws, ' ', sizeof(ws));
    memcpy(ws + 506, "<html>", 6);
    CHECK(sniff(ws, 512) == NGX_HTTP_OUTAGE_SNIFF_HTML);
    memset(ws, '\n', sizeof(ws));
    memcpy(ws + 507, "<html>", 6);
    CHECK(sniff(ws, 513) == NGX_HTTP_OUTAGE_SNIFF_NO);
    memset(ws, ' ', sizeof(ws));
    memcpy(ws + 1500, "<html>", 6);
    CHECK(sniff(ws, 1506) == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(sniff(ws, 1500) == NGX_HTTP_OUTAGE_SNIFF_NO);
    CHECK(S("\x89PNG\r\n") == NGX_HTTP_OUTAGE_SNIFF_NO);

    printf("%s test_sniff\n", failed ? "FAIL" : "ok");

    return failed;
}
