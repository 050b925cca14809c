
/*
 * libFuzzer target for ngx_http_outage_statusbody.c: the input is cut into
 * the texts a status page row carries (message, ETA text, link, label,
 * page name) plus states and times, the way hostile Redis values and odd
 * configuration could look.  Both renderers must write exactly what they
 * measured, stay inside short buffers, let no input byte open a tag in the
 * HTML (the page has as many "<" as with harmless texts of the same
 * presence), and keep JSON strings free of raw controls, quotes and < >.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *       tests/fuzz/fuzz_statuspage.c \
 *       ngx_outage_module/ngx_http_outage_statusbody.c \
 *       ngx_outage_module/ngx_http_outage_text.c -o /tmp/fuzz_statuspage
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_statusbody.h"
#include "../support/fuzz_render.h"


#define NOW  1795361400


FUZZ_RENDERER(ngx_http_outage_sp_t)


static size_t
fuzz_html(unsigned char *dst, size_t size, const ngx_http_outage_sp_t *sp)
{
    return ngx_http_outage_sp_html(dst, size, sp, NULL);
}


/* every placeholder, escaped and raw, around the component list */
static const char  fuzz_tpl[] =
    "<h1 class=\"{{overall_class}}\">{{name}}: {{overall}}</h1>"
    "{{#stale}}<p>{{confirmed}} {{confirmed_iso}}</p>{{/stale}}"
    "{{components|raw}}<a href=\"{{json_href}}\">{{time_zone}}</a>"
    "{{generated_iso}}{{refresh}}";

static unsigned char  *fuzz_comp;
static size_t          fuzz_comp_len;


static size_t
fuzz_template(unsigned char *dst, size_t size, const ngx_http_outage_sp_t *sp)
{
    return ngx_http_outage_sp_template(dst, size,
                                       (const unsigned char *) fuzz_tpl,
                                       sizeof(fuzz_tpl) - 1, sp, fuzz_comp,
                                       fuzz_comp_len);
}


static size_t
fuzz_count(const unsigned char *p, size_t len, unsigned char c)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        n += (p[i] == c);
    }

    return n;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        i;
    size_t                     hlen, jlen, xlen, len[5];
    unsigned char             *html, *json, *x;
    const uint8_t             *p, *end, *f[5];
    ngx_http_outage_sp_t       sp, harmless;
    ngx_http_outage_sp_row_t   rows[2], hrows[2];

    static const unsigned char  xs[] = "xxxxxxxx";

    if (size < 8) {
        return 0;
    }

    p = data + 8;
    end = data + size;

    for (i = 0; i < 5; i++) {
        f[i] = fuzz_field(&p, end, &len[i]);
    }

    memset(rows, 0, sizeof(rows));
    memset(&sp, 0, sizeof(sp));

    for (i = 0; i < 2; i++) {
        rows[i].id = f[3];
        rows[i].id_len = len[3];
        rows[i].label = f[3];
        rows[i].label_len = len[3];
        rows[i].state = data[i] % 6;
        rows[i].announced = data[2] & (1 << i);
        rows[i].health = data[2] & (4 << i);
        rows[i].stale = data[2] & (16 << i);
        rows[i].since = NOW - (time_t) data[3] * 997;
        rows[i].eta = (data[4] & 1) ? NOW + (time_t) data[4] * 7919 : 0;
        rows[i].starts = (data[5] & 1) ? NOW + ((time_t) data[5] - 128) * 600
                                       : 0;
        rows[i].ends = (data[5] & 2) ? NOW + (time_t) data[6] * 3600 : 0;
        rows[i].confirmed = (data[6] & 1) ? NOW - data[7] : 0;
        rows[i].message = f[0];
        rows[i].message_len = len[0];
        rows[i].eta_text = f[1];
        rows[i].eta_text_len = len[1];
        rows[i].link = f[2];
        rows[i].link_len = len[2];
    }

    sp.now = NOW;
    sp.refresh = data[7] & 1 ? data[7] : 0;
    sp.stale = data[2] & 64;
    sp.confirmed = data[2] & 128 ? NOW - 60 : 0;
    sp.id = f[4];
    sp.id_len = len[4];
    sp.name = f[4];
    sp.name_len = len[4];
    sp.url = f[2];
    sp.url_len = len[2];
    sp.json_href = f[2];
    sp.json_href_len = len[2];
    sp.rows = rows;
    sp.nrows = 2;

    html = fuzz_render(fuzz_html, &sp, &hlen);
    json = fuzz_render(ngx_http_outage_sp_json, &sp, &jlen);

    fuzz_json_check(json, jlen);

    /* the same page with harmless texts of the same presence */
    harmless = sp;
    memcpy(hrows, rows, sizeof(rows));
    harmless.rows = hrows;

#define FUZZ_X(s, l)  do { if ((l)) { (s) = xs; (l) = 1; } } while (0)

    FUZZ_X(harmless.id, harmless.id_len);
    FUZZ_X(harmless.name, harmless.name_len);
    FUZZ_X(harmless.url, harmless.url_len);
    FUZZ_X(harmless.json_href, harmless.json_href_len);

    for (i = 0; i < 2; i++) {
        FUZZ_X(hrows[i].id, hrows[i].id_len);
        FUZZ_X(hrows[i].label, hrows[i].label_len);
        FUZZ_X(hrows[i].message, hrows[i].message_len);
        FUZZ_X(hrows[i].eta_text, hrows[i].eta_text_len);
        FUZZ_X(hrows[i].link, hrows[i].link_len);
    }

    x = fuzz_render(fuzz_html, &harmless, &xlen);

    if (fuzz_count(html, hlen, '<') != fuzz_count(x, xlen, '<')
        || fuzz_count(html, hlen, '>') != fuzz_count(x, xlen, '>'))
    {
        abort();
    }

    free(x);

    /* the template: the same rule, with each page's own component list */
    fuzz_comp = fuzz_render(ngx_http_outage_sp_components, &sp,
                            &fuzz_comp_len);
    free(html);
    html = fuzz_render(fuzz_template, &sp, &hlen);
    free(fuzz_comp);

    fuzz_comp = fuzz_render(ngx_http_outage_sp_components, &harmless,
                            &fuzz_comp_len);
    x = fuzz_render(fuzz_template, &harmless, &xlen);
    free(fuzz_comp);

    if (fuzz_count(html, hlen, '<') != fuzz_count(x, xlen, '<')) {
        abort();
    }

    free(x);
    free(html);
    free(json);

    return 0;
}
