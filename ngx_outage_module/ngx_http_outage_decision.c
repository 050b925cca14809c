
/*
 * ngx_outage_module: the decision.
 *
 * Owns the scope registry (names used anywhere in the configuration) and the
 * worker's snapshot: a private copy of the zone, refreshed when the zone's
 * generation changes, from which the effective state of every scope is
 * derived (Redis overrides health; stale Redis data ages out by the
 * documented rule; maintenance windows open and close by the clock).
 * Everything here runs on the request path, so it only reads memory.
 */


#include "ngx_http_outage_module.h"


static void ngx_http_outage_build_views(ngx_http_outage_main_conf_t *omcf,
    time_t now);


static ngx_http_outage_snapshot_t     ngx_http_outage_snap;
static ngx_http_outage_shm_scope_t   *ngx_http_outage_local_scopes;
static ngx_http_outage_shm_check_t   *ngx_http_outage_local_checks;
static ngx_http_outage_shm_t         *ngx_http_outage_local_shm;
static ngx_http_outage_main_conf_t   *ngx_http_outage_omcf;


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


ngx_int_t
ngx_http_outage_init_worker_view(ngx_cycle_t *cycle)
{
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);

    ngx_http_outage_omcf = omcf;

    ngx_http_outage_local_shm = ngx_pcalloc(cycle->pool,
                                            sizeof(ngx_http_outage_shm_t));
    ngx_http_outage_snap.scopes = ngx_pcalloc(cycle->pool,
                                    omcf->scopes.nelts
                                    * sizeof(ngx_http_outage_view_t));

    if (ngx_http_outage_local_shm == NULL
        || ngx_http_outage_snap.scopes == NULL)
    {
        return NGX_ERROR;
    }

    ngx_http_outage_local_scopes = ngx_http_outage_local_shm->scopes;
    ngx_http_outage_local_checks = ngx_http_outage_local_shm->checks;
    ngx_http_outage_snap.nscopes = omcf->scopes.nelts;
    ngx_http_outage_snap.generation = 0;
    ngx_http_outage_snap.built = 0;

    return NGX_OK;
}


/*
 * The request path's only access to the state: one atomic read of the
 * generation, a copy of the zone under the lock when it changed, and a
 * cheap rebuild of the views once a second (windows open by the clock).
 */

ngx_http_outage_snapshot_t *
ngx_http_outage_snapshot(ngx_log_t *log)
{
    time_t                  now;
    ngx_uint_t              gen;
    ngx_http_outage_shm_t  *shm;

    shm = ngx_http_outage_shm();

    if (shm == NULL || ngx_http_outage_snap.scopes == NULL) {
        return NULL;
    }

    now = ngx_time();
    gen = shm->generation;

    if (gen != ngx_http_outage_snap.generation) {
        ngx_http_outage_shm_lock();

        gen = shm->generation;
        ngx_memcpy(ngx_http_outage_local_shm, shm,
                   sizeof(ngx_http_outage_shm_t));

        ngx_http_outage_shm_unlock();

        ngx_http_outage_snap.generation = gen;
        ngx_http_outage_build_views(ngx_http_outage_omcf, now);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "outage: snapshot generation %ui", gen);

    } else if (now != ngx_http_outage_snap.built) {
        ngx_http_outage_build_views(ngx_http_outage_omcf, now);
    }

    return &ngx_http_outage_snap;
}


static void
ngx_http_outage_build_views(ngx_http_outage_main_conf_t *omcf, time_t now)
{
    ngx_str_t                    *names;
    ngx_uint_t                    i, j, slot, ndown, nchecks;
    ngx_http_outage_view_t       *v;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_incident_t   *inc;
    ngx_http_outage_shm_scope_t  *ss;
    ngx_http_outage_shm_check_t  *sc, *worst;
    ngx_uint_t                    redis_stale;

    names = omcf->scopes.elts;

    /*
     * The documented staleness rule (docs/directives.md, max_stale), read
     * from the zone itself: a successful poll does not bump the generation.
     */
    shm = ngx_http_outage_shm();
    redis_stale = omcf->redis_max_stale > 0
                  && shm->redis_ever_ok
                  && now - shm->redis_last_ok > omcf->redis_max_stale;

    shm = ngx_http_outage_local_shm;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        v = &ngx_http_outage_snap.scopes[i];
        ngx_memzero(v, sizeof(ngx_http_outage_view_t));

        v->name = names[i];
        slot = ngx_http_outage_scope_slot(i);
        ss = &ngx_http_outage_local_scopes[slot];
        inc = &ss->redis;

        v->stale = redis_stale;

        if (inc->state != NGX_HTTP_OUTAGE_STATE_NONE && !redis_stale) {

            if (inc->state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE
                && inc->ends && now >= inc->ends)
            {
                goto health;    /* the window is over */
            }

            v->state = inc->state;
            v->source = NGX_HTTP_OUTAGE_SOURCE_REDIS;
            v->since = inc->since ? inc->since : ss->redis_since;
            v->eta = inc->eta;
            v->starts = inc->starts;
            v->ends = inc->ends;
            v->message.data = inc->message;
            v->message.len = inc->message_len;
            v->eta_text.data = inc->eta_text;
            v->eta_text.len = inc->eta_text_len;
            v->link.data = inc->link;
            v->link.len = inc->link_len;
            v->checked = ngx_http_outage_shm()->redis_last_ok;

            if (inc->state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE
                && inc->starts && now < inc->starts)
            {
                v->announced = 1;
            }

            if (v->eta == 0 && inc->ends) {
                v->eta = inc->ends;
            }

            continue;
        }

    health:

        ndown = 0;
        nchecks = 0;
        worst = NULL;

        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
            sc = &ngx_http_outage_local_checks[j];

            if (sc->key == 0 || sc->scope_slot != slot) {
                continue;
            }

            nchecks++;

            if (v->checked < sc->last_checked) {
                v->checked = sc->last_checked;
            }

            if (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
                ndown++;
                if (worst == NULL || sc->since < worst->since) {
                    worst = sc;
                }
            }
        }

        if (nchecks == 0) {
            continue;
        }

        if (ndown && !shm->guard_active) {
            v->state = NGX_HTTP_OUTAGE_STATE_DOWN;
            v->source = NGX_HTTP_OUTAGE_SOURCE_HEALTH;
            v->since = worst->since;
            v->reason.data = worst->reason;
            v->reason.len = worst->reason_len;

        } else {
            v->state = NGX_HTTP_OUTAGE_STATE_OK;
            v->source = NGX_HTTP_OUTAGE_SOURCE_HEALTH;
        }
    }

    /* lets every request without an incident skip the scan of the views */
    ngx_http_outage_snap.max_rank = 0;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        v = &ngx_http_outage_snap.scopes[i];
        j = v->announced ? 1 : ngx_http_outage_state_rank(v->state);

        if (j > ngx_http_outage_snap.max_rank) {
            ngx_http_outage_snap.max_rank = j;
        }
    }

    ngx_http_outage_snap.built = now;
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
