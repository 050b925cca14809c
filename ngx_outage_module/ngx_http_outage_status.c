
/*
 * ngx_outage_module: the status handler.
 *
 * Owns "outage_status" (JSON of the snapshot: every scope with its state,
 * source and age, every check's health, the Redis link, counters) and its
 * Prometheus text exposition ("outage_status prometheus;" or "?format=
 * prometheus"), and the content-handler dispatch for the module's other
 * small handlers.  Backend addresses are never shown: checks are named by
 * scope and index.  Protect the location with allow/deny.
 */


#include "ngx_http_outage_module.h"


static ngx_int_t ngx_http_outage_status_handler(ngx_http_request_t *r);
static u_char *ngx_http_outage_status_json(u_char *p, u_char *last,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *snap);
static u_char *ngx_http_outage_status_prometheus(u_char *p, u_char *last,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *snap);
static u_char *ngx_http_outage_json_str(u_char *p, u_char *last,
    u_char *s, size_t len);
static u_char *ngx_http_outage_json_time(u_char *p, u_char *last, time_t t);
static u_char *ngx_http_outage_json_pid(u_char *p, u_char *last,
    ngx_http_outage_lease_t *lease);
static u_char *ngx_http_outage_status_push(u_char *p, u_char *last,
    ngx_http_outage_shm_t *shm, ngx_http_outage_main_conf_t *omcf);
static ngx_uint_t ngx_http_outage_status_push_state(
    ngx_http_outage_shm_t *shm);
static u_char *ngx_http_outage_json_value(u_char *p, u_char *last,
    ngx_http_outage_field_t *f, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *v);


static const char *ngx_http_outage_health_names[] = {
    "unknown", "up", "down"
};

/* by NGX_HTTP_OUTAGE_PUSH_* */
static const char *ngx_http_outage_push_names[] = {
    "connecting", "subscribed", "reconnecting", "refused"
};


char *
ngx_http_outage_status_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_outage_loc_conf_t *olcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (olcf->status_format) {
        return "is duplicate";
    }

    value = cf->args->elts;
    olcf->status_format = NGX_HTTP_OUTAGE_STATUS_JSON;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "prometheus") == 0) {
            olcf->status_format = NGX_HTTP_OUTAGE_STATUS_PROMETHEUS;

        } else if (ngx_strcmp(value[1].data, "json") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_status\": unknown format \"%V\", "
                               "expected \"json\" or \"prometheus\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_outage_content_handler;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_outage_content_handler(ngx_http_request_t *r)
{
    ngx_http_outage_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (olcf->status_format) {
        return ngx_http_outage_status_handler(r);
    }

    if (olcf->bypass_login == 1) {
        return ngx_http_outage_bypass_login_handler(r);
    }

    if (olcf->banner_css == 1) {
        return ngx_http_outage_banner_css_handler(r);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_outage_status_handler(ngx_http_request_t *r)
{
    size_t                        size;
    ngx_int_t                     rc;
    ngx_str_t                     fmt;
    ngx_buf_t                    *b;
    ngx_uint_t                    prometheus;
    ngx_chain_t                   out;
    ngx_http_outage_shm_t        *shm, *copy;
    ngx_http_outage_loc_conf_t   *olcf;
    ngx_http_outage_snapshot_t   *snap;

    rc = ngx_http_outage_get_or_head(r);
    if (rc != NGX_OK) {
        return rc;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    prometheus = (olcf->status_format == NGX_HTTP_OUTAGE_STATUS_PROMETHEUS);

    if (ngx_http_arg(r, (u_char *) "format", 6, &fmt) == NGX_OK) {
        if (fmt.len == 10 && ngx_strncmp(fmt.data, "prometheus", 10) == 0) {
            prometheus = 1;

        } else if (fmt.len == 4 && ngx_strncmp(fmt.data, "json", 4) == 0) {
            prometheus = 0;
        }
    }

    shm = ngx_http_outage_shm();
    snap = ngx_http_outage_snapshot(r);

    if (shm == NULL || snap == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* a consistent copy; the lock is held only for the memcpy */
    copy = ngx_palloc(r->pool, sizeof(ngx_http_outage_shm_t));
    if (copy == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_outage_shm_lock();
    ngx_memcpy(copy, shm, sizeof(ngx_http_outage_shm_t));
    ngx_http_outage_shm_unlock();

    /* worst case: every byte of every text escaped as \u00XX */
    size = 4096 + 6 * NGX_HTTP_OUTAGE_ERR_MAX
           + NGX_HTTP_OUTAGE_GUARD_STATUS_MAX
           + snap->nscopes * (1024 + 6 * (NGX_HTTP_OUTAGE_MESSAGE_MAX
                                          + NGX_HTTP_OUTAGE_ETA_MAX
                                          + NGX_HTTP_OUTAGE_LINK_MAX
                                          + NGX_HTTP_OUTAGE_PWARN_MAX
                                          + 2 * NGX_HTTP_OUTAGE_ERR_MAX))
           + NGX_HTTP_OUTAGE_MAX_CHECKS * (1024 + 6 * NGX_HTTP_OUTAGE_ERR_MAX);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (prometheus) {
        b->last = ngx_http_outage_status_prometheus(b->pos, b->end, copy,
                                                    snap);

        /*
         * the charset as its own field, so that nginx's charset filter
         * (charset_types *) rewrites it rather than adding a second one
         */
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
        r->headers_out.content_type_len =
                                    sizeof("text/plain; version=0.0.4") - 1;
        r->headers_out.charset.len = sizeof("utf-8") - 1;
        r->headers_out.charset.data = r->headers_out.content_type.data
                                      + r->headers_out.content_type.len
                                      - (sizeof("utf-8") - 1);

    } else {
        b->last = ngx_http_outage_status_json(b->pos, b->end, copy, snap);
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static u_char *
ngx_http_outage_status_json(u_char *p, u_char *last,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *snap)
{
    time_t                         now;
    ngx_uint_t                     i, j, slot, first;
    ngx_http_outage_view_t        *v;
    ngx_http_outage_field_t       *f;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *checks;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);
    now = ngx_time();

    p = ngx_slprintf(p, last, "{\"time\":");
    p = ngx_http_outage_json_time(p, last, now);
    p = ngx_slprintf(p, last, ",\"generation\":%ui,\"pid\":%P,"
                     "\"configuration\":{\"generation\":%ui,"
                     "\"newest\":%s},",
                     snap->generation, ngx_pid, omcf->conf_generation,
                     shm->conf_generation == omcf->conf_generation
                     ? "true" : "false");

    /* the Redis link */

    if (omcf->redis_addrs == NULL) {
        p = ngx_slprintf(p, last, "\"redis\":{\"configured\":false},");

    } else {
        p = ngx_slprintf(p, last,
                         "\"redis\":{\"configured\":true,\"up\":%s,"
                         "\"last_success\":",
                         shm->redis_up ? "true" : "false");
        p = ngx_http_outage_json_time(p, last,
                                      shm->redis_ever_ok
                                      ? shm->redis_last_ok : 0);

        if (shm->redis_ever_ok) {
            p = ngx_slprintf(p, last, ",\"age_seconds\":%T",
                             (time_t) (ngx_http_outage_msec_since(
                                           shm->redis_last_ok_ms) / 1000));
        } else {
            p = ngx_slprintf(p, last, ",\"age_seconds\":null");
        }

        p = ngx_slprintf(p, last, ",\"stale\":%s,\"max_stale_seconds\":%T,"
                         "\"last_error\":",
                         (snap->nscopes && snap->scopes[0].stale)
                         ? "true" : "false",
                         omcf->redis_max_stale);
        p = ngx_http_outage_json_str(p, last, shm->redis_last_error,
                                     shm->redis_last_error_len);
        p = ngx_slprintf(p, last, ",\"last_error_time\":");
        p = ngx_http_outage_json_time(p, last, shm->redis_last_error_time);
        p = ngx_slprintf(p, last, ",\"polls\":%ui,\"errors\":%ui,"
                         "\"connects\":%ui,\"interval_ms\":%M,"
                         "\"poller_pid\":",
                         shm->redis_polls, shm->redis_errors,
                         shm->redis_connects, omcf->redis_interval);
        p = ngx_http_outage_json_pid(p, last, &shm->redis_lease);
        p = ngx_slprintf(p, last, ",\"late_results_dropped\":%ui,",
                         shm->redis_dropped);

        /* INFO's word on evictions (docs/redis.md#evictions) */
        p = ngx_slprintf(p, last, "\"maxmemory_policy\":");
        p = shm->redis_policy_len
            ? ngx_http_outage_json_str(p, last, shm->redis_policy,
                                       shm->redis_policy_len)
            : ngx_slprintf(p, last, "null");
        p = ngx_slprintf(p, last, ",\"evicted_keys_seen\":%uL,",
                         shm->redis_evicted);
        p = ngx_http_outage_status_push(p, last, shm, omcf);
        p = ngx_slprintf(p, last, "},");
    }

    /* scopes */

    p = ngx_slprintf(p, last, "\"scopes\":[");

    for (i = 0; i < snap->nscopes; i++) {
        v = &snap->scopes[i];
        slot = ngx_http_outage_scope_slot(i);

        p = ngx_slprintf(p, last, "%s{", i ? "," : "");
        first = 1;

        for (f = ngx_http_outage_vars; f->get; f++) {
            if (f->json == NULL) {
                continue;
            }

            p = ngx_slprintf(p, last, "%s\"%s\":", first ? "" : ",",
                             f->json);
            first = 0;
            p = ngx_http_outage_json_value(p, last, f, snap, v);
        }

        p = ngx_slprintf(p, last, ",\"transitions\":%ui,\"redis_held\":%s,"
                         "\"redis_maybe_evicted\":%s,"
                         "\"redis_maybe_restarted\":%s",
                         shm->scopes[slot].transitions,
                         shm->scopes[slot].redis_held ? "true" : "false",
                         (shm->scopes[slot].redis_evicted
                          & NGX_HTTP_OUTAGE_LOST_EVICTED) ? "true" : "false",
                         (shm->scopes[slot].redis_evicted
                          & NGX_HTTP_OUTAGE_LOST_RESTART) ? "true" : "false");

        /*
         * The Redis key's expiry (its PTTL when last read): in ms from
         * now, negative once passed (its state then no longer applies,
         * read or not); null without one.
         */
        if (shm->scopes[slot].redis.expires
            && shm->scopes[slot].redis.state != NGX_HTTP_OUTAGE_STATE_NONE)
        {
            p = ngx_slprintf(p, last, ",\"redis_expires_in_ms\":%i}",
                             (ngx_int_t) (ngx_msec_int_t)
                             ((ngx_msec_t) shm->scopes[slot].redis.expires
                              - ngx_current_msec));
        } else {
            p = ngx_slprintf(p, last, ",\"redis_expires_in_ms\":null}");
        }
    }

    /* checks: by scope and index, never by address */

    /* guard_active: kept for one release, "guard" says it all (health.c) */
    p = ngx_slprintf(p, last, "],\"guard_active\":%s,",
                     shm->guard_active ? "true" : "false");
    p = ngx_http_outage_health_guard_json(p, last, omcf, shm, snap);
    p = ngx_slprintf(p, last, "\"health\":{\"prober_pid\":");
    p = ngx_http_outage_json_pid(p, last, &shm->health_lease);
    p = ngx_slprintf(p, last, ",\"late_results_dropped\":%ui},\"checks\":[",
                     shm->health_dropped);

    checks = omcf->checks.elts;
    first = 1;

    for (j = 0; j < omcf->checks.nelts; j++) {
        sc = &shm->checks[checks[j].slot];

        p = ngx_slprintf(p, last, "%s{\"id\":%ui,\"scope\":",
                         first ? "" : ",", j);
        first = 0;
        p = ngx_http_outage_json_str(p, last, snap->scopes[checks[j].scope]
                                                  .name.data,
                                     snap->scopes[checks[j].scope].name.len);
        p = ngx_slprintf(p, last, ",\"health\":\"%s\",\"since\":",
                         ngx_http_outage_health_names[sc->health % 3]);
        p = ngx_http_outage_json_time(p, last, sc->since);
        p = ngx_slprintf(p, last, ",\"consecutive_failures\":%ui,"
                         "\"consecutive_successes\":%ui,"
                         "\"last_status\":%ui,\"last_error\":",
                         sc->fails, sc->passes, sc->last_status);
        p = ngx_http_outage_json_str(p, last, sc->last_error_text,
                                     sc->last_error_len);
        p = ngx_slprintf(p, last, ",\"error_kind\":\"%s\"",
                         ngx_http_outage_health_error_name(sc->last_error));
        p = ngx_slprintf(p, last, ",\"latency_ms\":%M,\"last_checked\":",
                         sc->last_latency);
        p = ngx_http_outage_json_time(p, last, sc->last_checked);
        p = ngx_slprintf(p, last, ",\"probes\":%ui,\"failures\":%ui,"
                         "\"passive_failures\":%ui,\"transitions\":%ui,"
                         "\"page_answers\":%ui}",
                         sc->probes, sc->failures, sc->passive_failures,
                         sc->transitions, sc->page_answers);
    }

    p = ngx_slprintf(p, last, "],\"counters\":{\"banners\":%uA,"
                     "\"pages\":%uA,\"bypasses\":%uA,\"intercepts\":%uA,"
                     "\"banner_skips\":%uA}}\n",
                     shm->banners, shm->pages, shm->bypasses,
                     shm->intercepts, shm->banner_skips);

    return p;
}


static u_char *
ngx_http_outage_prom_label(u_char *p, u_char *last, ngx_str_t *s)
{
    u_char  *c;

    /* scope names are [A-Za-z0-9_.-]: nothing needs escaping */
    for (c = s->data; c < s->data + s->len && p < last; c++) {
        *p++ = *c;
    }

    return p;
}


/* the per-check series, in the order of outage_check_* in the output */
static const struct {
    const char  *name;
    const char  *help;
} ngx_http_outage_check_metrics[] = {
    { "up", "Health check result (1 up, 0 down or unknown)." },
    { "latency_seconds", "Latency of the last probe." },
    { "probes_total", "Probes sent." },
    { "failures_total", "Failed probes." },
    { "setup_failed", "1 while libcurl refuses to set up the check's probe "
                      "or no probe result came for too long (it is not "
                      "probed)." },
};


static u_char *
ngx_http_outage_status_prometheus(u_char *p, u_char *last,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *snap)
{
    ngx_uint_t                     i, j, s, m;
    ngx_http_outage_view_t        *v;
    ngx_http_outage_field_t       *f;
    ngx_http_outage_value_t        val;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *checks;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_outage_module);

    for (f = ngx_http_outage_vars; f->get; f++) {
        if (f->metric == NULL) {
            continue;
        }

        p = ngx_slprintf(p, last, "# HELP outage_scope_%s %s\n"
                         "# TYPE outage_scope_%s gauge\n",
                         f->metric, f->help, f->metric);

        for (i = 0; i < snap->nscopes; i++) {
            v = &snap->scopes[i];

            ngx_memzero(&val, sizeof(ngx_http_outage_value_t));
            f->get(snap, v, &val);

            if (val.type != NGX_HTTP_OUTAGE_FIELD_ENUM) {
                p = ngx_slprintf(p, last, "outage_scope_%s{scope=\"",
                                 f->metric);
                p = ngx_http_outage_prom_label(p, last, &v->name);
                p = ngx_slprintf(p, last, "\"} %d\n", (int) val.n);
                continue;
            }

            /* one series per value, 1 for the current one */
            for (s = 0; s < f->nnames; s++) {
                p = ngx_slprintf(p, last, "outage_scope_%s{scope=\"",
                                 f->metric);
                p = ngx_http_outage_prom_label(p, last, &v->name);
                p = ngx_slprintf(p, last, "\",%s=\"%s\"} %d\n", f->metric,
                                 f->names[s], (int) (val.n == s));
            }
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP outage_scope_transitions_total State changes declared "
            "in Redis.\n"
            "# TYPE outage_scope_transitions_total counter\n");

    for (i = 0; i < snap->nscopes; i++) {
        v = &snap->scopes[i];
        p = ngx_slprintf(p, last, "outage_scope_transitions_total{scope=\"");
        p = ngx_http_outage_prom_label(p, last, &v->name);
        p = ngx_slprintf(p, last, "\"} %ui\n",
                         shm->scopes[ngx_http_outage_scope_slot(i)]
                             .transitions);
    }

    checks = omcf->checks.elts;

    /* one series per check and metric, labelled alike */
    for (m = 0; omcf->checks.nelts && m < 5; m++) {
        p = ngx_slprintf(p, last, "# HELP outage_check_%s %s\n"
                         "# TYPE outage_check_%s %s\n",
                         ngx_http_outage_check_metrics[m].name,
                         ngx_http_outage_check_metrics[m].help,
                         ngx_http_outage_check_metrics[m].name,
                         (m < 2 || m == 4) ? "gauge" : "counter");

        for (j = 0; j < omcf->checks.nelts; j++) {
            sc = &shm->checks[checks[j].slot];
            p = ngx_slprintf(p, last, "outage_check_%s{scope=\"",
                             ngx_http_outage_check_metrics[m].name);
            p = ngx_http_outage_prom_label(p, last,
                                           &snap->scopes[checks[j].scope].name);
            p = ngx_slprintf(p, last, "\",check=\"%ui\"} ", j);

            switch (m) {

            case 0:
                p = ngx_slprintf(p, last, "%d\n",
                                 (int) (sc->health
                                        == NGX_HTTP_OUTAGE_HEALTH_UP));
                break;

            case 1:
                p = ngx_slprintf(p, last, "%ui.%03ui\n",
                                 (ngx_uint_t) (sc->last_latency / 1000),
                                 (ngx_uint_t) (sc->last_latency % 1000));
                break;

            case 2:
                p = ngx_slprintf(p, last, "%ui\n", sc->probes);
                break;

            case 3:
                p = ngx_slprintf(p, last, "%ui\n", sc->failures);
                break;

            default:
                p = ngx_slprintf(p, last, "%d\n",
                                 (int) (sc->last_error
                                        == NGX_HTTP_OUTAGE_CHECK_SETUP));
                break;
            }
        }
    }

    if (omcf->checks.nelts) {
        p = ngx_http_outage_health_guard_prometheus(p, last, omcf, shm,
                                                    snap);
    }

    if (omcf->redis_addrs) {
        p = ngx_slprintf(p, last,
                "# HELP outage_redis_up The last Redis poll succeeded.\n"
                "# TYPE outage_redis_up gauge\n"
                "outage_redis_up %d\n"
                "# HELP outage_redis_last_success_age_seconds Seconds since "
                "the last successful poll (-1 if never).\n"
                "# TYPE outage_redis_last_success_age_seconds gauge\n"
                "outage_redis_last_success_age_seconds %T\n"
                "# HELP outage_redis_polls_total Successful polls.\n"
                "# TYPE outage_redis_polls_total counter\n"
                "outage_redis_polls_total %ui\n"
                "# HELP outage_redis_errors_total Failed polls and lost "
                "connections.\n"
                "# TYPE outage_redis_errors_total counter\n"
                "outage_redis_errors_total %ui\n"
                "# HELP outage_redis_push_up The push connection is "
                "subscribed.\n"
                "# TYPE outage_redis_push_up gauge\n"
                "outage_redis_push_up %d\n"
                "# HELP outage_redis_push_failures_total Push connections "
                "lost, refused or found silent.\n"
                "# TYPE outage_redis_push_failures_total counter\n"
                "outage_redis_push_failures_total %ui\n",
                (int) shm->redis_up,
                shm->redis_ever_ok
                ? (time_t) (ngx_http_outage_msec_since(shm->redis_last_ok_ms)
                            / 1000)
                : (time_t) -1,
                shm->redis_polls, shm->redis_errors,
                omcf->redis_push
                && ngx_http_outage_status_push_state(shm)
                   == NGX_HTTP_OUTAGE_PUSH_SUBSCRIBED,
                shm->push_drops);
    }

    p = ngx_slprintf(p, last,
            "# HELP outage_late_results_dropped_total Poll and probe "
            "results dropped because their worker had lost the lease.\n"
            "# TYPE outage_late_results_dropped_total counter\n"
            "outage_late_results_dropped_total{writer=\"redis\"} %ui\n"
            "outage_late_results_dropped_total{writer=\"health\"} %ui\n",
            shm->redis_dropped, shm->health_dropped);

    p = ngx_slprintf(p, last,
            "# HELP outage_banners_injected_total Responses that got a "
            "banner.\n"
            "# TYPE outage_banners_injected_total counter\n"
            "outage_banners_injected_total %uA\n"
            "# HELP outage_pages_served_total Maintenance pages served.\n"
            "# TYPE outage_pages_served_total counter\n"
            "outage_pages_served_total %uA\n"
            "# HELP outage_bypasses_total Requests let through by a staff "
            "bypass.\n"
            "# TYPE outage_bypasses_total counter\n"
            "outage_bypasses_total %uA\n"
            "# HELP outage_intercepts_total Upstream errors replaced by the "
            "maintenance page.\n"
            "# TYPE outage_intercepts_total counter\n"
            "outage_intercepts_total %uA\n"
            "# HELP outage_banner_skips_total Responses due a banner that "
            "had no place for one.\n"
            "# TYPE outage_banner_skips_total counter\n"
            "outage_banner_skips_total %uA\n",
            shm->banners, shm->pages, shm->bypasses, shm->intercepts,
            shm->banner_skips);

    return p;
}


/* one field of the table, as JSON */

static u_char *
ngx_http_outage_json_value(u_char *p, u_char *last,
    ngx_http_outage_field_t *f, ngx_http_outage_snapshot_t *snap,
    ngx_http_outage_view_t *v)
{
    ngx_http_outage_value_t  val;

    ngx_memzero(&val, sizeof(ngx_http_outage_value_t));
    f->get(snap, v, &val);

    switch (val.type) {

    case NGX_HTTP_OUTAGE_FIELD_TIME:
        return ngx_http_outage_json_time(p, last, val.time);

    case NGX_HTTP_OUTAGE_FIELD_BOOL:
        return ngx_slprintf(p, last, "%s", val.n ? "true" : "false");

    case NGX_HTTP_OUTAGE_FIELD_ENUM:
        return ngx_slprintf(p, last, "\"%s\"", f->names[val.n]);

    default: /* NGX_HTTP_OUTAGE_FIELD_STR */
        return ngx_http_outage_json_str(p, last, val.str.data, val.str.len);
    }
}


/* the worker that holds a lease, or null */

/*
 * The push link: what it does now and since when, its last failure, the
 * PINGs it sent when silent and its failures; "off" with push=off.
 */

static u_char *
ngx_http_outage_status_push(u_char *p, u_char *last,
    ngx_http_outage_shm_t *shm, ngx_http_outage_main_conf_t *omcf)
{
    ngx_uint_t  state;

    if (!omcf->redis_push) {
        return ngx_slprintf(p, last, "\"push\":{\"state\":\"off\"}");
    }

    state = ngx_http_outage_status_push_state(shm);

    p = ngx_slprintf(p, last, "\"push\":{\"state\":\"%s\",\"since\":",
                     ngx_http_outage_push_names[state]);
    p = ngx_http_outage_json_time(p, last, state == shm->push_state
                                           ? shm->push_since : 0);
    p = ngx_slprintf(p, last, ",\"last_error\":");
    p = ngx_http_outage_json_str(p, last, shm->push_error,
                                 ngx_min(shm->push_error_len,
                                         sizeof(shm->push_error)));
    p = ngx_slprintf(p, last, ",\"last_error_time\":");
    p = ngx_http_outage_json_time(p, last, shm->push_error_time);

    return ngx_slprintf(p, last, ",\"failures\":%ui,\"pings\":%ui,"
                        "\"ping_ms\":%M}",
                        shm->push_drops, shm->push_pings, omcf->redis_ping);
}


/*
 * The push state is written by the lease holder, and only by it: a holder
 * killed (SIGKILL, a crash) or stopped (SIGSTOP: its lease runs out) left
 * "subscribed" there with no link behind it, until another worker takes
 * the lease and connects, seconds later.  Without a live holder that
 * renews the lease, the link is being made again: "connecting", since an
 * unknown time.
 */

static ngx_uint_t
ngx_http_outage_status_push_state(ngx_http_outage_shm_t *shm)
{
    ngx_pid_t                 pid;
    ngx_http_outage_lease_t  *lease;

    lease = &shm->redis_lease;
    pid = lease->pid;

    if (pid == 0
        || lease->conf != shm->conf_generation
        || (ngx_msec_int_t) (lease->expires - ngx_current_msec) < 0
        || (pid != ngx_pid && kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH))
    {
        return NGX_HTTP_OUTAGE_PUSH_CONNECTING;
    }

    if (shm->push_state > NGX_HTTP_OUTAGE_PUSH_REFUSED) {
        return NGX_HTTP_OUTAGE_PUSH_CONNECTING;
    }

    return shm->push_state;
}


static u_char *
ngx_http_outage_json_pid(u_char *p, u_char *last,
    ngx_http_outage_lease_t *lease)
{
    if (lease->pid == 0) {
        return ngx_slprintf(p, last, "null");
    }

    return ngx_slprintf(p, last, "%P", lease->pid);
}


static u_char *
ngx_http_outage_json_str(u_char *p, u_char *last, u_char *s, size_t len)
{
    size_t  n;

    if (last - p < 2) {
        return p;
    }

    *p++ = '"';

    n = ngx_http_outage_json_escape(p, last - p - 1, s, len);
    p += ngx_min(n, (size_t) (last - p - 1));

    *p++ = '"';

    return p;
}


static u_char *
ngx_http_outage_json_time(u_char *p, u_char *last, time_t t)
{
    u_char  buf[32];
    size_t  n;

    if (t == 0) {
        return ngx_slprintf(p, last, "null");
    }

    n = ngx_http_outage_format_time(buf, t);

    return ngx_slprintf(p, last, "\"%*s\"", n, buf);
}
