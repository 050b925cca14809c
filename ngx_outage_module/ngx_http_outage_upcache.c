
/*
 * ngx_outage_module: the probe past nginx's upstream caches.
 *
 * A check whose URL reaches this nginx itself must see what the backend
 * answers now.  A location that caches (proxy_cache, fastcgi_cache,
 * uwsgi_cache, scgi_cache) would answer the probe from the cache: a dead
 * application would stay "up" for proxy_cache_valid, or for good with
 * *_cache_use_stale error, and the passive rule's confirming probe would
 * pass too.  The cache is often not where the page is: the paging
 * location hands the request on (try_files $uri @app), or the check's URL
 * has a location of its own.  So every location that caches, when this
 * nginx has checks, gets "$outage_probe" added to its *_cache_bypass and
 * *_no_cache predicates when the configuration is read, and the operator
 * need not know: the probe goes to the backend (never a hit, nor a stale
 * copy: a bypassed request is never served stale) and its answer is not
 * stored.  The variable is empty for any request but a check's, so
 * visitors are cached as configured.
 *
 * These modules are found by name: nginx may be built without them, and
 * a dynamic module cannot link against their symbols.  Their location
 * configuration starts with an ngx_http_upstream_conf_t (1.22 to 1.31);
 * the offsets their own *_cache_bypass and *_no_cache directives write to
 * are checked against that before anything is changed.
 */


#include "ngx_http_outage_module.h"


#if (NGX_HTTP_CACHE)

typedef struct {
    char                        *module;
    ngx_str_t                    bypass;      /* its directives */
    ngx_str_t                    no_cache;
} ngx_http_outage_upcache_t;


static ngx_http_outage_upcache_t  ngx_http_outage_upcaches[] = {
    { "ngx_http_proxy_module", ngx_string("proxy_cache_bypass"),
      ngx_string("proxy_no_cache") },
    { "ngx_http_fastcgi_module", ngx_string("fastcgi_cache_bypass"),
      ngx_string("fastcgi_no_cache") },
    { "ngx_http_uwsgi_module", ngx_string("uwsgi_cache_bypass"),
      ngx_string("uwsgi_no_cache") },
    { "ngx_http_scgi_module", ngx_string("scgi_cache_bypass"),
      ngx_string("scgi_no_cache") },
    { NULL, ngx_null_string, ngx_null_string }
};


static ngx_command_t *ngx_http_outage_upcache_command(ngx_module_t *m,
    ngx_str_t *name);
static ngx_int_t ngx_http_outage_upcache_add(ngx_conf_t *cf,
    ngx_array_t **predicates, ngx_http_complex_value_t *cv);
static void ngx_http_outage_upcache_warn(ngx_conf_t *cf,
    ngx_http_outage_upcache_t *uc);

#endif


/*
 * Remembers every location (its loc_conf array, as the merge sees it: an
 * "if" block or limit_except has its own and is reached by no walk of the
 * locations later).  Whether it caches is known only once every module
 * merged it.
 */

ngx_int_t
ngx_http_outage_upcache_note(ngx_conf_t *cf)
{
    void                         ***loc;
    ngx_http_outage_main_conf_t    *omcf;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    if (omcf->cache_locs == NULL) {
        omcf->cache_locs = ngx_array_create(cf->pool, 4, sizeof(void **));
        if (omcf->cache_locs == NULL) {
            return NGX_ERROR;
        }
    }

    loc = ngx_array_push(omcf->cache_locs);
    if (loc == NULL) {
        return NGX_ERROR;
    }

    *loc = ((ngx_http_conf_ctx_t *) cf->ctx)->loc_conf;

    return NGX_OK;
}


/* postconfiguration: every module's locations are merged by now */

ngx_int_t
ngx_http_outage_upcache_init(ngx_conf_t *cf)
{
#if (NGX_HTTP_CACHE)
    void                         ***loc;
    size_t                          base;
    ngx_uint_t                      i, k;
    ngx_module_t                   *m;
    ngx_command_t                  *bypass, *no_cache;
    ngx_http_upstream_conf_t       *u;
    ngx_http_complex_value_t        cv;
    ngx_http_outage_upcache_t      *uc;
    ngx_http_outage_main_conf_t    *omcf;
    ngx_http_compile_complex_value_t  ccv;

    static ngx_str_t  probe = ngx_string("$outage_probe");

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    if (omcf->cache_locs == NULL || omcf->checks.nelts == 0) {
        return NGX_OK;              /* no probe: $outage_probe is empty */
    }

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));
    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &probe;
    ccv.complex_value = &cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_ERROR;
    }

    loc = omcf->cache_locs->elts;

    for (uc = ngx_http_outage_upcaches; uc->module; uc++) {

        for (m = NULL, i = 0; cf->cycle->modules[i]; i++) {
            if (cf->cycle->modules[i]->type == NGX_HTTP_MODULE
                && ngx_strcmp(cf->cycle->modules[i]->name, uc->module) == 0)
            {
                m = cf->cycle->modules[i];
                break;
            }
        }

        if (m == NULL) {
            continue;               /* nginx built without it */
        }

        bypass = ngx_http_outage_upcache_command(m, &uc->bypass);
        no_cache = ngx_http_outage_upcache_command(m, &uc->no_cache);

        if (bypass == NULL && no_cache == NULL) {
            continue;               /* without a cache */
        }

        /*
         * Where the module's ngx_http_upstream_conf_t is, from what its
         * own directives write to; a module whose two offsets do not
         * agree on it is not the one this code knows.
         */
        base = bypass
               ? bypass->offset - offsetof(ngx_http_upstream_conf_t,
                                           cache_bypass)
               : 0;

        if (bypass == NULL || no_cache == NULL
            || bypass->offset < offsetof(ngx_http_upstream_conf_t,
                                         cache_bypass)
            || no_cache->offset - offsetof(ngx_http_upstream_conf_t,
                                           no_cache) != base)
        {
            ngx_http_outage_upcache_warn(cf, uc);
            continue;
        }

        for (k = 0; k < omcf->cache_locs->nelts; k++) {
            if (loc[k][m->ctx_index] == NULL) {
                continue;
            }

            u = (ngx_http_upstream_conf_t *)
                    ((u_char *) loc[k][m->ctx_index] + base);

            if (!u->cache) {
                continue;
            }

            if (ngx_http_outage_upcache_add(cf, &u->cache_bypass, &cv)
                != NGX_OK
                || ngx_http_outage_upcache_add(cf, &u->no_cache, &cv)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }
#endif

    return NGX_OK;
}


#if (NGX_HTTP_CACHE)

static ngx_command_t *
ngx_http_outage_upcache_command(ngx_module_t *m, ngx_str_t *name)
{
    ngx_command_t  *cmd;

    for (cmd = m->commands; cmd && cmd->name.len; cmd++) {
        if (cmd->name.len == name->len
            && ngx_strncmp(cmd->name.data, name->data, name->len) == 0
            && (cmd->type & NGX_HTTP_LOC_CONF)
            && cmd->conf == NGX_HTTP_LOC_CONF_OFFSET
            && cmd->set == ngx_http_set_predicate_slot)
        {
            return cmd;
        }
    }

    return NULL;
}


/*
 * A new array for this location: the one it has may be its parent's,
 * shared with locations that do not page (nginx merges the pointer).
 */

static ngx_int_t
ngx_http_outage_upcache_add(ngx_conf_t *cf, ngx_array_t **predicates,
    ngx_http_complex_value_t *cv)
{
    ngx_uint_t                 n;
    ngx_array_t               *a;
    ngx_http_complex_value_t  *p;

    n = (*predicates && *predicates != NGX_CONF_UNSET_PTR)
        ? (*predicates)->nelts : 0;

    a = ngx_array_create(cf->pool, n + 1, sizeof(ngx_http_complex_value_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    p = ngx_array_push_n(a, n + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (n) {
        ngx_memcpy(p, (*predicates)->elts,
                   n * sizeof(ngx_http_complex_value_t));
    }

    p[n] = *cv;
    *predicates = a;

    return NGX_OK;
}


static void
ngx_http_outage_upcache_warn(ngx_conf_t *cf, ngx_http_outage_upcache_t *uc)
{
    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "\"outage_check\": \"$outage_probe\" cannot be "
                       "added to the caches of this nginx's %s; in each "
                       "location that caches, add \"%V $outage_probe;\" "
                       "and \"%V $outage_probe;\", or health checks "
                       "through it are answered from the cache",
                       uc->module, &uc->bypass, &uc->no_cache);
}

#endif
