
/*
 * ngx_http_outage_scan.h: interface of the streaming HTML scanner that
 * decides where the outage banner is inserted in a response body.
 *
 * Pure C: no nginx headers, no allocation, no global state, so it can be
 * unit tested and fuzzed on its own and compiled into the module unchanged.
 * The rules are described in docs/notes/scanner.md.
 */


#ifndef _NGX_HTTP_OUTAGE_SCAN_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_SCAN_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


#define NGX_HTTP_OUTAGE_SCAN_MORE      (-1)

/*
 * Longest tag name the scanner ever has to recognise is "plaintext"; longer
 * names only need to be known as "something else".
 */
#define NGX_HTTP_OUTAGE_SCAN_NAME_LEN  12


/*
 * All state is here and of fixed size; nothing points into the caller's
 * buffers, so chunks may be freed or reused between calls.  Only "done" is
 * meant to be read by callers.
 */
typedef struct {
    unsigned int   state;
    unsigned int   done;
    unsigned int   raw;
    unsigned int   match;
    unsigned int   name_len;
    unsigned int   template_depth;
    unsigned int   end_tag:1;
    unsigned int   after_head:1;
    unsigned int   noscript:1;
    unsigned int   pending:1;
    unsigned char  name[NGX_HTTP_OUTAGE_SCAN_NAME_LEN];
} ngx_http_outage_scan_t;


void ngx_http_outage_scan_init(ngx_http_outage_scan_t *s);

/*
 * Feed the next chunk.  Returns the offset in [0, len] of this chunk at which
 * the banner must be inserted, or NGX_HTTP_OUTAGE_SCAN_MORE (-1) if the
 * point is not in this chunk.  After a hit, s->done is 1 and further calls
 * return NGX_HTTP_OUTAGE_SCAN_MORE without scanning.
 */
ssize_t ngx_http_outage_scan_feed(ngx_http_outage_scan_t *s,
    const unsigned char *p, size_t len);

/*
 * Called at end of stream if no hit happened: returns 1 if the banner should
 * be appended at the end, 0 if not (a hit already happened, or finish was
 * already called).  It always returns 1 for a stream without a hit, so that
 * every response gets exactly one banner.
 */
int ngx_http_outage_scan_finish(ngx_http_outage_scan_t *s);


#endif /* _NGX_HTTP_OUTAGE_SCAN_H_INCLUDED_ */
