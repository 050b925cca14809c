
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
 *
 * Also owns the per-worker renderings (ngx_http_outage_cache_t) that the
 * banner and the maintenance page are sent from: rendered once per
 * snapshot second, held by the requests that send them.
 */


#include "ngx_http_outage_module.h"
#include "ngx_http_outage_scan.h"
#include "ngx_http_outage_banner.h"
#include "ngx_http_outage_pagebody.h"


/*
 * How much of a file buffer is read at a time to find the insertion point:
 * one page first (most pages open <body> within it), then larger chunks.
 * A file whose rest fits in one chunk is read whole and sent from memory:
 * one pread() and one writev() cost less than a pread(), a writev() and a
 * sendfile() between TCP_CORK on and off (measured: 14.3 against 18.1 us
 * of worker CPU per 10 KB page; docs/performance.md).
 */
#define NGX_HTTP_OUTAGE_READ_FIRST  4096
#define NGX_HTTP_OUTAGE_READ_SIZE   16384

/* ngx_http_outage_cache_t flags of a cached banner */
#define NGX_HTTP_OUTAGE_BANNER_STYLE   0x01   /* starts with "<style>" */
#define NGX_HTTP_OUTAGE_BANNER_NONCE   0x02   /* the template shows it */


typedef struct {
    ngx_http_outage_scan_t   scan;
    ngx_str_t                banner[2];    /* per-request head, the rest */
    ngx_buf_t               *busy[6];      /* ours, held by next filters
                                              (one insertion: 6 at most) */
    ngx_uint_t               nbusy;        /* busy[first_busy..nbusy) */
    ngx_uint_t               first_busy;
    ngx_buf_t               *orig;         /* what the shadows stand for */
    u_char                  *scratch;      /* file bytes being scanned */
    size_t                   scratch_size;
    off_t                    chunk_start;  /* their file offset */
    size_t                   chunk_len;
    unsigned                 done:1;       /* inserted: the rest as is */
} ngx_http_outage_filter_ctx_t;


static ngx_int_t ngx_http_outage_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_outage_identity_handler(ngx_http_request_t *r);
#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)
static ngx_int_t ngx_http_outage_upstream_identity(ngx_http_request_t *r);
#endif
static ngx_int_t ngx_http_outage_status_wanted(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf);
static ngx_int_t ngx_http_outage_banner_build(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *view, ngx_str_t *out);
static ngx_http_outage_blob_t *ngx_http_outage_banner_cached(
    ngx_http_request_t *r, ngx_http_outage_loc_conf_t *olcf,
    ngx_http_outage_snapshot_t *snap, ngx_http_outage_view_t *view);
static ngx_int_t ngx_http_outage_banner_once(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_view_t *view,
    ngx_str_t *nonce, ngx_str_t *out);
static void ngx_http_outage_banner_input(ngx_http_outage_banner_input_t *in,
    ngx_http_outage_view_t *view, ngx_str_t *nonce);
static size_t ngx_http_outage_banner_write(u_char *dst,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_banner_t *b,
    ngx_str_t *html, ngx_str_t *nonce);
static void ngx_http_outage_blob_release(void *data);
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
 * Runs in PREACCESS (again after internal redirects: it is idempotent) and
 * prepares a request whose response may get a banner:
 *
 * - A browser's cached copy of a page from before the incident would come
 *   back as a 304 from nginx's not_modified filter (static files,
 *   proxy_cache hits), which runs before this filter (dynamic and static
 *   builds alike) and cannot be given a banner: the visitor would not hear
 *   of the outage.  For a page load (Accept lists text/html) the
 *   conditional headers are dropped for nginx's own checks and a 200 with
 *   the banner goes out; images, stylesheets, scripts and API calls keep
 *   their 304s.  A bannered copy is
 *   not revalidated into the time after the incident: it is sent with
 *   no-store (outage_banner_nocache on) and a weak ETag.
 * - An upstream that compresses would hide the page from the filter (it runs
 *   before gunzip), so the upstream is asked for "identity".  The client's
 *   own header stays what nginx's gzip decides on: r->headers_in.
 *   accept_encoding is pointed at an unchanged copy, while the entry in the
 *   header list, which proxy/fastcgi/uwsgi/scgi/grpc forward, is rewritten.
 */

static ngx_int_t
ngx_http_outage_identity_handler(ngx_http_request_t *r)
{
    ngx_http_outage_loc_conf_t  *olcf;

    if (r != r->main
        || r->method == NGX_HTTP_HEAD
        || (
#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)
            r->headers_in.accept_encoding == NULL &&
#endif
            r->headers_in.if_none_match == NULL
            && r->headers_in.if_modified_since == NULL))
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

    if ((r->headers_in.if_none_match || r->headers_in.if_modified_since)
        && ngx_http_outage_accept(r, ngx_http_outage_accepts_html))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: banner due, conditional headers ignored");

        r->headers_in.if_none_match = NULL;
        r->headers_in.if_modified_since = NULL;
    }

#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)
    /* the field exists only in builds with a gzip-family module */
    if (r->headers_in.accept_encoding) {
        return ngx_http_outage_upstream_identity(r);
    }
#endif

    return NGX_DECLINED;
}


#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)

static ngx_int_t
ngx_http_outage_upstream_identity(ngx_http_request_t *r)
{

    ngx_uint_t                   i;
    ngx_list_part_t             *part;
    ngx_table_elt_t             *h, *copy;

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

        /* parsed headers come with their lower-case name */
        if (h[i].key.len != sizeof("Accept-Encoding") - 1
            || (h[i].lowcase_key
                ? ngx_strncmp(h[i].lowcase_key, "accept-encoding",
                              sizeof("Accept-Encoding") - 1)
                : ngx_strncasecmp(h[i].key.data,
                                  (u_char *) "Accept-Encoding",
                                  sizeof("Accept-Encoding") - 1))
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

    return NGX_DECLINED;
}

#endif


static ngx_int_t
ngx_http_outage_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                      banner[2];
    ngx_table_elt_t               *ce;
    ngx_http_outage_view_t        *view;
    ngx_http_outage_snapshot_t    *snap;
    ngx_http_outage_loc_conf_t    *olcf;
    ngx_http_outage_filter_ctx_t  *ctx;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (!olcf->banner
        || r != r->main
        || r->header_only
        || r->method == NGX_HTTP_HEAD
        || r->headers_out.content_length_n == 0
        || ngx_http_outage_status_wanted(r, olcf) != NGX_OK)
    {
        return ngx_http_next_header_filter(r);
    }

    /* the incident first: without one the type lookup is not needed */
    snap = ngx_http_outage_snapshot(r->connection->log);
    view = ngx_http_outage_worst(snap, olcf->banner_scopes, 1);

    if (view == NULL
        || ngx_http_test_content_type(r, &olcf->banner_types) == NULL)
    {
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

    if (ngx_http_outage_banner_build(r, olcf, snap, view, banner) != NGX_OK) {
        return NGX_ERROR;
    }

    if (banner[1].len == 0) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_outage_filter_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_outage_scan_init(&ctx->scan);
    ctx->banner[0] = banner[0];
    ctx->banner[1] = banner[1];

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
                   &view->name, banner[0].len + banner[1].len);

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
 * The banner as out[0] (a per-request head, usually empty) and out[1];
 * out[1] is empty when there is no banner.  Everything that does not vary
 * per request is rendered once per snapshot second into the location's
 * cache and sent from there: only outage_banner_html, and a template that
 * shows the nonce, are rendered for each request.  With the built-in
 * markup, the nonce goes into a per-request "<style nonce>" head in front
 * of the cached bytes, which start right after their own "<style>".
 */

static ngx_int_t
ngx_http_outage_banner_build(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *view, ngx_str_t *out)
{
    u_char                  *p;
    size_t                   n;
    ngx_str_t                nonce;
    ngx_http_outage_blob_t  *blob;

    ngx_str_null(&out[0]);
    ngx_str_null(&out[1]);
    ngx_str_null(&nonce);

    if (olcf->banner_nonce
        && ngx_http_complex_value(r, olcf->banner_nonce, &nonce) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (olcf->banner_html || olcf->banner_cache == NULL) {
        return ngx_http_outage_banner_once(r, olcf, view, &nonce, &out[1]);
    }

    blob = ngx_http_outage_cache_find(olcf->banner_cache, snap);

    if (blob == NULL) {
        blob = ngx_http_outage_banner_cached(r, olcf, snap, view);
        if (blob == NULL) {
            return NGX_ERROR;
        }
    }

    if (nonce.len && (olcf->banner_cache->flags & NGX_HTTP_OUTAGE_BANNER_NONCE))
    {
        return ngx_http_outage_banner_once(r, olcf, view, &nonce, &out[1]);
    }

    if (blob->len == 0) {
        return NGX_OK;
    }

    if (ngx_http_outage_cache_hold(r, blob) != NGX_OK) {
        return NGX_ERROR;
    }

    out[1].data = blob->data;
    out[1].len = blob->len;

    if (nonce.len == 0
        || !(olcf->banner_cache->flags & NGX_HTTP_OUTAGE_BANNER_STYLE))
    {
        return NGX_OK;
    }

    n = ngx_http_outage_html_escape(NULL, 0, nonce.data, nonce.len);

    p = ngx_pnalloc(r->pool, sizeof("<style nonce=\"\">") - 1 + n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out[0].data = p;
    p = ngx_cpymem(p, "<style nonce=\"", sizeof("<style nonce=\"") - 1);
    p += ngx_http_outage_html_escape(p, n, nonce.data, nonce.len);
    *p++ = '"';
    *p++ = '>';
    out[0].len = p - out[0].data;

    out[1].data += sizeof("<style>") - 1;
    out[1].len -= sizeof("<style>") - 1;

    return NGX_OK;
}


/* renders the banner without a nonce into the location's cache */

static ngx_http_outage_blob_t *
ngx_http_outage_banner_cached(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *view)
{
    size_t                           len;
    ngx_http_outage_blob_t          *blob;
    ngx_http_outage_cache_t         *cache;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    cache = olcf->banner_cache;

    ngx_http_outage_banner_input(&in, view, NULL);

    /* the snapshot's second: the key of the rendering is its "now" */
    ngx_http_outage_banner_init(&b, &in, snap->built);

    len = ngx_http_outage_banner_write(NULL, olcf, &b, NULL, NULL);

    blob = ngx_http_outage_cache_reserve(cache, len, r->connection->log);
    if (blob == NULL) {
        return NULL;
    }

    blob->len = ngx_http_outage_banner_write(blob->data, olcf, &b, NULL,
                                             NULL);

    if (blob->len != len) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "outage: banner size changed between measuring and "
                      "writing");
        return NULL;
    }

    cache->flags = 0;

    if (b.nonce_used) {
        cache->flags |= NGX_HTTP_OUTAGE_BANNER_NONCE;
    }

    if (len && olcf->banner_template.len == 0
        && olcf->banner_css_uri.len == 0)
    {
        cache->flags |= NGX_HTTP_OUTAGE_BANNER_STYLE;
    }

    ngx_http_outage_cache_store(cache, blob, snap);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: banner for scope \"%V\" rendered, %uz bytes",
                   &view->name, len);

    return blob;
}


/* the banner of this request alone, in its pool */

static ngx_int_t
ngx_http_outage_banner_once(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_view_t *view,
    ngx_str_t *nonce, ngx_str_t *out)
{
    size_t                           len;
    u_char                          *p;
    ngx_str_t                        html;
    ngx_http_outage_banner_t         b;
    ngx_http_outage_banner_input_t   in;

    ngx_str_null(&html);

    if (olcf->banner_html) {
        /* the administrator's markup, as is: variables escape themselves */
        if (ngx_http_complex_value(r, olcf->banner_html, &html) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        ngx_http_outage_banner_input(&in, view, nonce);
        ngx_http_outage_banner_init(&b, &in, ngx_time());
    }

    len = ngx_http_outage_banner_write(NULL, olcf, &b, &html, nonce);
    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    out->len = ngx_http_outage_banner_write(p, olcf, &b, &html, nonce);

    if (out->len != len) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "outage: banner size changed between measuring and "
                      "writing");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_outage_banner_input(ngx_http_outage_banner_input_t *in,
    ngx_http_outage_view_t *view, ngx_str_t *nonce)
{
    ngx_memzero(in, sizeof(ngx_http_outage_banner_input_t));

    in->state = (int) view->state;
    in->announced = view->announced;
    in->since = view->since;
    in->eta = view->eta;
    in->starts = view->starts;
    in->checked = view->checked;
    in->scope.data = view->name.data;
    in->scope.len = view->name.len;
    in->message.data = view->message.data;
    in->message.len = view->message.len;
    in->eta_text.data = view->eta_text.data;
    in->eta_text.len = view->eta_text.len;
    in->link.data = view->link.data;
    in->link.len = view->link.len;

    if (nonce) {
        in->nonce.data = nonce->data;
        in->nonce.len = nonce->len;
    }
}


/*
 * Measures (dst NULL) or writes the whole banner: the stylesheet link or
 * inline style, then outage_banner_html (html not NULL and set) or the
 * template rendered from *b.  Nothing (0) when the markup is empty.
 */

static size_t
ngx_http_outage_banner_write(u_char *dst, ngx_http_outage_loc_conf_t *olcf,
    ngx_http_outage_banner_t *b, ngx_str_t *html, ngx_str_t *nonce)
{
    u_char        *p;
    size_t         body, len, n;
    const u_char  *tpl;
    ngx_uint_t     style;

    style = 0;
    tpl = NULL;

    if (olcf->banner_html) {
        body = html->len;

    } else {
        if (olcf->banner_template.len) {
            tpl = olcf->banner_template.data;

        } else {
            style = 1;
        }

        body = ngx_http_outage_banner_render(NULL, 0, tpl,
                                             olcf->banner_template.len, b);
    }

    if (body == 0) {
        return 0;
    }

    if (olcf->banner_css_uri.len) {
        n = ngx_http_outage_html_escape(NULL, 0, olcf->banner_css_uri.data,
                                        olcf->banner_css_uri.len);
        len = sizeof("<link rel=\"stylesheet\" href=\"\">") - 1 + n + body;

        if (dst == NULL) {
            return len;
        }

        p = ngx_cpymem(dst, "<link rel=\"stylesheet\" href=\"",
                       sizeof("<link rel=\"stylesheet\" href=\"") - 1);
        p += ngx_http_outage_html_escape(p, n, olcf->banner_css_uri.data,
                                         olcf->banner_css_uri.len);
        *p++ = '"';
        *p++ = '>';

    } else if (style) {
        n = (nonce && nonce->len)
            ? ngx_http_outage_html_escape(NULL, 0, nonce->data, nonce->len)
            : 0;

        len = sizeof("<style></style>") - 1 + ngx_http_outage_banner_css_len
              + body;

        if (nonce && nonce->len) {
            len += sizeof(" nonce=\"\"") - 1 + n;
        }

        if (dst == NULL) {
            return len;
        }

        p = ngx_cpymem(dst, "<style", sizeof("<style") - 1);

        if (nonce && nonce->len) {
            p = ngx_cpymem(p, " nonce=\"", sizeof(" nonce=\"") - 1);
            p += ngx_http_outage_html_escape(p, n, nonce->data, nonce->len);
            *p++ = '"';
        }

        *p++ = '>';
        p = ngx_cpymem(p, ngx_http_outage_banner_css,
                       ngx_http_outage_banner_css_len);
        p = ngx_cpymem(p, "</style>", sizeof("</style>") - 1);

    } else {
        if (dst == NULL) {
            return body;
        }

        p = dst;
    }

    if (olcf->banner_html) {
        p = ngx_cpymem(p, html->data, html->len);

    } else {
        p += ngx_http_outage_banner_render(p, body, tpl,
                                           olcf->banner_template.len, b);
    }

    return p - dst;
}


/*
 * Per-worker renderings.  One made from a snapshot stays valid for as long
 * as the snapshot's generation and second do: the views are derived from
 * exactly these, and every time the text shows ("in 45 min", "just now")
 * from the second, so nothing else can change it and it is never stale
 * (a banner is rendered at most once a second, a few microseconds).
 * Requests do not copy it: each holds the blob (a count, dropped by a
 * request pool cleanup) and sends it in place; a new rendering only goes
 * into a blob no request holds, so a slow client still reads the bytes it
 * was given.  Blobs live in the cycle pool; idle ones beyond the one being
 * reused are freed, so the count follows the number held.
 */

ngx_http_outage_blob_t *
ngx_http_outage_cache_find(ngx_http_outage_cache_t *cache,
    ngx_http_outage_snapshot_t *snap)
{
    if (cache->current
        && cache->generation == snap->generation
        && cache->built == snap->built)
    {
        return cache->current;
    }

    return NULL;
}


ngx_http_outage_blob_t *
ngx_http_outage_cache_reserve(ngx_http_outage_cache_t *cache, size_t size,
    ngx_log_t *log)
{
    size_t                   alloc;
    ngx_http_outage_blob_t  *b, *found, **bp;

    /* the caller replaces it: it is free to reuse unless held */
    cache->current = NULL;

    found = NULL;
    bp = &cache->blobs;

    while (*bp) {
        b = *bp;

        if (b->refs || (found == NULL && b->size >= size)) {
            if (b->refs == 0) {
                found = b;
            }

            bp = &b->next;
            continue;
        }

        *bp = b->next;
        ngx_pfree(ngx_cycle->pool, b);
    }

    if (found) {
        found->len = 0;
        return found;
    }

    /* a page at least: a large allocation, which ngx_pfree() can free */
    alloc = ngx_max(sizeof(ngx_http_outage_blob_t) + size, ngx_pagesize);

    b = ngx_palloc(ngx_cycle->pool, alloc);
    if (b == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "outage: no memory for a rendering of %uz bytes",
                      size);
        return NULL;
    }

    b->data = (u_char *) (b + 1);
    b->len = 0;
    b->size = alloc - sizeof(ngx_http_outage_blob_t);
    b->refs = 0;
    b->next = cache->blobs;
    cache->blobs = b;

    return b;
}


void
ngx_http_outage_cache_store(ngx_http_outage_cache_t *cache,
    ngx_http_outage_blob_t *blob, ngx_http_outage_snapshot_t *snap)
{
    cache->current = blob;
    cache->generation = snap->generation;
    cache->built = snap->built;
}


ngx_int_t
ngx_http_outage_cache_hold(ngx_http_request_t *r, ngx_http_outage_blob_t *blob)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_outage_blob_release;
    cln->data = blob;
    blob->refs++;

    return NGX_OK;
}


static void
ngx_http_outage_blob_release(void *data)
{
    ngx_http_outage_blob_t  *blob = data;

    blob->refs--;
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

    if (ctx == NULL || (ctx->done && ctx->first_busy == ctx->nbusy)) {
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
    size_t   size, step;
    ssize_t  n, off;

    *hit = NGX_HTTP_OUTAGE_SCAN_MORE;

    for (pos = b->file_pos; pos < b->file_last; pos += n) {

        if (b->file_last - pos <= NGX_HTTP_OUTAGE_READ_SIZE) {
            size = (size_t) (b->file_last - pos);

        } else {
            step = (pos < NGX_HTTP_OUTAGE_READ_FIRST)
                   ? NGX_HTTP_OUTAGE_READ_FIRST : NGX_HTTP_OUTAGE_READ_SIZE;
            size = step - pos % step;
        }

        /* the bytes scanned before are not needed any more */
        if (size > ctx->scratch_size) {
            if (ctx->scratch) {
                ngx_pfree(r->pool, ctx->scratch);
            }

            ctx->scratch = ngx_palloc(r->pool, size);
            if (ctx->scratch == NULL) {
                return NGX_ERROR;
            }

            ctx->scratch_size = size;
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
    ngx_buf_t    *b, *part[6], *banner[2];
    ngx_uint_t    i, n, nb;
    ngx_chain_t  *ln;

    b = cl->buf;
    size = ngx_buf_size(b);

    nb = 0;

    for (i = 0; i < 2; i++) {
        if (ctx->banner[i].len == 0) {
            continue;
        }

        banner[nb] = ngx_http_outage_mem(r, ctx->banner[i].data,
                                         ctx->banner[i].data
                                         + ctx->banner[i].len);
        if (banner[nb] == NULL) {
            return NGX_ERROR;
        }

        nb++;
    }

    n = 0;

    if (size == 0) {
        for (i = 0; i < nb; i++) {
            part[n++] = banner[i];
        }

        part[n++] = b;
        goto link;
    }

    if (!b->in_file) {
        if (off > 0) {
            part[n++] = ngx_http_outage_shadow(r, b, 0, off);
        }

        for (i = 0; i < nb; i++) {
            part[n++] = banner[i];
        }

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
     * delayed ACK: 40 ms more per keepalive response (measured).  When the
     * bytes read reach the end of the buffer (a small file is read whole),
     * all of it goes from memory and sendfile is not needed at all.
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

    if (aligned > end || end == b->file_last) {
        aligned = end;
    }

    if (start > b->file_pos) {
        part[n++] = ngx_http_outage_shadow(r, b, 0, start - b->file_pos);
    }

    if (hit > start) {
        part[n++] = ngx_http_outage_mem(r, base, base + (hit - start));
    }

    for (i = 0; i < nb; i++) {
        part[n++] = banner[i];
    }

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

    for (i = 0; i < n; i++) {
        ln = ngx_alloc_chain_link(r->pool);
        if (ln == NULL) {
            return NGX_ERROR;
        }

        ln->buf = part[i];
        **ll = ln;
        *ll = &ln->next;

        /* not the links: those passed on belong to the next filter */
        if (part[i] != b) {
            ctx->busy[ctx->nbusy++] = part[i];
        }
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

    while (ctx->first_busy < ctx->nbusy) {
        if (ngx_buf_size(ctx->busy[ctx->first_busy]) != 0) {
            return;
        }

        ctx->first_busy++;
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
        ctx->scratch_size = 0;
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
