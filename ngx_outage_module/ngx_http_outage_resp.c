
/*
 * ngx_outage_module: where one RESP2 reply ends, without keeping it.
 * See ngx_http_outage_resp.h.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_http_outage_resp.h"


#define NGX_HTTP_OUTAGE_RESP_TYPE     0    /* the first byte of a value */
#define NGX_HTTP_OUTAGE_RESP_TEXT     1    /* the rest of its line */
#define NGX_HTTP_OUTAGE_RESP_LF       2    /* after a CR in the line */
#define NGX_HTTP_OUTAGE_RESP_BULK     3    /* the bytes of a string */
#define NGX_HTTP_OUTAGE_RESP_BULK_CR  4
#define NGX_HTTP_OUTAGE_RESP_BULK_LF  5


static int ngx_http_outage_resp_line(ngx_http_outage_resp_t *w);
static int ngx_http_outage_resp_value_done(ngx_http_outage_resp_t *w);
static int ngx_http_outage_resp_bad(ngx_http_outage_resp_t *w,
    const char *fmt, unsigned long long a, unsigned long long b);
static void ngx_http_outage_resp_over(ngx_http_outage_resp_t *w,
    const char *fmt, unsigned long long a, unsigned long long b);


void
ngx_http_outage_resp_init(ngx_http_outage_resp_t *w,
    const ngx_http_outage_resp_limits_t *limits)
{
    memset(w, 0, sizeof(ngx_http_outage_resp_t));
    w->limits = limits;
}


int
ngx_http_outage_resp_walk(ngx_http_outage_resp_t *w, const unsigned char *p,
    size_t len, size_t *used)
{
    int                                   rc;
    size_t                                i, n, k;
    unsigned char                         c;
    const ngx_http_outage_resp_limits_t  *lim;

    lim = w->limits;

    if (!w->started) {
        /* what is said about the previous reply ends with it */
        ngx_http_outage_resp_init(w, lim);
        w->started = 1;
    }

    for (i = 0; i < len; /* void */) {

        if (w->state == NGX_HTTP_OUTAGE_RESP_BULK) {
            /* a string's bytes are counted, never looked at or kept */
            n = len - i;
            if ((uint64_t) n > w->bulk) {
                n = (size_t) w->bulk;
            }

            /* ... but for the few that say what the reply is */
            if (w->head_open && w->head_len < sizeof(w->head)) {
                k = sizeof(w->head) - w->head_len;
                k = (n < k) ? n : k;
                memcpy(w->head + w->head_len, p + i, k);
                w->head_len += k;
            }

            w->bulk -= n;
            w->bytes += n;
            i += n;

            if (w->bulk == 0) {
                w->state = NGX_HTTP_OUTAGE_RESP_BULK_CR;
            }

            goto counted;
        }

        c = p[i++];
        w->bytes++;

        switch (w->state) {

        case NGX_HTTP_OUTAGE_RESP_TYPE:

            if (c != '*' && c != '$' && c != ':' && c != '+' && c != '-') {
                /* the wording of hiredis's reader, whose errors these were */
                (void) snprintf(w->reason, sizeof(w->reason),
                                (c >= 0x20 && c < 0x7f)
                                ? "Protocol error, got \"%c\" as reply type "
                                  "byte"
                                : "Protocol error, got \"\\x%02x\" as reply "
                                  "type byte", c);
                w->started = 0;

                return NGX_HTTP_OUTAGE_RESP_BAD;
            }

            /* a nil string ($-1) has no bytes to close its head */
            w->head_open = 0;

            if (w->depth == 0) {
                w->top = c;

            } else if (w->depth == 1 && !w->head_seen) {
                w->head_seen = 1;
                w->head_open = (c == '$');
            }

            w->type = c;
            w->line_len = 0;
            w->state = NGX_HTTP_OUTAGE_RESP_TEXT;
            break;

        case NGX_HTTP_OUTAGE_RESP_LF:

            if (c == '\n') {
                rc = ngx_http_outage_resp_line(w);

                if (rc != NGX_HTTP_OUTAGE_RESP_MORE) {
                    *used = i;
                    return rc;
                }

                break;
            }

            if (w->type != '+' && w->type != '-') {
                return ngx_http_outage_resp_bad(w, "Protocol error, a CR "
                                                "without LF in a header", 0, 0);
            }

            /*
             * A lone CR inside a status or error text is text, and counts
             * as one (the next byte may be a CR again, not counted below)
             */
            if (++w->line_len > lim->value_max) {
                ngx_http_outage_resp_over(w, "a line of more than %llu "
                                          "bytes", lim->value_max, 0);
            }

            w->state = NGX_HTTP_OUTAGE_RESP_TEXT;

            /* fall through */

        case NGX_HTTP_OUTAGE_RESP_TEXT:

            if (c == '\r') {
                w->state = NGX_HTTP_OUTAGE_RESP_LF;
                break;
            }

            if (w->type == '+' || w->type == '-') {
                /* a text line: only its length matters (first excess kept) */
                if (++w->line_len > lim->value_max) {
                    ngx_http_outage_resp_over(w, "a line of more than %llu "
                                              "bytes", lim->value_max, 0);
                }

                break;
            }

            if (w->line_len == NGX_HTTP_OUTAGE_RESP_LINE) {
                return ngx_http_outage_resp_bad(w, "Protocol error, a header "
                                                "longer than %llu bytes",
                                                NGX_HTTP_OUTAGE_RESP_LINE, 0);
            }

            w->line[w->line_len++] = c;
            break;

        case NGX_HTTP_OUTAGE_RESP_BULK_CR:

            w->head_open = 0;

            if (c != '\r') {
                return ngx_http_outage_resp_bad(w, "Protocol error, a string "
                                                "not followed by CRLF", 0, 0);
            }

            w->state = NGX_HTTP_OUTAGE_RESP_BULK_LF;
            break;

        default: /* NGX_HTTP_OUTAGE_RESP_BULK_LF */

            if (c != '\n') {
                return ngx_http_outage_resp_bad(w, "Protocol error, a string "
                                                "not followed by CRLF", 0, 0);
            }

            if (ngx_http_outage_resp_value_done(w)) {
                *used = i;
                return NGX_HTTP_OUTAGE_RESP_END;
            }

            break;
        }

    counted:

        if (w->bytes > lim->cap) {
            return ngx_http_outage_resp_bad(w, "a reply of more than %llu "
                                            "bytes", lim->cap, 0);
        }

        if (w->bytes > lim->bytes_max) {
            ngx_http_outage_resp_over(w, "a reply of more than %llu bytes",
                                      lim->bytes_max, 0);
        }
    }

    *used = len;

    return NGX_HTTP_OUTAGE_RESP_MORE;
}


/* a complete header or text line: END, MORE or BAD */

static int
ngx_http_outage_resp_line(ngx_http_outage_resp_t *w)
{
    size_t                                i;
    uint64_t                              n, max;
    const ngx_http_outage_resp_limits_t  *lim;

    lim = w->limits;

    if (w->type == '+' || w->type == '-') {
        return ngx_http_outage_resp_value_done(w) ? NGX_HTTP_OUTAGE_RESP_END
                                                  : NGX_HTTP_OUTAGE_RESP_MORE;
    }

    i = 0;

    if (w->line_len && w->line[0] == '-') {
        i = 1;
    }

    if (i == w->line_len) {
        return ngx_http_outage_resp_bad(w, "Protocol error, a header without "
                                        "a number", 0, 0);
    }

    n = 0;

    for ( /* void */ ; i < w->line_len; i++) {
        if (w->line[i] < '0' || w->line[i] > '9') {
            return ngx_http_outage_resp_bad(w, "Protocol error, a header "
                                            "with a bad number", 0, 0);
        }

        if (n > (UINT64_MAX - 9) / 10) {
            return ngx_http_outage_resp_bad(w, "Protocol error, a header "
                                            "with a bad number", 0, 0);
        }

        n = n * 10 + (w->line[i] - '0');
    }

    if (w->type == ':') {
        return ngx_http_outage_resp_value_done(w) ? NGX_HTTP_OUTAGE_RESP_END
                                                  : NGX_HTTP_OUTAGE_RESP_MORE;
    }

    if (w->line[0] == '-') {
        if (n != 1) {
            return ngx_http_outage_resp_bad(w, "Protocol error, a negative "
                                            "length other than -1", 0, 0);
        }

        /* a nil string or array */
        return ngx_http_outage_resp_value_done(w) ? NGX_HTTP_OUTAGE_RESP_END
                                                  : NGX_HTTP_OUTAGE_RESP_MORE;
    }

    if (w->type == '$') {
        if (n > lim->cap) {
            return ngx_http_outage_resp_bad(w, "a value of %llu bytes "
                                            "(at most %llu)", n, lim->cap);
        }

        if (n > lim->value_max) {
            ngx_http_outage_resp_over(w, "a value of %llu bytes (at most "
                                      "%llu)", n, lim->value_max);
        }

        w->bulk = n;
        w->state = n ? NGX_HTTP_OUTAGE_RESP_BULK
                     : NGX_HTTP_OUTAGE_RESP_BULK_CR;

        return NGX_HTTP_OUTAGE_RESP_MORE;
    }

    /* '*' */

    if (n == 0) {
        return ngx_http_outage_resp_value_done(w) ? NGX_HTTP_OUTAGE_RESP_END
                                                  : NGX_HTTP_OUTAGE_RESP_MORE;
    }

    if (w->depth == NGX_HTTP_OUTAGE_RESP_DEPTH) {
        return ngx_http_outage_resp_bad(w, "arrays nested %llu deep (at most "
                                        "%llu)", NGX_HTTP_OUTAGE_RESP_DEPTH,
                                        NGX_HTTP_OUTAGE_RESP_DEPTH - 1);
    }

    /* the top array has the shape of the replies expected; inner: skipped */
    max = w->depth ? lim->cap / 3 : lim->top_max;

    if (n > max) {
        return ngx_http_outage_resp_bad(w, "an array of %llu elements "
                                        "(at most %llu)", n, max);
    }

    if (w->depth && n > lim->elements_max) {
        ngx_http_outage_resp_over(w, "an array of %llu elements (at most "
                                  "%llu)", n, lim->elements_max);
    }

    w->elements += n;

    if (w->elements > lim->elements_max + lim->top_max) {
        ngx_http_outage_resp_over(w, "a reply of more than %llu elements",
                                  lim->elements_max + lim->top_max, 0);
    }

    w->left[w->depth++] = n;
    w->state = NGX_HTTP_OUTAGE_RESP_TYPE;

    return NGX_HTTP_OUTAGE_RESP_MORE;
}


/* a value ended: 1 if it ended the reply too */

static int
ngx_http_outage_resp_value_done(ngx_http_outage_resp_t *w)
{
    w->state = NGX_HTTP_OUTAGE_RESP_TYPE;

    while (w->depth) {
        if (--w->left[w->depth - 1]) {
            return 0;
        }

        /* the array is complete: a value of the one around it */
        w->depth--;
    }

    w->started = 0;

    return 1;
}


static int
ngx_http_outage_resp_bad(ngx_http_outage_resp_t *w, const char *fmt,
    unsigned long long a, unsigned long long b)
{
    (void) snprintf(w->reason, sizeof(w->reason), fmt, a, b);
    w->started = 0;

    return NGX_HTTP_OUTAGE_RESP_BAD;
}


static void
ngx_http_outage_resp_over(ngx_http_outage_resp_t *w, const char *fmt,
    unsigned long long a, unsigned long long b)
{
    if (w->over) {
        return;     /* the first excess is the one to report */
    }

    w->over = 1;
    (void) snprintf(w->reason, sizeof(w->reason), fmt, a, b);
}


/* ---- the poll connection's filter ------------------------------------ */

#define NGX_HTTP_OUTAGE_CUT_START     0    /* a line's first byte */
#define NGX_HTTP_OUTAGE_CUT_LINE      1    /* copying a line to its LF */
#define NGX_HTTP_OUTAGE_CUT_HEAD      2    /* holding a "$" header */
#define NGX_HTTP_OUTAGE_CUT_COPY      3    /* copying a string + CRLF */
#define NGX_HTTP_OUTAGE_CUT_DROP      4    /* dropping one */


void
ngx_http_outage_resp_cut_init(ngx_http_outage_resp_cut_t *c, uint64_t max,
    uint64_t cap)
{
    memset(c, 0, sizeof(ngx_http_outage_resp_cut_t));
    c->max = max;
    c->cap = cap;
}


/* the length a complete "$" header announces; -1: none (copied as is) */

static int64_t
ngx_http_outage_resp_cut_length(ngx_http_outage_resp_cut_t *c, int *over)
{
    size_t    i;
    uint64_t  n;

    *over = 0;

    /* "$", at least one digit, CR, LF */
    if (c->line_len < 4 || c->line[c->line_len - 2] != '\r') {
        return -1;
    }

    n = 0;

    for (i = 1; i < c->line_len - 2; i++) {
        if (c->line[i] < '0' || c->line[i] > '9') {
            return -1;      /* "$-1" (nil) or not a length */
        }

        if (n > (UINT64_MAX - 9) / 10) {
            *over = 1;
            (void) snprintf(c->reason, sizeof(c->reason),
                            "a value of more than %llu bytes (at most %llu)",
                            (unsigned long long) n,
                            (unsigned long long) c->cap);
            return 0;
        }

        n = n * 10 + (c->line[i] - '0');
    }

    if (n > c->cap) {
        *over = 1;
        (void) snprintf(c->reason, sizeof(c->reason),
                        "a value of %llu bytes (at most %llu)",
                        (unsigned long long) n, (unsigned long long) c->cap);
        return 0;
    }

    return (int64_t) n;
}


int
ngx_http_outage_resp_cut(ngx_http_outage_resp_cut_t *c,
    const unsigned char *in, size_t len, size_t *used, unsigned char *out,
    size_t *out_len)
{
    int            over;
    size_t         i, n, o;
    int64_t        l;
    unsigned char  b;

    o = 0;

    for (i = 0; i < len; /* void */) {

        switch (c->state) {

        case NGX_HTTP_OUTAGE_CUT_COPY:
        case NGX_HTTP_OUTAGE_CUT_DROP:

            n = len - i;
            if ((uint64_t) n > c->left) {
                n = (size_t) c->left;
            }

            if (c->state == NGX_HTTP_OUTAGE_CUT_COPY) {
                memcpy(out + o, in + i, n);
                o += n;
            }

            i += n;
            c->left -= n;

            if (c->left == 0) {
                c->state = NGX_HTTP_OUTAGE_CUT_START;
            }

            break;

        case NGX_HTTP_OUTAGE_CUT_START:

            b = in[i++];

            if (b == '$') {
                c->line[0] = b;
                c->line_len = 1;
                c->state = NGX_HTTP_OUTAGE_CUT_HEAD;
                break;
            }

            out[o++] = b;
            c->state = (b == '\n') ? NGX_HTTP_OUTAGE_CUT_START
                                   : NGX_HTTP_OUTAGE_CUT_LINE;
            break;

        case NGX_HTTP_OUTAGE_CUT_LINE:

            /* a status, error, integer or array line: to its LF as it is */
            b = in[i++];
            out[o++] = b;

            if (b == '\n') {
                c->state = NGX_HTTP_OUTAGE_CUT_START;
            }

            break;

        default: /* NGX_HTTP_OUTAGE_CUT_HEAD */

            b = in[i++];
            c->line[c->line_len++] = b;

            if (b != '\n') {
                if (c->line_len == NGX_HTTP_OUTAGE_RESP_LINE) {
                    /* no length of ours: the reader says what it is */
                    memcpy(out + o, c->line, c->line_len);
                    o += c->line_len;
                    c->state = NGX_HTTP_OUTAGE_CUT_LINE;
                }

                break;
            }

            l = ngx_http_outage_resp_cut_length(c, &over);

            if (over) {
                c->state = NGX_HTTP_OUTAGE_CUT_START;
                *used = i;
                *out_len = o;

                return NGX_HTTP_OUTAGE_RESP_CUT_BAD;
            }

            if (l >= 0 && (uint64_t) l > c->max) {
                c->skipped = (uint64_t) l;
                c->left = (uint64_t) l + 2;
                c->state = NGX_HTTP_OUTAGE_CUT_DROP;
                *used = i;
                *out_len = o;

                return NGX_HTTP_OUTAGE_RESP_CUT_SKIP;
            }

            memcpy(out + o, c->line, c->line_len);
            o += c->line_len;

            if (l >= 0) {
                c->left = (uint64_t) l + 2;
                c->state = NGX_HTTP_OUTAGE_CUT_COPY;

            } else {
                c->state = NGX_HTTP_OUTAGE_CUT_START;
            }

            break;
        }
    }

    *used = len;
    *out_len = o;

    return NGX_HTTP_OUTAGE_RESP_CUT_MORE;
}


uint64_t
ngx_http_outage_resp_cut_dropping(ngx_http_outage_resp_cut_t *c)
{
    return (c->state == NGX_HTTP_OUTAGE_CUT_DROP) ? c->left : 0;
}


/* a field is matched at a line's start only: "role" is not "master_role" */

const unsigned char *
ngx_http_outage_resp_info(const unsigned char *text, size_t len,
    const char *name, size_t *vlen)
{
    size_t                n, k;
    const unsigned char  *p, *end, *eol, *v;

    n = strlen(name);
    p = text;
    end = text + len;

    while (p < end) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }

        if ((size_t) (eol - p) > n && memcmp(p, name, n) == 0 && p[n] == ':') {
            v = p + n + 1;
            k = (size_t) (eol - v);

            if (k && v[k - 1] == '\r') {
                k--;
            }

            *vlen = k;
            return v;
        }

        p = eol + 1;
    }

    *vlen = 0;
    return NULL;
}
