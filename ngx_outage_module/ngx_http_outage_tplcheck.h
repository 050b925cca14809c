
/*
 * ngx_outage_module: where a template puts the Redis-provided fields
 * (pure C, no nginx headers, no allocation).
 *
 * HTML escaping keeps message, eta and link inert in element text and in
 * quoted attribute values, not in script or style, event handlers, the
 * URL attributes that run or load what they are given, unquoted values or
 * the inside of a tag.  ngx_http_outage_tpl_contexts() follows a template
 * through the HTML tokenizer (and the few tree-builder rules that change
 * it) the way a browser reads the rendered page, every way its sections
 * can be shown, and reports each of those fields it finds in such a
 * context.  nginx -t prints them as warnings: a template that loads today
 * keeps loading.
 */


#ifndef _NGX_HTTP_OUTAGE_TPLCHECK_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_TPLCHECK_H_INCLUDED_


#include <stddef.h>


/* the field runs as script or style there, or decides a URL that does */
#define NGX_HTTP_OUTAGE_TPL_WARN    1
/* the check could not follow the markup: at most one per template */
#define NGX_HTTP_OUTAGE_TPL_NOTE    2

#define NGX_HTTP_OUTAGE_TPL_WHY_LEN  320


typedef struct {
    size_t                offset;     /* of the placeholder's "{{" */
    size_t                line;       /* 1-based line of the offset */
    const unsigned char  *name;       /* "message", "eta" or "link" */
    size_t                name_len;
    int                   level;      /* NGX_HTTP_OUTAGE_TPL_WARN or _NOTE */
    int                   kind;       /* internal: what was found */
    /* "is inside <script>, where ...: <the fix>", NUL-terminated */
    char                  why[NGX_HTTP_OUTAGE_TPL_WHY_LEN];
} ngx_http_outage_tpl_finding_t;


typedef void (*ngx_http_outage_tpl_report_pt)(void *ctx,
    const ngx_http_outage_tpl_finding_t *f);


/*
 * The check's working memory (a few hundred KB): the caller allocates
 * ngx_http_outage_tpl_work_size bytes, suitably aligned (malloc, a pool),
 * and may reuse them for the next call.  Calls with different work areas
 * may run at the same time.
 */
typedef struct ngx_http_outage_tpl_work_s  ngx_http_outage_tpl_work_t;

extern const size_t  ngx_http_outage_tpl_work_size;


/*
 * Reports, in order of the end of what decides them, every message, eta or
 * link placeholder of tpl that lands in an executable context (each
 * placeholder at most once, at most 64 reports), and at most one note
 * where it could not tell.  Run it on a template that
 * ngx_http_outage_tpl_check() accepts.  Returns the number of warnings.
 */
size_t ngx_http_outage_tpl_contexts(ngx_http_outage_tpl_work_t *work,
    const unsigned char *tpl, size_t len,
    ngx_http_outage_tpl_report_pt report, void *ctx);


#endif /* _NGX_HTTP_OUTAGE_TPLCHECK_H_INCLUDED_ */
