
/*
 * libFuzzer target for ngx_http_outage_tz.c: any bytes as a zone file
 * (the seeds are real TZif files).  Parsing must never read outside the
 * input, and a table it accepts must answer lookups at any time with an
 * offset within a day and a short abbreviation of letters, digits, + -,
 * and format any time into its fixed-size buffer.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *       tests/fuzz/fuzz_tz.c ngx_outage_module/ngx_http_outage_tz.c \
 *       -o /tmp/fuzz_tz
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_tz.h"


static ngx_http_outage_tz_t  tz;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            i;
    long           off;
    size_t         n;
    time_t         t, now;
    const char    *abbr;
    unsigned char *copy, *when;

    /* an exact-size copy, so ASan sees any read past the end */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    if (ngx_http_outage_tz_parse(&tz, copy, size) == NULL) {
        for (i = 0; i < 64; i++) {
            t = (time_t) ((int64_t) i * 157766400 - 2208988800LL
                          + (size ? data[i % size] : 0) * 86400);

            off = ngx_http_outage_tz_offset(&tz, t, &abbr);
            n = strlen(abbr);

            if (off <= -26 * 3600 || off >= 26 * 3600
                || n >= NGX_HTTP_OUTAGE_TZ_ABBR_MAX)
            {
                abort();
            }

            while (n--) {
                if (!((abbr[n] >= 'A' && abbr[n] <= 'Z')
                      || (abbr[n] >= 'a' && abbr[n] <= 'z')
                      || (abbr[n] >= '0' && abbr[n] <= '9')
                      || abbr[n] == '+' || abbr[n] == '-'))
                {
                    abort();
                }
            }

            /* the visitor-facing form fits its documented buffer, which
             * is allocated exactly so ASan sees any write past it */
            when = malloc(NGX_HTTP_OUTAGE_TZ_WHEN_LEN);
            if (when == NULL) {
                abort();
            }

            now = t + 86400 * (i - 32);
            n = ngx_http_outage_tz_format(when, t, now, &tz, i & 1);

            if (n >= NGX_HTTP_OUTAGE_TZ_WHEN_LEN || when[n] != '\0'
                || (t > 0 && now >= 0 && n == 0))
            {
                abort();
            }

            free(when);
        }
    }

    (void) ngx_http_outage_tz_name_valid(copy, size);

    free(copy);

    return 0;
}
