
/*
 * libFuzzer target for the template renderer and the text helpers.
 *
 * Input: one flag byte, then the template, a NUL, then a value.  The
 * template and the value are copied into exactly sized heap buffers so
 * ASan sees any read past their ends.  Each render is measured, then
 * written into an exactly sized malloc'd buffer (ASan catches any
 * overrun) and the two lengths must agree; a short buffer is tried too.
 * The escapers, the sanitiser and the time/link/state parsers run on the
 * value with the same measure/write check and their output invariants.
 * The HTML context check (tplcheck.c) runs twice on every template that
 * passes the syntax check: its findings must point at message/eta/link
 * placeholders, count lines right and agree between the two runs.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *       tests/fuzz/fuzz_template.c ngx_outage_module/ngx_http_outage_text.c \
 *       ngx_outage_module/ngx_http_outage_tplcheck.c -o /tmp/fuzz_template
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_tplcheck.h"
#include "../support/utf8_oracle.h"


typedef struct {
    const unsigned char  *value;
    size_t                len;
} fuzz_ctx_t;


typedef size_t (*fuzz_escape_pt)(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len);


/* "a": the value, "b": its first half, "c": empty, anything else unknown */

static int
fuzz_lookup(void *data, const unsigned char *name, size_t name_len,
    const unsigned char **value, size_t *value_len)
{
    fuzz_ctx_t  *ctx = data;

    if (name_len != 1) {
        return 0;
    }

    switch (name[0]) {
    case 'a':
        *value = ctx->value;
        *value_len = ctx->len;
        return 1;
    case 'b':
        *value = ctx->value;
        *value_len = ctx->len / 2;
        return 1;
    case 'c':
        *value = (const unsigned char *) "";
        *value_len = 0;
        return 1;
    }

    return 0;
}


static void
fuzz_render(const unsigned char *tpl, size_t tpl_len, int mode,
    fuzz_ctx_t *ctx, size_t short_size)
{
    unsigned char  *buf;
    size_t          need, got, i;
    int             plain;

    need = ngx_http_outage_tpl_render(NULL, 0, tpl, tpl_len, mode,
                                      fuzz_lookup, ctx);

    buf = malloc(need ? need : 1);
    if (buf == NULL) {
        return;
    }

    got = ngx_http_outage_tpl_render(buf, need, tpl, tpl_len, mode,
                                     fuzz_lookup, ctx);
    if (got != need) {
        __builtin_trap();
    }

    /*
     * Escaping oracle: a template without '<' and without "|" (so no raw
     * tags) can never produce '<', whatever the value; in JSON mode it also
     * never produces a control byte the template did not have.
     */
    plain = memchr(tpl, '<', tpl_len) == NULL
            && memchr(tpl, '|', tpl_len) == NULL;

    for (i = 0; plain && i < tpl_len; i++) {
        if (tpl[i] < 0x20) {
            plain = 0;
        }
    }

    if (plain) {
        if (memchr(buf, '<', need) != NULL) {
            __builtin_trap();
        }

        for (i = 0; mode == NGX_HTTP_OUTAGE_TPL_JSON && i < need; i++) {
            if (buf[i] < 0x20) {
                __builtin_trap();
            }
        }

        if (oracle_utf8_ok(tpl, tpl_len) && !oracle_utf8_ok(buf, need)) {
            __builtin_trap();
        }
    }

    free(buf);

    /* a short, exactly sized buffer: ASan catches writes past it */
    if (short_size < need) {
        buf = malloc(short_size ? short_size : 1);
        if (buf == NULL) {
            return;
        }

        got = ngx_http_outage_tpl_render(buf, short_size, tpl, tpl_len, mode,
                                         fuzz_lookup, ctx);
        if (got != need) {
            __builtin_trap();
        }

        free(buf);
    }
}


static void
fuzz_escape(fuzz_escape_pt fn, int kind, const unsigned char *src, size_t len)
{
    unsigned char  *buf;
    size_t          need, i;

    need = fn(NULL, 0, src, len);
    buf = malloc(need ? need : 1);
    if (buf == NULL) {
        return;
    }

    if (fn(buf, need, src, len) != need) {
        __builtin_trap();
    }

    for (i = 0; i < need; i++) {
        switch (kind) {
        case 0:     /* HTML: no markup characters, no NUL */
            if (buf[i] == '<' || buf[i] == '>' || buf[i] == '"'
                || buf[i] == '\'' || buf[i] == '\0')
            {
                __builtin_trap();
            }
            break;
        case 1:     /* JSON: no controls, no raw quotes or HTML specials */
            if (buf[i] < 0x20 || buf[i] == 0x7F || buf[i] == '<'
                || buf[i] == '>' || buf[i] == '&' || buf[i] == '\'')
            {
                __builtin_trap();
            }
            if (buf[i] == '"' && (i == 0 || buf[i - 1] != '\\')) {
                __builtin_trap();
            }
            break;
        default:    /* log: printable ASCII only */
            if (buf[i] < 0x20 || buf[i] > 0x7E || buf[i] == '"') {
                __builtin_trap();
            }
            break;
        }
    }

    if (kind != 2 && !oracle_utf8_ok(buf, need)) {
        __builtin_trap();
    }

    free(buf);
}


static void
fuzz_text(const unsigned char *v, size_t len, unsigned flags)
{
    unsigned char   tbuf[NGX_HTTP_OUTAGE_TIME_LEN], abuf[NGX_HTTP_OUTAGE_AGO_LEN];
    unsigned char  *buf;
    size_t          max, n, i;
    int             trunc;
    time_t          t, back, a, b;

    fuzz_escape(ngx_http_outage_html_escape, 0, v, len);
    fuzz_escape(ngx_http_outage_json_escape, 1, v, len);
    fuzz_escape(ngx_http_outage_log_escape_cut, 2, v, len);

    /* sanitiser into an exactly sized buffer */
    max = flags % 97;
    buf = malloc(max ? max : 1);
    if (buf != NULL) {
        n = ngx_http_outage_sanitize(buf, max, v, len, &trunc);

        if (n > max || !oracle_utf8_ok(buf, n)) {
            __builtin_trap();
        }

        for (i = 0; i < n; i++) {
            if (buf[i] < 0x20 || buf[i] == 0x7F) {
                __builtin_trap();
            }
        }

        n = ngx_http_outage_log_preview(buf, max, v, len);
        if (n > max) {
            __builtin_trap();
        }

        free(buf);
    }

    /* times: whatever parses formats and parses back to the minute */
    t = ngx_http_outage_parse_time(v, len);

    if (t != (time_t) -1) {
        if (t < 0) {
            __builtin_trap();
        }

        n = ngx_http_outage_format_time(tbuf, t);
        back = ngx_http_outage_parse_time(tbuf, n);

        if (n != 17 || back != t - t % 60) {
            __builtin_trap();
        }
    }

    if (len >= 2 * sizeof(time_t)) {
        memcpy(&a, v, sizeof(time_t));
        memcpy(&b, v + sizeof(time_t), sizeof(time_t));
        n = ngx_http_outage_format_ago(abuf, sizeof(abuf), a, b);

        if (n >= sizeof(abuf) || n == 0) {
            __builtin_trap();
        }

        (void) ngx_http_outage_format_time(tbuf, a);
    }

    /* a valid link never carries markup or whitespace */
    if (ngx_http_outage_link_valid(v, len)) {
        for (i = 0; i < len; i++) {
            if (v[i] <= 0x20 || v[i] >= 0x7F || v[i] == '<' || v[i] == '"'
                || v[i] == '\'' || v[i] == '>')
            {
                __builtin_trap();
            }
        }
    }

    i = (size_t) ngx_http_outage_parse_state(v, len) + 1;
    if (i > NGX_HTTP_OUTAGE_STATE_MAINTENANCE + 1) {
        __builtin_trap();
    }
}


static void
fuzz_check_consumed(const unsigned char *tpl, size_t tpl_len)
{
    unsigned char  *buf;
    size_t          need, i;

    need = ngx_http_outage_tpl_render(NULL, 0, tpl, tpl_len,
                                      NGX_HTTP_OUTAGE_TPL_HTML, NULL, NULL);
    buf = malloc(need ? need : 1);
    if (buf == NULL) {
        return;
    }

    if (ngx_http_outage_tpl_render(buf, need, tpl, tpl_len,
                                   NGX_HTTP_OUTAGE_TPL_HTML, NULL, NULL)
        != need)
    {
        __builtin_trap();
    }

    for (i = 0; i + 1 < need; i++) {
        if (buf[i] == '{' && buf[i + 1] == '{') {
            __builtin_trap();
        }
    }

    free(buf);
}


typedef struct {
    const unsigned char  *tpl;
    size_t                len;
    size_t                warns;
    size_t                notes;
    size_t                last;     /* offset + 1 of the last warning */
    unsigned long         sum;      /* of offsets and kinds: runs agree */
    unsigned char        *warned;   /* per offset: warned about once */
} fuzz_ctx_report_t;


/*
 * The context check's findings: each at a "{{" of message, eta or link in
 * the template, its line counted right, its text a printable sentence,
 * warnings at distinct places, one note at most.
 */

static void
fuzz_report(void *data, const ngx_http_outage_tpl_finding_t *f)
{
    fuzz_ctx_report_t          *r = data;
    size_t                      i, line;
    ngx_http_outage_tpl_tag_t   tag;

    if (f->offset >= r->len
        || !ngx_http_outage_tpl_tag(r->tpl, f->offset, r->len, &tag)
        || tag.kind != NGX_HTTP_OUTAGE_TAG_VAR
        || !ngx_http_outage_tpl_untrusted(r->tpl + tag.name, tag.name_len)
        || tag.name_len != f->name_len
        || memcmp(r->tpl + tag.name, f->name, f->name_len) != 0)
    {
        __builtin_trap();
    }

    line = 1;
    for (i = 0; i < f->offset; i++) {
        line += (r->tpl[i] == '\n');
    }

    if (line != f->line || memchr(f->why, '\0', sizeof(f->why)) == NULL
        || strlen(f->why) < 10)
    {
        __builtin_trap();
    }

    for (i = 0; f->why[i]; i++) {
        if ((unsigned char) f->why[i] < 0x20
            || (unsigned char) f->why[i] >= 0x7f)
        {
            __builtin_trap();
        }
    }

    if (f->level == NGX_HTTP_OUTAGE_TPL_NOTE) {
        if (r->notes++) {
            __builtin_trap();
        }

    } else {
        if (r->warned[f->offset]++) {
            __builtin_trap();
        }

        r->warns++;
    }

    r->sum = r->sum * 31 + f->offset * 7 + (unsigned long) f->kind;
}


static void
fuzz_contexts(const unsigned char *tpl, size_t tpl_len)
{
    size_t             n;
    fuzz_ctx_report_t  a, b;

    static ngx_http_outage_tpl_work_t  *work;

    if (work == NULL) {
        work = malloc(ngx_http_outage_tpl_work_size);
        if (work == NULL) {
            return;
        }
    }

    memset(&a, 0, sizeof(a));
    a.tpl = tpl;
    a.len = tpl_len;
    b = a;

    a.warned = calloc(tpl_len + 1, 1);
    b.warned = calloc(tpl_len + 1, 1);

    if (a.warned == NULL || b.warned == NULL) {
        free(a.warned);
        free(b.warned);
        return;
    }

    n = ngx_http_outage_tpl_contexts(work, tpl, tpl_len, fuzz_report, &a);

    if (n < a.warns || (n <= 64 && n != a.warns)) {
        __builtin_trap();
    }

    if (ngx_http_outage_tpl_contexts(work, tpl, tpl_len, fuzz_report, &b) != n
        || b.sum != a.sum || b.notes != a.notes)
    {
        __builtin_trap();
    }

    free(a.warned);
    free(b.warned);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t  *sep;
    unsigned char  *tpl, *val;
    size_t          tpl_len, val_len, off;
    unsigned        flags;
    fuzz_ctx_t      ctx;

    if (size < 1) {
        return 0;
    }

    flags = data[0];
    data++;
    size--;

    sep = memchr(data, '\0', size);
    tpl_len = sep ? (size_t) (sep - data) : size;
    val_len = sep ? size - tpl_len - 1 : 0;

    tpl = malloc(tpl_len ? tpl_len : 1);
    val = malloc(val_len ? val_len : 1);

    if (tpl == NULL || val == NULL) {
        free(tpl);
        free(val);
        return 0;
    }

    memcpy(tpl, data, tpl_len);
    if (val_len) {
        memcpy(val, sep + 1, val_len);
    }

    ctx.value = val;
    ctx.len = val_len;

    /*
     * check/render agreement: in a template that passes the check every
     * "{{" starts a tag that the renderer consumes, so with no values the
     * output holds no "{{" at all
     */
    if (ngx_http_outage_tpl_check(tpl, tpl_len, &off) == NULL) {
        fuzz_check_consumed(tpl, tpl_len);
        fuzz_contexts(tpl, tpl_len);

    } else if (off >= tpl_len) {
        __builtin_trap();
    }

    fuzz_render(tpl, tpl_len, NGX_HTTP_OUTAGE_TPL_HTML, &ctx, flags % 64);
    fuzz_render(tpl, tpl_len, NGX_HTTP_OUTAGE_TPL_JSON, &ctx,
                (flags >> 2) % 64);

    fuzz_text(val, val_len, flags);

    free(tpl);
    free(val);

    return 0;
}
