
/*
 * libFuzzer target for ngx_http_outage_cond.c.  Any bytes as an
 * If-None-Match value and an ETag (split at the first NUL): the list is
 * never read outside its bytes, and a match ("*" aside) means the ETag's
 * tag, W/ left out, is in the list.  The same bytes also pick a list of
 * well-formed entity-tags (W/, commas and blanks inside and between them):
 * there the answer must be nginx's own (tests/support/nginx_cond.h).
 * And the If-Modified-Since rule against nginx's for the dates in the
 * input.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *       tests/fuzz/fuzz_cond.c ngx_outage_module/ngx_http_outage_cond.c \
 *       -o /tmp/fuzz_cond
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_cond.h"
#include "../support/nginx_cond.h"


static const char  *tags[] = {
    "\"a\"", "W/\"a\"", "\"b\"", "W/\"b\"", "\"a,b\"", "\"\"", "\"a b\"",
    "\"ab\"", "W/\"ab\"", "\"b,\"", "\"W/a\"", "\"a\t\"", "W/\"\""
};

#define NTAGS  (sizeof(tags) / sizeof(tags[0]))

static const char  *seps[] = { ",", ", ", " , ", ",\t", ",,", " ,, ", "\t," };

#define NSEPS  (sizeof(seps) / sizeof(seps[0]))


static void
raw(const uint8_t *data, size_t size)
{
    size_t          n, k, elen, tlen;
    unsigned char  *list, *etag;
    const uint8_t  *nul, *t;

    nul = memchr(data, 0, size);
    n = nul ? (size_t) (nul - data) : size;
    elen = nul ? size - n - 1 : 0;

    /* exact-size copies, so ASan sees any read past the end */
    list = malloc(n ? n : 1);
    etag = malloc(elen ? elen : 1);
    if (list == NULL || etag == NULL) {
        abort();
    }

    memcpy(list, data, n);
    if (elen) {
        memcpy(etag, nul + 1, elen);
    }

    if (ngx_http_outage_cond_etag(list, n, nul ? etag : NULL, elen)) {

        for (k = 0; k < n && (list[k] == ' ' || list[k] == '\t'); k++) {
            /* void */
        }

        if (!(n - k >= 1 && list[k] == '*')) {
            if (nul == NULL) {
                abort();                     /* no ETag: "*" only */
            }

            t = etag;
            tlen = elen;

            if (tlen > 2 && t[0] == 'W' && t[1] == '/') {
                t += 2;
                tlen -= 2;
            }

            if (tlen > n) {
                abort();
            }

            for (k = 0; k + tlen <= n; k++) {
                if (memcmp(list + k, t, tlen) == 0) {
                    break;
                }
            }

            if (k + tlen > n) {
                abort();                     /* matched what is not there */
            }
        }
    }

    free(list);
    free(etag);
}


static void
formed(const uint8_t *data, size_t size)
{
    char    list[16 * 16 + 1];       /* a tag and a separator: < 16 */
    size_t  i, n;
    int     mine, theirs;
    const char  *etag;

    if (size < 2) {
        return;
    }

    etag = (data[0] % (NTAGS + 1) == NTAGS) ? NULL : tags[data[0] % (NTAGS + 1)];

    list[0] = '\0';
    n = (size - 1 > 16) ? 16 : size - 1;

    for (i = 0; i < n; i++) {
        if (i) {
            strcat(list, seps[(data[1 + i] >> 4) % NSEPS]);
        }

        strcat(list, tags[(data[1 + i] & 0x0f) % NTAGS]);
    }

    mine = ngx_http_outage_cond_etag((const unsigned char *) list,
                                     strlen(list),
                                     (const unsigned char *) etag,
                                     etag ? strlen(etag) : 0);
    theirs = nginx_if_none_match(list, strlen(list), etag);

    if (mine != theirs) {
        abort();
    }
}


static void
dates(const uint8_t *data, size_t size)
{
    int     mode;
    time_t  ims, lm;

    if (size < 3) {
        return;
    }

    /* small numbers: equal, before and after all come often */
    ims = (time_t) (data[0] % 8) - 1;
    lm = (time_t) (data[1] % 8) - 1;
    mode = data[2] % 3;

    if (ngx_http_outage_cond_modified(ims, lm, mode)
        != nginx_modified(ims, lm, mode))
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    raw(data, size);
    formed(data, size);
    dates(data, size);

    return 0;
}
