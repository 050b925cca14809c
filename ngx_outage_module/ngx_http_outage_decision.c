
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


static ngx_http_outage_snapshot_t *ngx_http_outage_snapshot_alloc(
    ngx_log_t *log);
static void ngx_http_outage_snapshot_unref(ngx_http_outage_snapshot_t *s);
static void ngx_http_outage_snapshot_unpin(void *data);
static ngx_http_outage_snapshot_t *ngx_http_outage_snapshot_current(
    ngx_log_t *log);
static void ngx_http_outage_snapshot_copy(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *n);
static void ngx_http_outage_build_views(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *snap,
    time_t now);


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
 * The worker's newest snapshot (it holds one reference) and one freed
 * snapshot kept for reuse: per-process state, set up at process start.
 */
static ngx_http_outage_snapshot_t  *ngx_http_outage_current;
static ngx_http_outage_snapshot_t  *ngx_http_outage_spare;
static size_t                       ngx_http_outage_snap_size;
static ngx_http_outage_main_conf_t *ngx_http_outage_snap_conf;


ngx_int_t
ngx_http_outage_init_worker_view(ngx_cycle_t *cycle)
{
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);

    ngx_http_outage_snap_size = sizeof(ngx_http_outage_snapshot_t)
                      + omcf->scopes.nelts
                        * (sizeof(ngx_http_outage_view_t)
                           + sizeof(ngx_http_outage_snap_scope_t))
                      + omcf->checks.nelts
                        * sizeof(ngx_http_outage_snap_check_t);

    ngx_http_outage_spare = NULL;
    ngx_http_outage_snap_conf = omcf;
    ngx_http_outage_current = ngx_http_outage_snapshot_alloc(cycle->log);

    if (ngx_http_outage_current == NULL) {
        return NGX_ERROR;
    }

    ngx_http_outage_current->refs = 1;

    return NGX_OK;
}


static ngx_http_outage_snapshot_t *
ngx_http_outage_snapshot_alloc(ngx_log_t *log)
{
    u_char                       *p;
    ngx_http_outage_snapshot_t   *s;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);

    if (ngx_http_outage_spare) {
        s = ngx_http_outage_spare;
        ngx_http_outage_spare = NULL;

    } else {
        /*
         * Not from a pool: snapshots pinned by long requests are freed in
         * any order, and a pool would keep them all until the worker exits.
         */
        s = ngx_alloc(ngx_http_outage_snap_size, log);
        if (s == NULL) {
            return NULL;
        }
    }

    ngx_memzero(s, sizeof(ngx_http_outage_snapshot_t));

    p = (u_char *) s + sizeof(ngx_http_outage_snapshot_t);

    s->nscopes = omcf->scopes.nelts;
    s->scopes = (ngx_http_outage_view_t *) p;
    p += s->nscopes * sizeof(ngx_http_outage_view_t);
    s->data_scopes = (ngx_http_outage_snap_scope_t *) p;
    p += s->nscopes * sizeof(ngx_http_outage_snap_scope_t);
    s->data_checks = (ngx_http_outage_snap_check_t *) p;

    return s;
}


static void
ngx_http_outage_snapshot_unref(ngx_http_outage_snapshot_t *s)
{
    if (--s->refs) {
        return;
    }

    if (ngx_http_outage_spare == NULL) {
        ngx_http_outage_spare = s;

    } else {
        ngx_free(s);
    }
}


static void
ngx_http_outage_snapshot_unpin(void *data)
{
    ngx_http_outage_snapshot_unref(data);
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
    ngx_pool_cleanup_t          *cln;
    ngx_http_outage_snapshot_t  *s;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_outage_snapshot_unpin) {
            return cln->data;
        }
    }

    s = ngx_http_outage_snapshot_current(r->connection->log);
    if (s == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_outage_snapshot_unpin;
    cln->data = s;
    s->refs++;

    return s;
}


/*
 * The worker's newest snapshot: one atomic read of the zone's generation;
 * only when it moved, a copy of this configuration's (decision) fields
 * under the lock; when it or the wall-clock second moved, new views
 * (windows open by the clock).  A snapshot that requests still use is
 * never changed: a new one replaces it.
 */

static ngx_http_outage_snapshot_t *
ngx_http_outage_snapshot_current(ngx_log_t *log)
{
    time_t                        now;
    ngx_uint_t                    gen;
    ngx_http_outage_shm_t        *shm;
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

    if (s->refs == 1) {
        n = s;

    } else {
        n = ngx_http_outage_snapshot_alloc(log);
        if (n == NULL) {
            return s;   /* the last state, rather than none */
        }
    }

    if (gen != s->generation) {
        ngx_http_outage_shm_lock();
        n->generation = shm->generation;
        ngx_http_outage_snapshot_copy(omcf, shm, n);
        ngx_http_outage_shm_unlock();

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "outage: snapshot generation %ui", n->generation);

    } else if (n != s) {
        n->generation = s->generation;
        n->guard_active = s->guard_active;
        ngx_memcpy(n->data_scopes, s->data_scopes,
                   s->nscopes * sizeof(ngx_http_outage_snap_scope_t));
        ngx_memcpy(n->data_checks, s->data_checks,
                   omcf->checks.nelts * sizeof(ngx_http_outage_snap_check_t));
    }

    ngx_http_outage_build_views(omcf, shm, n, now);

    if (n != s) {
        n->refs = 1;
        ngx_http_outage_current = n;
        ngx_http_outage_snapshot_unref(s);
    }

    return n;
}


/*
 * With the lock held: this configuration's scopes and checks, and only
 * what a decision needs.  A slot that holds another name or key (taken by
 * a newer configuration while this worker finishes) reads as "nothing
 * known".
 */

static void
ngx_http_outage_snapshot_copy(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *n)
{
    ngx_str_t                     *names;
    ngx_uint_t                     i, slot;
    ngx_http_outage_shm_scope_t   *ss;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_snap_scope_t  *ds;
    ngx_http_outage_snap_check_t  *dc;
    ngx_http_outage_check_conf_t  *checks;

    names = omcf->scopes.elts;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        ds = &n->data_scopes[i];
        slot = omcf->scope_slots[i];
        ss = &shm->scopes[slot];

        if (slot == NGX_HTTP_OUTAGE_NO_SLOT_SCOPE
            || ss->name_len != names[i].len
            || ngx_strncmp(ss->name, names[i].data, names[i].len) != 0)
        {
            ngx_memzero(ds, sizeof(ngx_http_outage_snap_scope_t));
            continue;
        }

        ds->redis = ss->redis;
        ds->redis_since = ss->redis_since;
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
}


/*
 * The rules below are shared with the health checks' log (an "ok" that
 * silences them), so that the log never says "no page" while one is shown.
 */

/* outage_redis is configured and its data is not stale (max_stale) */

ngx_uint_t
ngx_http_outage_redis_usable(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, time_t now)
{
    if (omcf->redis_addrs == NULL || omcf->redis_addrs->nelts == 0) {
        return 0;
    }

    return !(omcf->redis_max_stale > 0
             && shm->redis_ever_ok
             && now - shm->redis_last_ok > omcf->redis_max_stale);
}


/*
 * The window applies to every state (docs/redis.md, "Times"): after
 * "ends" the incident is over; before "starts", or when its times cannot
 * be used, it is not in effect and is only announced.
 */

ngx_uint_t
ngx_http_outage_incident_window(ngx_http_outage_incident_t *inc, time_t now)
{
    if (inc->ends && now >= inc->ends) {
        return NGX_HTTP_OUTAGE_WINDOW_OVER;
    }

    if (inc->pending || (inc->starts && now < inc->starts)) {
        return NGX_HTTP_OUTAGE_WINDOW_ANNOUNCED;
    }

    return NGX_HTTP_OUTAGE_WINDOW_OPEN;
}


/* the scope's "ok" in Redis is what decides now: its checks are silenced */

ngx_uint_t
ngx_http_outage_redis_silences(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_incident_t *inc, time_t now)
{
    return ngx_http_outage_redis_usable(omcf, shm, now)
           && inc->state == NGX_HTTP_OUTAGE_STATE_OK
           && ngx_http_outage_incident_window(inc, now)
              == NGX_HTTP_OUTAGE_WINDOW_OPEN;
}


static void
ngx_http_outage_build_views(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *snap, time_t now)
{
    time_t                         checked;
    ngx_str_t                     *names;
    ngx_uint_t                     i, j, ndown, nchecks, redis, redis_stale,
                                   announced, window;
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
        v = &snap->scopes[i];
        ngx_memzero(v, sizeof(ngx_http_outage_view_t));

        v->name = names[i];
        ds = &snap->data_scopes[i];
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

            dc = &snap->data_checks[j];
            nchecks++;

            checked = shm->checks[checks[j].slot].last_checked;

            if (v->checked < checked) {
                v->checked = checked;
            }

            if (dc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
                ndown++;
                if (worst == NULL || dc->since < worst->since) {
                    worst = dc;
                }
            }
        }

        if (nchecks) {
            v->source = NGX_HTTP_OUTAGE_SOURCE_HEALTH;

            if (ndown && !snap->guard_active) {
                v->state = NGX_HTTP_OUTAGE_STATE_DOWN;
                v->since = worst->since;
                v->reason.data = worst->reason;
                v->reason.len = worst->reason_len;

            } else {
                v->state = NGX_HTTP_OUTAGE_STATE_OK;
            }
        }

        if (!redis || redis_stale
            || inc->state == NGX_HTTP_OUTAGE_STATE_NONE)
        {
            continue;
        }

        /* the person who wrote the incident sees what was not understood */
        v->warning.data = inc->warning;
        v->warning.len = inc->warning_len;

        /*
         * The window applies to every state (docs/redis.md, "Times"):
         * after "ends" the incident is over; before "starts", or when
         * "starts" could not be read, it is not in effect and is only
         * announced, as scheduled maintenance.  An announcement never
         * hides a failing check, and "ok" has nothing to announce.
         */
        window = ngx_http_outage_incident_window(inc, now);

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

        if (inc->state == NGX_HTTP_OUTAGE_STATE_OK
            && v->state == NGX_HTTP_OUTAGE_STATE_DOWN)
        {
            /* the operator's word stands, but not silently */
            v->overrides = v->reason;
        }

        v->state = announced ? NGX_HTTP_OUTAGE_STATE_MAINTENANCE
                             : inc->state;
        v->announced = announced;
        v->source = NGX_HTTP_OUTAGE_SOURCE_REDIS;
        v->since = inc->since ? inc->since : ds->redis_since;
        v->eta = inc->eta;
        v->starts = inc->starts;
        v->ends = inc->ends;
        v->message.data = inc->message;
        v->message.len = inc->message_len;
        v->eta_text.data = inc->eta_text;
        v->eta_text.len = inc->eta_text_len;
        v->link.data = inc->link;
        v->link.len = inc->link_len;
        v->reason.len = 0;
        v->checked = shm->redis_last_ok;

        if (v->eta == 0 && inc->ends) {
            v->eta = inc->ends;
        }
    }

    /* lets every request without an incident skip the scan of the views */
    snap->max_rank = 0;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        v = &snap->scopes[i];
        j = v->announced ? 1 : ngx_http_outage_state_rank(v->state);

        if (j > snap->max_rank) {
            snap->max_rank = j;
        }
    }

    snap->built = now;
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
