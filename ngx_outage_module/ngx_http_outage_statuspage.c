
/*
 * ngx_outage_module: the public status page.
 *
 * Owns "outage_status_page" (a content handler) and "outage_scope_label":
 * which scopes the public sees and under what names, the choice between
 * HTML and summary.json, and the HTTP side (validators, caching, HEAD,
 * CSP nonce).  What the page says is rendered by the pure functions of
 * ngx_http_outage_statusbody.c from the worker's snapshot, at most once
 * per snapshot second per format (the render cache of filter.c); the
 * request path reads memory only.  Health-check internals (URLs,
 * addresses, failure texts) are never handed to the renderer.
 */


#include "ngx_http_outage_module.h"
#include "ngx_http_outage_pagebody.h"
#include "ngx_http_outage_statusbody.h"


#define NGX_HTTP_OUTAGE_SP_LABEL_MAX   128
#define NGX_HTTP_OUTAGE_SP_ZONEINFO    "/usr/share/zoneinfo/"
#define NGX_HTTP_OUTAGE_SP_MAX_AGE     "max-age=10"

#define NGX_HTTP_OUTAGE_SP_AUTO        0
#define NGX_HTTP_OUTAGE_SP_HTML        1
#define NGX_HTTP_OUTAGE_SP_JSON        2


typedef struct {
    ngx_uint_t                   scope;
    ngx_str_t                    label;
} ngx_http_outage_scope_label_t;


/* where a server's banners and pages send people by default */
typedef struct {
    void                        *server;     /* core srv conf; NULL: any */
    ngx_str_t                    link;
} ngx_http_outage_status_link_t;


struct ngx_http_outage_statuspage_s {
    ngx_array_t                 *scopes;     /* as written; NULL: labelled */
    ngx_uint_t                  *ids;        /* resolved at merge */
    ngx_str_t                   *labels;
    ngx_uint_t                   nrows;
    ngx_str_t                    name;
    ngx_str_t                    url;
    ngx_str_t                    id;
    ngx_str_t                    tpl;        /* template, or empty */
    time_t                       refresh;
    ngx_uint_t                   format;

    /* [0] HTML, [1] JSON; the ETag and nonce offset of each current blob */
    ngx_http_outage_cache_t      cache[2];
    u_char                       etag[2][40];
    size_t                       etag_len[2];
    ngx_uint_t                   stale[2];
    size_t                       nonce_at;
};


static ngx_int_t ngx_http_outage_status_page_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_outage_sp_wants_json(ngx_http_request_t *r,
    ngx_http_outage_statuspage_t *sp);
static ngx_int_t ngx_http_outage_sp_render(ngx_http_request_t *r,
    ngx_http_outage_statuspage_t *sp, ngx_http_outage_snapshot_t *snap,
    ngx_uint_t json, ngx_http_outage_blob_t **out);
static ngx_uint_t ngx_http_outage_sp_redis_stale(ngx_http_request_t *r);
static char *ngx_http_outage_sp_add_link(ngx_conf_t *cf,
    ngx_http_outage_statuspage_t *sp);


static ngx_str_t  ngx_http_outage_sp_default_name =
    ngx_string("Service status");


/*
 * outage_scope_label scope "Label";  (http level)
 *
 * The label is configuration text; it is still escaped wherever it goes.
 */

char *
ngx_http_outage_scope_label_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

    u_char                         *p;
    ngx_int_t                       id;
    ngx_str_t                      *value;
    ngx_uint_t                      i;
    ngx_http_outage_scope_label_t  *l;

    value = cf->args->elts;

    id = ngx_http_outage_scope_add(cf, &value[1]);
    if (id == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (value[2].len == 0 || value[2].len > NGX_HTTP_OUTAGE_SP_LABEL_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_scope_label\": the label of \"%V\" must "
                           "be 1 to %d bytes", &value[1],
                           NGX_HTTP_OUTAGE_SP_LABEL_MAX);
        return NGX_CONF_ERROR;
    }

    for (p = value[2].data; p < value[2].data + value[2].len; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_scope_label\": the label of \"%V\" "
                               "contains a control character", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (omcf->scope_labels == NULL) {
        omcf->scope_labels = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_http_outage_scope_label_t));
        if (omcf->scope_labels == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    l = omcf->scope_labels->elts;

    for (i = 0; i < omcf->scope_labels->nelts; i++) {
        if (l[i].scope == (ngx_uint_t) id) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_scope_label\": scope \"%V\" already "
                               "has a label", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    l = ngx_array_push(omcf->scope_labels);
    if (l == NULL) {
        return NGX_CONF_ERROR;
    }

    l->scope = (ngx_uint_t) id;
    l->label = value[2];

    return NGX_CONF_OK;
}


/*
 * outage_time_zone Europe/Berlin;  (http level)
 *
 * The zone file is read and checked here, once; requests only look the
 * offset up in the table.  The status page uses it; the banner's and the
 * page's renderers can take omcf->tz the same way.
 */

char *
ngx_http_outage_time_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

    ngx_str_t   *value, path, text;
    const char  *err;

    if (omcf->tz) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!ngx_http_outage_tz_name_valid(value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_time_zone\": \"%V\" is not a time zone "
                           "name such as \"Europe/Berlin\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    path.len = sizeof(NGX_HTTP_OUTAGE_SP_ZONEINFO) - 1 + value[1].len;
    path.data = ngx_pnalloc(cf->temp_pool, path.len + 1);
    if (path.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(path.data, NGX_HTTP_OUTAGE_SP_ZONEINFO "%V%Z", &value[1]);

    /*
     * A zone file is never empty: a FIFO or device there is refused.  Its
     * bytes are parsed into omcf->tz and not kept.
     */
    if (ngx_http_outage_conf_file(cf, &cmd->name,
                                  NGX_HTTP_OUTAGE_FILE_COLON
                                  | NGX_HTTP_OUTAGE_FILE_REGULAR
                                  | NGX_HTTP_OUTAGE_FILE_TEMP,
                                  "zone file ", &path, 1024 * 1024, &text)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    omcf->tz = ngx_palloc(cf->pool, sizeof(ngx_http_outage_tz_t));
    if (omcf->tz == NULL) {
        return NGX_CONF_ERROR;
    }

    err = ngx_http_outage_tz_parse(omcf->tz, text.data, text.len);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_time_zone\": \"%s\": %s", path.data, err);
        return NGX_CONF_ERROR;
    }

    omcf->tz_name = value[1];

    return NGX_CONF_OK;
}


/*
 * outage_status_page [scope ...] [name=text] [url=URL] [refresh=time|off]
 *                    [format=auto|html|json] [template=file];
 */

char *
ngx_http_outage_status_page_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_outage_loc_conf_t *olcf = conf;

    size_t                         off;
    ngx_int_t                      id;
    ngx_str_t                     *value, v;
    ngx_uint_t                     i, *slot;
    const char                    *err;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_outage_statuspage_t  *sp;

    if (olcf->status_page) {
        return "is duplicate";
    }

    sp = ngx_pcalloc(cf->pool, sizeof(ngx_http_outage_statuspage_t));
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }

    sp->refresh = NGX_CONF_UNSET;
    sp->format = NGX_HTTP_OUTAGE_SP_AUTO;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            sp->name.data = value[i].data + 5;
            sp->name.len = value[i].len - 5;

            if (sp->name.len == 0
                || sp->name.len > NGX_HTTP_OUTAGE_SP_LABEL_MAX)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_status_page\": \"name=\" takes "
                                   "1 to %d bytes",
                                   NGX_HTTP_OUTAGE_SP_LABEL_MAX);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "url=", 4) == 0) {
            sp->url.data = value[i].data + 4;
            sp->url.len = value[i].len - 4;

            switch (ngx_http_outage_link_check(sp->url.data, sp->url.len)) {

            case NGX_HTTP_OUTAGE_LINK_OK:
                break;

            case NGX_HTTP_OUTAGE_LINK_BAD_PORT:
                /* loaded before the port was checked: not a reason to stop */
                ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                                   "\"outage_status_page\": the port of "
                                   "\"%V\" is one browsers refuse to open "
                                   "(the Fetch standard's \"bad ports\"): "
                                   "its links will not open", &value[i]);
                break;

            default:
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_status_page\": \"%V\" is not an "
                                   "absolute http or https URL", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "refresh=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;

            if (v.len == 3 && ngx_strncmp(v.data, "off", 3) == 0) {
                sp->refresh = 0;
                continue;
            }

            sp->refresh = ngx_parse_time(&v, 1);

            if (sp->refresh == (time_t) NGX_ERROR || sp->refresh == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_status_page\": invalid \"%V\", "
                                   "expected \"refresh=off\" or a positive "
                                   "time", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "template=", 9) == 0) {
            v.data = value[i].data + 9;
            v.len = value[i].len - 9;

            if (v.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_status_page\": no file in "
                                   "\"template=\"");
                return NGX_CONF_ERROR;
            }

            /* a page is never empty: a FIFO or device is refused */
            if (ngx_http_outage_conf_file(cf, &cmd->name,
                                          NGX_HTTP_OUTAGE_FILE_COLON
                                          | NGX_HTTP_OUTAGE_FILE_REGULAR,
                                          "template ", &v, 1024 * 1024,
                                          &sp->tpl)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            err = ngx_http_outage_tpl_check(sp->tpl.data, sp->tpl.len, &off);
            if (err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_status_page\" template \"%s\" "
                                   "at byte %uz: %s", v.data, off, err);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "format=", 7) == 0) {
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;

            if (v.len == 4 && ngx_strncmp(v.data, "auto", 4) == 0) {
                sp->format = NGX_HTTP_OUTAGE_SP_AUTO;

            } else if (v.len == 4 && ngx_strncmp(v.data, "html", 4) == 0) {
                sp->format = NGX_HTTP_OUTAGE_SP_HTML;

            } else if (v.len == 4 && ngx_strncmp(v.data, "json", 4) == 0) {
                sp->format = NGX_HTTP_OUTAGE_SP_JSON;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_status_page\": invalid \"%V\", "
                                   "expected \"auto\", \"html\" or \"json\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        /* scope names cannot contain "=": anything else is a scope */

        if (sp->scopes == NULL) {
            sp->scopes = ngx_array_create(cf->pool, 4, sizeof(ngx_uint_t));
            if (sp->scopes == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        id = ngx_http_outage_scope_add(cf, &value[i]);
        if (id == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        slot = ngx_array_push(sp->scopes);
        if (slot == NULL) {
            return NGX_CONF_ERROR;
        }

        *slot = (ngx_uint_t) id;
    }

    if (sp->name.data == NULL) {
        sp->name = ngx_http_outage_sp_default_name;
    }

    if (sp->refresh == NGX_CONF_UNSET) {
        sp->refresh = 0;
    }

    /* a stable page id for summary.json: the same name, the same id */
    sp->id.data = ngx_pnalloc(cf->pool, sizeof("nginx-") - 1 + 8);
    if (sp->id.data == NULL) {
        return NGX_CONF_ERROR;
    }

    sp->id.len = ngx_sprintf(sp->id.data, "nginx-%08xD",
                             ngx_crc32_short(sp->name.data, sp->name.len))
                 - sp->id.data;

    olcf->status_page = sp;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_outage_status_page_handler;

    return NGX_CONF_OK;
}


/*
 * Remembers the page as the default link of banners and maintenance pages
 * (those without a link from Redis): for its own server, url= or else the
 * location's path; with url=, for every other server too.  Called from the
 * location's merge: the whole location has been read by then ("internal"
 * may follow the directive) and the core module has merged it.  Only a
 * page shoppers can open in a browser qualifies: not a JSON-only one, not
 * an internal location, not a path that is no plain same-site URL (regex
 * or named locations, "//host", "%", odd bytes).  Better no link than a
 * dead one, a foreign host or raw JSON.  Access rules (deny, auth_basic,
 * auth_request) cannot be seen from here: docs say to give url= then.
 */

static char *
ngx_http_outage_sp_add_link(ngx_conf_t *cf, ngx_http_outage_statuspage_t *sp)
{
    u_char                         *p;
    ngx_str_t                       path;
    const char                     *why;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_outage_main_conf_t    *omcf;
    ngx_http_outage_status_link_t  *l;

    if (sp->format == NGX_HTTP_OUTAGE_SP_JSON) {
        return NGX_CONF_OK;
    }

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    path = sp->url;
    why = NULL;

    if (path.len == 0) {
        path = clcf->name;

        if (clcf->internal == 1) {
            why = "the location is internal";

        } else if (path.len == 0 || path.data[0] != '/' || clcf->named
#if (NGX_PCRE)
                   || clcf->regex
#endif
                   || clcf->noname)
        {
            why = "the location is no plain path";

        } else if (path.len > 1 && (path.data[1] == '/'
                                    || path.data[1] == '\\'))
        {
            /* "//host/" is another host to a browser, and so is "/\host/" */
            why = "the path starts with \"//\"";

        } else if (sp->format == NGX_HTTP_OUTAGE_SP_AUTO
                   && path.len >= 5
                   && ngx_strncasecmp(path.data + path.len - 5,
                                      (u_char *) ".json", 5) == 0)
        {
            why = "the path answers JSON";

        } else {
            for (p = path.data; p < path.data + path.len; p++) {
                /*
                 * what ngx_http_outage_link_valid() refuses in a path,
                 * "?" "#" (the location's name is a path only) and "%":
                 * nginx matches the decoded URI, so "/st%61tus" would
                 * be linked as a page it does not answer
                 */
                if (*p <= 0x20 || *p >= 0x7f
                    || ngx_strchr("\"'<>\\`{}|^;?#%", *p) != NULL)
                {
                    why = "the path has bytes that are no plain URL path";
                    break;
                }
            }
        }

        if (why) {
            ngx_conf_log_error(NGX_LOG_NOTICE, cf, 0,
                               "\"outage_status_page\" in \"%V\" is no "
                               "default link for banners and pages: %s; "
                               "give \"url=\" for one", &clcf->name, why);
            return NGX_CONF_OK;
        }
    }

    if (omcf->status_links == NULL) {
        omcf->status_links = ngx_array_create(cf->pool, 2,
                                       sizeof(ngx_http_outage_status_link_t));
        if (omcf->status_links == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    l = ngx_array_push(omcf->status_links);
    if (l == NULL) {
        return NGX_CONF_ERROR;
    }

    l->server = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    l->link = path;

    if (sp->url.len) {
        l = ngx_array_push(omcf->status_links);
        if (l == NULL) {
            return NGX_CONF_ERROR;
        }

        l->server = NULL;
        l->link = sp->url;
    }

    return NGX_CONF_OK;
}


/*
 * The default link for r's banner and page: its server's status page
 * first, else the first status page with a public url=; empty if none.
 */

void
ngx_http_outage_status_link(ngx_http_request_t *r, ngx_str_t *link)
{
    void                           *server;
    ngx_uint_t                      i;
    ngx_http_outage_main_conf_t    *omcf;
    ngx_http_outage_status_link_t  *l, *any;

    ngx_str_null(link);

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);

    if (omcf->status_links == NULL) {
        return;
    }

    server = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
    l = omcf->status_links->elts;
    any = NULL;

    for (i = 0; i < omcf->status_links->nelts; i++) {
        if (l[i].server == server) {
            *link = l[i].link;
            return;
        }

        if (l[i].server == NULL && any == NULL) {
            any = &l[i];
        }
    }

    if (any) {
        *link = any->link;
    }
}


/* a scope's outage_scope_label; NULL: none (the name is shown) */

ngx_str_t *
ngx_http_outage_scope_label(ngx_http_outage_main_conf_t *omcf,
    ngx_uint_t scope)
{
    ngx_uint_t                      i;
    ngx_http_outage_scope_label_t  *l;

    if (omcf->scope_labels == NULL) {
        return NULL;
    }

    l = omcf->scope_labels->elts;

    for (i = 0; i < omcf->scope_labels->nelts; i++) {
        if (l[i].scope == scope) {
            return &l[i].label;
        }
    }

    return NULL;
}


/*
 * Runs first in the location's merge, while its own settings are still
 * told apart from inherited ones.  The status page must answer during an
 * outage: a server-wide "outage_page" would replace it with the 503 page
 * and a banner would repeat what it says, so neither is inherited here
 * (writing them in this very location still works).  Then the rows are
 * resolved: the listed scopes, or every labelled one.
 */

char *
ngx_http_outage_status_page_merge(ngx_conf_t *cf,
    ngx_http_outage_loc_conf_t *conf)
{
    ngx_str_t                      *names, *label;
    ngx_uint_t                      i, n, *ids;
    ngx_http_outage_main_conf_t    *omcf;
    ngx_http_outage_statuspage_t   *sp;
    ngx_http_outage_scope_label_t  *l;

    sp = conf->status_page;

    if (conf->page_scopes == NGX_CONF_UNSET_PTR) {
        conf->page_scopes = NULL;
    }

    if (conf->banner == NGX_CONF_UNSET) {
        conf->banner = 0;
    }

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);
    names = omcf->scopes.elts;
    l = omcf->scope_labels ? omcf->scope_labels->elts : NULL;

    if (sp->scopes) {
        n = sp->scopes->nelts;
        ids = sp->scopes->elts;

    } else {
        n = omcf->scope_labels ? omcf->scope_labels->nelts : 0;
        ids = NULL;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_status_page\" shows no scope: list the "
                           "public scopes in it or label them with "
                           "\"outage_scope_label\"");
        return NGX_CONF_ERROR;
    }

    sp->ids = ngx_palloc(cf->pool, n * sizeof(ngx_uint_t));
    sp->labels = ngx_palloc(cf->pool, n * sizeof(ngx_str_t));
    if (sp->ids == NULL || sp->labels == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        sp->ids[i] = ids ? ids[i] : l[i].scope;
        label = ngx_http_outage_scope_label(omcf, sp->ids[i]);
        sp->labels[i] = label ? *label : names[sp->ids[i]];
    }

    sp->nrows = n;

    return ngx_http_outage_sp_add_link(cf, sp);
}


static ngx_int_t
ngx_http_outage_status_page_handler(ngx_http_request_t *r)
{
    static ngx_str_t  type = ngx_string("application/json");

    u_char                        *p;
    ngx_int_t                      rc;
    ngx_str_t                      nonce, part[3];
    ngx_uint_t                     json;
    ngx_chain_t                   *out;
    ngx_table_elt_t               *h;
    ngx_http_outage_blob_t        *blob;
    ngx_http_outage_loc_conf_t    *olcf;
    ngx_http_outage_snapshot_t    *snap;
    ngx_http_outage_statuspage_t  *sp;

    rc = ngx_http_outage_get_or_head(r);
    if (rc != NGX_OK) {
        return rc;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);
    sp = olcf->status_page;

    if (sp == NULL) {
        return NGX_DECLINED;
    }

    json = ngx_http_outage_sp_wants_json(r, sp);
    snap = ngx_http_outage_snapshot(r);

    blob = snap ? ngx_http_outage_cache_find(&sp->cache[json], snap) : NULL;

    /* Redis going away does not bump the generation: say so at once */
    if (blob && sp->stale[json] != ngx_http_outage_sp_redis_stale(r)) {
        blob = NULL;
    }

    if (blob == NULL
        && ngx_http_outage_sp_render(r, sp, snap, json, &blob) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the nonce, when configured, is per response: no ETag, no caching */
    ngx_str_null(&nonce);

    /* a template carries its own styles (a stylesheet, or none) */
    if (!json && sp->tpl.len == 0
        && ngx_http_outage_nonce_attr(r, olcf, &nonce) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    part[0].data = blob->data;
    part[0].len = blob->len;
    part[1] = nonce;
    part[2].len = 0;

    if (nonce.len) {
        part[0].len = sp->nonce_at;
        part[2].data = blob->data + sp->nonce_at;
        part[2].len = blob->len - sp->nonce_at;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = blob->len + nonce.len;

    ngx_http_outage_page_type(r, json ? &type : NULL);

    if (nonce.len) {
        if (ngx_http_outage_header_push(r, "Cache-Control", 13,
                                        (u_char *) "no-store", 8)
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        if (ngx_http_outage_header_push(r, "Cache-Control", 13,
                                        (u_char *) NGX_HTTP_OUTAGE_SP_MAX_AGE,
                                        sizeof(NGX_HTTP_OUTAGE_SP_MAX_AGE) - 1)
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* copied: the next rendering reuses the location's buffer */
        p = ngx_pnalloc(r->pool, sp->etag_len[json]);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, sp->etag[json], sp->etag_len[json]);

        h = ngx_http_outage_header_push(r, "ETag", 4, p, sp->etag_len[json]);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* nginx's not_modified filter answers If-None-Match with a 304 */
        r->headers_out.etag = h;
    }

    if (sp->format == NGX_HTTP_OUTAGE_SP_AUTO
        && ngx_http_outage_header_push(r, "Vary", 4, (u_char *) "Accept", 6)
           == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* public data, read by status widgets on other origins */
    if (json
        && ngx_http_outage_header_push(r, "Access-Control-Allow-Origin", 27,
                                       (u_char *) "*", 1)
           == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    /* sent in place: the request holds the blob until it is finished */
    if (ngx_http_outage_cache_hold(r, blob) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_outage_page_chain(r, part, 3, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    if (out == NULL) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    return ngx_http_output_filter(r, out);
}


/*
 * "format=" of the directive, then "?format=json|html", a URI ending in
 * ".json", then the Accept header (JSON preferred over HTML).
 */

static ngx_uint_t
ngx_http_outage_sp_wants_json(ngx_http_request_t *r,
    ngx_http_outage_statuspage_t *sp)
{
    ngx_str_t  v;

    if (sp->format != NGX_HTTP_OUTAGE_SP_AUTO) {
        return sp->format == NGX_HTTP_OUTAGE_SP_JSON;
    }

    if (ngx_http_arg(r, (u_char *) "format", 6, &v) == NGX_OK) {
        if (v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "json", 4) == 0) {
            return 1;
        }

        if (v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "html", 4) == 0) {
            return 0;
        }
    }

    if (r->uri.len >= 5
        && ngx_strncasecmp(r->uri.data + r->uri.len - 5, (u_char *) ".json", 5)
           == 0)
    {
        return 1;
    }

    return ngx_http_outage_accept(r, ngx_http_outage_page_wants_json);
}


/*
 * Renders one format into the location's cache from the snapshot (or, if
 * the worker has none, as "not confirmed yet": never as all well).  Only
 * what shoppers may see is copied into the rows: never a view's "reason".
 */

static ngx_int_t
ngx_http_outage_sp_render(ngx_http_request_t *r,
    ngx_http_outage_statuspage_t *sp, ngx_http_outage_snapshot_t *snap,
    ngx_uint_t json, ngx_http_outage_blob_t **out)
{
    u_char                        *comp;
    size_t                         len, clen;
    uint32_t                       crc;
    ngx_uint_t                     i, redis;
    ngx_http_outage_sp_t           page;
    ngx_http_outage_blob_t        *blob;
    ngx_http_outage_view_t        *v;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_sp_row_t      *rows, *row;
    ngx_http_outage_main_conf_t   *omcf;

    static ngx_http_outage_view_t  none;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);
    shm = ngx_http_outage_shm();

    rows = ngx_pcalloc(r->pool, sp->nrows * sizeof(ngx_http_outage_sp_row_t));
    if (rows == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&page, sizeof(ngx_http_outage_sp_t));

    page.now = snap ? snap->built : ngx_time();
    page.refresh = (long) sp->refresh;
    page.id = sp->id.data;
    page.id_len = sp->id.len;
    page.name = sp->name.data;
    page.name_len = sp->name.len;
    page.tz = omcf->tz;
    page.tz_name = omcf->tz_name.data;
    page.tz_name_len = omcf->tz_name.len;
    page.url = sp->url.data;
    page.url_len = sp->url.len;
    page.json_href = (u_char *) "?format=json";
    page.json_href_len = sizeof("?format=json") - 1;
    page.rows = rows;
    page.nrows = sp->nrows;

    /*
     * Read live from the zone (one word each, no lock): a successful poll
     * does not bump the generation, and a failing one must show at once.
     */
    redis = omcf->redis_addrs && omcf->redis_addrs->nelts;

    sp->stale[json] = ngx_http_outage_sp_redis_stale(r);
    page.stale = (snap == NULL || sp->stale[json]);

    if (redis && shm && shm->redis_ever_ok) {
        page.confirmed = shm->redis_last_ok;
    }

    for (i = 0; i < sp->nrows; i++) {
        row = &rows[i];
        v = (snap && sp->ids[i] < snap->nscopes) ? &snap->scopes[sp->ids[i]]
                                                 : &none;

        if (v->stale) {
            page.stale = 1;
        }

        row->id = omcf->scopes.nelts > sp->ids[i]
                  ? ((ngx_str_t *) omcf->scopes.elts)[sp->ids[i]].data
                  : (u_char *) "";
        row->id_len = omcf->scopes.nelts > sp->ids[i]
                      ? ((ngx_str_t *) omcf->scopes.elts)[sp->ids[i]].len
                      : 0;
        row->label = sp->labels[i].data;
        row->label_len = sp->labels[i].len;
        row->state = (int) v->state;
        row->announced = v->announced;
        row->health = (v->source == NGX_HTTP_OUTAGE_SOURCE_HEALTH);
        /* never "since ... (in 3 days)": a since ahead of the clock is now */
        row->since = (v->since > page.now) ? page.now : v->since;
        row->eta = v->eta;
        row->starts = v->starts;
        row->ends = v->ends;
        row->confirmed = ngx_http_outage_view_checked(snap, v);

        if (page.confirmed > row->confirmed) {
            row->confirmed = page.confirmed;
        }

        row->message = v->message.data;
        row->message_len = v->message.len;
        row->eta_text = v->eta_text.data;
        row->eta_text_len = v->eta_text.len;
        row->link = v->link.data;
        row->link_len = v->link.len;
    }

    for (i = 0; i < sp->nrows; i++) {
        /* health-decided rows are current even without Redis */
        rows[i].stale = page.stale && !rows[i].health;
    }

    comp = NULL;
    clen = 0;

    if (!json && sp->tpl.len) {
        /* the template's {{components}}: rendered once, copied in */
        clen = ngx_http_outage_sp_components(NULL, 0, &page);
        comp = ngx_pnalloc(r->pool, clen ? clen : 1);
        if (comp == NULL) {
            return NGX_ERROR;
        }

        ngx_http_outage_sp_components(comp, clen, &page);
    }

    len = json ? ngx_http_outage_sp_json(NULL, 0, &page)
               : sp->tpl.len
                 ? ngx_http_outage_sp_template(NULL, 0, sp->tpl.data,
                                               sp->tpl.len, &page, comp, clen)
                 : ngx_http_outage_sp_html(NULL, 0, &page, NULL);

    blob = ngx_http_outage_cache_reserve(&sp->cache[json], len,
                                         r->connection->log);
    if (blob == NULL) {
        return NGX_ERROR;
    }

    if (json) {
        blob->len = ngx_http_outage_sp_json(blob->data, blob->size, &page);

    } else if (sp->tpl.len) {
        blob->len = ngx_http_outage_sp_template(blob->data, blob->size,
                                                sp->tpl.data, sp->tpl.len,
                                                &page, comp, clen);

    } else {
        blob->len = ngx_http_outage_sp_html(blob->data, blob->size, &page,
                                            &sp->nonce_at);
    }

    if (blob->len != len) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "outage: status page rendering changed size "
                      "(%uz, then %uz)", len, blob->len);
        return NGX_ERROR;
    }

    /*
     * From the bytes themselves: equal bodies get equal tags, across
     * workers and servers behind one CDN, and a generation bump that
     * changes nothing shown keeps the clients' copies valid.
     */
    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, blob->data, blob->len);
    ngx_crc32_final(crc);

    sp->etag_len[json] = ngx_sprintf(sp->etag[json], "\"%08xD%xz\"", crc,
                                     blob->len)
                         - sp->etag[json];

    if (snap) {
        ngx_http_outage_cache_store(&sp->cache[json], blob, snap);

    } else {
        sp->cache[json].current = blob;
        sp->cache[json].built = 0;
    }

    *out = blob;

    return NGX_OK;
}


/* 1 if Redis is configured but has not answered the last poll (or any) */

static ngx_uint_t
ngx_http_outage_sp_redis_stale(ngx_http_request_t *r)
{
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);

    if (omcf->redis_addrs == NULL || omcf->redis_addrs->nelts == 0) {
        return 0;
    }

    shm = ngx_http_outage_shm();

    return shm == NULL || !shm->redis_up || !shm->redis_ever_ok;
}
