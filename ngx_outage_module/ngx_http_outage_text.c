
/*
 * ngx_outage_module: text helpers (pure C, no nginx headers, no allocation).
 *
 * Owns escaping (HTML, JSON, error log), sanitising untrusted text for
 * storage, link validation, time/state parsing and formatting, and the
 * {{placeholder}} template renderer.  See ngx_http_outage_text.h for the
 * output contract.
 *
 * Every "measure then write" function is built on one output sink
 * (ngx_http_outage_out_t): the same code runs for measuring and writing,
 * so the two can never disagree about the length.
 */


#include <string.h>
#include <stdint.h>
#include <arpa/inet.h>

#include "ngx_http_outage_text.h"


/* 9999-12-31T23:59:59Z, the last instant with a four digit year */
#define NGX_HTTP_OUTAGE_TIME_LAST    253402300799LL


typedef struct {
    unsigned char  *dst;
    size_t          size;
    size_t          need;       /* bytes the full output needs so far */
    size_t          written;    /* bytes actually in dst */
    unsigned        full:1;     /* a unit did not fit: write no more */
} ngx_http_outage_out_t;


typedef struct {
    size_t          start;      /* offset of the section's close tag */
    size_t          end;        /* just past it */
} ngx_http_outage_section_t;


static void ngx_http_outage_out_init(ngx_http_outage_out_t *out,
    unsigned char *dst, size_t size);
static void ngx_http_outage_out_skip(ngx_http_outage_out_t *out, size_t n);
static void ngx_http_outage_out_unit(ngx_http_outage_out_t *out,
    const unsigned char *p, size_t n);
static void ngx_http_outage_out_text(ngx_http_outage_out_t *out,
    const unsigned char *p, size_t n);
static size_t ngx_http_outage_utf8_next(const unsigned char *p, size_t len,
    int *valid);
static void ngx_http_outage_html_out(ngx_http_outage_out_t *out,
    const unsigned char *src, size_t len, int ascii);
static void ngx_http_outage_ncr_out(ngx_http_outage_out_t *out,
    const unsigned char *p, size_t n);
static void ngx_http_outage_json_u_out(ngx_http_outage_out_t *out,
    const unsigned char *p, size_t n);
static void ngx_http_outage_json_out(ngx_http_outage_out_t *out,
    const unsigned char *src, size_t len);
static void ngx_http_outage_log_out(ngx_http_outage_out_t *out,
    const unsigned char *src, size_t len);
static size_t ngx_http_outage_utoa(unsigned char *dst, unsigned long long v);
static void ngx_http_outage_put2(unsigned char *dst, unsigned v);
static int ngx_http_outage_digits(const unsigned char *p, size_t len,
    size_t n, int *v);
static int ngx_http_outage_leap(long long y);
static long long ngx_http_outage_days_before_year(long long y);
static long long ngx_http_outage_days_from_civil(int y, int m, int d);
static int ngx_http_outage_name_char(unsigned char c);
static int ngx_http_outage_tpl_find_close(const unsigned char *tpl,
    size_t from, size_t limit, const unsigned char *name, size_t name_len,
    ngx_http_outage_section_t *sec);


static const unsigned char  ngx_http_outage_fffd[] = "\xEF\xBF\xBD";
static const unsigned char  ngx_http_outage_ellipsis[] = "\xE2\x80\xA6";
static const unsigned char  ngx_http_outage_hex[] = "0123456789abcdef";

/* cumulative days before each month in a common year */
static const int  ngx_http_outage_mdays_before[12] = {
    0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
};

static const int  ngx_http_outage_mdays[12] = {
    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
};


/* ---- output sink ------------------------------------------------------ */

static void
ngx_http_outage_out_init(ngx_http_outage_out_t *out, unsigned char *dst,
    size_t size)
{
    out->dst = dst;
    out->size = dst ? size : 0;
    out->need = 0;
    out->written = 0;
    out->full = (dst == NULL);
}


/* account for n bytes that are not written (measuring, or after a cut) */

static void
ngx_http_outage_out_skip(ngx_http_outage_out_t *out, size_t n)
{
    out->full = 1;

    /* saturate rather than wrap: a caller allocating SIZE_MAX just fails */
    if (n > SIZE_MAX - out->need) {
        out->need = SIZE_MAX;
        return;
    }

    out->need += n;
}


/* one indivisible unit: written whole or not at all */

static void
ngx_http_outage_out_unit(ngx_http_outage_out_t *out, const unsigned char *p,
    size_t n)
{
    /* while not full, need == written <= size, so size - written is safe */
    if (out->full || n > out->size - out->written) {
        ngx_http_outage_out_skip(out, n);
        return;
    }

    memcpy(out->dst + out->written, p, n);
    out->written += n;
    out->need += n;
}


/* a run of text (template literal, raw value): cut only between characters */

static void
ngx_http_outage_out_text(ngx_http_outage_out_t *out, const unsigned char *p,
    size_t n)
{
    size_t  k;
    int     valid;

    if (out->full || n <= out->size - out->written) {
        ngx_http_outage_out_unit(out, p, n);
        return;
    }

    while (n > 0 && !out->full) {
        k = ngx_http_outage_utf8_next(p, n, &valid);
        ngx_http_outage_out_unit(out, p, k);
        p += k;
        n -= k;
    }

    if (n > 0) {
        ngx_http_outage_out_skip(out, n);
    }
}


/*
 * Length of the UTF-8 sequence at p.  *valid is 1 for a well-formed
 * character (no overlongs, no surrogates, nothing above U+10FFFF).  For an
 * ill-formed one it is 0 and the length is that of the maximal valid prefix
 * (at least 1), so each broken sequence becomes exactly one U+FFFD, the
 * way browsers do it.
 */

static size_t
ngx_http_outage_utf8_next(const unsigned char *p, size_t len, int *valid)
{
    unsigned char  c, lo, hi;
    size_t         i, need;

    c = p[0];

    if (c < 0x80) {
        *valid = 1;
        return 1;
    }

    lo = 0x80;
    hi = 0xBF;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;

    } else if (c == 0xE0) {
        need = 2;
        lo = 0xA0;                      /* no overlongs */

    } else if (c == 0xED) {
        need = 2;
        hi = 0x9F;                      /* no surrogates */

    } else if (c >= 0xE1 && c <= 0xEF) {
        need = 2;

    } else if (c == 0xF0) {
        need = 3;
        lo = 0x90;                      /* no overlongs */

    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;

    } else if (c == 0xF4) {
        need = 3;
        hi = 0x8F;                      /* nothing above U+10FFFF */

    } else {
        *valid = 0;
        return 1;
    }

    for (i = 1; i <= need; i++) {
        if (i >= len || p[i] < lo || p[i] > hi) {
            *valid = 0;
            return i;
        }

        lo = 0x80;
        hi = 0xBF;
    }

    *valid = 1;
    return need + 1;
}


/* ---- escapers --------------------------------------------------------- */

/*
 * "ascii": characters beyond ASCII become numeric character references, so
 * that the bytes survive any ASCII-compatible recoding (nginx's charset
 * filter recodes a page, banner and all, into the charset it is sent in).
 */

static void
ngx_http_outage_html_out(ngx_http_outage_out_t *out, const unsigned char *src,
    size_t len, int ascii)
{
    size_t       i, run, n;
    int          valid;
    const char  *ref;

    i = 0;

    while (i < len) {

        /* copy runs of harmless ASCII in one go */
        for (run = i; run < len; run++) {
            if (src[run] >= 0x80 || src[run] == '\0' || src[run] == '&'
                || src[run] == '<' || src[run] == '>' || src[run] == '"'
                || src[run] == '\'')
            {
                break;
            }
        }

        if (run > i) {
            ngx_http_outage_out_text(out, src + i, run - i);
            i = run;
            continue;
        }

        switch (src[i]) {

        case '&':
            ref = "&amp;";
            break;

        case '<':
            ref = "&lt;";
            break;

        case '>':
            ref = "&gt;";
            break;

        case '"':
            ref = "&quot;";
            break;

        case '\'':
            ref = "&#39;";
            break;

        default:
            ref = NULL;
            break;
        }

        if (ref) {
            ngx_http_outage_out_unit(out, (const unsigned char *) ref,
                                     strlen(ref));
            i++;
            continue;
        }

        switch (src[i]) {

        case '\0':
            /* NUL is a parse error in HTML and may truncate C consumers */
            n = 1;
            valid = 0;
            break;

        default:
            n = ngx_http_outage_utf8_next(src + i, len - i, &valid);
        }

        if (valid && !ascii) {
            ngx_http_outage_out_unit(out, src + i, n);

        } else if (valid) {
            ngx_http_outage_ncr_out(out, src + i, n);

        } else if (ascii) {
            ngx_http_outage_out_unit(out, (const unsigned char *) "&#xFFFD;",
                                     8);

        } else {
            ngx_http_outage_out_unit(out, ngx_http_outage_fffd, 3);
        }

        i += n;
    }
}


static size_t
ngx_http_outage_html_escape_as(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, int ascii)
{
    ngx_http_outage_out_t  out;

    ngx_http_outage_out_init(&out, dst, dst_size);
    ngx_http_outage_html_out(&out, src, len, ascii);

    return out.need;
}


size_t
ngx_http_outage_html_escape(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len)
{
    return ngx_http_outage_html_escape_as(dst, dst_size, src, len, 0);
}


size_t
ngx_http_outage_html_escape_ascii(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len)
{
    return ngx_http_outage_html_escape_as(dst, dst_size, src, len, 1);
}


/* one valid UTF-8 character of n bytes as "&#xHHHH;" */

static void
ngx_http_outage_ncr_out(ngx_http_outage_out_t *out, const unsigned char *p,
    size_t n)
{
    size_t         i, k;
    unsigned long  cp;
    unsigned char  ref[sizeof("&#x10FFFF;")];

    cp = (n == 2) ? (p[0] & 0x1Fu) : (n == 3) ? (p[0] & 0x0Fu) : (p[0] & 0x07u);

    for (i = 1; i < n; i++) {
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }

    if (cp >= 0x80 && cp <= 0x9F) {
        /*
         * HTML parsers read &#x80;..&#x9F; as the Windows-1252 characters
         * (&#x80; is a euro sign), not as the C1 controls Redis sent
         */
        ngx_http_outage_out_unit(out, (const unsigned char *) "&#xFFFD;", 8);
        return;
    }

    k = 0;
    ref[k++] = '&';
    ref[k++] = '#';
    ref[k++] = 'x';

    for (i = (cp > 0xFFFF) ? 20 : 12; ; i -= 4) {
        ref[k++] = ngx_http_outage_hex[(cp >> i) & 0x0F];

        if (i == 0) {
            break;
        }
    }

    ref[k++] = ';';

    ngx_http_outage_out_unit(out, ref, k);
}


/*
 * One valid UTF-8 character of n bytes as "\\uHHHH" (a pair of them beyond
 * the BMP).  JSON is written in ASCII so that no charset can change it:
 * nginx's charset filter recodes a body whose type is in charset_types from
 * the location's source_charset, and with override_charset any body that
 * names a charset; ASCII bytes mean the same in every charset it knows.
 * This covers U+2028/U+2029 too, which end a line in JavaScript source.
 */

static void
ngx_http_outage_json_u_out(ngx_http_outage_out_t *out, const unsigned char *p,
    size_t n)
{
    size_t         i, k;
    unsigned long  cp, u[2];
    unsigned char  esc[12];

    cp = (n == 2) ? (p[0] & 0x1Fu) : (n == 3) ? (p[0] & 0x0Fu) : (p[0] & 0x07u);

    for (i = 1; i < n; i++) {
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }

    if (cp > 0xFFFF) {
        cp -= 0x10000;
        u[0] = 0xD800 | (cp >> 10);
        u[1] = 0xDC00 | (cp & 0x3FF);
        n = 2;

    } else {
        u[0] = cp;
        n = 1;
    }

    k = 0;

    for (i = 0; i < n; i++) {
        esc[k++] = '\\';
        esc[k++] = 'u';
        esc[k++] = ngx_http_outage_hex[(u[i] >> 12) & 0x0F];
        esc[k++] = ngx_http_outage_hex[(u[i] >> 8) & 0x0F];
        esc[k++] = ngx_http_outage_hex[(u[i] >> 4) & 0x0F];
        esc[k++] = ngx_http_outage_hex[u[i] & 0x0F];
    }

    ngx_http_outage_out_unit(out, esc, k);
}


static void
ngx_http_outage_json_out(ngx_http_outage_out_t *out, const unsigned char *src,
    size_t len)
{
    unsigned char  c, esc[6];
    size_t         i, run, n;
    int            valid;

    i = 0;

    while (i < len) {

        for (run = i; run < len; run++) {
            c = src[run];

            if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\' || c == '<'
                || c == '>' || c == '&' || c == '\'')
            {
                break;
            }
        }

        if (run > i) {
            ngx_http_outage_out_text(out, src + i, run - i);
            i = run;
            continue;
        }

        c = src[i];

        if (c < 0x80) {
            esc[0] = '\\';

            switch (c) {
            case '"':
            case '\\':
                esc[1] = c;
                n = 2;
                break;
            case '\n':
                esc[1] = 'n';
                n = 2;
                break;
            case '\r':
                esc[1] = 'r';
                n = 2;
                break;
            case '\t':
                esc[1] = 't';
                n = 2;
                break;
            default:
                /* other controls, DEL, and the HTML-significant < > & ' */
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = ngx_http_outage_hex[c >> 4];
                esc[5] = ngx_http_outage_hex[c & 0x0F];
                n = 6;
                break;
            }

            ngx_http_outage_out_unit(out, esc, n);
            i++;
            continue;
        }

        n = ngx_http_outage_utf8_next(src + i, len - i, &valid);

        if (!valid) {
            ngx_http_outage_out_unit(out, (const unsigned char *) "\\ufffd", 6);

        } else {
            ngx_http_outage_json_u_out(out, src + i, n);
        }

        i += n;
    }
}


size_t
ngx_http_outage_json_escape(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len)
{
    ngx_http_outage_out_t  out;

    ngx_http_outage_out_init(&out, dst, dst_size);
    ngx_http_outage_json_out(&out, src, len);

    return out.need;
}


static void
ngx_http_outage_log_out(ngx_http_outage_out_t *out, const unsigned char *src,
    size_t len)
{
    unsigned char  c, esc[4];
    size_t         i, run;

    i = 0;

    while (i < len) {

        for (run = i; run < len; run++) {
            c = src[run];

            if (c < 0x20 || c > 0x7E || c == '\\' || c == '"') {
                break;
            }
        }

        if (run > i) {
            ngx_http_outage_out_text(out, src + i, run - i);
            i = run;
            continue;
        }

        c = src[i];
        esc[0] = '\\';
        esc[1] = 'x';
        esc[2] = ngx_http_outage_hex[c >> 4];
        esc[3] = ngx_http_outage_hex[c & 0x0F];

        ngx_http_outage_out_unit(out, esc, 4);
        i++;
    }
}


size_t
ngx_http_outage_log_escape_cut(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len)
{
    ngx_http_outage_out_t  out;

    ngx_http_outage_out_init(&out, dst, dst_size);
    ngx_http_outage_log_out(&out, src, len);

    return dst ? out.written : out.need;
}


size_t
ngx_http_outage_log_preview(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len)
{
    ngx_http_outage_out_t  out;

    if (dst == NULL) {
        return 0;
    }

    ngx_http_outage_out_init(&out, dst, dst_size);
    ngx_http_outage_log_out(&out, src, len);

    if (out.need <= dst_size || dst_size < 3) {
        return out.written;
    }

    /* did not fit: redo with room for the marker */
    ngx_http_outage_out_init(&out, dst, dst_size - 3);
    ngx_http_outage_log_out(&out, src, len);

    memcpy(dst + out.written, "...", 3);

    return out.written + 3;
}


/* ---- sanitiser -------------------------------------------------------- */

size_t
ngx_http_outage_sanitize(unsigned char *dst, size_t max,
    const unsigned char *src, size_t len, int *truncated)
{
    unsigned char         c;
    const unsigned char  *u;
    size_t                i, n, ulen, olen, cut;
    int                   valid, space;

    if (truncated) {
        *truncated = 0;
    }

    olen = 0;
    cut = 0;        /* last character boundary that leaves room for "..." */
    space = 0;      /* whitespace seen since the last character */
    i = 0;

    while (i < len) {
        c = src[i];

        if (c < 0x80) {
            n = 1;

            if (c == '\0') {
                i++;
                continue;
            }

            if (c <= 0x20 || c == 0x7F) {
                space = 1;
                i++;
                continue;
            }

            u = src + i;
            ulen = 1;

        } else {
            n = ngx_http_outage_utf8_next(src + i, len - i, &valid);

            if (!valid) {
                u = ngx_http_outage_fffd;
                ulen = 3;

            } else if (n == 2 && c == 0xC2 && src[i + 1] < 0xA0) {
                /* C1 controls: U+0080 - U+009F */
                space = 1;
                i += n;
                continue;

            } else if (n == 3 && c == 0xE2 && src[i + 1] == 0x80
                       && (src[i + 2] == 0xA8 || src[i + 2] == 0xA9))
            {
                /* line and paragraph separators */
                space = 1;
                i += n;
                continue;

            } else if (n == 3 && c == 0xE2
                       && ((src[i + 1] == 0x80
                            && src[i + 2] >= 0xAA && src[i + 2] <= 0xAE)
                           || (src[i + 1] == 0x81
                               && src[i + 2] >= 0xA6 && src[i + 2] <= 0xA9)))
            {
                /*
                 * bidi embeddings, overrides and isolates (U+202A-U+202E,
                 * U+2066-U+2069) could visually reorder the page around
                 * the banner
                 */
                i += n;
                continue;

            } else {
                u = src + i;
                ulen = n;
            }
        }

        i += n;

        /* a pending space is only written between two characters */
        if (space) {
            space = 0;

            if (olen > 0) {
                if (olen >= max) {
                    goto cut;
                }

                dst[olen++] = ' ';
            }
        }

        if (ulen > max - olen) {
            goto cut;
        }

        memcpy(dst + olen, u, ulen);
        olen += ulen;

        if (max >= 3 && olen <= max - 3) {
            cut = olen;
        }
    }

    return olen;

cut:

    if (truncated) {
        *truncated = 1;
    }

    if (max < 3) {
        while (olen > 0 && dst[olen - 1] == ' ') {
            olen--;
        }

        return olen;
    }

    olen = cut;

    while (olen > 0 && dst[olen - 1] == ' ') {
        olen--;
    }

    memcpy(dst + olen, ngx_http_outage_ellipsis, 3);

    return olen + 3;
}


/* ---- links ------------------------------------------------------------ */

int
ngx_http_outage_ascii_caseeq(const unsigned char *p, const char *s,
    size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char) (c - 'A' + 'a');
        }

        if (c != (unsigned char) s[i]) {
            return 0;
        }
    }

    return 1;
}

/* a label the WHATWG URL parser reads as a number: decimal, or 0x hex */

static int
ngx_http_outage_link_number(const unsigned char *p, size_t len)
{
    size_t  k;

    if (len == 0) {
        return 0;
    }

    if (len >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        for (k = 2; k < len; k++) {
            if (!((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'f')
                  || (p[k] >= 'A' && p[k] <= 'F')))
            {
                return 0;
            }
        }

        return 1;
    }

    for (k = 0; k < len; k++) {
        if (p[k] < '0' || p[k] > '9') {
            return 0;
        }
    }

    return 1;
}


/* an address a browser opens: inet_pton() is stricter than no check */

static int
ngx_http_outage_link_ip(int family, const unsigned char *p, size_t len)
{
    char           text[INET6_ADDRSTRLEN + 1];
    unsigned char  addr[16];

    if (len == 0 || len >= sizeof(text)) {
        return 0;
    }

    memcpy(text, p, len);
    text[len] = '\0';

    return inet_pton(family, text, addr) == 1;
}



/*
 * The ports a browser never opens (the Fetch standard's "bad port" list,
 * with 0): a status link on one would be a button that does nothing, where
 * the default link works.
 */

static int
ngx_http_outage_link_bad_port(unsigned long port)
{
    static const unsigned short  bad[] = {
        0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53,
        69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117,
        119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514,
        515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989,
        990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
        6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080
    };

    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i] == port) {
            return 1;
        }
    }

    return 0;
}


int
ngx_http_outage_link_check(const unsigned char *p, size_t len)
{
    int            bad;
    size_t         i, j, e, start;
    unsigned long  port;
    unsigned char  c;

    if (p == NULL || len == 0 || len > NGX_HTTP_OUTAGE_URL_MAX) {
        return 0;
    }

    if (len > 7 && ngx_http_outage_ascii_caseeq(p, "http://", 7)) {
        i = 7;

    } else if (len > 8 && ngx_http_outage_ascii_caseeq(p, "https://", 8)) {
        i = 8;

    } else {
        /* javascript:, data:, relative and protocol-relative links */
        return 0;
    }

    /* host: deliberately narrow, and no "user@" that could disguise it */

    start = i;

    if (p[i] == '[') {
        for (i++; i < len; i++) {
            c = p[i];

            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                  || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
            {
                break;
            }
        }

        if (i >= len || p[i] != ']' || i - start < 3
            || !ngx_http_outage_link_ip(AF_INET6, p + start + 1,
                                        i - start - 1))
        {
            return 0;
        }

        i++;

    } else {
        for ( /* void */ ; i < len; i++) {
            c = p[i];

            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
                  || (c >= 'A' && c <= 'Z') || c == '-' || c == '.'
                  || c == '_'))
            {
                break;
            }
        }

        if (i == start || p[start] == '.' || p[start] == '-') {
            return 0;
        }

        /*
         * A host whose last label is a number is an IPv4 address to a
         * browser (WHATWG URL), which does not open "1.2.3.4.5"
         */

        e = (p[i - 1] == '.') ? i - 1 : i;     /* a trailing dot */

        for (j = e; j > start && p[j - 1] != '.'; j--) {
            /* void */
        }

        if (ngx_http_outage_link_number(p + j, e - j)
            && !ngx_http_outage_link_ip(AF_INET, p + start, e - start))
        {
            return 0;
        }
    }

    bad = 0;

    if (i < len && p[i] == ':') {
        start = ++i;
        port = 0;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            port = port * 10 + (p[i] - '0');
            i++;

            if (port > 65535) {
                return 0;
            }
        }

        if (i == start) {
            return 0;
        }

        bad = ngx_http_outage_link_bad_port(port);
    }

    if (i < len && p[i] != '/' && p[i] != '?' && p[i] != '#') {
        return 0;
    }

    for ( /* void */ ; i < len; i++) {
        c = p[i];

        if (c <= 0x20 || c >= 0x7F) {
            return 0;
        }

        switch (c) {
        case '"':
        case '\'':
        case '<':
        case '>':
        case '\\':
        case '`':
        case '{':
        case '}':
        case '|':
        case '^':
            return 0;
        }
    }

    return bad ? NGX_HTTP_OUTAGE_LINK_BAD_PORT : NGX_HTTP_OUTAGE_LINK_OK;
}


int
ngx_http_outage_link_valid(const unsigned char *p, size_t len)
{
    return ngx_http_outage_link_check(p, len) == NGX_HTTP_OUTAGE_LINK_OK;
}


/* ---- times ------------------------------------------------------------ */

/* exactly n decimal digits at the start of p */

static int
ngx_http_outage_digits(const unsigned char *p, size_t len, size_t n, int *v)
{
    size_t  i;
    int     r;

    if (len < n) {
        return 0;
    }

    r = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }

        r = r * 10 + (p[i] - '0');
    }

    *v = r;

    return 1;
}


static int
ngx_http_outage_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


/* days from 1970-01-01 to January 1st of year y (y >= 1) */

static long long
ngx_http_outage_days_before_year(long long y)
{
    long long  p;

    /* leap years in [1, y - 1] minus those in [1, 1969] (477 of them) */
    p = y - 1;

    return (y - 1970) * 365 + (p / 4 - p / 100 + p / 400) - 477;
}


static long long
ngx_http_outage_days_from_civil(int y, int m, int d)
{
    long long  days;

    days = ngx_http_outage_days_before_year(y)
           + ngx_http_outage_mdays_before[m - 1] + (d - 1);

    if (m > 2 && ngx_http_outage_leap(y)) {
        days++;
    }

    return days;
}


time_t
ngx_http_outage_parse_time(const unsigned char *p, size_t len)
{
    size_t     i;
    int        y, mo, d, h, mi, s, oh, om, sign, dim;
    long long  v;

    if (p == NULL) {
        return (time_t) -1;
    }

    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }

    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }

    if (len == 0) {
        return (time_t) -1;
    }

    /* plain unix seconds */

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            break;
        }
    }

    if (i == len) {
        if (len > 12) {
            return (time_t) -1;
        }

        v = 0;

        for (i = 0; i < len; i++) {
            v = v * 10 + (p[i] - '0');
        }

        goto done;
    }

    /* YYYY-MM-DD */

    if (!ngx_http_outage_digits(p, len, 4, &y)
        || len < 10 || p[4] != '-' || p[7] != '-'
        || !ngx_http_outage_digits(p + 5, len - 5, 2, &mo)
        || !ngx_http_outage_digits(p + 8, len - 8, 2, &d))
    {
        return (time_t) -1;
    }

    h = 0;
    mi = 0;
    s = 0;
    oh = 0;
    om = 0;
    sign = 0;
    i = 10;

    if (i < len) {

        /* [T ]HH:MM[:SS[.frac]] */

        if (p[i] != 'T' && p[i] != 't' && p[i] != ' ') {
            return (time_t) -1;
        }

        i++;

        if (!ngx_http_outage_digits(p + i, len - i, 2, &h)
            || len - i < 5 || p[i + 2] != ':'
            || !ngx_http_outage_digits(p + i + 3, len - i - 3, 2, &mi))
        {
            return (time_t) -1;
        }

        i += 5;

        if (i < len && p[i] == ':') {
            if (!ngx_http_outage_digits(p + i + 1, len - i - 1, 2, &s)) {
                return (time_t) -1;
            }

            i += 3;

            if (i < len && p[i] == '.') {
                for (i++, v = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
                    if (++v > 9) {
                        return (time_t) -1;
                    }
                }

                if (v == 0) {
                    return (time_t) -1;
                }
            }
        }

        /* zone: nothing (UTC), Z, or +HH[[:]MM] */

        if (i < len) {
            if (p[i] == 'Z' || p[i] == 'z') {
                i++;

            } else if (p[i] == '+' || p[i] == '-') {
                sign = (p[i] == '+') ? 1 : -1;
                i++;

                if (!ngx_http_outage_digits(p + i, len - i, 2, &oh)) {
                    return (time_t) -1;
                }

                i += 2;

                if (i < len && p[i] == ':') {
                    i++;

                    if (!ngx_http_outage_digits(p + i, len - i, 2, &om)) {
                        return (time_t) -1;
                    }

                    i += 2;

                } else if (i < len) {
                    if (!ngx_http_outage_digits(p + i, len - i, 2, &om)) {
                        return (time_t) -1;
                    }

                    i += 2;
                }

            } else {
                return (time_t) -1;
            }

            if (i != len) {
                return (time_t) -1;
            }
        }
    }

    if (y < 1970 || mo < 1 || mo > 12 || d < 1) {
        return (time_t) -1;
    }

    dim = ngx_http_outage_mdays[mo - 1];

    if (mo == 2 && ngx_http_outage_leap(y)) {
        dim = 29;
    }

    if (d > dim || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) {
        return (time_t) -1;
    }

    v = ngx_http_outage_days_from_civil(y, mo, d) * 86400
        + h * 3600 + mi * 60 + s;

    /* local = UTC + offset */
    v -= (long long) sign * (oh * 3600 + om * 60);

done:

    if (v < 0 || v > NGX_HTTP_OUTAGE_TIME_LAST) {
        return (time_t) -1;
    }

    if ((long long) (time_t) v != v) {
        /* a 32-bit time_t */
        return (time_t) -1;
    }

    return (time_t) v;
}


static void
ngx_http_outage_put2(unsigned char *dst, unsigned v)
{
    dst[0] = (unsigned char) ('0' + v / 10 % 10);
    dst[1] = (unsigned char) ('0' + v % 10);
}


size_t
ngx_http_outage_format_time(unsigned char *dst, time_t t)
{
    long long  v, days, secs, y;
    int        m, leap, before;

    v = (long long) t;

    if (v < 0 || v > NGX_HTTP_OUTAGE_TIME_LAST) {
        dst[0] = '\0';
        return 0;
    }

    days = v / 86400;
    secs = v % 86400;

    /* 365 days a year overestimates the year; step back as needed */
    y = 1970 + days / 365;

    while (ngx_http_outage_days_before_year(y) > days) {
        y--;
    }

    days -= ngx_http_outage_days_before_year(y);
    leap = ngx_http_outage_leap(y);

    for (m = 11; m > 0; m--) {
        before = ngx_http_outage_mdays_before[m] + (m >= 2 && leap);

        if (days >= before) {
            break;
        }
    }

    days -= ngx_http_outage_mdays_before[m] + (m >= 2 && leap);

    ngx_http_outage_put2(dst, (unsigned) (y / 100));
    ngx_http_outage_put2(dst + 2, (unsigned) (y % 100));
    dst[4] = '-';
    ngx_http_outage_put2(dst + 5, (unsigned) (m + 1));
    dst[7] = '-';
    ngx_http_outage_put2(dst + 8, (unsigned) (days + 1));
    dst[10] = 'T';
    ngx_http_outage_put2(dst + 11, (unsigned) (secs / 3600));
    dst[13] = ':';
    ngx_http_outage_put2(dst + 14, (unsigned) (secs / 60 % 60));
    dst[16] = 'Z';
    dst[17] = '\0';

    return 17;
}


static size_t
ngx_http_outage_utoa(unsigned char *dst, unsigned long long v)
{
    unsigned char  tmp[24];
    size_t         n, i;

    n = 0;

    do {
        tmp[n++] = (unsigned char) ('0' + v % 10);
        v /= 10;
    } while (v);

    for (i = 0; i < n; i++) {
        dst[i] = tmp[n - 1 - i];
    }

    return n;
}


size_t
ngx_http_outage_format_ago(unsigned char *dst, size_t dst_size, time_t then,
    time_t now)
{
    unsigned char           buf[NGX_HTTP_OUTAGE_AGO_LEN];
    unsigned long long      d, n;
    size_t                  len;
    int                     future;
    const char             *unit;
    ngx_http_outage_out_t   out;

    /* unsigned subtraction: exact even for far apart times */
    if (then <= now) {
        future = 0;
        d = (unsigned long long) now - (unsigned long long) then;

    } else {
        future = 1;
        d = (unsigned long long) then - (unsigned long long) now;
    }

    len = 0;

    if (d < 60) {
        unit = NULL;
        n = 0;

    } else if (d < 3600) {
        unit = " min";
        n = future ? d / 60 + (d % 60 != 0) : d / 60;

    } else if (d < 48 * 3600) {
        unit = " h";
        n = future ? d / 3600 + (d % 3600 != 0) : d / 3600;

    } else {
        unit = " days";
        n = future ? d / 86400 + (d % 86400 != 0) : d / 86400;
    }

    if (unit == NULL) {
        if (future) {
            memcpy(buf, "in under a minute", 17);
            len = 17;

        } else {
            memcpy(buf, "just now", 8);
            len = 8;
        }

    } else {
        if (future) {
            memcpy(buf, "in ", 3);
            len = 3;
        }

        len += ngx_http_outage_utoa(buf + len, n);
        memcpy(buf + len, unit, strlen(unit));
        len += strlen(unit);

        if (!future) {
            memcpy(buf + len, " ago", 4);
            len += 4;
        }
    }

    ngx_http_outage_out_init(&out, dst, dst_size);
    ngx_http_outage_out_unit(&out, buf, len);

    return out.need;
}


/* ---- states ----------------------------------------------------------- */

/*
 * Blanks around a value an operator typed: spaces and tabs, and the line
 * end "redis-cli -x" and "echo ... |" leave on the last argument, so that
 * "down\n" is down and a time with "\n" is that time.
 */

static int
ngx_http_outage_blank(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}


void
ngx_http_outage_trim_space(const unsigned char **p, size_t *len)
{
    while (*len > 0 && ngx_http_outage_blank((*p)[0])) {
        (*p)++;
        (*len)--;
    }

    while (*len > 0 && ngx_http_outage_blank((*p)[*len - 1])) {
        (*len)--;
    }
}


/* the words a state value may be, any case: one table, one comparison */
typedef struct {
    const char  *word;
    size_t       len;
    int          state;
} ngx_http_outage_state_word_t;

static const ngx_http_outage_state_word_t  ngx_http_outage_state_words[] = {
    { "ok", 2, NGX_HTTP_OUTAGE_STATE_OK },
    { "up", 2, NGX_HTTP_OUTAGE_STATE_OK },
    { "down", 4, NGX_HTTP_OUTAGE_STATE_DOWN },
    { "outage", 6, NGX_HTTP_OUTAGE_STATE_DOWN },
    { "degraded", 8, NGX_HTTP_OUTAGE_STATE_DEGRADED },
    { "maintenance", 11, NGX_HTTP_OUTAGE_STATE_MAINTENANCE },
    { NULL, 0, 0 }
};


int
ngx_http_outage_parse_state(const unsigned char *p, size_t len)
{
    const ngx_http_outage_state_word_t  *w;

    if (p == NULL) {
        return -1;
    }

    ngx_http_outage_trim_space(&p, &len);

    for (w = ngx_http_outage_state_words; w->word; w++) {
        if (len == w->len && ngx_http_outage_ascii_caseeq(p, w->word, len)) {
            return w->state;
        }
    }

    return -1;
}


const char *
ngx_http_outage_state_name(int state)
{
    switch (state) {
    case NGX_HTTP_OUTAGE_STATE_NONE:
        return "none";
    case NGX_HTTP_OUTAGE_STATE_OK:
        return "ok";
    case NGX_HTTP_OUTAGE_STATE_DEGRADED:
        return "degraded";
    case NGX_HTTP_OUTAGE_STATE_DOWN:
        return "down";
    case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
        return "maintenance";
    }

    return "unknown";
}


/* ---- templates -------------------------------------------------------- */

static int
ngx_http_outage_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}


/*
 * Parses the tag whose "{{" is at p, never looking at or past limit.
 * Returns 1 and fills *tag for a well-formed tag, 0 otherwise.  The scan
 * stops at the first byte that cannot belong to a tag, and no tag byte is
 * '{', so scanning every "{{" of a template stays linear overall.
 */

int
ngx_http_outage_tpl_tag(const unsigned char *tpl, size_t p, size_t limit,
    ngx_http_outage_tpl_tag_t *tag)
{
    size_t  i;

    if (p > limit || limit - p < 5 || tpl[p] != '{' || tpl[p + 1] != '{') {
        return 0;
    }

    i = p + 2;

    while (i < limit && tpl[i] == ' ') {
        i++;
    }

    tag->kind = NGX_HTTP_OUTAGE_TAG_VAR;
    tag->raw = 0;

    if (i < limit && (tpl[i] == '#' || tpl[i] == '^' || tpl[i] == '/')) {
        tag->kind = (tpl[i] == '#') ? NGX_HTTP_OUTAGE_TAG_OPEN
                    : (tpl[i] == '^') ? NGX_HTTP_OUTAGE_TAG_INVERT
                    : NGX_HTTP_OUTAGE_TAG_CLOSE;
        i++;

        while (i < limit && tpl[i] == ' ') {
            i++;
        }
    }

    tag->name = i;

    while (i < limit && ngx_http_outage_name_char(tpl[i])) {
        i++;
    }

    tag->name_len = i - tag->name;

    if (tag->name_len == 0 || tag->name_len > NGX_HTTP_OUTAGE_TPL_NAME_MAX) {
        return 0;
    }

    while (i < limit && tpl[i] == ' ') {
        i++;
    }

    if (i < limit && tpl[i] == '|') {
        i++;

        while (i < limit && tpl[i] == ' ') {
            i++;
        }

        if (tag->kind != NGX_HTTP_OUTAGE_TAG_VAR
            || limit - i < 3 || memcmp(tpl + i, "raw", 3) != 0)
        {
            return 0;
        }

        tag->raw = 1;
        i += 3;

        while (i < limit && tpl[i] == ' ') {
            i++;
        }
    }

    if (limit - i < 2 || tpl[i] != '}' || tpl[i + 1] != '}') {
        return 0;
    }

    tag->end = i + 2;

    return 1;
}


/*
 * Finds the close tag matching a section whose open tag ends at "from",
 * counting nested sections of the same name, within [from, limit): the
 * limit is the close of the enclosing shown section, so crossed sections
 * do not match and render literally.
 */

static int
ngx_http_outage_tpl_find_close(const unsigned char *tpl, size_t from,
    size_t limit, const unsigned char *name, size_t name_len,
    ngx_http_outage_section_t *sec)
{
    size_t                 p, level;
    ngx_http_outage_tpl_tag_t  tag;

    level = 0;
    p = from;

    while (p < limit) {
        if (tpl[p] != '{' || !ngx_http_outage_tpl_tag(tpl, p, limit, &tag)) {
            p++;
            continue;
        }

        if (tag.name_len == name_len
            && memcmp(tpl + tag.name, name, name_len) == 0)
        {
            if (tag.kind == NGX_HTTP_OUTAGE_TAG_OPEN
                || tag.kind == NGX_HTTP_OUTAGE_TAG_INVERT)
            {
                level++;

            } else if (tag.kind == NGX_HTTP_OUTAGE_TAG_CLOSE) {
                if (level == 0) {
                    sec->start = p;
                    sec->end = tag.end;
                    return 1;
                }

                level--;
            }
        }

        p = tag.end;
    }

    return 0;
}


size_t
ngx_http_outage_tpl_render(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len, int mode,
    ngx_http_outage_tpl_lookup_pt lookup, void *ctx)
{
    size_t                     p, lit, limit, depth, vlen;
    int                        found, show;
    const unsigned char       *v;
    ngx_http_outage_tpl_tag_t      tag;
    ngx_http_outage_out_t      out;
    ngx_http_outage_section_t  sec, stack[NGX_HTTP_OUTAGE_TPL_DEPTH];

    ngx_http_outage_out_init(&out, dst, dst_size);

    if (tpl == NULL) {
        return 0;
    }

    depth = 0;
    p = 0;
    lit = 0;        /* start of literal text not yet emitted */

    /*
     * Iterative, with an explicit bounded stack of the shown sections'
     * close tags: no recursion, so no template can exhaust the C stack.
     */

    while (p < tpl_len) {
        limit = depth ? stack[depth - 1].start : tpl_len;

        if (p == limit) {
            /* the close tag of the innermost shown section */
            ngx_http_outage_out_text(&out, tpl + lit, p - lit);
            p = stack[--depth].end;
            lit = p;
            continue;
        }

        if (tpl[p] != '{' || !ngx_http_outage_tpl_tag(tpl, p, limit, &tag)) {
            p++;
            continue;
        }

        switch (tag.kind) {

        case NGX_HTTP_OUTAGE_TAG_VAR:
            ngx_http_outage_out_text(&out, tpl + lit, p - lit);

            v = NULL;
            vlen = 0;
            found = lookup ? lookup(ctx, tpl + tag.name, tag.name_len,
                                    &v, &vlen)
                           : 0;

            if (found && v != NULL && vlen > 0) {
                if (tag.raw) {
                    ngx_http_outage_out_text(&out, v, vlen);

                } else if (mode == NGX_HTTP_OUTAGE_TPL_JSON) {
                    ngx_http_outage_json_out(&out, v, vlen);

                } else {
                    ngx_http_outage_html_out(&out, v, vlen,
                                         mode == NGX_HTTP_OUTAGE_TPL_HTML_ASCII);
                }
            }

            p = tag.end;
            lit = p;
            break;

        case NGX_HTTP_OUTAGE_TAG_OPEN:
        case NGX_HTTP_OUTAGE_TAG_INVERT:
            if (depth == NGX_HTTP_OUTAGE_TPL_DEPTH
                || !ngx_http_outage_tpl_find_close(tpl, tag.end, limit,
                                                   tpl + tag.name,
                                                   tag.name_len, &sec))
            {
                /* no matching close: the tag is literal text */
                p = tag.end;
                break;
            }

            ngx_http_outage_out_text(&out, tpl + lit, p - lit);

            v = NULL;
            vlen = 0;
            found = lookup ? lookup(ctx, tpl + tag.name, tag.name_len,
                                    &v, &vlen)
                           : 0;

            show = (found && v != NULL && vlen > 0);

            if (tag.kind == NGX_HTTP_OUTAGE_TAG_INVERT) {
                show = !show;
            }

            if (show) {
                stack[depth++] = sec;
                p = tag.end;

            } else {
                p = sec.end;
            }

            lit = p;
            break;

        default:
            /* a close tag that closes no shown section: literal text */
            p = tag.end;
            break;
        }
    }

    ngx_http_outage_out_text(&out, tpl + lit, tpl_len - lit);

    return out.need;
}


/*
 * Template names whose values come from Redis (banner and page alike; the
 * page's "update" is the message shown after its lead).
 */

int
ngx_http_outage_tpl_untrusted(const unsigned char *name, size_t len)
{
    return (len == 7 && memcmp(name, "message", 7) == 0)
           || (len == 3 && memcmp(name, "eta", 3) == 0)
           || (len == 4 && memcmp(name, "link", 4) == 0)
           || (len == 6 && memcmp(name, "update", 6) == 0);
}


const char *
ngx_http_outage_tpl_check(const unsigned char *tpl, size_t len,
    size_t *offset)
{
    size_t                 p, q, depth, pos[NGX_HTTP_OUTAGE_TPL_DEPTH];
    ngx_http_outage_tpl_tag_t  tag, opens[NGX_HTTP_OUTAGE_TPL_DEPTH];

    depth = 0;
    p = 0;

    if (tpl == NULL) {
        len = 0;
    }

    while (p < len) {
        if (tpl[p] != '{' || len - p < 2 || tpl[p + 1] != '{') {
            p++;
            continue;
        }

        if (!ngx_http_outage_tpl_tag(tpl, p, len, &tag)) {
            if (offset) {
                *offset = p;
            }

            for (q = p + 2; q + 1 < len; q++) {
                if (tpl[q] == '}' && tpl[q + 1] == '}') {
                    return "invalid tag (expected {{name}}, {{name|raw}}, "
                           "{{#name}}, {{^name}} or {{/name}})";
                }
            }

            return "unclosed \"{{\"";
        }

        switch (tag.kind) {

        case NGX_HTTP_OUTAGE_TAG_VAR:
            /*
             * Whoever can write to Redis must not be able to write markup
             * into every page: the fields that come from Redis are always
             * escaped, so "|raw" on them is a configuration error.
             */
            if (tag.raw
                && ngx_http_outage_tpl_untrusted(tpl + tag.name,
                                                 tag.name_len))
            {
                if (offset) {
                    *offset = p;
                }

                return "\"|raw\" is refused on message, update, eta and "
                       "link: they come from Redis and are always escaped";
            }

            break;

        case NGX_HTTP_OUTAGE_TAG_OPEN:
        case NGX_HTTP_OUTAGE_TAG_INVERT:
            if (depth == NGX_HTTP_OUTAGE_TPL_DEPTH) {
                if (offset) {
                    *offset = p;
                }

                return "sections nested too deeply";
            }

            pos[depth] = p;
            opens[depth++] = tag;
            break;

        case NGX_HTTP_OUTAGE_TAG_CLOSE:
            if (depth == 0) {
                if (offset) {
                    *offset = p;
                }

                return "section close without a matching open";
            }

            depth--;

            if (opens[depth].name_len != tag.name_len
                || memcmp(tpl + opens[depth].name, tpl + tag.name,
                          tag.name_len) != 0)
            {
                if (offset) {
                    *offset = p;
                }

                return "section close does not match the innermost open "
                       "section";
            }

            break;
        }

        p = tag.end;
    }

    if (depth > 0) {
        if (offset) {
            *offset = pos[depth - 1];
        }

        return "unclosed section";
    }

    return NULL;
}


/* ---- the page bodies' sink (see text.h) -------------------------------- */

void
ngx_http_outage_wr_init(ngx_http_outage_wr_t *w, unsigned char *dst,
    size_t size)
{
    w->dst = dst;
    w->size = dst ? size : 0;
    w->need = 0;
    w->full = (dst == NULL);
}


static void
ngx_http_outage_wr_add(ngx_http_outage_wr_t *w, size_t n)
{
    w->need = (n > SIZE_MAX - w->need) ? SIZE_MAX : w->need + n;
}


void
ngx_http_outage_wr_raw(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n)
{
    if (!w->full && n <= w->size - w->need) {
        memcpy(w->dst + w->need, p, n);
        w->need += n;
        return;
    }

    w->full = 1;
    ngx_http_outage_wr_add(w, n);
}


void
ngx_http_outage_wr_str(ngx_http_outage_wr_t *w, const char *s)
{
    ngx_http_outage_wr_raw(w, (const unsigned char *) s, strlen(s));
}


/* the escapers report their complete size: a piece that does not fit is
 * counted, not written, and stops all further writing */

static void
ngx_http_outage_wr_escaped(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n, size_t (*escape)(unsigned char *, size_t, const unsigned char *,
    size_t))
{
    size_t  r, room;

    if (w->full) {
        ngx_http_outage_wr_add(w, escape(NULL, 0, p, n));
        return;
    }

    room = w->size - w->need;
    r = escape(w->dst + w->need, room, p, n);

    if (r > room) {
        w->full = 1;
        ngx_http_outage_wr_add(w, r);
        return;
    }

    w->need += r;
}


void
ngx_http_outage_wr_html(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n)
{
    ngx_http_outage_wr_escaped(w, p, n, ngx_http_outage_html_escape);
}


void
ngx_http_outage_wr_json(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n)
{
    ngx_http_outage_wr_escaped(w, p, n, ngx_http_outage_json_escape);
}


void
ngx_http_outage_wr_jstr(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n)
{
    if (n == 0) {
        ngx_http_outage_wr_str(w, "null");
        return;
    }

    ngx_http_outage_wr_str(w, "\"");
    ngx_http_outage_wr_json(w, p, n);
    ngx_http_outage_wr_str(w, "\"");
}


void
ngx_http_outage_wr_num(ngx_http_outage_wr_t *w, long v)
{
    unsigned char  buf[24];

    ngx_http_outage_wr_raw(w, buf, ngx_http_outage_ltoa(buf, v));
}


size_t
ngx_http_outage_ltoa(unsigned char *dst, long v)
{
    unsigned long  u;

    u = (unsigned long) v;

    if (v < 0) {
        /* negate as unsigned: LONG_MIN has no positive long */
        dst[0] = '-';
        return 1 + ngx_http_outage_utoa(dst + 1, 0ULL + (0UL - u));
    }

    return ngx_http_outage_utoa(dst, u);
}
