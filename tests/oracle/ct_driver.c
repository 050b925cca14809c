
/*
 * Content-Type differential driver (tests/oracle/ct_model.py): reads one
 * header value per line, hex-encoded (values may hold any byte but CR and
 * LF), and prints 1 if the module would put a banner into a response of
 * that Content-Type (a text/html page an ASCII banner can go in), else 0.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_http_outage_sniff.h"


static int
hex(int c)
{
    return (c >= '0' && c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
}


int
main(void)
{
    char           line[8192];
    size_t         i, n;
    unsigned char  v[4096];

    while (fgets(line, sizeof(line), stdin)) {
        for (n = 0, i = 0; line[i] && line[i + 1] && line[i] != '\n'
                           && n < sizeof(v); i += 2)
        {
            v[n++] = (unsigned char) (hex(line[i]) << 4 | hex(line[i + 1]));
        }

        printf("%d\n", !ngx_http_outage_not_html(v, n));
    }

    return 0;
}
