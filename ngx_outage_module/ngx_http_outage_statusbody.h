
/*
 * ngx_outage_module: the public status page's bodies (pure C, no nginx
 * headers).
 *
 * Owns what the status page says: the overall line, one row per public
 * scope, the "may be out of date" notice, the HTML page and the JSON body
 * in the shape of the Statuspage public API v2 summary.json (see
 * docs/directives.md, outage_status_page, for the field mapping).  The
 * caller (ngx_http_outage_statuspage.c) decides which scopes are public and
 * never hands over health-check internals (URLs, addresses, error texts).
 *
 * Output contract of ngx_http_outage_text.h: the return value is the
 * number of bytes the complete output needs, at most dst_size bytes are
 * written, measuring (dst == NULL) and writing run the same code.  Every
 * text is escaped for where it goes, configuration text included.
 */


#ifndef _NGX_HTTP_OUTAGE_STATUSBODY_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_STATUSBODY_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_tz.h"


/* the overall line, most severe first (index of ngx_http_outage_sp_overall) */
#define NGX_HTTP_OUTAGE_SP_OK           0
#define NGX_HTTP_OUTAGE_SP_DEGRADED     1
#define NGX_HTTP_OUTAGE_SP_MAINTENANCE  2
#define NGX_HTTP_OUTAGE_SP_DOWN         3


/* one public scope; strings need not end in NUL */
typedef struct {
    const unsigned char  *id;           /* scope name */
    size_t                id_len;
    const unsigned char  *label;        /* human label (configuration) */
    size_t                label_len;
    int                   state;        /* NGX_HTTP_OUTAGE_STATE_* */
    int                   announced;    /* 0, or the state declared for an
                                           incident still ahead */
    int                   health;       /* decided by health checks */
    int                   stale;        /* Redis could not confirm it */
    time_t                since;        /* 0: unknown */
    time_t                eta;          /* 0: unknown */
    time_t                starts;       /* maintenance window, 0: none */
    time_t                ends;
    time_t                confirmed;    /* last poll or probe, 0: never */
    const unsigned char  *message;      /* sanitised Redis text */
    size_t                message_len;
    const unsigned char  *eta_text;     /* shown when eta is 0 */
    size_t                eta_text_len;
    const unsigned char  *link;         /* validated http(s) URL */
    size_t                link_len;
} ngx_http_outage_sp_row_t;


typedef struct {
    time_t                           now;
    long                             refresh;     /* seconds, 0: off */
    int                              stale;       /* Redis not readable */
    time_t                           confirmed;   /* last Redis poll, 0 */
    const unsigned char             *id;          /* page id */
    size_t                           id_len;
    const unsigned char             *name;        /* page name */
    size_t                           name_len;
    const unsigned char             *url;         /* page URL, may be "" */
    size_t                           url_len;
    const ngx_http_outage_tz_t      *tz;          /* NULL: UTC */
    const unsigned char             *tz_name;     /* IANA name, or "" */
    size_t                           tz_name_len;
    const unsigned char             *json_href;   /* link to the JSON */
    size_t                           json_href_len;
    const ngx_http_outage_sp_row_t  *rows;
    size_t                           nrows;
} ngx_http_outage_sp_t;


/* NGX_HTTP_OUTAGE_SP_* of the rows (announced maintenance does not count) */
int ngx_http_outage_sp_overall(const ngx_http_outage_sp_t *sp);

/* "All systems operational", ... for an NGX_HTTP_OUTAGE_SP_* value */
const char *ngx_http_outage_sp_overall_text(int overall);

/*
 * The HTML page.  *nonce_at (may be NULL) is set to the offset just after
 * "<style", where a caller may insert ' nonce="..."' per request.
 */
size_t ngx_http_outage_sp_html(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_sp_t *sp, size_t *nonce_at);

/* the component list of the HTML page ("<ul ...>...</ul>") */
size_t ngx_http_outage_sp_components(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_sp_t *sp);

/*
 * A custom HTML template (ngx_http_outage_tpl_render() syntax) with the
 * placeholders name, overall, overall_class, stale ("stale" or empty),
 * confirmed, confirmed_iso, generated_iso, refresh, json_href, time_zone
 * and components (the output of ngx_http_outage_sp_components() for the
 * same sp, to be written {{components|raw}}).
 */
size_t ngx_http_outage_sp_template(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len, const ngx_http_outage_sp_t *sp,
    const unsigned char *components, size_t components_len);

/* the summary.json body */
size_t ngx_http_outage_sp_json(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_sp_t *sp);


#endif /* _NGX_HTTP_OUTAGE_STATUSBODY_H_INCLUDED_ */
