
/*
 * ngx_outage_module: the shared memory zone.
 *
 * Owns the zone's creation and its reuse across reloads (slots are matched
 * by scope name and check key, so state survives "nginx -s reload" and a
 * renamed scope does not inherit another's incident), the zone lock, the
 * generation counter and the leases that let exactly one worker poll Redis
 * and one worker run health checks at a time.
 */


#include "ngx_http_outage_module.h"


static ngx_int_t ngx_http_outage_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_outage_assign_slots(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_log_t *log);


static ngx_str_t  ngx_http_outage_zone_name = ngx_string("ngx_http_outage");

static ngx_http_outage_shm_t   *ngx_http_outage_shm_data;
static ngx_slab_pool_t         *ngx_http_outage_shpool;
static ngx_uint_t              *ngx_http_outage_scope_slots;


ngx_int_t
ngx_http_outage_shm_add(ngx_conf_t *cf, ngx_http_outage_main_conf_t *omcf)
{
    omcf->shm_zone = ngx_shared_memory_add(cf, &ngx_http_outage_zone_name,
                                           omcf->zone_size,
                                           &ngx_http_outage_module);
    if (omcf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (omcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "shared zone \"%V\" is already used",
                           &ngx_http_outage_zone_name);
        return NGX_ERROR;
    }

    omcf->scope_slots = ngx_pcalloc(cf->pool,
                                    omcf->scopes.nelts * sizeof(ngx_uint_t));
    if (omcf->scope_slots == NULL) {
        return NGX_ERROR;
    }

    omcf->shm_zone->init = ngx_http_outage_init_zone;
    omcf->shm_zone->data = omcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_outage_main_conf_t  *omcf = shm_zone->data;

    ngx_slab_pool_t              *shpool;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_main_conf_t  *old = data;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (old && old->shm_zone && old->shm_zone->shm.addr == shm_zone->shm.addr) {
        shm = shpool->data;

        if (shm && shm->layout == NGX_HTTP_OUTAGE_ZONE_LAYOUT) {
            ngx_shmtx_lock(&shpool->mutex);

            /*
             * The old workers may still be finishing requests: their
             * leases must not block the new workers, who take over now.
             */
            shm->redis_lease.pid = 0;
            shm->health_lease.pid = 0;
            ngx_http_outage_assign_slots(omcf, shm, shm_zone->shm.log);
            shm->generation++;

            ngx_shmtx_unlock(&shpool->mutex);
            goto done;
        }
    }

    if (shm_zone->shm.exists) {
        shm = shpool->data;
        if (shm && shm->layout == NGX_HTTP_OUTAGE_ZONE_LAYOUT) {
            ngx_http_outage_assign_slots(omcf, shm, shm_zone->shm.log);
            goto done;
        }
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_outage_shm_t));
    if (shm == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "outage: zone of %uz bytes is too small for the state "
                      "(%uz bytes), raise \"outage_zone_size\"",
                      shm_zone->shm.size, sizeof(ngx_http_outage_shm_t));
        return NGX_ERROR;
    }

    shm->layout = NGX_HTTP_OUTAGE_ZONE_LAYOUT;
    shm->generation = 1;
    shpool->data = shm;

    ngx_http_outage_assign_slots(omcf, shm, shm_zone->shm.log);

    shpool->log_ctx = (u_char *) " in outage zone";

done:

    ngx_http_outage_shm_data = shm;
    ngx_http_outage_shpool = shpool;
    ngx_http_outage_scope_slots = omcf->scope_slots;

    return NGX_OK;
}


/*
 * Configured scopes and checks keep the slot that holds their name/key; the
 * rest take slots no longer named by the configuration, cleared first.
 */

static void
ngx_http_outage_assign_slots(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_log_t *log)
{
    ngx_str_t                     *names;
    ngx_uint_t                     i, j, used[NGX_HTTP_OUTAGE_MAX_SCOPES];
    ngx_uint_t                     cused[NGX_HTTP_OUTAGE_MAX_CHECKS];
    ngx_http_outage_shm_scope_t   *ss;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *checks;

    ngx_memzero(used, sizeof(used));
    ngx_memzero(cused, sizeof(cused));

    names = omcf->scopes.elts;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        omcf->scope_slots[i] = NGX_HTTP_OUTAGE_MAX_SCOPES;

        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_SCOPES; j++) {
            ss = &shm->scopes[j];
            if (ss->name_len == names[i].len
                && ngx_strncmp(ss->name, names[i].data, names[i].len) == 0)
            {
                omcf->scope_slots[i] = j;
                used[j] = 1;
                break;
            }
        }
    }

    for (i = 0; i < omcf->scopes.nelts; i++) {
        if (omcf->scope_slots[i] != NGX_HTTP_OUTAGE_MAX_SCOPES) {
            continue;
        }

        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_SCOPES; j++) {
            if (!used[j]) {
                break;
            }
        }

        /* the scope count is checked at config time, so a slot is free */
        ss = &shm->scopes[j];
        ngx_memzero(ss, sizeof(ngx_http_outage_shm_scope_t));
        ngx_memcpy(ss->name, names[i].data, names[i].len);
        ss->name_len = names[i].len;
        omcf->scope_slots[i] = j;
        used[j] = 1;
    }

    for (j = 0; j < NGX_HTTP_OUTAGE_MAX_SCOPES; j++) {
        if (!used[j]) {
            ngx_memzero(&shm->scopes[j], sizeof(ngx_http_outage_shm_scope_t));
        }
    }

    checks = omcf->checks.elts;

    for (i = 0; i < omcf->checks.nelts; i++) {
        checks[i].slot = NGX_HTTP_OUTAGE_MAX_CHECKS;

        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
            if (!cused[j] && shm->checks[j].key == checks[i].key) {
                checks[i].slot = j;
                cused[j] = 1;
                break;
            }
        }
    }

    for (i = 0; i < omcf->checks.nelts; i++) {
        if (checks[i].slot != NGX_HTTP_OUTAGE_MAX_CHECKS) {
            shm->checks[checks[i].slot].scope_slot =
                                          omcf->scope_slots[checks[i].scope];
            continue;
        }

        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
            if (!cused[j]) {
                break;
            }
        }

        sc = &shm->checks[j];
        ngx_memzero(sc, sizeof(ngx_http_outage_shm_check_t));
        sc->key = checks[i].key;
        sc->scope_slot = omcf->scope_slots[checks[i].scope];
        sc->health = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
        checks[i].slot = j;
        cused[j] = 1;
    }

    for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
        if (!cused[j]) {
            ngx_memzero(&shm->checks[j], sizeof(ngx_http_outage_shm_check_t));
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "outage: zone has %ui scopes, %ui checks",
                   omcf->scopes.nelts, omcf->checks.nelts);
}


ngx_http_outage_shm_t *
ngx_http_outage_shm(void)
{
    return ngx_http_outage_shm_data;
}


ngx_uint_t
ngx_http_outage_scope_slot(ngx_uint_t scope)
{
    return ngx_http_outage_scope_slots[scope];
}


void
ngx_http_outage_shm_lock(void)
{
    ngx_shmtx_lock(&ngx_http_outage_shpool->mutex);
}


void
ngx_http_outage_shm_unlock(void)
{
    ngx_shmtx_unlock(&ngx_http_outage_shpool->mutex);
}


/* called with the lock held, after a change readers must see */

void
ngx_http_outage_shm_bump(ngx_http_outage_shm_t *shm)
{
    ngx_memory_barrier();
    shm->generation++;
}


/*
 * Take or renew a lease: free, expired (its holder exited or stalls), or
 * already ours.  Returns 1 if this process holds it for the next ttl ms.
 */

ngx_uint_t
ngx_http_outage_lease_take(ngx_http_outage_lease_t *lease, ngx_msec_t ttl)
{
    ngx_uint_t  ours;

    ngx_http_outage_shm_lock();

    if (lease->pid == ngx_pid
        || lease->pid == 0
        || (ngx_msec_int_t) (ngx_current_msec - lease->expires) >= 0)
    {
        lease->pid = ngx_pid;
        lease->expires = ngx_current_msec + ttl;
        ours = 1;

    } else {
        ours = 0;
    }

    ngx_http_outage_shm_unlock();

    return ours;
}


void
ngx_http_outage_lease_release(ngx_http_outage_lease_t *lease)
{
    ngx_http_outage_shm_lock();

    if (lease->pid == ngx_pid) {
        lease->pid = 0;
        lease->expires = 0;
    }

    ngx_http_outage_shm_unlock();
}
