
/*
 * Driver of the template context check for tests/oracle/tplcheck_oracle.py:
 * reads templates separated by a \x01 byte from stdin and prints one line
 * per template: "OK", "BAD <tpl_check error>", or the findings as
 * "W<offset>:<name>" / "N<offset>:<name>" separated by spaces, then a tab
 * and the first finding's text.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_tplcheck.h"


typedef struct {
    char    line[4096];
    size_t  len;
    char    first[NGX_HTTP_OUTAGE_TPL_WHY_LEN];
} drv_t;


static void
drv_report(void *ctx, const ngx_http_outage_tpl_finding_t *f)
{
    drv_t  *d = ctx;

    if (d->len < sizeof(d->line) - 64) {
        d->len += snprintf(d->line + d->len, sizeof(d->line) - d->len,
                           "%s%c%zu:%.*s", d->len ? " " : "",
                           f->level == NGX_HTTP_OUTAGE_TPL_WARN ? 'W' : 'N',
                           f->offset, (int) f->name_len, f->name);
    }

    if (d->first[0] == '\0') {
        snprintf(d->first, sizeof(d->first), "line %zu: {{%.*s}} %.200s",
                 f->line, (int) f->name_len, f->name, f->why);
    }
}


int
main(void)
{
    static unsigned char  buf[1 << 22];
    size_t                n, i, s, off;
    const char           *err;
    drv_t                 d;
    void                 *work;

    work = malloc(ngx_http_outage_tpl_work_size);
    if (work == NULL) {
        return 1;
    }

    n = fread(buf, 1, sizeof(buf), stdin);
    s = 0;

    for (i = 0; i <= n; i++) {
        if (i < n && buf[i] != 1) {
            continue;
        }

        err = ngx_http_outage_tpl_check(buf + s, i - s, &off);

        if (err) {
            printf("BAD %s\n", err);

        } else {
            memset(&d, 0, sizeof(d));
            ngx_http_outage_tpl_contexts(work, buf + s, i - s, drv_report, &d);

            if (d.len == 0) {
                printf("OK\n");
            } else {
                printf("%s\t%s\n", d.line, d.first);
            }
        }

        s = i + 1;
    }

    free(work);

    return 0;
}
