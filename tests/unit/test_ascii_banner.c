
/*
 * Unit tests for the ASCII HTML escaping of the banner
 * (NGX_HTTP_OUTAGE_TPL_HTML_ASCII in ngx_http_outage_text.c): every
 * character beyond ASCII becomes a numeric character reference, invalid
 * UTF-8 and NUL become &#xFFFD;, and Python's html.unescape-like decoding
 * here gets the text back.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_http_outage_text.h"


static int  failed;

static int
lookup(void *ctx, const unsigned char *name, size_t name_len,
    const unsigned char **value, size_t *value_len)
{
    (void) name;
    (void) name_len;

    *value = ctx;
    *value_len = strlen(ctx);

    return 1;
}


static void
check(const char *in, const char *want, int mode)
{
    size_t          n, m;
    unsigned char   out[256];
    const char     *tpl = "<p>{{m}}</p>";

    n = ngx_http_outage_tpl_render(NULL, 0, (const unsigned char *) tpl,
                                   strlen(tpl), mode, lookup, (void *) in);
    m = ngx_http_outage_tpl_render(out, sizeof(out),
                                   (const unsigned char *) tpl, strlen(tpl),
                                   mode, lookup, (void *) in);

    if (n != m || m != strlen(want) + 7
        || memcmp(out + 3, want, strlen(want)) != 0)
    {
        printf("FAIL \"%s\": got \"%.*s\"\n", in, (int) m, out);
        failed = 1;
    }
}


int
main(void)
{
    int  a = NGX_HTTP_OUTAGE_TPL_HTML_ASCII;

    check("Caf\xc3\xa9 <b>", "Caf&#x00e9; &lt;b&gt;", a);
    check("\xe2\x80\x94", "&#x2014;", a);
    check("\xf0\x9f\x9a\xa7 x", "&#x01f6a7; x", a);
    check("\xd0\x96", "&#x0416;", a);
    check("bad \xc3 byte", "bad &#xFFFD; byte", a);
    check("\xed\xa0\x80", "&#xFFFD;&#xFFFD;&#xFFFD;", a);  /* surrogate */
    check("plain", "plain", a);
    /* C1 controls: a parser maps &#x80;..&#x9F; to Windows-1252 (euro...) */
    check("\xc2\x80 \xc2\x9f", "&#xFFFD; &#xFFFD;", a);
    check("\xc2\x7f", "&#xFFFD;\x7f", a);
    check("\xc2\xa0", "&#x00a0;", a);
    /* the other mode keeps UTF-8 */
    check("Caf\xc3\xa9", "Caf\xc3\xa9", NGX_HTTP_OUTAGE_TPL_HTML);

    printf("%s test_ascii_banner\n", failed ? "FAIL" : "ok");

    return failed;
}
