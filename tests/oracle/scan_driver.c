
/*
 * tests/oracle/scan_driver.c: runs the pure insertion-point scanner
 * (ngx_outage_module/ngx_http_outage_scan.c) the way the body filter does,
 * holding back what the scanner holds, and writes the resulting body for
 * the HTML5 oracle (tests/oracle/oracle.py) to parse.
 *
 * Every document is fed whole, byte by byte, split in two at every byte
 * (documents up to 4 KB) and in pseudo-random chunks; all of these must
 * give the same bytes, or the driver reports the split that differs.
 *
 * stdin:  "<len>\n<banner>" once, then "<len>\n<document>" records.
 * stdout: per document "<result> <hit> <implied> <len>\n<output>", where
 *         result is H (hit) or N (no place), or "E <len>\n<message>" when
 *         two splits disagree or the held bytes are inconsistent.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_scan.h"


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          size;
} buf_t;


static const unsigned char  *banner;
static size_t                banner_len;


static void
put(buf_t *b, const unsigned char *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (b->len + n > b->size) {
        b->size = (b->len + n) * 2 + 64;
        b->data = realloc(b->data, b->size);
        if (b->data == NULL) {
            abort();
        }
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
}


static void
put_banner(buf_t *out, ngx_http_outage_scan_t *s)
{
    if (s->implied) {
        put(out, (const unsigned char *) "<body>", 6);
    }

    put(out, banner, banner_len);
}


/*
 * Feeds doc in chunks ending at the offsets in cuts[] (the last is len),
 * building the body a filter would send.  Returns NULL or an error text.
 */
static const char *
run(const unsigned char *doc, size_t len, const size_t *cuts, size_t ncuts,
    buf_t *out, ngx_http_outage_scan_t *s)
{
    int             rc;
    size_t          k, from, to, n0, idx, nk;
    off_t           start;
    unsigned char   held[NGX_HTTP_OUTAGE_SCAN_HOLD * 2], cat[1 << 16];
    const unsigned char  *chunk;

    ngx_http_outage_scan_init(s);
    out->len = 0;
    n0 = 0;
    from = 0;
    rc = NGX_HTTP_OUTAGE_SCAN_MORE;

    for (k = 0; k < ncuts; k++) {
        to = cuts[k];
        chunk = doc + from;

        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
            put(out, chunk, to - from);
            from = to;
            continue;
        }

        rc = ngx_http_outage_scan_feed(s, chunk, to - from);

        /* held bytes followed by this chunk, as the filter sees them */
        if (n0 + (to - from) > sizeof(cat)) {
            return "chunk too large for the driver";
        }

        memcpy(cat, held, n0);
        memcpy(cat + n0, chunk, to - from);
        nk = n0 + (to - from);
        start = (off_t) from - (off_t) n0;

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
            if (s->nhold > nk || s->nhold > NGX_HTTP_OUTAGE_SCAN_HOLD) {
                return "more held than fed";
            }

            if (memcmp(s->hold, cat + nk - s->nhold, s->nhold) != 0) {
                return "held bytes differ from the stream";
            }

            put(out, cat, nk - s->nhold);
            n0 = s->nhold;
            memcpy(held, s->hold, n0);

        } else if (rc == NGX_HTTP_OUTAGE_SCAN_HIT) {
            if (s->hit < start || s->hit > start + (off_t) nk) {
                return "hit outside the held bytes and the chunk";
            }

            idx = (size_t) (s->hit - start);
            put(out, cat, idx);
            put_banner(out, s);
            put(out, cat + idx, nk - idx);
            n0 = 0;

        } else {
            put(out, cat, nk);
            n0 = 0;
        }

        from = to;
    }

    if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
        rc = ngx_http_outage_scan_finish(s);
        start = (off_t) len - (off_t) n0;

        if (rc == NGX_HTTP_OUTAGE_SCAN_HIT) {
            if (s->hit < start || s->hit > (off_t) len) {
                return "final hit outside the held bytes";
            }

            idx = (size_t) (s->hit - start);
            put(out, held, idx);
            put_banner(out, s);
            put(out, held + idx, n0 - idx);

        } else if (rc == NGX_HTTP_OUTAGE_SCAN_NONE) {
            put(out, held, n0);

        } else {
            return "finish returned MORE";
        }
    }

    if (ngx_http_outage_scan_finish(s) != rc
        || ngx_http_outage_scan_feed(s, doc, len) != rc)
    {
        return "decision not sticky";
    }

    return NULL;
}


static int
read_record(unsigned char **data, size_t *len)
{
    if (scanf("%zu", len) != 1 || getchar() != '\n') {
        return 0;
    }

    *data = malloc(*len + 1);
    if (*data == NULL || fread(*data, 1, *len, stdin) != *len) {
        abort();
    }

    return 1;
}


int
main(int argc, char **argv)
{
    int                     splits;
    char                    msg[256];
    size_t                  len, i, j, n, *cuts, seed;
    buf_t                   ref, out;
    const char             *err;
    unsigned char          *doc, *b;
    ngx_http_outage_scan_t  s, s0;

    splits = (argc > 1) ? atoi(argv[1]) : 1;

    if (!read_record(&b, &banner_len)) {
        return 2;
    }

    banner = b;
    memset(&ref, 0, sizeof(ref));
    memset(&out, 0, sizeof(out));

    while (read_record(&doc, &len)) {
        cuts = malloc((len + 2) * sizeof(size_t));
        if (cuts == NULL) {
            abort();
        }

        err = NULL;
        cuts[0] = len;
        err = run(doc, len, cuts, 1, &ref, &s0);

        /* byte by byte */
        if (err == NULL && splits) {
            for (i = 0; i < len; i++) {
                cuts[i] = i + 1;
            }

            err = run(doc, len, cuts, len ? len : 1, &out, &s);
            if (err == NULL && (out.len != ref.len
                                || memcmp(out.data, ref.data, ref.len)))
            {
                err = "byte by byte differs";
            }
        }

        /* in two at every byte */
        for (i = 0; err == NULL && splits && i <= len && len <= 4096; i++) {
            cuts[0] = i;
            cuts[1] = len;
            err = run(doc, len, cuts, 2, &out, &s);
            if (err == NULL && (out.len != ref.len
                                || memcmp(out.data, ref.data, ref.len)))
            {
                snprintf(msg, sizeof(msg), "split at %zu differs", i);
                err = msg;
            }
        }

        /* pseudo-random chunks */
        seed = len * 2654435761u + 1;
        for (j = 0; err == NULL && splits && j < 4; j++) {
            n = 0;
            i = 0;
            while (i < len) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                i += 1 + (seed >> 33) % 40;
                cuts[n++] = i < len ? i : len;
            }
            if (n == 0) {
                cuts[n++] = 0;
            }

            err = run(doc, len, cuts, n, &out, &s);
            if (err == NULL && (out.len != ref.len
                                || memcmp(out.data, ref.data, ref.len)))
            {
                err = "random chunks differ";
            }
        }

        if (err) {
            printf("E %zu\n%s", strlen(err), err);

        } else {
            printf("%c %lld %u %zu\n",
                   s0.result == NGX_HTTP_OUTAGE_SCAN_HIT ? 'H' : 'N',
                   (long long) s0.hit, s0.implied, ref.len);
            fwrite(ref.data, 1, ref.len, stdout);
        }

        fflush(stdout);
        free(cuts);
        free(doc);
    }

    free(ref.data);
    free(out.data);
    free(b);

    return 0;
}
