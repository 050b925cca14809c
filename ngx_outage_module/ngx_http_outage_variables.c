
/*
 * ngx_outage_module: nginx variables.
 *
 * Owns the table of a scope's view fields, from which the status JSON and
 * Prometheus output (status.c) and the variables are derived, and the
 * variables: $outage_state, $outage_message, $outage_message_html,
 * $outage_scope, $outage_eta, $outage_link, $outage_since and
 * $outage_source.  They describe the most severe active scope the current
 * location cares about (its outage_page scopes, else its
 * outage_banner_scopes, else all), so they fit log_format, add_header, map
 * and if.  Values come from the snapshot:
 * already sanitised (no control characters, bounded length).
 * $outage_probe is of the request instead: "1" for this nginx's own probe
 * that the location lets through (page.c), the predicate of the upstream
 * caches' bypass (upcache.c).
 */


#include "ngx_http_outage_module.h"


static void ngx_http_outage_get_scope(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val);
static void ngx_http_outage_get_state(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val);
static void ngx_http_outage_get_state_word(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val);
static void ngx_http_outage_get_source(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val);
static void ngx_http_outage_get_scheduled(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val);
static void ngx_http_outage_get_eta(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val);
static void ngx_http_outage_get_checked(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val);

static ngx_int_t ngx_http_outage_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_outage_probe_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* most fields are a view's text or time as it is */

#define ngx_http_outage_get_str(field)                                       \
static void                                                                  \
ngx_http_outage_get_##field(ngx_http_outage_snapshot_t *s,                   \
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)                 \
{                                                                            \
    if (v) {                                                                 \
        val->str = v->field;                                                 \
    }                                                                        \
}

#define ngx_http_outage_get_time(field)                                      \
static void                                                                  \
ngx_http_outage_get_##field(ngx_http_outage_snapshot_t *s,                   \
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)                 \
{                                                                            \
    val->type = NGX_HTTP_OUTAGE_FIELD_TIME;                                  \
    val->time = v ? v->field : 0;                                            \
}

ngx_http_outage_get_str(message)
ngx_http_outage_get_str(link)
ngx_http_outage_get_str(reason)
ngx_http_outage_get_str(overrides)
ngx_http_outage_get_str(warning)
ngx_http_outage_get_time(since)
ngx_http_outage_get_time(starts)
ngx_http_outage_get_time(ends)


/* in the order of NGX_HTTP_OUTAGE_STATE_OK .. _MAINTENANCE */
static const char *const  ngx_http_outage_state_names[] = {
    "ok", "degraded", "down", "maintenance"
};

/* in the order of NGX_HTTP_OUTAGE_SOURCE_* */
static const char *const  ngx_http_outage_source_names[] = {
    "none", "redis", "health"
};


/*
 * Every field of a scope's view: the variable (of the most severe scope
 * the location cares about), the key in the status JSON (in this order)
 * and the Prometheus family.
 */

ngx_http_outage_field_t  ngx_http_outage_vars[] = {

    { ngx_string("outage_scope"), "name", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_scope },

    { ngx_null_string, "state", "state",
      "Effective state of a scope (1 for the current state).",
      ngx_http_outage_state_names, 4, 0, ngx_http_outage_get_state },

    /* the banner's word: "scheduled" for an announced incident, "ok" */
    { ngx_string("outage_state"), NULL, NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_state_word },

    { ngx_string("outage_source"), "source", "source",
      "Which source decided the state (1 for the deciding source).",
      ngx_http_outage_source_names, 3, 0, ngx_http_outage_get_source },

    { ngx_null_string, "scheduled", "scheduled",
      "An incident (maintenance, or a planned outage) is announced, not "
      "in effect yet.",
      NULL, 0, 0, ngx_http_outage_get_scheduled },

    { ngx_string("outage_since"), "since", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_since },

    { ngx_string("outage_message"), "message", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_message },

    { ngx_string("outage_message_html"), NULL, NULL, NULL, NULL, 0, 1,
      ngx_http_outage_get_message },

    { ngx_string("outage_eta"), "eta", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_eta },

    { ngx_null_string, "starts", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_starts },

    { ngx_null_string, "ends", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_ends },

    { ngx_string("outage_link"), "link", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_link },

    { ngx_null_string, "reason", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_reason },

    { ngx_null_string, "last_checked", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_checked },

    { ngx_null_string, "overrides", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_overrides },

    { ngx_null_string, "warning", NULL, NULL, NULL, 0, 0,
      ngx_http_outage_get_warning },

    { ngx_null_string, NULL, NULL, NULL, NULL, 0, 0, NULL }
};


/* the variables of the request, not of a scope's view */

static ngx_http_variable_t  ngx_http_outage_request_vars[] = {

    { ngx_string("outage_probe"), NULL, ngx_http_outage_probe_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    ngx_http_null_variable
};


ngx_int_t
ngx_http_outage_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t      *var, *rv;
    ngx_http_outage_field_t  *f;

    for (rv = ngx_http_outage_request_vars; rv->name.len; rv++) {
        var = ngx_http_add_variable(cf, &rv->name, rv->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = rv->get_handler;
        var->data = rv->data;
    }

    for (f = ngx_http_outage_vars; f->get; f++) {
        if (f->variable.len == 0) {
            continue;
        }

        var = ngx_http_add_variable(cf, &f->variable,
                                    NGX_HTTP_VAR_NOCACHEABLE);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = ngx_http_outage_variable;
        var->data = (uintptr_t) f;
    }

    return NGX_OK;
}


/*
 * Values come from the request's pinned snapshot, so a variable read twice
 * in one request (length, then copy) has one value.
 */

static ngx_int_t
ngx_http_outage_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_http_outage_field_t *f = (ngx_http_outage_field_t *) data;

    u_char                      *p;
    size_t                       len;
    ngx_str_t                    s;
    ngx_array_t                 *scopes;
    ngx_http_outage_view_t      *view;
    ngx_http_outage_value_t      val;
    ngx_http_outage_loc_conf_t  *olcf;
    ngx_http_outage_snapshot_t  *snap;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    snap = ngx_http_outage_snapshot(r);

    scopes = olcf->page_scopes ? olcf->page_scopes : olcf->banner_scopes;
    view = ngx_http_outage_worst(snap, scopes, 1);

    ngx_memzero(&val, sizeof(ngx_http_outage_value_t));
    f->get(view ? snap : NULL, view, &val);

    /* $outage_link: the banner's and the page's link (Redis, else the
     * status page); the status JSON keeps the scope's own */
    if (f->get == ngx_http_outage_get_link && view && val.str.len == 0) {
        ngx_http_outage_status_link(r, &val.str);
    }

    ngx_str_null(&s);

    switch (val.type) {

    case NGX_HTTP_OUTAGE_FIELD_TIME:
        if (val.time) {
            p = ngx_pnalloc(r->pool, 32);
            if (p == NULL) {
                return NGX_ERROR;
            }

            s.len = ngx_http_outage_format_time(p, val.time);
            s.data = p;
        }
        break;

    case NGX_HTTP_OUTAGE_FIELD_ENUM:
        s.data = (u_char *) f->names[val.n];
        s.len = ngx_strlen(s.data);
        break;

    case NGX_HTTP_OUTAGE_FIELD_BOOL:
        if (val.n) {
            ngx_str_set(&s, "1");

        } else {
            ngx_str_set(&s, "0");
        }
        break;

    default: /* NGX_HTTP_OUTAGE_FIELD_STR */
        s = val.str;
        break;
    }

    /*
     * ASCII, as the built-in banner: outage_banner_html puts it into pages
     * of any charset, and nginx's charset filter may recode them
     */
    if (f->html && s.len) {
        len = ngx_http_outage_html_escape_ascii(NULL, 0, s.data, s.len);
        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        s.len = ngx_http_outage_html_escape_ascii(p, len, s.data, s.len);
        s.data = p;
    }

    v->data = s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

#if (NGX_HTTP_OUTAGE_RACE_HOOK)
    ngx_http_outage_race_hook(r);
#endif

    return NGX_OK;
}


/*
 * "1" for a probe of any check of this nginx, in every location it
 * enters: unlike the page's pass and the limits' skip, the cache it must
 * not be answered from may be in one that does not page (page.c).
 */

static ngx_int_t
ngx_http_outage_probe_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    if (ngx_http_outage_page_probe_any(r)) {
        v->data = (u_char *) "1";
        v->len = 1;

    } else {
        v->data = (u_char *) "";
        v->len = 0;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* ---- the getters: v may be NULL (no incident) for variables ------------- */

static void
ngx_http_outage_get_scope(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)
{
    if (v) {
        val->str = v->name;
    }
}


static void
ngx_http_outage_get_state(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)
{
    val->type = NGX_HTTP_OUTAGE_FIELD_ENUM;
    val->n = (v && v->state) ? v->state - NGX_HTTP_OUTAGE_STATE_OK : 0;
}


static void
ngx_http_outage_get_state_word(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)
{
    const char  *name;

    if (v == NULL) {
        ngx_str_set(&val->str, "ok");

    } else if (v->announced) {
        ngx_str_set(&val->str, "scheduled");

    } else {
        name = ngx_http_outage_state_name(v->state);
        val->str.data = (u_char *) name;
        val->str.len = ngx_strlen(name);
    }
}


static void
ngx_http_outage_get_source(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)
{
    /* a variable without an incident is empty, not "none" */
    if (v) {
        val->type = NGX_HTTP_OUTAGE_FIELD_ENUM;
        val->n = v->source;
    }
}


static void
ngx_http_outage_get_scheduled(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)
{
    val->type = NGX_HTTP_OUTAGE_FIELD_BOOL;
    val->n = v && v->announced;
}


/* a parsed time, else the text as given */

static void
ngx_http_outage_get_eta(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)
{
    if (v && v->eta) {
        val->type = NGX_HTTP_OUTAGE_FIELD_TIME;
        val->time = v->eta;

    } else if (v) {
        val->str = v->eta_text;
    }
}


static void
ngx_http_outage_get_checked(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v, ngx_http_outage_value_t *val)
{
    val->type = NGX_HTTP_OUTAGE_FIELD_TIME;
    val->time = ngx_http_outage_view_checked(s, v);
}
