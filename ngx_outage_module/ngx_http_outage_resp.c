
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
    size_t                                i, n;
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

            if (w->depth == 0) {
                w->top = c;
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
