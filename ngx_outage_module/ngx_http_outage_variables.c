
/*
 * ngx_outage_module: nginx variables.
 *
 * Owns $outage_state, $outage_message, $outage_message_html, $outage_scope,
 * $outage_eta, $outage_link, $outage_since and $outage_source.  They describe
 * the most severe active scope the current location cares about (its
 * outage_page scopes, else its outage_banner_scopes, else all), so they fit
 * log_format, add_header, map and if.  Values come from the snapshot:
 * already sanitised (no control characters, bounded length).
 */


#include "ngx_http_outage_module.h"


#define NGX_HTTP_OUTAGE_VAR_STATE         0
#define NGX_HTTP_OUTAGE_VAR_MESSAGE       1
#define NGX_HTTP_OUTAGE_VAR_MESSAGE_HTML  2
#define NGX_HTTP_OUTAGE_VAR_SCOPE         3
#define NGX_HTTP_OUTAGE_VAR_ETA           4
#define NGX_HTTP_OUTAGE_VAR_LINK          5
#define NGX_HTTP_OUTAGE_VAR_SINCE         6
#define NGX_HTTP_OUTAGE_VAR_SOURCE        7


static ngx_int_t ngx_http_outage_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_outage_vars[] = {

    { ngx_string("outage_state"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_STATE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("outage_message"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_MESSAGE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("outage_message_html"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_MESSAGE_HTML, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("outage_scope"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_SCOPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("outage_eta"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_ETA, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("outage_link"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_LINK, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("outage_since"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_SINCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("outage_source"), NULL, ngx_http_outage_variable,
      NGX_HTTP_OUTAGE_VAR_SOURCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_outage_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_outage_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                      *p;
    size_t                       len;
    ngx_str_t                    s;
    const char                  *name;
    ngx_array_t                 *scopes;
    ngx_http_outage_view_t      *view;
    ngx_http_outage_loc_conf_t  *olcf;
    ngx_http_outage_snapshot_t  *snap;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    snap = ngx_http_outage_snapshot(r);

    scopes = olcf->page_scopes ? olcf->page_scopes : olcf->banner_scopes;
    view = ngx_http_outage_worst(snap, scopes, 1);

    ngx_str_null(&s);

    switch (data) {

    case NGX_HTTP_OUTAGE_VAR_STATE:
        if (view == NULL) {
            ngx_str_set(&s, "ok");
        } else if (view->announced) {
            ngx_str_set(&s, "scheduled");
        } else {
            name = ngx_http_outage_state_name(view->state);
            s.data = (u_char *) name;
            s.len = ngx_strlen(name);
        }
        break;

    case NGX_HTTP_OUTAGE_VAR_MESSAGE:
        if (view) {
            s = view->message;
        }
        break;

    case NGX_HTTP_OUTAGE_VAR_MESSAGE_HTML:
        if (view && view->message.len) {
            len = ngx_http_outage_html_escape(NULL, 0, view->message.data,
                                              view->message.len);
            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            s.len = ngx_http_outage_html_escape(p, len, view->message.data,
                                                view->message.len);
            s.data = p;
        }
        break;

    case NGX_HTTP_OUTAGE_VAR_SCOPE:
        if (view) {
            s = view->name;
        }
        break;

    case NGX_HTTP_OUTAGE_VAR_ETA:
        if (view && view->eta) {
            p = ngx_pnalloc(r->pool, 32);
            if (p == NULL) {
                return NGX_ERROR;
            }

            s.len = ngx_http_outage_format_time(p, view->eta);
            s.data = p;

        } else if (view) {
            s = view->eta_text;
        }
        break;

    case NGX_HTTP_OUTAGE_VAR_LINK:
        if (view) {
            s = view->link;
        }
        break;

    case NGX_HTTP_OUTAGE_VAR_SINCE:
        if (view && view->since) {
            p = ngx_pnalloc(r->pool, 32);
            if (p == NULL) {
                return NGX_ERROR;
            }

            s.len = ngx_http_outage_format_time(p, view->since);
            s.data = p;
        }
        break;

    default: /* NGX_HTTP_OUTAGE_VAR_SOURCE */
        if (view) {
            if (view->source == NGX_HTTP_OUTAGE_SOURCE_REDIS) {
                ngx_str_set(&s, "redis");
            } else if (view->source == NGX_HTTP_OUTAGE_SOURCE_HEALTH) {
                ngx_str_set(&s, "health");
            }
        }
        break;
    }

    v->data = s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
