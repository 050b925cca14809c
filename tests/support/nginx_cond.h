
/*
 * The oracle of ngx_http_outage_cond.c (unit test and fuzzer): nginx's
 * own ngx_http_test_if_match(r, header, 1) and ngx_http_test_if_modified()
 * (nginx 1.22, ngx_http_not_modified_filter_module.c), transcribed with
 * their inputs as C strings and values; the module must answer a request
 * as nginx answers it without an incident.
 */


#ifndef _NGINX_COND_H_INCLUDED_
#define _NGINX_COND_H_INCLUDED_


#include <string.h>
#include <time.h>

#include "ngx_http_outage_cond.h"


/* ngx_http_test_if_match(r, header, 1): "value" of "len" bytes */

static int
nginx_if_none_match(const char *value, size_t len,
    const char *etag_value)
{
    const unsigned char  *start, *end, *etag;
    unsigned char         ch;
    size_t                elen;

    if (len == 1 && value[0] == '*') {
        return 1;
    }

    if (etag_value == NULL) {
        return 0;
    }

    etag = (const unsigned char *) etag_value;
    elen = strlen(etag_value);

    if (elen > 2 && etag[0] == 'W' && etag[1] == '/') {
        elen -= 2;
        etag += 2;
    }

    start = (const unsigned char *) value;
    end = start + len;

    while (start < end) {

        if (end - start > 2 && start[0] == 'W' && start[1] == '/') {
            start += 2;
        }

        if (elen > (size_t) (end - start)) {
            return 0;
        }

        if (strncmp((const char *) start, (const char *) etag, elen) != 0) {
            goto skip;
        }

        start += elen;

        while (start < end) {
            ch = *start;

            if (ch == ' ' || ch == '\t') {
                start++;
                continue;
            }

            break;
        }

        if (start == end || *start == ',') {
            return 1;
        }

    skip:

        while (start < end && *start != ',') { start++; }
        while (start < end) {
            ch = *start;

            if (ch == ' ' || ch == '\t' || ch == ',') {
                start++;
                continue;
            }

            break;
        }
    }

    return 0;
}


/* nginx's ngx_http_test_if_modified() */

static int
nginx_modified(time_t ims, time_t lm, int mode)
{
    if (lm == (time_t) -1) {
        return 1;
    }

    if (mode == NGX_HTTP_OUTAGE_IMS_OFF) {
        return 1;
    }

    if (ims == lm) {
        return 0;
    }

    if (mode == NGX_HTTP_OUTAGE_IMS_EXACT || ims < lm) {
        return 1;
    }

    return 0;
}


#endif /* _NGINX_COND_H_INCLUDED_ */
