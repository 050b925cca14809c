
/*
 * ngx_outage_module: the maintenance page.
 *
 * Owns the PRECONTENT handler that answers requests for a scope that is down
 * or in maintenance with the maintenance page (never contacting the
 * backend; subrequests get its status without a body), the staff bypass
 * (outage_bypass predicates and the signed cookie issued by
 * outage_bypass_login, with a rotation grace), and the header/body filter pair
 * that replaces a failing backend's 502/503/504 with the same page (with
 * every scope up, not a 503 the application sent itself).  What
 * the page says is rendered by ngx_http_outage_pagebody.c.
 */


#include "ngx_http_outage_module.h"
#include "ngx_http_outage_pagebody.h"

#if (NGX_OPENSSL)
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif


#define NGX_HTTP_OUTAGE_BYPASS_PREDICATE  1
#define NGX_HTTP_OUTAGE_BYPASS_COOKIE     2
#define NGX_HTTP_OUTAGE_BYPASS_PROBE      3     /* this nginx's own probe */

/*
 * Bypass cookies examined per request at most: each costs an HMAC, and a
 * browser sends one (two while a path-scoped copy lingers); forged ones
 * beyond this are ignored, not verified.
 */
#define NGX_HTTP_OUTAGE_BYPASS_COOKIES    4

/* X-Outage-Probe headers taken out of a request at most (one is sent) */
#define NGX_HTTP_OUTAGE_PROBE_MARKS       8


static ngx_http_outage_page_ctx_t *ngx_http_outage_page_ctx(
    ngx_http_request_t *r, ngx_uint_t create);
static ngx_uint_t ngx_http_outage_bypass(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf);
static ngx_uint_t ngx_http_outage_cookie_valid(ngx_http_request_t *r,
    ngx_http_outage_main_conf_t *omcf, ngx_str_t *header,
    ngx_uint_t *budget);
static ngx_int_t ngx_http_outage_subrequest_gate(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_page_take_mark(ngx_http_request_t *r);
static void ngx_http_outage_page_skip_limits(ngx_http_request_t *r,
    ngx_http_outage_page_ctx_t *ctx);
static ngx_int_t ngx_http_outage_page_unlist(ngx_list_t *l, void *elt,
    ngx_pool_t *pool);
static ngx_int_t ngx_http_outage_page_prepare(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_uint_t min_rank, ngx_chain_t **out);
static ngx_int_t ngx_http_outage_page_render(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *worst, time_t now, ngx_uint_t json,
    ngx_http_outage_cache_t *cache, ngx_str_t *body);
static ngx_uint_t ngx_http_outage_page_json_wanted(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf);
static void ngx_http_outage_intercept_log(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *worst, ngx_uint_t status);
static ngx_uint_t ngx_http_outage_page_app_status(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_page_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_outage_page_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
#if (NGX_OPENSSL)
static ngx_int_t ngx_http_outage_mac(ngx_str_t *secret, u_char *msg,
    size_t len, u_char *mac);
#endif


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static ngx_str_t  ngx_http_outage_bypass_names[] = {
    ngx_null_string,
    ngx_string("predicate"),
    ngx_string("cookie"),
    ngx_string("probe")
};


/* ---- per-request state --------------------------------------------------- */

/*
 * The page's state is part of the module's one request context (module.h),
 * which survives internal redirects and is shared with subrequests.
 */

static ngx_http_outage_page_ctx_t *
ngx_http_outage_page_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_http_outage_ctx_t  *ctx;

    ctx = ngx_http_outage_ctx(r, create);

    return ctx ? &ctx->page : NULL;
}


ngx_http_outage_loc_conf_t *
ngx_http_outage_page_passive_conf(ngx_http_request_t *r, ngx_uint_t *first,
    void **inherited)
{
    ngx_http_outage_page_ctx_t  *ctx;

    ctx = ngx_http_outage_page_ctx(r, 0);

    if (ctx == NULL || ctx->passive_conf == NULL) {
        return NULL;
    }

    *first = ctx->passive_first;
    *inherited = ctx->passive_inherited;

    return ctx->passive_conf;
}


/* ---- the access handler ------------------------------------------------ */

ngx_int_t
ngx_http_outage_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_uint_t                   bypass;
    ngx_http_outage_shm_t       *shm;
    ngx_http_outage_view_t      *worst;
    ngx_http_outage_snapshot_t  *snap;
    ngx_http_outage_loc_conf_t  *olcf;
    ngx_http_outage_page_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_outage_subrequest_gate(r);
    }

    /*
     * After an internal redirect (error_page, named location) r->upstream
     * still points at the previous location's upstream: remember it, so a
     * response served here (an error_page file) is not taken for an
     * upstream failure of this location.
     */
    ctx = ngx_http_outage_page_ctx(r, r->upstream != NULL);

    if (ctx) {
        ctx->inherited = r->upstream;

        /* a bypass decided by the previous location does not carry over */
        ctx->bypass = 0;

    } else if (r->upstream) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    /* staff must reach the login and the status even during an outage */
    if (olcf->page_scopes == NULL || olcf->bypass_login == 1
        || olcf->status_format)
    {
        return NGX_DECLINED;
    }

    if (olcf->passive) {
        if (ctx == NULL) {
            ctx = ngx_http_outage_page_ctx(r, 1);
            if (ctx == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        /*
         * The first paged location whose upstream tried a peer keeps the
         * verdict: an error_page, X-Accel-Redirect or named location that
         * inherits outage_page (from the server level) does not replace
         * it.  nginx starts this location's upstream with a separator
         * state (peer NULL) when an earlier one left states: its own
         * attempts are the ones from there to the next separator.
         */
        if (ctx->passive_conf == NULL || r->upstream_states == NULL
            || (r->upstream_states->nelts <= ctx->passive_first
                /* it tried none: it could not resolve (health.c) */
                && !ngx_http_outage_passive_unresolved(r->upstream,
                                                ctx->passive_inherited)))
        {
            ctx->passive_conf = olcf;
            ctx->passive_first = r->upstream_states
                                 ? r->upstream_states->nelts + 1 : 0;
            ctx->passive_inherited = r->upstream;
        }
    }

    snap = ngx_http_outage_snapshot(r);

    /* rank 3: maintenance and down; never degraded nor announced */
    worst = ngx_http_outage_worst(snap, olcf->page_scopes, 3);
    if (worst == NULL) {
        return NGX_DECLINED;
    }

    shm = ngx_http_outage_shm();

    bypass = ngx_http_outage_bypass(r, olcf);

    if (bypass == (ngx_uint_t) NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (bypass) {
        ctx = ngx_http_outage_page_ctx(r, 1);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!ctx->counted && shm) {
            (void) ngx_atomic_fetch_add(&shm->bypasses, 1);
        }

        ctx->counted = 1;
        ctx->bypass = bypass;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: scope \"%V\" is paged, bypass by %V",
                       &worst->name, &ngx_http_outage_bypass_names[bypass]);

        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: scope \"%V\" is %s, serving the page",
                   &worst->name,
                   ngx_http_outage_state_name(worst->state));

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    if (shm) {
        (void) ngx_atomic_fetch_add(&shm->pages, 1);
    }

    rc = ngx_http_outage_page_send(r, olcf, snap);

    /* a phase handler that answered must finalize and return NGX_DONE */
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * X-Outage-Probe is for the outage module only: the application never
 * needs it, and its logs (or an APM, a WAF behind) would keep a mark that
 * passes the page.  It is taken out of every request in its first
 * rewrite phase, before anything copies headers_in as it finds it (proxy,
 * fastcgi, grpc, uwsgi, scgi; auth_request and mirror subrequests), and
 * its value is kept in the context for the page's decisions, which come
 * later (the access handler, the intercept) or again (after an internal
 * redirect).  A malformed value is dropped as well, and never passes.
 */

/*
 * A probe of this nginx skips its limit_req and limit_conn: refused, or
 * delayed past its timeout, at a peak of shoppers, it would page a healthy
 * backend; told "no verdict", a dead one would go unpaged for the whole
 * peak.  Only where the mark passes the page too: a check's own request
 * in a location that pages its scope (so a mark a third-party target
 * learnt opens no other path, host or server), which is known in the
 * location's rewrite phase, before both limits (they pass a request whose
 * status is set, 1: PASSED).
 *
 * nginx never resets these statuses, and every location a request enters
 * (rewrite ... last, error_page, try_files, index, named locations) runs
 * this again.  A request that leaves the paging location before its
 * preaccess phase (rewrite ... last, return) was counted by no limit yet:
 * a location it enters that does not page the scope takes the skip back,
 * so its own limits count.  Once the skip passed a preaccess phase it is
 * that location's limit verdict (ngx_http_outage_page_limits_handler()),
 * and stays as a visitor's does: nginx counts each limit once per request,
 * so a fallback (error_page 502 = @secondary) never counts a visitor again,
 * and must not count the probe either.  A status a limit module set itself
 * is nginx's, never overwritten nor cleared here.
 */

static void
ngx_http_outage_page_skip_limits(ngx_http_request_t *r,
    ngx_http_outage_page_ctx_t *ctx)
{
#if (nginx_version >= 1017006)
    ngx_http_core_main_conf_t  *cmcf;

    if (ctx->probe_mark == 0 || r != r->main) {
        return;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    if ((ngx_uint_t) r->phase_handler
        < cmcf->phase_engine.location_rewrite_index)
    {
        return;
    }

    if (ngx_http_outage_health_probe_request(r, ctx->probe_mark)) {

        if (r->limit_req_status == 0) {
            r->limit_req_status = 1;
            ctx->limit_req = 1;
        }

        if (r->limit_conn_status == 0) {
            r->limit_conn_status = 1;
            ctx->limit_conn = 1;
        }

        return;
    }

    if (ctx->limit_req) {
        r->limit_req_status = 0;
        ctx->limit_req = 0;
    }

    if (ctx->limit_conn) {
        r->limit_conn_status = 0;
        ctx->limit_conn = 0;
    }
#endif
}


static ngx_int_t
ngx_http_outage_page_take_mark(ngx_http_request_t *r)
{
    u_char                      *c;
    uint64_t                     v, mark;
    ngx_int_t                    d;
    ngx_uint_t                   n;
    ngx_table_elt_t             *h;
    ngx_http_outage_ctx_t       *oc;
    ngx_http_outage_page_ctx_t  *ctx;
    ngx_http_core_main_conf_t   *cmcf;

    static ngx_str_t  name = ngx_string("X-Outage-Probe");

    /*
     * The handler runs in both rewrite phases.  The server's takes the
     * marks out and leaves the module's context set (or the mark that
     * there is none); a walk in the location's would find nothing, unless
     * r->ctx was cleared since: a named location (try_files, error_page,
     * X-Accel-Redirect to @name) clears it and starts at the location's
     * phase.  The mark the server's phase kept is then in the context
     * found again, and decides this location's limits too; a named
     * location may also be where the headers of a request that failed
     * before any phase go (error_page 400 = @name), which still carry
     * theirs.  An internal redirect starts at the server's phase again.
     */

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    if ((ngx_uint_t) r->phase_handler
        >= cmcf->phase_engine.location_rewrite_index)
    {
        oc = ngx_http_get_module_ctx(r, ngx_http_outage_module);

        if (oc != NULL) {
            if (oc->page.probe_mark) {
                ngx_http_outage_page_skip_limits(r, &oc->page);
            }

            return NGX_OK;
        }

        oc = ngx_http_outage_ctx(r, 0);

        if (oc != NULL && oc->page.probe_mark) {
            ngx_http_outage_page_skip_limits(r, &oc->page);
            return NGX_OK;
        }
    }

    h = ngx_http_outage_header_list(&r->headers_in.headers, &name, NULL);

    if (h == NULL) {
        /* the context looked up, or the mark that there is none, set */
        (void) ngx_http_outage_page_ctx(r, 0);
        return NGX_OK;
    }

    mark = 0;
    n = 0;

    do {
        /*
         * Each look walks the list again: a request made of marks would
         * cost a walk per mark.  A probe sends one; more than a few is
         * no request of a probe, nor of a browser.
         */
        if (++n > NGX_HTTP_OUTAGE_PROBE_MARKS) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "outage: client sent more than %d "
                          "\"X-Outage-Probe\" headers",
                          NGX_HTTP_OUTAGE_PROBE_MARKS);
            return NGX_HTTP_BAD_REQUEST;
        }

        v = 0;

        for (c = h->value.data; c < h->value.data + h->value.len; c++) {
            d = ngx_hextoi(c, 1);

            if (d == NGX_ERROR) {
                break;
            }

            v = v << 4 | (uint64_t) d;
        }

        /*
         * The first one decides: a second mark is not a second chance.
         * An all-zero value, which no mark is, stands for a wrong one.
         */
        if (n == 1) {
            mark = (c == h->value.data + h->value.len
                    && h->value.len == 2 * sizeof(uint64_t)) ? v : 0;
            mark = mark ? mark : (uint64_t) -1;
        }

        if (ngx_http_outage_page_unlist(&r->headers_in.headers, h, r->pool)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        h = ngx_http_outage_header_list(&r->headers_in.headers, &name, NULL);

    } while (h);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: %ui X-Outage-Probe taken out of the request", n);

    ctx = ngx_http_outage_page_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->probe_mark = mark;

    ngx_http_outage_page_skip_limits(r, ctx);

    return NGX_OK;
}


/*
 * Takes one element out of a list without moving any other: nginx keeps
 * pointers to request headers (r->headers_in.host, .user_agent, the
 * cookie chain), so elements stay where they are and the parts around
 * the removed one are re-cut.  A part never ends up empty, except the
 * first one (iterators step from a part to the next without looking at
 * its count).  The last part is special: ngx_list_push() writes behind
 * its elements up to nalloc, so it must start where its storage starts;
 * the elements after the removed one move there into a fresh part of
 * their own, as copies (the originals, which a pointer may still name,
 * stay unchanged).
 */

static ngx_int_t
ngx_http_outage_page_unlist(ngx_list_t *l, void *elt, ngx_pool_t *pool)
{
    u_char           *e, *x;
    ngx_uint_t        k, n;
    ngx_list_part_t  *part, *prev, *tail;

    x = elt;
    prev = NULL;

    for (part = &l->part; part; prev = part, part = part->next) {
        e = part->elts;

        if (x >= e && x < e + part->nelts * l->size) {
            break;
        }
    }

    if (part == NULL) {
        return NGX_ERROR;
    }

    e = part->elts;
    k = (x - e) / l->size;
    n = part->nelts;

    if (k == n - 1) {
        part->nelts--;

        if (part->nelts == 0 && prev) {
            prev->next = part->next;

            /*
             * Only a part cut here is not full: as the last one its
             * storage must start where it was allocated, for the pushes.
             */
            if (l->last == part) {
                l->last = prev;

                if (prev->nelts < l->nalloc) {
                    e = ngx_palloc(pool, l->nalloc * l->size);
                    if (e == NULL) {
                        return NGX_ERROR;
                    }

                    ngx_memcpy(e, prev->elts, prev->nelts * l->size);
                    prev->elts = e;
                }
            }
        }

        return NGX_OK;
    }

    tail = ngx_palloc(pool, sizeof(ngx_list_part_t));
    if (tail == NULL) {
        return NGX_ERROR;
    }

    tail->nelts = n - k - 1;

    if (part != l->last) {
        if (k == 0) {
            part->elts = e + l->size;
            part->nelts--;
            return NGX_OK;
        }

        tail->elts = e + (k + 1) * l->size;
        tail->next = part->next;
        part->nelts = k;
        part->next = tail;

        return NGX_OK;
    }

    tail->elts = ngx_palloc(pool, l->nalloc * l->size);
    if (tail->elts == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(tail->elts, e + (k + 1) * l->size, tail->nelts * l->size);
    tail->next = NULL;
    part->nelts = k;

    if (k == 0 && prev) {
        prev->next = tail;

    } else {
        part->next = tail;
    }

    l->last = tail;

    return NGX_OK;
}


/*
 * The first handler of every main request, in both rewrite phases
 * (module.c: registered after the rewrite module's, it runs before it).
 *
 * It takes the probe mark out of the request before anything can pass it
 * on: an auth_request or mirror subrequest (access and precontent phases)
 * copies the request's headers too.
 *
 * A location entered by an internal redirect (an error_page target, a
 * named location) may answer in its rewrite phases, with "return", before
 * the access handler above runs.  r->upstream, still the previous
 * location's, is remembered here too, so that such an answer is served as
 * configured, as a file is, and not taken for an upstream failure of this
 * location.  Nothing to do on a request that has not proxied yet.
 */

ngx_int_t
ngx_http_outage_page_rewrite_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_outage_page_ctx_t  *ctx;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    rc = ngx_http_outage_page_take_mark(r);

    if (rc != NGX_OK) {
        return rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc;
    }

    if (r->upstream == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_outage_page_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->inherited = r->upstream;

    return NGX_DECLINED;
}


/*
 * PREACCESS, in every location of a main request: the skip this location's
 * rewrite phase granted (skip_limits()) reaches its limits now, which pass
 * the request, so it is no longer the module's to take back.  Registered
 * after limit_req and limit_conn, it runs just before them; nothing of
 * nginx's own that runs in between in this phase leaves the location.
 */

#if (nginx_version >= 1017006)

ngx_int_t
ngx_http_outage_page_limits_handler(ngx_http_request_t *r)
{
    ngx_http_outage_ctx_t  *oc;

    /* the rewrite handler set r->ctx: the context or the "none" mark */
    oc = ngx_http_get_module_ctx(r, ngx_http_outage_module);

    if (oc != NULL && (oc->page.limit_req || oc->page.limit_conn)) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: the probe's limit skip is this location's "
                       "verdict");

        oc->page.limit_req = 0;
        oc->page.limit_conn = 0;
    }

    return NGX_DECLINED;
}

#endif


/*
 * A subrequest (an SSI include, auth_request, add_before_body) into a paged
 * location must not reach the backend that is down either.  It gets the
 * page's status with an empty body: the main request decides what the
 * visitor sees (its own location may be paged, bannered or neither), and a
 * whole maintenance page in the middle of another document would be worse
 * than the missing fragment.  Subrequests share the main request's pool,
 * so the per-request state (ngx_http_outage_page_ctx) is not used here.
 */

static ngx_int_t
ngx_http_outage_subrequest_gate(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_uint_t                   bypass;
    ngx_http_outage_view_t      *worst;
    ngx_http_outage_snapshot_t  *snap;
    ngx_http_outage_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (olcf->page_scopes == NULL || olcf->bypass_login == 1
        || olcf->status_format)
    {
        return NGX_DECLINED;
    }

    snap = ngx_http_outage_snapshot(r);

    worst = ngx_http_outage_worst(snap, olcf->page_scopes, 3);
    if (worst == NULL) {
        return NGX_DECLINED;
    }

    bypass = ngx_http_outage_bypass(r, olcf);

    if (bypass == (ngx_uint_t) NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (bypass) {
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: scope \"%V\" is %s, subrequest gets no body",
                   &worst->name, ngx_http_outage_state_name(worst->state));

    r->headers_out.status = olcf->page_status;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * ' nonce="..."' for the module's own <style> (outage_banner_nonce), so a
 * shop whose Content-Security-Policy allows styles by nonce gets its
 * pages styled; per response, so the body it goes into is never reused.
 * Empty when not configured.
 */

ngx_int_t
ngx_http_outage_nonce_attr(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_str_t *attr)
{
    u_char     *p;
    size_t      n;
    ngx_str_t   nonce;

    ngx_str_null(attr);

    if (olcf->banner_nonce == NULL) {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, olcf->banner_nonce, &nonce) != NGX_OK) {
        return NGX_ERROR;
    }

    if (nonce.len == 0) {
        return NGX_OK;
    }

    n = ngx_http_outage_html_escape(NULL, 0, nonce.data, nonce.len);

    p = ngx_pnalloc(r->pool, sizeof(" nonce=\"\"") - 1 + n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    attr->data = p;
    p = ngx_cpymem(p, " nonce=\"", sizeof(" nonce=\"") - 1);
    p += ngx_http_outage_html_escape(p, n, nonce.data, nonce.len);
    *p++ = '"';
    attr->len = p - attr->data;

    return NGX_OK;
}


/*
 * A key's expiry (PTTL), kept on ngx_current_msec's clock, as a wall time
 * (rounded down: never later than Redis deletes the key); 0: none.
 */

time_t
ngx_http_outage_expiry(ngx_msec_t expires, time_t now)
{
    ngx_msec_int_t  left;

    if (expires == 0) {
        return 0;
    }

    left = (ngx_msec_int_t) (expires - ngx_current_msec);

    return now + ((left > 0) ? left / 1000 : 0);
}


/*
 * When the page is gone for sure: the earlier of the key's expiry and the
 * incident's "ends" (0: neither), so that Retry-After never sends clients
 * and crawlers past the moment the shop is back.
 */

static time_t
ngx_http_outage_page_end(ngx_http_outage_view_t *v, time_t now)
{
    time_t  end;

    end = ngx_http_outage_expiry(v->expires, now);

    if (v->ends && (end == 0 || v->ends < end)) {
        end = v->ends;
    }

    return end;
}


/*
 * The type of the module's own answers: JSON (ASCII: no charset filter
 * changes it) when json is given, else UTF-8 HTML, said as a proxied
 * "Content-Type: text/html; charset=utf-8" is
 * (ngx_http_upstream_copy_content_type): the header and
 * $sent_http_content_type keep the parameter, type matching (gzip_types,
 * sub_filter_types) sees "text/html", and nginx's charset filter takes the
 * source charset from headers_out.charset, never from the location's
 * source_charset: it leaves the body alone, or with override_charset
 * recodes it from UTF-8 and rewrites the parameter.
 */

void
ngx_http_outage_page_type(ngx_http_request_t *r, ngx_str_t *json)
{
    if (json) {
        r->headers_out.content_type = *json;
        r->headers_out.content_type_len = json->len;

    } else {
        ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
        r->headers_out.content_type_len = sizeof("text/html") - 1;
        r->headers_out.charset.len = sizeof("utf-8") - 1;
        r->headers_out.charset.data = r->headers_out.content_type.data
                                      + sizeof("text/html; charset=") - 1;
    }

    r->headers_out.content_type_lowcase = NULL;
}


ngx_int_t
ngx_http_outage_page_send(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap)
{
    ngx_int_t                    rc;
    ngx_chain_t                 *out;
    ngx_http_outage_page_ctx_t  *ctx;

    ctx = ngx_http_outage_page_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->page = 1;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    if (ngx_http_outage_page_prepare(r, olcf, snap, 3, &out) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/*
 * Sets the page's status and headers and puts its body into *out (NULL
 * for a header-only response).  The page talks about the most severe of
 * the location's scopes at min_rank or above, or is generic if none is.
 * The body comes from the location's cache, one per kind of page (access
 * or intercept, HTML or JSON), rendered at most once per snapshot second
 * (see ngx_http_outage_cache_find() in render.c); only Retry-After is
 * computed per request.
 */

static ngx_int_t
ngx_http_outage_page_prepare(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_uint_t min_rank, ngx_chain_t **out)
{
    static ngx_str_t  problem = ngx_string("application/problem+json");

    u_char                   *p;
    long                      retry;
    size_t                    n, at;
    time_t                    now;
    ngx_str_t                 body, nonce, part[3];
    ngx_uint_t                json;
    ngx_http_outage_blob_t   *blob;
    ngx_http_outage_view_t   *worst;
    ngx_http_outage_cache_t  *cache;

    /* a snapshot's second is the time its views, and the cache, are for */
    now = snap ? snap->built : ngx_time();
    worst = ngx_http_outage_worst(snap, olcf->page_scopes, min_rank);
    json = ngx_http_outage_page_json_wanted(r, olcf);

    cache = NULL;
    blob = NULL;

    if (snap && olcf->page_cache) {
        cache = &olcf->page_cache[(min_rank < 3 ? 2 : 0) + json];
        blob = ngx_http_outage_cache_find(cache, snap);
    }

    if (blob) {
        body.data = blob->data;
        body.len = blob->len;

    } else if (ngx_http_outage_page_render(r, olcf, snap, worst, now, json,
                                           cache, &body)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    *out = NULL;

    /* the built-in page's <style> carries the nonce; a template its own */
    ngx_str_null(&nonce);
    at = 0;

    if (!json && olcf->page_template.len == 0) {
        if (ngx_http_outage_nonce_attr(r, olcf, &nonce) != NGX_OK) {
            return NGX_ERROR;
        }

        at = ngx_http_outage_page_nonce_at(body.data, body.len);

        if (at == 0) {
            nonce.len = 0;
        }
    }

    if (!r->header_only && body.len) {
        if (cache && ngx_http_outage_cache_hold(r, cache->current) != NGX_OK)
        {
            return NGX_ERROR;
        }

        part[0] = body;
        part[1] = nonce;
        part[2].len = 0;

        if (nonce.len) {
            part[0].len = at;
            part[2].data = body.data + at;
            part[2].len = body.len - at;
        }

        if (ngx_http_outage_page_chain(r, part, 3, out) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    r->headers_out.status = olcf->page_status;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = body.len + nonce.len;

    ngx_http_outage_page_type(r, json ? &problem : NULL);

    /* as the body says: the default, or the time to the ETA */
    retry = (long) olcf->page_retry_after;

    if (worst) {
        retry = ngx_http_outage_page_retry_after(worst->eta,
                    ngx_http_outage_page_end(worst, now), now, retry);
    }

    if (retry > 0) {
        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        n = ngx_http_outage_ltoa(p, retry);

        if (ngx_http_outage_header_push(r, "Retry-After", 11, p, n) == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_outage_header_push(r, "Cache-Control", 13,
                                    (u_char *) "no-store", 8)
        == NULL)
    {
        return NGX_ERROR;
    }

    /*
     * Says whose answer this is: "paged", this module's verdict on a
     * scope, which a probe of another nginx running the module must not
     * take for its application's (health.c); "intercepted", a backend's
     * failure that the page replaced.
     */
    if (ngx_http_outage_header_push(r, "X-Outage-Page", 13,
                                    (u_char *) (min_rank < 3 ? "intercepted"
                                                             : "paged"),
                                    min_rank < 3 ? 11 : 5)
        == NULL)
    {
        return NGX_ERROR;
    }

    if (olcf->page_format == NGX_HTTP_OUTAGE_FORMAT_AUTO
        && ngx_http_outage_header_push(r, "Vary", 4, (u_char *) "Accept", 6)
           == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Renders the body into the cache (cache->current, *body pointing there)
 * or, without a cache, into the request pool.
 */

static ngx_int_t
ngx_http_outage_page_render(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *worst, time_t now, ngx_uint_t json,
    ngx_http_outage_cache_t *cache, ngx_str_t *body)
{
    u_char                        *comp, *dst;
    size_t                         len, clen, n;
    ngx_uint_t                     i, j, k, id, *ids, rank;
    ngx_http_outage_blob_t        *blob;
    ngx_http_outage_view_t        *v;
    ngx_http_outage_page_t         page;
    ngx_str_t                      link, *label;
    ngx_http_outage_page_scope_t  *ps, tmp;
    ngx_http_outage_main_conf_t   *omcf;

    ngx_memzero(&page, sizeof(ngx_http_outage_page_t));

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);
    ngx_http_outage_status_link(r, &link);

    page.status_link = link.data;
    page.status_link_len = link.len;
    page.tz = omcf->tz;
    page.tz_name = omcf->tz_name.data;
    page.tz_name_len = omcf->tz_name.len;
    page.status = (int) olcf->page_status;
    page.now = now;
    page.refresh = (long) olcf->page_refresh;
    page.retry_after = (long) olcf->page_retry_after;

    ps = ngx_pcalloc(r->pool, olcf->page_scopes->nelts
                              * sizeof(ngx_http_outage_page_scope_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ids = olcf->page_scopes->elts;
    n = 0;

    /* every affected scope of the location, most severe first */
    for (i = 0; snap && i < olcf->page_scopes->nelts; i++) {
        id = ids[i];

        for (j = 0; j < i; j++) {
            if (ids[j] == id) {
                break;
            }
        }

        v = &snap->scopes[id];
        rank = ngx_http_outage_state_rank(v->state);

        if (j < i || v->announced || rank < 2) {
            continue;
        }

        tmp.name = v->name.data;
        tmp.name_len = v->name.len;
        label = ngx_http_outage_scope_label(omcf, id);
        tmp.label = label ? label->data : NULL;
        tmp.label_len = label ? label->len : 0;
        tmp.state = (int) v->state;
        tmp.source = (int) v->source;
        tmp.since = v->since;
        tmp.eta = v->eta;
        tmp.checked = ngx_http_outage_view_checked(snap, v);
        tmp.message = v->message.data;
        tmp.message_len = v->message.len;
        tmp.eta_text = v->eta_text.data;
        tmp.eta_text_len = v->eta_text.len;
        tmp.link = v->link.data;
        tmp.link_len = v->link.len;

        for (k = n; k > 0; k--) {
            if (ngx_http_outage_state_rank(ps[k - 1].state) >= rank) {
                break;
            }

            ps[k] = ps[k - 1];
        }

        ps[k] = tmp;
        n++;
    }

    page.scopes = ps;
    page.nscopes = n;

    for (i = 0; worst && i < n; i++) {
        if (ps[i].name == worst->name.data) {
            page.main = &ps[i];
            page.retry_after = ngx_http_outage_page_retry_after(
                                   worst->eta,
                                   ngx_http_outage_page_end(worst, now),
                                   now, page.retry_after);
            break;
        }
    }

    /* measure, allocate, write: the same code path, so the sizes agree */
    comp = NULL;
    clen = 0;

    if (json) {
        len = ngx_http_outage_page_json(NULL, 0, &page);

    } else if (olcf->page_template.len) {
        clen = ngx_http_outage_page_components(NULL, 0, &page);

        comp = ngx_pnalloc(r->pool, clen ? clen : 1);
        if (comp == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_outage_page_components(comp, clen, &page) != clen) {
            goto mismatch;
        }

        len = ngx_http_outage_page_template(NULL, 0,
                                            olcf->page_template.data,
                                            olcf->page_template.len,
                                            &page, comp, clen);

    } else {
        len = ngx_http_outage_page_html(NULL, 0, &page);
    }

    blob = NULL;

    if (cache) {
        blob = ngx_http_outage_cache_reserve(cache, len, r->connection->log);
        if (blob == NULL) {
            return NGX_ERROR;
        }

        dst = blob->data;

    } else {
        dst = ngx_pnalloc(r->pool, len ? len : 1);
        if (dst == NULL) {
            return NGX_ERROR;
        }
    }

    if (json) {
        n = ngx_http_outage_page_json(dst, len, &page);

    } else if (olcf->page_template.len) {
        n = ngx_http_outage_page_template(dst, len,
                                          olcf->page_template.data,
                                          olcf->page_template.len,
                                          &page, comp, clen);

    } else {
        n = ngx_http_outage_page_html(dst, len, &page);
    }

    if (n != len) {
        goto mismatch;
    }

    body->data = dst;
    body->len = len;

    if (blob) {
        blob->len = len;
        ngx_http_outage_cache_store(cache, blob, snap);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: maintenance page rendered, %uz bytes, "
                       "json: %ui", len, json);
    }

    return NGX_OK;

mismatch:

    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "outage: maintenance page size changed between measuring "
                  "and writing");

    return NGX_ERROR;
}


static ngx_uint_t
ngx_http_outage_page_json_wanted(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf)
{
    if (olcf->page_format != NGX_HTTP_OUTAGE_FORMAT_AUTO) {
        return olcf->page_format == NGX_HTTP_OUTAGE_FORMAT_JSON;
    }

    return ngx_http_outage_accept(r, ngx_http_outage_page_wants_json);
}


/*
 * A body sent in place: one buffer per non-empty part (memory the request
 * holds until it is finished); *out is NULL when all are empty.
 */

ngx_int_t
ngx_http_outage_page_chain(ngx_http_request_t *r, ngx_str_t *part,
    ngx_uint_t n, ngx_chain_t **out)
{
    ngx_buf_t     *b;
    ngx_uint_t     i;
    ngx_chain_t   *cl, **ll;

    *out = NULL;
    ll = out;
    b = NULL;

    for (i = 0; i < n; i++) {
        if (part[i].len == 0) {
            continue;
        }

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->pos = part[i].data;
        b->last = part[i].data + part[i].len;
        b->memory = 1;

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = b;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    if (b) {
        b->last_buf = (r == r->main) ? 1 : 0;
        b->last_in_chain = 1;
    }

    return NGX_OK;
}


/*
 * A response header of the module's own (key and value stay where they
 * are: literals, or memory of the request); NULL: no memory.  Also used
 * by the status page and the banner filter.
 */

ngx_table_elt_t *
ngx_http_outage_header_push(ngx_http_request_t *r, char *key, size_t key_len,
    u_char *value, size_t value_len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.len = key_len;
    h->key.data = (u_char *) key;
    h->value.len = value_len;
    h->value.data = value;
    h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


/* ---- bypass -------------------------------------------------------------- */

/*
 * Whether r is a probe of this nginx that this location lets through as
 * its own (health.c): the mark, and the request of a check whose scope
 * the location pages.  The page's pass and the limits' skip are this one
 * decision, bound to the location on purpose.  A probe makes no
 * subrequests: one (an SSI include of the answer) has the main request's
 * URI, which would match the probe's.
 */

ngx_uint_t
ngx_http_outage_page_probe(ngx_http_request_t *r)
{
    ngx_http_outage_page_ctx_t  *ctx;
    ngx_http_outage_loc_conf_t  *olcf;

    if (r != r->main) {
        return 0;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (olcf->page_scopes == NULL) {
        return 0;
    }

    ctx = ngx_http_outage_page_ctx(r, 0);

    return ctx && ctx->probe_mark
           && ngx_http_outage_health_probe_request(r, ctx->probe_mark);
}


/*
 * $outage_probe (the upstream caches' bypass, upcache.c) is not bound to
 * the location: the cache is often where the paging location hands the
 * request on (try_files ... @app), or where a check's URL lands without
 * a page.  Any check's method and URL with the mark is enough; the mark
 * survives redirects in the context.
 */

ngx_uint_t
ngx_http_outage_page_probe_any(ngx_http_request_t *r)
{
    ngx_http_outage_page_ctx_t  *ctx;

    if (r != r->main) {
        return 0;
    }

    ctx = ngx_http_outage_page_ctx(r, 0);

    return ctx && ctx->probe_mark
           && ngx_http_outage_health_probe_any(r, ctx->probe_mark);
}


static ngx_uint_t
ngx_http_outage_bypass(ngx_http_request_t *r, ngx_http_outage_loc_conf_t *olcf)
{
    ngx_uint_t                    budget;
    ngx_http_outage_main_conf_t  *omcf;
#if (nginx_version >= 1023000)
    ngx_table_elt_t              *h;
#else
    ngx_uint_t                    i;
    ngx_table_elt_t             **h;
#endif

    /* a probe of this nginx judges the backend, not this page */
    if (ngx_http_outage_page_probe(r)) {
        return NGX_HTTP_OUTAGE_BYPASS_PROBE;
    }

    if (olcf->bypass) {
        switch (ngx_http_test_predicates(r, olcf->bypass)) {

        case NGX_ERROR:
            return (ngx_uint_t) NGX_ERROR;

        case NGX_DECLINED:
            return NGX_HTTP_OUTAGE_BYPASS_PREDICATE;

        default: /* NGX_OK */
            break;
        }
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);

    if (omcf->bypass_secret.len == 0) {
        return 0;
    }

    budget = NGX_HTTP_OUTAGE_BYPASS_COOKIES;

#if (nginx_version >= 1023000)

    for (h = r->headers_in.cookie; h && budget; h = h->next) {
        if (ngx_http_outage_cookie_valid(r, omcf, &h->value, &budget)) {
            return NGX_HTTP_OUTAGE_BYPASS_COOKIE;
        }
    }

#else

    h = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts && budget; i++) {
        if (ngx_http_outage_cookie_valid(r, omcf, &h[i]->value, &budget)) {
            return NGX_HTTP_OUTAGE_BYPASS_COOKIE;
        }
    }

#endif

    return 0;
}


/*
 * Any cookie of the configured name that is well-formed, not expired, not
 * further ahead than outage_bypass_ttl allows (a shortened TTL takes effect
 * at once), and carries the right HMAC.  At most *budget cookies of the
 * name are examined in all.
 */

static ngx_uint_t
ngx_http_outage_cookie_valid(ngx_http_request_t *r,
    ngx_http_outage_main_conf_t *omcf, ngx_str_t *header, ngx_uint_t *budget)
{
#if (NGX_OPENSSL)
    u_char      mac[NGX_HTTP_OUTAGE_MAC_LEN], want[NGX_HTTP_OUTAGE_MAC_LEN];
    size_t      pos, vlen, dlen;
    time_t      expiry, now;
    const char *reason;
    const u_char  *v;

    pos = 0;
    now = ngx_time();

    while (*budget
           && ngx_http_outage_cookie_next(header->data, header->len, &pos,
                                          omcf->bypass_cookie.data,
                                          omcf->bypass_cookie.len, &v, &vlen))
    {
        (*budget)--;

        if (ngx_http_outage_cookie_parse(v, vlen, &expiry, &dlen, mac) != 0) {
            reason = "malformed";

        } else if (expiry <= now) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "outage: bypass cookie \"%V\" expired",
                           &omcf->bypass_cookie);
            continue;

        } else if (expiry - now > omcf->bypass_ttl + 60) {
            reason = "expiry beyond outage_bypass_ttl";

        } else if (ngx_http_outage_mac(&omcf->bypass_secret, (u_char *) v,
                                       dlen, want)
                   != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "outage: HMAC-SHA256 failed while checking bypass "
                          "cookie \"%V\"", &omcf->bypass_cookie);
            return 0;

        } else if (ngx_http_outage_ct_equal(mac, want,
                                            NGX_HTTP_OUTAGE_MAC_LEN))
        {
            return 1;

        } else if (omcf->bypass_previous.len
                   && now < omcf->bypass_previous_until
                   && ngx_http_outage_mac(&omcf->bypass_previous,
                                          (u_char *) v, dlen, want)
                      == NGX_OK
                   && ngx_http_outage_ct_equal(mac, want,
                                               NGX_HTTP_OUTAGE_MAC_LEN))
        {
            /* signed before the rotation, within its grace period */
            return 1;

        } else {
            reason = "bad signature";
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "outage: bypass cookie \"%V\" rejected: %s",
                      &omcf->bypass_cookie, reason);
    }

#endif

    return 0;
}


#if (NGX_OPENSSL)

static ngx_int_t
ngx_http_outage_mac(ngx_str_t *secret, u_char *msg, size_t len, u_char *mac)
{
    unsigned int  n;

    n = NGX_HTTP_OUTAGE_MAC_LEN;

    if (HMAC(EVP_sha256(), secret->data, (int) secret->len, msg, len, mac, &n)
        == NULL
        || n != NGX_HTTP_OUTAGE_MAC_LEN)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}

#endif


/* ---- staff login --------------------------------------------------------- */

#if (NGX_OPENSSL)

static ngx_uint_t
ngx_http_outage_cookie_always_secure(ngx_str_t *name)
{
    return (name->len > 7
            && ngx_strncmp(name->data, "__Host-", 7) == 0)
           || (name->len > 9
               && ngx_strncmp(name->data, "__Secure-", 9) == 0);
}

#endif


ngx_int_t
ngx_http_outage_bypass_login_handler(ngx_http_request_t *r)
{
#if (NGX_OPENSSL)
    u_char                       *p, *last, *cookie, *html;
    u_char                        mac[NGX_HTTP_OUTAGE_MAC_LEN];
    u_char                        digits[NGX_INT64_LEN];
    u_char                        iso[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t                        len, dlen;
    time_t                        expiry;
    ngx_int_t                     rc;
    ngx_str_t                     arg;
    ngx_buf_t                    *b;
    ngx_uint_t                    off, secure;
    ngx_chain_t                   out;
    ngx_http_outage_main_conf_t  *omcf;

    rc = ngx_http_outage_get_or_head(r);
    if (rc != NGX_OK) {
        return rc;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);

    if (omcf->bypass_secret.len == 0) {
        /* nginx -t refuses this; kept for safety */
        return NGX_HTTP_NOT_FOUND;
    }

    off = (ngx_http_arg(r, (u_char *) "off", 3, &arg) == NGX_OK);

    /*
     * The "__Host-" and "__Secure-" name prefixes (RFC 6265bis) are the
     * always-Secure choice: behind a TLS load balancer nginx cannot tell,
     * and a browser refuses such a cookie without Secure.
     */
    secure = ngx_http_outage_cookie_always_secure(&omcf->bypass_cookie);
#if (NGX_HTTP_SSL)
    secure |= (r->connection->ssl != NULL);
#endif

    expiry = ngx_time() + omcf->bypass_ttl;

    cookie = ngx_pnalloc(r->pool, omcf->bypass_cookie.len
                                  + NGX_HTTP_OUTAGE_COOKIE_LEN
                                  + sizeof("=; Path=/; Max-Age=; HttpOnly; "
                                           "SameSite=Lax; Secure") - 1
                                  + NGX_TIME_T_LEN);
    if (cookie == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(cookie, omcf->bypass_cookie.data, omcf->bypass_cookie.len);
    *p++ = '=';

    if (off) {
        p = ngx_sprintf(p, "; Path=/; Max-Age=0");

    } else {
        dlen = ngx_http_outage_cookie_expiry(digits, expiry);

        if (ngx_http_outage_mac(&omcf->bypass_secret, digits, dlen, mac)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "outage: HMAC-SHA256 failed while issuing bypass "
                          "cookie \"%V\"", &omcf->bypass_cookie);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p += ngx_http_outage_cookie_format(p, expiry, mac);
        p = ngx_sprintf(p, "; Path=/; Max-Age=%T", omcf->bypass_ttl);
    }

    p = ngx_cpymem(p, "; HttpOnly; SameSite=Lax", 24);

    if (secure) {
        p = ngx_cpymem(p, "; Secure", 8);
    }

    if (ngx_http_outage_header_push(r, "Set-Cookie", 10, cookie, p - cookie)
        == NULL
        || ngx_http_outage_header_push(r, "Cache-Control", 13,
                                       (u_char *) "no-store", 8)
           == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_outage_format_time(iso, expiry);

    if (off) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "outage: bypass cookie \"%V\" cleared for %V",
                      &omcf->bypass_cookie, &r->connection->addr_text);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "outage: bypass cookie \"%V\" issued to %V, valid "
                      "until %s", &omcf->bypass_cookie,
                      &r->connection->addr_text, iso);
    }

    html = ngx_pnalloc(r->pool, 2048);
    if (html == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = html + 2048;

    p = ngx_slprintf(html, last,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
            "<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" "
            "content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"robots\" content=\"noindex\">\n"
            "<title>Outage bypass</title>\n"
            "<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;"
            "padding:48px 16px;background:#f3f4f6;color:#111827}"
            "main{max-width:520px;margin:0 auto;background:#fff;"
            "border-radius:12px;padding:28px 32px;"
            "box-shadow:0 8px 24px rgba(0,0,0,.08)}h1{margin-top:0;"
            "font-size:1.375rem}</style>\n</head>\n<body><main>\n");

    if (off) {
        p = ngx_slprintf(p, last, "<h1>Outage bypass turned off</h1>\n"
                         "<p>This browser sees the maintenance page "
                         "again whenever it is shown.</p>\n");

    } else {
        p = ngx_slprintf(p, last, "<h1>Outage bypass is on</h1>\n"
                         "<p>This browser now skips the maintenance page "
                         "and reaches the site, until <strong>%s</strong> "
                         "(UTC) or until the cookie is removed.</p>\n"
                         "<p><a href=\"?off=1\">Turn the bypass off"
                         "</a></p>\n", iso);
    }

    p = ngx_slprintf(p, last, "</main></body>\n</html>\n");
    len = p - html;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_http_outage_page_type(r, NULL);

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = html;
    b->last = p;
    b->memory = 1;
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);

#else

    return NGX_HTTP_NOT_FOUND;

#endif
}


/* ---- configuration checks ------------------------------------------------ */

char *
ngx_http_outage_page_merge(ngx_conf_t *cf, ngx_http_outage_loc_conf_t *conf)
{
#if (NGX_OPENSSL)
    ngx_http_outage_main_conf_t  *omcf;
#endif

    /*
     * The per-worker renderings of this location (filled in the worker):
     * the banner's, and the page's four kinds (access or intercept, HTML
     * or JSON).  The only merge hook of the banner and page code is here.
     */
    if (conf->banner && conf->banner_cache == NULL) {
        conf->banner_cache = ngx_pcalloc(cf->pool,
                                         sizeof(ngx_http_outage_cache_t));
        if (conf->banner_cache == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (conf->page_scopes && conf->page_cache == NULL) {
        conf->page_cache = ngx_pcalloc(cf->pool,
                                       4 * sizeof(ngx_http_outage_cache_t));
        if (conf->page_cache == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* no upstream cache may answer a probe (upcache.c) */
    if (ngx_http_outage_upcache_note(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->bypass_login != 1) {
        return NGX_CONF_OK;
    }

#if !(NGX_OPENSSL)

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"outage_bypass_login\" needs nginx built with "
                       "OpenSSL to sign the bypass cookie");
    return NGX_CONF_ERROR;

#else

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    if (omcf->bypass_secret.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_bypass_login\" needs "
                           "\"outage_bypass_secret <file>\" in the http "
                           "block to sign the bypass cookie");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

#endif
}


/*
 * "outage_bypass_secret file previous=file [grace=time]": after writing a
 * new secret, cookies signed with the previous one stay valid for "grace"
 * (default 1h) from the new file's modification time, which does not move
 * with reloads; then they are refused as if never issued.
 */

char *
ngx_http_outage_bypass_rotation(ngx_conf_t *cf,
    ngx_http_outage_main_conf_t *omcf)
{
    u_char           *p, *last, iso[NGX_HTTP_OUTAGE_TIME_LEN];
    time_t            grace;
    ngx_str_t        *value, name, previous, secret, s;
    ngx_uint_t        i;
    ngx_file_info_t   fi;

    value = cf->args->elts;
    grace = NGX_CONF_UNSET;
    ngx_str_null(&previous);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "previous=", 9) == 0
            && value[i].len > 9)
        {
            previous.data = value[i].data + 9;
            previous.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "grace=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            grace = ngx_parse_time(&s, 1);

            if (grace == (time_t) NGX_ERROR || grace <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_bypass_secret\": invalid time "
                                   "in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_bypass_secret\": unknown parameter "
                           "\"%V\", expected previous=file or grace=time",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (previous.len == 0) {
        if (grace != NGX_CONF_UNSET) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_bypass_secret\": \"grace=\" needs "
                               "\"previous=file\"");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (grace == NGX_CONF_UNSET) {
        grace = 3600;
    }

    /* the rotation time: when the new secret was written */

    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(name.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"outage_bypass_secret\": cannot stat \"%s\"",
                           name.data);
        return NGX_CONF_ERROR;
    }

    /*
     * A modification time in the future (clock skew, a copied file) would
     * stretch the old secret's grace without bound: count from now then.
     */
    omcf->bypass_previous_until = ngx_min(ngx_file_mtime(&fi), ngx_time())
                                  + grace;

    if (ngx_http_outage_conf_file(cf, &value[0], 1, "previous secret ",
                                  &previous, 4096, &secret)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    p = secret.data;
    last = p + secret.len;

    while (last > p && (last[-1] == '\n' || last[-1] == '\r'
                        || last[-1] == ' '))
    {
        last--;
    }

    if (last - p < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_bypass_secret\": previous secret "
                           "\"%s\" must hold 16 bytes to 4k of secret",
                           previous.data);
        return NGX_CONF_ERROR;
    }

    omcf->bypass_previous.data = p;
    omcf->bypass_previous.len = last - p;

    if (omcf->bypass_previous.len == omcf->bypass_secret.len
        && ngx_memcmp(p, omcf->bypass_secret.data, omcf->bypass_secret.len)
           == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_bypass_secret\": the previous secret is "
                           "the current one");
        return NGX_CONF_ERROR;
    }

    ngx_http_outage_format_time(iso, omcf->bypass_previous_until);

    if (ngx_time() >= omcf->bypass_previous_until) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"outage_bypass_secret\": the grace period of "
                           "the previous secret ended at %s, cookies signed "
                           "with it are refused; remove \"previous=\"", iso);
    }

    return NGX_CONF_OK;
}


/* ---- error interception filters ------------------------------------------ */

ngx_int_t
ngx_http_outage_page_filter_init(ngx_conf_t *cf)
{
    u_char                       *p, *last;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

#if !(NGX_OPENSSL)
    if (omcf->bypass_secret.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_bypass_secret\" needs nginx built with "
                           "OpenSSL to check the bypass cookie");
        return NGX_ERROR;
    }
#endif

    /* a cookie name is an RFC 6265 token; it goes into Set-Cookie as is */
    p = omcf->bypass_cookie.data;
    last = p + omcf->bypass_cookie.len;

    if (p == last) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_bypass_cookie\" must not be empty");
        return NGX_ERROR;
    }

    for ( /* void */ ; p < last; p++) {
        if (*p <= 0x20 || *p >= 0x7f
            || ngx_strchr("()<>@,;:\\\"/[]?={}", *p) != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_bypass_cookie\" name \"%V\" has "
                               "characters not allowed in a cookie name",
                               &omcf->bypass_cookie);
            return NGX_ERROR;
        }
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_outage_page_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_outage_page_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_page_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t                   status, bypass;
    ngx_chain_t                 *out;
    ngx_http_outage_shm_t       *shm;
    ngx_http_outage_view_t      *worst;
    ngx_http_outage_snapshot_t  *snap;
    ngx_http_outage_page_ctx_t  *ctx;
    ngx_http_outage_loc_conf_t  *olcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_outage_page_ctx(r, 0);

    if (ctx && ctx->bypass) {
        if (ngx_http_outage_header_push(r, "X-Outage-Bypass", 15,
                ngx_http_outage_bypass_names[ctx->bypass].data,
                ngx_http_outage_bypass_names[ctx->bypass].len)
            == NULL)
        {
            return NGX_ERROR;
        }

        return ngx_http_next_header_filter(r);
    }

    if (ctx && ctx->page) {
        return ngx_http_next_header_filter(r);
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (olcf->page_scopes == NULL || !olcf->page_intercept
        || r->upstream == NULL
        || (ctx && (void *) r->upstream == ctx->inherited))
    {
        return ngx_http_next_header_filter(r);
    }

    status = r->headers_out.status;

    if (status != NGX_HTTP_BAD_GATEWAY
        && status != NGX_HTTP_SERVICE_UNAVAILABLE
        && status != NGX_HTTP_GATEWAY_TIME_OUT)
    {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_outage_page_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    shm = ngx_http_outage_shm();

    /* staff who bypass see what the backend really answers */
    bypass = ngx_http_outage_bypass(r, olcf);

    if (bypass == (ngx_uint_t) NGX_ERROR) {
        return NGX_ERROR;
    }

    if (bypass) {
        if (!ctx->counted && shm) {
            (void) ngx_atomic_fetch_add(&shm->bypasses, 1);
        }

        ctx->counted = 1;
        ctx->bypass = bypass;

        if (ngx_http_outage_header_push(r, "X-Outage-Bypass", 15,
                ngx_http_outage_bypass_names[bypass].data,
                ngx_http_outage_bypass_names[bypass].len)
            == NULL)
        {
            return NGX_ERROR;
        }

        return ngx_http_next_header_filter(r);
    }

    snap = ngx_http_outage_snapshot(r);
    worst = ngx_http_outage_worst(snap, olcf->page_scopes, 2);

    /*
     * With every scope of the location up there is no incident to show: a
     * 503 the application chose (its error code, its Retry-After) is its
     * evidence, not ours, and passes untouched.  A 502 or 504 that came
     * with a response header is by definition (RFC 9110 15.6.3, 15.6.5) a
     * proxy in between saying that its own upstream failed (a load
     * balancer, an ingress in front of a dead application): nginx's error
     * in all but name, replaced as nginx's own.
     */
    if (worst == NULL && status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_http_outage_page_app_status(r))
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: backend answered %ui itself, scopes up: "
                       "not intercepted", status);
        return ngx_http_next_header_filter(r);
    }

    ngx_http_outage_intercept_log(r, olcf, snap, worst, status);

    /* nothing of the failed answer survives: status, headers, body */
    ngx_http_clean_header(r);
    r->err_status = 0;

    ctx->intercept = 1;
    ctx->page = 1;

    if (ngx_http_outage_page_prepare(r, olcf, snap, 2, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->out = out;

    if (shm) {
        (void) ngx_atomic_fetch_add(&shm->intercepts, 1);
    }

    return ngx_http_next_header_filter(r);
}


/*
 * Whether the failing status being sent is the upstream's own answer.
 * nginx's own error (ngx_http_upstream_finalize_request() with 502/504 for
 * a refused or reset connection, a timeout, an invalid or too big header,
 * "no live upstreams", an unresolved name) goes through the special
 * response handler, which sets err_status.  An answer the upstream sent
 * has its header parsed first: header_time is set only then
 * (ngx_http_upstream_process_header()); a cached one is the application's
 * too.  Anything else is taken for nginx's.
 */

static ngx_uint_t
ngx_http_outage_page_app_status(ngx_http_request_t *r)
{
    ngx_http_upstream_t  *u;

    if (r->err_status) {
        return 0;
    }

    if (r->cached) {
        return 1;
    }

    u = r->upstream;

    return u != NULL && u->state != NULL
           && u->state->header_time != (ngx_msec_t) -1;
}


/*
 * The one line that says why a backend's answer was replaced: by the
 * location's scope that is degraded or worse, or, with every scope of the
 * location up, by the backend's own failure (the page then says nothing
 * of an incident).  Scope names are configuration text.
 */

static void
ngx_http_outage_intercept_log(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *worst, ngx_uint_t status)
{
    u_char                       *p, *last;
    u_char                        names[256];
    ngx_str_t                    *scopes;
    ngx_uint_t                    i, j, n, *ids;
    ngx_http_outage_main_conf_t  *omcf;

    /* ngx_log_error() checks the level too, but only after the names */
    if (r->connection->log->log_level < NGX_LOG_INFO) {
        return;
    }

    if (worst) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "outage: backend answered %ui, serving the "
                      "maintenance page instead: scope \"%V\" is %s",
                      status, &worst->name,
                      ngx_http_outage_state_name(worst->state));
        return;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);
    scopes = omcf->scopes.elts;
    ids = olcf->page_scopes->elts;

    p = names;
    last = names + sizeof(names);
    n = 0;

    for (i = 0; i < olcf->page_scopes->nelts; i++) {
        for (j = 0; j < i; j++) {
            if (ids[j] == ids[i]) {
                break;
            }
        }

        if (j < i || ids[i] >= omcf->scopes.nelts) {
            continue;
        }

        p = ngx_slprintf(p, last, "%s\"%V\"", n ? ", " : "",
                         &scopes[ids[i]]);
        n++;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "outage: backend answered %ui, serving the maintenance "
                  "page instead: scope%s %*s %s, the backend itself "
                  "failed", status, n == 1 ? "" : "s", p - names, names,
                  snap == NULL ? "not known yet"
                               : (n == 1 ? "is up" : "are up"));
}


static ngx_int_t
ngx_http_outage_page_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                   *b;
    ngx_chain_t                 *cl;
    ngx_http_outage_page_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_outage_page_ctx(r, 0);

    if (ctx == NULL || !ctx->intercept) {
        return ngx_http_next_body_filter(r, in);
    }

    /* the failed answer's body is dropped: mark every buffer consumed */
    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;
        b->pos = b->last;

        if (b->in_file) {
            b->file_pos = b->file_last;
        }
    }

    if (ctx->sent || ctx->out == NULL) {
        /*
         * nothing to send: below postpone an empty call reaches the write
         * filter ("the http output chain is empty"), so only a connection
         * with buffered output is asked to go on (as postpone does)
         */
        if (r->connection->buffered) {
            return ngx_http_next_body_filter(r, NULL);
        }

        return NGX_OK;
    }

    ctx->sent = 1;

    return ngx_http_next_body_filter(r, ctx->out);
}
