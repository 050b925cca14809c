
/*
 * tests/bench/scan_ir.c: drives the pure insertion-point scanner
 * (ngx_outage_module/ngx_http_outage_scan.c) over one document many times
 * so that tests/bench/scan_ir.py can count its instructions per byte of
 * <head> under callgrind (--toggle-collect on the feed and finish calls).
 *
 * usage: scan_ir FILE ITERATIONS CHUNK [nocharset]
 *        CHUNK 0 feeds the document whole, otherwise in CHUNK-byte pieces
 *        as nginx's proxy buffers would hand it over.  The document is
 *        served as UTF-8 (s->utf8) unless "nocharset" is given: then the
 *        scanner also looks for ISO-2022-JP's ESC bytes.
 * stdout: "<result> <bytes scanned> <hit>\n", result H (hit) or N (none);
 *         bytes scanned is what was fed before the decision.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_scan.h"


static int  utf8 = 1;


static int
scan_once(const unsigned char *doc, size_t len, size_t chunk,
    ngx_http_outage_scan_t *s, size_t *fed)
{
    int     rc;
    size_t  off, n;

    ngx_http_outage_scan_init(s);
    s->utf8 = utf8;

    rc = NGX_HTTP_OUTAGE_SCAN_MORE;

    for (off = 0; off < len; off += n) {
        n = (chunk == 0 || len - off < chunk) ? len - off : chunk;

        rc = ngx_http_outage_scan_feed(s, doc + off, n);
        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
            *fed = off + n;
            return rc;
        }
    }

    *fed = len;

    return ngx_http_outage_scan_finish(s);
}


int
main(int argc, char **argv)
{
    int                      rc;
    long                     i, iterations;
    FILE                    *f;
    size_t                   len, size, chunk, fed;
    unsigned char           *doc;
    ngx_http_outage_scan_t   s;

    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "nocharset") == 0)) {
        fprintf(stderr, "usage: scan_ir FILE ITERATIONS CHUNK [nocharset]\n");
        return 2;
    }

    utf8 = (argc == 4);

    f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }

    size = 1 << 20;
    doc = malloc(size);
    if (doc == NULL) {
        return 2;
    }

    len = fread(doc, 1, size, f);
    fclose(f);

    iterations = atol(argv[2]);
    chunk = (size_t) atol(argv[3]);

    rc = NGX_HTTP_OUTAGE_SCAN_NONE;
    fed = 0;

    for (i = 0; i < iterations; i++) {
        rc = scan_once(doc, len, chunk, &s, &fed);
    }

    printf("%c %zu %lld\n", rc == NGX_HTTP_OUTAGE_SCAN_HIT ? 'H' : 'N', fed,
           (long long) s.hit);

    free(doc);

    return 0;
}
