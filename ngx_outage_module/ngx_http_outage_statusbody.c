
/*
 * ngx_outage_module: the public status page's bodies (pure C, no nginx
 * headers).  See ngx_http_outage_statusbody.h and docs/directives.md
 * (outage_status_page).
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_outage_pagebody.h"
#include "ngx_http_outage_statusbody.h"


/* how one row is shown */
typedef struct {
    const char  *badge;       /* the state in words */
    const char  *cls;         /* CSS class (colour only repeats the words) */
    const char  *component;   /* Statuspage component status */
    int          overall;     /* NGX_HTTP_OUTAGE_SP_* it contributes */
} ngx_http_outage_sp_kind_t;


static void ngx_http_outage_sp_time(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, time_t t, int ago);
static const ngx_http_outage_sp_kind_t *ngx_http_outage_sp_kind(
    const ngx_http_outage_sp_row_t *row);
static void ngx_http_outage_sp_list(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp);
static void ngx_http_outage_sp_row_html(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, const ngx_http_outage_sp_row_t *row);
static void ngx_http_outage_sp_component(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, const ngx_http_outage_sp_row_t *row,
    size_t position);
static void ngx_http_outage_sp_event(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, const ngx_http_outage_sp_row_t *row,
    size_t position);


static const ngx_http_outage_sp_kind_t  ngx_http_outage_sp_kinds[] = {
    { "Operational", "ok", "operational", NGX_HTTP_OUTAGE_SP_OK },
    { "Degraded performance", "degraded", "degraded_performance",
      NGX_HTTP_OUTAGE_SP_DEGRADED },
    { "Down", "down", "major_outage", NGX_HTTP_OUTAGE_SP_DOWN },
    { "Under maintenance", "maint", "under_maintenance",
      NGX_HTTP_OUTAGE_SP_MAINTENANCE },
    { "Scheduled maintenance", "sched", "operational",
      NGX_HTTP_OUTAGE_SP_OK },
    { "Unknown", "sched", "operational", NGX_HTTP_OUTAGE_SP_OK },
    /* announced, not in effect: planned, in the declared state's words */
    { "Planned service disruption", "sched", "operational",
      NGX_HTTP_OUTAGE_SP_OK },
    { "Planned degraded performance", "sched", "operational",
      NGX_HTTP_OUTAGE_SP_OK }
};

#define NGX_HTTP_OUTAGE_SP_KIND_OK     0
#define NGX_HTTP_OUTAGE_SP_KIND_DEGR   1
#define NGX_HTTP_OUTAGE_SP_KIND_DOWN   2
#define NGX_HTTP_OUTAGE_SP_KIND_MAINT  3
#define NGX_HTTP_OUTAGE_SP_KIND_SCHED  4
#define NGX_HTTP_OUTAGE_SP_KIND_UNKN   5
#define NGX_HTTP_OUTAGE_SP_KIND_PDOWN  6
#define NGX_HTTP_OUTAGE_SP_KIND_PDEGR  7


static const char  *ngx_http_outage_sp_overall_texts[] = {
    "All systems operational",
    "Some systems are degraded",
    "Under maintenance",
    "Major outage"
};

static const char  *ngx_http_outage_sp_overall_cls[] = {
    "ok", "degraded", "maint", "down"
};

/*
 * Self-contained: no external resources, no script.  Every state is said
 * in words; colour only repeats it.  Text colours keep at least 4.5:1
 * against their background in both schemes (the lightest pair is the
 * green #047857 on white, 5.5:1).  One fluid column: no breakpoint needed
 * beyond smaller padding on phones.
 */

static const char  ngx_http_outage_sp_css[] =
":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#111827;"
"--muted:#4b5563;--line:#e5e7eb;--link:#1d4ed8;--ok:#047857;"
"--degraded:#92400e;--down:#b91c1c;--maint:#1d4ed8;--sched:#475569}"
"@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--card:#1e293b;"
"--text:#f1f5f9;--muted:#cbd5e1;--line:#334155;--link:#93c5fd;"
"--ok:#6ee7b7;--degraded:#fcd34d;--down:#fca5a5;--maint:#93c5fd;"
"--sched:#cbd5e1}}"
"*{box-sizing:border-box}"
"html{-webkit-text-size-adjust:100%}"
"body{margin:0;padding:32px 16px;background:var(--bg);color:var(--text);"
"font:16px/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,"
"\"Helvetica Neue\",Arial,sans-serif}"
"main{max-width:720px;margin:0 auto}"
"h1{margin:0 0 16px;font-size:1.75rem;line-height:1.25;"
"overflow-wrap:anywhere}"
".ok{--c:var(--ok)}.degraded{--c:var(--degraded)}.down{--c:var(--down)}"
".maint{--c:var(--maint)}.sched{--c:var(--sched)}"
".overall{margin:0 0 16px;padding:16px 20px;border-radius:12px;"
"background:var(--card);border-left:6px solid var(--c);"
"font-size:1.1875rem;font-weight:700;box-shadow:0 1px 3px rgba(0,0,0,.08)}"
".stale{margin:0 0 16px;padding:12px 16px;border-radius:12px;"
"background:var(--card);border:2px solid var(--degraded)}"
"h2{margin:24px 0 8px;font-size:.8125rem;color:var(--muted);"
"font-weight:700;letter-spacing:.06em;text-transform:uppercase}"
"ul{list-style:none;margin:0;padding:0;background:var(--card);"
"border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}"
"li{padding:16px 20px;border-top:1px solid var(--line)}"
"li:first-child{border-top:0}"
".row{display:flex;flex-wrap:wrap;align-items:baseline;"
"justify-content:space-between;gap:4px 12px}"
"h3{margin:0;font-size:1.0625rem;overflow-wrap:anywhere}"
".badge{font-weight:700;color:var(--c);white-space:nowrap}"
".badge::before{content:\"\";display:inline-block;width:.625em;"
"height:.625em;margin-right:.4em;border-radius:50%;"
"background:currentColor}"
".msg{margin:6px 0 0;overflow-wrap:anywhere}"
"dl{display:flex;flex-wrap:wrap;gap:2px 24px;margin:6px 0 0;"
"font-size:.875rem;color:var(--muted)}"
"dt{display:inline;font-weight:600}dt::after{content:\":\"}"
"dd{display:inline;margin:0 0 0 4px}"
"a{color:var(--link)}"
"a:focus-visible{outline:3px solid var(--link);outline-offset:2px;"
"border-radius:4px}"
"footer{margin-top:24px;color:var(--muted);font-size:.8125rem}"
"footer p{margin:0 0 4px}"
"@media (max-width:480px){body{padding:20px 12px}h1{font-size:1.5rem}"
"li{padding:14px 16px}}";


/* ---- times ------------------------------------------------------------- */

/*
 * RFC 3339, to the minute ("2026-11-22T15:30:00Z", with seconds: the
 * Statuspage API's form), as every time the page shows: the body then
 * changes when the state does or a minute passes, not every second, so
 * validators are worth something to caches.
 */

#define ngx_http_outage_sp_iso(dst, t)  ngx_http_outage_page_iso(dst, t, 1)
#define ngx_http_outage_sp_jtime(w, t)  ngx_http_outage_page_jtime(w, t, 1)


/* <time datetime="...">15:30 UTC</time> (5 min ago) */

static void
ngx_http_outage_sp_time(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, time_t t, int ago)
{
    unsigned char  iso[NGX_HTTP_OUTAGE_TIME_LEN];
    unsigned char  rel[NGX_HTTP_OUTAGE_AGO_LEN];
    size_t         n;

    n = ngx_http_outage_sp_iso(iso, t);

    if (n == 0) {
        ngx_http_outage_wr_str(w, "unknown");
        return;
    }

    ngx_http_outage_page_time(w, iso, n, t, sp->now, sp->tz);

    if (ago) {
        n = ngx_http_outage_format_ago(rel, sizeof(rel), t, sp->now);

        if (n <= sizeof(rel)) {
            ngx_http_outage_wr_str(w, " (");
            ngx_http_outage_wr_raw(w, rel, n);
            ngx_http_outage_wr_str(w, ")");
        }
    }
}


/* ---- decisions --------------------------------------------------------- */

static const ngx_http_outage_sp_kind_t *
ngx_http_outage_sp_kind(const ngx_http_outage_sp_row_t *row)
{
    switch (row->state) {

    case NGX_HTTP_OUTAGE_STATE_DEGRADED:
        return &ngx_http_outage_sp_kinds[NGX_HTTP_OUTAGE_SP_KIND_DEGR];

    case NGX_HTTP_OUTAGE_STATE_DOWN:
        return &ngx_http_outage_sp_kinds[NGX_HTTP_OUTAGE_SP_KIND_DOWN];

    case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
        return &ngx_http_outage_sp_kinds[
                   row->announced == NGX_HTTP_OUTAGE_STATE_DOWN
                   ? NGX_HTTP_OUTAGE_SP_KIND_PDOWN
                   : row->announced == NGX_HTTP_OUTAGE_STATE_DEGRADED
                   ? NGX_HTTP_OUTAGE_SP_KIND_PDEGR
                   : row->announced ? NGX_HTTP_OUTAGE_SP_KIND_SCHED
                   : NGX_HTTP_OUTAGE_SP_KIND_MAINT];

    default:
        /* no incident, but nothing ever confirmed that either */
        return &ngx_http_outage_sp_kinds[row->confirmed > 0
                                         ? NGX_HTTP_OUTAGE_SP_KIND_OK
                                         : NGX_HTTP_OUTAGE_SP_KIND_UNKN];
    }
}


int
ngx_http_outage_sp_overall(const ngx_http_outage_sp_t *sp)
{
    int     overall, o;
    size_t  i;

    overall = NGX_HTTP_OUTAGE_SP_OK;

    for (i = 0; i < sp->nrows; i++) {
        o = ngx_http_outage_sp_kind(&sp->rows[i])->overall;

        if (o > overall) {
            overall = o;
        }
    }

    return overall;
}


const char *
ngx_http_outage_sp_overall_text(int overall)
{
    if (overall < NGX_HTTP_OUTAGE_SP_OK || overall > NGX_HTTP_OUTAGE_SP_DOWN) {
        overall = NGX_HTTP_OUTAGE_SP_DOWN;
    }

    return ngx_http_outage_sp_overall_texts[overall];
}


/* ---- HTML -------------------------------------------------------------- */

size_t
ngx_http_outage_sp_html(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_sp_t *sp, size_t *nonce_at)
{
    int                   overall;
    ngx_http_outage_wr_t  w;

    ngx_http_outage_wr_init(&w, dst, dst_size);

    overall = ngx_http_outage_sp_overall(sp);

    ngx_http_outage_page_head(&w, sp->refresh);

    ngx_http_outage_wr_str(&w, "<title>");
    ngx_http_outage_wr_html(&w, sp->name, sp->name_len);
    ngx_http_outage_wr_str(&w, ": ");
    ngx_http_outage_wr_str(&w, sp->stale ? "status may be out of date"
                                         : ngx_http_outage_sp_overall_texts
                                               [overall]);
    ngx_http_outage_wr_str(&w, "</title>\n");

    if (sp->json_href_len) {
        ngx_http_outage_wr_str(&w, "<link rel=\"alternate\" "
                                   "type=\"application/json\" href=\"");
        ngx_http_outage_wr_html(&w, sp->json_href, sp->json_href_len);
        ngx_http_outage_wr_str(&w, "\">\n");
    }

    ngx_http_outage_wr_str(&w, "<style");

    if (nonce_at) {
        *nonce_at = w.need;
    }

    ngx_http_outage_wr_str(&w, ">");
    ngx_http_outage_wr_str(&w, ngx_http_outage_sp_css);
    ngx_http_outage_wr_str(&w, "</style>\n</head>\n<body>\n<main>\n"
                               "<header>\n<h1>");
    ngx_http_outage_wr_html(&w, sp->name, sp->name_len);
    ngx_http_outage_wr_str(&w, "</h1>\n<p class=\"overall ");

    /* unconfirmed, the overall line is history, not a green light */
    ngx_http_outage_wr_str(&w, sp->stale ? "degraded"
                                         : ngx_http_outage_sp_overall_cls
                                               [overall]);
    ngx_http_outage_wr_str(&w, "\" id=\"overall\">");
    if (sp->stale && sp->confirmed == 0) {
        ngx_http_outage_wr_str(&w, "Status not confirmed yet");

    } else {
        ngx_http_outage_wr_str(&w, sp->stale ? "Last known: " : "");
        ngx_http_outage_wr_str(&w, ngx_http_outage_sp_overall_texts[overall]);
    }
    ngx_http_outage_wr_str(&w, "</p>\n");

    if (sp->stale) {
        /* the rows may be right, but nobody can vouch for them now */
        ngx_http_outage_wr_str(&w, "<p class=\"stale\" id=\"stale\" "
                                   "role=\"alert\"><strong>Status may be out "
                                   "of date.</strong> We cannot reach our "
                                   "status source right now, so what you "
                                   "see here ");

        if (sp->confirmed > 0) {
            ngx_http_outage_wr_str(&w, "was last confirmed ");
            ngx_http_outage_sp_time(&w, sp, sp->confirmed, 1);
            ngx_http_outage_wr_str(&w, ".");

        } else {
            ngx_http_outage_wr_str(&w, "has not been confirmed yet.");
        }

        ngx_http_outage_wr_str(&w, "</p>\n");
    }

    ngx_http_outage_wr_str(&w, "</header>\n<section aria-labelledby=\"h-comp\">"
                               "\n<h2 id=\"h-comp\">Current status</h2>\n");
    ngx_http_outage_sp_list(&w, sp);
    ngx_http_outage_wr_str(&w, "</section>\n<footer>\n<p>Page "
                               "generated ");
    ngx_http_outage_sp_time(&w, sp, sp->now, 0);
    if (sp->tz_name_len) {
        ngx_http_outage_wr_str(&w, ". Times are in the ");
        ngx_http_outage_wr_html(&w, sp->tz_name, sp->tz_name_len);
        ngx_http_outage_wr_str(&w, " time zone.");

    } else {
        ngx_http_outage_wr_str(&w, ". Times are in UTC.");
    }

    if (sp->refresh > 0) {
        ngx_http_outage_wr_str(&w, " This page reloads itself every ");
        ngx_http_outage_wr_num(&w, sp->refresh);
        ngx_http_outage_wr_str(&w, " seconds.");
    }

    ngx_http_outage_wr_str(&w, "</p>\n");

    if (sp->json_href_len) {
        ngx_http_outage_wr_str(&w, "<p><a href=\"");
        ngx_http_outage_wr_html(&w, sp->json_href, sp->json_href_len);
        ngx_http_outage_wr_str(&w, "\">This status as JSON</a> (Statuspage "
                                   "summary.json format)</p>\n");
    }

    ngx_http_outage_wr_str(&w, "</footer>\n</main>\n</body>\n</html>\n");

    return w.need;
}


static void
ngx_http_outage_sp_list(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp)
{
    size_t  i;

    /* role="list": Safari drops the list role of an unstyled list */
    ngx_http_outage_wr_str(w, "<ul id=\"components\" role=\"list\">\n");

    for (i = 0; i < sp->nrows; i++) {
        ngx_http_outage_sp_row_html(w, sp, &sp->rows[i]);
    }

    ngx_http_outage_wr_str(w, "</ul>\n");
}


size_t
ngx_http_outage_sp_components(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_sp_t *sp)
{
    ngx_http_outage_wr_t  w;

    ngx_http_outage_wr_init(&w, dst, dst_size);
    ngx_http_outage_sp_list(&w, sp);

    return w.need;
}


/* the template's values, formatted once: both passes see the same bytes */
typedef struct {
    const ngx_http_outage_sp_t  *sp;
    const unsigned char         *components;
    size_t                       components_len;
    unsigned char                overall[64];
    size_t                       overall_len;
    const char                  *overall_cls;
    unsigned char                confirmed[96];
    size_t                       confirmed_len;
    unsigned char                confirmed_iso[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t                       confirmed_iso_len;
    unsigned char                generated_iso[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t                       generated_iso_len;
    unsigned char                refresh[24];
    size_t                       refresh_len;
} ngx_http_outage_sp_vars_t;


static int
ngx_http_outage_sp_lookup(void *ctx, const unsigned char *name,
    size_t name_len, const unsigned char **value, size_t *value_len)
{
    ngx_http_outage_sp_vars_t *v = ctx;

    const char  *s;

#define ngx_http_outage_sp_is(lit)                                           \
    (name_len == sizeof(lit) - 1 && memcmp(name, lit, name_len) == 0)

#define ngx_http_outage_sp_set(p, n)                                         \
    do {                                                                     \
        *value_len = (n);                                                    \
        *value = *value_len ? (const unsigned char *) (p)                    \
                            : (const unsigned char *) "";                    \
        return 1;                                                            \
    } while (0)

    s = NULL;

    if (ngx_http_outage_sp_is("name")) {
        ngx_http_outage_sp_set(v->sp->name, v->sp->name_len);
    }

    if (ngx_http_outage_sp_is("overall")) {
        ngx_http_outage_sp_set(v->overall, v->overall_len);
    }

    if (ngx_http_outage_sp_is("overall_class")) {
        s = v->overall_cls;

    } else if (ngx_http_outage_sp_is("stale")) {
        s = v->sp->stale ? "stale" : "";

    } else if (ngx_http_outage_sp_is("confirmed")) {
        ngx_http_outage_sp_set(v->confirmed, v->confirmed_len);

    } else if (ngx_http_outage_sp_is("confirmed_iso")) {
        ngx_http_outage_sp_set(v->confirmed_iso, v->confirmed_iso_len);

    } else if (ngx_http_outage_sp_is("generated_iso")) {
        ngx_http_outage_sp_set(v->generated_iso, v->generated_iso_len);

    } else if (ngx_http_outage_sp_is("refresh")) {
        ngx_http_outage_sp_set(v->refresh, v->refresh_len);

    } else if (ngx_http_outage_sp_is("json_href")) {
        ngx_http_outage_sp_set(v->sp->json_href, v->sp->json_href_len);

    } else if (ngx_http_outage_sp_is("time_zone")) {
        if (v->sp->tz_name_len) {
            ngx_http_outage_sp_set(v->sp->tz_name, v->sp->tz_name_len);
        }

        s = "UTC";

    } else if (ngx_http_outage_sp_is("components")) {
        ngx_http_outage_sp_set(v->components, v->components_len);
    }

    if (s == NULL) {
        return 0;
    }

    ngx_http_outage_sp_set(s, strlen(s));

#undef ngx_http_outage_sp_is
#undef ngx_http_outage_sp_set
}


size_t
ngx_http_outage_sp_template(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len, const ngx_http_outage_sp_t *sp,
    const unsigned char *components, size_t components_len)
{
    int                        overall;
    size_t                     n;
    unsigned char              human[NGX_HTTP_OUTAGE_TZ_WHEN_LEN];
    unsigned char              rel[NGX_HTTP_OUTAGE_AGO_LEN];
    ngx_http_outage_wr_t       w;
    ngx_http_outage_sp_vars_t  v;

    memset(&v, 0, sizeof(v));
    v.sp = sp;
    v.components = components;
    v.components_len = components_len;

    overall = ngx_http_outage_sp_overall(sp);
    v.overall_cls = sp->stale ? "degraded"
                              : ngx_http_outage_sp_overall_cls[overall];

    ngx_http_outage_wr_init(&w, v.overall, sizeof(v.overall));

    if (sp->stale && sp->confirmed == 0) {
        ngx_http_outage_wr_str(&w, "Status not confirmed yet");

    } else {
        ngx_http_outage_wr_str(&w, sp->stale ? "Last known: " : "");
        ngx_http_outage_wr_str(&w, ngx_http_outage_sp_overall_texts[overall]);
    }

    v.overall_len = w.need;

    if (sp->confirmed > 0) {
        ngx_http_outage_wr_init(&w, v.confirmed, sizeof(v.confirmed));
        ngx_http_outage_wr_raw(&w, human,
            ngx_http_outage_tz_format(human, sp->confirmed, sp->now, sp->tz,
                                      NGX_HTTP_OUTAGE_TZ_TODAY));
        n = ngx_http_outage_format_ago(rel, sizeof(rel), sp->confirmed,
                                       sp->now);

        if (n <= sizeof(rel)) {
            ngx_http_outage_wr_str(&w, " (");
            ngx_http_outage_wr_raw(&w, rel, n);
            ngx_http_outage_wr_str(&w, ")");
        }

        v.confirmed_len = w.full ? 0 : w.need;
    }

    v.confirmed_iso_len = ngx_http_outage_sp_iso(v.confirmed_iso,
                                                 sp->confirmed);
    v.generated_iso_len = ngx_http_outage_sp_iso(v.generated_iso, sp->now);

    if (sp->refresh > 0) {
        ngx_http_outage_wr_init(&w, v.refresh, sizeof(v.refresh));
        ngx_http_outage_wr_num(&w, sp->refresh);
        v.refresh_len = w.need;
    }

    return ngx_http_outage_tpl_render(dst, dst_size, tpl, tpl_len,
                                      NGX_HTTP_OUTAGE_TPL_HTML,
                                      ngx_http_outage_sp_lookup, &v);
}


static void
ngx_http_outage_sp_row_html(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, const ngx_http_outage_sp_row_t *row)
{
    const ngx_http_outage_sp_kind_t  *k;

    k = ngx_http_outage_sp_kind(row);

    ngx_http_outage_wr_str(w, "<li class=\"");
    ngx_http_outage_wr_str(w, k->cls);
    ngx_http_outage_wr_str(w, "\" data-scope=\"");
    ngx_http_outage_wr_html(w, row->id, row->id_len);
    ngx_http_outage_wr_str(w, "\">\n<div class=\"row\"><h3>");
    ngx_http_outage_wr_html(w, row->label, row->label_len);
    ngx_http_outage_wr_str(w, "</h3><span class=\"badge\">");
    ngx_http_outage_wr_str(w, k->badge);
    ngx_http_outage_wr_str(w, "</span></div>\n");

    if (row->message_len) {
        ngx_http_outage_wr_str(w, "<p class=\"msg\">");
        ngx_http_outage_wr_html(w, row->message, row->message_len);
        ngx_http_outage_wr_str(w, "</p>\n");
    }

    ngx_http_outage_wr_str(w, "<dl>\n");

    if (k->overall != NGX_HTTP_OUTAGE_SP_OK && row->since > 0)
    {
        ngx_http_outage_wr_str(w, "<div><dt>Since</dt><dd>");
        ngx_http_outage_sp_time(w, sp, row->since, 1);
        ngx_http_outage_wr_str(w, "</dd></div>\n");
    }

    if (row->state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE
        && (row->starts > 0 || row->ends > 0))
    {
        ngx_http_outage_wr_str(w, "<div><dt>Window</dt><dd>");

        if (row->starts > 0) {
            ngx_http_outage_wr_str(w, "from ");
            ngx_http_outage_sp_time(w, sp, row->starts,
                                    row->starts > sp->now);
            ngx_http_outage_wr_str(w, row->ends > 0 ? " to " : "");
        }

        if (row->ends > 0) {
            ngx_http_outage_wr_str(w, row->starts > 0 ? "" : "until ");
            ngx_http_outage_sp_time(w, sp, row->ends, 0);
        }

        ngx_http_outage_wr_str(w, "</dd></div>\n");
    }

    if (k->overall != NGX_HTTP_OUTAGE_SP_OK) {
        if (row->eta > sp->now) {
            ngx_http_outage_wr_str(w, "<div><dt>Expected back</dt><dd>");
            ngx_http_outage_sp_time(w, sp, row->eta, 1);
            ngx_http_outage_wr_str(w, "</dd></div>\n");

        } else if (row->eta == 0 && row->eta_text_len) {
            ngx_http_outage_wr_str(w, "<div><dt>Expected back</dt><dd>");
            ngx_http_outage_wr_html(w, row->eta_text, row->eta_text_len);
            ngx_http_outage_wr_str(w, "</dd></div>\n");
        }
    }

    ngx_http_outage_wr_str(w, "<div><dt>Last confirmed</dt><dd>");

    if (row->confirmed > 0) {
        ngx_http_outage_sp_time(w, sp, row->confirmed, 1);

    } else {
        ngx_http_outage_wr_str(w, "not yet");
    }

    if (row->stale) {
        ngx_http_outage_wr_str(w, " (may be out of date)");
    }

    ngx_http_outage_wr_str(w, "</dd></div>\n</dl>\n");

    if (row->link_len) {
        ngx_http_outage_wr_str(w, "<p class=\"msg\"><a href=\"");
        ngx_http_outage_wr_html(w, row->link, row->link_len);
        ngx_http_outage_wr_str(w, "\" rel=\"noopener noreferrer nofollow\">"
                                  "More about ");
        ngx_http_outage_wr_html(w, row->label, row->label_len);
        ngx_http_outage_wr_str(w, "</a></p>\n");
    }

    ngx_http_outage_wr_str(w, "</li>\n");
}


/* ---- summary.json ------------------------------------------------------ */

size_t
ngx_http_outage_sp_json(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_sp_t *sp)
{
    int                               overall, all_down, first;
    size_t                            i;
    const char                       *indicator;
    ngx_http_outage_wr_t              w;
    const ngx_http_outage_sp_kind_t  *k;

    ngx_http_outage_wr_init(&w, dst, dst_size);

    overall = ngx_http_outage_sp_overall(sp);

    all_down = (sp->nrows > 0);

    for (i = 0; i < sp->nrows; i++) {
        if (sp->rows[i].state != NGX_HTTP_OUTAGE_STATE_DOWN) {
            all_down = 0;
        }
    }

    switch (overall) {
    case NGX_HTTP_OUTAGE_SP_DOWN:
        indicator = all_down ? "critical" : "major";
        break;
    case NGX_HTTP_OUTAGE_SP_MAINTENANCE:
        indicator = "maintenance";
        break;
    case NGX_HTTP_OUTAGE_SP_DEGRADED:
        indicator = "minor";
        break;
    default:
        indicator = "none";
    }

    ngx_http_outage_wr_str(&w, "{\"page\":{\"id\":");
    ngx_http_outage_wr_jstr(&w, sp->id, sp->id_len);
    ngx_http_outage_wr_str(&w, ",\"name\":");
    ngx_http_outage_wr_jstr(&w, sp->name, sp->name_len);
    ngx_http_outage_wr_str(&w, ",\"url\":\"");
    ngx_http_outage_wr_json(&w, sp->url, sp->url_len);
    ngx_http_outage_wr_str(&w, "\",\"time_zone\":\"");

    if (sp->tz_name_len) {
        ngx_http_outage_wr_json(&w, sp->tz_name, sp->tz_name_len);

    } else {
        ngx_http_outage_wr_str(&w, "Etc/UTC");
    }

    ngx_http_outage_wr_str(&w, "\",\"updated_at\":");
    ngx_http_outage_sp_jtime(&w, sp->now);
    ngx_http_outage_wr_str(&w, "},\n\"status\":{\"indicator\":\"");
    ngx_http_outage_wr_str(&w, indicator);
    ngx_http_outage_wr_str(&w, "\",\"description\":\"");

    if (sp->stale && sp->confirmed == 0) {
        ngx_http_outage_wr_str(&w, "Status not confirmed yet");

    } else {
        ngx_http_outage_wr_str(&w, ngx_http_outage_sp_overall_texts[overall]);

        if (sp->stale) {
            ngx_http_outage_wr_str(&w, " (status may be out of date)");
        }
    }

    ngx_http_outage_wr_str(&w, "\",\"stale\":");
    ngx_http_outage_wr_str(&w, sp->stale ? "true" : "false");
    ngx_http_outage_wr_str(&w, ",\"confirmed_at\":");
    ngx_http_outage_sp_jtime(&w, sp->confirmed);
    ngx_http_outage_wr_str(&w, "},\n\"components\":[");

    for (i = 0; i < sp->nrows; i++) {
        ngx_http_outage_wr_str(&w, i ? ",\n" : "\n");
        ngx_http_outage_sp_component(&w, sp, &sp->rows[i], i + 1);
    }

    ngx_http_outage_wr_str(&w, "],\n\"incidents\":[");

    first = 1;

    for (i = 0; i < sp->nrows; i++) {
        k = ngx_http_outage_sp_kind(&sp->rows[i]);

        if (k->overall == NGX_HTTP_OUTAGE_SP_DEGRADED
            || k->overall == NGX_HTTP_OUTAGE_SP_DOWN)
        {
            ngx_http_outage_wr_str(&w, first ? "\n" : ",\n");
            ngx_http_outage_sp_event(&w, sp, &sp->rows[i], i + 1);
            first = 0;
        }
    }

    ngx_http_outage_wr_str(&w, "],\n\"scheduled_maintenances\":[");

    first = 1;

    for (i = 0; i < sp->nrows; i++) {
        if (sp->rows[i].state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE) {
            ngx_http_outage_wr_str(&w, first ? "\n" : ",\n");
            ngx_http_outage_sp_event(&w, sp, &sp->rows[i], i + 1);
            first = 0;
        }
    }

    ngx_http_outage_wr_str(&w, "]}\n");

    return w.need;
}


static void
ngx_http_outage_sp_component(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, const ngx_http_outage_sp_row_t *row,
    size_t position)
{
    ngx_http_outage_wr_str(w, "{\"id\":");
    ngx_http_outage_wr_jstr(w, row->id, row->id_len);
    ngx_http_outage_wr_str(w, ",\"name\":");
    ngx_http_outage_wr_jstr(w, row->label, row->label_len);
    ngx_http_outage_wr_str(w, ",\"status\":\"");
    ngx_http_outage_wr_str(w, ngx_http_outage_sp_kind(row)->component);
    ngx_http_outage_wr_str(w, "\",\"created_at\":null,\"updated_at\":");
    ngx_http_outage_sp_jtime(w, row->confirmed);
    ngx_http_outage_wr_str(w, ",\"position\":");
    ngx_http_outage_wr_num(w, (long) position);
    ngx_http_outage_wr_str(w, ",\"description\":");
    ngx_http_outage_wr_jstr(w, row->message, row->message_len);
    ngx_http_outage_wr_str(w, ",\"showcase\":true,\"start_date\":null,"
                              "\"group_id\":null,\"page_id\":");
    ngx_http_outage_wr_jstr(w, sp->id, sp->id_len);
    ngx_http_outage_wr_str(w, ",\"group\":false,\"only_show_if_degraded\":"
                              "false,\"stale\":");
    ngx_http_outage_wr_str(w, row->stale ? "true" : "false");
    ngx_http_outage_wr_str(w, "}");
}


/*
 * One incident (degraded, down) or scheduled maintenance per scope: the
 * module knows one current message per scope, so there is one update.
 * Its id is the scope and the start, stable while the incident lasts.
 */

static void
ngx_http_outage_sp_event(ngx_http_outage_wr_t *w,
    const ngx_http_outage_sp_t *sp, const ngx_http_outage_sp_row_t *row,
    size_t position)
{
    int                               maint;
    time_t                            start;
    const char                       *status, *impact;
    const ngx_http_outage_sp_kind_t  *k;

    k = ngx_http_outage_sp_kind(row);
    maint = (row->state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE);

    if (maint) {
        status = row->announced ? "scheduled" : "in_progress";
        impact = row->announced == NGX_HTTP_OUTAGE_STATE_DOWN ? "major"
                 : row->announced == NGX_HTTP_OUTAGE_STATE_DEGRADED ? "minor"
                 : "maintenance";

    } else {
        /* a person declared it in Redis; a failing probe is still news */
        status = row->health ? "investigating" : "identified";
        impact = (k->overall == NGX_HTTP_OUTAGE_SP_DOWN) ? "major" : "minor";
    }

    start = row->since;

    if (maint && row->starts > 0) {
        start = row->starts;
    }

    ngx_http_outage_wr_str(w, "{\"id\":\"");
    ngx_http_outage_wr_json(w, row->id, row->id_len);
    ngx_http_outage_wr_str(w, "-");
    ngx_http_outage_wr_num(w, (long) (start > 0 ? start : 0));
    ngx_http_outage_wr_str(w, "\",\"name\":\"");
    ngx_http_outage_wr_json(w, row->label, row->label_len);
    ngx_http_outage_wr_str(w, ": ");
    ngx_http_outage_wr_str(w, maint ? (row->announced
                                       == NGX_HTTP_OUTAGE_STATE_DOWN
                                       ? "planned service disruption"
                                       : row->announced
                                         == NGX_HTTP_OUTAGE_STATE_DEGRADED
                                       ? "planned degraded performance"
                                       : row->announced
                                       ? "scheduled maintenance"
                                       : "maintenance in progress")
                                    : (k->overall == NGX_HTTP_OUTAGE_SP_DOWN
                                       ? "outage" : "degraded performance"));
    ngx_http_outage_wr_str(w, "\",\"status\":\"");
    ngx_http_outage_wr_str(w, status);
    ngx_http_outage_wr_str(w, "\",\"created_at\":");
    ngx_http_outage_sp_jtime(w, row->since);
    ngx_http_outage_wr_str(w, ",\"updated_at\":");
    ngx_http_outage_sp_jtime(w, row->confirmed);
    ngx_http_outage_wr_str(w, ",\"monitoring_at\":null,\"resolved_at\":null,"
                              "\"impact\":\"");
    ngx_http_outage_wr_str(w, impact);
    ngx_http_outage_wr_str(w, "\",\"shortlink\":");
    ngx_http_outage_wr_jstr(w, row->link, row->link_len);
    ngx_http_outage_wr_str(w, ",\"started_at\":");
    ngx_http_outage_sp_jtime(w, start);
    ngx_http_outage_wr_str(w, ",\"page_id\":");
    ngx_http_outage_wr_jstr(w, sp->id, sp->id_len);

    if (maint) {
        ngx_http_outage_wr_str(w, ",\"scheduled_for\":");
        ngx_http_outage_sp_jtime(w, row->starts);
        ngx_http_outage_wr_str(w, ",\"scheduled_until\":");
        ngx_http_outage_sp_jtime(w, row->ends);
    }

    ngx_http_outage_wr_str(w, ",\"incident_updates\":[{\"id\":\"");
    ngx_http_outage_wr_json(w, row->id, row->id_len);
    ngx_http_outage_wr_str(w, "-");
    ngx_http_outage_wr_num(w, (long) (start > 0 ? start : 0));
    ngx_http_outage_wr_str(w, "-1\",\"status\":\"");
    ngx_http_outage_wr_str(w, status);
    ngx_http_outage_wr_str(w, "\",\"body\":\"");
    ngx_http_outage_wr_json(w, row->message, row->message_len);
    ngx_http_outage_wr_str(w, "\",\"incident_id\":\"");
    ngx_http_outage_wr_json(w, row->id, row->id_len);
    ngx_http_outage_wr_str(w, "-");
    ngx_http_outage_wr_num(w, (long) (start > 0 ? start : 0));
    ngx_http_outage_wr_str(w, "\",\"created_at\":");
    ngx_http_outage_sp_jtime(w, row->since);
    ngx_http_outage_wr_str(w, ",\"updated_at\":");
    ngx_http_outage_sp_jtime(w, row->since);
    ngx_http_outage_wr_str(w, ",\"display_at\":");
    ngx_http_outage_sp_jtime(w, row->since);
    ngx_http_outage_wr_str(w, ",\"affected_components\":null,"
                              "\"deliver_notifications\":false,"
                              "\"custom_tweet\":null,\"tweet_id\":null}],"
                              "\"components\":[");
    ngx_http_outage_sp_component(w, sp, row, position);
    ngx_http_outage_wr_str(w, "]}");
}
