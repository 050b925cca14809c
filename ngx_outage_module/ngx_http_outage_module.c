
/*
 * ngx_outage_module: module definition and configuration.
 *
 * Owns the directive table, creation and merging of the main and location
 * configurations, the registration of the shared zone, filters, phase
 * handler and variables, and the per-process start and stop of the
 * background work (Redis poller, health prober); also the Accept header
 * lookup the banner and the page share.
 */


#include "ngx_http_outage_module.h"
#include "ngx_http_outage_tplcheck.h"

#if (NGX_OPENSSL)
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif


static ngx_int_t ngx_http_outage_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_outage_postconfiguration(ngx_conf_t *cf);
static ngx_uint_t ngx_http_outage_main_conf_used(ngx_conf_t *cf,
    ngx_http_outage_main_conf_t *omcf);
static void ngx_http_outage_loc_conf_unset(ngx_http_outage_loc_conf_t *olcf);
static ngx_uint_t ngx_http_outage_loc_conf_used(
    ngx_http_outage_loc_conf_t *olcf);
static void *ngx_http_outage_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_outage_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_outage_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_outage_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_outage_scopes_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_outage_status_list_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_outage_file_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_outage_declare_scopes(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_outage_off_time_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_outage_bypass_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_outage_probe_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_outage_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_outage_page_status_check(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_outage_format_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_outage_banner_html_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_outage_complex_value_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_outage_predicate_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_outage_name_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, char *rv);
static ngx_int_t ngx_http_outage_init_process(ngx_cycle_t *cycle);
static void ngx_http_outage_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_outage_page_formats[] = {
    { ngx_string("auto"), NGX_HTTP_OUTAGE_FORMAT_AUTO },
    { ngx_string("html"), NGX_HTTP_OUTAGE_FORMAT_HTML },
    { ngx_string("json"), NGX_HTTP_OUTAGE_FORMAT_JSON },
    { ngx_null_string, 0 }
};


static ngx_conf_post_t  ngx_http_outage_page_status_post = {
    ngx_http_outage_page_status_check
};


static ngx_str_t  ngx_http_outage_default_types[] = {
    ngx_string("text/html"),
    ngx_null_string
};


static ngx_command_t  ngx_http_outage_commands[] = {

    { ngx_string("outage_zone_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_outage_main_conf_t, zone_size),
      NULL },

    { ngx_string("outage_scopes"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_outage_declare_scopes,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_ANY,
      ngx_http_outage_redis_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_check"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_outage_check_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_check_guard"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_outage_main_conf_t, all_fail_guard),
      NULL },

    { ngx_string("outage_bypass_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_outage_bypass_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_probe_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_probe_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_bypass_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_outage_main_conf_t, bypass_cookie),
      NULL },

    { ngx_string("outage_bypass_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_outage_main_conf_t, bypass_ttl),
      NULL },

    { ngx_string("outage_banner"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner),
      NULL },

    { ngx_string("outage_banner_scopes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_outage_scopes_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_scopes),
      NULL },

    { ngx_string("outage_banner_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_outage_types_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_types_keys),
      &ngx_http_outage_default_types[0] },

    { ngx_string("outage_banner_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_outage_status_list_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_status),
      NULL },

    { ngx_string("outage_banner_template"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_file_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_template),
      NULL },

    { ngx_string("outage_banner_html"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_banner_html_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_html),
      NULL },

    { ngx_string("outage_banner_nonce"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_nonce),
      NULL },

    { ngx_string("outage_banner_css_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_css_uri),
      NULL },

    { ngx_string("outage_banner_nocache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_nocache),
      NULL },

    { ngx_string("outage_banner_last_modified"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_last_modified),
      NULL },

    { ngx_string("outage_page"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_outage_scopes_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, page_scopes),
      NULL },

    { ngx_string("outage_page_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, page_status),
      &ngx_http_outage_page_status_post },

    { ngx_string("outage_page_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, page_retry_after),
      NULL },

    { ngx_string("outage_page_template"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_file_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, page_template),
      NULL },

    { ngx_string("outage_page_format"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_format_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, page_format),
      &ngx_http_outage_page_formats },

    { ngx_string("outage_page_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_off_time_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, page_refresh),
      NULL },

    { ngx_string("outage_page_intercept"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, page_intercept),
      NULL },

    { ngx_string("outage_bypass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_outage_predicate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, bypass),
      NULL },

    { ngx_string("outage_passive"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, passive),
      NULL },

    { ngx_string("outage_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_outage_status_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_bypass_login"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_outage_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, bypass_login),
      NULL },

    { ngx_string("outage_banner_css"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_outage_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_outage_loc_conf_t, banner_css),
      NULL },

    { ngx_string("outage_status_page"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_outage_status_page_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_time_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_outage_time_zone_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("outage_scope_label"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_outage_scope_label_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_outage_module_ctx = {
    ngx_http_outage_preconfiguration,      /* preconfiguration */
    ngx_http_outage_postconfiguration,     /* postconfiguration */

    ngx_http_outage_create_main_conf,      /* create main configuration */
    ngx_http_outage_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_outage_create_loc_conf,       /* create location configuration */
    ngx_http_outage_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_outage_module = {
    NGX_MODULE_V1,
    &ngx_http_outage_module_ctx,           /* module context */
    ngx_http_outage_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_outage_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_outage_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_outage_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_outage_add_variables(cf);
}


static ngx_int_t
ngx_http_outage_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                    i;
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_outage_main_conf_t  *omcf;

    static ngx_uint_t  rewrite[] = { NGX_HTTP_SERVER_REWRITE_PHASE,
                                     NGX_HTTP_REWRITE_PHASE };

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    /*
     * No outage directive anywhere: no zone, no phase handlers, no
     * filters, so that loading the module changes nothing.  The $outage_*
     * variables stay defined (they are needed while the configuration is
     * read) and are empty.
     */
    if (!omcf->used) {
        return NGX_OK;
    }

    if (ngx_http_outage_shm_add(cf, omcf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * PRECONTENT: after the access phase (allow/deny, auth_basic,
     * auth_request still answer 403/401 while a scope is down) and the
     * preaccess limits, before the content handler would contact the
     * backend.
     */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_outage_access_handler;

    /* registered after the rewrite module's: runs before its "return" */
    for (i = 0; i < 2; i++) {
        h = ngx_array_push(&cmcf->phases[rewrite[i]].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_outage_page_rewrite_handler;
    }

#if (nginx_version >= 1017006)
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_outage_page_limits_handler;
#endif

    if (ngx_http_outage_health_postconfiguration(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_outage_redis_postconfiguration(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_outage_upcache_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_outage_filter_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* registered last, so it runs first: it replaces failed answers */
    return ngx_http_outage_page_filter_init(cf);
}


static void *
ngx_http_outage_create_main_conf(ngx_conf_t *cf)
{
    ngx_str_t                    *site;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_outage_main_conf_t));
    if (omcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     omcf->redis_addrs = NULL;
     *     omcf->redis_user = { 0, NULL };
     *     omcf->redis_password = { 0, NULL };
     *     omcf->bypass_secret = { 0, NULL };
     */

    omcf->zone_size = NGX_CONF_UNSET_SIZE;
    omcf->redis_db = NGX_CONF_UNSET;
    omcf->redis_interval = NGX_CONF_UNSET_MSEC;
    omcf->redis_connect_timeout = NGX_CONF_UNSET_MSEC;
    omcf->redis_timeout = NGX_CONF_UNSET_MSEC;
    omcf->redis_ping = NGX_CONF_UNSET_MSEC;
    omcf->redis_max_stale = NGX_CONF_UNSET;
    omcf->all_fail_guard = NGX_CONF_UNSET;
    omcf->bypass_ttl = NGX_CONF_UNSET;

    if (ngx_array_init(&omcf->scopes, cf->pool, 8, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&omcf->checks, cf->pool, 4,
                       sizeof(ngx_http_outage_check_conf_t))
        != NGX_OK)
    {
        return NULL;
    }

    /* "site" always exists: scope 0, the one every banner shows by default */
    site = ngx_array_push(&omcf->scopes);
    if (site == NULL) {
        return NULL;
    }

    ngx_str_set(site, "site");

    return omcf;
}


static char *
ngx_http_outage_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

    /*
     * Before any merge: merging changes a parent (the types hash), and the
     * http{} level's location configuration is never merged as a child.
     */
    omcf->used = ngx_http_outage_main_conf_used(cf, omcf)
                 || ngx_http_outage_loc_conf_used(
                        ngx_http_conf_get_module_loc_conf(cf,
                                                    ngx_http_outage_module));

    ngx_conf_init_size_value(omcf->zone_size, 1024 * 1024);
    ngx_conf_init_value(omcf->redis_db, 0);
    ngx_conf_init_msec_value(omcf->redis_interval, 1000);
    ngx_conf_init_msec_value(omcf->redis_connect_timeout, 1000);
    ngx_conf_init_msec_value(omcf->redis_timeout, 1000);
    ngx_conf_init_msec_value(omcf->redis_ping, 10000);
    ngx_conf_init_value(omcf->redis_max_stale, 0);
    ngx_conf_init_value(omcf->all_fail_guard, 1);
    ngx_conf_init_value(omcf->bypass_ttl, 8 * 3600);

    if (omcf->redis_prefix.data == NULL) {
        ngx_str_set(&omcf->redis_prefix, "outage:");
    }

    if (omcf->bypass_cookie.data == NULL) {
        ngx_str_set(&omcf->bypass_cookie, "outage_bypass");
    }

    if (omcf->zone_size < sizeof(ngx_http_outage_shm_t) + 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_zone_size\" must be at least %uz",
                           sizeof(ngx_http_outage_shm_t) + 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_outage_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_outage_loc_conf_t  *olcf;

    olcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_outage_loc_conf_t));
    if (olcf == NULL) {
        return NULL;
    }

    ngx_http_outage_loc_conf_unset(olcf);

    return olcf;
}


/* olcf is zeroed: what a location no directive touched holds */

static void
ngx_http_outage_loc_conf_unset(ngx_http_outage_loc_conf_t *olcf)
{
    /*
     * set by ngx_pcalloc():
     *
     *     olcf->banner_types = { NULL };
     *     olcf->banner_types_keys = NULL;
     *     olcf->banner_template = { 0, NULL };
     *     olcf->banner_css_uri = { 0, NULL };
     *     olcf->page_template = { 0, NULL };
     *     olcf->status_format = 0;
     */

    olcf->banner = NGX_CONF_UNSET;
    olcf->banner_scopes = NGX_CONF_UNSET_PTR;
    olcf->banner_status = NGX_CONF_UNSET_PTR;
    olcf->banner_html = NGX_CONF_UNSET_PTR;
    olcf->banner_nonce = NGX_CONF_UNSET_PTR;
    olcf->banner_nocache = NGX_CONF_UNSET;
    olcf->banner_last_modified = NGX_CONF_UNSET;
    olcf->page_scopes = NGX_CONF_UNSET_PTR;
    olcf->page_status = NGX_CONF_UNSET_UINT;
    olcf->page_retry_after = NGX_CONF_UNSET;
    olcf->page_format = NGX_CONF_UNSET_UINT;
    olcf->page_refresh = NGX_CONF_UNSET;
    olcf->page_intercept = NGX_CONF_UNSET;
    olcf->bypass = NGX_CONF_UNSET_PTR;
    olcf->passive = NGX_CONF_UNSET;
    olcf->bypass_login = NGX_CONF_UNSET;
    olcf->banner_css = NGX_CONF_UNSET;
}


/*
 * A location configuration no outage directive was applied to is byte for
 * byte a fresh one (both start zeroed, padding included), so this needs no
 * list of fields to keep up to date.  Called before merging.
 */

static ngx_uint_t
ngx_http_outage_loc_conf_used(ngx_http_outage_loc_conf_t *olcf)
{
    ngx_http_outage_loc_conf_t  fresh;

    ngx_memzero(&fresh, sizeof(ngx_http_outage_loc_conf_t));
    ngx_http_outage_loc_conf_unset(&fresh);

    return ngx_memcmp(olcf, &fresh, sizeof(ngx_http_outage_loc_conf_t)) != 0;
}


/*
 * The same for the main configuration, before its defaults are set; its
 * two arrays hold pool pointers, so only their counts are compared ("site"
 * is always scope 0) and the bytes around them.  "scopes" comes before
 * "checks" in the structure.
 */

static ngx_uint_t
ngx_http_outage_main_conf_used(ngx_conf_t *cf,
    ngx_http_outage_main_conf_t *omcf)
{
    size_t                        s, c, a;
    u_char                       *p, *q;
    ngx_http_outage_main_conf_t  *fresh;

    fresh = ngx_http_outage_create_main_conf(cf);
    if (fresh == NULL) {
        return 1;   /* no memory: behave as configured */
    }

    if (omcf->scopes.nelts != fresh->scopes.nelts
        || omcf->checks.nelts != fresh->checks.nelts)
    {
        return 1;
    }

    p = (u_char *) omcf;
    q = (u_char *) fresh;
    a = sizeof(ngx_array_t);
    s = offsetof(ngx_http_outage_main_conf_t, scopes);
    c = offsetof(ngx_http_outage_main_conf_t, checks);

    return ngx_memcmp(p, q, s) != 0
           || ngx_memcmp(p + s + a, q + s + a, c - s - a) != 0
           || ngx_memcmp(p + c + a, q + c + a,
                         sizeof(ngx_http_outage_main_conf_t) - c - a) != 0;
}


static char *
ngx_http_outage_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_outage_loc_conf_t *prev = parent;
    ngx_http_outage_loc_conf_t *conf = child;

    ngx_uint_t                   *code;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    if (!omcf->used && ngx_http_outage_loc_conf_used(conf)) {
        omcf->used = 1;
    }

    if (conf->status_page
        && ngx_http_outage_status_page_merge(cf, conf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_value(conf->banner, prev->banner, 0);
    ngx_conf_merge_ptr_value(conf->banner_scopes, prev->banner_scopes, NULL);

    if (ngx_http_merge_types(cf, &conf->banner_types_keys,
                             &conf->banner_types,
                             &prev->banner_types_keys, &prev->banner_types,
                             ngx_http_outage_default_types)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the type of nearly every page: looked up once here, not per response */
    conf->banner_types_html =
        (conf->banner_types.size == 0
         || ngx_hash_find(&conf->banner_types,
                          ngx_hash_key((u_char *) "text/html",
                                       sizeof("text/html") - 1),
                          (u_char *) "text/html", sizeof("text/html") - 1)
            != NULL);

    ngx_conf_merge_ptr_value(conf->banner_status, prev->banner_status, NULL);

    if (conf->banner_status == NULL) {
        conf->banner_status = ngx_array_create(cf->pool, 1,
                                               sizeof(ngx_uint_t));
        if (conf->banner_status == NULL) {
            return NGX_CONF_ERROR;
        }

        code = ngx_array_push(conf->banner_status);
        if (code == NULL) {
            return NGX_CONF_ERROR;
        }

        *code = NGX_HTTP_OK;
    }

    ngx_conf_merge_str_value(conf->banner_template, prev->banner_template, "");
    ngx_conf_merge_ptr_value(conf->banner_html, prev->banner_html, NULL);
    ngx_conf_merge_ptr_value(conf->banner_nonce, prev->banner_nonce, NULL);
    ngx_conf_merge_str_value(conf->banner_css_uri, prev->banner_css_uri, "");
    ngx_conf_merge_value(conf->banner_nocache, prev->banner_nocache, 1);
    ngx_conf_merge_value(conf->banner_last_modified,
                         prev->banner_last_modified, 0);

    ngx_conf_merge_ptr_value(conf->page_scopes, prev->page_scopes, NULL);
    ngx_conf_merge_uint_value(conf->page_status, prev->page_status,
                              NGX_HTTP_SERVICE_UNAVAILABLE);
    ngx_conf_merge_sec_value(conf->page_retry_after, prev->page_retry_after,
                             120);
    ngx_conf_merge_str_value(conf->page_template, prev->page_template, "");
    ngx_conf_merge_uint_value(conf->page_format, prev->page_format,
                              NGX_HTTP_OUTAGE_FORMAT_AUTO);
    ngx_conf_merge_value(conf->page_refresh, prev->page_refresh, 30);
    ngx_conf_merge_value(conf->page_intercept, prev->page_intercept, 1);
    ngx_conf_merge_ptr_value(conf->bypass, prev->bypass, NULL);
    ngx_conf_merge_value(conf->passive, prev->passive, 1);

    /* handlers are not inherited: they are set where they are written */
    ngx_conf_init_value(conf->bypass_login, 0);
    ngx_conf_init_value(conf->banner_css, 0);

    return ngx_http_outage_page_merge(cf, conf);
}


/*
 * "all", "off" (outage_page only) or a list of scope names; names become
 * scope indexes, registering the scope so that Redis is polled for it.
 */

static char *
ngx_http_outage_scopes_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_int_t     id;
    ngx_str_t    *value;
    ngx_uint_t    i, *slot;
    ngx_array_t **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2
        && (ngx_strcmp(value[1].data, "off") == 0
            || ngx_strcmp(value[1].data, "all") == 0))
    {
        if (value[1].data[0] == 'a'
            && cmd->offset == offsetof(ngx_http_outage_loc_conf_t, page_scopes))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" needs scope names, \"all\" is only "
                               "valid for outage_banner_scopes", &cmd->name);
            return NGX_CONF_ERROR;
        }

        if (value[1].data[0] == 'o'
            && cmd->offset != offsetof(ngx_http_outage_loc_conf_t, page_scopes))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" takes \"all\" or scope names; use "
                               "\"outage_banner off\" to disable", &cmd->name);
            return NGX_CONF_ERROR;
        }

        *a = NULL;
        return NGX_CONF_OK;
    }

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_uint_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        id = ngx_http_outage_scope_add(cf, &value[i]);
        if (id == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        slot = ngx_array_push(*a);
        if (slot == NULL) {
            return NGX_CONF_ERROR;
        }

        *slot = (ngx_uint_t) id;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_outage_declare_scopes(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    /*
     * "outage_scopes site;" adds no name (site always exists): the flag
     * makes this configuration differ from a fresh one all the same
     */
    omcf->used = 1;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_outage_scope_add(cf, &value[i]) == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_outage_status_list_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_int_t     n;
    ngx_str_t    *value;
    ngx_uint_t    i, *code;
    ngx_array_t **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_uint_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        n = ngx_atoi(value[i].data, value[i].len);

        if (n < 200 || n > 599 || n == NGX_HTTP_NO_CONTENT
            || n == NGX_HTTP_PARTIAL_CONTENT || n == NGX_HTTP_NOT_MODIFIED)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid status \"%V\" in \"%V\": a status "
                               "from 200 to 599 that has a body, not 204, "
                               "206 or 304", &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        code = ngx_array_push(*a);
        if (code == NULL) {
            return NGX_CONF_ERROR;
        }

        *code = (ngx_uint_t) n;
    }

    return NGX_CONF_OK;
}


/*
 * Reads a small file a directive names, once, at configuration time (never
 * per request): relative to the directory of nginx.conf, as nginx's own
 * "include", at most max bytes, NUL-terminated, from cf->pool.  Every file
 * a directive of the module names is read here, so that none can hang
 * nginx -t or a reload (a FIFO) or fill memory (/dev/zero, a huge file).
 * *name is resolved in place, for the caller's messages.  The errors name
 * the directive ("\"dir\":" with NGX_HTTP_OUTAGE_FILE_COLON), what the file
 * is for ("what": "template " or "") and why it is refused.  A FIFO or
 * device reads as empty (templates: /dev/null is an empty one), unless
 * NGX_HTTP_OUTAGE_FILE_REGULAR: for files that cannot be empty.
 *
 * cf->pool lives as long as the cycle, in the master and in every worker:
 * a text only parsed here (NGX_HTTP_OUTAGE_FILE_TEMP) goes to
 * cf->temp_pool, and a file nginx reads itself after this look
 * (NGX_HTTP_OUTAGE_FILE_CHECK: a TLS key) is not read at all, so that its
 * bytes are in no process's memory or core dump on the module's account;
 * *out is then empty.
 */

char *
ngx_http_outage_conf_file(ngx_conf_t *cf, ngx_str_t *directive,
    ngx_uint_t flags, const char *what, ngx_str_t *name, size_t max,
    ngx_str_t *out)
{
    u_char           *why, buf[64];
    ssize_t           n;
    ngx_err_t         err;
    ngx_file_t        file;
    const char       *sep;
    ngx_file_info_t   fi;

    sep = (flags & NGX_HTTP_OUTAGE_FILE_COLON) ? ":" : "";

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *name;
    file.log = cf->log;

    /* non-blocking: opening a FIFO would wait for a writer, and hang
     * nginx -t or a reload */
    file.fd = ngx_open_file(name->data, NGX_FILE_RDONLY | NGX_FILE_NONBLOCK,
                            NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\"%s cannot open %s\"%s\"",
                           directive, sep, what, name->data);
        return NGX_CONF_ERROR;
    }

    out->data = NULL;
    out->len = 0;
    err = 0;
    n = -1;
    why = NULL;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        err = ngx_errno;
        why = (u_char *) "cannot stat it";

    } else if (ngx_is_dir(&fi)) {
        why = (u_char *) "it is a directory";

    } else if (!ngx_is_file(&fi) && (flags & NGX_HTTP_OUTAGE_FILE_REGULAR)) {
        why = (u_char *) "it is a FIFO, socket or device, not a file";

    } else if (ngx_file_size(&fi) > (off_t) max) {
        why = buf;
        ngx_sprintf(buf, "it is larger than %uz%c%Z",
                    max >= 1024 * 1024 ? max >> 20 : max >> 10,
                    max >= 1024 * 1024 ? 'm' : 'k');

    } else if (flags & NGX_HTTP_OUTAGE_FILE_CHECK) {
        ngx_close_file(file.fd);
        return NGX_CONF_OK;

    } else {
        /* a device or FIFO has size 0: read as empty, as /dev/null was */
        out->len = (size_t) ngx_file_size(&fi);
        out->data = ngx_pnalloc((flags & NGX_HTTP_OUTAGE_FILE_TEMP)
                                ? cf->temp_pool : cf->pool, out->len + 1);

        if (out->data == NULL) {
            ngx_close_file(file.fd);
            return NGX_CONF_ERROR;
        }

        /* pread() of a FIFO fails: nothing to read is not read */
        n = out->len ? ngx_read_file(&file, out->data, out->len, 0) : 0;
    }

    ngx_close_file(file.fd);

    if (why) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, err,
                           "\"%V\"%s %s\"%s\" is not a readable file of at "
                           "most %uz bytes: %s", directive, sep, what,
                           name->data, max, why);
        return NGX_CONF_ERROR;
    }

    if (n != (ssize_t) out->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\"%s short read of %s\"%s\"",
                           directive, sep, what, name->data);
        return NGX_CONF_ERROR;
    }

    out->data[out->len] = '\0';

    return NGX_CONF_OK;
}


typedef struct {
    ngx_conf_t     *cf;
    ngx_command_t  *cmd;
    u_char         *path;
} ngx_http_outage_tpl_warn_t;


/*
 * A Redis field where escaping does not stop script is said, not refused:
 * templates that loaded before this check keep loading, so a reload after
 * an upgrade never fails because of it.
 */

static void
ngx_http_outage_tpl_warn(void *ctx, const ngx_http_outage_tpl_finding_t *f)
{
    ngx_http_outage_tpl_warn_t *w = ctx;

    ngx_conf_log_error(f->level == NGX_HTTP_OUTAGE_TPL_WARN ? NGX_LOG_WARN
                                                            : NGX_LOG_INFO,
                       w->cf, 0, "\"%V\" template \"%s\" line %uz: {{%*s}} %s",
                       &w->cmd->name, w->path, f->line, f->name_len, f->name,
                       f->why);
}


/* templates are read once, at configuration time, never per request */

static char *
ngx_http_outage_file_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    size_t                       offset;
    ngx_str_t                   *field, *value, name;
    const char                  *err;
    ngx_http_outage_tpl_warn_t   w;
    ngx_http_outage_tpl_work_t  *work;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_http_outage_conf_file(cf, &cmd->name, 0, "template ", &name,
                                  1024 * 1024, field)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    err = ngx_http_outage_tpl_check(field->data, field->len, &offset);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" template \"%s\" at byte %uz: %s",
                           &cmd->name, name.data, offset, err);
        return NGX_CONF_ERROR;
    }

    w.cf = cf;
    w.cmd = cmd;
    w.path = name.data;

    work = ngx_palloc(cf->temp_pool, ngx_http_outage_tpl_work_size);
    if (work == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_http_outage_tpl_contexts(work, field->data, field->len,
                                        ngx_http_outage_tpl_warn, &w);

    ngx_pfree(cf->temp_pool, work);

    return NGX_CONF_OK;
}


static char *
ngx_http_outage_off_time_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    time_t     *sp;
    ngx_str_t  *value;

    sp = (time_t *) (p + cmd->offset);

    if (*sp != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *sp = 0;
        return NGX_CONF_OK;
    }

    *sp = ngx_parse_time(&value[1], 1);
    if (*sp == (time_t) NGX_ERROR || *sp == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes \"off\" or a positive time, not "
                           "\"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the secret lives in a file so that it never appears in nginx.conf */

static char *
ngx_http_outage_bypass_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

    u_char     *p, *last;
    ngx_str_t  *value, name;

    if (omcf->bypass_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_http_outage_conf_file(cf, &cmd->name, 0, "", &name, 1024 * 1024,
                                  &omcf->bypass_secret)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    p = omcf->bypass_secret.data;
    last = p + omcf->bypass_secret.len;

    while (last > p && (last[-1] == '\n' || last[-1] == '\r'
                        || last[-1] == ' '))
    {
        last--;
    }

    omcf->bypass_secret.len = last - p;

    if (omcf->bypass_secret.len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_bypass_secret\" file must hold at "
                           "least 16 bytes of secret");
        return NGX_CONF_ERROR;
    }

    /* previous= and grace= (page.c) */
    return ngx_http_outage_bypass_rotation(cf, omcf);
}


/*
 * The probes' mark of a fleet: every member reads the same file and
 * derives the same X-Outage-Probe from it, so a member lets the others'
 * probes past its page (health.c).  Only a keyed hash of the secret is
 * ever sent, and the secret itself is wiped once the mark is derived.
 */

static char *
ngx_http_outage_probe_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

#if (NGX_OPENSSL)
    u_char           *p, *last, mac[EVP_MAX_MD_SIZE];
    ngx_str_t        *value, name, secret;
    ngx_uint_t        i;
    unsigned int      len;

    static u_char     label[] = "ngx_outage_module X-Outage-Probe";

    if (omcf->probe_mark) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    /* only the mark derived from it is kept */
    if (ngx_http_outage_conf_file(cf, &cmd->name, NGX_HTTP_OUTAGE_FILE_TEMP,
                                  "", &name, 4096, &secret)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    p = secret.data;
    last = secret.data + secret.len;

    while (last > p && (last[-1] == '\n' || last[-1] == '\r'
                        || last[-1] == ' ' || last[-1] == '\t'))
    {
        last--;
    }

    if (last - p < 16) {
        ngx_explicit_memzero(secret.data, secret.len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_probe_secret\" \"%s\" must hold at "
                           "least 16 bytes of secret, the same on every "
                           "member of the fleet", name.data);
        return NGX_CONF_ERROR;
    }

    len = 0;

    if (HMAC(EVP_sha256(), p, (int) (last - p), label, sizeof(label) - 1,
             mac, &len)
        == NULL || len < sizeof(uint64_t))
    {
        ngx_explicit_memzero(secret.data, secret.len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_probe_secret\": HMAC failed");
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(secret.data, secret.len);

    for (i = 0; i < sizeof(uint64_t); i++) {
        omcf->probe_mark = omcf->probe_mark << 8 | mac[i];
    }

    if (omcf->probe_mark == 0) {
        omcf->probe_mark = 1;       /* 0 means "none" */
    }

    return NGX_CONF_OK;

#else

    (void) omcf;

    return "needs nginx built with OpenSSL";

#endif
}


static char *
ngx_http_outage_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_flag_t                *fp;
    ngx_http_core_loc_conf_t  *clcf;

    fp = (ngx_flag_t *) (p + cmd->offset);

    if (*fp != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    *fp = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_outage_content_handler;

    return NGX_CONF_OK;
}


/*
 * The stock bounds check and enum slot print "value must be between ..."
 * and "invalid value ..." without saying which directive they mean.
 */

static char *
ngx_http_outage_page_status_check(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    /*
     * The page is a body with no Location: 1xx, 204, 205 and 304 cannot
     * carry one, a 3xx without a Location sends nowhere, and the other
     * 2xx promise what the page is not (206 a range, 201 a resource).
     */
    if (*np == 200 || (*np >= 400 && *np <= 599)) {
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"outage_page_status\": %i cannot carry the page, "
                       "it must be 200 or between 400 and 599 (1xx, 204, "
                       "205 and 304 have no body, a 3xx needs a Location)",
                       *np);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_outage_format_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t        *value;
    ngx_uint_t       *np;
    ngx_conf_enum_t  *e;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = cmd->post; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcasecmp(e->name.data, value[1].data) == 0)
        {
            *np = e->value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\": invalid value \"%V\", expected \"auto\", "
                       "\"html\" or \"json\"", &cmd->name, &value[1]);
    return NGX_CONF_ERROR;
}


/*
 * Variable syntax errors come from nginx's script compiler, which does not
 * know the directive: a second line names it.
 */

static char *
ngx_http_outage_complex_value_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return ngx_http_outage_name_directive(cf, cmd,
               ngx_http_set_complex_value_slot(cf, cmd, conf));
}


/*
 * Inline banner markup is inserted as written: the variables that carry
 * Redis-provided text unescaped would let whoever writes to Redis write
 * markup into every page, so they are refused here as "|raw" is refused
 * in templates ($outage_message_html is the escaped form).
 */

static char *
ngx_http_outage_banner_html_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    u_char      *p, *end, *name;
    size_t       len;
    ngx_str_t   *value;
    ngx_uint_t   i, warned;

    static ngx_str_t  raw[] = {
        ngx_string("outage_message"),
        ngx_string("outage_eta"),
        ngx_string("outage_link")
    };

    /* request text, unescaped (names ending in "_" are prefixes) */
    static ngx_str_t  client[] = {
        ngx_string("http_"),
        ngx_string("arg_"),
        ngx_string("cookie_"),
        ngx_string("args"),
        ngx_string("query_string"),
        ngx_string("request"),
        ngx_string("request_uri"),
        ngx_string("request_body"),
        ngx_string("uri"),
        ngx_string("document_uri"),
        ngx_string("host"),
        ngx_string("remote_user"),
        ngx_string("content_type"),
        ngx_string("request_filename"),
        ngx_string("fastcgi_path_info"),
        ngx_string("ssl_client_s_dn"),
        ngx_string("ssl_client_i_dn"),
        ngx_string("upstream_http_"),
        ngx_string("sent_http_"),
        ngx_null_string
    };

    warned = 0;
    value = cf->args->elts;
    p = value[1].data;
    end = p + value[1].len;

    while (p < end) {
        if (*p++ != '$') {
            continue;
        }

        if (p < end && *p == '{') {
            p++;
        }

        name = p;

        while (p < end
               && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                   || (*p >= '0' && *p <= '9') || *p == '_'))
        {
            p++;
        }

        len = p - name;

        /*
         * Any client writes these: inserted as they are, they put markup
         * in the banner of whoever gets the response (a cached page: of
         * everyone).  A map or set copy of $outage_message cannot be told
         * from the administrator's own text here: docs say so.
         */
        if (!warned && len && name[0] >= '0' && name[0] <= '9') {
            /* a regex capture: of the URI, a header, ... */
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"%V\" inserts \"$%*s\" as it is: a regex "
                               "capture carries request text, so a request "
                               "can put markup (and script) in the banner; "
                               "leave it out, or use outage_banner_template",
                               &cmd->name, len, name);
            warned = 1;
        }

        if (!warned) {
            for (i = 0; client[i].len; i++) {
                if (len >= client[i].len
                    && ngx_strncasecmp(name, client[i].data, client[i].len)
                       == 0
                    && (client[i].data[client[i].len - 1] == '_'
                        || len == client[i].len))
                {
                    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                                       "\"%V\" inserts \"$%*s\" as it is: "
                                       "it carries text any client sends, "
                                       "so a request can put markup (and "
                                       "script) in the banner; leave it "
                                       "out, or use outage_banner_template",
                                       &cmd->name, len, name);
                    warned = 1;
                    break;
                }
            }
        }

        for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
            if (len == raw[i].len
                && ngx_strncasecmp(name, raw[i].data, len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" cannot insert \"$%V\": it is "
                                   "Redis-provided text, unescaped; use "
                                   "$outage_message_html or "
                                   "outage_banner_template, which escapes",
                                   &cmd->name, &raw[i]);
                return NGX_CONF_ERROR;
            }
        }
    }

    return ngx_http_outage_complex_value_slot(cf, cmd, conf);
}


static char *
ngx_http_outage_predicate_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return ngx_http_outage_name_directive(cf, cmd,
               ngx_http_set_predicate_slot(cf, cmd, conf));
}


static char *
ngx_http_outage_name_directive(ngx_conf_t *cf, ngx_command_t *cmd, char *rv)
{
    if (rv == NGX_CONF_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value in \"%V\" directive", &cmd->name);
    }

    return rv;
}


static ngx_int_t
ngx_http_outage_init_process(ngx_cycle_t *cycle)
{
    ngx_http_outage_main_conf_t  *omcf;

    /* cache manager and loader processes have no business polling */
    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);
    if (omcf == NULL || omcf->shm_zone == NULL) {
        return NGX_OK;
    }

    /* this configuration's slots in the zone, before anything reads them */
    if (ngx_http_outage_shm_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_outage_init_worker_view(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_outage_redis_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_outage_health_init_process(cycle);
}


static void
ngx_http_outage_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_outage_main_conf_t  *omcf;

    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);
    if (omcf == NULL || omcf->shm_zone == NULL) {
        return;
    }

    ngx_http_outage_health_exit_process(cycle);
    ngx_http_outage_redis_exit_process(cycle);
}


/*
 * "name=time" parameters of outage_redis and outage_check: a positive time
 * in milliseconds, errors naming the directive being parsed.
 */

ngx_int_t
ngx_http_outage_conf_msec(ngx_conf_t *cf, ngx_str_t *v, size_t skip,
    ngx_msec_t *ms)
{
    ngx_str_t  s, *name;
    ngx_int_t  n;

    s.data = v->data + skip;
    s.len = v->len - skip;

    n = ngx_parse_time(&s, 0);
    if (n == NGX_ERROR || n <= 0) {
        name = cf->args->elts;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": invalid time in \"%V\", expected a "
                           "positive time such as 500ms or 2s", &name[0], v);
        return NGX_ERROR;
    }

    *ms = (ngx_msec_t) n;

    return NGX_OK;
}


/*
 * The start of every content handler of the module: GET and HEAD only, the
 * request body read and dropped; NGX_OK, or what the handler returns
 */

ngx_int_t
ngx_http_outage_get_or_head(ngx_http_request_t *r)
{
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    return ngx_http_discard_request_body(r);
}


/* a request header "name" whose value passes test() is there */

ngx_uint_t
ngx_http_outage_header_in(ngx_http_request_t *r, ngx_str_t *name,
    int (*test)(const unsigned char *p, size_t len))
{
    return ngx_http_outage_header_list(&r->headers_in.headers, name, test)
           != NULL;
}


/*
 * ... in a list of headers: the first such header (any value without
 * test()); those a filter cleared (hash 0) are not
 */

ngx_table_elt_t *
ngx_http_outage_header_list(ngx_list_t *headers, ngx_str_t *name,
    int (*test)(const unsigned char *p, size_t len))
{
    size_t            len;
    u_char            c;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    /* the name's length and first byte before a call: most differ there */
    len = name->len;
    c = ngx_tolower(name->data[0]);

    part = &headers->part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && h[i].hash != 0
            && ngx_tolower(h[i].key.data[0]) == c
            && ngx_strncasecmp(h[i].key.data, name->data, len) == 0
            && (test == NULL || test(h[i].value.data, h[i].value.len)))
        {
            return &h[i];
        }
    }
}


ngx_uint_t
ngx_http_outage_accept(ngx_http_request_t *r,
    int (*test)(const unsigned char *p, size_t len))
{
    static ngx_str_t  accept = ngx_string("Accept");

    return ngx_http_outage_header_in(r, &accept, test);
}
