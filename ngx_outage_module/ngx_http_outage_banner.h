
/*
 * ngx_outage_module: the banner's content (pure C, no nginx headers).
 *
 * Owns the default banner markup and stylesheet, the wording per state, the
 * human-readable times, and the values behind the banner template
 * placeholders.  The filter (ngx_http_outage_filter.c) decides when and
 * where a banner goes; this file only decides what it says, so it can be
 * unit tested on its own.  See docs/notes/banner.md.
 */


#ifndef _NGX_HTTP_OUTAGE_BANNER_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_BANNER_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_tz.h"


/* "Nov 22, 16:30 CET", or "Nov 22 2027, 16:30 CET" in another year */
#define NGX_HTTP_OUTAGE_WHEN_LEN  NGX_HTTP_OUTAGE_TZ_WHEN_LEN


typedef struct {
    const unsigned char  *data;
    size_t                len;
} ngx_http_outage_banner_str_t;


/* what the filter knows about the incident, copied from the worker view */
typedef struct {
    int                           state;      /* NGX_HTTP_OUTAGE_STATE_* */
    int                           announced;  /* 0, or the state declared
                                                 for an incident ahead */
    time_t                        since;      /* 0: unknown */
    time_t                        eta;        /* 0: none (see eta_text) */
    time_t                        starts;     /* 0: none */
    time_t                        checked;    /* last evidence, 0: none */
    ngx_http_outage_banner_str_t  scope;
    ngx_http_outage_banner_str_t  message;
    ngx_http_outage_banner_str_t  eta_text;   /* shown when eta is 0 */
    ngx_http_outage_banner_str_t  link;       /* already validated */
    ngx_http_outage_banner_str_t  nonce;      /* raw, may be empty */
    const ngx_http_outage_tz_t   *tz;         /* outage_time_zone, NULL: UTC */
    ngx_http_outage_banner_str_t  tz_name;    /* its IANA name, or empty */
} ngx_http_outage_banner_input_t;


/*
 * The placeholder values, all raw (the template renderer escapes them);
 * the formatted ones live in the buffers at the end, so the structure is
 * self-contained and needs no allocation.
 */
typedef struct {
    ngx_http_outage_banner_str_t  state;
    ngx_http_outage_banner_str_t  label;
    ngx_http_outage_banner_str_t  klass;
    ngx_http_outage_banner_str_t  scope;
    ngx_http_outage_banner_str_t  message;
    ngx_http_outage_banner_str_t  eta;
    ngx_http_outage_banner_str_t  eta_iso;
    ngx_http_outage_banner_str_t  eta_label;
    ngx_http_outage_banner_str_t  link;
    ngx_http_outage_banner_str_t  since;
    ngx_http_outage_banner_str_t  since_iso;
    ngx_http_outage_banner_str_t  updated;
    ngx_http_outage_banner_str_t  starts;
    ngx_http_outage_banner_str_t  starts_iso;
    ngx_http_outage_banner_str_t  nonce;
    ngx_http_outage_banner_str_t  time_zone;

    /* set by the lookup when the template asked for the nonce */
    int                           nonce_used;

    unsigned char                 eta_buf[NGX_HTTP_OUTAGE_WHEN_LEN
                                          + NGX_HTTP_OUTAGE_AGO_LEN + 4];
    unsigned char                 eta_iso_buf[NGX_HTTP_OUTAGE_TIME_LEN];
    unsigned char                 since_buf[NGX_HTTP_OUTAGE_WHEN_LEN];
    unsigned char                 since_iso_buf[NGX_HTTP_OUTAGE_TIME_LEN];
    unsigned char                 updated_buf[NGX_HTTP_OUTAGE_AGO_LEN];
    unsigned char                 starts_buf[NGX_HTTP_OUTAGE_WHEN_LEN
                                             + NGX_HTTP_OUTAGE_AGO_LEN + 4];
    unsigned char                 starts_iso_buf[NGX_HTTP_OUTAGE_TIME_LEN];
} ngx_http_outage_banner_t;


/* the built-in markup, a template over the placeholders below */
extern const unsigned char  ngx_http_outage_banner_default_tpl[];
extern const size_t         ngx_http_outage_banner_default_tpl_len;

/* the built-in stylesheet: inlined, or served by "outage_banner_css" */
extern const unsigned char  ngx_http_outage_banner_css[];
extern const size_t         ngx_http_outage_banner_css_len;


/*
 * Fills *b from *in as seen at time "now".  Placeholders:
 *   state      degraded | down | maintenance | scheduled
 *   label      "Degraded performance", "Service disruption", ...
 *   class      "outage-banner outage-banner--<state>"
 *   scope      scope name
 *   message    incident message
 *   eta        "Nov 22, 16:30 CET (in 45 min)" in the zone of in->tz
 *              (UTC without one), else the raw ETA text
 *   eta_iso    "2026-11-22T15:30Z" when the ETA is a time, else empty
 *   eta_label  "Expected resolution" or, for maintenance, "Expected end"
 *   link       status page URL
 *   since      "Nov 22, 15:05 CET"; since_iso as for eta_iso (always UTC)
 *   updated    "just now", "3 min ago" (last evidence, else since)
 *   starts     start of an announced window: "Nov 22, 15:30 UTC (in 3 h)",
 *              empty once the window is open; starts_iso as for eta_iso
 *   nonce      the CSP nonce, empty without outage_banner_nonce
 *   time_zone  the IANA name of in->tz ("Europe/Berlin"), empty for UTC
 */
void ngx_http_outage_banner_init(ngx_http_outage_banner_t *b,
    const ngx_http_outage_banner_input_t *in, time_t now);

/*
 * Template lookup over an initialised ngx_http_outage_banner_t; it notes
 * in b->nonce_used whether the template asked for the nonce, so that a
 * rendering made without one is known to be valid for every request.
 */
int ngx_http_outage_banner_lookup(void *ctx, const unsigned char *name,
    size_t name_len, const unsigned char **value, size_t *value_len);

/*
 * Renders tpl (the default markup if tpl is NULL) in HTML mode, with the
 * output contract of ngx_http_outage_tpl_render().
 */
size_t ngx_http_outage_banner_render(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len, ngx_http_outage_banner_t *b);

/*
 * In UTC, ngx_http_outage_tz_format() without a zone: writes
 * "Nov 22, 15:30 UTC" (the year is added when it differs from the
 * year of "now") and a NUL into dst, which must hold
 * NGX_HTTP_OUTAGE_WHEN_LEN bytes; returns the length without the NUL, 0
 * (empty string) for times the calendar cannot show.
 */
size_t ngx_http_outage_banner_when(unsigned char *dst, time_t t, time_t now);


/*
 * The two-tier marker, the value of "X-Outage-Banner" on a bannered
 * response: "<scope>; state=<state>", state one of "announced",
 * "degraded", "maintenance", "down".  ngx_http_outage_marker_state()
 * names the state of a scope of the given rank
 * (ngx_http_outage_state_rank(), 1 for an announced maintenance);
 * ngx_http_outage_marker_rank() returns the rank a marker value names for
 * "scope", 0 if it is not such a value exactly (another scope, another
 * format, a value of older versions: the scope alone).
 */
#define NGX_HTTP_OUTAGE_MARKER_STATE  "; state="

const char *ngx_http_outage_marker_state(unsigned rank);
unsigned ngx_http_outage_marker_rank(const unsigned char *value, size_t len,
    const unsigned char *scope, size_t scope_len);


#endif /* _NGX_HTTP_OUTAGE_BANNER_H_INCLUDED_ */
