
/*
 * ngx_outage_module: the decision.
 *
 * Owns the scope registry (names used anywhere in the configuration) and the
 * snapshots: private copies of what requests decide from (this
 * configuration's scopes and checks in the zone), taken when the zone's
 * generation changes, from which the effective state of every scope is
 * derived (Redis overrides health; stale Redis data ages out by the
 * documented rule; incident windows open and close by the clock).  A
 * request pins one snapshot for its whole life.  Everything here runs on
 * the request path, so it only reads memory and takes the zone lock only
 * when the state changed.
 */


#include "ngx_http_outage_module.h"


/*
 * Called from the directives that name scopes; cf->args[0] is the one being
 * parsed.  Names are echoed as a bounded, escaped preview: the reason must
 * not be cut off by nginx's 1 KB limit on a configuration message.
 */

ngx_int_t
ngx_http_outage_scope_add(ngx_conf_t *cf, ngx_str_t *name)
{
    u_char                       *p;
    u_char                        preview[64];
    size_t                        n;
    ngx_str_t                    *names, *scope, *directive;
    ngx_uint_t                    i;
    ngx_http_outage_main_conf_t  *omcf;

    directive = cf->args->elts;

    if (name->len == 0 || name->len >= NGX_HTTP_OUTAGE_NAME_MAX) {
        n = ngx_http_outage_log_preview(preview, sizeof(preview), name->data,
                                        name->len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": invalid scope name \"%*s\": 1 to %d "
                           "characters", &directive[0], n, preview,
                           NGX_HTTP_OUTAGE_NAME_MAX - 1);
        return NGX_ERROR;
    }

    for (p = name->data; p < name->data + name->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'
              || *p == '.'))
        {
            n = ngx_http_outage_log_preview(preview, sizeof(preview),
                                            name->data, name->len);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\": invalid scope name \"%*s\": only "
                               "letters, digits, \"_\", \"-\" and \".\" are "
                               "allowed", &directive[0], n, preview);
            return NGX_ERROR;
        }
    }

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);
    names = omcf->scopes.elts;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        if (names[i].len == name->len
            && ngx_strncmp(names[i].data, name->data, name->len) == 0)
        {
            return i;
        }
    }

    if (omcf->scopes.nelts >= NGX_HTTP_OUTAGE_MAX_SCOPES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": too many outage scopes, at most %d",
                           &directive[0], NGX_HTTP_OUTAGE_MAX_SCOPES);
        return NGX_ERROR;
    }

    scope = ngx_array_push(&omcf->scopes);
    if (scope == NULL) {
        return NGX_ERROR;
    }

    *scope = *name;

    return omcf->scopes.nelts - 1;
}


/*
 * Three layers, each shared as long as it stays the same, so that what
 * requests pin grows with what they use, not with how long they live:
 *
 *   state    the copy of this configuration's (decision) fields of the
 *            zone: one per zone generation, taken under the lock; each
 *            scope's texts (about 1 KB) are a block shared with the
 *            previous state while they are the same bytes, so an edit of
 *            one scope costs one block and the state's pointers;
 *   viewset  the effective view of every scope, derived from a state and
 *            the clock (windows open and close, Redis goes stale): one
 *            while no view changes, across seconds;
 *   snapshot what a request pins: a viewset, the second it was made in and
 *            the time of the last evidence per scope (which moves with
 *            every poll and probe): a struct and one time per scope.
 *
 * Each holds a reference to the layer below; the worker holds one to its
 * newest snapshot.  One freed object of each layer is kept for reuse, so
 * a worker whose requests are short allocates nothing while it runs.
 */

typedef struct {
    ngx_uint_t                     refs;    /* viewsets' */
    ngx_uint_t                     generation;
    ngx_uint_t                     guard_active;
    ngx_http_outage_snap_scope_t **data_scopes;     /* [scopes], shared */
    ngx_http_outage_snap_check_t  *data_checks;     /* [checks] */
} ngx_http_outage_state_t;


/*
 * One scope's copied texts, shared by the states of successive
 * generations while they do not change: a new generation made by an edit
 * of one scope's message costs one of these, not one per scope.
 */

typedef struct {
    ngx_uint_t                     refs;    /* states' */
    ngx_http_outage_snap_scope_t   data;
} ngx_http_outage_scope_block_t;


struct ngx_http_outage_viewset_s {
    ngx_uint_t                     refs;    /* snapshots' */
    ngx_http_outage_state_t       *state;   /* the views' texts */
    ngx_uint_t                     max_rank;
    ngx_http_outage_view_t        *views;   /* [scopes] */
};


typedef struct {
    void                          *spare;   /* one freed object */
    size_t                         size;
    ngx_uint_t                     live;    /* allocated, spare included */
} ngx_http_outage_layer_t;


/* per-process state, set up at process start */
static ngx_http_outage_snapshot_t  *ngx_http_outage_current;
static ngx_http_outage_layer_t      ngx_http_outage_states;
static ngx_http_outage_layer_t      ngx_http_outage_viewsets;
static ngx_http_outage_layer_t      ngx_http_outage_snapshots;
static ngx_http_outage_layer_t      ngx_http_outage_blocks;
static ngx_http_outage_main_conf_t *ngx_http_outage_snap_conf;
static ngx_http_outage_snap_scope_t ngx_http_outage_snap_none;

/* this worker's own sight of Redis past the "nobody polls" bound */
static struct {
    ngx_msec_t                       at;        /* when, on its clock */
    ngx_msec_t                       last_ok;   /* the success it saw */
    unsigned                         seen:1;
} ngx_http_outage_unpolled;


static void *ngx_http_outage_layer_alloc(ngx_http_outage_layer_t *layer,
    ngx_log_t *log);
static void ngx_http_outage_layer_free(ngx_http_outage_layer_t *layer,
    void *p);
static ngx_http_outage_state_t *ngx_http_outage_state_alloc(ngx_log_t *log);
static void ngx_http_outage_state_unref(ngx_http_outage_state_t *st);
static ngx_http_outage_viewset_t *ngx_http_outage_viewset_alloc(
    ngx_http_outage_state_t *st, ngx_log_t *log);
static void ngx_http_outage_viewset_unref(ngx_http_outage_viewset_t *vs);
static void ngx_http_outage_snapshot_unref(ngx_http_outage_snapshot_t *s);
static ngx_http_outage_snapshot_t *ngx_http_outage_snapshot_current(
    ngx_log_t *log);
static ngx_int_t ngx_http_outage_snapshot_copy(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_http_outage_state_t *n, ngx_http_outage_state_t *prev,
    ngx_log_t *log);
static void ngx_http_outage_build_views(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_viewset_t *vs,
    time_t *checked, time_t now);


ngx_int_t
ngx_http_outage_init_worker_view(ngx_cycle_t *cycle)
{
    ngx_uint_t                    nscopes, nchecks;
    ngx_http_outage_state_t      *st;
    ngx_http_outage_viewset_t    *vs;
    ngx_http_outage_snapshot_t   *s;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);

    nscopes = omcf->scopes.nelts;
    nchecks = omcf->checks.nelts;

    ngx_memzero(&ngx_http_outage_states, sizeof(ngx_http_outage_layer_t));
    ngx_memzero(&ngx_http_outage_viewsets, sizeof(ngx_http_outage_layer_t));
    ngx_memzero(&ngx_http_outage_snapshots, sizeof(ngx_http_outage_layer_t));
    ngx_memzero(&ngx_http_outage_blocks, sizeof(ngx_http_outage_layer_t));

    ngx_http_outage_states.size = sizeof(ngx_http_outage_state_t)
                      + nscopes * sizeof(ngx_http_outage_snap_scope_t *)
                      + nchecks * sizeof(ngx_http_outage_snap_check_t);
    ngx_http_outage_blocks.size = sizeof(ngx_http_outage_scope_block_t);
    ngx_http_outage_viewsets.size = sizeof(ngx_http_outage_viewset_t)
                      + nscopes * sizeof(ngx_http_outage_view_t);
    ngx_http_outage_snapshots.size = sizeof(ngx_http_outage_snapshot_t)
                      + nscopes * sizeof(time_t);

    ngx_http_outage_snap_conf = omcf;
    ngx_http_outage_current = NULL;

    /* an empty state, "built" at 0: the first request makes a real one */

    st = ngx_http_outage_state_alloc(cycle->log);
    if (st == NULL) {
        return NGX_ERROR;
    }

    vs = ngx_http_outage_viewset_alloc(st, cycle->log);
    if (vs == NULL) {
        ngx_http_outage_state_unref(st);
        return NGX_ERROR;
    }

    s = ngx_http_outage_layer_alloc(&ngx_http_outage_snapshots, cycle->log);
    if (s == NULL) {
        ngx_http_outage_viewset_unref(vs);
        return NGX_ERROR;
    }

    ngx_memzero(s, ngx_http_outage_snapshots.size);

    s->nscopes = nscopes;
    s->scopes = vs->views;
    s->viewset = vs;
    s->checked = (time_t *) ((u_char *) s
                             + sizeof(ngx_http_outage_snapshot_t));
    s->refs = 1;

    ngx_http_outage_current = s;

    return NGX_OK;
}


static void *
ngx_http_outage_layer_alloc(ngx_http_outage_layer_t *layer, ngx_log_t *log)
{
    void  *p;

    if (layer->spare) {
        p = layer->spare;
        layer->spare = NULL;
        return p;
    }

    /*
     * Not from a pool: objects pinned by long requests are freed in any
     * order, and a pool would keep them all until the worker exits.
     */
    p = ngx_alloc(layer->size, log);

    if (p) {
        layer->live++;
    }

    return p;
}


static void
ngx_http_outage_layer_free(ngx_http_outage_layer_t *layer, void *p)
{
    if (layer->spare == NULL) {
        layer->spare = p;
        return;
    }

    ngx_free(p);
    layer->live--;
}


static ngx_http_outage_state_t *
ngx_http_outage_state_alloc(ngx_log_t *log)
{
    u_char                   *p;
    ngx_http_outage_state_t  *st;

    st = ngx_http_outage_layer_alloc(&ngx_http_outage_states, log);
    if (st == NULL) {
        return NULL;
    }

    ngx_memzero(st, ngx_http_outage_states.size);

    p = (u_char *) st + sizeof(ngx_http_outage_state_t);
    st->data_scopes = (ngx_http_outage_snap_scope_t **) p;
    p += ngx_http_outage_snap_conf->scopes.nelts
         * sizeof(ngx_http_outage_snap_scope_t *);
    st->data_checks = (ngx_http_outage_snap_check_t *) p;
    st->refs = 1;

    return st;
}


static void
ngx_http_outage_state_unref(ngx_http_outage_state_t *st)
{
    ngx_uint_t                      i;
    ngx_http_outage_scope_block_t  *b;

    if (--st->refs) {
        return;
    }

    /* a state that failed to fill has NULL past its last block */

    for (i = 0; i < ngx_http_outage_snap_conf->scopes.nelts; i++) {
        if (st->data_scopes[i] == NULL) {
            continue;
        }

        b = (ngx_http_outage_scope_block_t *) ((u_char *) st->data_scopes[i]
                             - offsetof(ngx_http_outage_scope_block_t, data));

        if (--b->refs == 0) {
            ngx_http_outage_layer_free(&ngx_http_outage_blocks, b);
        }
    }

    ngx_http_outage_layer_free(&ngx_http_outage_states, st);
}


/* takes over the caller's reference to st */

static ngx_http_outage_viewset_t *
ngx_http_outage_viewset_alloc(ngx_http_outage_state_t *st, ngx_log_t *log)
{
    ngx_http_outage_viewset_t  *vs;

    vs = ngx_http_outage_layer_alloc(&ngx_http_outage_viewsets, log);
    if (vs == NULL) {
        return NULL;
    }

    ngx_memzero(vs, ngx_http_outage_viewsets.size);

    vs->views = (ngx_http_outage_view_t *) ((u_char *) vs
                                      + sizeof(ngx_http_outage_viewset_t));
    vs->state = st;
    vs->refs = 1;

    return vs;
}


static void
ngx_http_outage_viewset_unref(ngx_http_outage_viewset_t *vs)
{
    if (--vs->refs) {
        return;
    }

    ngx_http_outage_state_unref(vs->state);
    ngx_http_outage_layer_free(&ngx_http_outage_viewsets, vs);
}


static void
ngx_http_outage_snapshot_unref(ngx_http_outage_snapshot_t *s)
{
    if (--s->refs) {
        return;
    }

    ngx_http_outage_viewset_unref(s->viewset);
    ngx_http_outage_layer_free(&ngx_http_outage_snapshots, s);
}


/*
 * r->ctx of a main request that has no context yet (it was looked for):
 * never written, read as "none"; a redirect zeroes r->ctx, and the next
 * look walks the cleanup list once more.  Only then: nginx zeroes r->ctx
 * in an internal redirect (r->internal, also set by "rewrite ... last")
 * and in ngx_http_filter_finalize_request() (r->filter_finalize), so the
 * first look of a request that had neither finds nothing to walk for.
 */
static ngx_http_outage_ctx_t  ngx_http_outage_no_ctx;


static void
ngx_http_outage_ctx_cleanup(void *data)
{
    ngx_http_outage_ctx_t  *ctx = data;

    if (ctx->snap) {
        ngx_http_outage_snapshot_unref(ctx->snap);
        ctx->snap = NULL;
    }
}


ngx_http_outage_ctx_t *
ngx_http_outage_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_request_t     *m;
    ngx_http_outage_ctx_t  *ctx;

    m = r->main;
    ctx = ngx_http_get_module_ctx(m, ngx_http_outage_module);

    if (ctx == &ngx_http_outage_no_ctx) {
        if (!create) {
            return NULL;
        }

    } else if (ctx) {
        return ctx;

    } else if (m->internal || m->filter_finalize) {
        for (cln = m->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_outage_ctx_cleanup) {
                ctx = cln->data;

                /* r->ctx was zeroed: the filter starts over, as nginx's */
                ctx->banner = NULL;

                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "outage: request context found again");

                ngx_http_set_ctx(m, ctx, ngx_http_outage_module);
                return ctx;
            }
        }
    }

    if (ctx == NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "outage: no request context yet");

        if (!create) {
            ngx_http_set_ctx(m, &ngx_http_outage_no_ctx,
                             ngx_http_outage_module);
            return NULL;
        }
    }

    cln = ngx_pool_cleanup_add(m->pool, sizeof(ngx_http_outage_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_outage_ctx_t));
    cln->handler = ngx_http_outage_ctx_cleanup;

    ngx_http_set_ctx(m, ctx, ngx_http_outage_module);

    return ctx;
}


/*
 * The request path's only access to the state.  A request gets one
 * snapshot, pinned for its whole life (subrequests share it): its
 * variables, banner and page all describe the same state, and a value
 * read twice (nginx's script engine reads a variable once for the length,
 * once for the copy) cannot change in between.
 */

ngx_http_outage_snapshot_t *
ngx_http_outage_snapshot(ngx_http_request_t *r)
{
    ngx_http_outage_ctx_t       *ctx;
    ngx_http_outage_snapshot_t  *s;

    ctx = ngx_http_outage_ctx(r, 1);
    if (ctx == NULL) {
        return NULL;
    }

    if (ctx->snap) {
        return ctx->snap;
    }

    s = ngx_http_outage_snapshot_current(r->connection->log);
    if (s == NULL) {
        return NULL;
    }

    ctx->snap = s;
    s->refs++;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "outage: request pins snapshot %p at %T", s, s->built);

    return s;
}


/*
 * The same outside a request (the health checks' log lines, which must
 * name what the status shows): pinned until released.
 */

ngx_http_outage_snapshot_t *
ngx_http_outage_snapshot_pin(ngx_log_t *log)
{
    ngx_http_outage_snapshot_t  *s;

    s = ngx_http_outage_snapshot_current(log);

    if (s != NULL) {
        s->refs++;
    }

    return s;
}


void
ngx_http_outage_snapshot_release(ngx_http_outage_snapshot_t *s)
{
    ngx_http_outage_snapshot_unref(s);
}


/*
 * The worker's newest snapshot: one atomic read of the zone's generation;
 * only when it moved, a new state copied under the lock; when it or the
 * wall-clock second moved, the views again (windows open by the clock),
 * kept only if they differ from the last ones, and a new snapshot.  An
 * object that requests still use is never changed: a new one replaces it.
 */

static ngx_http_outage_snapshot_t *
ngx_http_outage_snapshot_current(ngx_log_t *log)
{
    time_t                        now;
    ngx_uint_t                    gen;
    ngx_int_t                     rc;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_state_t      *st;
    ngx_http_outage_viewset_t    *vs, *old;
    ngx_http_outage_snapshot_t   *s, *n;
    ngx_http_outage_main_conf_t  *omcf;

    shm = ngx_http_outage_shm();
    s = ngx_http_outage_current;

    if (shm == NULL || s == NULL) {
        return NULL;
    }

    now = ngx_time();
    gen = shm->generation;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);

    /*
     * Snapshots are sized for the configuration of the process start; a
     * single-process nginx ("master_process off") reloads without starting
     * a process, and then has no state rather than a wrong one.
     */
    if (omcf != ngx_http_outage_snap_conf) {
        return NULL;
    }

    if (gen == s->generation && now == s->built) {
        return s;
    }

    old = s->viewset;

    n = ngx_http_outage_layer_alloc(&ngx_http_outage_snapshots, log);
    if (n == NULL) {
        return s;   /* the last state, rather than none */
    }

    if (gen != old->state->generation) {
        st = ngx_http_outage_state_alloc(log);
        if (st == NULL) {
            ngx_http_outage_layer_free(&ngx_http_outage_snapshots, n);
            return s;
        }

        ngx_http_outage_shm_lock();
        st->generation = shm->generation;
        rc = ngx_http_outage_snapshot_copy(omcf, shm, st, old->state, log);
        ngx_http_outage_shm_unlock();

        if (rc != NGX_OK) {
            ngx_http_outage_state_unref(st);
            ngx_http_outage_layer_free(&ngx_http_outage_snapshots, n);
            return s;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "outage: snapshot generation %ui", st->generation);

    } else {
        st = old->state;
        st->refs++;
    }

    vs = ngx_http_outage_viewset_alloc(st, log);
    if (vs == NULL) {
        ngx_http_outage_state_unref(st);
        ngx_http_outage_layer_free(&ngx_http_outage_snapshots, n);
        return s;
    }

    ngx_memzero(n, ngx_http_outage_snapshots.size);
    n->checked = (time_t *) ((u_char *) n
                             + sizeof(ngx_http_outage_snapshot_t));

    ngx_http_outage_build_views(omcf, shm, vs, n->checked, now);

    /*
     * Views are zeroed before they are filled (padding included) and
     * point into the state: equal bytes and the same state are the same
     * views.
     */
    if (vs->state == old->state
        && vs->max_rank == old->max_rank
        && ngx_memcmp(vs->views, old->views,
                      omcf->scopes.nelts * sizeof(ngx_http_outage_view_t))
           == 0)
    {
        ngx_http_outage_viewset_unref(vs);
        vs = old;
        vs->refs++;
    }

    n->nscopes = omcf->scopes.nelts;
    n->scopes = vs->views;
    n->viewset = vs;
    n->generation = vs->state->generation;
    n->built = now;
    n->max_rank = vs->max_rank;
    n->refs = 1;

    ngx_http_outage_current = n;
    ngx_http_outage_snapshot_unref(s);

    /* what requests pin, for tests and for "memory grows" reports */
    ngx_log_debug6(NGX_LOG_DEBUG_HTTP, log, 0,
                   "outage: snapshot at %T: %ui snapshots, %ui viewsets, "
                   "%ui states live, %uz bytes, %ui scope texts", now,
                   ngx_http_outage_snapshots.live,
                   ngx_http_outage_viewsets.live,
                   ngx_http_outage_states.live,
                   ngx_http_outage_snapshots.live
                   * ngx_http_outage_snapshots.size
                   + ngx_http_outage_viewsets.live
                     * ngx_http_outage_viewsets.size
                   + ngx_http_outage_states.live
                     * ngx_http_outage_states.size
                   + ngx_http_outage_blocks.live
                     * ngx_http_outage_blocks.size,
                   ngx_http_outage_blocks.live);

    return n;
}


/*
 * With the lock held: this configuration's scopes and checks, and only
 * what a decision needs.  A slot that holds another name or key (taken by
 * a newer configuration while this worker finishes) reads as "nothing
 * known".
 */

static ngx_int_t
ngx_http_outage_snapshot_copy(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_state_t *n,
    ngx_http_outage_state_t *prev, ngx_log_t *log)
{
    ngx_str_t                      *names;
    ngx_uint_t                      i, slot;
    ngx_http_outage_shm_scope_t    *ss;
    ngx_http_outage_shm_check_t    *sc;
    ngx_http_outage_snap_scope_t    ds, *old;
    ngx_http_outage_snap_check_t   *dc;
    ngx_http_outage_check_conf_t   *checks;
    ngx_http_outage_scope_block_t  *b;

    names = omcf->scopes.elts;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        slot = omcf->scope_slots[i];
        ss = &shm->scopes[slot];

        /* zeroed first: equal scopes are equal bytes, padding included */
        ngx_memzero(&ds, sizeof(ngx_http_outage_snap_scope_t));

        if (slot != NGX_HTTP_OUTAGE_NO_SLOT_SCOPE
            && ss->name_len == names[i].len
            && ngx_strncmp(ss->name, names[i].data, names[i].len) == 0)
        {
            ds.redis = ss->redis;
            ds.redis_since = ss->redis_since;
        }

        /*
         * The zone's text buffers past their lengths may hold old bytes:
         * they only make an unchanged scope look changed, a new copy.
         */
        old = prev->data_scopes[i];

        if (old != NULL
            && ngx_memcmp(old, &ds, sizeof(ngx_http_outage_snap_scope_t))
               == 0)
        {
            b = (ngx_http_outage_scope_block_t *) ((u_char *) old
                             - offsetof(ngx_http_outage_scope_block_t, data));
            b->refs++;
            n->data_scopes[i] = old;
            continue;
        }

        b = ngx_http_outage_layer_alloc(&ngx_http_outage_blocks, log);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->refs = 1;
        b->data = ds;
        n->data_scopes[i] = &b->data;
    }

    checks = omcf->checks.elts;

    for (i = 0; i < omcf->checks.nelts; i++) {
        dc = &n->data_checks[i];
        slot = checks[i].slot;
        sc = &shm->checks[slot];

        if (slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK || sc->key != checks[i].key)
        {
            dc->health = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
            dc->since = 0;
            dc->reason_len = 0;
            continue;
        }

        dc->health = sc->health;
        dc->since = sc->since;

        /* passive detection may take a check down with last_error only */
        if (sc->reason_len) {
            ngx_memcpy(dc->reason, sc->reason, sc->reason_len);
            dc->reason_len = sc->reason_len;

        } else {
            ngx_memcpy(dc->reason, sc->last_error_text, sc->last_error_len);
            dc->reason_len = sc->last_error_len;
        }
    }

    n->guard_active = shm->guard_active;

    return NGX_OK;
}


/*
 * The rules below are shared with the health checks' log (an "ok" that
 * silences them), so that the log never says "no page" while one is shown.
 */

/*
 * outage_redis is configured and its data is not stale (max_stale).
 *
 * max_stale is about Redis being unreadable, which only a failed poll
 * says (redis_up 0).  An old last success without one means that the
 * worker holding the polling lease died or stalled and another takes the
 * lease over when it expires: up to the lease's ttl (2 x interval +
 * connect_timeout + timeout) + one interval before the taker's tick +
 * its first poll on a new connection (connect_timeout + timeout), + 1 s
 * for the zone's whole seconds.  That takeover, which the module
 * schedules itself, withdraws no declared incident; an age beyond it
 * still does (nobody polls at all), once this worker has seen it for an
 * interval and a poll on a new connection as it runs.
 */

ngx_uint_t
ngx_http_outage_redis_usable(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, time_t now)
{
    ngx_msec_t      ms;
    ngx_msec_int_t  age;

    if (omcf->redis_addrs == NULL || omcf->redis_addrs->nelts == 0) {
        return 0;
    }

    /* states of the Redis a reload moved away from (shm.c) */
    if (shm->redis_foreign) {
        return 0;
    }

    if (omcf->redis_max_stale <= 0 || !shm->redis_ever_ok) {
        return 1;
    }

    /*
     * On the monotonic clock, which every worker shares: a step of the
     * wall clock (NTP, a resumed VM) neither withdraws incidents nor
     * keeps a dead Redis's state longer.
     */
    age = (ngx_msec_int_t) (ngx_current_msec - shm->redis_last_ok_ms);

    if (age <= (ngx_msec_int_t) omcf->redis_max_stale * 1000) {
        return 1;
    }

    if (!shm->redis_up) {
        return 0;
    }

    ms = 3 * omcf->redis_interval
         + 2 * (omcf->redis_connect_timeout + omcf->redis_timeout) + 1000;

    if (age <= (ngx_msec_int_t) (omcf->redis_max_stale * 1000 + ms)) {
        ngx_http_outage_unpolled.seen = 0;
        return 1;
    }

    /*
     * Seen by this worker as it runs, not across a freeze of the whole
     * nginx (a paused container or VM, a cgroup freeze): after one, the
     * requests queued meanwhile are decided before the poller, resumed
     * too, has polled; it polls within an interval and a poll on a new
     * connection.  A worker that starts sees it afresh.
     */
    if (!ngx_http_outage_unpolled.seen
        || ngx_http_outage_unpolled.last_ok != shm->redis_last_ok_ms)
    {
        ngx_http_outage_unpolled.seen = 1;
        ngx_http_outage_unpolled.at = ngx_current_msec;
        ngx_http_outage_unpolled.last_ok = shm->redis_last_ok_ms;
        return 1;
    }

    ms = omcf->redis_interval + omcf->redis_connect_timeout
         + omcf->redis_timeout;

    return (ngx_msec_int_t) (ngx_current_msec - ngx_http_outage_unpolled.at)
           <= (ngx_msec_int_t) ms;
}


/*
 * The key's time left, signed at the width of nginx's clock: on 32-bit
 * builds ngx_current_msec wraps every 49.7 days and "expires" was taken
 * from it, so only this difference (redis.c caps the TTL within its
 * range) sees the key expire across a wrap (review s11 R1 D1).
 */

static int64_t
ngx_http_outage_expiry_left(const ngx_http_outage_incident_t *inc)
{
    return (ngx_msec_int_t) ((ngx_msec_t) inc->expires - ngx_current_msec);
}


/*
 * The scope's "ok" in Redis (or "degraded" with "checks silenced") is what
 * decides now: its checks are silenced.  The incident's own rule is
 * payload.c's, shared with build_views().
 */

ngx_uint_t
ngx_http_outage_redis_silences(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_incident_t *inc, time_t now)
{
    return ngx_http_outage_redis_usable(omcf, shm, now)
           && ngx_http_outage_incident_silences(inc, now,
                                       ngx_http_outage_expiry_left(inc));
}


/*
 * The scope's incident decides its state now, whatever its checks say
 * (payload.c's rule, shared with build_views()): the guard leaves its
 * failing checks out of its count (health.c).
 */

ngx_uint_t
ngx_http_outage_redis_decides(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_incident_t *inc, time_t now)
{
    return ngx_http_outage_redis_usable(omcf, shm, now)
           && ngx_http_outage_incident_decides(inc, now,
                                       ngx_http_outage_expiry_left(inc));
}


static void
ngx_http_outage_build_views(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_viewset_t *vs,
    time_t *checked, time_t now)
{
    time_t                         last;
    int64_t                        left;
    ngx_str_t                     *names;
    ngx_uint_t                     i, j, ndown, nchecks, redis, redis_stale,
                                   announced, window, silences;
    ngx_http_outage_view_t        *v;
    ngx_http_outage_incident_t    *inc;
    ngx_http_outage_snap_scope_t  *ds;
    ngx_http_outage_snap_check_t  *dc, *worst;
    ngx_http_outage_check_conf_t  *checks;

    names = omcf->scopes.elts;
    checks = omcf->checks.elts;

    /*
     * The documented staleness rule (docs/directives.md, max_stale), and
     * the time of the last evidence, read from the zone itself: polls and
     * probes that change no decision do not bump the generation.
     */
    /*
     * Without outage_redis no scope has a Redis state, whatever the zone
     * still holds from a configuration that had it (its workers clear it
     * when they take over; a worker of an older configuration may not).
     */
    redis = (omcf->redis_addrs && omcf->redis_addrs->nelts);

    redis_stale = redis && !ngx_http_outage_redis_usable(omcf, shm, now);

    for (i = 0; i < omcf->scopes.nelts; i++) {
        v = &vs->views[i];
        ngx_memzero(v, sizeof(ngx_http_outage_view_t));
        checked[i] = 0;

        v->name = names[i];
        ds = vs->state->data_scopes[i];

        if (ds == NULL) {
            ds = &ngx_http_outage_snap_none;    /* the start's empty state */
        }

        inc = &ds->redis;

        v->stale = redis_stale;

        /* health first: a Redis incident not in effect leaves its verdict */

        ndown = 0;
        nchecks = 0;
        worst = NULL;

        for (j = 0; j < omcf->checks.nelts; j++) {
            if (checks[j].scope != i) {
                continue;
            }

            dc = &vs->state->data_checks[j];
            nchecks++;

            last = shm->checks[checks[j].slot].last_checked;

            if (checked[i] < last) {
                checked[i] = last;
            }

            /* the guard holds back probe verdicts, never passive ones */
            if (dc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN
                && (!vs->state->guard_active
                    || !ngx_http_outage_check_down_by_probe(dc->reason,
                                                            dc->reason_len)))
            {
                ndown++;
                if (worst == NULL || dc->since < worst->since) {
                    worst = dc;
                }
            }
        }

        if (nchecks) {
            v->source = NGX_HTTP_OUTAGE_SOURCE_HEALTH;

            if (ndown) {
                v->state = NGX_HTTP_OUTAGE_STATE_DOWN;
                v->since = worst->since;
                v->reason.data = worst->reason;
                v->reason.len = worst->reason_len;

            } else {
                v->state = NGX_HTTP_OUTAGE_STATE_OK;
            }
        }

        if (!redis || redis_stale) {
            continue;
        }

        /*
         * the person who wrote the incident sees what was not understood,
         * also when nothing of it was applied (a JSON string)
         */
        v->warning.data = inc->warning;
        v->warning.len = inc->warning_len;

        if (inc->state == NGX_HTTP_OUTAGE_STATE_NONE) {
            continue;
        }

        /*
         * The window applies to every state (docs/redis.md, "Times"):
         * after "ends" the incident is over; before "starts", or when
         * "starts" could not be read, it is not in effect and is only
         * announced, as scheduled maintenance.  An announcement never
         * hides a failing check, and "ok" has nothing to announce.
         */
        left = ngx_http_outage_expiry_left(inc);
        window = ngx_http_outage_incident_window(inc, now, left);
        silences = ngx_http_outage_incident_silences(inc, now, left);

        if (window == NGX_HTTP_OUTAGE_WINDOW_OVER) {
            continue;
        }

        announced = (window == NGX_HTTP_OUTAGE_WINDOW_ANNOUNCED);

        if (announced
            && (inc->state == NGX_HTTP_OUTAGE_STATE_OK
                || v->state == NGX_HTTP_OUTAGE_STATE_DOWN))
        {
            continue;
        }

        if (inc->state == NGX_HTTP_OUTAGE_STATE_DEGRADED
            && !silences
            && v->state == NGX_HTTP_OUTAGE_STATE_DOWN)
        {
            /*
             * Only "ok" or "checks silenced" silences a check: a slowdown
             * posted at the start of an incident (or a plain "SET key
             * down", which reads as a degraded banner) must not take the
             * page away when the check proves the outage.  The check
             * decides; the operator's words stay for the texts, not the
             * eta, which was given for the slowdown.
             */
            v->message.data = inc->message;
            v->message.len = inc->message_len;
            v->link.data = inc->link;
            v->link.len = inc->link_len;
            continue;
        }

        if (v->state == NGX_HTTP_OUTAGE_STATE_DOWN && silences) {
            /* the operator's word stands, but not silently */
            v->overrides = v->reason;
        }

        /* what the guard's held list reads (health.c): this decision's */
        v->redis_decides = ngx_http_outage_incident_decides(inc, now, left);

        v->state = announced ? NGX_HTTP_OUTAGE_STATE_MAINTENANCE
                             : inc->state;
        v->announced = announced ? inc->state : 0;
        v->source = NGX_HTTP_OUTAGE_SOURCE_REDIS;
        v->since = inc->since ? inc->since : ds->redis_since;
        v->starts = inc->starts;
        v->ends = inc->ends;
        v->message.data = inc->message;
        v->message.len = inc->message_len;
        v->eta_text.data = inc->eta_text;
        v->eta_text.len = inc->eta_text_len;
        v->link.data = inc->link;
        v->link.len = inc->link_len;
        v->reason.len = 0;
        checked[i] = shm->redis_last_ok;

        /* nothing promised after "ends" or the key's expiry (PTTL) */
        v->expires = inc->expires;
        v->eta = ngx_http_outage_payload_view_eta(inc->eta, inc->starts,
                     inc->ends, ngx_http_outage_expiry(inc->expires, now),
                     v->state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE, now);

        if (inc->eta) {
            /* a time left out is not shown as the digits it was written in */
            v->eta_text.len = 0;
        }
    }

    /* lets every request without an incident skip the scan of the views */
    vs->max_rank = 0;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        v = &vs->views[i];
        j = v->announced ? 1 : ngx_http_outage_state_rank(v->state);

        if (j > vs->max_rank) {
            vs->max_rank = j;
        }
    }
}


/* the time of the last evidence of one of the snapshot's views; 0: none */

time_t
ngx_http_outage_view_checked(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v)
{
    if (s == NULL || v < s->scopes || v >= s->scopes + s->nscopes) {
        return 0;
    }

    return s->checked[v - s->scopes];
}


/* severity order used to pick the one scope a banner or a page talks about */

ngx_uint_t
ngx_http_outage_state_rank(ngx_uint_t state)
{
    switch (state) {
    case NGX_HTTP_OUTAGE_STATE_DOWN:
        return 4;
    case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
        return 3;
    case NGX_HTTP_OUTAGE_STATE_DEGRADED:
        return 2;
    default:
        return 0;
    }
}


/*
 * The most severe scope among "scopes" (NULL: all) whose rank is at least
 * min_rank; an announced (future) maintenance window ranks 1.
 */

ngx_http_outage_view_t *
ngx_http_outage_worst(ngx_http_outage_snapshot_t *s, ngx_array_t *scopes,
    ngx_uint_t min_rank)
{
    ngx_uint_t               i, n, id, rank, best_rank, *ids;
    ngx_http_outage_view_t  *v, *best;

    best = NULL;
    best_rank = 0;

    if (s == NULL || s->max_rank < min_rank || s->max_rank == 0) {
        return NULL;
    }

    n = scopes ? scopes->nelts : s->nscopes;
    ids = scopes ? scopes->elts : NULL;

    for (i = 0; i < n; i++) {
        id = ids ? ids[i] : i;
        v = &s->scopes[id];

        rank = v->announced ? 1 : ngx_http_outage_state_rank(v->state);

        if (rank >= min_rank && rank > best_rank) {
            best = v;
            best_rank = rank;
        }
    }

    return best;
}
