
/*
 * ngx_outage_module: IANA time zones (pure C, no nginx headers).  See
 * ngx_http_outage_tz.h; the file format is RFC 8536.
 */


#include <string.h>
#include <time.h>

#include "ngx_http_outage_tz.h"


#define NGX_HTTP_OUTAGE_TZ_HEADER  44


static uint32_t ngx_http_outage_tz_be32(const unsigned char *p);
static int64_t ngx_http_outage_tz_be64(const unsigned char *p);
static const char *ngx_http_outage_tz_block(ngx_http_outage_tz_t *tz,
    const unsigned char *p, size_t len, int wide, size_t *used);
static const char *ngx_http_outage_tz_footer(ngx_http_outage_tz_t *tz,
    const unsigned char *p, size_t len);
static const unsigned char *ngx_http_outage_tz_name(
    const unsigned char *p, const unsigned char *end,
    ngx_http_outage_tz_type_t *type);
static const unsigned char *ngx_http_outage_tz_hms(const unsigned char *p,
    const unsigned char *end, long *secs, int max_hours);
static const unsigned char *ngx_http_outage_tz_rule(const unsigned char *p,
    const unsigned char *end, ngx_http_outage_tz_rule_t *rule);
static int64_t ngx_http_outage_tz_days(int64_t y, int m, int d);
static int64_t ngx_http_outage_tz_when(const ngx_http_outage_tz_rule_t *r,
    int64_t year);
static int64_t ngx_http_outage_tz_year(int64_t t);


static uint32_t
ngx_http_outage_tz_be32(const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static int64_t
ngx_http_outage_tz_be64(const unsigned char *p)
{
    return (int64_t) (((uint64_t) ngx_http_outage_tz_be32(p) << 32)
                      | ngx_http_outage_tz_be32(p + 4));
}


const char *
ngx_http_outage_tz_parse(ngx_http_outage_tz_t *tz, const unsigned char *p,
    size_t len)
{
    size_t       used;
    const char  *err;

    memset(tz, 0, sizeof(ngx_http_outage_tz_t));

    if (len < NGX_HTTP_OUTAGE_TZ_HEADER || memcmp(p, "TZif", 4) != 0) {
        return "not a compiled time zone (TZif) file";
    }

    err = ngx_http_outage_tz_block(tz, p, len, 0, &used);
    if (err) {
        return err;
    }

    if (p[4] == '\0') {
        return NULL;            /* version 1: 32-bit data only */
    }

    /* version 2 and later: the 64-bit data and the footer replace it */
    p += used;
    len -= used;

    if (len < NGX_HTTP_OUTAGE_TZ_HEADER || memcmp(p, "TZif", 4) != 0) {
        return "truncated TZif file (no second header)";
    }

    memset(tz, 0, sizeof(ngx_http_outage_tz_t));

    err = ngx_http_outage_tz_block(tz, p, len, 1, &used);
    if (err) {
        return err;
    }

    return ngx_http_outage_tz_footer(tz, p + used, len - used);
}


/* one header and its data block; *used is the length of both */

static const char *
ngx_http_outage_tz_block(ngx_http_outage_tz_t *tz, const unsigned char *p,
    size_t len, int wide, size_t *used)
{
    size_t                      i, isut, isstd, leap, timecnt, typecnt;
    size_t                      charcnt, tsize, need;
    uint32_t                    off;
    const unsigned char        *d, *types, *chars;
    ngx_http_outage_tz_type_t  *t;

    isut = ngx_http_outage_tz_be32(p + 20);
    isstd = ngx_http_outage_tz_be32(p + 24);
    leap = ngx_http_outage_tz_be32(p + 28);
    timecnt = ngx_http_outage_tz_be32(p + 32);
    typecnt = ngx_http_outage_tz_be32(p + 36);
    charcnt = ngx_http_outage_tz_be32(p + 40);

    if (timecnt > NGX_HTTP_OUTAGE_TZ_MAX_TRANS) {
        return "too many transitions in the TZif file";
    }

    if (typecnt == 0 || typecnt > NGX_HTTP_OUTAGE_TZ_MAX_TYPES
        || charcnt == 0 || charcnt > 256 || leap > 1000
        || (isut != 0 && isut != typecnt)
        || (isstd != 0 && isstd != typecnt))
    {
        return "invalid counts in the TZif header";
    }

    tsize = wide ? 8 : 4;
    need = NGX_HTTP_OUTAGE_TZ_HEADER + timecnt * (tsize + 1) + typecnt * 6
           + charcnt + leap * (tsize + 4) + isstd + isut;

    if (len < need) {
        return "truncated TZif file";
    }

    *used = need;

    d = p + NGX_HTTP_OUTAGE_TZ_HEADER;
    types = d + timecnt * (tsize + 1);
    chars = types + typecnt * 6;

    tz->ntrans = timecnt;

    for (i = 0; i < timecnt; i++) {
        tz->trans[i] = wide
                       ? ngx_http_outage_tz_be64(d + i * 8)
                       : (int64_t) (int32_t) ngx_http_outage_tz_be32(d + i * 4);
        tz->idx[i] = d[timecnt * tsize + i];

        if (tz->idx[i] >= typecnt
            || (i > 0 && tz->trans[i] <= tz->trans[i - 1]))
        {
            return "invalid transition in the TZif file";
        }
    }

    tz->ntypes = typecnt;

    for (i = 0; i < typecnt; i++) {
        t = &tz->types[i];
        off = ngx_http_outage_tz_be32(types + i * 6);
        t->offset = (long) (int32_t) off;

        if (t->offset <= -25 * 3600 || t->offset >= 26 * 3600
            || types[i * 6 + 5] >= charcnt)
        {
            return "invalid local time type in the TZif file";
        }

        d = chars + types[i * 6 + 5];
        need = 0;

        while (d + need < chars + charcnt && d[need] != '\0'
               && need < NGX_HTTP_OUTAGE_TZ_ABBR_MAX - 1)
        {
            /* shown in pages: only what abbreviations are made of */
            if (!((d[need] >= 'A' && d[need] <= 'Z')
                  || (d[need] >= 'a' && d[need] <= 'z')
                  || (d[need] >= '0' && d[need] <= '9')
                  || d[need] == '+' || d[need] == '-'))
            {
                return "invalid abbreviation in the TZif file";
            }

            t->abbr[need] = (char) d[need];
            need++;
        }

        t->abbr[need] = '\0';
    }

    return NULL;
}


/* "\nCET-1CEST,M3.5.0,M10.5.0/3\n"; an empty one means "no rule" */

static const char *
ngx_http_outage_tz_footer(ngx_http_outage_tz_t *tz, const unsigned char *p,
    size_t len)
{
    long                  secs;
    const unsigned char  *end, *q;

    if (len < 2 || p[0] != '\n') {
        return "truncated TZif file (no footer)";
    }

    end = memchr(p + 1, '\n', len - 1);
    if (end == NULL) {
        return "unterminated TZif footer";
    }

    p++;

    if (p == end) {
        return NULL;
    }

    q = ngx_http_outage_tz_name(p, end, &tz->std);
    if (q == NULL) {
        return "invalid TZif footer (standard time name)";
    }

    q = ngx_http_outage_tz_hms(q, end, &secs, 24);
    if (q == NULL) {
        return "invalid TZif footer (standard time offset)";
    }

    tz->std.offset = -secs;     /* POSIX offsets are west of UTC */
    tz->footer = 1;

    if (q == end) {
        return NULL;
    }

    q = ngx_http_outage_tz_name(q, end, &tz->dst);
    if (q == NULL) {
        return "invalid TZif footer (daylight time name)";
    }

    tz->has_dst = 1;
    tz->dst.offset = tz->std.offset + 3600;

    if (q < end && *q != ',') {
        q = ngx_http_outage_tz_hms(q, end, &secs, 24);
        if (q == NULL) {
            return "invalid TZif footer (daylight time offset)";
        }

        tz->dst.offset = -secs;
    }

    if (q == end || *q != ',') {
        return "invalid TZif footer (no rule for daylight time)";
    }

    q = ngx_http_outage_tz_rule(q + 1, end, &tz->start);
    if (q == NULL || q == end || *q != ',') {
        return "invalid TZif footer (start rule)";
    }

    q = ngx_http_outage_tz_rule(q + 1, end, &tz->end);
    if (q != end) {
        return "invalid TZif footer (end rule)";
    }

    return NULL;
}


/* "CET" or "<+0530>" */

static const unsigned char *
ngx_http_outage_tz_name(const unsigned char *p, const unsigned char *end,
    ngx_http_outage_tz_type_t *type)
{
    size_t  n;
    int     quoted;

    quoted = (p < end && *p == '<');
    p += quoted;
    n = 0;

    while (p < end
           && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
               || (quoted && ((*p >= '0' && *p <= '9') || *p == '+'
                              || *p == '-'))))
    {
        if (n >= NGX_HTTP_OUTAGE_TZ_ABBR_MAX - 1) {
            return NULL;
        }

        type->abbr[n++] = (char) *p++;
    }

    type->abbr[n] = '\0';

    if (n < 3) {
        return NULL;
    }

    if (quoted) {
        if (p == end || *p != '>') {
            return NULL;
        }

        p++;
    }

    return p;
}


/* [+-]hh[:mm[:ss]], hours up to max_hours (167 in rule times, RFC 8536) */

static const unsigned char *
ngx_http_outage_tz_hms(const unsigned char *p, const unsigned char *end,
    long *secs, int max_hours)
{
    int   sign, i;
    long  v, part[3];

    sign = 1;

    if (p < end && (*p == '+' || *p == '-')) {
        sign = (*p == '-') ? -1 : 1;
        p++;
    }

    part[0] = part[1] = part[2] = 0;

    for (i = 0; i < 3; i++) {
        if (i > 0) {
            if (p == end || *p != ':') {
                break;
            }

            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        v = 0;

        while (p < end && *p >= '0' && *p <= '9' && v < 1000) {
            v = v * 10 + (*p++ - '0');
        }

        part[i] = v;
    }

    if (part[0] > max_hours || part[1] > 59 || part[2] > 59) {
        return NULL;
    }

    *secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);

    return p;
}


/* Mm.w.d[/time], Jn[/time], n[/time]; the time defaults to 02:00 */

static const unsigned char *
ngx_http_outage_tz_rule(const unsigned char *p, const unsigned char *end,
    ngx_http_outage_tz_rule_t *rule)
{
    int   v[3], i;

    memset(rule, 0, sizeof(ngx_http_outage_tz_rule_t));
    rule->secs = 7200;

    if (p < end && *p == 'M') {
        rule->kind = 'M';
        p++;

        for (i = 0; i < 3; i++) {
            if (i > 0) {
                if (p == end || *p != '.') {
                    return NULL;
                }

                p++;
            }

            if (p == end || *p < '0' || *p > '9') {
                return NULL;
            }

            v[i] = 0;

            while (p < end && *p >= '0' && *p <= '9' && v[i] < 100) {
                v[i] = v[i] * 10 + (*p++ - '0');
            }
        }

        if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6) {
            return NULL;
        }

        rule->month = v[0];
        rule->week = v[1];
        rule->wday = v[2];

    } else {
        rule->kind = 'n';

        if (p < end && *p == 'J') {
            rule->kind = 'J';
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        v[0] = 0;

        while (p < end && *p >= '0' && *p <= '9' && v[0] < 1000) {
            v[0] = v[0] * 10 + (*p++ - '0');
        }

        if ((rule->kind == 'J' && (v[0] < 1 || v[0] > 365))
            || (rule->kind == 'n' && v[0] > 365))
        {
            return NULL;
        }

        rule->yday = v[0];
    }

    if (p < end && *p == '/') {
        p = ngx_http_outage_tz_hms(p + 1, end, &rule->secs, 167);
    }

    return p;
}


/* days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant) */

static int64_t
ngx_http_outage_tz_days(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
ngx_http_outage_tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


/* the UTC year of t */

static int64_t
ngx_http_outage_tz_year(int64_t t)
{
    int64_t  days, y;

    days = (t >= 0 ? t : t - 86399) / 86400;
    y = 1970 + days / 366;

    while (ngx_http_outage_tz_days(y + 1, 1, 1) <= days) {
        y++;
    }

    while (ngx_http_outage_tz_days(y, 1, 1) > days) {
        y--;
    }

    return y;
}


/* seconds from the epoch to the rule's date in year, as local wall time */

static int64_t
ngx_http_outage_tz_when(const ngx_http_outage_tz_rule_t *r, int64_t year)
{
    int      mlen, first, day;
    int64_t  days;

    static const int  months[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
                                     31, 30, 31 };

    switch (r->kind) {

    case 'J':
        /* 1-365, February 29 is never counted */
        days = ngx_http_outage_tz_days(year, 1, 1) + r->yday - 1;

        if (ngx_http_outage_tz_leap(year) && r->yday > 59) {
            days++;
        }

        break;

    case 'n':
        days = ngx_http_outage_tz_days(year, 1, 1) + r->yday;
        break;

    default:
        days = ngx_http_outage_tz_days(year, r->month, 1);
        first = (int) (((days % 7) + 7 + 4) % 7);   /* 1970-01-01: Thu */
        day = 1 + (r->wday - first + 7) % 7 + (r->week - 1) * 7;
        mlen = months[r->month - 1]
               + (r->month == 2 && ngx_http_outage_tz_leap(year));

        while (day > mlen) {
            day -= 7;
        }

        days += day - 1;
    }

    return days * 86400 + r->secs;
}


long
ngx_http_outage_tz_offset(const ngx_http_outage_tz_t *tz, time_t t,
    const char **abbr)
{
    size_t                            lo, hi, mid;
    int64_t                           year, start, end;
    const ngx_http_outage_tz_type_t  *type;

    static const ngx_http_outage_tz_type_t  utc = { 0, "UTC" };

    type = &utc;

    if (tz == NULL || tz->ntypes == 0) {
        goto done;
    }

    if (tz->ntrans == 0 || (int64_t) t < tz->trans[0]) {
        /* RFC 8536: before the first transition, type 0 applies */
        type = &tz->types[0];

        if (tz->ntrans || !tz->footer) {
            goto done;
        }

    } else if ((int64_t) t < tz->trans[tz->ntrans - 1] || !tz->footer) {
        lo = 0;
        hi = tz->ntrans - 1;

        /* the last transition at or before t */
        while (lo < hi) {
            mid = lo + (hi - lo + 1) / 2;

            if (tz->trans[mid] <= (int64_t) t) {
                lo = mid;

            } else {
                hi = mid - 1;
            }
        }

        type = &tz->types[tz->idx[lo]];
        goto done;
    }

    /* after the table (or with no table): the footer's rule */

    type = &tz->std;

    if (tz->has_dst) {
        year = ngx_http_outage_tz_year((int64_t) t);
        start = ngx_http_outage_tz_when(&tz->start, year) - tz->std.offset;
        end = ngx_http_outage_tz_when(&tz->end, year) - tz->dst.offset;

        if (start < end) {
            if ((int64_t) t >= start && (int64_t) t < end) {
                type = &tz->dst;
            }

        } else if ((int64_t) t >= start || (int64_t) t < end) {
            /* southern hemisphere: daylight time spans the new year */
            type = &tz->dst;
        }
    }

done:

    if (abbr) {
        *abbr = type->abbr;
    }

    return type->offset;
}


int
ngx_http_outage_tz_name_valid(const unsigned char *name, size_t len)
{
    size_t  i, comp;

    if (len == 0 || len > 64) {
        return 0;
    }

    comp = 0;

    for (i = 0; i < len; i++) {
        if (name[i] == '/') {
            if (comp == 0) {
                return 0;       /* leading "/" or "//" */
            }

            comp = 0;
            continue;
        }

        if (!((name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_' || name[i] == '-' || name[i] == '+'))
        {
            return 0;
        }

        comp++;
    }

    return comp > 0;
}


static const char  *ngx_http_outage_tz_months[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


static size_t
ngx_http_outage_tz_digits(unsigned char *dst, unsigned v, size_t width)
{
    size_t  n, i;

    /* v has at most 4 digits here; width pads with leading zeros */
    n = (v >= 1000) ? 4 : (v >= 100) ? 3 : (v >= 10) ? 2 : 1;

    if (n < width) {
        n = width;
    }

    for (i = n; i > 0; i--) {
        dst[i - 1] = (unsigned char) ('0' + v % 10);
        v /= 10;
    }

    return n;
}


size_t
ngx_http_outage_tz_format(unsigned char *dst, time_t t, time_t now,
    const ngx_http_outage_tz_t *tz, int flags)
{
    size_t       n, alen;
    time_t       lt, ln;
    struct tm    tm, tn;
    const char  *abbr;

    dst[0] = '\0';

    /* up to 9999-12-31: adding an offset can then never overflow */
    if (t <= 0 || (int64_t) t > 253402300799LL
        || (int64_t) now < 0 || (int64_t) now > 253402300799LL)
    {
        return 0;
    }

    /* wall time = UTC + the offset in effect at that instant */
    lt = t + ngx_http_outage_tz_offset(tz, t, &abbr);
    ln = now + ngx_http_outage_tz_offset(tz, now, NULL);

    if (gmtime_r(&lt, &tm) == NULL || tm.tm_year > 9999 - 1900
        || tm.tm_year < -1900)
    {
        return 0;
    }

    if (gmtime_r(&ln, &tn) == NULL) {
        tn = tm;
    }

    n = 0;

    if (!(flags & NGX_HTTP_OUTAGE_TZ_TODAY)
        || tm.tm_year != tn.tm_year || tm.tm_yday != tn.tm_yday)
    {
        memcpy(dst, ngx_http_outage_tz_months[tm.tm_mon], 3);
        dst[3] = ' ';
        n = 4 + ngx_http_outage_tz_digits(dst + 4, (unsigned) tm.tm_mday, 1);

        if (tm.tm_year != tn.tm_year) {
            dst[n++] = ' ';
            n += ngx_http_outage_tz_digits(dst + n,
                                           (unsigned) (tm.tm_year + 1900), 4);
        }

        dst[n++] = ',';
        dst[n++] = ' ';
    }

    n += ngx_http_outage_tz_digits(dst + n, (unsigned) tm.tm_hour, 2);
    dst[n++] = ':';
    n += ngx_http_outage_tz_digits(dst + n, (unsigned) tm.tm_min, 2);
    dst[n++] = ' ';

    /* letters, digits, + and -, checked when the file was read */
    alen = strnlen(abbr, NGX_HTTP_OUTAGE_TZ_ABBR_MAX - 1);
    memcpy(dst + n, abbr, alen);
    n += alen;
    dst[n] = '\0';

    return n;
}
