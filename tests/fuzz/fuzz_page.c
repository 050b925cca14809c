
/*
 * libFuzzer target for ngx_http_outage_pagebody.c: the input is cut into
 * incident texts (message, ETA text, link, scope name) and a template, the
 * way hostile Redis values and a careless template could look.  Every
 * renderer must write exactly what it measured, stay inside short buffers,
 * keep markup out of the HTML, and produce JSON strings without raw
 * control characters.  The Accept and cookie parsers get the raw input.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *       tests/fuzz/fuzz_page.c ngx_outage_module/ngx_http_outage_pagebody.c \
 *       ngx_outage_module/ngx_http_outage_text.c -o /tmp/fuzz_page
 */


#define _GNU_SOURCE

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_pagebody.h"
#include "../support/fuzz_render.h"


#define NOW  1795361400


FUZZ_RENDERER(ngx_http_outage_page_t)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                         len, mlen, elen, llen, nlen, tlen, n, pos;
    size_t                         clen, dlen;
    time_t                         expiry;
    unsigned char                 *out, *comp, mac[NGX_HTTP_OUTAGE_MAC_LEN];
    const uint8_t                 *p, *end, *msg, *eta, *link, *name, *tpl;
    const unsigned char           *v;
    ngx_http_outage_page_t         page;
    ngx_http_outage_page_scope_t   s[2];

    (void) ngx_http_outage_page_wants_json(data, size);
    (void) ngx_http_outage_accepts_html(data, size);

    pos = 0;
    while (ngx_http_outage_cookie_next(data, size, &pos, (const unsigned char *)
                                       "outage_bypass", 13, &v, &len))
    {
        if (v < data || v + len > data + size) {
            abort();
        }

        (void) ngx_http_outage_cookie_parse(v, len, &expiry, &dlen, mac);
    }

    if (size < 4) {
        return 0;
    }

    p = data + 4;
    end = data + size;

    msg = fuzz_field(&p, end, &mlen);
    eta = fuzz_field(&p, end, &elen);
    link = fuzz_field(&p, end, &llen);
    name = fuzz_field(&p, end, &nlen);
    tpl = fuzz_field(&p, end, &tlen);

    memset(s, 0, sizeof(s));

    s[0].name = name;
    s[0].name_len = nlen;
    s[0].state = data[0] % 5;
    s[0].source = data[1] % 3;
    s[0].since = (data[2] & 1) ? NOW - data[3] * 977 : 0;
    s[0].eta = (data[2] & 2) ? NOW + data[3] * 3607 - 9000 : 0;
    s[0].checked = (data[2] & 4) ? NOW : 0;
    s[0].message = msg;
    s[0].message_len = mlen;
    s[0].eta_text = eta;
    s[0].eta_text_len = elen;
    s[0].link = link;
    s[0].link_len = llen;

    s[1] = s[0];
    s[1].state = data[1] % 5;
    s[1].message = eta;
    s[1].message_len = elen;
    s[1].eta_text = msg;
    s[1].eta_text_len = mlen;

    memset(&page, 0, sizeof(page));
    page.status = 200 + data[0] % 4 * 100 + data[3] % 100;
    page.now = NOW;
    page.retry_after = (data[2] & 8) ? data[3] : 0;
    page.refresh = (data[2] & 16) ? data[1] : 0;
    page.scopes = s;
    page.nscopes = data[2] >> 6;
    page.nscopes = page.nscopes > 2 ? 2 : page.nscopes;
    page.main = (page.nscopes && (data[2] & 32)) ? &s[0] : NULL;

    out = fuzz_render(ngx_http_outage_page_json, &page, &len);
    fuzz_json_check(out, len);
    free(out);

    out = fuzz_render(ngx_http_outage_page_html, &page, &len);

    /* the incident text is escaped: its '<' never reaches the page */
    if (memmem(msg, mlen, "<script", 7) != NULL
        && strstr((char *) out, "<script") != NULL)
    {
        abort();
    }

    free(out);

    clen = ngx_http_outage_page_components(NULL, 0, &page);
    comp = malloc(clen + 1);

    if (ngx_http_outage_page_components(comp, clen, &page) != clen) {
        abort();
    }

    len = ngx_http_outage_page_template(NULL, 0, tpl, tlen, &page, comp,
                                        clen);
    out = malloc(len + 1);
    n = ngx_http_outage_page_template(out, len, tpl, tlen, &page, comp, clen);

    if (n != len) {
        abort();
    }

    (void) ngx_http_outage_page_template(out, len / 2, tpl, tlen, &page,
                                         comp, clen);

    free(out);
    free(comp);

    return 0;
}
