
/*
 * ngx_outage_module: conditional requests as nginx's not_modified filter
 * answers them.  See ngx_http_outage_cond.h.
 */


#include <string.h>

#include "ngx_http_outage_cond.h"


#define ngx_http_outage_cond_ows(c)  ((c) == ' ' || (c) == '\t')


/*
 * If-None-Match = "*" / #entity-tag, entity-tag = [ "W/" ] DQUOTE *etagc
 * DQUOTE (RFC 9110 8.8.3, 13.1.2).  An opaque-tag may hold commas, so a
 * tag ends at its closing quote, not at the next comma (nginx's own test
 * finds the same matches by comparing prefixes).  An element that is not
 * an entity-tag (an upstream's unquoted ETag, echoed back by a client) is
 * compared as it is, as nginx compares it: the oracle is nginx answering
 * the same request without an incident.  An element followed by anything
 * but a comma is no match.
 */

int
ngx_http_outage_cond_etag(const unsigned char *list, size_t len,
    const unsigned char *etag, size_t elen)
{
    size_t  i, start, end;

    while (len && ngx_http_outage_cond_ows(list[len - 1])) {
        len--;
    }

    for (i = 0; i < len && ngx_http_outage_cond_ows(list[i]); i++) {
        /* void */
    }

    list += i;
    len -= i;

    if (len == 1 && list[0] == '*') {
        return 1;
    }

    if (etag == NULL) {
        return 0;
    }

    if (elen > 2 && etag[0] == 'W' && etag[1] == '/') {
        etag += 2;
        elen -= 2;
    }

    i = 0;

    while (i < len) {

        if (ngx_http_outage_cond_ows(list[i]) || list[i] == ',') {
            i++;
            continue;
        }

        if (len - i > 2 && list[i] == 'W' && list[i + 1] == '/') {
            i += 2;
        }

        start = i;

        if (list[i] == '"') {
            for (i++; i < len && list[i] != '"'; i++) {
                /* void */
            }

            if (i < len) {
                i++;
            }

        } else {
            while (i < len && list[i] != ',' && !ngx_http_outage_cond_ows(list[i]))
            {
                i++;
            }
        }

        end = i;

        while (i < len && ngx_http_outage_cond_ows(list[i])) {
            i++;
        }

        if (i < len && list[i] != ',') {
            /* "tag"junk: this element is no tag; on to the next comma */
            while (i < len && list[i] != ',') {
                i++;
            }

            continue;
        }

        if (end - start == elen && memcmp(list + start, etag, elen) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * nginx's rule (ngx_http_test_if_modified()): an unknown Last-Modified, or
 * "if_modified_since off", sends the response; an equal date is not
 * modified; "exact" sends anything else, "before" (the default) only a
 * response modified after the date.  A date that does not parse is -1,
 * before any Last-Modified: sent.
 */

int
ngx_http_outage_cond_modified(time_t ims, time_t lm, int mode)
{
    if (lm == (time_t) -1 || mode == NGX_HTTP_OUTAGE_IMS_OFF) {
        return 1;
    }

    if (ims == lm) {
        return 0;
    }

    return mode == NGX_HTTP_OUTAGE_IMS_EXACT || ims < lm;
}
