
/*
 * ngx_outage_module: the per-worker renderings.
 *
 * Owns the caches (ngx_http_outage_cache_t) that the banner, the
 * maintenance page and the status page are sent from: rendered once per
 * snapshot generation and second, held by the requests that send them,
 * and the memory they live in.  What is rendered belongs to the banner,
 * page and status page code; this file only keeps the bytes.
 */


#include "ngx_http_outage_module.h"


static void ngx_http_outage_blob_release(void *data);
static void ngx_http_outage_cache_cleanup(void *data);


/*
 * Per-worker renderings.  One made from a snapshot stays valid for as long
 * as the snapshot's generation and second do: the views are derived from
 * exactly these, and every time the text shows ("in 45 min", "just now")
 * from the second, so nothing else can change it and it is never stale
 * (a banner is rendered at most once a second, a few microseconds).
 * Requests do not copy it: each holds the blob (a count, dropped by a
 * request pool cleanup) and sends it in place; a new rendering only goes
 * into a blob no request holds, so a slow client still reads the bytes it
 * was given.  Idle blobs beyond the one being reused are freed, so the
 * count follows the number held.
 *
 * Blobs are the worker's own heap memory (ngx_alloc), given back with
 * ngx_free as soon as they are idle, and any left when the cycle's pool is
 * destroyed.  Not the cycle pool: ngx_pfree() gives a large block back but
 * keeps its list entry, and the pool looks for a free entry among the
 * first few only, so every block allocated anew (no idle one fits: a
 * longer text, slow clients holding the others) left an entry behind for
 * the worker's lifetime.  The cycle a cache is registered with is the
 * worker's; a single-process nginx renders nothing after a reload (its
 * snapshots refuse the new configuration, see decision.c).
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
    ngx_pool_cleanup_t      *cln;
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
        ngx_free(b);
    }

    if (found) {
        found->len = 0;
        return found;
    }

    if (!cache->cleanup) {
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return NULL;
        }

        cln->handler = ngx_http_outage_cache_cleanup;
        cln->data = cache;
        cache->cleanup = 1;
    }

    /* a page at least: fewer sizes, so an idle blob fits the next text */
    alloc = ngx_max(sizeof(ngx_http_outage_blob_t) + size, ngx_pagesize);

    b = ngx_alloc(alloc, log);
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

    cln = ngx_palloc(r->pool, sizeof(ngx_pool_cleanup_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ngx_http_outage_cache_hold_in(r, blob, cln);

    return NGX_OK;
}


/*
 * As ngx_http_outage_cache_hold(), with a cleanup entry of the caller's
 * memory (part of its per-response allocation, which lives as long as the
 * pool): linked as ngx_pool_cleanup_add() links its own, no allocation.
 */

void
ngx_http_outage_cache_hold_in(ngx_http_request_t *r,
    ngx_http_outage_blob_t *blob, ngx_pool_cleanup_t *cln)
{
    cln->handler = ngx_http_outage_blob_release;
    cln->data = blob;
    cln->next = r->pool->cleanup;
    r->pool->cleanup = cln;

    blob->refs++;
}


static void
ngx_http_outage_blob_release(void *data)
{
    ngx_http_outage_blob_t  *blob = data;

    blob->refs--;
}


/*
 * The cycle's pool is destroyed: in a worker when it exits, in a
 * single-process nginx on reload.  No request holds a blob by then.
 */

static void
ngx_http_outage_cache_cleanup(void *data)
{
    ngx_http_outage_cache_t  *cache = data;

    ngx_http_outage_blob_t  *b, *next;

    for (b = cache->blobs; b; b = next) {
        next = b->next;
        ngx_free(b);
    }

    cache->blobs = NULL;
    cache->current = NULL;
    cache->cleanup = 0;
}
