
/*
 * ngx_outage_module: is a response HTML a browser renders as a page (pure
 * C, no nginx headers).
 *
 * Owns the decisions the banner filter takes from the response alone: the
 * content types a browser renders as an HTML page whatever
 * outage_banner_types says, Content-Disposition and X-Content-Type-Options
 * as a browser reads them, the charsets a pure-ASCII banner cannot be put
 * into (UTF-16/32 and other encodings that are not ASCII-compatible), and
 * the WHATWG MIME Sniffing HTML signature that a body of no type must start
 * with.
 */


#ifndef _NGX_HTTP_OUTAGE_SNIFF_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_SNIFF_H_INCLUDED_


#include <stddef.h>


/* ngx_http_outage_type_class() */
#define NGX_HTTP_OUTAGE_TYPE_HTML    0     /* text/html */
#define NGX_HTTP_OUTAGE_TYPE_NEVER   1     /* never an HTML page */
#define NGX_HTTP_OUTAGE_TYPE_SNIFF   2     /* no type: HTML if the body
                                              says so (and no nosniff) */

/* ngx_http_outage_sniff_feed() */
#define NGX_HTTP_OUTAGE_SNIFF_NO     0
#define NGX_HTTP_OUTAGE_SNIFF_HTML   1
#define NGX_HTTP_OUTAGE_SNIFF_MORE   2

#define NGX_HTTP_OUTAGE_SNIFF_LEN    16    /* "<!DOCTYPE HTML" + 1, rounded */


/*
 * Chromium and Firefox look for an HTML tag in the first 512 bytes only
 * (WHATWG allows 1445), Firefox with its terminator: a tag that ends later
 * is not sniffed as HTML by every browser
 */
#define NGX_HTTP_OUTAGE_SNIFF_MAX   512


typedef struct {
    unsigned char   bytes[NGX_HTTP_OUTAGE_SNIFF_LEN];
    size_t          n;
    size_t          seen;         /* body bytes looked at */
} ngx_http_outage_sniff_t;


/* "type": lower case, without parameters (nginx's content_type_lowcase) */
int ngx_http_outage_type_class(const unsigned char *type, size_t len);

/*
 * The type of a Content-Type value without its parameters, white space
 * and case (MIME type essence) into "out" of "size" bytes: its length, or
 * (size_t) -1 if it does not fit
 */
size_t ngx_http_outage_type_essence(const unsigned char *p, size_t len,
    unsigned char *out, size_t size);

/*
 * type_essence() and charset_param() of one value in one parse: returns
 * what type_essence() does, *cs and *cs_len what charset_param() does
 * (*cs NULL without a charset)
 */
size_t ngx_http_outage_content_type(const unsigned char *p, size_t len,
    unsigned char *out, size_t size, const unsigned char **cs,
    size_t *cs_len);

/* 1 unless a Content-Type value is text/html in a charset ASCII can go in */
int ngx_http_outage_not_html(const unsigned char *p, size_t len);

/* 1 if a Content-Disposition value has the response saved as a file */
int ngx_http_outage_disposition_download(const unsigned char *p, size_t len);

/* 1 if an X-Content-Type-Options value turns sniffing off */
int ngx_http_outage_nosniff(const unsigned char *p, size_t len);

/*
 * 1 if a Vary value (RFC 9110 12.5.5: a comma list of field names, or
 * "*") already makes a cache vary on the field "name" (case-insensitive)
 */
int ngx_http_outage_vary_lists(const unsigned char *p, size_t len,
    const char *name, size_t name_len);

/* 1 unless "charset" names an encoding an ASCII banner cannot go into */
int ngx_http_outage_charset_ascii(const unsigned char *charset, size_t len);

/* the value of the charset parameter of a Content-Type value, or NULL */
const unsigned char *ngx_http_outage_charset_param(const unsigned char *p,
    size_t len, size_t *out_len);

void ngx_http_outage_sniff_init(ngx_http_outage_sniff_t *s);
int ngx_http_outage_sniff_feed(ngx_http_outage_sniff_t *s,
    const unsigned char *p, size_t len);
/* the body ended: whatever is still undecided is not HTML */
int ngx_http_outage_sniff_finish(ngx_http_outage_sniff_t *s);


#endif /* _NGX_HTTP_OUTAGE_SNIFF_H_INCLUDED_ */
