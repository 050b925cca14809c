
/*
 * libFuzzer target for ngx_http_outage_resp.c, differential against
 * hiredis's reader: any bytes, cut into pieces whose sizes the first byte
 * chooses.  Wherever the walker says a reply ended, hiredis (fed the same
 * bytes) has exactly one new reply there and not one byte before; where
 * the walker says "more", hiredis has none.  Once either side refuses the
 * bytes, the run stops (hiredis 0.14 accepts some that are not RESP2).
 * Then the poll connection's filter (ngx_http_outage_resp_cut) on the same
 * pieces: with a max nothing passes it is the identity, and it never
 * writes more than a piece and one held header, nor takes more than given.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *       tests/fuzz/fuzz_resp.c ngx_outage_module/ngx_http_outage_resp.c \
 *       -lhiredis -o /tmp/fuzz_resp
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "ngx_http_outage_resp.h"


/* wide: replies are never "over", only the boundaries are compared */
static const ngx_http_outage_resp_limits_t  limits = {
    1000, 1 << 16, 1 << 16, 1 << 16, 1 << 16
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      rc;
    void                    *reply;
    size_t                   pos, piece, used, step, hn;
    redisReply              *rr;
    redisReader             *r;
    unsigned char           *copy;
    ngx_http_outage_resp_t   w;

    if (size < 1) {
        return 0;
    }

    step = 1 + data[0] % 16;
    data++;
    size--;

    /* an exact-size copy, so ASan sees any read past the end */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    r = redisReaderCreate();
    ngx_http_outage_resp_init(&w, &limits);

    for (pos = 0; pos < size; pos += used) {
        piece = size - pos < step ? size - pos : step;

        rc = ngx_http_outage_resp_walk(&w, copy + pos, piece, &used);

        if (rc == NGX_HTTP_OUTAGE_RESP_BAD) {
            break;
        }

        if (used == 0 || used > piece || (rc == NGX_HTTP_OUTAGE_RESP_MORE
                                          && used != piece))
        {
            abort();
        }

        if (w.over) {
            abort();        /* nothing is over these limits */
        }

        if (rc == NGX_HTTP_OUTAGE_RESP_END && used > 1) {
            /* one byte short of the end: hiredis has no reply yet */
            if (redisReaderFeed(r, (const char *) copy + pos, used - 1)
                != REDIS_OK
                || redisReaderGetReply(r, &reply) != REDIS_OK)
            {
                break;
            }

            if (reply != NULL) {
                abort();
            }

            if (redisReaderFeed(r, (const char *) copy + pos + used - 1, 1)
                != REDIS_OK)
            {
                break;
            }

        } else if (redisReaderFeed(r, (const char *) copy + pos, used)
                   != REDIS_OK)
        {
            break;
        }

        if (redisReaderGetReply(r, &reply) != REDIS_OK) {
            break;
        }

        if ((reply != NULL) != (rc == NGX_HTTP_OUTAGE_RESP_END)) {
            abort();
        }

        if (reply) {
            /*
             * The head the walker kept is what hiredis read as the first
             * bytes of the top array's first string (and nothing else)
             */
            rr = reply;

            if (rr->type == REDIS_REPLY_ARRAY && rr->elements
                && rr->element[0]->type == REDIS_REPLY_STRING)
            {
                hn = rr->element[0]->len < sizeof(w.head)
                     ? rr->element[0]->len : sizeof(w.head);

                if (w.head_len != hn
                    || memcmp(w.head, rr->element[0]->str, hn) != 0)
                {
                    abort();
                }

            } else if (w.head_len != 0) {
                abort();
            }

            freeReplyObject(reply);

            /* exactly one */
            if (redisReaderGetReply(r, &reply) != REDIS_OK) {
                break;
            }

            if (reply != NULL) {
                abort();
            }
        }
    }

    redisReaderFree(r);

    ngx_http_outage_resp_cut_t  c;
    unsigned char               out[16 + NGX_HTTP_OUTAGE_RESP_LINE];
    unsigned char              *all;
    size_t                      n, total;

    all = malloc(size + NGX_HTTP_OUTAGE_RESP_LINE);
    if (all == NULL) {
        free(copy);
        return 0;
    }

    ngx_http_outage_resp_cut_init(&c, UINT64_MAX, UINT64_MAX);
    total = 0;
    rc = NGX_HTTP_OUTAGE_RESP_CUT_MORE;

    for (pos = 0; pos < size; pos += used) {
        piece = size - pos < step ? size - pos : step;

        rc = ngx_http_outage_resp_cut(&c, copy + pos, piece, &used, out, &n);

        if (used > piece || n > piece + NGX_HTTP_OUTAGE_RESP_LINE
            || total + n > size)
        {
            abort();
        }

        memcpy(all + total, out, n);
        total += n;

        if (rc == NGX_HTTP_OUTAGE_RESP_CUT_BAD) {
            break;          /* a length that overflows 64 bits */
        }

        if (rc != NGX_HTTP_OUTAGE_RESP_CUT_MORE || used != piece) {
            abort();
        }
    }

    /* identity: what came out is what went in, but a header held back */
    if (rc != NGX_HTTP_OUTAGE_RESP_CUT_BAD
        && (size - total > NGX_HTTP_OUTAGE_RESP_LINE
            || memcmp(all, copy, total) != 0))
    {
        abort();
    }

    free(all);
    free(copy);

    return 0;
}
