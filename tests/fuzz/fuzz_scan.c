
/*
 * tests/fuzz/fuzz_scan.c: libFuzzer target for the streaming insertion-point
 * scanner (ngx_outage_module/ngx_http_outage_scan.c).
 *
 * Input layout: two control bytes, then the HTML.  The control bytes seed
 * the chunk sizes (including empty chunks).  Each chunk is copied into its
 * own exactly sized heap block, so ASan catches any read past a chunk.
 *
 * Checked on every input (abort on failure):
 *  - one-shot, randomly chunked and byte-by-byte feeding agree;
 *  - exactly one insertion: a hit, or finish() == 1, never both or neither;
 *  - the position lies in [0, len] and a hit comes right after a '>' byte;
 *  - an input without any '<' never hits;
 *  - a feed after the hit returns MORE and finish() then returns 0.
 *
 * Build (from the repository root):
 *  clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *      tests/fuzz/fuzz_scan.c ngx_outage_module/ngx_http_outage_scan.c \
 *      -o /tmp/fuzz_scan
 *  /tmp/fuzz_scan -max_total_time=120 tests/fuzz/corpus/scan
 */


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_scan.h"


#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_scan: check failed: %s (line %d)\n",        \
                    #cond, __LINE__);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    uint32_t  state;
    uint32_t  max;
} fuzz_chunker_t;


/* 0 = one shot, 1 = byte by byte, 2 = pseudo-random chunks */

static size_t
fuzz_next_chunk(int mode, fuzz_chunker_t *ck, size_t left)
{
    size_t  n;

    if (mode == 0) {
        return left;
    }

    if (mode == 1) {
        return left ? 1 : 0;
    }

    ck->state ^= ck->state << 13;
    ck->state ^= ck->state >> 17;
    ck->state ^= ck->state << 5;

    /* about one chunk in eight is empty */
    if ((ck->state & 7) == 0) {
        return 0;
    }

    n = 1 + (ck->state >> 8) % ck->max;

    return n < left ? n : left;
}


/* returns the absolute insertion position; *hit says how it was decided */

static size_t
fuzz_run(const unsigned char *p, size_t len, int mode, uint32_t seed,
    int *hit)
{
    size_t                   from, n, pos, empty;
    ssize_t                  rc;
    unsigned char           *chunk;
    fuzz_chunker_t           ck;
    ngx_http_outage_scan_t   s;

    ck.state = seed * 2654435761u + 1;
    ck.max = 1 + (seed & 0x3f);

    ngx_http_outage_scan_init(&s);

    from = 0;
    pos = 0;
    empty = 0;
    *hit = 0;

    for ( ;; ) {
        n = fuzz_next_chunk(mode, &ck, len - from);

        if (n == 0 && from < len && ++empty > 64) {
            /* enough empty chunks; make sure the whole input gets fed */
            n = 1;
        }

        if (n == 0) {
            if (from == len) {
                break;
            }

            rc = ngx_http_outage_scan_feed(&s, p + from, 0);
            FUZZ_CHECK(rc == NGX_HTTP_OUTAGE_SCAN_MORE || *hit == 0);
            FUZZ_CHECK(rc == NGX_HTTP_OUTAGE_SCAN_MORE || rc == 0);

            if (rc == 0) {
                *hit = 1;
                pos = from;
            }

            continue;
        }

        chunk = malloc(n);
        FUZZ_CHECK(chunk != NULL);
        memcpy(chunk, p + from, n);

        rc = ngx_http_outage_scan_feed(&s, chunk, n);

        free(chunk);

        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
            FUZZ_CHECK(*hit == 0);
            FUZZ_CHECK(rc >= 0 && (size_t) rc <= n);
            FUZZ_CHECK(s.done == 1);

            *hit = 1;
            pos = from + (size_t) rc;
        }

        from += n;
    }

    if (*hit) {
        FUZZ_CHECK(ngx_http_outage_scan_feed(&s, p, len)
                   == NGX_HTTP_OUTAGE_SCAN_MORE);
        FUZZ_CHECK(ngx_http_outage_scan_finish(&s) == 0);

    } else {
        FUZZ_CHECK(ngx_http_outage_scan_finish(&s) == 1);
        FUZZ_CHECK(ngx_http_outage_scan_finish(&s) == 0);
        pos = len;
    }

    FUZZ_CHECK(pos <= len);

    if (*hit) {
        FUZZ_CHECK(pos > 0 && p[pos - 1] == '>');
    }

    return pos;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   hit0, hit1, hit2;
    size_t                len, pos0, pos1, pos2;
    uint32_t              seed;
    const unsigned char  *p;

    if (size < 2) {
        return 0;
    }

    seed = (uint32_t) data[0] | ((uint32_t) data[1] << 8);
    p = data + 2;
    len = size - 2;

    pos0 = fuzz_run(p, len, 0, seed, &hit0);

    /* without a "<" there is no tag, so nothing but an append is possible */
    FUZZ_CHECK(hit0 || pos0 == len);
    FUZZ_CHECK(!hit0 || memchr(p, '<', len) != NULL);

    pos2 = fuzz_run(p, len, 2, seed, &hit2);
    FUZZ_CHECK(hit2 == hit0 && pos2 == pos0);

    /* byte by byte is the slowest; bound it so large inputs stay fast */
    if (len <= 16384) {
        pos1 = fuzz_run(p, len, 1, seed, &hit1);
        FUZZ_CHECK(hit1 == hit0 && pos1 == pos0);
    }

    return 0;
}
