
/*
 * ngx_outage_module: the banner filter.
 *
 * Owns the header and body filters that put the outage banner into HTML
 * responses while an incident is active, the request-phase handler that
 * asks upstreams for an uncompressed body meanwhile, and the handler that
 * serves the banner stylesheet ("outage_banner_css").
 *
 * Nothing is buffered: every buffer goes on as soon as it is scanned; at
 * the insertion point the buffer is replaced by shadow buffers around the
 * banner (no page bytes are copied), and everything after it passes
 * untouched, unscanned.  File buffers stay file buffers, so sendfile keeps
 * working: only the bytes up to the insertion point are read, to find it.
 * What the banner says is in ngx_http_outage_banner.c.
 */


#include "ngx_http_outage_module.h"
#include "ngx_http_outage_scan.h"
#include "ngx_http_outage_banner.h"


/* how much of a file buffer is read at a time to find the insertion point */
#define NGX_HTTP_OUTAGE_READ_SIZE  16384


typedef struct {
    ngx_http_outage_scan_t   scan;
    ngx_str_t                banner;
    ngx_chain_t             *busy;         /* ours, held by next filters */
    ngx_buf_t               *orig;         /* what the shadows stand for */
    u_char                  *scratch;      /* file bytes being scanned */
    off_t                    chunk_start;  /* their file offset */
    size_t                   chunk_len;
    unsigned                 done:1;       /* inserted: the rest as is */
} ngx_http_outage_filter_ctx_t;


static ngx_int_t ngx_http_outage_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_outage_identity_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_status_wanted(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf);
static ngx_int_t ngx_http_outage_banner_build(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_view_t *view,
    ngx_str_t *out);
static ngx_int_t ngx_http_outage_nocache(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_splice(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out);
static ngx_int_t ngx_http_outage_scan_file(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b, off_t *hit);
static ngx_int_t ngx_http_outage_insert(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *cl, off_t off,
    ngx_chain_t ***ll);
static ngx_buf_t *ngx_http_outage_shadow(ngx_http_request_t *r,
    ngx_buf_t *b, off_t from, off_t to);
static ngx_buf_t *ngx_http_outage_mem(ngx_http_request_t *r, u_char *pos,
    u_char *last);
static void ngx_http_outage_release(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_outage_identity = ngx_string("identity");

static u_char     ngx_http_outage_css_etag[sizeof("\"outage-css-\"")
                                           + 2 * NGX_INT32_LEN];
static size_t     ngx_http_outage_css_etag_len;


ngx_int_t
ngx_http_outage_filter_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_outage_identity_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_outage_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_outage_body_filter;

    ngx_http_outage_css_etag_len =
        ngx_sprintf(ngx_http_outage_css_etag, "\"outage-css-%08xD\"",
                    ngx_crc32_short((u_char *) ngx_http_outage_banner_css,
                                    ngx_http_outage_banner_css_len))
        - ngx_http_outage_css_etag;

    return NGX_OK;
}


/*
 * An upstream that compresses would hide the page from the filter (it runs
 * before gunzip), so while a banner is due here the upstream is asked for
 * "identity".  The client's own header stays what nginx's gzip decides on:
 * r->headers_in.accept_encoding is pointed at an unchanged copy, while the
 * entry in the header list, which proxy/fastcgi/uwsgi/scgi/grpc forward,
 * is rewritten.  Runs again after internal redirects: it is idempotent.
 */

static ngx_int_t
ngx_http_outage_identity_handler(ngx_http_request_t *r)
{
#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)

    ngx_uint_t                   i;
    ngx_list_part_t             *part;
    ngx_table_elt_t             *h, *copy;
    ngx_http_outage_loc_conf_t  *olcf;

    if (r != r->main
        || r->headers_in.accept_encoding == NULL
        || r->method == NGX_HTTP_HEAD)
    {
        return NGX_DECLINED;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (!olcf->banner
        || ngx_http_outage_worst(ngx_http_outage_snapshot(r->connection->log),
                                 olcf->banner_scopes, 1)
           == NULL)
    {
        return NGX_DECLINED;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Accept-Encoding") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept-Encoding",
                               sizeof("Accept-Encoding") - 1)
               != 0
            || (h[i].value.len == ngx_http_outage_identity.len
                && ngx_strncasecmp(h[i].value.data,
                                   ngx_http_outage_identity.data,
                                   h[i].value.len)
                   == 0))
        {
            continue;
        }

        if (&h[i] == r->headers_in.accept_encoding) {
            copy = ngx_palloc(r->pool, sizeof(ngx_table_elt_t));
            if (copy == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *copy = h[i];
            r->headers_in.accept_encoding = copy;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: banner due, upstream Accept-Encoding "
                       "\"%V\" -> identity", &h[i].value);

        h[i].value = ngx_http_outage_identity;
    }

#endif

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_outage_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                      banner;
    ngx_table_elt_t               *ce;
    ngx_http_outage_view_t        *view;
    ngx_http_outage_loc_conf_t    *olcf;
    ngx_http_outage_filter_ctx_t  *ctx;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (!olcf->banner
        || r != r->main
        || r->header_only
        || r->method == NGX_HTTP_HEAD
        || r->headers_out.content_length_n == 0
        || ngx_http_outage_status_wanted(r, olcf) != NGX_OK
        || ngx_http_test_content_type(r, &olcf->banner_types) == NULL)
    {
        return ngx_http_next_header_filter(r);
    }

    view = ngx_http_outage_worst(ngx_http_outage_snapshot(r->connection->log),
                                 olcf->banner_scopes, 1);
    if (view == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ce = r->headers_out.content_encoding;

    if (ce && ce->hash && ce->value.len
        && !(ce->value.len == ngx_http_outage_identity.len
             && ngx_strncasecmp(ce->value.data, ngx_http_outage_identity.data,
                                ce->value.len)
                == 0))
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no banner in a \"%V\" encoded body",
                       &ce->value);
        return ngx_http_next_header_filter(r);
    }

    if (ngx_http_outage_banner_build(r, olcf, view, &banner) != NGX_OK) {
        return NGX_ERROR;
    }

    if (banner.len == 0) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_outage_filter_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_outage_scan_init(&ctx->scan);
    ctx->banner = banner;

    ngx_http_set_ctx(r, ctx, ngx_http_outage_module);

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_weak_etag(r);

    if (!olcf->banner_last_modified) {
        ngx_http_clear_last_modified(r);
    }

    if (olcf->banner_nocache && ngx_http_outage_nocache(r) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: banner for scope \"%V\", %uz bytes",
                   &view->name, banner.len);

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_outage_status_wanted(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf)
{
    ngx_uint_t   i, status, *code;

    status = r->headers_out.status;

    /* no body, or a part of one: never touched, whatever the list says */
    if (status == NGX_HTTP_NO_CONTENT
        || status == NGX_HTTP_PARTIAL_CONTENT
        || status == NGX_HTTP_NOT_MODIFIED)
    {
        return NGX_DECLINED;
    }

    code = olcf->banner_status->elts;

    for (i = 0; i < olcf->banner_status->nelts; i++) {
        if (code[i] == status) {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * One allocation from the request pool per response: building it costs a
 * few microseconds, less than any cache of it would need to stay correct
 * (the nonce and outage_banner_html vary per request, "N min ago" by time).
 */

static ngx_int_t
ngx_http_outage_banner_build(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_view_t *view,
    ngx_str_t *out)
{
    size_t                          len, body, nonce_len, uri_len;
    u_char                         *p;
    ngx_str_t                       html, nonce;
    ngx_uint_t                      style;
    const u_char                   *tpl;
    ngx_http_outage_banner_t        b;
    ngx_http_outage_banner_input_t  in;

    ngx_str_null(out);
    ngx_str_null(&nonce);
    ngx_str_null(&html);
    tpl = NULL;

    if (olcf->banner_nonce
        && ngx_http_complex_value(r, olcf->banner_nonce, &nonce) != NGX_OK)
    {
        return NGX_ERROR;
    }

    style = 0;

    if (olcf->banner_html) {
        /* the administrator's markup, as is: variables escape themselves */
        if (ngx_http_complex_value(r, olcf->banner_html, &html) != NGX_OK) {
            return NGX_ERROR;
        }

        body = html.len;

    } else {
        ngx_memzero(&in, sizeof(ngx_http_outage_banner_input_t));

        in.state = (int) view->state;
        in.announced = view->announced;
        in.since = view->since;
        in.eta = view->eta;
        in.starts = view->starts;
        in.checked = view->checked;
        in.scope.data = view->name.data;
        in.scope.len = view->name.len;
        in.message.data = view->message.data;
        in.message.len = view->message.len;
        in.eta_text.data = view->eta_text.data;
        in.eta_text.len = view->eta_text.len;
        in.link.data = view->link.data;
        in.link.len = view->link.len;
        in.nonce.data = nonce.data;
        in.nonce.len = nonce.len;

        ngx_http_outage_banner_init(&b, &in, ngx_time());

        if (olcf->banner_template.len) {
            tpl = olcf->banner_template.data;

        } else {
            style = 1;
        }

        body = ngx_http_outage_banner_render(NULL, 0, tpl,
                                             olcf->banner_template.len, &b);
    }

    if (body == 0) {
        return NGX_OK;
    }

    len = body;
    nonce_len = 0;
    uri_len = 0;

    if (olcf->banner_css_uri.len) {
        uri_len = ngx_http_outage_html_escape(NULL, 0,
                                              olcf->banner_css_uri.data,
                                              olcf->banner_css_uri.len);
        len += sizeof("<link rel=\"stylesheet\" href=\"\">") - 1 + uri_len;

    } else if (style) {
        if (nonce.len) {
            nonce_len = ngx_http_outage_html_escape(NULL, 0, nonce.data,
                                                    nonce.len);
            len += sizeof(" nonce=\"\"") - 1 + nonce_len;
        }

        len += sizeof("<style></style>") - 1 + ngx_http_outage_banner_css_len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    if (olcf->banner_css_uri.len) {
        p = ngx_cpymem(p, "<link rel=\"stylesheet\" href=\"",
                       sizeof("<link rel=\"stylesheet\" href=\"") - 1);
        p += ngx_http_outage_html_escape(p, uri_len,
                                         olcf->banner_css_uri.data,
                                         olcf->banner_css_uri.len);
        *p++ = '"';
        *p++ = '>';

    } else if (style) {
        p = ngx_cpymem(p, "<style", sizeof("<style") - 1);

        if (nonce.len) {
            p = ngx_cpymem(p, " nonce=\"", sizeof(" nonce=\"") - 1);
            p += ngx_http_outage_html_escape(p, nonce_len, nonce.data,
                                             nonce.len);
            *p++ = '"';
        }

        *p++ = '>';
        p = ngx_cpymem(p, ngx_http_outage_banner_css,
                       ngx_http_outage_banner_css_len);
        p = ngx_cpymem(p, "</style>", sizeof("</style>") - 1);
    }

    if (olcf->banner_html) {
        p = ngx_cpymem(p, html.data, html.len);

    } else {
        p += ngx_http_outage_banner_render(p, body, tpl,
                                           olcf->banner_template.len, &b);
    }

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * "Cache-Control: no-store" replaces what the response had, so that no
 * cache keeps the banner after the incident.  It is deliberately not made
 * r->headers_out.cache_control: "expires" and "add_header Cache-Control"
 * run in a later header filter and would overwrite that one; this way they
 * only add their header next to it, and no-store still wins in any cache.
 */

static ngx_int_t
ngx_http_outage_nocache(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if ((h[i].key.len == sizeof("Cache-Control") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                                sizeof("Cache-Control") - 1)
                == 0)
            || (h[i].key.len == sizeof("Expires") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Expires",
                                   sizeof("Expires") - 1)
                   == 0))
        {
            h[i].hash = 0;
        }
    }

    r->headers_out.expires = NULL;

#if (nginx_version >= 1023000)
    r->headers_out.cache_control = NULL;
#else
    ngx_memzero(&r->headers_out.cache_control, sizeof(ngx_array_t));
#endif

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                      rc;
    ngx_chain_t                   *out;
    ngx_http_outage_filter_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_outage_module);

    if (ctx == NULL || (ctx->done && ctx->busy == NULL)) {
        return ngx_http_next_body_filter(r, in);
    }

    out = in;

    if (!ctx->done && in) {
        if (ngx_http_outage_splice(r, ctx, in, &out) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    rc = ngx_http_next_body_filter(r, out);

    ngx_http_outage_release(r, ctx);

    return rc;
}


/*
 * Feeds the buffers of "in" to the scanner until the insertion point; *out
 * is "in" itself if the point is not in this chain, else a chain with the
 * banner spliced in.  The caller's links are never modified.
 */

static ngx_int_t
ngx_http_outage_splice(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out)
{
    off_t                   off;
    ngx_buf_t              *b;
    ngx_chain_t            *cl, *ln, *head, **ll;
    ngx_http_outage_shm_t  *shm;

    off = NGX_HTTP_OUTAGE_SCAN_MORE;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            off = ngx_http_outage_scan_feed(&ctx->scan, b->pos,
                                            b->last - b->pos);

        } else if (b->in_file) {
            if (ngx_http_outage_scan_file(r, ctx, b, &off) != NGX_OK) {
                return NGX_ERROR;
            }

        } else {
            off = NGX_HTTP_OUTAGE_SCAN_MORE;
        }

        if (off != NGX_HTTP_OUTAGE_SCAN_MORE) {
            break;
        }

        if (b->last_buf && ngx_http_outage_scan_finish(&ctx->scan)) {
            off = ngx_buf_size(b);      /* no insertion point: append */
            break;
        }
    }

    if (cl == NULL) {
        *out = in;
        return NGX_OK;
    }

    ll = &head;

    for (ln = in; ln != cl; ln = ln->next) {
        *ll = ngx_alloc_chain_link(r->pool);
        if (*ll == NULL) {
            return NGX_ERROR;
        }

        (*ll)->buf = ln->buf;
        ll = &(*ll)->next;
    }

    if (ngx_http_outage_insert(r, ctx, cl, off, &ll) != NGX_OK) {
        return NGX_ERROR;
    }

    *ll = cl->next;
    *out = head;

    ctx->done = 1;

    shm = ngx_http_outage_shm();
    if (shm) {
        (void) ngx_atomic_fetch_add(&shm->banners, 1);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: banner inserted at offset %O of a buffer", off);

    return NGX_OK;
}


/*
 * The bytes of a file buffer are read only to be scanned; past the
 * insertion point they are still sent from the file.  The point is usually
 * in the first kilobytes, so this costs one small read of what the page
 * cache holds anyway.  Reads end on absolute multiples of the read size,
 * so the chunk that holds the point also holds the page boundary after it.
 */

static ngx_int_t
ngx_http_outage_scan_file(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b, off_t *hit)
{
    off_t    pos;
    size_t   size;
    ssize_t  n, off;

    *hit = NGX_HTTP_OUTAGE_SCAN_MORE;

    if (ctx->scratch == NULL) {
        ctx->scratch = ngx_palloc(r->pool, NGX_HTTP_OUTAGE_READ_SIZE);
        if (ctx->scratch == NULL) {
            return NGX_ERROR;
        }
    }

    for (pos = b->file_pos; pos < b->file_last; pos += n) {
        size = NGX_HTTP_OUTAGE_READ_SIZE - pos % NGX_HTTP_OUTAGE_READ_SIZE;

        if ((off_t) size > b->file_last - pos) {
            size = (size_t) (b->file_last - pos);
        }

        n = ngx_read_file(b->file, ctx->scratch, size, pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "outage: banner: read only %z of %uz bytes at "
                          "offset %O of \"%V\", was the file truncated?",
                          n, size, pos, &b->file->name);
            return NGX_ERROR;
        }

        ctx->chunk_start = pos;
        ctx->chunk_len = size;

        off = ngx_http_outage_scan_feed(&ctx->scan, ctx->scratch, n);

        if (off != NGX_HTTP_OUTAGE_SCAN_MORE) {
            *hit = pos - b->file_pos + off;
            return NGX_OK;
        }
    }

    return NGX_OK;
}


/*
 * Puts the links standing for cl->buf with the banner at "off" at **ll and
 * advances *ll.  The end-of-response flags move to the last of them.  An
 * empty buffer (the last_buf of an append) is kept as is after the banner.
 */

static ngx_int_t
ngx_http_outage_insert(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *cl, off_t off,
    ngx_chain_t ***ll)
{
    off_t         size, hit, start, end, aligned;
    u_char       *base;
    ngx_buf_t    *b, *part[5], *banner;
    ngx_uint_t    i, n;
    ngx_chain_t  *ln, **busy;

    b = cl->buf;
    size = ngx_buf_size(b);

    banner = ngx_http_outage_mem(r, ctx->banner.data,
                                 ctx->banner.data + ctx->banner.len);
    if (banner == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    if (size == 0) {
        part[n++] = banner;
        part[n++] = b;
        goto link;
    }

    if (!b->in_file) {
        if (off > 0) {
            part[n++] = ngx_http_outage_shadow(r, b, 0, off);
        }

        part[n++] = banner;

        if (off < size) {
            part[n++] = ngx_http_outage_shadow(r, b, off, size);
        }

        goto flags;
    }

    /*
     * Sent with sendfile: the bytes before the point, and after it up to
     * the next page boundary, go from memory, and sendfile resumes on a
     * page.  A page split between a write and sendfile left the kernel an
     * undersized segment that, with tcp_nopush, waited for the client's
     * delayed ACK: 40 ms more per keepalive response (measured).
     */

    hit = b->file_pos + off;

    if (ngx_buf_in_memory(b)) {
        start = b->file_pos;
        end = b->file_last;
        base = b->pos;

    } else {
        start = ctx->chunk_start;
        end = ctx->chunk_start + (off_t) ctx->chunk_len;
        base = ctx->scratch;
    }

    aligned = (hit + ngx_pagesize - 1) / ngx_pagesize * ngx_pagesize;

    if (aligned > end) {
        aligned = end;
    }

    if (start > b->file_pos) {
        part[n++] = ngx_http_outage_shadow(r, b, 0, start - b->file_pos);
    }

    if (hit > start) {
        part[n++] = ngx_http_outage_mem(r, base, base + (hit - start));
    }

    part[n++] = banner;

    if (aligned > hit) {
        part[n++] = ngx_http_outage_mem(r, base + (hit - start),
                                        base + (aligned - start));
    }

    if (aligned < b->file_last) {
        part[n++] = ngx_http_outage_shadow(r, b, aligned - b->file_pos, size);
    }

flags:

    for (i = 0; i < n; i++) {
        if (part[i] == NULL) {
            return NGX_ERROR;
        }

        /* the producer wants b back soon: have the parts flushed likewise */
        part[i]->recycled = b->recycled;
    }

    part[n - 1]->last_buf = b->last_buf;
    part[n - 1]->last_in_chain = b->last_in_chain;
    part[n - 1]->flush = b->flush;

    ctx->orig = b;

link:

    busy = &ctx->busy;

    for (i = 0; i < n; i++) {
        ln = ngx_alloc_chain_link(r->pool);
        if (ln == NULL) {
            return NGX_ERROR;
        }

        ln->buf = part[i];
        **ll = ln;
        *ll = &ln->next;

        if (part[i] == b) {
            continue;
        }

        /* a separate list: the links passed on belong to the next filter */
        ln = ngx_alloc_chain_link(r->pool);
        if (ln == NULL) {
            return NGX_ERROR;
        }

        ln->buf = part[i];
        ln->next = NULL;
        *busy = ln;
        busy = &ln->next;
    }

    return NGX_OK;
}


/* [from, to) of b, in memory and/or in the file, as b itself is */

static ngx_buf_t *
ngx_http_outage_shadow(ngx_http_request_t *r, ngx_buf_t *b, off_t from,
    off_t to)
{
    ngx_buf_t  *s;

    s = ngx_alloc_buf(r->pool);
    if (s == NULL) {
        return NULL;
    }

    *s = *b;

    if (ngx_buf_in_memory(b)) {
        s->last = b->pos + to;
        s->pos = b->pos + from;
    }

    if (b->in_file) {
        s->file_last = b->file_pos + to;
        s->file_pos = b->file_pos + from;
    }

    s->tag = (ngx_buf_tag_t) &ngx_http_outage_module;
    s->shadow = NULL;
    s->last_shadow = 0;
    s->last_buf = 0;
    s->last_in_chain = 0;
    s->flush = 0;

    return s;
}


static ngx_buf_t *
ngx_http_outage_mem(ngx_http_request_t *r, u_char *pos, u_char *last)
{
    ngx_buf_t  *b;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NULL;
    }

    b->pos = pos;
    b->last = last;
    b->memory = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_outage_module;

    return b;
}


/*
 * Once the next filters have sent all of the shadows and the banner, the
 * original buffer is marked consumed, so that its producer (the upstream,
 * the copy filter) can reuse it; until then it must stay untouched.
 */

static void
ngx_http_outage_release(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx)
{
    ngx_buf_t  *b;

    while (ctx->busy) {
        if (ngx_buf_size(ctx->busy->buf) != 0) {
            return;
        }

        ctx->busy = ctx->busy->next;
    }

    b = ctx->orig;

    if (b) {
        b->pos = b->last;

        if (b->in_file) {
            b->file_pos = b->file_last;
        }

        ctx->orig = NULL;
    }

    if (ctx->done && ctx->scratch) {
        ngx_pfree(r->pool, ctx->scratch);
        ctx->scratch = NULL;
    }
}


ngx_int_t
ngx_http_outage_banner_css_handler(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = ngx_http_outage_banner_css_len;
    ngx_str_set(&r->headers_out.content_type, "text/css");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    /* the stylesheet changes only with the module: cache it, revalidate */
    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "public, max-age=3600");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "ETag");
    h->value.data = ngx_http_outage_css_etag;
    h->value.len = ngx_http_outage_css_etag_len;
    r->headers_out.etag = h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "X-Content-Type-Options");
    ngx_str_set(&h->value, "nosniff");

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) ngx_http_outage_banner_css;
    b->last = b->pos + ngx_http_outage_banner_css_len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
