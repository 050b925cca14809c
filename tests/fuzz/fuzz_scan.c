
/*
 * tests/fuzz/fuzz_scan.c: libFuzzer target for the streaming insertion-point
 * scanner (ngx_outage_module/ngx_http_outage_scan.c).
 *
 * Input layout: two control bytes, then the HTML.  The control bytes seed
 * the chunk sizes (including empty chunks).  Each chunk is copied into its
 * own exactly sized heap block, so ASan catches any read past a chunk.
 *
 * Checked on every input (abort on failure):
 *  - one-shot, randomly chunked and byte-by-byte feeding agree on the
 *    decision (hit or none), the position and whether it is implied;
 *  - held bytes are never more than NGX_HTTP_OUTAGE_SCAN_HOLD and are the
 *    last bytes fed; a hit lies within the held bytes and the chunk;
 *  - a hit after the page's <body> comes right after a '>' byte, an
 *    implied hit right before a byte that is not whitespace (or at the end);
 *  - the decision sticks: later feeds and finish() return it again;
 *  - the AVX2 reading of <meta>/<link> runs and the searches alone
 *    (ngx_http_outage_scan_use_avx2(0)) agree.
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


/* returns the decision; *pos and *implied say where */

static int
fuzz_run(const unsigned char *p, size_t len, int mode, uint32_t seed,
    size_t *pos, int *implied)
{
    int                      rc;
    size_t                   from, n, empty, held;
    unsigned char           *chunk;
    fuzz_chunker_t           ck;
    ngx_http_outage_scan_t   s;

    ck.state = seed * 2654435761u + 1;
    ck.max = 1 + (seed & 0x3f);

    ngx_http_outage_scan_init(&s);

    from = 0;
    empty = 0;
    held = 0;
    rc = NGX_HTTP_OUTAGE_SCAN_MORE;

    while (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
        n = fuzz_next_chunk(mode, &ck, len - from);

        if (n == 0 && from < len && ++empty > 64) {
            /* enough empty chunks; make sure the whole input gets fed */
            n = 1;
        }

        if (n == 0 && from == len) {
            break;
        }

        /* an exactly sized copy, so that ASan sees reads past the chunk */
        chunk = malloc(n ? n : 1);
        FUZZ_CHECK(chunk != NULL);
        memcpy(chunk, p + from, n);

        rc = ngx_http_outage_scan_feed(&s, chunk, n);

        free(chunk);

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
            FUZZ_CHECK(s.nhold <= NGX_HTTP_OUTAGE_SCAN_HOLD);
            FUZZ_CHECK(s.nhold <= from + n);
            FUZZ_CHECK(memcmp(s.hold, p + from + n - s.nhold, s.nhold) == 0);
            held = s.nhold;

        } else if (rc == NGX_HTTP_OUTAGE_SCAN_HIT) {
            FUZZ_CHECK(s.hit >= (off_t) (from - held));
            FUZZ_CHECK(s.hit <= (off_t) (from + n));
        }

        from += n;
    }

    if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
        rc = ngx_http_outage_scan_finish(&s);
        FUZZ_CHECK(rc != NGX_HTTP_OUTAGE_SCAN_MORE);

        if (rc == NGX_HTTP_OUTAGE_SCAN_HIT) {
            FUZZ_CHECK(s.hit >= (off_t) (len - held));
        }
    }

    FUZZ_CHECK(s.done == 1);
    FUZZ_CHECK(ngx_http_outage_scan_feed(&s, p, len) == rc);
    FUZZ_CHECK(ngx_http_outage_scan_finish(&s) == rc);

    *pos = 0;
    *implied = 0;

    if (rc == NGX_HTTP_OUTAGE_SCAN_HIT) {
        FUZZ_CHECK(s.hit >= 0 && (size_t) s.hit <= len);
        *pos = (size_t) s.hit;
        *implied = s.implied;

        if (s.implied) {
            FUZZ_CHECK(*pos == len
                       || !(p[*pos] == ' ' || p[*pos] == '\n'
                            || p[*pos] == '\t' || p[*pos] == '\r'
                            || p[*pos] == '\f'));

        } else {
            FUZZ_CHECK(*pos > 0 && p[*pos - 1] == '>');
        }
    }

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc0, rc1, rc2, imp0, imp1, imp2;
    size_t                len, pos0, pos1, pos2;
    uint32_t              seed;
    const unsigned char  *p;

    if (size < 2) {
        return 0;
    }

    seed = (uint32_t) data[0] | ((uint32_t) data[1] << 8);
    p = data + 2;
    len = size - 2;

    rc0 = fuzz_run(p, len, 0, seed, &pos0, &imp0);

    rc2 = fuzz_run(p, len, 2, seed, &pos2, &imp2);
    FUZZ_CHECK(rc2 == rc0 && pos2 == pos0 && imp2 == imp0);

    /*
     * the searches alone (as on a CPU without AVX2) against the AVX2
     * reading of <meta>/<link> runs the calls above used where it exists
     */
    if (ngx_http_outage_scan_use_avx2(0) == 0) {
        rc1 = fuzz_run(p, len, 2, seed + 1, &pos1, &imp1);
        (void) ngx_http_outage_scan_use_avx2(1);
        FUZZ_CHECK(rc1 == rc0 && pos1 == pos0 && imp1 == imp0);
    }

    /* byte by byte is the slowest; bound it so large inputs stay fast */
    if (len <= 16384) {
        rc1 = fuzz_run(p, len, 1, seed, &pos1, &imp1);
        FUZZ_CHECK(rc1 == rc0 && pos1 == pos0 && imp1 == imp0);
    }

    return 0;
}
