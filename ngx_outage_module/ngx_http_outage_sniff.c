
/*
 * ngx_outage_module: is a response HTML a browser renders as a page.
 * See ngx_http_outage_sniff.h.
 */


#include <string.h>

#include "ngx_http_outage_sniff.h"


static int ngx_http_outage_sniff_lc(int c);
static int ngx_http_outage_first_is(const unsigned char *p, size_t len,
    int sep, const char *word);
static int ngx_http_outage_sniff_decide(ngx_http_outage_sniff_t *s);
static int ngx_http_outage_tchar(int c);


/*
 * What a browser renders as an HTML page, by WHATWG MIME Sniffing
 * ("determining the computed MIME type of a resource", navigation):
 *
 * - text/html: an HTML document;
 * - no type, "unknown/unknown", "application/unknown" or the wildcard
 *   type (star, slash, star): sniffed,
 *   a page only if the body starts like HTML, and only without
 *   "X-Content-Type-Options: nosniff" (scriptable types are then never
 *   sniffed);
 * - any other type is taken as it is named and never sniffed to HTML:
 *   text/plain shows as text, application/x-foo or octet-stream download,
 *   CSS, scripts, JSON, images... are not pages.
 *
 * application/xhtml+xml renders as a document, but through an XML parser
 * that shows an error instead of the page over one construct that is not
 * well-formed XML: the built-in banner is, but its place is found by HTML's
 * rules (before whatever implies <body>: outside any element in XML), and
 * templates may hold HTML-only markup, so it is left out.  An allow-list, not a deny-list: a type a browser may download must
 * never be changed, and nobody can list them all.
 */

static const char  *ngx_http_outage_unknown_type[] = {
    "unknown/unknown", "application/unknown", "*/*", NULL
};


int
ngx_http_outage_type_class(const unsigned char *type, size_t len)
{
    const char  **s;

    /* nginx keeps the white space before ";" that browsers strip */
    while (len && (type[len - 1] == ' ' || type[len - 1] == '\t')) {
        len--;
    }

    if (len == sizeof("text/html") - 1
        && memcmp(type, "text/html", len) == 0)
    {
        return NGX_HTTP_OUTAGE_TYPE_HTML;
    }

    if (len == 0) {
        return NGX_HTTP_OUTAGE_TYPE_SNIFF;
    }

    for (s = ngx_http_outage_unknown_type; *s; s++) {
        if (len == strlen(*s) && memcmp(type, *s, len) == 0) {
            return NGX_HTTP_OUTAGE_TYPE_SNIFF;
        }
    }

    return NGX_HTTP_OUTAGE_TYPE_NEVER;
}


/*
 * nginx cuts its copy of the type before ";" only for a "charset="
 * parameter right after spaces ("text/html;level=1", "text/html;<TAB>
 * charset=..." keep the parameters), and keeps the white space before
 * ";": browsers (WHATWG MIME Sniffing, "parse a MIME type") take the type
 * up to ";", without white space, in any case.
 */

size_t
ngx_http_outage_type_essence(const unsigned char *p, size_t len,
    unsigned char *out, size_t size)
{
    size_t  i, start, end;

    for (end = 0; end < len && p[end] != ';'; end++) {
        /* void */
    }

    for (start = 0; start < end && (p[start] == ' ' || p[start] == '\t');
         start++)
    {
        /* void */
    }

    while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
        end--;
    }

    if (end - start > size) {
        return (size_t) -1;
    }

    for (i = start; i < end; i++) {
        out[i - start] = (unsigned char) ngx_http_outage_sniff_lc(p[i]);
    }

    return end - start;
}


/*
 * Another Content-Type header (add_header Content-Type over the type
 * nginx has): browsers take the last one, so each must be a page
 */

int
ngx_http_outage_not_html(const unsigned char *p, size_t len)
{
    size_t                n, cslen;
    unsigned char         type[sizeof("text/html") - 1];
    const unsigned char  *cs;

    n = ngx_http_outage_type_essence(p, len, type, sizeof(type));

    if (n != sizeof(type) || memcmp(type, "text/html", n) != 0) {
        return 1;
    }

    cs = ngx_http_outage_charset_param(p, len, &cslen);

    return cs && !ngx_http_outage_charset_ascii(cs, cslen);
}


/*
 * Content-Disposition (RFC 6266 4.2: a type other than "inline" is
 * handled as "attachment") as browsers read it.  A download must stay the
 * bytes the server has, so a response is rendered (may get a banner) only
 * if every engine renders it in the tab:
 *
 * - Firefox (NS_GetContentDispositionFromHeader): the type is the first
 *   word, up to ";" or white space; inline if it is empty, "inline" in any
 *   case, or starts with "filename" (sites that send only the parameter);
 *   anything else is an attachment, a quoted "\"inline\"" and "name=..."
 *   too.
 * - Chromium (HttpContentDisposition): the type is the text up to ";"
 *   without white space; empty or not an RFC 9110 token (a quote, "=", a
 *   space inside) means no type: inline, as "inline" is; any other token
 *   is an attachment.
 * - Safari (WebKit's ResourceResponse::isAttachment()) downloads only
 *   "attachment": it renders everything the two others render.
 *
 * So: "", "; filename=a", "inline", "filename=\"a.html\"", "filename*=..."
 * and "inline anything" are rendered by all; "attachment", unknown types,
 * "\"inline\"" (Firefox downloads it), "name=\"a\"" (Firefox) and
 * "filenamex" (a token: Chromium downloads it) are downloads.
 */

int
ngx_http_outage_disposition_download(const unsigned char *p, size_t len)
{
    size_t  i, start, end;

    /* Firefox: the first word */

    for (start = 0;
         start < len && (p[start] == ' ' || p[start] == '\t');
         start++)
    {
        /* void */
    }

    for (end = start;
         end < len && p[end] != ';' && p[end] != ' ' && p[end] != '\t';
         end++)
    {
        /* void */
    }

    if (!(end == start
          || ngx_http_outage_first_is(p + start, end - start, ';', "inline")
             == 1
          || (end - start >= 8
              && ngx_http_outage_first_is(p + start, 8, ';', "filename")
                 == 1)))
    {
        return 1;
    }

    /* Chromium, WebKit: the text up to ";", a token or no type */

    for (end = 0; end < len && p[end] != ';'; end++) {
        /* void */
    }

    while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
        end--;
    }

    if (end == start
        || ngx_http_outage_first_is(p + start, end - start, ';', "inline")
           == 1)
    {
        return 0;
    }

    for (i = start; i < end; i++) {
        if (!ngx_http_outage_tchar(p[i])) {
            return 0;
        }
    }

    return 1;
}


/* RFC 9110 5.6.2 tchar */

static int
ngx_http_outage_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}


/*
 * X-Content-Type-Options (Fetch, "determine nosniff"): the first value of
 * the comma-separated list, without white space around it, is "nosniff"
 * case-insensitively
 */

int
ngx_http_outage_nosniff(const unsigned char *p, size_t len)
{
    return ngx_http_outage_first_is(p, len, ',', "nosniff") == 1;
}


/*
 * The first item of a header value up to "sep", without white space
 * around it: -1 if it is empty, 1 if it is "word" (lower case) in any
 * case, 0 otherwise
 */

static int
ngx_http_outage_first_is(const unsigned char *p, size_t len, int sep,
    const char *word)
{
    size_t  i, n, start, end;

    for (end = 0; end < len && p[end] != sep; end++) {
        /* void */
    }

    for (start = 0; start < end && (p[start] == ' ' || p[start] == '\t');
         start++)
    {
        /* void */
    }

    while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
        end--;
    }

    if (end == start) {
        return -1;
    }

    n = strlen(word);

    if (end - start != n) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_outage_sniff_lc(p[start + i]) != word[i]) {
            return 0;
        }
    }

    return 1;
}


/*
 * Encodings that are not ASCII-compatible (WHATWG Encoding: UTF-16BE/LE,
 * ISO-2022-JP and the "replacement" labels; also UTF-32, UCS-2/4, UTF-7
 * and EBCDIC code pages, which browsers do not decode as ASCII either):
 * the banner's ASCII bytes would misalign or garble the document.
 */

static const char  *ngx_http_outage_not_ascii[] = {
    "utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4",
    "unicode", "csunicode", "iso-10646-ucs", "iso-2022", "csiso2022",
    "hz-gb-2312", "replacement", "utf-7", "utf7", "ebcdic", "cp037",
    "ibm037", "cp500", "ibm500", "cp875", "cp1026", "ibm1026", "cp1047",
    "ibm1047", NULL
};


int
ngx_http_outage_charset_ascii(const unsigned char *charset, size_t len)
{
    size_t        i, n;
    const char  **s;

    for (s = ngx_http_outage_not_ascii; *s; s++) {
        n = strlen(*s);

        if (len < n) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (ngx_http_outage_sniff_lc(charset[i]) != (*s)[i]) {
                break;
            }
        }

        if (i == n) {
            return 0;
        }
    }

    return 1;
}


/*
 * The charset parameter of a Content-Type value: parameters are walked
 * one by one (RFC 9110 5.6.6), so "charset=" inside another parameter's
 * quoted value is not taken for it, and the value is the label a browser
 * reads: unquoted, without the white space around it (WHATWG Encoding,
 * "get an encoding").
 */

const unsigned char *
ngx_http_outage_charset_param(const unsigned char *p, size_t len,
    size_t *out_len)
{
    size_t  i, k, name, name_end, start, end;

    for (i = 0; i < len && p[i] != ';'; i++) {
        /* void */
    }

    while (i < len) {

        /* p[i] is ';' */

        for (i++; i < len && (p[i] == ' ' || p[i] == '\t'); i++) {
            /* void */
        }

        name = i;

        while (i < len && p[i] != '=' && p[i] != ';') {
            i++;
        }

        name_end = i;

        while (name_end > name
               && (p[name_end - 1] == ' ' || p[name_end - 1] == '\t'))
        {
            name_end--;
        }

        if (i == len || p[i] == ';') {
            continue;
        }

        for (i++; i < len && (p[i] == ' ' || p[i] == '\t'); i++) {
            /* void */
        }

        if (i < len && p[i] == '"') {
            start = ++i;

            while (i < len && p[i] != '"') {
                i += (p[i] == '\\' && i + 1 < len) ? 2 : 1;
            }

            end = (i < len) ? i : len;

        } else {
            start = i;

            while (i < len && p[i] != ';') {
                i++;
            }

            end = i;
        }

        while (i < len && p[i] != ';') {
            i++;
        }

        if (name_end - name != sizeof("charset") - 1) {
            continue;
        }

        for (k = 0; k < sizeof("charset") - 1; k++) {
            if (ngx_http_outage_sniff_lc(p[name + k]) != "charset"[k]) {
                break;
            }
        }

        if (k < sizeof("charset") - 1) {
            continue;
        }

        while (start < end && (p[start] == ' ' || p[start] == '\t')) {
            start++;
        }

        while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
            end--;
        }

        *out_len = end - start;

        return p + start;
    }

    return NULL;
}


void
ngx_http_outage_sniff_init(ngx_http_outage_sniff_t *s)
{
    memset(s, 0, sizeof(ngx_http_outage_sniff_t));
}


/*
 * WHATWG MIME Sniffing, "identifying a resource with an unknown MIME
 * type": after whitespace, one of these, case-insensitively, followed by
 * a space or ">", all in the first NGX_HTTP_OUTAGE_SNIFF_MAX bytes.  A
 * byte order mark is not whitespace: a body that starts with one is
 * text/plain to a browser (its BOM pattern comes after the HTML ones),
 * shown as source, so it is not HTML here either.
 */

static const char  *ngx_http_outage_html_sig[] = {
    "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div",
    "<font", "<table", "<a", "<style", "<title", "<b", "<body", "<br", "<p",
    "<!--", NULL
};


int
ngx_http_outage_sniff_feed(ngx_http_outage_sniff_t *s,
    const unsigned char *p, size_t len)
{
    int     rc;
    size_t  i;

    for (i = 0; i < len; i++) {

        if (s->seen++ == NGX_HTTP_OUTAGE_SNIFF_MAX) {
            return NGX_HTTP_OUTAGE_SNIFF_NO;
        }

        if (s->n == 0
            && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'
                || p[i] == '\f'))
        {
            continue;
        }

        s->bytes[s->n++] = p[i];

        rc = ngx_http_outage_sniff_decide(s);

        if (rc != NGX_HTTP_OUTAGE_SNIFF_MORE) {
            return rc;
        }
    }

    return NGX_HTTP_OUTAGE_SNIFF_MORE;
}


int
ngx_http_outage_sniff_finish(ngx_http_outage_sniff_t *s)
{
    (void) s;

    return NGX_HTTP_OUTAGE_SNIFF_NO;
}


static int
ngx_http_outage_sniff_decide(ngx_http_outage_sniff_t *s)
{
    int           open;
    size_t        i, n;
    const char  **sig;

    open = 0;

    for (sig = ngx_http_outage_html_sig; *sig; sig++) {
        n = strlen(*sig);

        for (i = 0; i < s->n && i < n; i++) {
            if (ngx_http_outage_sniff_lc(s->bytes[i]) != (*sig)[i]) {
                break;
            }
        }

        if (i < s->n && i < n) {
            continue;                              /* not this one */
        }

        if (s->n <= n) {
            open = 1;                              /* may still be */
            continue;
        }

        if (s->bytes[n] == ' ' || s->bytes[n] == '>') {
            return NGX_HTTP_OUTAGE_SNIFF_HTML;
        }
    }

    if (open && s->n < NGX_HTTP_OUTAGE_SNIFF_LEN) {
        return NGX_HTTP_OUTAGE_SNIFF_MORE;
    }

    return NGX_HTTP_OUTAGE_SNIFF_NO;
}


static int
ngx_http_outage_sniff_lc(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

