
/*
 * ngx_outage_module: IANA time zones for visitor-facing times (pure C, no
 * nginx headers).
 *
 * Owns the reading of a compiled zone file (TZif, RFC 8536: versions 1 to
 * 4, the 64-bit data and the POSIX TZ footer for times after the last
 * transition) into a fixed-size table, read once at configuration time,
 * and the lookup of the UTC offset and abbreviation in effect at a time.
 * Also owns the one human form of a time that visitors see (banner,
 * maintenance page, status page): "Nov 22, 16:30 CET" in the shop's zone.
 * The process's TZ and localtime() are never touched: nginx's own log
 * times must not change with the module's setting.
 */


#ifndef _NGX_HTTP_OUTAGE_TZ_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_TZ_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>


#define NGX_HTTP_OUTAGE_TZ_MAX_TRANS   2400
#define NGX_HTTP_OUTAGE_TZ_MAX_TYPES   64
#define NGX_HTTP_OUTAGE_TZ_ABBR_MAX    16

/* "Nov 22 2027, 15:30 " and the longest abbreviation, and a NUL */
#define NGX_HTTP_OUTAGE_TZ_WHEN_LEN    (20 + NGX_HTTP_OUTAGE_TZ_ABBR_MAX)

/* ngx_http_outage_tz_format() flags */
#define NGX_HTTP_OUTAGE_TZ_TODAY       1   /* no date on now's local day */


typedef struct {
    long                            offset;    /* seconds east of UTC */
    char                            abbr[NGX_HTTP_OUTAGE_TZ_ABBR_MAX];
} ngx_http_outage_tz_type_t;


/* a POSIX TZ rule date: Mm.w.d, Jn or n, and the local time of day */
typedef struct {
    int                             kind;      /* 'M', 'J', 'n' */
    int                             month;
    int                             week;
    int                             wday;
    int                             yday;
    long                            secs;
} ngx_http_outage_tz_rule_t;


typedef struct {
    size_t                          ntrans;
    int64_t                         trans[NGX_HTTP_OUTAGE_TZ_MAX_TRANS];
    unsigned char                   idx[NGX_HTTP_OUTAGE_TZ_MAX_TRANS];
    size_t                          ntypes;
    ngx_http_outage_tz_type_t       types[NGX_HTTP_OUTAGE_TZ_MAX_TYPES];

    int                             footer;    /* std (and dst) valid */
    int                             has_dst;
    ngx_http_outage_tz_type_t       std;
    ngx_http_outage_tz_type_t       dst;
    ngx_http_outage_tz_rule_t       start;
    ngx_http_outage_tz_rule_t       end;
} ngx_http_outage_tz_t;


/*
 * Reads a TZif file's bytes into *tz.  Returns NULL on success, else a
 * static reason (not a TZif file, truncated, too many transitions, bad
 * footer ...); *tz is then unusable.
 */
const char *ngx_http_outage_tz_parse(ngx_http_outage_tz_t *tz,
    const unsigned char *p, size_t len);

/*
 * The offset east of UTC in seconds in effect at t, and (if abbr is not
 * NULL) its abbreviation ("CET", "EDT", "+0530").  A NULL tz is UTC.
 */
long ngx_http_outage_tz_offset(const ngx_http_outage_tz_t *tz, time_t t,
    const char **abbr);

/*
 * Writes t as people read it in zone tz (NULL: UTC) and a NUL into dst,
 * which must hold NGX_HTTP_OUTAGE_TZ_WHEN_LEN bytes: "Nov 22, 16:30 CET",
 * "Nov 22 2027, 16:30 CET" when the local year differs from now's, and
 * with NGX_HTTP_OUTAGE_TZ_TODAY just "16:30 CET" on now's local day.
 * Returns the length without the NUL; 0 (empty) for t <= 0 or a time
 * the calendar cannot show (before year 0, after 9999).
 */
size_t ngx_http_outage_tz_format(unsigned char *dst, time_t t, time_t now,
    const ngx_http_outage_tz_t *tz, int flags);

/*
 * 1 if name is a plausible IANA zone name to look up under a zone
 * directory: letters, digits, "_", "-", "+" and "/" between components,
 * no "." component, no leading "/", at most 64 bytes.  0 otherwise.
 */
int ngx_http_outage_tz_name_valid(const unsigned char *name, size_t len);


#endif /* _NGX_HTTP_OUTAGE_TZ_H_INCLUDED_ */
