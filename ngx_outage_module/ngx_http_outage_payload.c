
/*
 * ngx_outage_module: Redis incident payloads (pure C, no nginx headers).
 *
 * Owns turning the GET + HGETALL replies for one scope key into a validated
 * ngx_http_outage_incident_t.  Nothing from Redis is trusted: every string
 * is sanitised into a fixed buffer (so a 1 MB value costs a bounded copy),
 * times and states are parsed strictly, and links are validated.  Reply
 * shapes that Redis cannot produce for these commands are reported as
 * malformed so that the caller keeps its last good state.
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ngx_http_outage_payload.h"


/* how a reply was classified */
#define NGX_HTTP_OUTAGE_R_BAD        -1    /* malformed */
#define NGX_HTTP_OUTAGE_R_NONE        0    /* not fetched (NULL) */
#define NGX_HTTP_OUTAGE_R_NIL         1    /* nil, or an empty array */
#define NGX_HTTP_OUTAGE_R_VALUE       2    /* a string / a non-empty hash */
#define NGX_HTTP_OUTAGE_R_WRONGTYPE   3    /* WRONGTYPE error */

/*
 * Times before 2000-01-01 are treated as unparseable: they are always a
 * mistake, typically "eta 30" meaning minutes, read as unix seconds.
 */
#define NGX_HTTP_OUTAGE_TIME_MIN      946684800

/* hash fields */
#define NGX_HTTP_OUTAGE_F_STATE       0
#define NGX_HTTP_OUTAGE_F_MESSAGE     1
#define NGX_HTTP_OUTAGE_F_ETA         2
#define NGX_HTTP_OUTAGE_F_LINK        3
#define NGX_HTTP_OUTAGE_F_SINCE       4
#define NGX_HTTP_OUTAGE_F_STARTS      5
#define NGX_HTTP_OUTAGE_F_ENDS        6
#define NGX_HTTP_OUTAGE_F_CHECKS      7


typedef struct {
    const char  *name;
    size_t       len;
    int          id;
} ngx_http_outage_field_t;


static int ngx_http_outage_reply_string(const redisReply *r);
static int ngx_http_outage_reply_wrongtype(const redisReply *r);
static int ngx_http_outage_classify_get(const redisReply *r,
    const char **err);
static int ngx_http_outage_classify_hash(const redisReply *r,
    const char **err);
static int ngx_http_outage_field_id(const unsigned char *p, size_t len);
static int ngx_http_outage_json_object(const unsigned char *p, size_t len);
static int ngx_http_outage_state_severity(const redisReply *v);
static int ngx_http_outage_dup_wins(const redisReply *r, int id, size_t i,
    size_t j);
static void ngx_http_outage_dup_warn(const redisReply *r, int id,
    ngx_http_outage_incident_t *out);
static void ngx_http_outage_payload_string(const redisReply *r,
    ngx_http_outage_incident_t *out);
static void ngx_http_outage_payload_hash(const redisReply *r,
    ngx_http_outage_incident_t *out);
static int ngx_http_outage_payload_field_time(const unsigned char *p,
    size_t len, time_t *t);
static void ngx_http_outage_payload_warn(ngx_http_outage_incident_t *out,
    const char *what, const unsigned char *p, size_t len);
static int ngx_http_outage_month(const unsigned char *p);
static int ngx_http_outage_num(const unsigned char *p, size_t len,
    size_t *i, size_t min, size_t max, int *v);
static time_t ngx_http_outage_http_time(const unsigned char *p, size_t len,
    time_t now);
static time_t ngx_http_outage_loose_time(const unsigned char *p, size_t len);
static time_t ngx_http_outage_civil_time(int y, int mo, int d, int h,
    int mi, int s, int zone);


static const ngx_http_outage_field_t  ngx_http_outage_fields[] = {
    { "state",   5, NGX_HTTP_OUTAGE_F_STATE },
    { "message", 7, NGX_HTTP_OUTAGE_F_MESSAGE },
    { "eta",     3, NGX_HTTP_OUTAGE_F_ETA },
    { "link",    4, NGX_HTTP_OUTAGE_F_LINK },
    { "since",   5, NGX_HTTP_OUTAGE_F_SINCE },
    { "starts",  6, NGX_HTTP_OUTAGE_F_STARTS },
    { "ends",    4, NGX_HTTP_OUTAGE_F_ENDS },
    { "checks",  6, NGX_HTTP_OUTAGE_F_CHECKS },
    { NULL, 0, 0 }
};


/* a string reply whose pointer and length agree */

static int
ngx_http_outage_reply_string(const redisReply *r)
{
    if (r->type != REDIS_REPLY_STRING
#ifdef REDIS_REPLY_VERB
        && r->type != REDIS_REPLY_VERB
#endif
       )
    {
        return 0;
    }

    /* hand-built replies may carry str == NULL for "" */
    return r->str != NULL || r->len == 0;
}


static int
ngx_http_outage_reply_wrongtype(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str != NULL && r->len >= 9
           && memcmp(r->str, "WRONGTYPE", 9) == 0;
}


static int
ngx_http_outage_classify_get(const redisReply *r, const char **err)
{
    if (r == NULL) {
        return NGX_HTTP_OUTAGE_R_NONE;
    }

    if (r->type == REDIS_REPLY_NIL) {
        return NGX_HTTP_OUTAGE_R_NIL;
    }

    if (ngx_http_outage_reply_string(r)) {
        return NGX_HTTP_OUTAGE_R_VALUE;
    }

    if (ngx_http_outage_reply_wrongtype(r)) {
        return NGX_HTTP_OUTAGE_R_WRONGTYPE;
    }

    *err = (r->type == REDIS_REPLY_ERROR) ? "GET failed with a Redis error"
                                          : "unexpected GET reply type";

    return NGX_HTTP_OUTAGE_R_BAD;
}


static int
ngx_http_outage_classify_hash(const redisReply *r, const char **err)
{
    size_t  i;

    if (r == NULL) {
        return NGX_HTTP_OUTAGE_R_NONE;
    }

    if (r->type == REDIS_REPLY_NIL) {
        return NGX_HTTP_OUTAGE_R_NIL;
    }

    if (ngx_http_outage_reply_wrongtype(r)) {
        return NGX_HTTP_OUTAGE_R_WRONGTYPE;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        *err = "HGETALL failed with a Redis error";
        return NGX_HTTP_OUTAGE_R_BAD;
    }

    /* RESP3 (hiredis >= 1.0) returns a map, stored as 2n elements */
    if (r->type != REDIS_REPLY_ARRAY
#ifdef REDIS_REPLY_MAP
        && r->type != REDIS_REPLY_MAP
#endif
       )
    {
        *err = "unexpected HGETALL reply type";
        return NGX_HTTP_OUTAGE_R_BAD;
    }

    if (r->elements == 0) {
        return NGX_HTTP_OUTAGE_R_NIL;
    }

    if (r->elements % 2 != 0) {
        *err = "HGETALL reply has an odd number of elements";
        return NGX_HTTP_OUTAGE_R_BAD;
    }

    if (r->element == NULL) {
        *err = "HGETALL reply has no elements vector";
        return NGX_HTTP_OUTAGE_R_BAD;
    }

    for (i = 0; i < r->elements; i++) {
        if (r->element[i] == NULL
            || !ngx_http_outage_reply_string(r->element[i]))
        {
            *err = "HGETALL reply element is not a string";
            return NGX_HTTP_OUTAGE_R_BAD;
        }
    }

    return NGX_HTTP_OUTAGE_R_VALUE;
}


static int
ngx_http_outage_field_id(const unsigned char *p, size_t len)
{
    size_t                          i;
    unsigned char                   c;
    const ngx_http_outage_field_t  *f;

    for (f = ngx_http_outage_fields; f->name; f++) {
        if (f->len != len) {
            continue;
        }

        for (i = 0; i < len; i++) {
            c = p[i];

            if (c >= 'A' && c <= 'Z') {
                c = (unsigned char) (c - 'A' + 'a');
            }

            if (c != (unsigned char) f->name[i]) {
                break;
            }
        }

        if (i == len) {
            return f->id;
        }
    }

    return -1;
}


/*
 * 1 if a string value is structured data rather than a message: after
 * blanks, line ends and a UTF-8 BOM (Windows tools), it starts with "{"
 * and ends with "}" (a JSON object, a Python dict's repr, a JS literal),
 * or starts with "[" then "{", '"' or "]" and ends with "]" (a JSON
 * array).  Messages people write for shoppers do not: "{maintenance}
 * tonight" ends in a letter, "[EU] checkout slow" has a letter after "[".
 */

static int
ngx_http_outage_json_object(const unsigned char *p, size_t len)
{
    size_t  i;

    ngx_http_outage_trim_space(&p, &len);

    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
        len -= 3;
        ngx_http_outage_trim_space(&p, &len);
    }

    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'
                   || p[len - 1] == ' ' || p[len - 1] == '\t'))
    {
        len--;
    }

    while (len && (p[0] == '\r' || p[0] == '\n'
                   || p[0] == ' ' || p[0] == '\t'))
    {
        p++;
        len--;
    }

    if (len < 2) {
        return 0;
    }

    if (p[0] == '{') {
        return p[len - 1] == '}';
    }

    if (p[0] != '[' || p[len - 1] != ']') {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            return p[i] == '{' || p[i] == '"' || p[i] == ']';
        }
    }

    return 0;
}


/*
 * A plain string key is a one-line incident: DEGRADED with the string as
 * the message.  Empty (after sanitising) means absent, so "SET key ''"
 * clears; "ok" or "up" alone is an explicit all-clear, so that the obvious
 * "SET key ok" does not show a banner saying "ok".
 *
 * A JSON object is refused, not read: shoppers would read it raw in a
 * "degraded" banner while its "down" gave no page.  The hash is the one
 * form with fields; the key counts as absent and the warning (an error
 * line, the status) names the fix.
 */

static void
ngx_http_outage_payload_string(const redisReply *r,
    ngx_http_outage_incident_t *out)
{
    int  truncated;

    if (ngx_http_outage_json_object((const unsigned char *) r->str, r->len))
    {
        out->warnings |= NGX_HTTP_OUTAGE_PW_JSON;
        ngx_http_outage_payload_warn(out, "JSON is not read, nothing is "
                                     "applied: write a hash (HSET <key> "
                                     "state down message ...)", NULL, 0);
        return;
    }

    out->message_len = ngx_http_outage_sanitize(out->message,
                                                NGX_HTTP_OUTAGE_MESSAGE_MAX,
                                                (const unsigned char *) r->str,
                                                r->len, &truncated);

    if (out->message_len == 0) {
        return;
    }

    if (truncated) {
        out->truncated = 1;
        out->warnings |= NGX_HTTP_OUTAGE_PW_OVERSIZE;
    }

    if (ngx_http_outage_parse_state(out->message, out->message_len)
        == NGX_HTTP_OUTAGE_STATE_OK)
    {
        out->state = NGX_HTTP_OUTAGE_STATE_OK;
        out->message_len = 0;
        return;
    }

    out->state = NGX_HTTP_OUTAGE_STATE_DEGRADED;
}


/*
 * A time field: 1 if it holds a usable time (in *t), 0 if it is empty
 * (the same as no field), -1 if it is present but unusable.
 */

static int
ngx_http_outage_payload_field_time(const unsigned char *p, size_t len,
    time_t *t)
{
    time_t  v;

    ngx_http_outage_trim_space(&p, &len);

    if (len == 0) {
        return 0;
    }

    v = ngx_http_outage_payload_time(p, len);

    if (v == (time_t) -1) {
        return -1;
    }

    *t = v;

    return 1;
}


/*
 * Appends 'what: "value"' (or just 'what' for p == NULL) to the incident's
 * warning: the value is what a person typed, shown sanitised and cut so
 * that they see their mistake without reading Redis.
 */

static void
ngx_http_outage_payload_warn(ngx_http_outage_incident_t *out,
    const char *what, const unsigned char *p, size_t len)
{
    size_t          n, wlen, need;
    unsigned char   value[NGX_HTTP_OUTAGE_PWARN_VALUE];
    unsigned char  *w;

    n = 0;

    if (p) {
        ngx_http_outage_trim_space(&p, &len);
        n = ngx_http_outage_sanitize(value, sizeof(value), p, len, NULL);
    }

    wlen = strlen(what);

    /*
     * "; " what [': "' value '"'] (a cut value already ends with
     * sanitize()'s ellipsis).  Room for a last "; " U+2026 is always kept:
     * a full buffer says that something was left out rather than hiding it.
     */
    need = 2 + wlen + (p ? 3 + n + 1 : 0);

    if (out->warning_len + need > NGX_HTTP_OUTAGE_PWARN_MAX
                                  - (sizeof(NGX_HTTP_OUTAGE_PWARN_MORE) - 1))
    {
        w = out->warning + out->warning_len;

        if (out->warning_len < sizeof(NGX_HTTP_OUTAGE_PWARN_MORE) - 1
            || memcmp(w - (sizeof(NGX_HTTP_OUTAGE_PWARN_MORE) - 1),
                      NGX_HTTP_OUTAGE_PWARN_MORE,
                      sizeof(NGX_HTTP_OUTAGE_PWARN_MORE) - 1) != 0)
        {
            memcpy(w, NGX_HTTP_OUTAGE_PWARN_MORE,
                   sizeof(NGX_HTTP_OUTAGE_PWARN_MORE) - 1);
            out->warning_len += sizeof(NGX_HTTP_OUTAGE_PWARN_MORE) - 1;
        }

        return;
    }

    w = out->warning + out->warning_len;

    if (out->warning_len) {
        memcpy(w, "; ", 2);
        w += 2;
    }

    memcpy(w, what, wlen);
    w += wlen;

    if (p) {
        memcpy(w, ": \"", 3);
        w += 3;
        memcpy(w, value, n);
        w += n;
        *w++ = '"';
    }

    out->warning_len = w - out->warning;
}


/* 1-12 for a three-letter English month name (any case), else 0 */

static int
ngx_http_outage_month(const unsigned char *p)
{
    int                 m;
    static const char  *months = "janfebmaraprmayjunjulaugsepoctnovdec";

    for (m = 0; m < 12; m++) {
        if (ngx_http_outage_ascii_caseeq(p, months + 3 * m, 3)) {
            return m + 1;
        }
    }

    return 0;
}


/* min to max decimal digits at p[*i], advancing *i */

static int
ngx_http_outage_num(const unsigned char *p, size_t len, size_t *i,
    size_t min, size_t max, int *v)
{
    size_t  n;

    *v = 0;

    for (n = 0; *i < len && n < max && p[*i] >= '0' && p[*i] <= '9'; n++) {
        *v = *v * 10 + (p[*i] - '0');
        (*i)++;
    }

    return n >= min && (*i == len || p[*i] < '0' || p[*i] > '9');
}


/*
 * Fields to a time through the strict ISO parser, so that the range
 * checks (month lengths, leap years, 23:59) exist once.  zone is the
 * offset east of UTC in minutes.
 */

static time_t
ngx_http_outage_civil_time(int y, int mo, int d, int h, int mi, int s,
    int zone)
{
    int   n, az;
    char  buf[40];

    az = zone < 0 ? -zone : zone;

    if (y < 0 || y > 9999 || mo < 0 || mo > 99 || d < 0 || d > 99
        || h < 0 || h > 99 || mi < 0 || mi > 99 || s < 0 || s > 99
        || az > 23 * 60 + 59)
    {
        return (time_t) -1;
    }

    n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
                 y, mo, d, h, mi, s, zone < 0 ? '-' : '+', az / 60, az % 60);

    if (n <= 0 || (size_t) n >= sizeof(buf)) {
        return (time_t) -1;
    }

    return ngx_http_outage_parse_time((const unsigned char *) buf, n);
}


/*
 * RFC 9110 section 5.6.7 on RFC 850's two-digit year: one that "appears
 * to be more than 50 years in the future" is the most recent past year
 * with those digits.  Read by year number, that is the year with these
 * last two digits from 49 years before now's year to 50 after it: in
 * 2026, "76" is 2076 and "77" is 1977 (then refused: before 2000).  A
 * fixed pivot (Python's email.utils: 69-99 are 19xx) reads "69" as 1969
 * now, where RFC 9110 says 2069, and ages with every year.
 */

static int
ngx_http_outage_rfc850_year(int yy, time_t now)
{
    int        y, cur;
    struct tm  tm;

    if (gmtime_r(&now, &tm) == NULL) {
        return -1;
    }

    cur = tm.tm_year + 1900;
    y = cur - cur % 100 + yy;

    if (y > cur + 50) {
        y -= 100;

    } else if (y < cur - 49) {
        y += 100;
    }

    return y;
}


/*
 * RFC 9110 section 5.6.7, as ngx_parse_http_time() reads it (that one
 * needs nginx; this file must not):
 *   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT" (also "+0100", "UTC")
 *   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
 *   asctime      "Sun Nov  6 08:49:37 1994"
 * and date(1)'s own "Sun Nov  6 08:49:37 UTC 1994" (date -u).
 * The day name is skipped, not checked: a wrong weekday is a typo in a
 * field that carries no information.
 */

static time_t
ngx_http_outage_http_time(const unsigned char *p, size_t len, time_t now)
{
    int     y, mo, d, h, mi, s, zh, zm, zone, sign;
    size_t  i;

    i = 0;

    while (i < len && ((p[i] >= 'a' && p[i] <= 'z')
                       || (p[i] >= 'A' && p[i] <= 'Z')))
    {
        i++;
    }

    if (i < 3 || i >= len) {
        return (time_t) -1;
    }

    zone = 0;

    if (p[i] == ',') {
        /* IMF-fixdate or RFC 850 */
        i++;

        if (i >= len || p[i] != ' ') {
            return (time_t) -1;
        }

        i++;

        if (!ngx_http_outage_num(p, len, &i, 1, 2, &d) || i + 5 > len) {
            return (time_t) -1;
        }

        if (p[i] == ' ') {
            i++;

            if ((mo = ngx_http_outage_month(p + i)) == 0
                || i + 4 > len || p[i + 3] != ' ')
            {
                return (time_t) -1;
            }

            i += 4;

            if (!ngx_http_outage_num(p, len, &i, 4, 4, &y)) {
                return (time_t) -1;
            }

        } else if (p[i] == '-') {
            i++;

            if ((mo = ngx_http_outage_month(p + i)) == 0
                || i + 4 > len || p[i + 3] != '-')
            {
                return (time_t) -1;
            }

            i += 4;

            if (!ngx_http_outage_num(p, len, &i, 2, 2, &y)) {
                return (time_t) -1;
            }

            y = ngx_http_outage_rfc850_year(y, now);

        } else {
            return (time_t) -1;
        }

        if (i >= len || p[i] != ' ') {
            return (time_t) -1;
        }

        i++;

        if (!ngx_http_outage_num(p, len, &i, 2, 2, &h)
            || i >= len || p[i++] != ':'
            || !ngx_http_outage_num(p, len, &i, 2, 2, &mi)
            || i >= len || p[i++] != ':'
            || !ngx_http_outage_num(p, len, &i, 2, 2, &s)
            || i >= len || p[i++] != ' ')
        {
            return (time_t) -1;
        }

        if (len - i == 3 && (ngx_http_outage_ascii_caseeq(p + i, "gmt", 3)
                             || ngx_http_outage_ascii_caseeq(p + i, "utc", 3)))
        {
            zone = 0;

        } else if (len - i == 5 && (p[i] == '+' || p[i] == '-')) {
            sign = (p[i] == '+') ? 1 : -1;
            i++;

            if (!ngx_http_outage_num(p, len, &i, 4, 4, &zh)) {
                return (time_t) -1;
            }

            zm = zh % 100;
            zh /= 100;

            if (zm > 59) {
                return (time_t) -1;
            }

            zone = sign * (zh * 60 + zm);

        } else {
            return (time_t) -1;
        }

        return ngx_http_outage_civil_time(y, mo, d, h, mi, s, zone);
    }

    if (p[i] != ' ' || i != 3) {
        return (time_t) -1;
    }

    /* asctime: "Sun Nov  6 08:49:37 1994" */
    i++;

    if (i + 4 > len || (mo = ngx_http_outage_month(p + i)) == 0
        || p[i + 3] != ' ')
    {
        return (time_t) -1;
    }

    i += 4;

    if (i < len && p[i] == ' ') {
        i++;
    }

    if (!ngx_http_outage_num(p, len, &i, 1, 2, &d)
        || i >= len || p[i++] != ' '
        || !ngx_http_outage_num(p, len, &i, 2, 2, &h)
        || i >= len || p[i++] != ':'
        || !ngx_http_outage_num(p, len, &i, 2, 2, &mi)
        || i >= len || p[i++] != ':'
        || !ngx_http_outage_num(p, len, &i, 2, 2, &s)
        || i >= len || p[i++] != ' ')
    {
        return (time_t) -1;
    }

    /*
     * "Mon Dec  7 17:17:29 UTC 2026": what "date -u" prints; other zone
     * names are not read (CST is three different zones)
     */
    if (i + 4 <= len && p[i + 3] == ' '
        && (ngx_http_outage_ascii_caseeq(p + i, "utc", 3)
            || ngx_http_outage_ascii_caseeq(p + i, "gmt", 3)))
    {
        i += 4;
    }

    if (!ngx_http_outage_num(p, len, &i, 4, 4, &y) || i != len) {
        return (time_t) -1;
    }

    return ngx_http_outage_civil_time(y, mo, d, h, mi, s, 0);
}


/*
 * Two spellings scripts and people at night write that the formats above
 * refuse: unix seconds with a fraction ("1796616000.5", Python's
 * time.time(), JavaScript's Date.now() / 1000), cut to the second; and a
 * space before a numeric offset ("2026-12-07T06:00 +01:00").  A time of
 * day alone ("06:00") stays refused: which day, in which zone?
 */

static time_t
ngx_http_outage_loose_time(const unsigned char *p, size_t len)
{
    size_t         i, z;
    unsigned char  buf[64];

    for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        /* void */
    }

    if (i > 0 && i + 1 < len && p[i] == '.') {
        for (z = i + 1; z < len && p[z] >= '0' && p[z] <= '9'; z++) {
            /* void */
        }

        return (z == len) ? ngx_http_outage_payload_time(p, i) : (time_t) -1;
    }

    /* " +HH", " +HHMM", " +HH:MM" after the digit that ends the time */

    for (z = len; z > 0 && p[z - 1] != ' '; z--) {
        /* void */
    }

    if (z < 2 || len - z < 3 || len > sizeof(buf)
        || (p[z] != '+' && p[z] != '-')
        || p[z - 2] < '0' || p[z - 2] > '9')
    {
        return (time_t) -1;
    }

    for (i = z + 1; i < len; i++) {
        if ((p[i] < '0' || p[i] > '9') && p[i] != ':') {
            return (time_t) -1;
        }
    }

    memcpy(buf, p, z - 1);
    memcpy(buf + z - 1, p + z, len - z);

    return ngx_http_outage_parse_time(buf, len - 1);
}


time_t
ngx_http_outage_payload_time(const unsigned char *p, size_t len)
{
    return ngx_http_outage_payload_time_at(p, len, time(NULL));
}


time_t
ngx_http_outage_payload_time_at(const unsigned char *p, size_t len,
    time_t now)
{
    size_t     i;
    time_t     t;
    long long  ms;

    if (p == NULL) {
        return (time_t) -1;
    }

    ngx_http_outage_trim_space(&p, &len);

    if (len == 0) {
        return (time_t) -1;
    }

    for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        /* void */
    }

    if (i == len && len == 13) {
        /*
         * Milliseconds, by magnitude: 13 digits of seconds would be after
         * year 5000, 13 digits of milliseconds are 2001 to 2286.
         */
        for (ms = 0, i = 0; i < len; i++) {
            ms = ms * 10 + (p[i] - '0');
        }

        t = (time_t) (ms / 1000);

        if ((long long) t != ms / 1000) {
            return (time_t) -1;
        }

    } else {
        t = ngx_http_outage_parse_time(p, len);

        /* "2026-12-07 02:18 UTC": the zone word people add */
        if (t == (time_t) -1 && len > 4 && p[len - 4] == ' '
            && (ngx_http_outage_ascii_caseeq(p + len - 3, "utc", 3)
                || ngx_http_outage_ascii_caseeq(p + len - 3, "gmt", 3))
            && len > 5 && p[len - 5] >= '0' && p[len - 5] <= '9')
        {
            t = ngx_http_outage_parse_time(p, len - 4);
        }

        if (t == (time_t) -1) {
            t = ngx_http_outage_http_time(p, len, now);
        }

        if (t == (time_t) -1) {
            t = ngx_http_outage_loose_time(p, len);
        }
    }

    if (t == (time_t) -1 || t < NGX_HTTP_OUTAGE_TIME_MIN) {
        return (time_t) -1;
    }

    return t;
}


/*
 * The rank of a "state" value among its duplicates: down first, "ok"
 * last.  A misspelt value ranks above "ok" as what it is alone (a degraded
 * banner or nothing, never a silenced check), so "ok" wins only when every
 * variant says "ok": a typo next to an old "ok" must not silence a check.
 */

static int
ngx_http_outage_state_severity(const redisReply *v)
{
    switch (ngx_http_outage_parse_state((const unsigned char *) v->str,
                                        v->len))
    {
    case NGX_HTTP_OUTAGE_STATE_DOWN:
        return 4;
    case NGX_HTTP_OUTAGE_STATE_MAINTENANCE:
        return 3;
    case NGX_HTTP_OUTAGE_STATE_DEGRADED:
        return 2;
    case NGX_HTTP_OUTAGE_STATE_OK:
        return 0;
    default:
        return 1;
    }
}


/*
 * Of two fields whose names differ only in case (elements i and j of the
 * HGETALL reply), 1 if i's is the one used.  HGETALL's order is not the
 * order they were written in (a hash over 64-byte values or 128 fields is
 * a hashtable, ordered by a hash seeded at each Redis start), so the
 * choice depends on the values and names alone: the more severe state (a
 * duplicate must not turn a "down", nor a misspelt one, into an "ok"
 * override), "checks" that
 * do not silence (a typo never silences), else the name in lowercase as
 * documented, else the first name in byte order.
 */

static int
ngx_http_outage_dup_wins(const redisReply *r, int id, size_t i, size_t j)
{
    int                   a, b;
    size_t                n;
    const redisReply     *ki, *kj;
    const unsigned char  *vp;

    if (id == NGX_HTTP_OUTAGE_F_STATE) {
        a = ngx_http_outage_state_severity(r->element[i + 1]);
        b = ngx_http_outage_state_severity(r->element[j + 1]);

        if (a != b) {
            return a > b;
        }
    }

    if (id == NGX_HTTP_OUTAGE_F_CHECKS) {
        vp = (const unsigned char *) r->element[i + 1]->str;
        n = r->element[i + 1]->len;
        ngx_http_outage_trim_space(&vp, &n);
        a = (n == sizeof("silenced") - 1
             && ngx_http_outage_ascii_caseeq(vp, "silenced", n));

        vp = (const unsigned char *) r->element[j + 1]->str;
        n = r->element[j + 1]->len;
        ngx_http_outage_trim_space(&vp, &n);
        b = (n == sizeof("silenced") - 1
             && ngx_http_outage_ascii_caseeq(vp, "silenced", n));

        if (a != b) {
            return !a;
        }
    }

    ki = r->element[i];
    kj = r->element[j];

    /* same length: names of one field */
    if (memcmp(ki->str, ngx_http_outage_fields[id].name, ki->len) == 0) {
        return 1;
    }

    if (memcmp(kj->str, ngx_http_outage_fields[id].name, kj->len) == 0) {
        return 0;
    }

    return memcmp(ki->str, kj->str, ki->len) < 0;
}


/* 'field given in several cases ...: "State, state"' for the people */

static void
ngx_http_outage_dup_warn(const redisReply *r, int id,
    ngx_http_outage_incident_t *out)
{
    size_t             i, n;
    unsigned char      names[NGX_HTTP_OUTAGE_PWARN_VALUE];
    const char        *what;
    const redisReply  *k;

    n = 0;

    for (i = 0; i + 1 < r->elements; i += 2) {
        k = r->element[i];

        if (ngx_http_outage_field_id((const unsigned char *) k->str, k->len)
            != id)
        {
            continue;
        }

        if (n && n + 2 <= sizeof(names)) {
            memcpy(names + n, ", ", 2);
            n += 2;
        }

        if (n + k->len > sizeof(names)) {
            break;
        }

        memcpy(names + n, k->str, k->len);
        n += k->len;
    }

    switch (id) {
    case NGX_HTTP_OUTAGE_F_STATE:
        what = "\"state\" given in several cases, the most severe used";
        break;
    case NGX_HTTP_OUTAGE_F_CHECKS:
        what = "\"checks\" given in several cases, silenced only if all "
               "say so";
        break;
    default:
        what = "a field given in several cases, the lowercase name's value "
               "used";
    }

    ngx_http_outage_payload_warn(out, what, names, n);
}


static void
ngx_http_outage_payload_hash(const redisReply *r,
    ngx_http_outage_incident_t *out)
{
    int                   id, state, truncated;
    size_t                i, vlen;
    size_t                pick[NGX_HTTP_OUTAGE_F_CHECKS + 1];
    unsigned              seen, dup;
    time_t                t;
    const redisReply     *k, *v;
    const unsigned char  *vp, *bad_ends;
    size_t                bad_ends_len;

    state = -1;
    seen = 0;
    dup = 0;
    bad_ends = NULL;
    bad_ends_len = 0;

    /*
     * Redis hashes cannot repeat a field, but names differing in case
     * can ("state" and "State"): one is picked whatever HGETALL's order
     * (ngx_http_outage_dup_wins()), and the warning names them.
     */

    for (i = 0; i + 1 < r->elements; i += 2) {
        k = r->element[i];

        id = ngx_http_outage_field_id((const unsigned char *) k->str, k->len);

        if (id < 0) {
            out->warnings |= NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD;
            continue;
        }

        if (!(seen & (1u << id))) {
            seen |= 1u << id;
            pick[id] = i;
            continue;
        }

        if (!(dup & (1u << id))) {
            dup |= 1u << id;
            out->warnings |= NGX_HTTP_OUTAGE_PW_DUPLICATE;
        }

        if (ngx_http_outage_dup_wins(r, id, i, pick[id])) {
            pick[id] = i;
        }
    }

    for (id = 0; id <= NGX_HTTP_OUTAGE_F_CHECKS; id++) {

        if (!(seen & (1u << id))) {
            continue;
        }

        if (dup & (1u << id)) {
            ngx_http_outage_dup_warn(r, id, out);
        }

        v = r->element[pick[id] + 1];

        vp = (const unsigned char *) v->str;
        vlen = v->len;

        switch (id) {

        case NGX_HTTP_OUTAGE_F_STATE:
            state = ngx_http_outage_parse_state(vp, vlen);

            if (state < 0) {
                out->warnings |= NGX_HTTP_OUTAGE_PW_BAD_STATE;
            }

            break;

        case NGX_HTTP_OUTAGE_F_MESSAGE:
            out->message_len =
                ngx_http_outage_sanitize(out->message,
                                         NGX_HTTP_OUTAGE_MESSAGE_MAX,
                                         vp, vlen, &truncated);

            if (truncated) {
                out->truncated = 1;
                out->warnings |= NGX_HTTP_OUTAGE_PW_OVERSIZE;
            }

            break;

        case NGX_HTTP_OUTAGE_F_ETA:
            /* free text ("about an hour") is fine: shown, just not parsed */
            out->eta_text_len =
                ngx_http_outage_sanitize(out->eta_text,
                                         NGX_HTTP_OUTAGE_ETA_MAX,
                                         vp, vlen, &truncated);

            if (truncated) {
                out->warnings |= NGX_HTTP_OUTAGE_PW_OVERSIZE;
            }

            t = ngx_http_outage_payload_time(vp, vlen);
            out->eta = (t == (time_t) -1) ? 0 : t;

            break;

        case NGX_HTTP_OUTAGE_F_CHECKS:
            /*
             * "checks silenced": the operator keeps a failing check from
             * paging while a degraded banner tells shoppers; anything
             * else is a typo, and a typo never silences a check.
             */
            ngx_http_outage_trim_space(&vp, &vlen);

            if (vlen == sizeof("silenced") - 1
                && ngx_http_outage_ascii_caseeq(vp, "silenced", vlen))
            {
                out->silences = 1;
                break;
            }

            out->warnings |= NGX_HTTP_OUTAGE_PW_BAD_CHECKS;
            ngx_http_outage_payload_warn(out, "checks unreadable, the checks "
                                         "decide (only \"silenced\")",
                                         vp, vlen);
            break;

        case NGX_HTTP_OUTAGE_F_LINK:
            ngx_http_outage_trim_space(&vp, &vlen);

            if (vlen == 0) {
                break;
            }

            /* link_valid() caps the length below the buffer size */
            if (!ngx_http_outage_link_valid(vp, vlen)
                || vlen > NGX_HTTP_OUTAGE_LINK_MAX)
            {
                out->warnings |= NGX_HTTP_OUTAGE_PW_BAD_LINK;
                break;
            }

            memcpy(out->link, vp, vlen);
            out->link_len = vlen;

            break;

        case NGX_HTTP_OUTAGE_F_SINCE:
            if (ngx_http_outage_payload_field_time(vp, vlen, &out->since)
                < 0)
            {
                out->warnings |= NGX_HTTP_OUTAGE_PW_BAD_TIME;
                ngx_http_outage_payload_warn(out, "since unparseable", vp,
                                             vlen);
            }

            break;

        case NGX_HTTP_OUTAGE_F_STARTS:
            /*
             * A start nobody can read must not mean "now": that would turn
             * a typo in tonight's schedule into a 503 page at once.
             */
            if (ngx_http_outage_payload_field_time(vp, vlen, &out->starts)
                < 0)
            {
                out->warnings |= NGX_HTTP_OUTAGE_PW_BAD_STARTS;
                out->pending = 1;
                ngx_http_outage_payload_warn(out, "starts unparseable, the "
                                             "incident is only announced",
                                             vp, vlen);
            }

            break;

        case NGX_HTTP_OUTAGE_F_ENDS:
            if (ngx_http_outage_payload_field_time(vp, vlen, &out->ends)
                < 0)
            {
                /* what it means depends on "starts": below */
                bad_ends = vp;
                bad_ends_len = vlen;
            }

            break;
        }
    }

    if (bad_ends && (out->starts || (out->warnings
                                     & NGX_HTTP_OUTAGE_PW_BAD_STARTS)))
    {
        /*
         * No end of a planned window must not mean "forever": a typo in
         * the end of tonight's window would keep a working service behind
         * a 503 page.  Only announced; health decides.
         */
        out->warnings |= NGX_HTTP_OUTAGE_PW_BAD_ENDS;
        out->pending = 1;
        ngx_http_outage_payload_warn(out, "ends unparseable, the incident "
                                     "is only announced", bad_ends,
                                     bad_ends_len);

    } else if (bad_ends) {
        /*
         * Without "starts" the incident is declared now, often at night
         * for a failure no health check sees: a typo in its end must not
         * hide it.  In effect, with no end, until the key changes.
         */
        out->warnings |= NGX_HTTP_OUTAGE_PW_ENDS_IGNORED;
        ngx_http_outage_payload_warn(out, "ends unparseable, ignored: in "
                                     "effect until the key changes",
                                     bad_ends, bad_ends_len);
    }

    /*
     * An end before the start is a typo in one of them.  Neither may open
     * a window that never closes: the incident is only announced (health
     * decides), and the end is kept so that once it has passed, whatever
     * the start says, the incident is over.
     */
    if (out->starts && out->ends && out->ends <= out->starts) {
        out->warnings |= NGX_HTTP_OUTAGE_PW_BAD_WINDOW;
        out->pending = 1;
        ngx_http_outage_payload_warn(out, "ends not after starts, the "
                                     "incident is only announced", NULL, 0);
    }

    if (state >= 0) {
        out->state = state;
        return;
    }

    if (!(seen & (1u << NGX_HTTP_OUTAGE_F_STATE))) {
        out->warnings |= NGX_HTTP_OUTAGE_PW_NO_STATE;
    }

    /*
     * Without a usable state, a message still deserves a banner, but
     * nothing stronger: guessing "down" or "maintenance" could turn a typo
     * into 503s for everyone.
     */
    out->state = out->message_len ? NGX_HTTP_OUTAGE_STATE_DEGRADED
                                  : NGX_HTTP_OUTAGE_STATE_NONE;
}


int
ngx_http_outage_payload_parse(const redisReply *get_reply,
    const redisReply *hgetall_reply, ngx_http_outage_incident_t *out,
    const char **err)
{
    int          g, h;
    const char  *reason;

    memset(out, 0, sizeof(ngx_http_outage_incident_t));
    out->state = NGX_HTTP_OUTAGE_STATE_NONE;

    reason = NULL;

    if (err) {
        *err = NULL;
    }

    g = ngx_http_outage_classify_get(get_reply, &reason);
    h = ngx_http_outage_classify_hash(hgetall_reply, &reason);

    if (g == NGX_HTTP_OUTAGE_R_BAD || h == NGX_HTTP_OUTAGE_R_BAD) {
        goto malformed;
    }

    if (g == NGX_HTTP_OUTAGE_R_NONE && h == NGX_HTTP_OUTAGE_R_NONE) {
        reason = "no replies";
        goto malformed;
    }

    if (g == NGX_HTTP_OUTAGE_R_VALUE && h == NGX_HTTP_OUTAGE_R_VALUE) {
        /* one key cannot be both: the replies are not from one key */
        reason = "both a string and a hash reply";
        goto malformed;
    }

    if (g == NGX_HTTP_OUTAGE_R_VALUE) {
        ngx_http_outage_payload_string(get_reply, out);
        return 0;
    }

    if (h == NGX_HTTP_OUTAGE_R_VALUE) {
        ngx_http_outage_payload_hash(hgetall_reply, out);
        return 0;
    }

    if (g == NGX_HTTP_OUTAGE_R_WRONGTYPE || h == NGX_HTTP_OUTAGE_R_WRONGTYPE) {
        /*
         * The key exists but is a list, set, ...: well-formed replies, so
         * not "malformed" (that keeps a stale state forever); the scope is
         * treated as absent and the warning tells the caller to log it.
         */
        out->warnings |= NGX_HTTP_OUTAGE_PW_WRONG_TYPE;
    }

    return 0;

malformed:

    memset(out, 0, sizeof(ngx_http_outage_incident_t));
    out->state = NGX_HTTP_OUTAGE_STATE_NONE;

    if (err) {
        *err = reason ? reason : "malformed replies";
    }

    return -1;
}


int
ngx_http_outage_payload_field_known(const unsigned char *name, size_t len)
{
    return ngx_http_outage_field_id(name, len) >= 0;
}


const char *
ngx_http_outage_payload_warning_text(unsigned bit)
{
    switch (bit) {
    case NGX_HTTP_OUTAGE_PW_NO_STATE:
        return "no \"state\" field";
    case NGX_HTTP_OUTAGE_PW_BAD_STATE:
        return "unknown \"state\" value";
    case NGX_HTTP_OUTAGE_PW_BAD_LINK:
        return "\"link\" is not a valid http(s) URL, ignored";
    case NGX_HTTP_OUTAGE_PW_BAD_TIME:
        return "unparseable \"since\" time, ignored";
    case NGX_HTTP_OUTAGE_PW_BAD_WINDOW:
        return "\"ends\" is not after \"starts\": the incident is only "
               "announced, never in effect, and over once \"ends\" has passed";
    case NGX_HTTP_OUTAGE_PW_BAD_STARTS:
        return "unparseable \"starts\" time: the incident is only announced, "
               "never in effect, until \"starts\" is fixed";
    case NGX_HTTP_OUTAGE_PW_BAD_ENDS:
        return "unparseable \"ends\" time: the incident is only announced, "
               "never in effect, until \"ends\" is fixed";
    case NGX_HTTP_OUTAGE_PW_ENDS_IGNORED:
        return "unparseable \"ends\" time, ignored (no \"starts\"): the "
               "incident is in effect until the key changes";
    case NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD:
        return "unknown field, ignored";
    case NGX_HTTP_OUTAGE_PW_WRONG_TYPE:
        return "key is neither a string nor a hash, ignored";
    case NGX_HTTP_OUTAGE_PW_OVERSIZE:
        return "\"message\" or \"eta\" too long, cut";
    case NGX_HTTP_OUTAGE_PW_DUPLICATE:
        return "field given twice (names differ only in case): the most "
               "severe state, silencing only if all say so, else the "
               "lowercase name's value used";
    case NGX_HTTP_OUTAGE_PW_VALUE_CUT:
        return "a value longer than 65536 bytes, only its first 65536 read";
    case NGX_HTTP_OUTAGE_PW_FIELDS_CUT:
        return "more than 64 fields: only state, message, eta, link, since, "
               "starts, ends and checks were read";
    case NGX_HTTP_OUTAGE_PW_BAD_CHECKS:
        return "\"checks\" is not \"silenced\": the checks decide";
    case NGX_HTTP_OUTAGE_PW_JSON:
        return "the string is JSON, which is not read: nothing is applied; "
               "write a hash (HSET <key> state down message ...)";
    }

    return "unknown warning";
}


time_t
ngx_http_outage_payload_view_eta(time_t eta, time_t starts, time_t ends,
    time_t expiry, int maintenance, time_t now)
{
    if (eta <= now || (starts && eta < starts)) {
        eta = 0;
    }

    if (eta == 0 && maintenance && ends > now) {
        eta = ends;
    }

    if (ends && eta > ends) {
        eta = ends;
    }

    /*
     * "expiry" comes from a millisecond TTL and the second of the rebuild,
     * a second early or not by the phase: an eta within two seconds of it
     * is the same end ("eta now+600" with "EXPIRE 600"), not after it, so
     * that it does not come and go between rebuilds and workers
     */
    if (expiry && eta > expiry + 2) {
        eta = 0;
    }

    return (eta > now) ? eta : 0;
}


int
ngx_http_outage_incident_window(const ngx_http_outage_incident_t *inc,
    time_t now, int64_t left_ms)
{
    if (inc->ends && now >= inc->ends) {
        return NGX_HTTP_OUTAGE_WINDOW_OVER;
    }

    /* the key's own expiry (PTTL): over where Redis would have deleted it */
    if (inc->expires && left_ms <= 0) {
        return NGX_HTTP_OUTAGE_WINDOW_OVER;
    }

    if (inc->pending || (inc->starts && now < inc->starts)) {
        return NGX_HTTP_OUTAGE_WINDOW_ANNOUNCED;
    }

    return NGX_HTTP_OUTAGE_WINDOW_OPEN;
}


int
ngx_http_outage_incident_silences(const ngx_http_outage_incident_t *inc,
    time_t now, int64_t left_ms)
{
    return (inc->state == NGX_HTTP_OUTAGE_STATE_OK
            || (inc->state == NGX_HTTP_OUTAGE_STATE_DEGRADED
                && inc->silences))
           && ngx_http_outage_incident_window(inc, now, left_ms)
              == NGX_HTTP_OUTAGE_WINDOW_OPEN;
}


int
ngx_http_outage_incident_decides(const ngx_http_outage_incident_t *inc,
    time_t now, int64_t left_ms)
{
    if (ngx_http_outage_incident_window(inc, now, left_ms)
        != NGX_HTTP_OUTAGE_WINDOW_OPEN)
    {
        return 0;
    }

    return inc->state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE
           || inc->state == NGX_HTTP_OUTAGE_STATE_DOWN
           || ngx_http_outage_incident_silences(inc, now, left_ms);
}
