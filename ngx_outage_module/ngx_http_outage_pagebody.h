
/*
 * ngx_outage_module: maintenance page bodies and the staff bypass cookie
 * (pure C, no nginx headers).
 *
 * Owns what the maintenance page says: the built-in HTML page, the
 * {{placeholder}} values of a custom template, the RFC 9457 problem+json
 * body, the choice between HTML and JSON from an Accept header, and the
 * textual side of the staff bypass cookie (finding it in a Cookie header,
 * its "<expiry>.<hex mac>" format, constant-time comparison).  The HMAC
 * itself is computed by the caller (OpenSSL, in ngx_http_outage_page.c).
 *
 * Every renderer follows the output contract of ngx_http_outage_text.h:
 * it returns the number of bytes the complete output needs and writes at
 * most dst_size bytes; measuring (dst == NULL) and writing run the same
 * code, so a buffer of the measured size is always exactly enough.  All
 * incident text is escaped for the output it goes into.
 */


#ifndef _NGX_HTTP_OUTAGE_PAGEBODY_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_PAGEBODY_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_tz.h"


/* "<expiry>.<64 hex digits>": expiry has at most 12 digits */
#define NGX_HTTP_OUTAGE_MAC_LEN         32
#define NGX_HTTP_OUTAGE_COOKIE_LEN      (12 + 1 + 2 * NGX_HTTP_OUTAGE_MAC_LEN)

/* Retry-After computed from an ETA is clamped to this range */
#define NGX_HTTP_OUTAGE_RETRY_MIN       1
#define NGX_HTTP_OUTAGE_RETRY_MAX       86400


/* one affected scope, as the page shows it; strings need not end in NUL */
typedef struct {
    const unsigned char  *name;
    size_t                name_len;
    const unsigned char  *label;        /* outage_scope_label; NULL: none */
    size_t                label_len;
    int                   state;        /* NGX_HTTP_OUTAGE_STATE_* */
    int                   source;       /* NGX_HTTP_OUTAGE_SOURCE_* */
    time_t                since;        /* 0: unknown */
    time_t                eta;          /* 0: unknown */
    time_t                checked;      /* 0: unknown */
    const unsigned char  *message;      /* sanitised incident text */
    size_t                message_len;
    const unsigned char  *eta_text;     /* shown when eta is 0 */
    size_t                eta_text_len;
    const unsigned char  *link;         /* validated http(s) URL */
    size_t                link_len;
} ngx_http_outage_page_scope_t;


typedef struct {
    int                                  status;       /* HTTP status */
    time_t                               now;
    long                                 retry_after;  /* seconds, 0: none */
    long                                 refresh;      /* seconds, 0: off */
    const ngx_http_outage_page_scope_t  *main;         /* NULL: generic */
    const ngx_http_outage_page_scope_t  *scopes;       /* affected scopes */
    size_t                               nscopes;
    const unsigned char                 *status_link;  /* when no scope */
    size_t                               status_link_len; /* has a link */
    const ngx_http_outage_tz_t          *tz;           /* NULL: UTC */
    const unsigned char                 *tz_name;      /* IANA name, or "" */
    size_t                               tz_name_len;
} ngx_http_outage_page_t;


/* the built-in HTML page */
size_t ngx_http_outage_page_html(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_page_t *page);

/*
 * The start of the built-in pages (503 and status page), up to the
 * refresh <meta> when refresh > 0: UTF-8, mobile viewport.
 */
void ngx_http_outage_page_head(ngx_http_outage_wr_t *w, long refresh);

/*
 * A time as both built-in pages (503 and status page) write it, UTC, to
 * the minute: "2026-11-22T15:30Z", or with seconds "2026-11-22T15:30:00Z"
 * (the status page's JSON keeps the Statuspage API's shape).  The ISO
 * text's length, 0 when t is 0 (unknown); dst holds
 * NGX_HTTP_OUTAGE_TIME_LEN bytes.
 */
size_t ngx_http_outage_page_iso(unsigned char *dst, time_t t, int seconds);

/* that time as a JSON string, null when unknown */
void ngx_http_outage_page_jtime(ngx_http_outage_wr_t *w, time_t t,
    int seconds);

/*
 * <time datetime="iso">Nov 22, 16:30 CET</time>: the machine-readable time
 * stays UTC, people read the shop's zone (tz NULL: UTC); no date on now's
 * day.
 */
void ngx_http_outage_page_time(ngx_http_outage_wr_t *w,
    const unsigned char *iso, size_t iso_len, time_t t, time_t now,
    const ngx_http_outage_tz_t *tz);

/*
 * Where a per-response ' nonce="..."' goes in a built-in page: just after
 * its "<style"; 0: nowhere.
 */
size_t ngx_http_outage_page_nonce_at(const unsigned char *html, size_t len);

/* the <ul> of affected scopes, as in the built-in page ("" if none) */
size_t ngx_http_outage_page_components(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_page_t *page);

/*
 * A custom HTML template with the page's placeholders (see
 * docs/notes/page.md); components is the output of
 * ngx_http_outage_page_components() for the same page, used for the raw
 * {{components}} value.
 */
size_t ngx_http_outage_page_template(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len,
    const ngx_http_outage_page_t *page,
    const unsigned char *components, size_t components_len);

/* the RFC 9457 application/problem+json body */
size_t ngx_http_outage_page_json(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_page_t *page);

/*
 * 1 if an Accept header value prefers JSON: application/json or
 * application/problem+json is listed with a q-value above 0 and above that
 * of text/html and application/xhtml+xml (on a tie, whichever is listed
 * first wins).  Wildcards do not count.  0 otherwise, including no header.
 */
int ngx_http_outage_page_wants_json(const unsigned char *p, size_t len);

/*
 * 1 if an Accept header value lists text/html or application/xhtml+xml with
 * a q-value above 0, as browsers do when they load a page (not for images,
 * stylesheets, scripts or fetch() with the default Accept).
 */
int ngx_http_outage_accepts_html(const unsigned char *p, size_t len);

/*
 * Retry-After in seconds: the time to eta clamped to
 * NGX_HTTP_OUTAGE_RETRY_MIN..MAX when eta is in the future, else dflt
 * (0: none); never past "end" (the key's expiry, 0: none), when the page
 * is gone.
 */
long ngx_http_outage_page_retry_after(time_t eta, time_t end, time_t now,
    long dflt);

/* the registered reason phrase of a status (the problem title), NULL if
 * the status has none */
const char *ngx_http_outage_page_reason(int status);


/*
 * Finds the next cookie called name in one Cookie header value, starting
 * at *pos (an offset, 0 on the first call) and leaving *pos after it, so
 * repeated calls visit every cookie of that name.  Returns 1 and sets
 * *value / *value_len (quotes around the value removed), or 0 when there
 * are no more.
 */
int ngx_http_outage_cookie_next(const unsigned char *p, size_t len,
    size_t *pos, const unsigned char *name, size_t name_len,
    const unsigned char **value, size_t *value_len);

/*
 * Splits a cookie value "<expiry>.<hex mac>": expiry is 1-12 decimal
 * digits without a leading zero, the mac exactly 64 hex digits (either
 * case).  Returns 0 and fills *expiry, *digits_len (the length of the
 * expiry text, which is what the MAC signs) and mac; -1 if malformed.
 */
int ngx_http_outage_cookie_parse(const unsigned char *p, size_t len,
    time_t *expiry, size_t *digits_len,
    unsigned char mac[NGX_HTTP_OUTAGE_MAC_LEN]);

/*
 * Writes "<expiry>" into dst (at least 13 bytes) without a NUL; returns
 * its length.  This is the text the MAC signs.
 */
size_t ngx_http_outage_cookie_expiry(unsigned char *dst, time_t expiry);

/*
 * Writes "<expiry>.<lower-case hex mac>" into dst, which must hold
 * NGX_HTTP_OUTAGE_COOKIE_LEN bytes; returns the length (no NUL).
 */
size_t ngx_http_outage_cookie_format(unsigned char *dst, time_t expiry,
    const unsigned char mac[NGX_HTTP_OUTAGE_MAC_LEN]);

/* 1 if the n bytes are equal; time depends only on n */
int ngx_http_outage_ct_equal(const unsigned char *a, const unsigned char *b,
    size_t n);


#endif /* _NGX_HTTP_OUTAGE_PAGEBODY_H_INCLUDED_ */
