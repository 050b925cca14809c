
/*
 * ngx_outage_module: the banner filter.
 *
 * Owns the header and body filters that put the outage banner into HTML
 * responses while an incident is active (HEAD gets the same headers), the
 * request-phase handler that drops the validators of page loads meanwhile,
 * the inflating of gzip bodies, and the handler that serves the banner
 * stylesheet ("outage_banner_css").
 *
 * Nothing is buffered: every buffer goes on as soon as it is scanned, but
 * for the few bytes of a token the scanner has not understood yet (copied,
 * sent with the next buffer); the response header of an identity body of
 * known length waits for the first body call, to go out with the length
 * the banner gives the body; at the insertion point the buffer is
 * replaced by shadow buffers around the banner, and everything after it
 * passes untouched, unscanned.  File buffers stay file buffers, so
 * sendfile keeps working: only the bytes up to the insertion point are
 * read, to find it (256 KB at most): here with "aio" off, by nginx's copy
 * filter in the thread pool with "aio threads".  A gzip body is inflated
 * here into a few buffers of our own, no faster than the client takes them.
 * What the banner says is in ngx_http_outage_banner.c; the per-worker
 * renderings it is sent from in ngx_http_outage_render.c.
 */


#include "ngx_http_outage_module.h"
#include "ngx_http_outage_scan.h"
#include "ngx_http_outage_banner.h"
#include "ngx_http_outage_pagebody.h"
#include "ngx_http_outage_sniff.h"
#include "ngx_http_outage_cond.h"

#if (NGX_ZLIB)
#include <zlib.h>
#endif


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

/* response header of a bannered response (two tiers) */
#define NGX_HTTP_OUTAGE_MARKER  "X-Outage-Banner"

/* buffers a gzip-encoded body is inflated into, at most this many */
#define NGX_HTTP_OUTAGE_ZBUF_SIZE  8192
#define NGX_HTTP_OUTAGE_ZBUFS      4

/* a file is scanned this far at most (the reads block) */
#define NGX_HTTP_OUTAGE_SCAN_FILE_MAX  (256 * 1024)

/*
 * Links and buffers of the response's own allocation: enough for a
 * banner spliced into the first buffer (ngx_http_outage_insert()); more
 * come from the pool
 */
#define NGX_HTTP_OUTAGE_LINKS  8
#define NGX_HTTP_OUTAGE_BUFS   6

/* ngx_http_outage_cache_t flags of a cached banner */
#define NGX_HTTP_OUTAGE_BANNER_STYLE   0x01   /* starts with "<style>" */
#define NGX_HTTP_OUTAGE_BANNER_NONCE   0x02   /* the template shows it */


typedef struct ngx_http_outage_part_s  ngx_http_outage_part_t;

/* the last of our buffers standing for a buffer of the response */
struct ngx_http_outage_part_s {
    ngx_buf_t               *buf;
    ngx_buf_t               *orig;
    ngx_http_outage_part_t  *next;
};


/*
 * The state of one bannered response, in one allocation with the
 * links, buffers and stand-in record that a banner spliced into the first
 * buffer needs (most pages), and the entry that holds the rendering the
 * banner is sent from: one ngx_palloc() per response instead of a dozen.
 */
typedef struct {
    ngx_pool_cleanup_t       cln;          /* holds the rendering, if any */
    ngx_http_outage_scan_t   scan;
    ngx_str_t                banner[2];    /* per-request head, the rest */
    ngx_http_outage_part_t  *busy;         /* held by next filters, oldest
                                              first */
    ngx_http_outage_part_t  *last_busy;
    ngx_http_outage_part_t  *free;
    off_t                    offset;       /* of the next buffer's bytes */
    u_char                   held[NGX_HTTP_OUTAGE_SCAN_HOLD];
    size_t                   nheld;        /* held back from buffers */
    u_char                   fheld[NGX_HTTP_OUTAGE_SCAN_HOLD];
                                           /* ... from the chunk read before */
    u_char                  *scratch;      /* file bytes being scanned */
    size_t                   scratch_size;
    off_t                    chunk_start;  /* their file offset */
    size_t                   chunk_len;
    size_t                   added;        /* banner bytes put in */
    unsigned                 done:1;       /* decided: the rest as is */
    unsigned                 hold:1;       /* the response header waits for
                                              the first body buffers */
    unsigned                 copy_banner:1;/* a filter recodes in place */
    unsigned                 sniff:1;      /* no type: the body must start
                                              like HTML */
    ngx_http_outage_sniff_t  sn;
    unsigned                 copy_reads:1; /* the copy filter reads files
                                              for us (aio) */
    unsigned                 copy_others:1;/* ... other filters want that
                                              too */
    unsigned                 copy_main:1;  /* ... for subrequests too */
#if (NGX_ZLIB)
    unsigned                 inflate:1;    /* gzip body: inflated here */
    unsigned                 zgap:1;       /* before a member: 1f 8b due */
    unsigned                 zmagic:1;     /* ... the 1f came */
    unsigned                 zmember:1;    /* a member has started */
    unsigned                 zredo:1;      /* zlib has more to write */
    unsigned                 zskip:1;      /* the rest is not gzip: ignored */
    unsigned                 zlast:1;      /* the last buffer went on */
    unsigned                 zgot:1;       /* inflated bytes went on */
    unsigned                 zcut:1;       /* ended early: fail after it */
    ngx_uint_t               nzbufs;
    z_stream                 zs;
    ngx_chain_t             *zin;          /* input not inflated yet */
    ngx_buf_t               *zcur;         /* being filled */
    ngx_chain_t             *zfree;        /* inflate buffers, reused once */
    ngx_chain_t             *zbusy;        /* ... the next filters sent them */
    ngx_buf_t               *zflag[8];     /* empty flush/sync/last_in_chain
                                              buffers, by those flags */
#endif
    ngx_http_outage_part_t   part;         /* the first of "free" */
    ngx_uint_t               nlinks;       /* of link[] handed out */
    ngx_uint_t               nbufs;        /* of buf[] handed out */

    /* not zeroed: each is set whole when handed out, and used once */
    ngx_chain_t              link[NGX_HTTP_OUTAGE_LINKS];
    ngx_buf_t                buf[NGX_HTTP_OUTAGE_BUFS];
} ngx_http_outage_filter_ctx_t;


/*
 * What the response headers in the list say, from one walk over them
 * (ngx_http_outage_resp_headers()): every check of a response with a
 * banner due, instead of a walk per header name
 */
typedef struct {
    unsigned                 not_html:1;   /* another Content-Type line is
                                              not text/html */
    unsigned                 download:1;   /* Content-Disposition */
    unsigned                 nosniff:1;    /* X-Content-Type-Options */
    unsigned                 covered:1;    /* a marker covers our banner */
    unsigned                 marker:1;     /* a marker, of any value */
    unsigned                 cache:1;      /* Cache-Control or Expires */
    unsigned                 varied:1;     /* a Vary lists Sec-Fetch-Dest */
} ngx_http_outage_resp_t;


static ngx_int_t ngx_http_outage_header_filter(ngx_http_request_t *r);
static ngx_uint_t ngx_http_outage_may_gzip(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_outage_conditional_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_not_modified(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_status_wanted(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf);
static ngx_int_t ngx_http_outage_html_wanted(ngx_http_request_t *r,
    u_char *type, size_t len, ngx_str_t *cs, ngx_http_outage_view_t *view,
    ngx_http_outage_resp_t *rh, ngx_uint_t *sniff);
static void ngx_http_outage_resp_headers(ngx_http_request_t *r,
    ngx_http_outage_view_t *view, ngx_http_outage_resp_t *rh,
    ngx_uint_t clear);
static ngx_uint_t ngx_http_outage_type_listed(
    ngx_http_outage_loc_conf_t *olcf, u_char *type, size_t len);
static ngx_uint_t ngx_http_outage_not_document(ngx_http_request_t *r);
static ngx_uint_t ngx_http_outage_not_rendered(ngx_http_request_t *r,
    ngx_http_outage_view_t *view, ngx_http_outage_resp_t *rh,
    ngx_uint_t sniff);
static ngx_int_t ngx_http_outage_vary(ngx_http_request_t *r,
    ngx_http_outage_resp_t *rh);
static ngx_table_elt_t *ngx_http_outage_push_header(ngx_http_request_t *r,
    char *key, size_t len);
static ngx_uint_t ngx_http_outage_type_304(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf);
static void ngx_http_outage_sniff_body(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_outage_banner_build(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *view, ngx_str_t *out,
    ngx_http_outage_blob_t **blobp);
static ngx_http_outage_blob_t *ngx_http_outage_banner_cached(
    ngx_http_request_t *r, ngx_http_outage_loc_conf_t *olcf,
    ngx_http_outage_snapshot_t *snap, ngx_http_outage_view_t *view);
static ngx_int_t ngx_http_outage_banner_once(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_view_t *view,
    ngx_str_t *nonce, ngx_str_t *out);
static void ngx_http_outage_banner_input(ngx_http_request_t *r,
    ngx_http_outage_banner_input_t *in, ngx_http_outage_view_t *view,
    ngx_str_t *nonce);
static size_t ngx_http_outage_banner_write(u_char *dst,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_banner_t *b,
    ngx_str_t *html, ngx_str_t *nonce);
static ngx_int_t ngx_http_outage_nocache(ngx_http_request_t *r);
static ngx_uint_t ngx_http_outage_cache_field(u_char *name, size_t len,
    u_char c);
static ngx_uint_t ngx_http_outage_view_rank(ngx_http_outage_view_t *view);
static u_char *ngx_http_outage_hex(u_char *p, uint64_t v);
static u_char *ngx_http_outage_dec(u_char *p, ngx_uint_t v);
static ngx_int_t ngx_http_outage_validators(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_view_t *view);
static ngx_int_t ngx_http_outage_scan_out(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_outage_send_held(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
static ngx_int_t ngx_http_outage_splice(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out);
static ngx_int_t ngx_http_outage_scan_file(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_outage_scan_capped(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_outage_scan_copied(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b);
static void ngx_http_outage_copy_reads(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
static void ngx_http_outage_copy_reads_done(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
static ngx_int_t ngx_http_outage_link(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_int_t ngx_http_outage_held(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, size_t from, size_t to,
    ngx_chain_t ***ll);
static ngx_buf_t *ngx_http_outage_banner_buf(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
static ngx_int_t ngx_http_outage_banner_link(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t ***ll);
static ngx_int_t ngx_http_outage_track(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *last, ngx_buf_t *orig);
static void ngx_http_outage_consume(ngx_buf_t *b);
static ngx_int_t ngx_http_outage_insert(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *cl, off_t off,
    ngx_chain_t ***ll);
static ngx_buf_t *ngx_http_outage_shadow(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b, off_t from, off_t to);
static ngx_buf_t *ngx_http_outage_mem(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, u_char *pos, u_char *last);
static ngx_buf_t *ngx_http_outage_buf(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
static void ngx_http_outage_release(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
#if (NGX_ZLIB)
static ngx_int_t ngx_http_outage_inflate_init(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
static ngx_int_t ngx_http_outage_inflate_filter(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_outage_inflated(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_outage_inflate(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t **out);
static ngx_int_t ngx_http_outage_zflags(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_buf_t *ngx_http_outage_zbuf(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx);
#endif


/* its context is the ngx_output_chain_ctx_t that reads files (aio) */
extern ngx_module_t  ngx_http_copy_filter_module;

static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_header_filter_pt  ngx_http_outage_304_next;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_outage_identity = ngx_string("identity");
static ngx_str_t  ngx_http_outage_marker = ngx_string(NGX_HTTP_OUTAGE_MARKER);

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

    *h = ngx_http_outage_conditional_handler;

    /* every response the header filter passes on, bannered or not */
    ngx_http_outage_304_next = ngx_http_top_header_filter;
    ngx_http_next_header_filter = ngx_http_outage_not_modified;
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
 * outage_banner_types: nginx's types list, and a warning for each type
 * the filter never puts a banner into whatever the list says (see
 * ngx_http_outage_type_class()): listing it has no effect.
 */

char *
ngx_http_outage_types_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char      lc[64];
    size_t      len;
    ngx_str_t  *value;
    ngx_uint_t  i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 1 && value[i].data[0] == '*') {
            continue;
        }

        len = value[i].len;

        if (len <= sizeof(lc)) {
            ngx_strlow(lc, value[i].data, len);
        }

        if (len > sizeof(lc)
            || ngx_http_outage_type_class(lc, len)
               == NGX_HTTP_OUTAGE_TYPE_NEVER)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"%V\" in \"outage_banner_types\" never gets "
                               "a banner: browsers do not render it as an "
                               "HTML page (only text/html, and a body of no "
                               "type that starts like HTML, get one)",
                               &value[i]);
        }
    }

    return ngx_http_types_slot(cf, cmd, conf);
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
 *   conditional headers are hidden from nginx's own checks, kept in the
 *   request's context; a response that gets the banner goes out as a 200,
 *   one that gets none (a download, an image, "outage_banner off" after a
 *   redirect...) is revalidated here after all, as nginx would have
 *   (ngx_http_outage_not_modified()).  Images, stylesheets, scripts, API
 *   calls and frames (Sec-Fetch-Dest other than "document") keep nginx's
 *   own 304s.  A bannered copy is not revalidated into the time after the
 *   incident: it is sent with no-store (outage_banner_nocache on) and a
 *   weak ETag.
 */

static ngx_int_t
ngx_http_outage_conditional_handler(ngx_http_request_t *r)
{
    ngx_http_outage_ctx_t       *octx;
    ngx_http_outage_loc_conf_t  *olcf;

    if (r != r->main
        || (r->headers_in.if_none_match == NULL
            && r->headers_in.if_modified_since == NULL))
    {
        return NGX_DECLINED;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (!olcf->banner
        || ngx_http_outage_worst(ngx_http_outage_snapshot(r),
                                 olcf->banner_scopes, 1)
           == NULL)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_outage_accept(r, ngx_http_outage_accepts_html)
        && !ngx_http_outage_not_document(r))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: banner due, conditional headers hidden");

        /* snapshot() made it: NULL only if its allocation failed */
        octx = ngx_http_outage_ctx(r, 1);
        if (octx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        octx->if_none_match = r->headers_in.if_none_match;
        octx->if_modified_since = r->headers_in.if_modified_since;

        r->headers_in.if_none_match = NULL;
        r->headers_in.if_modified_since = NULL;
    }

    return NGX_DECLINED;
}


/*
 * Every response the banner header filter passes on comes here.  If the
 * request's validators were hidden from nginx's not_modified filter and
 * the response got no banner (no X-Outage-Banner: this tier's, or an app
 * tier's whose banner is in the body), the request is revalidated as that
 * filter would have (same conditions, same rules: ngx_http_outage_cond.c)
 * and a 304 made the same way: nginx's header filter then sends the
 * header only, the static module sends no body, and the upstream module
 * discards the upstream's.  The same request without an incident gets
 * the same answer.  If-Match and If-Unmodified-Since were never hidden:
 * nginx has checked them.
 *
 * Differences that remain, all on the safe side (a 200 where nginx would
 * send a 304): a filter between nginx's check and this one that cleared
 * Last-Modified (sub_filter, ssi, addition) or replaced the ETag
 * (add_header ETag; W/ added by gzip, gunzip, charset is ignored by the
 * weak comparison); a body of no type, which is decided on its first
 * bytes, after the header has gone.
 */

static ngx_int_t
ngx_http_outage_not_modified(ngx_http_request_t *r)
{
    time_t                     ims;
    ngx_int_t                  mode;
    ngx_uint_t                 modified;
    ngx_table_elt_t           *inm, *ims_h, *etag;
    ngx_http_outage_ctx_t     *octx;
    ngx_http_core_loc_conf_t  *clcf;

    if (r != r->main) {
        return ngx_http_outage_304_next(r);
    }

    octx = ngx_http_get_module_ctx(r, ngx_http_outage_module);

    if (octx == NULL) {
        /*
         * never made, or zeroed by an internal redirect ("index",
         * error_page, try_files): then one walk of the pool's cleanups,
         * for a response that could become a 304 only
         */

        if (!r->internal
            || r->headers_out.status != NGX_HTTP_OK
            || r->disable_not_modified
            || r->headers_in.if_none_match
            || r->headers_in.if_modified_since)
        {
            return ngx_http_outage_304_next(r);
        }

        octx = ngx_http_outage_ctx(r, 0);
    }

    if (octx == NULL
        || (octx->if_none_match == NULL && octx->if_modified_since == NULL))
    {
        return ngx_http_outage_304_next(r);
    }

    inm = octx->if_none_match;
    ims_h = octx->if_modified_since;

    /* given back, once: any later reader sees the request as it came */
    octx->if_none_match = NULL;
    octx->if_modified_since = NULL;
    r->headers_in.if_none_match = inm;
    r->headers_in.if_modified_since = ims_h;

    if (r->headers_out.status != NGX_HTTP_OK
        || r->disable_not_modified
        || ngx_http_outage_header_list(&r->headers_out.headers,
                                       &ngx_http_outage_marker, NULL))
    {
        return ngx_http_outage_304_next(r);
    }

    /* nginx's order: If-Modified-Since, then If-None-Match, both must pass */

    if (ims_h) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        switch (clcf->if_modified_since) {
        case NGX_HTTP_IMS_OFF:
            mode = NGX_HTTP_OUTAGE_IMS_OFF;
            break;
        case NGX_HTTP_IMS_EXACT:
            mode = NGX_HTTP_OUTAGE_IMS_EXACT;
            break;
        default: /* NGX_HTTP_IMS_BEFORE */
            mode = NGX_HTTP_OUTAGE_IMS_BEFORE;
        }

        ims = ngx_parse_http_time(ims_h->value.data, ims_h->value.len);

        modified = ngx_http_outage_cond_modified(
                       ims, r->headers_out.last_modified_time, (int) mode);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no banner, ims:%T lm:%T modified:%ui",
                       ims, r->headers_out.last_modified_time, modified);

        if (modified) {
            return ngx_http_outage_304_next(r);
        }
    }

    if (inm) {
        etag = r->headers_out.etag;

        if (etag && etag->hash == 0) {
            etag = NULL;
        }

        if (!ngx_http_outage_cond_etag(inm->value.data, inm->value.len,
                                       etag ? etag->value.data : NULL,
                                       etag ? etag->value.len : 0))
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "outage: no banner, \"%V\" does not match",
                           &inm->value);
            return ngx_http_outage_304_next(r);
        }
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: no banner, not modified");

    r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_type.len = 0;
    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);

    if (r->headers_out.content_encoding) {
        r->headers_out.content_encoding->hash = 0;
        r->headers_out.content_encoding = NULL;
    }

    return ngx_http_outage_304_next(r);
}


/*
 * Whether nginx's gzip filter may compress this response: the client's
 * side of it (Accept-Encoding, gzip_http_version, gzip_proxied,
 * gzip_disable), as that filter asks; its own "gzip" switch is not visible
 * to other modules, so "on" is assumed.
 */

static ngx_uint_t
ngx_http_outage_may_gzip(ngx_http_request_t *r)
{
#if (NGX_HTTP_GZIP)
    return ngx_http_gzip_ok(r) == NGX_OK;
#else
    return 0;
#endif
}


/*
 * The WHATWG Encoding Standard's labels of UTF-8, matched as browsers
 * match them (ASCII case-insensitive, surrounding whitespace ignored).
 */

static unsigned
ngx_http_outage_utf8_label(u_char *p, size_t len)
{
    ngx_uint_t  i;

    static ngx_str_t  labels[] = {
        ngx_string("unicode-1-1-utf-8"),
        ngx_string("unicode11utf8"),
        ngx_string("unicode20utf8"),
        ngx_string("utf-8"),
        ngx_string("utf8"),
        ngx_string("x-unicode20utf8")
    };

    while (len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f'
                   || *p == '\r'))
    {
        p++;
        len--;
    }

    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'
                   || p[len - 1] == '\n' || p[len - 1] == '\f'
                   || p[len - 1] == '\r'))
    {
        len--;
    }

    for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (len == labels[i].len
            && ngx_strncasecmp(p, labels[i].data, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_outage_header_filter(ngx_http_request_t *r)
{
    u_char                         type[64];
    size_t                         tlen;
    ngx_int_t                      rc;
    ngx_str_t                      banner[2], cs;
    const u_char                  *csp;
    ngx_uint_t                     gzipped, sniff;
    ngx_table_elt_t               *ce;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_view_t        *view;
    ngx_http_outage_snapshot_t    *snap;
    ngx_http_outage_blob_t        *blob;
    ngx_http_outage_loc_conf_t    *olcf;
    ngx_http_outage_filter_ctx_t  *ctx;
    ngx_http_outage_ctx_t         *octx;
    ngx_http_outage_resp_t         rh;

    ctx = NULL;
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    /*
     * HEAD gets the headers GET would get, without the body work.
     *
     * With "slice" (r->subrequest_ranges) each slice subrequest answers
     * the client's Range itself, after this filter has decided for the
     * main request: a range request passes as without the module, no
     * whole page can be made of it.  Without Range the slices reach this
     * filter in order, as the main request (it runs below postpone).
     */

    if (olcf->banner
        && r == r->main
        && r->headers_out.status == NGX_HTTP_NOT_MODIFIED
        && r->method != NGX_HTTP_HEAD
        && ngx_http_outage_worst(ngx_http_outage_snapshot(r),
                                 olcf->banner_scopes, 1)
        && ngx_http_outage_type_304(r, olcf))
    {
        /* a kept 304 (not a page load) validates a copy that varies */
        if (ngx_http_outage_vary(r, NULL) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (!olcf->banner
        || r != r->main
        || (r->header_only && r->method != NGX_HTTP_HEAD)
        || r->headers_out.content_length_n == 0
        || (r->subrequest_ranges && r->headers_in.range)
        || ngx_http_outage_status_wanted(r, olcf) != NGX_OK)
    {
        return ngx_http_next_header_filter(r);
    }

    /* the incident first: without one the type lookup is not needed */
    snap = ngx_http_outage_snapshot(r);
    view = ngx_http_outage_worst(snap, olcf->banner_scopes, 1);

    if (view == NULL) {
        return ngx_http_next_header_filter(r);
    }

    tlen = ngx_http_outage_content_type(r->headers_out.content_type.data,
                                        r->headers_out.content_type.len,
                                        type, sizeof(type), &csp, &cs.len);
    cs.data = (u_char *) csp;

    if (!ngx_http_outage_type_listed(olcf, type, tlen)) {
        return ngx_http_next_header_filter(r);
    }

    /*
     * Sec-Fetch-Dest decides from here on: a cache must neither give the
     * copy without a banner an <iframe> or a fetch() got to a page load,
     * nor the bannered copy to them.  "rh" is read here for every later
     * check of the header filter.
     */

    ngx_http_outage_resp_headers(r, view, &rh, 0);

    if (ngx_http_outage_vary(r, &rh) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_outage_html_wanted(r, type, tlen, &cs, view, &rh, &sniff)
        != NGX_OK)
    {
        return ngx_http_next_header_filter(r);
    }

    /*
     * two tiers: the tier behind this one has put its banner in already,
     * for this scope and an incident at least as severe as ours
     */

    if (rh.covered) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: the response has a banner already");
        return ngx_http_next_header_filter(r);
    }

    /*
     * A gzip body is inflated here (nginx's gzip, after this filter,
     * compresses again where the client and "gzip" allow); other
     * encodings (br, zstd...) pass untouched, counted.
     */

    gzipped = 0;
    ce = r->headers_out.content_encoding;

    if (ce && ce->hash && ce->value.len
        && !(ce->value.len == ngx_http_outage_identity.len
             && ngx_strncasecmp(ce->value.data, ngx_http_outage_identity.data,
                                ce->value.len)
                == 0))
    {
#if (NGX_ZLIB)
        if ((ce->value.len == 4
             && ngx_strncasecmp(ce->value.data, (u_char *) "gzip", 4) == 0)
            || (ce->value.len == 6
                && ngx_strncasecmp(ce->value.data, (u_char *) "x-gzip", 6)
                   == 0))
        {
            gzipped = 1;

        } else
#endif
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "outage: no banner in a \"%V\" encoded body",
                           &ce->value);

            shm = ngx_http_outage_shm();
            if (shm && !r->header_only && r->method != NGX_HTTP_HEAD) {
                (void) ngx_atomic_fetch_add(&shm->banner_skips, 1);
            }

            return ngx_http_next_header_filter(r);
        }
    }

    if (ngx_http_outage_banner_build(r, olcf, snap, view, banner, &blob)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (banner[1].len == 0) {
        return ngx_http_next_header_filter(r);
    }

    if (!r->header_only) {
        ctx = ngx_palloc(r->pool, sizeof(ngx_http_outage_filter_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(ctx, offsetof(ngx_http_outage_filter_ctx_t, link));

        if (blob) {
            /* sent from the worker's rendering: kept until the pool goes */
            ngx_http_outage_cache_hold_in(r, blob, &ctx->cln);
        }

        ngx_http_outage_scan_init(&ctx->scan);

        /*
         * Served as UTF-8: no ISO-2022-JP escapes to look for (scan.h).
         * nginx's own charset counts only when the header filter will
         * append it: a Content-Type it takes whole (a charset inside a
         * quoted parameter, say) reaches the browser without one.
         */
        if (cs.len) {
            ctx->scan.utf8 = ngx_http_outage_utf8_label(cs.data, cs.len);

        } else if (r->headers_out.content_type_len
                   == r->headers_out.content_type.len)
        {
            ctx->scan.utf8 = ngx_http_outage_utf8_label(
                                 r->headers_out.charset.data,
                                 r->headers_out.charset.len);
        }

        ctx->banner[0] = banner[0];
        ctx->banner[1] = banner[1];

        /*
         * An identity body of known length keeps one: the header waits
         * for the first body buffers to decide the banner's place (see
         * ngx_http_outage_send_held()).  Not held:
         *
         * - a gzip body, or one nginx's gzip filter may compress (it drops
         *   the length anyway): that filter's header filter, below this
         *   one, asks the copy filter for bytes in memory, which the copy
         *   filter reads only if asked before its first body call, so a
         *   held header would leave gzip with file buffers it skips (a
         *   truncated page with sendfile);
         * - HTTP/2 and HTTP/3, whose HEADERS frame nginx sends at once:
         *   holding it would delay a slow page's first byte.
         */
        ctx->hold = (!gzipped && r->headers_out.content_length_n > 0
                     && r->method != NGX_HTTP_HEAD
                     && r->http_version < NGX_HTTP_VERSION_20
                     && !ngx_http_outage_may_gzip(r));

        /* charset's single-byte recoding (see ngx_http_outage_banner_buf) */
        ctx->copy_banner = r->filter_need_temporary;

        if (sniff) {
            ctx->sniff = 1;
            ngx_http_outage_sniff_init(&ctx->sn);
            r->filter_need_in_memory = 1;
        }

#if (NGX_ZLIB)
        if (gzipped && ngx_http_outage_inflate_init(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
#endif

        octx = ngx_http_outage_ctx(r, 1);
        if (octx == NULL) {
            return NGX_ERROR;
        }

        octx->banner = ctx;
    }

    if (gzipped) {
        ce->hash = 0;
        r->headers_out.content_encoding = NULL;
    }

    if (ctx == NULL || !ctx->hold) {
        /*
         * gzip, no length to keep, or HEAD: no body tells whether the
         * page has a place, and RFC 9110 9.3.2 lets HEAD omit the length
         */
        ngx_http_clear_content_length(r);
    }

    ngx_http_clear_accept_ranges(r);

    /*
     * an upstream's marker that did not cover this banner gives way to
     * ours, its caching headers to no-store
     */
    rh.cache = rh.cache && olcf->banner_nocache;
    ngx_http_outage_resp_headers(r, view, &rh, 1);

    if (ngx_http_outage_validators(r, olcf, view) != NGX_OK) {
        return NGX_ERROR;
    }

    if (olcf->banner_nocache && ngx_http_outage_nocache(r) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: banner for scope \"%V\", %uz bytes",
                   &view->name, banner[0].len + banner[1].len);

    if (r->header_only) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx->hold) {
        /*
         * held: "sent" for nginx, so that a second header (an error page
         * after the upstream failed) is refused as it would be without
         * the module
         */
        r->header_sent = 1;
        ngx_http_outage_copy_reads(r, ctx);

        return NGX_OK;
    }

    rc = ngx_http_next_header_filter(r);

    ngx_http_outage_copy_reads(r, ctx);

    return rc;
}


/*
 * nginx's not_modified filter, before this one, zeroed the length of the
 * type of a 304 but left its data and content_type_len (the type without
 * parameters): the type the 200 would have had
 */

static ngx_uint_t
ngx_http_outage_type_304(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf)
{
    u_char  type[64];
    size_t  len;

    /* the not_modified filter has set content_type.len to 0 */

    if (r->headers_out.content_type.data == NULL) {
        return 0;
    }

    len = ngx_http_outage_type_essence(r->headers_out.content_type.data,
                                       r->headers_out.content_type_len,
                                       type, sizeof(type));

    if (len == 0) {
        return 0;
    }

    return ngx_http_outage_type_listed(olcf, type, len);
}


/*
 * outage_banner_types is looked up with the type a browser reads ("type"
 * from ngx_http_outage_type_essence()): nginx's own lookup
 * (ngx_http_test_content_type) takes "text/html;level=1" or "text/html ;
 * charset=utf-8" whole and misses them.  As there, no type ("len" 0) is
 * listed only by "*".
 */

static ngx_uint_t
ngx_http_outage_type_listed(ngx_http_outage_loc_conf_t *olcf, u_char *type,
    size_t len)
{
    if (olcf->banner_types.size == 0) {
        return 1;
    }

    if (len == 0 || len == (size_t) -1) {
        return 0;
    }

    if (len == sizeof("text/html") - 1
        && ngx_memcmp(type, "text/html", sizeof("text/html") - 1) == 0)
    {
        return olcf->banner_types_html;
    }

    return ngx_hash_find(&olcf->banner_types, ngx_hash_key(type, len), type,
                         len)
           != NULL;
}


/* a response header of ours named "key"; the caller sets its value */

static ngx_table_elt_t *
ngx_http_outage_push_header(ngx_http_request_t *r, char *key, size_t len)
{
    return ngx_http_outage_header_push(r, key, len, NULL, 0);
}


/*
 * "Vary: Sec-Fetch-Dest", unless a Vary header lists it already (or "*"):
 * a tier behind this one that runs the module, or the application itself.
 * rh: the walk of the headers made already, or NULL (a kept 304).
 */

static ngx_int_t
ngx_http_outage_vary(ngx_http_request_t *r, ngx_http_outage_resp_t *rh)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (rh) {
        if (rh->varied) {
            return NGX_OK;
        }

    } else {
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

            if (h[i].hash && h[i].key.len == sizeof("Vary") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Vary",
                                   sizeof("Vary") - 1) == 0
                && ngx_http_outage_vary_lists(h[i].value.data,
                                              h[i].value.len,
                                              "Sec-Fetch-Dest",
                                              sizeof("Sec-Fetch-Dest") - 1))
            {
                return NGX_OK;
            }
        }
    }

    h = ngx_http_outage_push_header(r, "Vary", sizeof("Vary") - 1);
    if (h == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&h->value, "Sec-Fetch-Dest");

    return NGX_OK;
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
 * Whatever outage_banner_types says, a banner goes only into what a
 * browser renders as a page, and only when it loads it as one:
 *
 * - Sec-Fetch-Dest (sent by current browsers) other than "document":
 *   fetch()/XHR (an API that left the default text/html, an htmx or Turbo
 *   fragment), an <iframe> (the page around it has the banner), an
 *   <embed>...  Without the header (older browsers, other clients) the
 *   response decides alone.
 * - The type: only text/html is a page; a response of no type (or
 *   "application/unknown"...) is one if its body starts like HTML (WHATWG
 *   MIME Sniffing), *sniff is then set, unless nosniff forbids that; any
 *   other type is never sniffed by a browser (see ngx_http_outage_sniff.c).
 * - Content-Disposition other than "inline": the response is saved as a
 *   file, which must stay as the server has it.
 * - Charsets an ASCII banner cannot go into (UTF-16, UTF-32, ISO-2022...).
 */

static ngx_int_t
ngx_http_outage_html_wanted(ngx_http_request_t *r, u_char *type, size_t len,
    ngx_str_t *charset, ngx_http_outage_view_t *view,
    ngx_http_outage_resp_t *rh, ngx_uint_t *sniff)
{
    ngx_int_t               cls;
    ngx_str_t               cs;
    ngx_http_outage_shm_t  *shm;

    if (ngx_http_outage_not_document(r)) {
        return NGX_DECLINED;
    }

    /* a type too long for a page type (see the header filter) is none */

    cls = (len == (size_t) -1) ? NGX_HTTP_OUTAGE_TYPE_NEVER
                               : ngx_http_outage_type_class(type, len);

    /*
     * nginx's charset (the "charset" directive's, or an upstream's from its
     * first "; charset=" to the end of the value) and the one a browser
     * reads (that of the last type of a comma list, "charset" from the
     * parse of the type) must both be ASCII
     */

    cs = *charset;

    if (cs.data == NULL || cs.len == 0) {
        cs = r->headers_out.charset;

    } else if (r->headers_out.charset.len
               && !ngx_http_outage_utf8_label(r->headers_out.charset.data,
                                              r->headers_out.charset.len)
               && !ngx_http_outage_charset_ascii(r->headers_out.charset.data,
                                                 r->headers_out.charset.len))
    {
        cls = NGX_HTTP_OUTAGE_TYPE_NEVER;
    }

    /* no charset and utf-8, the usual cases, without the table's walk */

    if (cls == NGX_HTTP_OUTAGE_TYPE_NEVER
        || (cs.len != 0
            && !ngx_http_outage_utf8_label(cs.data, cs.len)
            && !ngx_http_outage_charset_ascii(cs.data, cs.len))
        || ngx_http_outage_not_rendered(r, view, rh,
                                        cls == NGX_HTTP_OUTAGE_TYPE_SNIFF))
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no banner in \"%*s\"",
                       r->headers_out.content_type.len,
                       r->headers_out.content_type.data);

        shm = ngx_http_outage_shm();
        if (shm && !r->header_only && r->method != NGX_HTTP_HEAD) {
            (void) ngx_atomic_fetch_add(&shm->banner_skips, 1);
        }

        return NGX_DECLINED;
    }

    *sniff = (cls == NGX_HTTP_OUTAGE_TYPE_SNIFF);

    return NGX_OK;
}


/*
 * The response headers say a browser does not render it as a page: a
 * download (Content-Disposition), another Content-Type header that is not
 * text/html (add_header Content-Type text/plain over default_type
 * text/html: browsers take the last one), or, for a body that needs
 * sniffing, "X-Content-Type-Options: nosniff".  This filter runs below
 * ngx_http_headers_filter_module (add_header, expires): their headers are
 * in headers_out already; the filters below it add none of these.
 */

static ngx_uint_t
ngx_http_outage_not_rendered(ngx_http_request_t *r,
    ngx_http_outage_view_t *view, ngx_http_outage_resp_t *rh,
    ngx_uint_t sniff)
{
    if (rh->not_html) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no banner: another Content-Type header "
                       "is not text/html");
        return 1;
    }

    if (rh->download) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no banner in a download "
                       "(Content-Disposition)");
        return 1;
    }

    if (sniff && rh->nosniff) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no banner: no type and nosniff");
        return 1;
    }

    return 0;
}


/*
 * The fields a cache reads its lifetime from: Cache-Control and Expires,
 * and those a CDN or a front nginx reads instead of them, so that a
 * "no-store" alone would not stop them keeping the banner after the
 * incident: CDN-Cache-Control and its targeted "<cdn>-CDN-Cache-Control"
 * forms (RFC 9213), Surrogate-Control, Edge-Control and
 * Akamai-Cache-Control, and X-Accel-Expires (a front nginx's
 * proxy_cache).  c is the name's first letter, lowered.
 */

static ngx_uint_t
ngx_http_outage_cache_field(u_char *name, size_t len, u_char c)
{
    ngx_uint_t  i;

    static ngx_str_t  fields[] = {
        ngx_string("cache-control"),
        ngx_string("expires"),
        ngx_string("surrogate-control"),
        ngx_string("edge-control"),
        ngx_string("x-accel-expires"),
        ngx_string("akamai-cache-control")
    };
    static ngx_str_t  cdn = ngx_string("-cdn-cache-control");

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (len == fields[i].len && c == fields[i].data[0]
            && ngx_strncasecmp(name, fields[i].data, len) == 0)
        {
            return 1;
        }
    }

    /* "CDN-Cache-Control" itself, or a targeted one: "...-CDN-Cache-Control" */
    if (len >= cdn.len - 1
        && ngx_strncasecmp(name + len - (cdn.len - 1), cdn.data + 1,
                           cdn.len - 1) == 0)
    {
        return len == cdn.len - 1 || name[len - cdn.len] == '-';
    }

    return 0;
}


/*
 * One walk over the response headers in the list for every check that
 * reads them: other Content-Type lines, Content-Disposition,
 * X-Content-Type-Options, the two-tier marker (whether one covers
 * "view"), a Vary that lists Sec-Fetch-Dest already, and whether there is
 * anything for the banner's own headers to replace.  Headers a filter cleared (hash 0) are not sent, so not read.
 * The names differ in length, or in their first letter from the other
 * names of their length (Last-Modified, Accept-Ranges): one comparison
 * per header at most, usually none.
 *
 * With "clear", before the banner's own headers go in, the walk removes
 * instead what rh->marker and rh->cache ask for: every marker of an
 * upstream (none covered this banner) and every caching field
 * (outage_banner_nocache); it is not made when neither is there.
 */

static void
ngx_http_outage_resp_headers(ngx_http_request_t *r,
    ngx_http_outage_view_t *view, ngx_http_outage_resp_t *rh,
    ngx_uint_t clear)
{
    u_char           *name, c;
    ngx_uint_t        i, rank;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (!clear) {
        ngx_memzero(rh, sizeof(ngx_http_outage_resp_t));

    } else if (!rh->marker && !rh->cache) {
        return;
    }

    rank = ngx_http_outage_view_rank(view);

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        name = h[i].key.data;
        c = (u_char) (h[i].key.len ? name[0] | 0x20 : 0);

        if (ngx_http_outage_cache_field(name, h[i].key.len, c)) {
            if (!clear) {
                rh->cache = 1;

            } else if (rh->cache) {
                /* outage_banner_nocache: else the walk is for the marker */
                h[i].hash = 0;
            }

            continue;
        }

        switch (h[i].key.len) {

        case sizeof("Content-Type") - 1:
            if (!clear && c == 'c'
                && ngx_strncasecmp(name, (u_char *) "Content-Type",
                                   sizeof("Content-Type") - 1) == 0
                && ngx_http_outage_not_html(h[i].value.data, h[i].value.len))
            {
                rh->not_html = 1;
            }

            break;

        case sizeof("Content-Disposition") - 1:
            if (!clear && c == 'c'
                && ngx_strncasecmp(name, (u_char *) "Content-Disposition",
                                   sizeof("Content-Disposition") - 1) == 0
                && ngx_http_outage_disposition_download(h[i].value.data,
                                                        h[i].value.len))
            {
                rh->download = 1;
            }

            break;

        case sizeof("X-Content-Type-Options") - 1:
            if (!clear && c == 'x'
                && ngx_strncasecmp(name, (u_char *) "X-Content-Type-Options",
                                   sizeof("X-Content-Type-Options") - 1) == 0
                && ngx_http_outage_nosniff(h[i].value.data, h[i].value.len))
            {
                rh->nosniff = 1;
            }

            break;


        case sizeof("Vary") - 1:
            if (!clear && c == 'v'
                && ngx_strncasecmp(name, (u_char *) "Vary",
                                   sizeof("Vary") - 1) == 0
                && ngx_http_outage_vary_lists(h[i].value.data,
                                              h[i].value.len,
                                              "Sec-Fetch-Dest",
                                              sizeof("Sec-Fetch-Dest") - 1))
            {
                rh->varied = 1;
            }

            break;

        case sizeof(NGX_HTTP_OUTAGE_MARKER) - 1:

            /*
             * The marker a bannered response carries, so that a front
             * tier running the module too does not add a second banner
             * into the page of an app tier: "X-Outage-Banner: <scope>;
             * state=<state>" (ngx_http_outage_banner.h).  It counts only
             * when it names the scope this tier would show and a state at
             * least as severe: an app tier's banner about a minor scope
             * does not hide the front's about a site-wide outage, and an
             * upstream's header of any other shape (a value of older
             * versions too) is not taken for one.
             */

            if ((clear && !rh->marker)
                || c != 'x'
                || ngx_strncasecmp(name, (u_char *) NGX_HTTP_OUTAGE_MARKER,
                                   sizeof(NGX_HTTP_OUTAGE_MARKER) - 1) != 0)
            {
                break;
            }

            if (clear) {
                h[i].hash = 0;
                break;
            }

            rh->marker = 1;

            if (ngx_http_outage_marker_rank(h[i].value.data, h[i].value.len,
                                            view->name.data, view->name.len)
                >= rank)
            {
                rh->covered = 1;
                break;
            }

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "outage: \"%V: %V\" does not cover this tier's "
                           "banner", &h[i].key, &h[i].value);
            break;

        default:
            break;
        }
    }
}


/* Sec-Fetch-Dest is there and says the response is not loaded as a page */

static int
ngx_http_outage_dest_not_document(const unsigned char *p, size_t len)
{
    return !(len == sizeof("document") - 1
             && ngx_strncasecmp((u_char *) p, (u_char *) "document",
                                sizeof("document") - 1)
                == 0);
}


static ngx_uint_t
ngx_http_outage_not_document(ngx_http_request_t *r)
{
    static ngx_str_t  dest = ngx_string("Sec-Fetch-Dest");

    if (ngx_http_outage_header_in(r, &dest,
                                  ngx_http_outage_dest_not_document))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no banner: not a page load "
                       "(Sec-Fetch-Dest)");
        return 1;
    }

    return 0;
}


/*
 * A body of no type gets a banner only if it starts like HTML; decided on
 * the first bytes of the body that come, and, when they are too few to
 * tell, "no": no banner is the safe side.
 */

static void
ngx_http_outage_sniff_body(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in)
{
    int                     rc;
    ngx_buf_t              *b;
    ngx_uint_t              fed;
    ngx_chain_t            *cl;
    ngx_http_outage_shm_t  *shm;

    rc = NGX_HTTP_OUTAGE_SNIFF_MORE;
    fed = 0;

    for (cl = in; cl && rc == NGX_HTTP_OUTAGE_SNIFF_MORE; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b) && b->last > b->pos) {
            fed = 1;
            rc = ngx_http_outage_sniff_feed(&ctx->sn, b->pos,
                                            b->last - b->pos);
        }

        if (rc == NGX_HTTP_OUTAGE_SNIFF_MORE && b->last_buf) {
            rc = ngx_http_outage_sniff_finish(&ctx->sn);
        }
    }

    if (rc == NGX_HTTP_OUTAGE_SNIFF_MORE && !fed) {
        return;
    }

    ctx->sniff = 0;

    if (rc == NGX_HTTP_OUTAGE_SNIFF_HTML) {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: no banner: the body does not start like HTML");

    ctx->done = 1;

    shm = ngx_http_outage_shm();
    if (shm) {
        (void) ngx_atomic_fetch_add(&shm->banner_skips, 1);
    }
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
    ngx_http_outage_view_t *view, ngx_str_t *out,
    ngx_http_outage_blob_t **blobp)
{
    u_char                  *p;
    size_t                   n;
    ngx_str_t                nonce;
    ngx_http_outage_blob_t  *blob;

    ngx_str_null(&out[0]);
    ngx_str_null(&out[1]);
    ngx_str_null(&nonce);
    *blobp = NULL;

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

    /* held by the caller, with its state, for a response with a body */
    *blobp = blob;

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

    ngx_http_outage_banner_input(r, &in, view, NULL);

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
        ngx_http_outage_banner_input(r, &in, view, nonce);
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
ngx_http_outage_banner_input(ngx_http_request_t *r,
    ngx_http_outage_banner_input_t *in, ngx_http_outage_view_t *view,
    ngx_str_t *nonce)
{
    ngx_str_t                     link;
    ngx_http_outage_main_conf_t  *omcf;

    ngx_memzero(in, sizeof(ngx_http_outage_banner_input_t));

    /* outage_time_zone; a Redis link wins over the status page's */
    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);
    in->tz = omcf->tz;
    in->tz_name.data = omcf->tz_name.data;
    in->tz_name.len = omcf->tz_name.len;
    ngx_http_outage_status_link(r, &link);

    in->state = (int) view->state;
    in->announced = view->announced;
    in->since = view->since;
    in->eta = view->eta;
    in->starts = view->starts;
    in->checked = ngx_http_outage_view_checked(ngx_http_outage_snapshot(r),
                                               view);
    in->scope.data = view->name.data;
    in->scope.len = view->name.len;
    in->message.data = view->message.data;
    in->message.len = view->message.len;
    in->eta_text.data = view->eta_text.data;
    in->eta_text.len = view->eta_text.len;
    in->link.data = view->link.len ? view->link.data : link.data;
    in->link.len = view->link.len ? view->link.len : link.len;

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
 * "Cache-Control: no-store" replaces what the response had, so that no
 * cache keeps the banner after the incident.  It is deliberately not made
 * r->headers_out.cache_control: "expires" and "add_header Cache-Control"
 * run in a later header filter and would overwrite that one; this way they
 * only add their header next to it, and no-store still wins in any cache.
 */

/* as ngx_http_outage_worst() ranks it */

static ngx_uint_t
ngx_http_outage_view_rank(ngx_http_outage_view_t *view)
{
    return view->announced ? 1 : ngx_http_outage_state_rank(view->state);
}


/* lowercase hex without leading zeros, as ngx_sprintf("%xT") writes it */

static u_char *
ngx_http_outage_hex(u_char *p, uint64_t v)
{
    u_char   buf[16], *q;

    static const u_char  hex[] = "0123456789abcdef";

    q = buf + sizeof(buf);

    do {
        *--q = hex[v & 0xf];
        v >>= 4;
    } while (v);

    return ngx_cpymem(p, q, buf + sizeof(buf) - q);
}


/* decimal, as ngx_sprintf("%ui") writes it */

static u_char *
ngx_http_outage_dec(u_char *p, ngx_uint_t v)
{
    u_char   buf[NGX_INT_T_LEN], *q;

    q = buf + sizeof(buf);

    do {
        *--q = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);

    return ngx_cpymem(p, q, buf + sizeof(buf) - q);
}


/*
 * Validators of a bannered copy must never match the page after the
 * incident (or in a later one): the ETag becomes weak and names the
 * incident (its scope's start time and state), and a kept Last-Modified
 * is one second older than the page's, which a server comparing
 * If-Modified-Since exactly or with ">=" (nginx, most frameworks) answers
 * with the full page.  The response is also marked for a front tier.
 */

static ngx_int_t
ngx_http_outage_validators(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_view_t *view)
{
    u_char           *p, *mem;
    size_t            len, elen, mlen;
    const char       *state;
    ngx_uint_t        weak, suffix;
    ngx_table_elt_t  *h, *etag;

    /*
     * The ETag as ngx_http_weak_etag() makes it weak, and the marker's
     * value, from one allocation: every bannered response
     */

    state = ngx_http_outage_marker_state(ngx_http_outage_view_rank(view));
    if (state == NULL) {
        /* worst() returns ranked scopes only */
        state = "down";
    }

    /* the snapshot may be gone when the access log reads it */
    mlen = view->name.len + sizeof(NGX_HTTP_OUTAGE_MARKER_STATE) - 1
           + ngx_strlen(state);

    etag = r->headers_out.etag;
    weak = 0;
    suffix = 0;
    elen = 0;

    if (etag) {
        weak = (etag->value.len > 2
                && etag->value.data[0] == 'W' && etag->value.data[1] == '/');

        if (!weak
            && (etag->value.len < 1 || etag->value.data[0] != '"'))
        {
            etag->hash = 0;
            r->headers_out.etag = NULL;
            etag = NULL;

        } else {
            elen = etag->value.len + (weak ? 0 : 2);

            /* of the weak form: more than W/"" and closed by a quote */
            suffix = (etag->hash && elen > 3
                      && etag->value.data[etag->value.len - 1] == '"');

            if (suffix) {
                elen += sizeof("-outage-") - 1 + NGX_TIME_T_LEN
                        + NGX_INT_T_LEN;

            } else if (weak) {
                elen = 0;
            }
        }
    }

    mem = ngx_pnalloc(r->pool, elen + mlen);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    if (elen) {
        p = mem;

        if (!weak) {
            *p++ = 'W';
            *p++ = '/';
        }

        if (suffix) {
            /*
             * "%*s-outage-%xT-%ui\"" without ngx_sprintf(); the "-" keeps
             * two incidents apart ("abc" + "12", "abc1" + "2")
             */

            p = ngx_cpymem(p, etag->value.data, etag->value.len - 1);
            p = ngx_cpymem(p, "-outage-", sizeof("-outage-") - 1);
            p = ngx_http_outage_hex(p, (uint64_t) view->since);
            *p++ = '-';
            p = ngx_http_outage_dec(p, view->state);
            *p++ = '"';

        } else {
            p = ngx_cpymem(p, etag->value.data, etag->value.len);
        }

        etag->value.len = p - mem;
        etag->value.data = mem;
        mem += elen;
    }

    if (!olcf->banner_last_modified
        || r->headers_out.last_modified_time <= 0)
    {
        ngx_http_clear_last_modified(r);

    } else {
        r->headers_out.last_modified_time--;

        if (r->headers_out.last_modified) {
            /* the header filter formats it again from the time */
            r->headers_out.last_modified->hash = 0;
            r->headers_out.last_modified = NULL;
        }
    }

    h = ngx_http_outage_push_header(r, NGX_HTTP_OUTAGE_MARKER,
                                    sizeof(NGX_HTTP_OUTAGE_MARKER) - 1);
    if (h == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(mem, view->name.data, view->name.len);
    p = ngx_cpymem(p, NGX_HTTP_OUTAGE_MARKER_STATE,
                   sizeof(NGX_HTTP_OUTAGE_MARKER_STATE) - 1);
    len = mlen - (p - mem);
    ngx_memcpy(p, state, len);

    h->value.data = mem;
    h->value.len = mlen;

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_nocache(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    /* those in the list are gone already (ngx_http_outage_resp_headers()) */

    r->headers_out.expires = NULL;

#if (nginx_version >= 1023000)
    r->headers_out.cache_control = NULL;
#else
    ngx_memzero(&r->headers_out.cache_control, sizeof(ngx_array_t));
#endif

    h = ngx_http_outage_push_header(r, "Cache-Control",
                                    sizeof("Cache-Control") - 1);
    if (h == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&h->value, "no-store");

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_outage_filter_ctx_t  *ctx;

    ctx = ngx_http_outage_banner_ctx(r);

    if (ctx == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

#if (NGX_ZLIB)
    if (ctx->inflate) {
        return ngx_http_outage_inflate_filter(r, ctx, in);
    }
#endif

    if (ctx->done && ctx->busy == NULL && !ctx->hold) {
        return ngx_http_next_body_filter(r, in);
    }

    return ngx_http_outage_scan_out(r, ctx, in);
}


/* "in" (the body, or what was inflated of it) through the scanner and on */

static ngx_int_t
ngx_http_outage_scan_out(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_int_t     rc;
    ngx_chain_t  *out;

    out = in;

    if (ctx->sniff && in) {
        ngx_http_outage_sniff_body(r, ctx, in);
    }

    if (!ctx->done && in) {
        if (ngx_http_outage_splice(r, ctx, in, &out) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->hold && ngx_http_outage_send_held(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * all of "in" held back: below postpone an empty call would reach the
     * write filter ("the http output chain is empty"); only a connection
     * with buffered output is asked to go on, as postpone does
     */
    if (out == NULL && !r->connection->buffered) {
        rc = NGX_OK;

    } else {
        rc = ngx_http_next_body_filter(r, out);
    }

    ngx_http_outage_release(r, ctx);

    return rc;
}


/*
 * The header held by the header filter goes out in the first body call,
 * whatever it brings, before its buffers: with the length the body has
 * now when the scanner (or the sniffer) decided on these bytes (the
 * banner's added, or unchanged without a banner), and without one
 * (chunked, as a body that changes length) when it could not.  It never
 * waits for more input: a slow upstream, "proxy_buffering off" (every
 * read is a call), or one that fails before its first byte (nginx's flush
 * before closing is a call) see the header when they would without the
 * module, give or take the wait for the first body bytes.  Nothing is
 * buffered for it.
 */

static ngx_int_t
ngx_http_outage_send_held(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->hold = 0;
    r->header_sent = 0;

    if (!ctx->done) {
        ngx_http_clear_content_length(r);

    } else if (ctx->added) {
        r->headers_out.content_length_n += ctx->added;

        /* the header filter writes it from content_length_n */
        if (r->headers_out.content_length) {
            r->headers_out.content_length->hash = 0;
            r->headers_out.content_length = NULL;
        }
    }

    if (ctx->copy_reads) {
        /* as it was before we asked: what the next filters want counts */
        r->main_filter_need_in_memory = ctx->copy_main;
    }

    rc = ngx_http_next_header_filter(r);

    if (ctx->copy_reads) {
        ngx_http_outage_copy_reads(r, ctx);

        if (ctx->done) {
            ngx_http_outage_copy_reads_done(r, ctx);
        }
    }

    /* as nginx's image filter does after holding the header */
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Feeds the buffers of "in" to the scanner until it decides; *out is a
 * new chain standing for "in" with the bytes the scanner holds back taken
 * out (they follow in a later call, from a copy) and, at the decision,
 * the banner spliced in.  The caller's links are never modified.
 */

static ngx_int_t
ngx_http_outage_splice(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out)
{
    int                     rc;
    off_t                   size, start, keep, hit;
    size_t                  nheld;
    ngx_buf_t              *b, *sh;
    ngx_chain_t            *cl, *head, **ll;
    ngx_http_outage_shm_t  *shm;

    ll = &head;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ctx->done) {
            if (ngx_http_outage_link(r, ctx, b, &ll) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        size = ngx_buf_size(b);
        start = ctx->offset;
        nheld = ctx->nheld;

        if (size == 0) {
            rc = NGX_HTTP_OUTAGE_SCAN_MORE;

        } else if (ctx->copy_reads && b->in_file && ngx_buf_in_memory(b)) {
            rc = ngx_http_outage_scan_copied(r, ctx, b);

        } else if (ngx_buf_in_memory(b)) {
            rc = ngx_http_outage_scan_feed(&ctx->scan, b->pos, (size_t) size);

        } else {
            rc = ngx_http_outage_scan_file(r, ctx, b);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }
        }

        ctx->offset += size;

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE && b->last_buf) {
            rc = ngx_http_outage_scan_finish(&ctx->scan);
        }

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {

            /* of the held bytes and b, the last scan.nhold wait */

            keep = ctx->scan.nhold;

            if (size == 0) {
                if (ngx_http_outage_link(r, ctx, b, &ll) != NGX_OK) {
                    return NGX_ERROR;
                }

                continue;
            }

            if (keep > size) {
                if (ngx_http_outage_held(r, ctx, 0,
                                         nheld - (size_t) (keep - size), &ll)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

            } else if (nheld
                       && ngx_http_outage_held(r, ctx, 0, nheld, &ll)
                          != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (keep == 0) {
                if (ngx_http_outage_link(r, ctx, b, &ll) != NGX_OK) {
                    return NGX_ERROR;
                }

            } else if (keep < size) {
                sh = ngx_http_outage_shadow(r, ctx, b, 0, size - keep);
                if (sh == NULL) {
                    return NGX_ERROR;
                }

                sh->recycled = b->recycled;
                sh->flush = b->flush;

                if (ngx_http_outage_link(r, ctx, sh, &ll) != NGX_OK
                    || ngx_http_outage_track(r, ctx, sh, b) != NGX_OK)
                {
                    return NGX_ERROR;
                }

            } else {
                /* all of b is held: copied, so it is done with */

                ngx_http_outage_consume(b);

                if (b->flush) {
                    sh = ngx_http_outage_buf(r, ctx);
                    if (sh == NULL
                        || ngx_http_outage_link(r, ctx, sh, &ll) != NGX_OK)
                    {
                        return NGX_ERROR;
                    }

                    sh->flush = 1;
                    sh->tag = (ngx_buf_tag_t) &ngx_http_outage_module;
                }
            }

            ngx_memcpy(ctx->held, ctx->scan.hold, ctx->scan.nhold);
            ctx->nheld = ctx->scan.nhold;

            continue;
        }

        ctx->done = 1;
        ctx->nheld = 0;

        if (!ctx->hold) {
            /* else once the next header filters said what they want */
            ngx_http_outage_copy_reads_done(r, ctx);
        }

        shm = ngx_http_outage_shm();

        if (rc == NGX_HTTP_OUTAGE_SCAN_NONE) {
            if ((nheld && ngx_http_outage_held(r, ctx, 0, nheld, &ll) != NGX_OK)
                || ngx_http_outage_link(r, ctx, b, &ll) != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (shm) {
                (void) ngx_atomic_fetch_add(&shm->banner_skips, 1);
            }

            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "outage: no place for a banner in this body");
            continue;
        }

        hit = ctx->scan.hit;

        if (hit < start) {

            /* the point is among the held bytes */

            if (ngx_http_outage_held(r, ctx, 0,
                                     nheld - (size_t) (start - hit), &ll)
                   != NGX_OK
                || ngx_http_outage_banner_link(r, ctx, &ll) != NGX_OK
                || ngx_http_outage_held(r, ctx,
                                        nheld - (size_t) (start - hit),
                                        nheld, &ll)
                   != NGX_OK
                || ngx_http_outage_link(r, ctx, b, &ll) != NGX_OK)
            {
                return NGX_ERROR;
            }

        } else {
            if ((nheld && ngx_http_outage_held(r, ctx, 0, nheld, &ll) != NGX_OK)
                || ngx_http_outage_insert(r, ctx, cl, hit - start, &ll)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (shm) {
            (void) ngx_atomic_fetch_add(&shm->banners, 1);
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: banner inserted at offset %O%s", hit,
                       ctx->scan.implied ? " with <body>" : "");
    }

    *ll = NULL;
    *out = head;

    return NGX_OK;
}


/*
 * Links and buffers come from the response's allocation first, then from
 * the pool.  Each is handed out once and never taken back: the next
 * filters may hold it as long as they would hold one of the pool's, which
 * lives no longer than the response's allocation.
 */

static ngx_int_t
ngx_http_outage_link(ngx_http_request_t *r, ngx_http_outage_filter_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll)
{
    ngx_chain_t  *ln;

    if (ctx->nlinks < NGX_HTTP_OUTAGE_LINKS) {
        ln = &ctx->link[ctx->nlinks++];

    } else {
        ln = ngx_alloc_chain_link(r->pool);
        if (ln == NULL) {
            return NGX_ERROR;
        }
    }

    ln->buf = b;
    **ll = ln;
    *ll = &ln->next;

    return NGX_OK;
}


/* held bytes [from, to) go out from a copy of their own */

static ngx_int_t
ngx_http_outage_held(ngx_http_request_t *r, ngx_http_outage_filter_ctx_t *ctx,
    size_t from, size_t to, ngx_chain_t ***ll)
{
    u_char     *p;
    ngx_buf_t  *b;

    if (to <= from) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, to - from);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, ctx->held + from, to - from);

    b = ngx_http_outage_mem(r, ctx, p, p + (to - from));
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->temporary = 1;

    return ngx_http_outage_link(r, ctx, b, ll);
}


/*
 * The banner goes out as the rendering shared by every response of the
 * worker, read-only (b->memory).  A filter that changes bytes in place
 * asks for temporary buffers (r->filter_need_temporary: nginx's charset
 * filter does so when it recodes a single-byte charset, and writes into
 * any buffer it gets, read-only or not); this filter runs below charset,
 * so it never sees the banner, but where one asked anyway the banner goes
 * from a copy of its own, as it does when "<body>" (the scanner found no
 * <body> tag) or a per-request head must come first.
 */

static ngx_buf_t *
ngx_http_outage_banner_buf(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx)
{
    u_char     *p;
    size_t      n;
    ngx_buf_t  *b;

    n = ctx->banner[0].len + ctx->banner[1].len;

    if (ctx->scan.implied) {
        n += sizeof("<body>") - 1;
    }

    ctx->added = n;

    if (n == ctx->banner[1].len && !ctx->copy_banner) {
        return ngx_http_outage_mem(r, ctx, ctx->banner[1].data,
                                   ctx->banner[1].data + n);
    }

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NULL;
    }

    b = ngx_http_outage_mem(r, ctx, p, p + n);
    if (b == NULL) {
        return NULL;
    }

    b->temporary = 1;

    if (ctx->scan.implied) {
        p = ngx_cpymem(p, "<body>", sizeof("<body>") - 1);
    }

    if (ctx->banner[0].len) {
        p = ngx_cpymem(p, ctx->banner[0].data, ctx->banner[0].len);
    }

    if (ctx->banner[1].len) {
        ngx_memcpy(p, ctx->banner[1].data, ctx->banner[1].len);
    }

    return b;
}


static ngx_int_t
ngx_http_outage_banner_link(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t ***ll)
{
    ngx_buf_t  *b;

    b = ngx_http_outage_banner_buf(r, ctx);
    if (b == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_outage_link(r, ctx, b, ll);
}


/* orig is done with once "last", the last of its stand-ins, is sent */

static ngx_int_t
ngx_http_outage_track(ngx_http_request_t *r, ngx_http_outage_filter_ctx_t *ctx,
    ngx_buf_t *last, ngx_buf_t *orig)
{
    ngx_http_outage_part_t  *pt;

    pt = ctx->free;

    if (pt) {
        ctx->free = pt->next;

    } else if (ctx->part.buf == NULL) {
        pt = &ctx->part;

    } else {
        pt = ngx_palloc(r->pool, sizeof(ngx_http_outage_part_t));
        if (pt == NULL) {
            return NGX_ERROR;
        }
    }

    pt->buf = last;
    pt->orig = orig;
    pt->next = NULL;

    if (ctx->busy == NULL) {
        ctx->busy = pt;

    } else {
        ctx->last_busy->next = pt;
    }

    ctx->last_busy = pt;

    return NGX_OK;
}


static void
ngx_http_outage_consume(ngx_buf_t *b)
{
    b->pos = b->last;

    if (b->in_file) {
        b->file_pos = b->file_last;
    }
}


/*
 * The bytes of a file buffer are read only to be scanned; past the
 * insertion point they are still sent from the file.  The point is usually
 * in the first kilobytes, so this costs one small read of what the page
 * cache holds anyway.  Reads end on absolute multiples of the read size,
 * so the chunk that holds the point also holds the page boundary after it.
 * The reads block (like the sub filter's), so a file is scanned for at
 * most NGX_HTTP_OUTAGE_SCAN_FILE_MAX bytes: a page without a place by
 * then gets no banner.
 */

static ngx_int_t
ngx_http_outage_scan_file(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b)
{
    int      rc;
    off_t    pos;
    size_t   size, step;
    ssize_t  n;

    rc = NGX_HTTP_OUTAGE_SCAN_MORE;

    for (pos = b->file_pos; pos < b->file_last; pos += n) {

        if (ctx->offset + (pos - b->file_pos) >= NGX_HTTP_OUTAGE_SCAN_FILE_MAX)
        {
            return ngx_http_outage_scan_capped(r, ctx, b);
        }

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

        /* a hit may fall in what the scanner holds from the chunk before */
        ngx_memcpy(ctx->fheld, ctx->scan.hold, ctx->scan.nhold);

        rc = ngx_http_outage_scan_feed(&ctx->scan, ctx->scratch, n);

        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
            return rc;
        }
    }

    return rc;
}


/* a file scanned as far as it may be without a place: no banner */

static ngx_int_t
ngx_http_outage_scan_capped(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "outage: no banner: no place for it in the first "
                  "%uz bytes of \"%V\"",
                  (size_t) NGX_HTTP_OUTAGE_SCAN_FILE_MAX, &b->file->name);

    ctx->scan.done = 1;
    ctx->scan.result = NGX_HTTP_OUTAGE_SCAN_NONE;

    return NGX_HTTP_OUTAGE_SCAN_NONE;
}


/*
 * With "aio" (threads, or file AIO where nginx has it) the file bytes are
 * not read here: pread() would block the event loop.  The copy filter,
 * which runs before this one, reads file buffers into memory for filters
 * that ask (r->filter_need_in_memory, as the sub filter does), and it does
 * so the way the location says: in the thread pool, with AIO, aligned for
 * directio.  Its buffers stay sendfile buffers too (in memory and in the
 * file).  Once the banner's place is known, it is told to stop: the rest
 * of the file goes by sendfile, unread, unless a filter after this one
 * wants it in memory itself.  "sendfile off" and directio need no asking:
 * the copy filter reads those files into memory anyway.
 *
 * Asked for after the next header filters ran, so that what they want is
 * known; the copy filter takes its settings at the first body buffer.
 */

static void
ngx_http_outage_copy_reads(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx)
{
#if (NGX_HAVE_FILE_AIO || NGX_THREADS)
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->aio == NGX_HTTP_AIO_OFF) {
        return;
    }

    ctx->copy_others = r->filter_need_in_memory
                       || r->main_filter_need_in_memory;
    ctx->copy_main = r->main_filter_need_in_memory;
    ctx->copy_reads = 1;

    /*
     * "main": the filter runs below postpone, on the bytes of subrequests
     * too (SSI includes, add_before_body), whose copy filters read for it
     * when they inherit the flag (as they do for gzip)
     */
    r->main_filter_need_in_memory = 1;
#endif
}


static void
ngx_http_outage_copy_reads_done(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx)
{
    ngx_output_chain_ctx_t  *cctx;

    if (!ctx->copy_reads) {
        return;
    }

    ctx->copy_reads = 0;

    /* subrequests started from now on send their files unread */
    if (!ctx->copy_main) {
        r->main_filter_need_in_memory = 0;
    }

    if (ctx->copy_others) {
        return;
    }

    cctx = ngx_http_get_module_ctx(r, ngx_http_copy_filter_module);

    if (cctx) {
        cctx->need_in_memory = 0;
    }
}


/*
 * A file buffer the copy filter read for us: scanned in memory, with the
 * cap a file read here has (the rest of a large file would be read only
 * to be scanned).
 */

static ngx_int_t
ngx_http_outage_scan_copied(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b)
{
    int    rc;
    off_t  size, n;

    size = ngx_buf_size(b);
    n = size;

    if (ctx->offset + n > NGX_HTTP_OUTAGE_SCAN_FILE_MAX) {
        n = ctx->offset < NGX_HTTP_OUTAGE_SCAN_FILE_MAX
            ? NGX_HTTP_OUTAGE_SCAN_FILE_MAX - ctx->offset : 0;
    }

    rc = NGX_HTTP_OUTAGE_SCAN_MORE;

    if (n) {
        rc = ngx_http_outage_scan_feed(&ctx->scan, b->pos, (size_t) n);
    }

    if (rc == NGX_HTTP_OUTAGE_SCAN_MORE && n < size) {
        return ngx_http_outage_scan_capped(r, ctx, b);
    }

    return rc;
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
    ngx_buf_t    *b, *part[7], *banner;
    ngx_uint_t    i, n;

    b = cl->buf;
    size = ngx_buf_size(b);

    banner = ngx_http_outage_banner_buf(r, ctx);
    if (banner == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    if (size == 0) {
        return (ngx_http_outage_link(r, ctx, banner, ll) == NGX_OK
                && ngx_http_outage_link(r, ctx, b, ll) == NGX_OK)
               ? NGX_OK : NGX_ERROR;
    }

    if (ngx_buf_in_memory(b) && !b->in_file) {
        if (off > 0) {
            part[n++] = ngx_http_outage_shadow(r, ctx, b, 0, off);
        }

        part[n++] = banner;

        if (off < size) {
            part[n++] = ngx_http_outage_shadow(r, ctx, b, off, size);
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

    if (hit < start) {

        /*
         * The point is in bytes held back from the chunk read before
         * (a tag cut by the read): they go from their copy, and sendfile
         * resumes at this chunk, which starts on a page.
         */

        if (hit > b->file_pos) {
            part[n++] = ngx_http_outage_shadow(r, ctx, b, 0, hit - b->file_pos);
        }

        part[n++] = banner;
        part[n++] = ngx_http_outage_mem(r, ctx, ctx->fheld,
                                        ctx->fheld + (start - hit));
        part[n++] = ngx_http_outage_shadow(r, ctx, b, start - b->file_pos, size);

        goto flags;
    }

    aligned = (hit + ngx_pagesize - 1) / ngx_pagesize * ngx_pagesize;

    if (aligned > end || end == b->file_last) {
        aligned = end;
    }

    if (start > b->file_pos) {
        part[n++] = ngx_http_outage_shadow(r, ctx, b, 0, start - b->file_pos);
    }

    if (hit > start) {
        part[n++] = ngx_http_outage_mem(r, ctx, base, base + (hit - start));
    }

    part[n++] = banner;

    if (aligned > hit) {
        part[n++] = ngx_http_outage_mem(r, ctx, base + (hit - start),
                                        base + (aligned - start));
    }

    if (aligned < b->file_last) {
        part[n++] = ngx_http_outage_shadow(r, ctx, b, aligned - b->file_pos, size);
    }

flags:

    for (i = 0; i < n; i++) {
        if (part[i] == NULL) {
            return NGX_ERROR;
        }

        /* the producer wants b back soon: have the parts flushed likewise */
        part[i]->recycled = b->recycled;

        if (ngx_http_outage_link(r, ctx, part[i], ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    part[n - 1]->last_buf = b->last_buf;
    part[n - 1]->last_in_chain = b->last_in_chain;
    part[n - 1]->flush = b->flush;

    /* sent in order: when the last part is sent, b is done with */

    return ngx_http_outage_track(r, ctx, part[n - 1], b);
}


/* [from, to) of b, in memory and/or in the file, as b itself is */

static ngx_buf_t *
ngx_http_outage_shadow(ngx_http_request_t *r, ngx_http_outage_filter_ctx_t *ctx,
    ngx_buf_t *b, off_t from, off_t to)
{
    ngx_buf_t  *s;

    if (ctx->nbufs < NGX_HTTP_OUTAGE_BUFS) {
        s = &ctx->buf[ctx->nbufs++];

    } else {
        s = ngx_alloc_buf(r->pool);
        if (s == NULL) {
            return NULL;
        }
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
ngx_http_outage_mem(ngx_http_request_t *r, ngx_http_outage_filter_ctx_t *ctx,
    u_char *pos, u_char *last)
{
    ngx_buf_t  *b;

    b = ngx_http_outage_buf(r, ctx);
    if (b == NULL) {
        return NULL;
    }

    b->pos = pos;
    b->last = last;
    b->memory = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_outage_module;

    return b;
}


/* an empty buffer, as ngx_calloc_buf() gives */

static ngx_buf_t *
ngx_http_outage_buf(ngx_http_request_t *r, ngx_http_outage_filter_ctx_t *ctx)
{
    ngx_buf_t  *b;

    if (ctx->nbufs < NGX_HTTP_OUTAGE_BUFS) {
        b = &ctx->buf[ctx->nbufs++];
        ngx_memzero(b, sizeof(ngx_buf_t));

        return b;
    }

    return ngx_calloc_buf(r->pool);
}


#if (NGX_ZLIB)

static void
ngx_http_outage_inflate_cleanup(void *data)
{
    ngx_http_outage_filter_ctx_t  *ctx = data;

    (void) inflateEnd(&ctx->zs);
}


static ngx_int_t
ngx_http_outage_inflate_init(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* 16: a gzip wrapper, not zlib's */
    if (inflateInit2(&ctx->zs, 16 + MAX_WBITS) != Z_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "outage: inflateInit2() failed");
        return NGX_ERROR;
    }

#if (ZLIB_VERNUM >= 0x1290)
    /*
     * The CRC and length of the trailer are not checked, as browsers do
     * not check them (Chromium skips the footer): a page with a wrong
     * trailer renders without the module, so it must with the banner.
     * inflateReset() keeps this for the next members.
     */
    (void) inflateValidate(&ctx->zs, 0);
#endif

    cln->handler = ngx_http_outage_inflate_cleanup;
    cln->data = ctx;

    ctx->inflate = 1;
    ctx->zgap = 1;

    /* gzip_static files and cached entries come in memory, not sendfile */
    r->filter_need_in_memory = 1;

    return NGX_OK;
}


/*
 * A gzip body is inflated as ngx_http_gunzip_filter does it: into at most
 * NGX_HTTP_OUTAGE_ZBUFS buffers of our own; when all of them wait in the
 * next filters (a client that does not read), inflating stops and the rest
 * of the input stays unconsumed, so that its producer stops reading too.
 * Whoever holds our buffers is buffered (the write filter sets
 * c->buffered), so this filter is called again once they are sent.  A
 * 64 KB gzip body that inflates to 64 MB costs 32 KB here, not 64 MB.
 */

static ngx_int_t
ngx_http_outage_inflate_filter(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_int_t     rc;
    ngx_uint_t    flush;
    ngx_chain_t  *cl, *out;

    if (ctx->zlast) {
        rc = ngx_http_next_body_filter(r, in);
        out = NULL;
        ngx_chain_update_chains(r->pool, &ctx->zfree, &ctx->zbusy, &out,
                                (ngx_buf_tag_t) &ngx_http_outage_module);
        return rc;
    }

    if (in && ngx_chain_add_copy(r->pool, &ctx->zin, in) != NGX_OK) {
        return NGX_ERROR;
    }

    /* data may wait in the next filters: have them write it first */
    flush = ctx->zbusy || ctx->busy || in == NULL;

    for ( ;; ) {
        out = NULL;

        rc = ngx_http_outage_inflate(r, ctx, &out);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            /* not gzip after all: the body goes on as it is */
            return ngx_http_outage_body_filter(r, out);
        }

        if (out == NULL && !flush) {
            return (ctx->zin || ctx->zbusy) ? NGX_AGAIN : NGX_OK;
        }

        flush = 0;

        rc = ngx_http_outage_inflated(r, ctx, out);

        /*
         * the next filters copied the links they keep: ours go back to
         * the pool's list (one per inflated buffer, the body's length
         * over 8 KB of them otherwise)
         */

        while (out) {
            cl = out->next;
            ngx_free_chain(r->pool, out);
            out = cl;
        }

        if (ctx->zcut) {
            /* the page went out with a flush: no end for the client */
            return NGX_ERROR;
        }

        if (rc == NGX_ERROR || ctx->zlast) {
            return rc;
        }

    }
}


/* inflated buffers through the scanner and on */

static ngx_int_t
ngx_http_outage_inflated(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_int_t     rc;
    ngx_chain_t  *cl, *zout, **ll;

    /* links of our own to find our buffers again: "in" goes on */

    ll = &zout;

    for (cl = in; cl; cl = cl->next) {
        if (ngx_http_outage_link(r, ctx, cl->buf, &ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    *ll = NULL;

    rc = ngx_http_outage_scan_out(r, ctx, in);

    /* after release(): our inflate buffers may stand behind shadows */
    ngx_chain_update_chains(r->pool, &ctx->zfree, &ctx->zbusy, &zout,
                            (ngx_buf_tag_t) &ngx_http_outage_module);

    return rc;
}


/*
 * Inflates what ctx->zin holds into *out until the input is used up or no
 * buffer is free.  The gzip members of a body may start in any buffer;
 * after a member, the body goes on only with another one (1f 8b), and
 * anything else is ignored to the end, as gzip -d and browsers do.  A body
 * that does not start with 1f 8b is not gzip whatever Content-Encoding
 * says: NGX_DECLINED, with the body as it came in *out (the client gets it
 * without the wrong label, and without a banner).
 */

static ngx_int_t
ngx_http_outage_inflate(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_chain_t **out)
{
    int                     rc;
    u_char                  dummy;
    ngx_buf_t              *b, *ob;
    ngx_chain_t            *cl, **ll;
    ngx_http_outage_shm_t  *shm;

    static u_char           magic = 0x1f;

    ll = out;

    for ( ;; ) {
        cl = ctx->zin;
        b = cl ? cl->buf : NULL;

        if (b && ngx_buf_size(b) && !ngx_buf_in_memory(b)) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "outage: banner: a gzip body in a file buffer");
            return NGX_ERROR;
        }

        if (!ctx->zredo) {

            if (b == NULL) {
                break;
            }

            if (b->pos == b->last || ctx->zskip) {

                if (b->last_buf && ctx->zmagic && !ctx->zmember) {
                    goto identity;               /* the body is "\x1f" */
                }

                ngx_http_outage_consume(b);

                if (ngx_http_outage_zflags(r, ctx, b, &ll) != NGX_OK) {
                    return NGX_ERROR;
                }

                ctx->zin = cl->next;
                ngx_free_chain(r->pool, cl);
                continue;
            }

            if (ctx->zgap) {

                /* the bytes after a member, or the first ones */

                if (*b->pos == 0x1f && !ctx->zmagic) {
                    ctx->zmagic = 1;
                    b->pos++;
                    continue;
                }

                if (!ctx->zmagic || *b->pos != 0x8b) {

                    if (!ctx->zmember) {
                        goto identity;
                    }

                    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                                  "outage: banner: bytes after the end of "
                                  "the upstream's gzip body ignored");
                    ctx->zskip = 1;
                    continue;
                }

                /* 1f 8b: a member starts */

                if (ctx->zmember && inflateReset(&ctx->zs) != Z_OK) {
                    return NGX_ERROR;
                }

                ctx->zs.next_in = &magic;
                ctx->zs.avail_in = 1;
                ctx->zs.next_out = &dummy;
                ctx->zs.avail_out = 0;

                (void) inflate(&ctx->zs, Z_NO_FLUSH);

                ctx->zgap = 0;
                ctx->zmagic = 0;
                ctx->zmember = 1;
            }
        }

        ob = ctx->zcur;

        if (ob == NULL) {
            ob = ngx_http_outage_zbuf(r, ctx);
            if (ob == NULL) {
                /* all buffers wait in the next filters */
                break;
            }

            if (ob == (ngx_buf_t *) NGX_ERROR) {
                return NGX_ERROR;
            }

            ctx->zcur = ob;
        }

        if (b) {
            ctx->zs.next_in = b->pos;
            ctx->zs.avail_in = (uInt) (b->last - b->pos);

        } else {
            ctx->zs.next_in = NULL;
            ctx->zs.avail_in = 0;
        }

        ctx->zs.next_out = ob->last;
        ctx->zs.avail_out = (uInt) (ob->end - ob->last);

        rc = inflate(&ctx->zs, Z_NO_FLUSH);

        if (b) {
            b->pos = ctx->zs.next_in;
        }

        if (ctx->zs.next_out != ob->last) {
            ob->last = ctx->zs.next_out;
            ctx->zgot = 1;
        }

        /* zlib may have more to write without more input */
        ctx->zredo = (ctx->zs.avail_out == 0);

        if (ctx->zs.avail_out == 0) {
            if (ngx_http_outage_link(r, ctx, ob, &ll) != NGX_OK) {
                return NGX_ERROR;
            }

            ctx->zcur = NULL;
        }

        if (rc == Z_STREAM_END) {
            ctx->zgap = 1;
            ctx->zredo = 0;
            continue;
        }

        if (rc == Z_OK || rc == Z_BUF_ERROR) {
            continue;
        }

        if (rc != Z_DATA_ERROR && rc != Z_NEED_DICT) {
            /* zlib's own failure (memory), not the body's */
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "outage: banner: inflate() failed (%d: %s)",
                          rc, ctx->zs.msg ? ctx->zs.msg : "");
            return NGX_ERROR;
        }

        if (!ctx->zgot) {
            /*
             * nothing of the page to show: its header went out before
             * the body (without Content-Encoding), so the compressed bytes
             * cannot follow as they came; the response fails as the page
             * fails in a browser without the module
             */
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "outage: banner: the upstream's gzip body "
                          "is corrupt (inflate() returned %d: %s) "
                          "before any byte of the page: the response is cut",
                          rc, ctx->zs.msg ? ctx->zs.msg : "");
            return NGX_ERROR;
        }

        /*
         * what was inflated is the page a browser shows without the
         * module: it goes on, the rest of the body is ignored and the
         * response ends where the upstream's does
         */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "outage: banner: the upstream's gzip body "
                      "is corrupt (inflate() returned %d: %s): the page "
                      "is sent up to there and ended",
                      rc, ctx->zs.msg ? ctx->zs.msg : "");
        ctx->zskip = 1;
        ctx->zredo = 0;
    }

    /*
     * The input is used up (or we wait for buffers): what is inflated goes
     * now, flushed, so that the write filter never holds it back waiting
     * for more ("postpone_output") while this filter waits for buffers.
     */

    ob = ctx->zcur;

    if (ob && ob->last > ob->pos) {
        ob->flush = 1;

        if (ngx_http_outage_link(r, ctx, ob, &ll) != NGX_OK) {
            return NGX_ERROR;
        }

        ctx->zcur = NULL;
    }

    *ll = NULL;

    return NGX_OK;

identity:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "outage: banner: the upstream's body is labelled gzip "
                  "but is not, sent as it is without a banner");

    shm = ngx_http_outage_shm();
    if (shm) {
        (void) ngx_atomic_fetch_add(&shm->banner_skips, 1);
    }

    ctx->inflate = 0;
    ctx->done = 1;

    if (ctx->zmagic) {
        /* the 1f taken from a buffer before */
        ob = ngx_http_outage_mem(r, ctx, &magic, &magic + 1);
        if (ob == NULL || ngx_http_outage_link(r, ctx, ob, &ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    *ll = ctx->zin;
    ctx->zin = NULL;

    return NGX_DECLINED;
}


/* the end-of-response and flush flags of input buffer b, on the output */

static ngx_int_t
ngx_http_outage_zflags(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll)
{
    ngx_buf_t   *ob;
    ngx_uint_t   i;

    if (!(b->last_buf || b->last_in_chain || b->flush || b->sync)) {
        return NGX_OK;
    }

    /*
     * An empty body is left empty.  One that ends inside a member (an
     * application that never finishes its stream, a trailer cut off) ends
     * the response with what was inflated, as browsers show it; with
     * nothing inflated there is no page to end.  If the upstream gave the
     * body no length (no Content-Length, not chunked: HTTP/1.0, uwsgi,
     * scgi), its end is only a closed connection, which is also how an
     * application that dies mid-page looks: the unfinished gzip stream is
     * the only evidence of the cut, so what was inflated goes on with a
     * flush and the response is then cut (no last chunk, the connection
     * closed), as nginx does when an upstream closes early.
     */

    if (b->last_buf && ctx->zmember && !ctx->zgap && !ctx->zskip) {

        if (ctx->zgot && r->upstream
            && r->upstream->headers_in.content_length_n == -1
            && !r->upstream->headers_in.chunked)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "outage: banner: the upstream's gzip body "
                          "ends early (inside a gzip member) and had no "
                          "length: the page is sent up to there and the "
                          "response is cut");
            ctx->zcut = 1;

            ob = ctx->zcur;

            if (ob && ob->pos != ob->last) {
                ctx->zcur = NULL;

            } else {
                ob = ngx_calloc_buf(r->pool);
                if (ob == NULL) {
                    return NGX_ERROR;
                }
            }

            if (ngx_http_outage_link(r, ctx, ob, ll) != NGX_OK) {
                return NGX_ERROR;
            }

            ob->flush = 1;

            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "outage: banner: the upstream's gzip body "
                      "ends early (inside a gzip member)%s",
                      ctx->zgot ? ": the page is sent up to there and ended"
                                : " before any byte of the page: "
                                  "the response is cut");

        if (!ctx->zgot) {
            return NGX_ERROR;
        }
    }

    ob = ctx->zcur;

    if (ob && ob->pos != ob->last) {
        ctx->zcur = NULL;

    } else if (b->last_buf) {
        /* once per response */
        ob = ngx_calloc_buf(r->pool);
        if (ob == NULL) {
            return NGX_ERROR;
        }

    } else {

        /*
         * An upstream read (proxy_buffering off: each one is a flush) or
         * a chunk that inflates to nothing: one empty buffer per set of
         * flags is reused for the request, not one per input buffer (a
         * stream of them grew the pool without bound).  Filters never
         * change an empty buffer they are passed, so the same one may
         * stand in a queue twice: it means the same thing both times.
         * No tag: never taken for an inflate buffer.
         */

        i = b->flush | (b->sync << 1) | (b->last_in_chain << 2);
        ob = ctx->zflag[i];

        if (ob == NULL) {
            ob = ngx_calloc_buf(r->pool);
            if (ob == NULL) {
                return NGX_ERROR;
            }

            ctx->zflag[i] = ob;

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "outage: inflate: flags buffer %ui", i);
        }
    }

    if (ngx_http_outage_link(r, ctx, ob, ll) != NGX_OK) {
        return NGX_ERROR;
    }

    ob->last_buf = b->last_buf;
    ob->last_in_chain = b->last_in_chain;
    ob->flush = b->flush;
    ob->sync = b->sync;

    if (b->last_buf) {
        ctx->zlast = 1;
    }

    return NGX_OK;
}


/*
 * A free inflate buffer: one the next filters are done with, or a new one
 * while there are fewer than NGX_HTTP_OUTAGE_ZBUFS; NULL when all of them
 * are busy.
 */

static ngx_buf_t *
ngx_http_outage_zbuf(ngx_http_request_t *r, ngx_http_outage_filter_ctx_t *ctx)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (ctx->zfree) {
        cl = ctx->zfree;
        ctx->zfree = cl->next;
        b = cl->buf;
        ngx_free_chain(r->pool, cl);

    } else if (ctx->nzbufs < NGX_HTTP_OUTAGE_ZBUFS) {
        b = ngx_create_temp_buf(r->pool, NGX_HTTP_OUTAGE_ZBUF_SIZE);
        if (b == NULL) {
            return (ngx_buf_t *) NGX_ERROR;
        }

        ctx->nzbufs++;

    } else {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->last_buf = 0;
    b->flush = 0;
    b->sync = 0;
    b->last_in_chain = 0;
    b->recycled = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_outage_module;

    return b;
}

#endif


/*
 * Once the next filters have sent the last stand-in of an original buffer,
 * the original is marked consumed, so that its producer (the upstream,
 * the copy filter) can reuse it; until then it must stay untouched.
 */

static void
ngx_http_outage_release(ngx_http_request_t *r,
    ngx_http_outage_filter_ctx_t *ctx)
{
    ngx_http_outage_part_t  *pt;

    while (ctx->busy) {
        pt = ctx->busy;

        if (ngx_buf_size(pt->buf) != 0) {
            return;
        }

        ngx_http_outage_consume(pt->orig);

        ctx->busy = pt->next;
        pt->next = ctx->free;
        ctx->free = pt;
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

    rc = ngx_http_outage_get_or_head(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = ngx_http_outage_banner_css_len;
    ngx_str_set(&r->headers_out.content_type, "text/css");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    /* the stylesheet changes only with the module: cache it, revalidate */
    h = ngx_http_outage_push_header(r, "Cache-Control",
                                    sizeof("Cache-Control") - 1);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&h->value, "public, max-age=3600");

    h = ngx_http_outage_push_header(r, "ETag", sizeof("ETag") - 1);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.data = ngx_http_outage_css_etag;
    h->value.len = ngx_http_outage_css_etag_len;
    r->headers_out.etag = h;

    h = ngx_http_outage_push_header(r, "X-Content-Type-Options",
                                    sizeof("X-Content-Type-Options") - 1);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

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
