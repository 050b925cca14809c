
/*
 * ngx_outage_module: maintenance page bodies and the staff bypass cookie
 * (pure C, no nginx headers).  See ngx_http_outage_pagebody.h and
 * docs/notes/page.md.
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_outage_pagebody.h"


typedef struct {
    const char  *cls;         /* CSS accent class */
    const char  *eyebrow;
    const char  *title;       /* <h1> and <title> */
    const char  *lead;        /* shown when there is no incident message */
} ngx_http_outage_page_text_t;


/* values of the template placeholders, formatted once per render */
typedef struct {
    const ngx_http_outage_page_t  *page;
    const unsigned char           *components;
    size_t                         components_len;
    unsigned char                  status[8];
    size_t                         status_len;
    unsigned char                  retry[24];
    size_t                         retry_len;
    unsigned char                  refresh[24];
    size_t                         refresh_len;
    unsigned char                  since[NGX_HTTP_OUTAGE_TZ_WHEN_LEN];
    size_t                         since_len;
    unsigned char                  since_iso[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t                         since_iso_len;
    unsigned char                  since_ago[NGX_HTTP_OUTAGE_AGO_LEN];
    size_t                         since_ago_len;
    const unsigned char           *eta;       /* eta_buf or the free text */
    size_t                         eta_len;
    unsigned char                  eta_buf[NGX_HTTP_OUTAGE_TZ_WHEN_LEN];
    unsigned char                  eta_iso[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t                         eta_iso_len;
    unsigned char                  eta_in[NGX_HTTP_OUTAGE_AGO_LEN];
    size_t                         eta_in_len;
    unsigned char                  checked[NGX_HTTP_OUTAGE_TZ_WHEN_LEN];
    size_t                         checked_len;
    unsigned char                  checked_iso[NGX_HTTP_OUTAGE_TIME_LEN];
    size_t                         checked_iso_len;
} ngx_http_outage_page_vars_t;


static void ngx_http_outage_page_when(ngx_http_outage_wr_t *w,
    const ngx_http_outage_page_t *page, time_t t);
static const ngx_http_outage_page_text_t *ngx_http_outage_page_text(
    const ngx_http_outage_page_t *page);
static int ngx_http_outage_page_message_leads(
    const ngx_http_outage_page_scope_t *m);
static int ngx_http_outage_page_message_follows(
    const ngx_http_outage_page_scope_t *m);
static const char *ngx_http_outage_state_label(int state);
static const char *ngx_http_outage_state_class(int state);
static const char *ngx_http_outage_source_name(int source);
static size_t ngx_http_outage_page_link(const ngx_http_outage_page_t *page,
    const unsigned char **link, const ngx_http_outage_page_scope_t **from);
static void ngx_http_outage_page_components_out(ngx_http_outage_wr_t *w,
    const ngx_http_outage_page_t *page);
static int ngx_http_outage_tpl_lookup(void *ctx, const unsigned char *name,
    size_t name_len, const unsigned char **value, size_t *value_len);
static int ngx_http_outage_lc_eq(const unsigned char *p, size_t len,
    const char *s);
static int ngx_http_outage_hexval(unsigned char c);


static const ngx_http_outage_page_text_t  ngx_http_outage_text_maint = {
    "maint",
    "Scheduled maintenance",
    "We'll be back soon",
    "We're making some planned improvements. Thank you for your patience."
};

static const ngx_http_outage_page_text_t  ngx_http_outage_text_down = {
    "down",
    "Service disruption",
    "Something isn't working right now",
    "Part of our service is unavailable. Our team is working on a fix."
};

static const ngx_http_outage_page_text_t  ngx_http_outage_text_generic = {
    "generic",
    "Service interruption",
    "This page is temporarily unavailable",
    "We couldn't load this page right now. Please try again in a moment."
};

static const unsigned char  ngx_http_outage_hexdigits[] = "0123456789abcdef";


/*
 * Self-contained: no external resources, no script.  Colours keep at
 * least 4.5:1 contrast for text in both schemes; the layout is one fluid
 * column, so it needs no breakpoints for phones.
 */

static const char  ngx_http_outage_page_css[] =
":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#111827;"
"--muted:#4b5563;--line:#e5e7eb;--accent:#475569;--soft:#f1f5f9;"
"--link:#1d4ed8}"
"@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--card:#1e293b;"
"--text:#f1f5f9;--muted:#cbd5e1;--line:#334155;--soft:#0f172a;"
"--link:#93c5fd}}"
"*{box-sizing:border-box}"
"html{-webkit-text-size-adjust:100%}"
"body{margin:0;min-height:100vh;display:flex;align-items:center;"
"justify-content:center;padding:24px 16px;background:var(--bg);"
"color:var(--text);font:16px/1.55 system-ui,-apple-system,\"Segoe UI\","
"Roboto,\"Helvetica Neue\",Arial,sans-serif}"
"main{width:100%;max-width:600px;background:var(--card);"
"border-radius:16px;box-shadow:inset 0 6px 0 var(--accent),"
"0 1px 3px rgba(0,0,0,.08),0 12px 32px rgba(0,0,0,.08);"
"padding:36px 32px 28px}"
".maint{--accent:#2563eb;--soft:#eff6ff}"
".down{--accent:#dc2626;--soft:#fef2f2}"
".degraded{--accent:#b45309;--soft:#fffbeb}"
"@media (prefers-color-scheme:dark){.maint,.down,.degraded{"
"--soft:#0f172a}}"
".icon{display:block;width:48px;height:48px;color:var(--accent);"
"margin:0 0 18px}"
".eyebrow{margin:0 0 6px;color:var(--accent);font-size:.8125rem;"
"font-weight:700;letter-spacing:.06em;text-transform:uppercase}"
"h1{margin:0 0 12px;font-size:1.75rem;line-height:1.25;"
"letter-spacing:-.01em}"
".lead{margin:0 0 24px;font-size:1.0625rem;color:var(--muted);"
"overflow-wrap:anywhere}"
".update{margin:-12px 0 24px;color:var(--muted);overflow-wrap:anywhere}"
".facts{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 24px;padding:0}"
".facts div{flex:1 1 200px;background:var(--soft);border-radius:10px;"
"padding:12px 16px}"
".facts dt{font-size:.8125rem;color:var(--muted);margin:0}"
".facts dd{margin:2px 0 0;font-weight:600}"
"h2{font-size:.8125rem;color:var(--muted);font-weight:700;"
"letter-spacing:.06em;text-transform:uppercase;margin:0 0 8px}"
"ul{list-style:none;margin:0 0 24px;padding:0;"
"border-top:1px solid var(--line)}"
"li{padding:12px 0;border-bottom:1px solid var(--line)}"
".row{display:flex;align-items:center;justify-content:space-between;"
"gap:12px}"
".name{font-weight:600;overflow-wrap:anywhere;"
"text-transform:capitalize}.label{text-transform:none}"
".badge{flex:none;font-size:.75rem;font-weight:700;padding:3px 10px;"
"border-radius:999px;color:#fff;background:#475569}"
".badge.down{background:#b91c1c}.badge.maint{background:#1d4ed8}"
".badge.degraded{background:#92400e}"
"li p{margin:4px 0 0;color:var(--muted);font-size:.9375rem;"
"overflow-wrap:anywhere}"
"a{color:var(--link)}"
"a:focus-visible{outline:3px solid var(--link);outline-offset:2px;"
"border-radius:4px}"
".button{display:inline-block;margin:0 0 24px;padding:10px 18px;"
"border-radius:8px;background:var(--accent);color:#fff;"
"font-weight:600;text-decoration:none}"
".button:hover{filter:brightness(1.1)}"
"footer{border-top:1px solid var(--line);padding-top:16px;"
"color:var(--muted);font-size:.8125rem}"
"footer p{margin:0}"
"@media (max-width:480px){main{padding:28px 20px 22px}"
"h1{font-size:1.5rem}}";

/* 48x48 stroke icons; aria-hidden, the heading says the same in words */

static const char  ngx_http_outage_icon_maint[] =
"<svg class=\"icon\" width=\"48\" height=\"48\" viewBox=\"0 0 24 24\" "
"fill=\"none\" "
"stroke=\"currentColor\" stroke-width=\"1.8\" stroke-linecap=\"round\" "
"stroke-linejoin=\"round\" aria-hidden=\"true\" focusable=\"false\">"
"<circle cx=\"12\" cy=\"12\" r=\"9\"/><path d=\"M12 7v5l3 2\"/></svg>";

static const char  ngx_http_outage_icon_alert[] =
"<svg class=\"icon\" width=\"48\" height=\"48\" viewBox=\"0 0 24 24\" "
"fill=\"none\" "
"stroke=\"currentColor\" stroke-width=\"1.8\" stroke-linecap=\"round\" "
"stroke-linejoin=\"round\" aria-hidden=\"true\" focusable=\"false\">"
"<path d=\"M10.3 3.9 2.4 17.5A2 2 0 0 0 4.1 20.5h15.8a2 2 0 0 0 1.7-3"
"L13.7 3.9a2 2 0 0 0-3.4 0z\"/><path d=\"M12 9v4\"/>"
"<path d=\"M12 17h.01\"/></svg>";


/* ---- times, as both built-in pages write them ------------------------- */

size_t
ngx_http_outage_page_iso(unsigned char *dst, time_t t, int seconds)
{
    size_t  n;

    n = (t > 0) ? ngx_http_outage_format_time(dst, t) : 0;

    if (!seconds) {
        return n;
    }

    if (n < 2 || dst[n - 1] != 'Z') {
        return 0;
    }

    /* "YYYY-MM-DDTHH:MMZ" -> "YYYY-MM-DDTHH:MM:00Z" */
    memcpy(dst + n - 1, ":00Z", 4);

    return n + 3;
}


void
ngx_http_outage_page_jtime(ngx_http_outage_wr_t *w, time_t t, int seconds)
{
    unsigned char  buf[NGX_HTTP_OUTAGE_TIME_LEN];

    ngx_http_outage_wr_jstr(w, buf, ngx_http_outage_page_iso(buf, t, seconds));
}


void
ngx_http_outage_page_time(ngx_http_outage_wr_t *w, const unsigned char *iso,
    size_t iso_len, time_t t, time_t now, const ngx_http_outage_tz_t *tz)
{
    unsigned char  human[NGX_HTTP_OUTAGE_TZ_WHEN_LEN];

    ngx_http_outage_wr_str(w, "<time datetime=\"");
    ngx_http_outage_wr_raw(w, iso, iso_len);
    ngx_http_outage_wr_str(w, "\">");
    ngx_http_outage_wr_raw(w, human,
                           ngx_http_outage_tz_format(human, t, now, tz,
                                                     NGX_HTTP_OUTAGE_TZ_TODAY));
    ngx_http_outage_wr_str(w, "</time>");
}


/* the page's own times: known (t > 0) whenever it shows one */

static void
ngx_http_outage_page_when(ngx_http_outage_wr_t *w,
    const ngx_http_outage_page_t *page, time_t t)
{
    unsigned char  iso[NGX_HTTP_OUTAGE_TIME_LEN];

    ngx_http_outage_page_time(w, iso, ngx_http_outage_format_time(iso, t), t,
                              page->now, page->tz);
}


/* ---- page pieces ------------------------------------------------------ */

static const ngx_http_outage_page_text_t *
ngx_http_outage_page_text(const ngx_http_outage_page_t *page)
{
    if (page->main == NULL) {
        return &ngx_http_outage_text_generic;
    }

    switch (page->main->state) {
    case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
        return &ngx_http_outage_text_maint;
    case NGX_HTTP_OUTAGE_STATE_DOWN:
        return &ngx_http_outage_text_down;
    }

    /* degraded is only ever paged when the backend itself failed */
    return &ngx_http_outage_text_generic;
}


/*
 * Whether a scope's message is what the page leads with, for the scope as
 * for a row of it.  Not when a failing check took the scope down while
 * Redis said "degraded" (decision.c): that message was written for a
 * slowdown ("Payments are slow") and must not be the first thing a page
 * saying "unavailable" says; it follows as the team's last update, in the
 * built-in page, a template's {{update}} and the JSON's "update" alike.
 */

static int
ngx_http_outage_page_message_leads(const ngx_http_outage_page_scope_t *m)
{
    return m != NULL && m->message_len
           && !(m->state == NGX_HTTP_OUTAGE_STATE_DOWN
                && m->source == NGX_HTTP_OUTAGE_SOURCE_HEALTH);
}


/* the message shown after what leads ("Last update ..."), if any */

static int
ngx_http_outage_page_message_follows(const ngx_http_outage_page_scope_t *m)
{
    return m != NULL && m->message_len
           && !ngx_http_outage_page_message_leads(m);
}


#define NGX_HTTP_OUTAGE_PAGE_UPDATE  "Last update from our team: "


static const char *
ngx_http_outage_state_label(int state)
{
    switch (state) {
    case NGX_HTTP_OUTAGE_STATE_DOWN:
        return "Down";
    case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
        return "Maintenance";
    case NGX_HTTP_OUTAGE_STATE_DEGRADED:
        return "Degraded";
    }

    return "Unavailable";
}


static const char *
ngx_http_outage_state_class(int state)
{
    switch (state) {
    case NGX_HTTP_OUTAGE_STATE_DOWN:
        return "down";
    case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
        return "maint";
    case NGX_HTTP_OUTAGE_STATE_DEGRADED:
        return "degraded";
    }

    return "generic";
}


static const char *
ngx_http_outage_source_name(int source)
{
    switch (source) {
    case NGX_HTTP_OUTAGE_SOURCE_REDIS:
        return "redis";
    case NGX_HTTP_OUTAGE_SOURCE_HEALTH:
        return "health";
    }

    return "none";
}


/*
 * Where "status updates" are: the main scope's link from Redis, else the
 * first one given, else the public status page (page->status_link): an
 * incident's own link is the most specific.  Returns its length (0: none)
 * and sets *link, and *from (may be NULL) to the scope it came from (NULL
 * for the status page).
 */

static size_t
ngx_http_outage_page_link(const ngx_http_outage_page_t *page,
    const unsigned char **link, const ngx_http_outage_page_scope_t **from)
{
    size_t                               i;
    const ngx_http_outage_page_scope_t  *s;

    s = NULL;

    if (page->main && page->main->link_len) {
        s = page->main;

    } else {
        for (i = 0; i < page->nscopes; i++) {
            if (page->scopes[i].link_len) {
                s = &page->scopes[i];
                break;
            }
        }
    }

    if (from) {
        *from = s;
    }

    if (s) {
        *link = s->link;
        return s->link_len;
    }

    *link = page->status_link;

    return page->status_link ? page->status_link_len : 0;
}


long
ngx_http_outage_page_retry_after(time_t eta, time_t end, time_t now,
    long dflt)
{
    time_t  d;

    if (eta > now) {
        d = eta - now;

    } else if (end && dflt > 0) {
        d = dflt;

    } else {
        return dflt;
    }

    if (end && d > end - now) {
        d = end - now;
    }

    if (d < NGX_HTTP_OUTAGE_RETRY_MIN) {
        return NGX_HTTP_OUTAGE_RETRY_MIN;
    }

    if (d > NGX_HTTP_OUTAGE_RETRY_MAX) {
        return NGX_HTTP_OUTAGE_RETRY_MAX;
    }

    return (long) d;
}


const char *
ngx_http_outage_page_reason(int status)
{
    /* the reason phrases of RFC 9110 section 15 (and RFC 6585, 4918,
     * 8470, 7725, 2295, 2774, 5842) for the codes outage_page_status takes */
    static const char  *phrases4[] = {
        "Bad Request", "Unauthorized", "Payment Required", "Forbidden",
        "Not Found", "Method Not Allowed", "Not Acceptable",
        "Proxy Authentication Required", "Request Timeout", "Conflict",
        "Gone", "Length Required", "Precondition Failed",
        "Content Too Large", "URI Too Long", "Unsupported Media Type",
        "Range Not Satisfiable", "Expectation Failed", NULL, NULL, NULL,
        "Misdirected Request", "Unprocessable Content", "Locked",
        "Failed Dependency", "Too Early", "Upgrade Required", NULL,
        "Precondition Required", "Too Many Requests", NULL,
        "Request Header Fields Too Large"
    };
    static const char  *phrases5[] = {
        "Internal Server Error", "Not Implemented", "Bad Gateway",
        "Service Unavailable", "Gateway Timeout",
        "HTTP Version Not Supported", "Variant Also Negotiates",
        "Insufficient Storage", "Loop Detected", NULL, "Not Extended",
        "Network Authentication Required"
    };

    if (status == 200) {
        return "OK";
    }

    if (status == 451) {
        return "Unavailable For Legal Reasons";
    }

    if (status >= 400
        && status < 400 + (int) (sizeof(phrases4) / sizeof(phrases4[0])))
    {
        return phrases4[status - 400];
    }

    if (status >= 500
        && status < 500 + (int) (sizeof(phrases5) / sizeof(phrases5[0])))
    {
        return phrases5[status - 500];
    }

    /* no registered phrase: no title, rather than a wrong one */
    return NULL;
}


/*
 * An incident in effect never starts in the future: a since ahead of
 * nginx's clock (the incident tool's host runs fast, a typo in the day) is
 * shown as now, as the banner does.
 */

static time_t
ngx_http_outage_page_since(const ngx_http_outage_page_t *page, time_t since)
{
    return (since > page->now && page->now > 0) ? page->now : since;
}


static void
ngx_http_outage_page_components_out(ngx_http_outage_wr_t *w,
    const ngx_http_outage_page_t *page)
{
    size_t                               i;
    unsigned char                        ago[NGX_HTTP_OUTAGE_AGO_LEN];
    const char                          *sep;
    const unsigned char                 *link;
    const ngx_http_outage_page_scope_t  *s, *from;

    if (page->nscopes == 0) {
        return;
    }

    /* the link shown as the page's button is not repeated in its row */
    (void) ngx_http_outage_page_link(page, &link, &from);

    ngx_http_outage_wr_str(w, "<ul>");

    for (i = 0; i < page->nscopes; i++) {
        s = &page->scopes[i];

        /* shoppers read the label the status page shows, as written */
        if (s->label) {
            ngx_http_outage_wr_str(w, "<li><div class=\"row\">"
                                      "<span class=\"name label\">");
            ngx_http_outage_wr_html(w, s->label, s->label_len);

        } else {
            ngx_http_outage_wr_str(w, "<li><div class=\"row\">"
                                      "<span class=\"name\">");
            ngx_http_outage_wr_html(w, s->name, s->name_len);
        }

        ngx_http_outage_wr_str(w, "</span><span class=\"badge ");
        ngx_http_outage_wr_str(w, ngx_http_outage_state_class(s->state));
        ngx_http_outage_wr_str(w, "\">");
        ngx_http_outage_wr_str(w, ngx_http_outage_state_label(s->state));
        ngx_http_outage_wr_str(w, "</span></div>");

        if (s == page->main) {
            /* its message, times and link are shown above the list */
            ngx_http_outage_wr_str(w, "</li>");
            continue;
        }

        if (ngx_http_outage_page_message_leads(s)) {
            ngx_http_outage_wr_str(w, "<p>");
            ngx_http_outage_wr_html(w, s->message, s->message_len);
            ngx_http_outage_wr_str(w, "</p>");
        }

        sep = "<p>";

        if (!ngx_http_outage_page_message_leads(s)
            && s->source == NGX_HTTP_OUTAGE_SOURCE_HEALTH)
        {
            /* never the check's error: it may name internal addresses */
            ngx_http_outage_wr_str(w, "<p>Not responding");
            sep = " &middot; ";
        }

        if (s->since > 0) {
            ngx_http_outage_wr_str(w, sep);
            ngx_http_outage_wr_str(w, "Since ");
            ngx_http_outage_page_when(w, page,
                                    ngx_http_outage_page_since(page, s->since));
            sep = " &middot; ";
        }

        if (s->eta > page->now) {
            ngx_http_outage_wr_str(w, sep);
            ngx_http_outage_wr_str(w, "Expected back ");
            ngx_http_outage_wr_raw(w, ago,
                ngx_http_outage_format_ago(ago, sizeof(ago), s->eta,
                                           page->now));
            sep = " &middot; ";

        } else if (s->eta == 0 && s->eta_text_len) {
            ngx_http_outage_wr_str(w, sep);
            ngx_http_outage_wr_str(w, "Expected back: ");
            ngx_http_outage_wr_html(w, s->eta_text, s->eta_text_len);
            sep = " &middot; ";
        }

        if (s->link_len && s != from) {
            ngx_http_outage_wr_str(w, sep);
            ngx_http_outage_wr_str(w, "<a href=\"");
            ngx_http_outage_wr_html(w, s->link, s->link_len);
            ngx_http_outage_wr_str(w, "\">Details</a>");
            sep = " &middot; ";
        }

        if (sep[0] != '<') {
            ngx_http_outage_wr_str(w, "</p>");
        }

        if (ngx_http_outage_page_message_follows(s)) {
            ngx_http_outage_wr_str(w, "<p>" NGX_HTTP_OUTAGE_PAGE_UPDATE);
            ngx_http_outage_wr_html(w, s->message, s->message_len);
            ngx_http_outage_wr_str(w, "</p>");
        }

        ngx_http_outage_wr_str(w, "</li>");
    }

    ngx_http_outage_wr_str(w, "</ul>");
}


size_t
ngx_http_outage_page_components(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_page_t *page)
{
    ngx_http_outage_wr_t  w;

    ngx_http_outage_wr_init(&w, dst, dst_size);
    ngx_http_outage_page_components_out(&w, page);

    return w.need;
}


size_t
ngx_http_outage_page_html(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_page_t *page)
{
    unsigned char                        ago[NGX_HTTP_OUTAGE_AGO_LEN];
    size_t                               link_len;
    const unsigned char                 *link;
    const ngx_http_outage_page_scope_t  *m;
    const ngx_http_outage_page_text_t   *t;
    ngx_http_outage_wr_t                 w;
    int                                  facts;

    ngx_http_outage_wr_init(&w, dst, dst_size);

    t = ngx_http_outage_page_text(page);
    m = page->main;

    ngx_http_outage_page_head(&w, page->refresh);
    ngx_http_outage_wr_str(&w, "<meta name=\"robots\" content=\"noindex\">\n");

    ngx_http_outage_wr_str(&w, "<title>");
    ngx_http_outage_wr_str(&w, t->title);
    ngx_http_outage_wr_str(&w, "</title>\n<style>");
    ngx_http_outage_wr_str(&w, ngx_http_outage_page_css);
    ngx_http_outage_wr_str(&w, "</style>\n</head>\n<body>\n<main class=\"");
    ngx_http_outage_wr_str(&w, t->cls);
    ngx_http_outage_wr_str(&w, "\">\n");

    ngx_http_outage_wr_str(&w, (t == &ngx_http_outage_text_maint)
                               ? ngx_http_outage_icon_maint
                               : ngx_http_outage_icon_alert);

    ngx_http_outage_wr_str(&w, "\n<p class=\"eyebrow\">");
    ngx_http_outage_wr_str(&w, t->eyebrow);
    ngx_http_outage_wr_str(&w, "</p>\n<h1>");
    ngx_http_outage_wr_str(&w, t->title);
    ngx_http_outage_wr_str(&w, "</h1>\n<p class=\"lead\">");

    if (ngx_http_outage_page_message_leads(m)) {
        ngx_http_outage_wr_html(&w, m->message, m->message_len);

    } else {
        ngx_http_outage_wr_str(&w, t->lead);
    }

    ngx_http_outage_wr_str(&w, "</p>\n");

    if (ngx_http_outage_page_message_follows(m)) {
        ngx_http_outage_wr_str(&w, "<p class=\"update\">"
                                   NGX_HTTP_OUTAGE_PAGE_UPDATE);
        ngx_http_outage_wr_html(&w, m->message, m->message_len);
        ngx_http_outage_wr_str(&w, "</p>\n");
    }

    facts = 0;

    if (m && (m->eta > page->now || (m->eta == 0 && m->eta_text_len))) {
        ngx_http_outage_wr_str(&w, "<dl class=\"facts\">\n<div><dt>"
                                   "Expected back</dt><dd>");
        facts = 1;

        if (m->eta) {
            ngx_http_outage_page_when(&w, page, m->eta);
            ngx_http_outage_wr_str(&w, " (");
            ngx_http_outage_wr_raw(&w, ago,
                ngx_http_outage_format_ago(ago, sizeof(ago), m->eta,
                                           page->now));
            ngx_http_outage_wr_str(&w, ")");

        } else {
            ngx_http_outage_wr_html(&w, m->eta_text, m->eta_text_len);
        }

        ngx_http_outage_wr_str(&w, "</dd></div>\n");
    }

    if (m && m->since > 0) {
        if (!facts) {
            ngx_http_outage_wr_str(&w, "<dl class=\"facts\">\n");
            facts = 1;
        }

        ngx_http_outage_wr_str(&w, "<div><dt>Started</dt><dd>");
        ngx_http_outage_page_when(&w, page,
                                 ngx_http_outage_page_since(page, m->since));
        ngx_http_outage_wr_str(&w, " (");
        ngx_http_outage_wr_raw(&w, ago,
            ngx_http_outage_format_ago(ago, sizeof(ago),
                ngx_http_outage_page_since(page, m->since), page->now));
        ngx_http_outage_wr_str(&w, ")</dd></div>\n");
    }

    if (facts) {
        ngx_http_outage_wr_str(&w, "</dl>\n");
    }

    if (page->nscopes) {
        ngx_http_outage_wr_str(&w, "<section aria-labelledby=\"affected\">"
                                   "<h2 id=\"affected\">Affected services"
                                   "</h2>\n");
        ngx_http_outage_page_components_out(&w, page);
        ngx_http_outage_wr_str(&w, "\n</section>\n");
    }

    link_len = ngx_http_outage_page_link(page, &link, NULL);

    if (link_len) {
        ngx_http_outage_wr_str(&w, "<a class=\"button\" href=\"");
        ngx_http_outage_wr_html(&w, link, link_len);
        ngx_http_outage_wr_str(&w, "\">View status updates</a>\n");
    }

    ngx_http_outage_wr_str(&w, "<footer><p>");

    if (page->refresh > 0) {
        ngx_http_outage_wr_str(&w, "This page reloads by itself every ");
        ngx_http_outage_wr_num(&w, page->refresh);
        ngx_http_outage_wr_str(&w, page->refresh == 1 ? " second. "
                                                      : " seconds. ");

    } else {
        ngx_http_outage_wr_str(&w, "Please try again later. ");
    }

    if (m && m->checked > 0) {
        ngx_http_outage_wr_str(&w, "Last checked ");
        ngx_http_outage_page_when(&w, page, m->checked);
        ngx_http_outage_wr_str(&w, ". ");
    }

    ngx_http_outage_wr_str(&w, "Error ");
    ngx_http_outage_wr_num(&w, page->status);
    ngx_http_outage_wr_str(&w, ".</p></footer>\n</main>\n</body>\n</html>\n");

    return w.need;
}


/* ---- problem+json ------------------------------------------------------ */

size_t
ngx_http_outage_page_json(unsigned char *dst, size_t dst_size,
    const ngx_http_outage_page_t *page)
{
    size_t                               i;
    const char                          *state, *reason;
    ngx_http_outage_wr_t                 w;
    size_t                               link_len;
    const unsigned char                 *link;
    const ngx_http_outage_page_scope_t  *m, *s;
    const ngx_http_outage_page_text_t   *t;

    ngx_http_outage_wr_init(&w, dst, dst_size);

    m = page->main;
    t = ngx_http_outage_page_text(page);
    state = m ? ngx_http_outage_state_name(m->state) : "unavailable";

    /* about:blank: the title is the status phrase (RFC 9457, 4.2.1) */
    ngx_http_outage_wr_str(&w, "{\"type\":\"about:blank\",");
    reason = ngx_http_outage_page_reason(page->status);

    if (reason) {
        ngx_http_outage_wr_str(&w, "\"title\":\"");
        ngx_http_outage_wr_str(&w, reason);
        ngx_http_outage_wr_str(&w, "\",");
    }

    ngx_http_outage_wr_str(&w, "\"status\":");
    ngx_http_outage_wr_num(&w, page->status);
    ngx_http_outage_wr_str(&w, ",\"detail\":\"");

    /* the page's two paragraphs as two members, never one joined string */
    if (ngx_http_outage_page_message_leads(m)) {
        ngx_http_outage_wr_json(&w, m->message, m->message_len);

    } else {
        ngx_http_outage_wr_json(&w, (const unsigned char *) t->lead,
                                strlen(t->lead));
    }

    ngx_http_outage_wr_str(&w, "\",\"update\":");
    ngx_http_outage_wr_jstr(&w, m ? m->message : NULL,
                            ngx_http_outage_page_message_follows(m)
                            ? m->message_len : 0);

    ngx_http_outage_wr_str(&w, ",\"state\":\"");
    ngx_http_outage_wr_str(&w, state);
    ngx_http_outage_wr_str(&w, "\",\"scope\":");

    if (m) {
        ngx_http_outage_wr_jstr(&w, m->name, m->name_len);

    } else {
        ngx_http_outage_wr_str(&w, "null");
    }

    ngx_http_outage_wr_str(&w, ",\"label\":");
    ngx_http_outage_wr_jstr(&w, m ? m->label : NULL, m ? m->label_len : 0);
    ngx_http_outage_wr_str(&w, ",\"retry_after\":");

    if (page->retry_after > 0) {
        ngx_http_outage_wr_num(&w, page->retry_after);

    } else {
        ngx_http_outage_wr_str(&w, "null");
    }

    ngx_http_outage_wr_str(&w, ",\"eta\":");

    if (m && m->eta > 0) {
        ngx_http_outage_page_jtime(&w, m->eta, 0);

    } else if (m) {
        ngx_http_outage_wr_jstr(&w, m->eta_text, m->eta_text_len);

    } else {
        ngx_http_outage_wr_str(&w, "null");
    }

    ngx_http_outage_wr_str(&w, ",\"since\":");
    ngx_http_outage_page_jtime(&w,
        m ? ngx_http_outage_page_since(page, m->since) : 0, 0);

    link_len = ngx_http_outage_page_link(page, &link, NULL);

    ngx_http_outage_wr_str(&w, ",\"link\":");
    ngx_http_outage_wr_jstr(&w, link, link_len);

    ngx_http_outage_wr_str(&w, ",\"components\":[");

    for (i = 0; i < page->nscopes; i++) {
        s = &page->scopes[i];

        ngx_http_outage_wr_str(&w, i ? ",{\"scope\":" : "{\"scope\":");
        ngx_http_outage_wr_jstr(&w, s->name, s->name_len);
        ngx_http_outage_wr_str(&w, ",\"label\":");
        ngx_http_outage_wr_jstr(&w, s->label, s->label_len);
        ngx_http_outage_wr_str(&w, ",\"state\":\"");
        ngx_http_outage_wr_str(&w, ngx_http_outage_state_name(s->state));
        ngx_http_outage_wr_str(&w, "\",\"message\":");
        ngx_http_outage_wr_jstr(&w, s->message,
                                ngx_http_outage_page_message_leads(s)
                                ? s->message_len : 0);
        ngx_http_outage_wr_str(&w, ",\"update\":");
        ngx_http_outage_wr_jstr(&w, s->message,
                                ngx_http_outage_page_message_follows(s)
                                ? s->message_len : 0);
        ngx_http_outage_wr_str(&w, ",\"since\":");
        ngx_http_outage_page_jtime(&w,
                                   ngx_http_outage_page_since(page, s->since),
                                   0);
        ngx_http_outage_wr_str(&w, ",\"eta\":");

        if (s->eta > 0) {
            ngx_http_outage_page_jtime(&w, s->eta, 0);

        } else {
            ngx_http_outage_wr_jstr(&w, s->eta_text, s->eta_text_len);
        }

        ngx_http_outage_wr_str(&w, ",\"link\":");
        ngx_http_outage_wr_jstr(&w, s->link, s->link_len);
        ngx_http_outage_wr_str(&w, ",\"source\":\"");
        ngx_http_outage_wr_str(&w, ngx_http_outage_source_name(s->source));
        ngx_http_outage_wr_str(&w, "\"}");
    }

    ngx_http_outage_wr_str(&w, "]}\n");

    return w.need;
}


void
ngx_http_outage_page_head(ngx_http_outage_wr_t *w, long refresh)
{
    ngx_http_outage_wr_str(w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" "
        "content=\"width=device-width, initial-scale=1\">\n");

    if (refresh > 0) {
        ngx_http_outage_wr_str(w, "<meta http-equiv=\"refresh\" content=\"");
        ngx_http_outage_wr_num(w, refresh);
        ngx_http_outage_wr_str(w, "\">\n");
    }
}


/*
 * Everything before the built-in page's <style> is fixed text (no Redis
 * text, whose "<" is escaped anyway), so the first "<style" is its own.
 */

size_t
ngx_http_outage_page_nonce_at(const unsigned char *html, size_t len)
{
    size_t  i, n;

    n = sizeof("<style") - 1;

    for (i = 0; i + n <= len; i++) {
        if (memcmp(html + i, "<style", n) == 0) {
            return i + n;
        }
    }

    return 0;
}


/* ---- custom templates -------------------------------------------------- */

static int
ngx_http_outage_tpl_lookup(void *ctx, const unsigned char *name,
    size_t name_len, const unsigned char **value, size_t *value_len)
{
    ngx_http_outage_page_vars_t *v = ctx;

    const char                          *s;
    const ngx_http_outage_page_t        *page;
    size_t                               link_len;
    const unsigned char                 *link;
    const ngx_http_outage_page_scope_t  *m;
    const ngx_http_outage_page_text_t   *t;

    page = v->page;
    m = page->main;
    t = ngx_http_outage_page_text(page);
    s = NULL;

#define ngx_http_outage_var_is(lit)                                          \
    (name_len == sizeof(lit) - 1 && memcmp(name, lit, name_len) == 0)

#define ngx_http_outage_var_set(p, n)                                        \
    do {                                                                     \
        *value_len = (n);                                                    \
        *value = *value_len ? (p) : (const unsigned char *) "";              \
        return 1;                                                            \
    } while (0)

    if (ngx_http_outage_var_is("status")) {
        ngx_http_outage_var_set(v->status, v->status_len);
    }

    if (ngx_http_outage_var_is("state")) {
        s = m ? ngx_http_outage_state_name(m->state) : "unavailable";

    } else if (ngx_http_outage_var_is("title")) {
        s = t->title;

    } else if (ngx_http_outage_var_is("eyebrow")) {
        s = t->eyebrow;

    } else if (ngx_http_outage_var_is("scope")) {
        if (m) {
            ngx_http_outage_var_set(m->name, m->name_len);
        }

        s = "";

    } else if (ngx_http_outage_var_is("message")) {
        /* what the built-in page leads with: a template written for
         * {{message}} alone never leads a 503 with a slowdown note */
        if (ngx_http_outage_page_message_leads(m)) {
            ngx_http_outage_var_set(m->message, m->message_len);
        }

        s = t->lead;

    } else if (ngx_http_outage_var_is("update")) {
        if (ngx_http_outage_page_message_follows(m)) {
            ngx_http_outage_var_set(m->message, m->message_len);
        }

        s = "";

    } else if (ngx_http_outage_var_is("since")) {
        ngx_http_outage_var_set(v->since, v->since_len);

    } else if (ngx_http_outage_var_is("since_iso")) {
        ngx_http_outage_var_set(v->since_iso, v->since_iso_len);

    } else if (ngx_http_outage_var_is("since_ago")) {
        ngx_http_outage_var_set(v->since_ago, v->since_ago_len);

    } else if (ngx_http_outage_var_is("eta")) {
        ngx_http_outage_var_set(v->eta, v->eta_len);

    } else if (ngx_http_outage_var_is("eta_iso")) {
        ngx_http_outage_var_set(v->eta_iso, v->eta_iso_len);

    } else if (ngx_http_outage_var_is("eta_in")) {
        ngx_http_outage_var_set(v->eta_in, v->eta_in_len);

    } else if (ngx_http_outage_var_is("link")) {
        link_len = ngx_http_outage_page_link(page, &link, NULL);

        if (link_len) {
            ngx_http_outage_var_set(link, link_len);
        }

        s = "";

    } else if (ngx_http_outage_var_is("retry_after")) {
        ngx_http_outage_var_set(v->retry, v->retry_len);

    } else if (ngx_http_outage_var_is("refresh")) {
        ngx_http_outage_var_set(v->refresh, v->refresh_len);

    } else if (ngx_http_outage_var_is("checked")) {
        ngx_http_outage_var_set(v->checked, v->checked_len);

    } else if (ngx_http_outage_var_is("checked_iso")) {
        ngx_http_outage_var_set(v->checked_iso, v->checked_iso_len);

    } else if (ngx_http_outage_var_is("source")) {
        s = m ? ngx_http_outage_source_name(m->source) : "";

    } else if (ngx_http_outage_var_is("components")) {
        ngx_http_outage_var_set(v->components, v->components_len);

    } else if (ngx_http_outage_var_is("time_zone")) {
        ngx_http_outage_var_set(v->page->tz_name, v->page->tz_name_len);
    }

#undef ngx_http_outage_var_is
#undef ngx_http_outage_var_set

    if (s == NULL) {
        return 0;
    }

    *value = (const unsigned char *) s;
    *value_len = strlen(s);

    return 1;
}


size_t
ngx_http_outage_page_template(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len,
    const ngx_http_outage_page_t *page,
    const unsigned char *components, size_t components_len)
{
    time_t                               since;
    const ngx_http_outage_page_scope_t  *m;
    ngx_http_outage_page_vars_t          v;

    memset(&v, 0, sizeof(v));

    m = page->main;
    v.page = page;
    v.components = components;
    v.components_len = components_len;

    v.status_len = ngx_http_outage_ltoa(v.status, page->status);

    if (page->retry_after > 0) {
        v.retry_len = ngx_http_outage_ltoa(v.retry, page->retry_after);
    }

    if (page->refresh > 0) {
        v.refresh_len = ngx_http_outage_ltoa(v.refresh, page->refresh);
    }

    if (m && m->since > 0) {
        since = ngx_http_outage_page_since(page, m->since);
        v.since_len = ngx_http_outage_tz_format(v.since, since,
                                                page->now, page->tz,
                                                NGX_HTTP_OUTAGE_TZ_TODAY);
        v.since_iso_len = ngx_http_outage_format_time(v.since_iso, since);
        v.since_ago_len = ngx_http_outage_format_ago(v.since_ago,
                                                     sizeof(v.since_ago),
                                                     since, page->now);
    }

    if (m && m->eta > 0) {
        v.eta = v.eta_buf;
        v.eta_len = ngx_http_outage_tz_format(v.eta_buf, m->eta,
                                              page->now, page->tz,
                                              NGX_HTTP_OUTAGE_TZ_TODAY);
        v.eta_iso_len = ngx_http_outage_format_time(v.eta_iso, m->eta);

        if (m->eta > page->now) {
            v.eta_in_len = ngx_http_outage_format_ago(v.eta_in,
                                                      sizeof(v.eta_in),
                                                      m->eta, page->now);
        }

    } else if (m && m->eta_text_len) {
        /* the free-form ETA as given ("about an hour") */
        v.eta = m->eta_text;
        v.eta_len = m->eta_text_len;
    }

    if (m && m->checked > 0) {
        v.checked_len = ngx_http_outage_tz_format(v.checked, m->checked,
                                                  page->now, page->tz,
                                                  NGX_HTTP_OUTAGE_TZ_TODAY);
        v.checked_iso_len = ngx_http_outage_format_time(v.checked_iso,
                                                        m->checked);
    }

    return ngx_http_outage_tpl_render(dst, dst_size, tpl, tpl_len,
                                      NGX_HTTP_OUTAGE_TPL_HTML,
                                      ngx_http_outage_tpl_lookup, &v);
}


/* ---- Accept ------------------------------------------------------------ */

static int
ngx_http_outage_lc_eq(const unsigned char *p, size_t len, const char *s)
{
    size_t         i;
    unsigned char  c;

    if (len != strlen(s)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char) (c | 0x20);
        }

        if (c != (unsigned char) s[i]) {
            return 0;
        }
    }

    return 1;
}


/*
 * The best q-values (thousandths; -1 if not listed) and the list positions
 * of JSON and of HTML in an Accept header value (NULL: no header).
 */

static void
ngx_http_outage_accept_scan(const unsigned char *p, size_t len,
    int *json_qp, int *json_posp, int *html_qp, int *html_posp)
{
    size_t               i, start, end, tend, k;
    int                  q, json_q, html_q, json_pos, html_pos, pos, d;
    const unsigned char *t;

    json_q = -1;
    html_q = -1;
    json_pos = 0;
    html_pos = 0;
    pos = 0;

    if (p == NULL) {
        len = 0;
    }

    for (start = 0; start < len; start = end + 1) {
        for (end = start; end < len && p[end] != ','; end++) { /* void */ }

        pos++;

        /* media type: up to ';', trimmed */
        i = start;

        while (i < end && (p[i] == ' ' || p[i] == '\t')) {
            i++;
        }

        t = p + i;

        for (tend = i; tend < end && p[tend] != ';'; tend++) { /* void */ }

        k = tend;

        while (k > i && (p[k - 1] == ' ' || p[k - 1] == '\t')) {
            k--;
        }

        /* q in thousandths; malformed q counts as 1 */
        q = 1000;

        for (i = tend; i < end; i++) {
            if (p[i] != ';') {
                continue;
            }

            i++;

            while (i < end && (p[i] == ' ' || p[i] == '\t')) {
                i++;
            }

            if (i + 2 > end || (p[i] != 'q' && p[i] != 'Q') || p[i + 1] != '=')
            {
                continue;
            }

            i += 2;

            if (i < end && p[i] == '0') {
                q = 0;
                i++;

                if (i < end && p[i] == '.') {
                    for (i++, d = 100; i < end && d && p[i] >= '0'
                         && p[i] <= '9'; i++, d /= 10)
                    {
                        q += (p[i] - '0') * d;
                    }
                }

            } else {
                q = 1000;
            }

            i--;
        }

        if (ngx_http_outage_lc_eq(t, k - (size_t) (t - p), "application/json")
            || ngx_http_outage_lc_eq(t, k - (size_t) (t - p),
                                     "application/problem+json"))
        {
            if (q > json_q) {
                json_q = q;
                json_pos = pos;
            }

        } else if (ngx_http_outage_lc_eq(t, k - (size_t) (t - p), "text/html")
                   || ngx_http_outage_lc_eq(t, k - (size_t) (t - p),
                                            "application/xhtml+xml"))
        {
            if (q > html_q) {
                html_q = q;
                html_pos = pos;
            }
        }
    }

    *json_qp = json_q;
    *json_posp = json_pos;
    *html_qp = html_q;
    *html_posp = html_pos;
}


int
ngx_http_outage_page_wants_json(const unsigned char *p, size_t len)
{
    int  json_q, json_pos, html_q, html_pos;

    ngx_http_outage_accept_scan(p, len, &json_q, &json_pos,
                                &html_q, &html_pos);

    if (json_q <= 0) {
        return 0;
    }

    return json_q != html_q ? json_q > html_q : json_pos < html_pos;
}


int
ngx_http_outage_accepts_html(const unsigned char *p, size_t len)
{
    int  json_q, json_pos, html_q, html_pos;

    ngx_http_outage_accept_scan(p, len, &json_q, &json_pos,
                                &html_q, &html_pos);

    return html_q > 0;
}


/* ---- bypass cookie ----------------------------------------------------- */

int
ngx_http_outage_cookie_next(const unsigned char *p, size_t len, size_t *pos,
    const unsigned char *name, size_t name_len,
    const unsigned char **value, size_t *value_len)
{
    size_t  i, end, eq, vs, ve;

    if (p == NULL) {
        return 0;
    }

    for (i = *pos; i < len; i = end + 1) {
        for (end = i; end < len && p[end] != ';'; end++) { /* void */ }

        while (i < end && (p[i] == ' ' || p[i] == '\t')) {
            i++;
        }

        for (eq = i; eq < end && p[eq] != '='; eq++) { /* void */ }

        if (eq == end) {
            continue;
        }

        ve = eq;

        while (ve > i && (p[ve - 1] == ' ' || p[ve - 1] == '\t')) {
            ve--;
        }

        if (ve - i != name_len || memcmp(p + i, name, name_len) != 0) {
            continue;
        }

        vs = eq + 1;
        ve = end;

        while (vs < ve && (p[vs] == ' ' || p[vs] == '\t')) {
            vs++;
        }

        while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t')) {
            ve--;
        }

        if (ve - vs >= 2 && p[vs] == '"' && p[ve - 1] == '"') {
            vs++;
            ve--;
        }

        *value = p + vs;
        *value_len = ve - vs;
        *pos = end < len ? end + 1 : len;

        return 1;
    }

    *pos = len;

    return 0;
}


static int
ngx_http_outage_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c = (unsigned char) (c | 0x20);

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


int
ngx_http_outage_cookie_parse(const unsigned char *p, size_t len,
    time_t *expiry, size_t *digits_len,
    unsigned char mac[NGX_HTTP_OUTAGE_MAC_LEN])
{
    size_t      i, n;
    int         hi, lo;
    long long   v;

    if (p == NULL) {
        return -1;
    }

    v = 0;

    for (n = 0; n < len && p[n] >= '0' && p[n] <= '9'; n++) {
        if (n == 12) {
            return -1;
        }

        v = v * 10 + (p[n] - '0');
    }

    if (n == 0 || (p[0] == '0') || n >= len || p[n] != '.'
        || len - n - 1 != 2 * NGX_HTTP_OUTAGE_MAC_LEN)
    {
        return -1;
    }

    if ((long long) (time_t) v != v) {
        return -1;
    }

    for (i = 0; i < NGX_HTTP_OUTAGE_MAC_LEN; i++) {
        hi = ngx_http_outage_hexval(p[n + 1 + 2 * i]);
        lo = ngx_http_outage_hexval(p[n + 2 + 2 * i]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        mac[i] = (unsigned char) (hi << 4 | lo);
    }

    *expiry = (time_t) v;
    *digits_len = n;

    return 0;
}


size_t
ngx_http_outage_cookie_expiry(unsigned char *dst, time_t expiry)
{
    return ngx_http_outage_ltoa(dst, (long) expiry);
}


size_t
ngx_http_outage_cookie_format(unsigned char *dst, time_t expiry,
    const unsigned char mac[NGX_HTTP_OUTAGE_MAC_LEN])
{
    size_t  n, i;

    n = ngx_http_outage_ltoa(dst, (long) expiry);
    dst[n++] = '.';

    for (i = 0; i < NGX_HTTP_OUTAGE_MAC_LEN; i++) {
        dst[n++] = ngx_http_outage_hexdigits[mac[i] >> 4];
        dst[n++] = ngx_http_outage_hexdigits[mac[i] & 0x0f];
    }

    return n;
}


int
ngx_http_outage_ct_equal(const unsigned char *a, const unsigned char *b,
    size_t n)
{
    size_t                  i;
    volatile unsigned char  d;

    d = 0;

    for (i = 0; i < n; i++) {
        d |= a[i] ^ b[i];
    }

    return d == 0;
}
