
/*
 * ngx_outage_module: conditional requests as nginx's not_modified filter
 * answers them (pure C, no nginx headers).
 *
 * Owns the comparisons the banner filter needs to answer a page load's
 * If-None-Match / If-Modified-Since itself when the response turns out to
 * get no banner (the request-phase handler hid them from nginx's own
 * not_modified filter while a banner was due): the entity-tag list match
 * (RFC 9110 13.1.2, weak comparison) and the If-Modified-Since date test
 * under nginx's "if_modified_since off | exact | before".
 */


#ifndef _NGX_HTTP_OUTAGE_COND_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_COND_H_INCLUDED_


#include <stddef.h>
#include <time.h>


/* "if_modified_since" of nginx's core module (NGX_HTTP_IMS_*) */
#define NGX_HTTP_OUTAGE_IMS_OFF     0
#define NGX_HTTP_OUTAGE_IMS_EXACT   1
#define NGX_HTTP_OUTAGE_IMS_BEFORE  2


/*
 * 1 if an If-None-Match value "list" matches the response's ETag "etag"
 * ("elen" bytes; NULL if the response has none) by weak comparison:
 * "*" alone matches any representation; W/ is ignored on both sides.
 */
int ngx_http_outage_cond_etag(const unsigned char *list, size_t len,
    const unsigned char *etag, size_t elen);

/*
 * 1 if a response last modified at "lm" ((time_t) -1: unknown) is to be
 * sent in full to an If-Modified-Since of "ims" ((time_t) -1: a date that
 * does not parse), under "mode" (NGX_HTTP_OUTAGE_IMS_*)
 */
int ngx_http_outage_cond_modified(time_t ims, time_t lm, int mode);


#endif /* _NGX_HTTP_OUTAGE_COND_H_INCLUDED_ */
