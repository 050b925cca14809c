
/*
 * ngx_outage_module: the banner's content (pure C, no nginx headers).
 *
 * Owns the default banner markup and stylesheet, the wording per state and
 * the placeholder values; see ngx_http_outage_banner.h.
 */


#include <stddef.h>
#include <string.h>

#include "ngx_http_outage_banner.h"


/*
 * Spaces between the elements keep the text readable where the stylesheet
 * did not load (reader modes, a blocked outage_banner_css_uri).
 */
const unsigned char  ngx_http_outage_banner_default_tpl[] =
    "<div class=\"{{class}}\" role=\"status\" aria-live=\"polite\">"
    "<div class=\"outage-banner__inner\">"
    "<p class=\"outage-banner__text\">"
    "<strong class=\"outage-banner__state\">{{label}}</strong>"
    "{{#message}} <span class=\"outage-banner__message\">{{message}}</span>"
    "{{/message}}</p> "
    "<p class=\"outage-banner__meta\">"
    "{{#starts}}<span class=\"outage-banner__starts\">Starts: {{starts}}"
    "</span> {{/starts}}"
    "{{#eta}}<span class=\"outage-banner__eta\">{{eta_label}}: {{eta}}"
    "</span> {{/eta}}"
    "{{#link}}<a class=\"outage-banner__link\" href=\"{{link}}\" "
    "rel=\"noopener\">Status updates</a> {{/link}}"
    "{{#updated}}<span class=\"outage-banner__updated\">Updated "
    "{{updated}}</span>{{/updated}}"
    "</p></div></div>";

const size_t  ngx_http_outage_banner_default_tpl_len =
    sizeof(ngx_http_outage_banner_default_tpl) - 1;


/*
 * "all: initial/unset" shields the banner from the page's own element
 * rules (div, p, a ...); the class rules then set everything it needs.
 * Colours keep at least WCAG AA contrast for normal text.
 */
const unsigned char  ngx_http_outage_banner_css[] =
    ".outage-banner{all:initial;display:block;box-sizing:border-box;"
    "position:relative;z-index:2147483647;width:100%;margin:0;"
    "padding:10px 16px;border-bottom:1px solid #667085;"
    "background:#475467;color:#fff;"
    "font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Helvetica Neue\",Arial,sans-serif;text-align:left;"
    "-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    ".outage-banner *{all:unset;box-sizing:border-box}"
    ".outage-banner__inner{display:block;max-width:1120px;margin:0 auto}"
    ".outage-banner__text{display:block;overflow-wrap:anywhere}"
    ".outage-banner__state{font-weight:700;margin-right:4px}"
    ".outage-banner__state::before{content:\"\";display:inline-block;"
    "width:8px;height:8px;margin:0 8px 2px 0;border-radius:50%;"
    "background:currentColor;vertical-align:middle}"
    ".outage-banner__meta{display:flex;flex-wrap:wrap;column-gap:16px;"
    "margin-top:2px;font-size:13px}"
    ".outage-banner__meta:empty{display:none}"
    ".outage-banner__link{color:inherit;font-weight:600;cursor:pointer;"
    "text-decoration:underline;text-underline-offset:2px}"
    ".outage-banner__link:hover{text-decoration-thickness:2px}"
    ".outage-banner__link:focus-visible{outline:2px solid currentColor;"
    "outline-offset:2px}"
    ".outage-banner--degraded{background:#fef0c7;color:#4e1d09;"
    "border-bottom-color:#f79009}"
    ".outage-banner--down{background:#b42318;color:#fff;"
    "border-bottom-color:#7a271a}"
    ".outage-banner--maintenance{background:#3e4784;color:#fff;"
    "border-bottom-color:#293056}"
    ".outage-banner--scheduled{background:#f2f4f7;color:#1d2939;"
    "border-bottom-color:#d0d5dd}"
    "@media (max-width:600px){.outage-banner{padding:8px 12px;"
    "font-size:14px}.outage-banner__meta{column-gap:12px}}"
    "@media print{.outage-banner{display:none}}";

const size_t  ngx_http_outage_banner_css_len =
    sizeof(ngx_http_outage_banner_css) - 1;


#define ngx_http_outage_banner_set(s, text)                                   \
    (s)->data = (const unsigned char *) (text);                               \
    (s)->len = sizeof(text) - 1


size_t
ngx_http_outage_banner_when(unsigned char *dst, time_t t, time_t now)
{
    /* without a "now" the year is never shown */
    return ngx_http_outage_tz_format(dst, t, now > 0 ? now : t, NULL, 0);
}


/* "Nov 22, 16:30 CET (in 45 min)" into buf; returns the length */

static size_t
ngx_http_outage_banner_when_rel(unsigned char *buf, size_t size, time_t t,
    time_t now, const ngx_http_outage_tz_t *tz)
{
    size_t  n, ago;

    n = ngx_http_outage_tz_format(buf, t, now, tz, 0);
    if (n == 0) {
        return 0;
    }

    ago = ngx_http_outage_format_ago(NULL, 0, t, now);

    if (n + 2 + ago + 1 > size) {
        return n;
    }

    buf[n++] = ' ';
    buf[n++] = '(';
    n += ngx_http_outage_format_ago(buf + n, size - n, t, now);
    buf[n++] = ')';

    return n;
}


void
ngx_http_outage_banner_init(ngx_http_outage_banner_t *b,
    const ngx_http_outage_banner_input_t *in, time_t now)
{
    time_t  then;

    memset(b, 0, sizeof(ngx_http_outage_banner_t));

    if (in->announced) {
        ngx_http_outage_banner_set(&b->state, "scheduled");
        ngx_http_outage_banner_set(&b->klass,
                                   "outage-banner outage-banner--scheduled");
        ngx_http_outage_banner_set(&b->eta_label, "Ends");

        /* a planned outage is not maintenance: the declared state says */
        switch (in->announced) {

        case NGX_HTTP_OUTAGE_STATE_DOWN:
            ngx_http_outage_banner_set(&b->label,
                                       "Planned service disruption");
            break;

        case NGX_HTTP_OUTAGE_STATE_DEGRADED:
            ngx_http_outage_banner_set(&b->label,
                                       "Planned degraded performance");
            break;

        default:
            ngx_http_outage_banner_set(&b->label, "Scheduled maintenance");
            break;
        }

    } else {
        switch (in->state) {

        case NGX_HTTP_OUTAGE_STATE_DOWN:
            ngx_http_outage_banner_set(&b->state, "down");
            ngx_http_outage_banner_set(&b->label, "Service disruption");
            ngx_http_outage_banner_set(&b->klass,
                                       "outage-banner outage-banner--down");
            ngx_http_outage_banner_set(&b->eta_label, "Expected resolution");
            break;

        case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
            ngx_http_outage_banner_set(&b->state, "maintenance");
            ngx_http_outage_banner_set(&b->label, "Maintenance in progress");
            ngx_http_outage_banner_set(&b->klass,
                                    "outage-banner outage-banner--maintenance");
            ngx_http_outage_banner_set(&b->eta_label, "Expected end");
            break;

        default:
            /* the filter only asks for active states: degraded is the least */
            ngx_http_outage_banner_set(&b->state, "degraded");
            ngx_http_outage_banner_set(&b->label, "Degraded performance");
            ngx_http_outage_banner_set(&b->klass,
                                       "outage-banner outage-banner--degraded");
            ngx_http_outage_banner_set(&b->eta_label, "Expected resolution");
            break;
        }
    }

    b->scope.data = in->scope.data;
    b->scope.len = in->scope.len;
    b->message.data = in->message.data;
    b->message.len = in->message.len;
    b->link.data = in->link.data;
    b->link.len = in->link.len;
    b->nonce.data = in->nonce.data;
    b->nonce.len = in->nonce.len;
    b->time_zone.data = in->tz_name.data;
    b->time_zone.len = in->tz_name.len;

    /* the view never names a past time; the clock may have moved since */
    if (in->eta > now) {
        b->eta.len = ngx_http_outage_banner_when_rel(b->eta_buf,
                                                     sizeof(b->eta_buf),
                                                     in->eta, now, in->tz);
        b->eta.data = b->eta_buf;
        b->eta_iso.len = ngx_http_outage_format_time(b->eta_iso_buf, in->eta);
        b->eta_iso.data = b->eta_iso_buf;
    }

    if (b->eta.len == 0) {
        b->eta.data = in->eta_text.data;
        b->eta.len = in->eta_text.len;
    }

    if (in->since > 0) {
        b->since.len = ngx_http_outage_tz_format(b->since_buf, in->since,
                                                 now, in->tz, 0);
        b->since.data = b->since_buf;
        b->since_iso.len = ngx_http_outage_format_time(b->since_iso_buf,
                                                       in->since);
        b->since_iso.data = b->since_iso_buf;
    }

    if (in->announced && in->starts > now) {
        b->starts.len = ngx_http_outage_banner_when_rel(b->starts_buf,
                                                        sizeof(b->starts_buf),
                                                        in->starts, now,
                                                        in->tz);
        b->starts.data = b->starts_buf;
        b->starts_iso.len = ngx_http_outage_format_time(b->starts_iso_buf,
                                                        in->starts);
        b->starts_iso.data = b->starts_iso_buf;
    }

    then = in->checked > 0 ? in->checked : in->since;

    if (then > 0) {
        if (then > now) {
            then = now;     /* another process's clock ran ahead */
        }

        b->updated.len = ngx_http_outage_format_ago(b->updated_buf,
                                                    sizeof(b->updated_buf),
                                                    then, now);
        b->updated.data = b->updated_buf;
    }
}


typedef struct {
    const char  *name;
    size_t       len;
    size_t       offset;
} ngx_http_outage_banner_field_t;


#define ngx_http_outage_banner_field(name, member)                            \
    { name, sizeof(name) - 1, offsetof(ngx_http_outage_banner_t, member) }

static const ngx_http_outage_banner_field_t  ngx_http_outage_banner_fields[] =
{
    ngx_http_outage_banner_field("state", state),
    ngx_http_outage_banner_field("label", label),
    ngx_http_outage_banner_field("class", klass),
    ngx_http_outage_banner_field("scope", scope),
    ngx_http_outage_banner_field("message", message),
    ngx_http_outage_banner_field("eta", eta),
    ngx_http_outage_banner_field("eta_iso", eta_iso),
    ngx_http_outage_banner_field("eta_label", eta_label),
    ngx_http_outage_banner_field("link", link),
    ngx_http_outage_banner_field("since", since),
    ngx_http_outage_banner_field("since_iso", since_iso),
    ngx_http_outage_banner_field("updated", updated),
    ngx_http_outage_banner_field("starts", starts),
    ngx_http_outage_banner_field("starts_iso", starts_iso),
    ngx_http_outage_banner_field("nonce", nonce),
    ngx_http_outage_banner_field("time_zone", time_zone),
    { NULL, 0, 0 }
};


int
ngx_http_outage_banner_lookup(void *ctx, const unsigned char *name,
    size_t name_len, const unsigned char **value, size_t *value_len)
{
    ngx_http_outage_banner_t              *b = ctx;
    const ngx_http_outage_banner_str_t    *s;
    const ngx_http_outage_banner_field_t  *f;

    for (f = ngx_http_outage_banner_fields; f->name; f++) {
        if (f->len == name_len && memcmp(f->name, name, name_len) == 0) {
            s = (const ngx_http_outage_banner_str_t *)
                    ((const char *) b + f->offset);

            if (s == &b->nonce) {
                b->nonce_used = 1;
            }

            *value = s->data;
            *value_len = s->data ? s->len : 0;
            return 1;
        }
    }

    return 0;
}


size_t
ngx_http_outage_banner_render(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len, ngx_http_outage_banner_t *b)
{
    if (tpl == NULL) {
        tpl = ngx_http_outage_banner_default_tpl;
        tpl_len = ngx_http_outage_banner_default_tpl_len;
    }

    return ngx_http_outage_tpl_render(dst, dst_size, tpl, tpl_len,
                                      NGX_HTTP_OUTAGE_TPL_HTML_ASCII,
                                      ngx_http_outage_banner_lookup, b);
}


/*
 * Ranks as ngx_http_outage_state_rank() gives them: a front tier leaves a
 * page to the app tier's banner only when that one names the same scope
 * in a state at least as severe as the front's own.
 */
static const char  *ngx_http_outage_marker_states[] = {
    NULL, "announced", "degraded", "maintenance", "down"
};


const char *
ngx_http_outage_marker_state(unsigned rank)
{
    if (rank == 0 || rank > 4) {
        return NULL;
    }

    return ngx_http_outage_marker_states[rank];
}


unsigned
ngx_http_outage_marker_rank(const unsigned char *value, size_t len,
    const unsigned char *scope, size_t scope_len)
{
    size_t       n, k;
    unsigned     rank;
    const char  *name;

    k = sizeof(NGX_HTTP_OUTAGE_MARKER_STATE) - 1;

    if (scope_len == 0
        || len <= scope_len + k
        || memcmp(value, scope, scope_len) != 0
        || memcmp(value + scope_len, NGX_HTTP_OUTAGE_MARKER_STATE, k) != 0)
    {
        return 0;
    }

    value += scope_len + k;
    len -= scope_len + k;

    for (rank = 1; rank <= 4; rank++) {
        name = ngx_http_outage_marker_states[rank];
        n = strlen(name);

        if (n == len && memcmp(value, name, n) == 0) {
            return rank;
        }
    }

    return 0;
}
