
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
 * The type a browser reads from a Content-Type value is Fetch's "extract
 * a MIME type", not what nginx keeps (nginx cuts its copy before ";" only
 * for a "charset=" parameter right after spaces, and keeps the white space
 * before ";"): the value is a list, split on commas outside quoted
 * strings ("text/html;level=1, text/plain" is text/plain; a proxy folds
 * two Content-Type lines into one so); each item is parsed as a MIME type
 * (WHATWG MIME Sniffing, "parse a MIME type"); the last one that parses,
 * but the wildcard type, is the type, with its own charset or, if it has
 * none, that of the item of the same type before it.
 *
 * Browsers differ at the edges: Chromium reads "text/plain x" as
 * text/plain where Fetch skips it, keeps the latest charset of a run of
 * one type where Fetch keeps the first, and takes a charset parameter
 * Fetch skips.  So a list is trusted only when it cannot matter which
 * item or parameter a browser takes: every item (empty ones and a bare
 * wildcard aside) parses to the same type, and the charset looked at is
 * one ASCII cannot go in if any charset parameter names one.  Anything
 * else is "no type we can trust", which gets no banner.
 *
 * The positions are offsets into the value, which is never copied.
 */

typedef struct {
    size_t   type;                       /* the essence: type/subtype */
    size_t   type_end;
    size_t   cs;                         /* the charset parameter's value */
    size_t   cs_end;
    size_t   bad;                        /* a charset ASCII cannot go in */
    size_t   bad_end;
    unsigned has_cs:1;
    unsigned has_bad:1;
} ngx_http_outage_mime_t;


#define NGX_HTTP_OUTAGE_MIME_NONE     0  /* no type: sniffed */
#define NGX_HTTP_OUTAGE_MIME_OK       1
#define NGX_HTTP_OUTAGE_MIME_UNSURE   2  /* browsers may read it apart */


static int ngx_http_outage_http_ws(int c);
static int ngx_http_outage_token(const unsigned char *p, size_t start,
    size_t end);
static size_t ngx_http_outage_quoted(const unsigned char *p, size_t i,
    size_t end, size_t *value_end);
static void ngx_http_outage_label(const unsigned char *p, size_t *start,
    size_t *end);
static int ngx_http_outage_mime_parse(const unsigned char *p, size_t start,
    size_t end, ngx_http_outage_mime_t *m);
static int ngx_http_outage_mime_extract(const unsigned char *p, size_t len,
    ngx_http_outage_mime_t *m);


/*
 * "out" gets the essence in lower case; 0 is returned for a value with no
 * type (sniffed, as without the header), (size_t) -1 for one that does
 * not fit or that browsers may read as different types
 */

size_t
ngx_http_outage_type_essence(const unsigned char *p, size_t len,
    unsigned char *out, size_t size)
{
    size_t                cs_len;
    const unsigned char  *cs;

    return ngx_http_outage_content_type(p, len, out, size, &cs, &cs_len);
}


/*
 * The banner filter needs both the essence and the charset of the same
 * value: one parse gives them (a parse is most of what deciding on a
 * response costs before its body comes)
 */

size_t
ngx_http_outage_content_type(const unsigned char *p, size_t len,
    unsigned char *out, size_t size, const unsigned char **cs, size_t *cs_len)
{
    size_t                  i, start, end;
    ngx_http_outage_mime_t  m;

    *cs = NULL;
    *cs_len = 0;

    /*
     * The values nginx and most upstreams write for a page need no parse:
     * for exactly these bytes the parse gives exactly this (tested)
     */

    if (size >= sizeof("text/html") - 1
        && len >= sizeof("text/html") - 1
        && memcmp(p, "text/html", sizeof("text/html") - 1) == 0)
    {
        if (len == sizeof("text/html") - 1) {
            memcpy(out, "text/html", sizeof("text/html") - 1);
            return sizeof("text/html") - 1;
        }

        if (len == sizeof("text/html; charset=utf-8") - 1
            && (memcmp(p + 9, "; charset=utf-8", 15) == 0
                || memcmp(p + 9, "; charset=UTF-8", 15) == 0))
        {
            memcpy(out, "text/html", sizeof("text/html") - 1);
            *cs = p + sizeof("text/html; charset=") - 1;
            *cs_len = sizeof("utf-8") - 1;
            return sizeof("text/html") - 1;
        }
    }

    /* set by the parse; zeroed for compilers that cannot see it is */
    memset(&m, 0, sizeof(ngx_http_outage_mime_t));

    switch (ngx_http_outage_mime_extract(p, len, &m)) {

    case NGX_HTTP_OUTAGE_MIME_NONE:
        return 0;

    case NGX_HTTP_OUTAGE_MIME_UNSURE:
        return (size_t) -1;

    default:
        break;
    }

    /* see ngx_http_outage_charset_param() */

    if (m.has_bad) {
        *cs = p + m.bad;
        *cs_len = m.bad_end - m.bad;

    } else if (m.has_cs) {
        start = m.cs;
        end = m.cs_end;
        ngx_http_outage_label(p, &start, &end);

        *cs = p + start;
        *cs_len = end - start;
    }

    if (m.type_end - m.type > size) {
        return (size_t) -1;
    }

    for (i = m.type; i < m.type_end; i++) {
        out[i - m.type] = (unsigned char) ngx_http_outage_sniff_lc(p[i]);
    }

    return m.type_end - m.type;
}


/*
 * Another Content-Type header (add_header Content-Type over the type
 * nginx has): browsers read all the lines as one list, so each line must
 * be a page on its own
 */

int
ngx_http_outage_not_html(const unsigned char *p, size_t len)
{
    size_t                n, cslen;
    unsigned char         type[sizeof("text/html") - 1];
    const unsigned char  *cs;

    n = ngx_http_outage_content_type(p, len, type, sizeof(type), &cs,
                                     &cslen);

    if (n != sizeof(type) || memcmp(type, "text/html", n) != 0) {
        return 1;
    }

    return cs && !ngx_http_outage_charset_ascii(cs, cslen);
}


/* Fetch's "extract a MIME type" over one header value, as trusted above */

static int
ngx_http_outage_mime_extract(const unsigned char *p, size_t len,
    ngx_http_outage_mime_t *m)
{
    int                     found;
    size_t                  i, k, start, s, e, wild;
    ngx_http_outage_mime_t  t, first;

    found = 0;
    wild = len;
    memset(&first, 0, sizeof(ngx_http_outage_mime_t));

    /* Fetch, "get, decode, and split" a header value */

    for (i = 0; /* void */; i++) {
        start = i;

        for ( ;; ) {
            while (i < len && p[i] != '"' && p[i] != ',') {
                i++;
            }

            if (i < len && p[i] == '"') {
                i = ngx_http_outage_quoted(p, i, len, NULL);

                if (i < len) {
                    continue;
                }
            }

            break;
        }

        /* p[start .. i) is one item; i is at a comma or the end */

        for (s = start; s < i && ngx_http_outage_http_ws(p[s]); s++) {
            /* void */
        }

        for (e = i; e > s && ngx_http_outage_http_ws(p[e - 1]); e--) {
            /* void */
        }

        if (e - s == 3 && memcmp(p + s, "*/*", 3) == 0) {
            wild = s;
        }

        if (e == s || s == wild) {
            goto next;
        }

        if (!ngx_http_outage_mime_parse(p, s, e, &t)) {
            return NGX_HTTP_OUTAGE_MIME_UNSURE;
        }

        if (found) {
            if (t.type_end - t.type != m->type_end - m->type) {
                return NGX_HTTP_OUTAGE_MIME_UNSURE;
            }

            for (k = 0; k < t.type_end - t.type; k++) {
                if (ngx_http_outage_sniff_lc(p[t.type + k])
                    != ngx_http_outage_sniff_lc(p[m->type + k]))
                {
                    return NGX_HTTP_OUTAGE_MIME_UNSURE;
                }
            }

            /* the same type: Fetch keeps the charset of the first */

            if (!t.has_cs && first.has_cs) {
                t.has_cs = 1;
                t.cs = first.cs;
                t.cs_end = first.cs_end;
            }

            if (!t.has_bad && m->has_bad) {
                t.has_bad = 1;
                t.bad = m->bad;
                t.bad_end = m->bad_end;
            }
        }

        if (!found) {
            first = t;
            found = 1;
        }

        *m = t;

    next:

        if (i >= len) {
            break;
        }
    }

    if (found) {
        return NGX_HTTP_OUTAGE_MIME_OK;
    }

    if (wild == len) {
        return NGX_HTTP_OUTAGE_MIME_NONE;
    }

    /* only the wildcard type: a type browsers sniff, as nginx names it */

    m->type = wild;
    m->type_end = wild + 3;
    m->has_cs = 0;
    m->has_bad = 0;

    return NGX_HTTP_OUTAGE_MIME_OK;
}


/*
 * WHATWG MIME Sniffing, "parse a MIME type", of p[start .. end): the
 * essence, the first valid charset parameter, and any charset parameter
 * that names an encoding ASCII cannot go in
 */

static int
ngx_http_outage_mime_parse(const unsigned char *p, size_t start, size_t end,
    ngx_http_outage_mime_t *m)
{
    size_t  i, s, e, name, name_end, ne, vs, ve, k;

    while (start < end && ngx_http_outage_http_ws(p[start])) {
        start++;
    }

    while (end > start && ngx_http_outage_http_ws(p[end - 1])) {
        end--;
    }

    for (i = start; i < end && p[i] != '/'; i++) {
        /* void */
    }

    if (i == start || i == end || !ngx_http_outage_token(p, start, i)) {
        return 0;
    }

    s = ++i;

    while (i < end && p[i] != ';') {
        i++;
    }

    for (e = i; e > s && ngx_http_outage_http_ws(p[e - 1]); e--) {
        /* void */
    }

    if (e == s || !ngx_http_outage_token(p, s, e)) {
        return 0;
    }

    m->type = start;
    m->type_end = e;
    m->has_cs = 0;
    m->has_bad = 0;

    while (i < end) {

        /* p[i] is ';' */

        for (i++; i < end && ngx_http_outage_http_ws(p[i]); i++) {
            /* void */
        }

        name = i;

        while (i < end && p[i] != ';' && p[i] != '=') {
            i++;
        }

        name_end = i;

        if (i < end) {
            if (p[i] == ';') {
                continue;
            }

            i++;
        }

        if (i >= end) {
            break;
        }

        if (p[i] == '"') {
            vs = i + 1;
            i = ngx_http_outage_quoted(p, i, end, &ve);

            while (i < end && p[i] != ';') {
                i++;
            }

        } else {
            vs = i;

            while (i < end && p[i] != ';') {
                i++;
            }

            for (ve = i; ve > vs && ngx_http_outage_http_ws(p[ve - 1]); ve--) {
                /* void */
            }

            if (ve == vs) {
                continue;
            }
        }

        /* Chromium takes "charset =" too */

        for (ne = name_end;
             ne > name && ngx_http_outage_http_ws(p[ne - 1]);
             ne--)
        {
            /* void */
        }

        if (ne - name != sizeof("charset") - 1) {
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

        /* any charset parameter, even one Fetch skips, may be read */

        s = vs;
        e = ve;
        ngx_http_outage_label(p, &s, &e);

        if (!m->has_bad && !ngx_http_outage_charset_ascii(p + s, e - s)) {
            m->has_bad = 1;
            m->bad = s;
            m->bad_end = e;
        }

        /* the first one whose value has no control character counts */

        if (m->has_cs || ne != name_end) {
            continue;
        }

        for (k = vs; k < ve; k++) {
            if ((p[k] < 0x20 && p[k] != '\t') || p[k] == 0x7f) {
                break;
            }
        }

        if (k < ve) {
            continue;
        }

        m->has_cs = 1;
        m->cs = vs;
        m->cs_end = ve;
    }

    return 1;
}


/*
 * Fetch, "collect an HTTP quoted string" from p[i], a '"': the position
 * after it; *value_end (if not NULL) is where its text ends, before the
 * closing '"' (the text is left escaped: see charset_ascii())
 */

static size_t
ngx_http_outage_quoted(const unsigned char *p, size_t i, size_t end,
    size_t *value_end)
{
    for (i++; i < end; i++) {

        if (p[i] == '\\') {
            if (++i == end) {
                break;
            }

            continue;
        }

        if (p[i] == '"') {
            if (value_end) {
                *value_end = i;
            }

            return i + 1;
        }
    }

    if (value_end) {
        *value_end = end;
    }

    return end;
}


/* WHATWG Encoding, "get an encoding": the label without ASCII whitespace */

static void
ngx_http_outage_label(const unsigned char *p, size_t *start, size_t *end)
{
    while (*start < *end
           && (ngx_http_outage_http_ws(p[*start]) || p[*start] == '\f'))
    {
        (*start)++;
    }

    while (*end > *start
           && (ngx_http_outage_http_ws(p[*end - 1]) || p[*end - 1] == '\f'))
    {
        (*end)--;
    }
}


static int
ngx_http_outage_http_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/* RFC 9110 5.6.2 token characters */

static int
ngx_http_outage_token(const unsigned char *p, size_t start, size_t end)
{
    for ( /* void */ ; start < end; start++) {
        if (!ngx_http_outage_tchar(p[start])) {
            return 0;
        }
    }

    return 1;
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


/*
 * RFC 9110 5.6.2 tchar, by a table: every response with a banner due has
 * its Content-Type read, a strchr() per character cost more than the rest
 * of the parse
 */

static const unsigned char  ngx_http_outage_tchars[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1
};


static int
ngx_http_outage_tchar(int c)
{
    return ngx_http_outage_tchars[c & 0xff];
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
 * Vary: every member of the list, white space around it (OWS) and empty
 * members (RFC 9110 5.6.1) skipped; "*" varies on everything
 */

int
ngx_http_outage_vary_lists(const unsigned char *p, size_t len,
    const char *name, size_t name_len)
{
    size_t  i, k, start, end;

    i = 0;

    while (i < len) {

        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == ',')) {
            i++;
        }

        start = i;

        while (i < len && p[i] != ',') {
            i++;
        }

        end = i;

        while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
            end--;
        }

        if (end - start == 1 && p[start] == '*') {
            return 1;
        }

        if (end - start != name_len) {
            continue;
        }

        for (k = 0; k < name_len; k++) {
            if (ngx_http_outage_sniff_lc(p[start + k])
                != ngx_http_outage_sniff_lc((unsigned char) name[k]))
            {
                break;
            }
        }

        if (k == name_len) {
            return 1;
        }
    }

    return 0;
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
    size_t        i, j;
    const char  **s;

    for (s = ngx_http_outage_not_ascii; *s; s++) {

        /*
         * a quoted label's escapes are skipped: "utf\-16" is read as
         * "utf-16" (a backslash is in no label, so nothing is lost)
         */

        for (i = 0, j = 0; (*s)[i] != '\0' && j < len; j++) {
            if (charset[j] == '\\') {
                continue;
            }

            if (ngx_http_outage_sniff_lc(charset[j]) != (*s)[i]) {
                break;
            }

            i++;
        }

        if ((*s)[i] == '\0') {
            return 0;
        }
    }

    return 1;
}


/*
 * The charset to look at in a Content-Type value: one that names an
 * encoding ASCII cannot go in if any charset parameter does (browsers may
 * read any of them, see ngx_http_outage_mime_extract()), else that of the
 * type Fetch reads; without the white space around it that WHATWG
 * Encoding's "get an encoding" strips, and for a quoted value without the
 * quotes but with its escapes.
 */

const unsigned char *
ngx_http_outage_charset_param(const unsigned char *p, size_t len,
    size_t *out_len)
{
    unsigned char         type[1];
    const unsigned char  *cs;

    /* the essence is not wanted: it does not fit one byte, which is fine */
    (void) ngx_http_outage_content_type(p, len, type, 0, &cs, out_len);

    return cs;
}


void
ngx_http_outage_sniff_init(ngx_http_outage_sniff_t *s)
{
    memset(s, 0, sizeof(ngx_http_outage_sniff_t));
}


/*
 * WHATWG MIME Sniffing, "identifying a resource with an unknown MIME
 * type": after whitespace, one of these, case-insensitively, followed by
 * a space or ">", all in the first NGX_HTTP_OUTAGE_SNIFF_MAX bytes.  What
 * every browser reads as HTML, no more:
 *
 * - whitespace is space, tab, LF and CR: WHATWG adds FF, Chromium FF and
 *   VT, but Firefox (nsUnknownDecoder, NS_IsAsciiWhitespace) skips only
 *   these four and shows "\f<html>" as text;
 * - the tag and its terminator are in the first 512 bytes: Firefox's
 *   buffer (WHATWG reads 1445 bytes; Chromium takes a tag cut off at its
 *   512th byte, Firefox needs the terminator inside its 512);
 * - a byte order mark is not whitespace: a body that starts with one is
 *   text/plain to a browser (its BOM pattern comes after the HTML ones),
 *   shown as source.
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
            && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
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

