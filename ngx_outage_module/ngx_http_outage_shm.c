
/*
 * ngx_outage_module: the shared memory zone.
 *
 * Owns the zone's lifecycle, the zone lock, the generation counter and the
 * leases that let exactly one worker poll Redis and one run health checks.
 *
 * Lifecycle, as nginx's own zones (limit_req, upstream zone) do it:
 * init_zone runs in the master while a configuration is read, before nginx
 * knows whether that configuration will be used (a reload can still fail,
 * e.g. on a busy "listen"; the old workers then keep running on the same
 * zone).  So init_zone only attaches to the zone (or creates it) and gives
 * the configuration a number; it rewrites nothing the running workers use.
 * The workers of a configuration claim their slots (by scope name and check
 * key) under the lock at process start, once nginx has committed to that
 * configuration; the first one of a newer configuration also makes it the
 * zone's newest, which retires the writers of older ones.  Everything a
 * worker needs is found from its own cycle, never in statics set while a
 * configuration is read.
 */


#include "ngx_http_outage_module.h"


/*
 * A check that was down under the running configuration, as it was before
 * this one claimed its slots (which may reuse the check's slot, and its
 * scope's, in a full zone): what the notice of a lost take-down names.
 */
typedef struct {
    uint32_t                      key;
    size_t                        name_len;
    u_char                        name[NGX_HTTP_OUTAGE_NAME_MAX];
    size_t                        reason_len;
    u_char                        reason[NGX_HTTP_OUTAGE_ERR_MAX];
} ngx_http_outage_down_check_t;


static ngx_int_t ngx_http_outage_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_outage_shm_t *ngx_http_outage_running_zone(
    ngx_shm_zone_t *shm_zone, ngx_slab_pool_t **pool);
static ngx_uint_t ngx_http_outage_shm_source(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm);
static ngx_uint_t ngx_http_outage_claim_slots(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_uint_t newest, ngx_uint_t was, ngx_uint_t *evicted);
static void ngx_http_outage_passive_forget(ngx_http_outage_shm_check_t *sc);
static ngx_uint_t ngx_http_outage_down_checks(ngx_http_outage_shm_t *shm,
    ngx_uint_t was, ngx_http_outage_down_check_t *down);
static ngx_uint_t ngx_http_outage_down_checks_left(ngx_http_outage_shm_t *shm,
    ngx_uint_t gen, ngx_http_outage_down_check_t *down, ngx_uint_t n,
    ngx_http_outage_down_check_t **first);
static ngx_slab_pool_t *ngx_http_outage_shpool(void);
static ngx_uint_t ngx_http_outage_zone_layout(void);


/* a check's state is carried across reloads at least this long (ms) */
#define NGX_HTTP_OUTAGE_CARRY_MIN  10000


static ngx_str_t  ngx_http_outage_zone_name = ngx_string("ngx_http_outage");


ngx_int_t
ngx_http_outage_shm_add(ngx_conf_t *cf, ngx_http_outage_main_conf_t *omcf)
{
    ngx_uint_t                     i;
    ngx_http_outage_check_conf_t  *checks;

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

    omcf->scope_slots = ngx_palloc(cf->pool,
                                   omcf->scopes.nelts * sizeof(ngx_uint_t));
    if (omcf->scope_slots == NULL) {
        return NGX_ERROR;
    }

    /* until a worker claims them: the slots no decision reads */

    for (i = 0; i < omcf->scopes.nelts; i++) {
        omcf->scope_slots[i] = NGX_HTTP_OUTAGE_NO_SLOT_SCOPE;
    }

    checks = omcf->checks.elts;

    for (i = 0; i < omcf->checks.nelts; i++) {
        checks[i].slot = NGX_HTTP_OUTAGE_NO_SLOT_CHECK;
    }

    omcf->shm_zone->init = ngx_http_outage_init_zone;
    omcf->shm_zone->data = omcf;

    return NGX_OK;
}


/*
 * The version and the shape of the zone in one word: a build whose structs
 * differ in any size or in where the slot tables start (another limit, a
 * new field, another word size) reads as another layout, whatever the
 * version says.  A zone of an older build holds its bare version, which
 * may be odd (0x4f550003 at 0ac453c): a match with it is as unlikely as
 * with any other word, 1 in 2^31.
 */

static ngx_uint_t
ngx_http_outage_zone_layout(void)
{
    size_t  shape[] = {
        NGX_HTTP_OUTAGE_ZONE_LAYOUT,
        sizeof(ngx_http_outage_shm_t),
        sizeof(ngx_http_outage_shm_scope_t),
        sizeof(ngx_http_outage_shm_check_t),
        sizeof(ngx_http_outage_shm_passive_t),
        sizeof(ngx_http_outage_lease_t),
        sizeof(ngx_http_outage_incident_t),
        offsetof(ngx_http_outage_shm_t, redis_lease),
        offsetof(ngx_http_outage_shm_t, scopes),
        offsetof(ngx_http_outage_shm_t, checks),
        NGX_HTTP_OUTAGE_MAX_SCOPES,
        NGX_HTTP_OUTAGE_MAX_CHECKS
    };

    /* 0 would read as a zone nobody initialised */
    return ngx_crc32_short((u_char *) shape, sizeof(shape)) | 1;
}


/*
 * In the master, while a configuration is read: attach or create, and give
 * the configuration its number.  Taking a number changes nothing that
 * running workers read, so a reload that fails later leaves them intact.
 */

static ngx_int_t
ngx_http_outage_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_outage_main_conf_t  *omcf = shm_zone->data;

    ngx_slab_pool_t              *shpool, *opool;
    ngx_http_outage_shm_t        *shm, *old;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data || shm_zone->shm.exists) {
        shm = shpool->data;

        if (shm == NULL || shm->layout != ngx_http_outage_zone_layout()) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "outage: the running shared zone has another "
                          "layout (the module was upgraded): restart nginx "
                          "instead of reloading it");
            return NGX_ERROR;
        }

        omcf->conf_generation = ngx_atomic_fetch_add(&shm->conf_ticket, 1)
                                + 1;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_outage_shm_t));
    if (shm == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "outage: zone of %uz bytes is too small for the state "
                      "(%uz bytes), raise \"outage_zone_size\"",
                      shm_zone->shm.size, sizeof(ngx_http_outage_shm_t));
        return NGX_ERROR;
    }

    /*
     * A new segment while nginx runs (outage_zone_size changed): start from
     * a copy of the running zone, read under its lock and left untouched,
     * so that incidents and checks that are down stay so.  The old workers
     * keep the old zone until they exit; no lease is copied.
     */
    old = ngx_http_outage_running_zone(shm_zone, &opool);

    if (old) {
        ngx_shmtx_lock(&opool->mutex);
        ngx_memcpy(shm, old, sizeof(ngx_http_outage_shm_t));
        ngx_shmtx_unlock(&opool->mutex);

        ngx_memzero(&shm->redis_lease, sizeof(ngx_http_outage_lease_t));
        ngx_memzero(&shm->health_lease, sizeof(ngx_http_outage_lease_t));
        shm->generation++;

        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "outage: new shared zone of %uz bytes, the state of "
                      "the running one is carried over", shm_zone->shm.size);

    } else {
        shm->layout = ngx_http_outage_zone_layout();
        shm->generation = 1;
    }

    shm->conf_ticket++;
    omcf->conf_generation = shm->conf_ticket;

    shpool->data = shm;
    shpool->log_ctx = (u_char *) " in outage zone";

    return NGX_OK;
}


/* the zone of the configuration nginx runs now, if it is another segment */

static ngx_http_outage_shm_t *
ngx_http_outage_running_zone(ngx_shm_zone_t *shm_zone, ngx_slab_pool_t **pool)
{
    ngx_uint_t              i;
    ngx_shm_zone_t         *oz;
    ngx_list_part_t        *part;
    ngx_slab_pool_t        *sp;
    ngx_http_outage_shm_t  *old;

    /* while a configuration is read, ngx_cycle is still the running one */
    part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
    oz = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            oz = part->elts;
            i = 0;
        }

        if (oz[i].tag != &ngx_http_outage_module
            || oz[i].shm.addr == NULL
            || oz[i].shm.addr == shm_zone->shm.addr
            || oz[i].shm.name.len != ngx_http_outage_zone_name.len
            || ngx_strncmp(oz[i].shm.name.data, ngx_http_outage_zone_name.data,
                           ngx_http_outage_zone_name.len)
               != 0)
        {
            continue;
        }

        sp = (ngx_slab_pool_t *) oz[i].shm.addr;
        old = sp->data;

        if (old == NULL || old->layout != ngx_http_outage_zone_layout()) {
            return NULL;
        }

        *pool = sp;
        return old;
    }
}


/*
 * In each worker (and respawned worker) at start: find this configuration's
 * slots.  The first worker of a configuration newer than the zone's newest
 * makes it the newest; only the newest may take slots for names the zone
 * does not have yet.  Every worker of a configuration runs the same steps
 * on the same names, so all of them, respawned ones too, find one mapping.
 */

ngx_int_t
ngx_http_outage_shm_init_process(ngx_cycle_t *cycle)
{
    size_t                         reason_len;
    ngx_uint_t                     gen, newest, was, dropped, evicted,
                                   foreign, gone, ndown;
    u_char                         reason[NGX_HTTP_OUTAGE_ERR_MAX];
    ngx_slab_pool_t               *shpool;
    ngx_http_outage_down_check_t  *down, *first;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);
    shpool = (ngx_slab_pool_t *) omcf->shm_zone->shm.addr;
    shm = shpool->data;
    gen = omcf->conf_generation;
    down = NULL;
    ndown = 0;
    first = NULL;

    ngx_shmtx_lock(&shpool->mutex);

    was = shm->conf_generation;

    if (was < gen) {
        shm->conf_generation = gen;

        /* once per configuration: its respawned workers do not restart it */
        shm->conf_started = ngx_current_msec;
        shm->conf_grace = 1;
    }

    newest = (shm->conf_generation == gen);

    /*
     * The running configuration's down checks, before this one claims
     * slots: in a full zone it may reuse the very slot of a down check it
     * changed, and that of its scope.  Only the first worker of a newer
     * configuration (was < gen) says what ends.
     */
    if (newest && was && was < gen) {
        down = ngx_palloc(cycle->pool, NGX_HTTP_OUTAGE_MAX_CHECKS
                                       * sizeof(ngx_http_outage_down_check_t));
        if (down != NULL) {
            ndown = ngx_http_outage_down_checks(shm, was, down);
        }
    }

    evicted = 0;
    dropped = ngx_http_outage_claim_slots(omcf, shm, newest, was, &evicted);
    foreign = newest ? ngx_http_outage_shm_source(omcf, shm) : 0;

    gone = ngx_http_outage_down_checks_left(shm, gen, down, ndown, &first);

    ngx_shmtx_unlock(&shpool->mutex);

    if (gone) {
        reason_len = ngx_http_outage_log_escape_cut(reason, sizeof(reason),
                                                    first->reason,
                                                    first->reason_len);

        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "outage: configuration %ui does not probe %ui "
                      "check(s) that were down under the running "
                      "configuration (the first: of scope \"%*s\", "
                      "\"%*s\"): a check removed, or whose scope, URL, "
                      "method or headers changed, no longer keeps its "
                      "scope down; a changed one is a new check, which "
                      "starts unknown and takes its scope down once it "
                      "fails \"fall\" times (docs/reliability.md#"
                      "stale-state)",
                      gen, gone, first->name_len, first->name,
                      reason_len, reason);
    }

    if (foreign) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "outage: configuration %ui polls another Redis "
                      "(another server, db= or prefix=): the %ui Redis state(s) read from the "
                      "previous one are not shown until this one answers",
                      gen, foreign);
    }

    if (evicted) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "outage: configuration %ui reuses the slots of %ui "
                      "scope(s) or check(s) that only the running "
                      "configuration has: the zone holds %d scopes and %d "
                      "checks, and every other slot is in use (docs/"
                      "reliability.md#stale-state)", gen, evicted,
                      NGX_HTTP_OUTAGE_MAX_SCOPES, NGX_HTTP_OUTAGE_MAX_CHECKS);
    }

    if (dropped) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "outage: configuration %ui does not take over the "
                      "state of %ui scope(s) or check(s) that the running "
                      "configuration did not poll or probe (docs/"
                      "reliability.md#stale-state)", gen, dropped);
    }

    if (was < gen) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                       "outage: configuration %ui takes over the shared "
                       "state from configuration %ui", gen, was);

    } else if (!newest) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "outage: worker of configuration %ui started after "
                      "configuration %ui took over: it does not poll or "
                      "probe", gen, shm->conf_generation);
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_outage_pick_slot(ngx_uint_t *claimed, ngx_uint_t *used,
    ngx_uint_t n, ngx_uint_t gen)
{
    ngx_uint_t  j, best;

    best = n;

    /* a never used slot, else the one unused the longest */

    for (j = 0; j < n; j++) {
        if (claimed[j] == gen) {
            continue;
        }

        if (!used[j]) {
            return j;
        }

        if (best == n || claimed[j] < claimed[best]) {
            best = j;
        }
    }

    return best;
}


/*
 * With the lock held.  The newest configuration takes over a slot's state
 * only if it is evidence still (docs/reliability.md#stale-state): a scope's
 * Redis incident only if the running configuration polled that scope, a
 * check's state only if the running configuration probed it or its last
 * probe is recent.  Anything else is as old as the configuration that last
 * had the name and may have ended since.  Returns how many states were
 * dropped (the generation is bumped for them); *evicted counts the slots of
 * names only the running configuration has that a new name took, with
 * whatever state they held (logged apart: no state of this configuration
 * is lost with them).
 */

/*
 * What outage_redis polls, as a fingerprint kept in the zone: a reload that
 * points it elsewhere (another server, db, prefix or user) must not show
 * the previous source's states as this one's (docs/redis.md).
 */

uint32_t
ngx_http_outage_redis_source(ngx_http_outage_main_conf_t *omcf)
{
    u_char                        buf[NGX_INT_T_LEN];
    uint32_t                      crc;
    ngx_uint_t                    i;
    ngx_http_outage_redis_addr_t *a;

    if (omcf->redis_addrs == NULL || omcf->redis_addrs->nelts == 0) {
        return 0;
    }

    a = omcf->redis_addrs->elts;
    ngx_crc32_init(crc);

    for (i = 0; i < omcf->redis_addrs->nelts; i++) {
        ngx_crc32_update(&crc, a[i].name.data, a[i].name.len);
        ngx_crc32_update(&crc, (u_char *) "\n", 1);
    }

    ngx_crc32_update(&crc, buf, ngx_sprintf(buf, "%i", omcf->redis_db) - buf);
    ngx_crc32_update(&crc, (u_char *) "\n", 1);
    ngx_crc32_update(&crc, omcf->redis_prefix.data, omcf->redis_prefix.len);
    ngx_crc32_update(&crc, (u_char *) "\n", 1);
    ngx_crc32_update(&crc, omcf->redis_user.data, omcf->redis_user.len);
    ngx_crc32_final(crc);

    return crc ? crc : 1;
}


/*
 * Where outage_redis reads its data, apart from how it is written: db=
 * and prefix= (*data), and each address as it resolved when the
 * configuration was read (an IP and port, a unix path; a name that did
 * not resolve, as written).  Returns how many addresses were put in where.
 */

static ngx_uint_t
ngx_http_outage_redis_where(ngx_http_outage_main_conf_t *omcf,
    uint32_t *data, uint32_t *where)
{
    u_char                        buf[NGX_INT_T_LEN];
    uint32_t                      crc;
    ngx_uint_t                    i, n;
    ngx_http_outage_redis_addr_t *a;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, buf, ngx_sprintf(buf, "%i", omcf->redis_db) - buf);
    ngx_crc32_update(&crc, (u_char *) "\n", 1);
    ngx_crc32_update(&crc, omcf->redis_prefix.data, omcf->redis_prefix.len);
    ngx_crc32_final(crc);
    *data = crc;

    a = omcf->redis_addrs->elts;
    n = ngx_min(omcf->redis_addrs->nelts, NGX_HTTP_OUTAGE_REDIS_WHERE);

    for (i = 0; i < n; i++) {
        ngx_crc32_init(crc);

        if (a[i].unix_path.len) {
            ngx_crc32_update(&crc, (u_char *) "unix:", 5);
            ngx_crc32_update(&crc, a[i].unix_path.data, a[i].unix_path.len);

        } else if (a[i].addr.socklen && a[i].host.len) {
            ngx_crc32_update(&crc, a[i].host.data, a[i].host.len);
            ngx_crc32_update(&crc, buf,
                             ngx_sprintf(buf, ":%d", (int) a[i].port) - buf);

        } else {
            ngx_crc32_update(&crc, a[i].name.data, a[i].name.len);
        }

        ngx_crc32_final(crc);
        where[i] = crc;
    }

    return n;
}


/*
 * Under the lock, by the newest configuration's workers: a changed source
 * makes the scopes' Redis states foreign (decision.c: not usable) until
 * this configuration's first successful poll; the number of such states,
 * for the one notice.  A reload that only respells the same Redis (its
 * name for its IP, user= rotated, a replica added to the list) reads the
 * same data: its states stay evidence.  Hiding them until the first poll
 * would take down what an "ok" silences, and hide a declared incident,
 * for as long as that poll takes, unbounded if it fails.
 */

static ngx_uint_t
ngx_http_outage_shm_source(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm)
{
    uint32_t    fp, data, where[NGX_HTTP_OUTAGE_REDIS_WHERE];
    ngx_uint_t  i, k, n, nwhere, same;

    fp = ngx_http_outage_redis_source(omcf);

    if (fp == shm->redis_source) {
        return 0;
    }

    same = 0;
    nwhere = 0;

    if (fp) {
        nwhere = ngx_http_outage_redis_where(omcf, &data, where);

        for (i = 0; shm->redis_source && data == shm->redis_data
                    && i < nwhere && !same; i++)
        {
            for (k = 0; k < shm->redis_nwhere; k++) {
                if (where[i] == shm->redis_where[k]) {
                    same = 1;
                    break;
                }
            }
        }

        shm->redis_data = data;
        ngx_memcpy(shm->redis_where, where, nwhere * sizeof(uint32_t));
    }

    shm->redis_nwhere = nwhere;

    if (same) {
        /* foreign still if an earlier reload made it so: its poll clears */
        shm->redis_source = fp;
        return 0;
    }

    n = 0;

    if (fp && shm->redis_source) {
        for (i = 0; i < NGX_HTTP_OUTAGE_MAX_SCOPES; i++) {
            if (shm->scopes[i].name_len
                && shm->scopes[i].redis.state != NGX_HTTP_OUTAGE_STATE_NONE)
            {
                n++;
            }
        }
    }

    shm->redis_source = fp;
    shm->redis_foreign = (n != 0);

    if (n) {
        ngx_http_outage_shm_bump(shm);
    }

    return n;
}


static ngx_uint_t
ngx_http_outage_claim_slots(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_uint_t newest, ngx_uint_t was,
    ngx_uint_t *evicted)
{
    ngx_msec_t                     recent;
    ngx_msec_int_t                 age, seen;
    ngx_str_t                     *names;
    uint32_t                       key;
    ngx_uint_t                     i, j, gen, slot, redis, dropped, bump;
    ngx_uint_t                     claimed[NGX_HTTP_OUTAGE_MAX_CHECKS];
    ngx_uint_t                     used[NGX_HTTP_OUTAGE_MAX_CHECKS];
    ngx_uint_t                     mine[NGX_HTTP_OUTAGE_MAX_CHECKS];
    ngx_http_outage_shm_scope_t   *ss;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *checks;

#if (NGX_HTTP_OUTAGE_MAX_SCOPES > NGX_HTTP_OUTAGE_MAX_CHECKS)
#error "the slot arrays below are sized for the larger table"
#endif

    gen = omcf->conf_generation;
    names = omcf->scopes.elts;
    redis = (omcf->redis_addrs && omcf->redis_addrs->nelts);
    dropped = 0;
    bump = 0;

    /*
     * First every name the zone has, then the missing ones, each in a slot
     * no name of this configuration holds: taking slots in declaration
     * order would let a new name take the slot of a name listed after it,
     * and wipe its state.
     */

    ngx_memzero(mine, sizeof(mine));

    for (i = 0; i < omcf->scopes.nelts; i++) {
        slot = NGX_HTTP_OUTAGE_NO_SLOT_SCOPE;

        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_SCOPES; j++) {
            ss = &shm->scopes[j];

            if (ss->name_len == names[i].len
                && ngx_strncmp(ss->name, names[i].data, names[i].len) == 0)
            {
                slot = j;
                mine[j] = 1;
                break;
            }
        }

        omcf->scope_slots[i] = slot;
    }

    for (i = 0; i < omcf->scopes.nelts; i++) {
        slot = omcf->scope_slots[i];

        if (slot == NGX_HTTP_OUTAGE_NO_SLOT_SCOPE && newest) {
            for (j = 0; j < NGX_HTTP_OUTAGE_MAX_SCOPES; j++) {
                claimed[j] = mine[j] ? gen : shm->scopes[j].claimed;
                used[j] = (shm->scopes[j].name_len != 0);
            }

            /* at most MAX_SCOPES names are configured: one is free */
            slot = ngx_http_outage_pick_slot(claimed, used,
                                             NGX_HTTP_OUTAGE_MAX_SCOPES, gen);
            if (slot == NGX_HTTP_OUTAGE_NO_SLOT_SCOPE) {
                continue;
            }

            ss = &shm->scopes[slot];

            if (ss->name_len && ss->claimed >= was && was) {
                /* a name only the running configuration polls */
                (*evicted)++;

                if (ss->redis.state != NGX_HTTP_OUTAGE_STATE_NONE) {
                    bump = 1;
                }
            }

            mine[slot] = 1;
            ngx_memzero(ss, sizeof(ngx_http_outage_shm_scope_t));
            ngx_memcpy(ss->name, names[i].data, names[i].len);
            ss->name_len = names[i].len;
        }

        if (slot != NGX_HTTP_OUTAGE_NO_SLOT_SCOPE && newest) {
            ss = &shm->scopes[slot];

            /*
             * Without outage_redis no scope has a Redis state; a scope the
             * running configuration did not have was not polled since.
             * (The first worker of this configuration claims with was <
             * gen; its siblings find claimed == gen and keep what the
             * poller has written since.)
             */
            if ((!redis || ss->claimed < was)
                && ss->redis.state != NGX_HTTP_OUTAGE_STATE_NONE)
            {
                ngx_memzero(&ss->redis, sizeof(ngx_http_outage_incident_t));
                ss->redis_since = 0;
                dropped++;
                bump = 1;
            }

            ss->claimed = gen;
        }

        omcf->scope_slots[i] = slot;
    }

    checks = omcf->checks.elts;
    ngx_memzero(mine, sizeof(mine));

    /* as for scopes: the keys the zone has first */

    for (i = 0; i < omcf->checks.nelts; i++) {
        slot = NGX_HTTP_OUTAGE_NO_SLOT_CHECK;

        /* keys are unique in a configuration (outage_check refuses
         * duplicates); "mine" is a guard, not a feature */
        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
            if (!mine[j] && shm->checks[j].key == checks[i].key) {
                slot = j;
                mine[j] = 1;
                break;
            }
        }

        checks[i].slot = slot;
    }

    for (i = 0; i < omcf->checks.nelts; i++) {
        slot = checks[i].slot;

        if (slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK && newest) {
            for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
                claimed[j] = mine[j] ? gen : shm->checks[j].claimed;
                used[j] = (shm->checks[j].key != 0);
            }

            slot = ngx_http_outage_pick_slot(claimed, used,
                                             NGX_HTTP_OUTAGE_MAX_CHECKS, gen);
            if (slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK) {
                continue;
            }

            sc = &shm->checks[slot];

            if (sc->key && sc->claimed >= was && was) {
                /* a check only the running configuration probes */
                (*evicted)++;

                if (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
                    bump = 1;
                }
            }

            ngx_memzero(sc, sizeof(ngx_http_outage_shm_check_t));
            sc->key = checks[i].key;
            sc->health = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
            sc->passive_key = ngx_http_outage_check_passive_key(&checks[i]);
        }

        if (slot != NGX_HTTP_OUTAGE_NO_SLOT_CHECK) {
            mine[slot] = 1;
            sc = &shm->checks[slot];

            /*
             * A check the running configuration did not probe carries its
             * state only while its last probe (or passive failure) is
             * within what would have taken it down (fall probes, the last
             * one timing out, plus a prober tick), and at least the time
             * reloads take on a busy host (a check moved away and back by
             * two reloads is the same check): older, the backend may have
             * recovered meanwhile and the check starts as a fresh one
             * does.
             */
            recent = checks[i].fall * checks[i].interval + checks[i].timeout
                     + 1000;
            recent = ngx_max(recent, NGX_HTTP_OUTAGE_CARRY_MIN);
            age = (ngx_msec_int_t) (ngx_current_msec - sc->probed);

            /* a confirmation may be pending before any probe was stored */
            if (sc->passive.last_failure) {
                seen = 1000 * (ngx_msec_int_t)
                              (ngx_time() - (time_t) sc->passive.last_failure);
                age = ngx_min(age, seen);
            }

            /*
             * The addresses a reload that cannot resolve the name probes
             * meanwhile are those of the check that ran just before: a
             * check back after longer starts with none, as a fresh one
             * (its old addresses may belong to someone else by now)
             */
            if (newest && sc->claimed < was && age > (ngx_msec_int_t) recent) {
                sc->addrs_len = 0;
            }

            if (newest && sc->claimed < was && age > (ngx_msec_int_t) recent
                && (sc->health != NGX_HTTP_OUTAGE_HEALTH_UNKNOWN
                    || sc->fails || sc->passes || sc->confirm
                    || sc->passive.streak))
            {
                if (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
                    bump = 1;
                }

                sc->health = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
                sc->since = 0;
                sc->reason_len = 0;
                sc->fails = 0;
                sc->passes = 0;
                sc->direct_seen = 0;
                ngx_http_outage_passive_forget(sc);
                dropped++;
            }

            /*
             * Passive evidence is counted and judged under the check's
             * passive settings: a streak or a pending "probe now to
             * confirm" counted under other ones must not act under these
             * (a confirming probe that fails "fall" times labels the
             * check "passive", which the guard never holds back).  With
             * the settings unchanged it is kept, so that a reload neither
             * loses a pending confirmation nor restarts the streak.
             */
            key = ngx_http_outage_check_passive_key(&checks[i]);

            if (newest && sc->passive_key != key) {
                ngx_http_outage_passive_forget(sc);
                sc->passive_key = key;
            }

            /*
             * whether traffic reaches the host:port the check probes is
             * learnt again from this configuration's (its proxy_pass may
             * have changed; health.c, passive)
             */
            if (newest && sc->claimed != gen) {
                sc->own_traffic = 0;
            }

            if (newest) {
                shm->checks[slot].claimed = gen;
                shm->checks[slot].scope_slot =
                                          omcf->scope_slots[checks[i].scope];
            }
        }

        checks[i].slot = slot;
    }

    if (bump) {
        ngx_http_outage_shm_bump(shm);
    }

    return dropped;
}


/*
 * With the zone locked, before claim_slots(): the checks that were down
 * under the running configuration (claimed by it), with their scope's
 * name and their reason as they are now.
 */

static ngx_uint_t
ngx_http_outage_down_checks(ngx_http_outage_shm_t *shm, ngx_uint_t was,
    ngx_http_outage_down_check_t *down)
{
    ngx_uint_t                     j, n;
    ngx_http_outage_shm_scope_t   *ss;
    ngx_http_outage_shm_check_t   *sc;

    n = 0;

    for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
        sc = &shm->checks[j];

        if (sc->key == 0 || sc->claimed != was
            || sc->health != NGX_HTTP_OUTAGE_HEALTH_DOWN)
        {
            continue;
        }

        down[n].key = sc->key;
        down[n].name_len = 0;

        if (sc->scope_slot < NGX_HTTP_OUTAGE_MAX_SCOPES) {
            ss = &shm->scopes[sc->scope_slot];
            down[n].name_len = ngx_min(ss->name_len,
                                       NGX_HTTP_OUTAGE_NAME_MAX);
            ngx_memcpy(down[n].name, ss->name, down[n].name_len);
        }

        down[n].reason_len = ngx_min(sc->reason_len, NGX_HTTP_OUTAGE_ERR_MAX);
        ngx_memcpy(down[n].reason, sc->reason, down[n].reason_len);
        n++;
    }

    return n;
}


/*
 * After claim_slots(): those of them this configuration does not probe
 * (no slot holds the key claimed by it: removed, or changed into another
 * check, whatever slot that one took).  Their scopes lose that take-down,
 * which the log must say rather than let a real outage end silently.
 * *first: the first one, for the notice.
 */

static ngx_uint_t
ngx_http_outage_down_checks_left(ngx_http_outage_shm_t *shm, ngx_uint_t gen,
    ngx_http_outage_down_check_t *down, ngx_uint_t n,
    ngx_http_outage_down_check_t **first)
{
    ngx_uint_t  i, j, gone;

    gone = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < NGX_HTTP_OUTAGE_MAX_CHECKS; j++) {
            if (shm->checks[j].key == down[i].key
                && shm->checks[j].claimed == gen)
            {
                break;
            }
        }

        if (j < NGX_HTTP_OUTAGE_MAX_CHECKS) {
            continue;
        }

        if (gone++ == 0) {
            *first = &down[i];
        }
    }

    return gone;
}


/*
 * Passive evidence and the confirmation it asked for (health.c); the
 * probes' own state (health, fails, passes) is the caller's business.
 */

static void
ngx_http_outage_passive_forget(ngx_http_outage_shm_check_t *sc)
{
    sc->passive.streak = 0;
    sc->passive.last_failure = 0;
    ngx_memzero(sc->passive.buckets, sizeof(sc->passive.buckets));
    sc->confirm = 0;
    sc->confirm_len = 0;

    /* refusals that would let "no live upstreams" page without a probe */
    sc->conn_failed = 0;
}


static ngx_slab_pool_t *
ngx_http_outage_shpool(void)
{
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);

    if (omcf == NULL || omcf->shm_zone == NULL
        || omcf->shm_zone->shm.addr == NULL)
    {
        return NULL;
    }

    return (ngx_slab_pool_t *) omcf->shm_zone->shm.addr;
}


/* the zone of this worker's cycle */

ngx_http_outage_shm_t *
ngx_http_outage_shm(void)
{
    ngx_slab_pool_t  *shpool;

    shpool = ngx_http_outage_shpool();

    return shpool ? shpool->data : NULL;
}


ngx_uint_t
ngx_http_outage_scope_slot(ngx_uint_t scope)
{
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);

    return omcf->scope_slots[scope];
}


void
ngx_http_outage_shm_lock(void)
{
    ngx_shmtx_lock(&ngx_http_outage_shpool()->mutex);
}


void
ngx_http_outage_shm_unlock(void)
{
    ngx_shmtx_unlock(&ngx_http_outage_shpool()->mutex);
}


/* called with the lock held, after a change of a (decision) field */

void
ngx_http_outage_shm_bump(ngx_http_outage_shm_t *shm)
{
    ngx_memory_barrier();
    shm->generation++;
}


/*
 * With the lock held: 1 if this worker's configuration is the newest whose
 * workers run.  Workers of an older one (still finishing requests after a
 * reload) must not write: their slots may belong to others now.
 */

ngx_uint_t
ngx_http_outage_shm_current(void)
{
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);
    shm = ngx_http_outage_shm();

    return shm->conf_generation == omcf->conf_generation;
}


/*
 * Take or renew a lease: free, expired (its holder exited or stalls), held
 * by an older configuration's worker, or already ours; and only while this
 * worker's configuration is the newest.  Returns 1 if this process holds it
 * for the next ttl ms.  A holder that stopped renewing is named in one log
 * line when its lease is taken over.
 */

ngx_uint_t
ngx_http_outage_lease_take(ngx_http_outage_lease_t *lease, ngx_msec_t ttl,
    ngx_log_t *log, const char *what)
{
    ngx_pid_t                     stalled;
    ngx_uint_t                    ours, gen;
    ngx_msec_int_t                overdue;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);
    shm = ngx_http_outage_shm();
    gen = omcf->conf_generation;
    stalled = 0;
    overdue = 0;
    ours = 0;

    ngx_http_outage_shm_lock();

    if (shm->conf_generation != gen) {
        if (lease->pid == ngx_pid && lease->conf == gen) {
            lease->pid = 0;
            lease->expires = 0;
        }

    } else if (lease->pid == ngx_pid && lease->conf == gen) {
        ours = 1;

    } else if (lease->pid == 0 || lease->conf != gen) {
        ours = 1;

    } else {
        overdue = (ngx_msec_int_t) (ngx_current_msec - lease->expires);

        if (overdue >= 0) {
            stalled = lease->pid;
            ours = 1;
        }
    }

    if (ours) {
        if (lease->pid != ngx_pid || lease->conf != gen) {
            lease->epoch++;     /* fences results asked for before */
        }

        lease->pid = ngx_pid;
        lease->conf = gen;
        lease->expires = ngx_current_msec + ttl;
    }

    ngx_http_outage_shm_unlock();

    if (stalled) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "outage: worker %P stopped renewing its lease (%M ms "
                      "overdue), this worker %s from now on",
                      stalled, (ngx_msec_t) overdue, what);
    }

    return ours;
}


/*
 * With the lock held, right before a write: the lease is still this
 * worker's (nobody took it over while it stalled) and its configuration is
 * the newest.  A lease that expired but was not taken still holds: no one
 * else has written since.
 */

ngx_uint_t
ngx_http_outage_lease_holds(ngx_http_outage_lease_t *lease)
{
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);
    shm = ngx_http_outage_shm();

    return lease->pid == ngx_pid
           && lease->conf == omcf->conf_generation
           && shm->conf_generation == omcf->conf_generation;
}


/*
 * When a holder sends a request (a poll, a probe): the lease's epoch, to be
 * given to ngx_http_outage_lease_holds_since() with the result.  Read
 * without the lock: the holder just took or renewed the lease; if another
 * worker took it over meanwhile, the value is newer and the result of this
 * request is dropped, as it should be.
 */

ngx_uint_t
ngx_http_outage_lease_epoch(ngx_http_outage_lease_t *lease)
{
    return lease->epoch;
}


/*
 * With the lock held, before writing the result of a request sent in
 * "epoch": the lease holds, and has not changed hands since the request
 * was sent.  A holder that stalled with a request in flight, lost the
 * lease and took it back (its tick can run before its read handler) would
 * otherwise write a result older than what the other holder wrote.
 */

ngx_uint_t
ngx_http_outage_lease_holds_since(ngx_http_outage_lease_t *lease,
    ngx_uint_t epoch)
{
    return ngx_http_outage_lease_holds(lease) && lease->epoch == epoch;
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


#if (NGX_HTTP_OUTAGE_RACE_HOOK)

/*
 * Test builds only (make build-asan defines NGX_HTTP_OUTAGE_RACE_HOOK; no
 * other build has this code): a request carrying "X-Outage-Race: text"
 * plays a Redis poller of another worker that publishes "text" as the
 * message of every scope with a Redis state, right after a variable was
 * read.  nginx's script engine reads a variable once for the length and
 * once for the copy ("set $x $outage_message"), so the write lands exactly
 * between the two passes: the test of the pinned snapshot
 * (test_lifecycle.py) needs no luck to hit the window.
 */

void
ngx_http_outage_race_hook(ngx_http_request_t *r)
{
    size_t                        len;
    ngx_uint_t                    i, slot;
    ngx_table_elt_t              *race;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_incident_t   *inc;
    ngx_http_outage_main_conf_t  *omcf;

    static ngx_str_t  name = ngx_string("X-Outage-Race");

    race = ngx_http_outage_header_list(&r->headers_in.headers, &name, NULL);

    shm = ngx_http_outage_shm();

    if (race == NULL || shm == NULL) {
        return;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);
    len = ngx_min(race->value.len, NGX_HTTP_OUTAGE_MESSAGE_MAX);

    ngx_http_outage_shm_lock();

    for (i = 0; i < omcf->scopes.nelts; i++) {
        slot = omcf->scope_slots[i];
        inc = &shm->scopes[slot].redis;

        if (slot != NGX_HTTP_OUTAGE_NO_SLOT_SCOPE
            && inc->state != NGX_HTTP_OUTAGE_STATE_NONE)
        {
            ngx_memcpy(inc->message, race->value.data, len);
            inc->message_len = len;
        }
    }

    ngx_http_outage_shm_bump(shm);

    ngx_http_outage_shm_unlock();

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "outage: race hook: the message is now %uz bytes", len);
}

#endif
