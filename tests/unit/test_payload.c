
/*
 * Unit tests for ngx_http_outage_payload.c.  Replies are built the way the
 * module gets them: RESP text fed to a hiredis reader, an EXEC array of the
 * GET and HGETALL replies; a few odd shapes are built by hand.
 * Runner (tests/support/unit_runner.h): one line per failed check, then
 * "payload: N passed, M failed"; exit status 1 if anything failed.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_payload.h"
#include "../support/unit_runner.h"


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} resp_t;


#define WRONGTYPE  "WRONGTYPE Operation against a key holding the wrong " \
                   "kind of value"

#define WARN_IS(inc, s)                                                      \
    ((inc).warning_len == strlen(s)                                          \
     && memcmp((inc).warning, (s), strlen(s)) == 0)

#define MSG_IS(inc, s)                                                       \
    ((inc).message_len == strlen(s)                                          \
     && memcmp((inc).message, (s), strlen(s)) == 0)


static int
has(const unsigned char *p, size_t len, const char *s)
{
    size_t  i, n;

    n = strlen(s);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(p + i, s, n) == 0) {
            return 1;
        }
    }

    return 0;
}


/* ---- RESP builder ----------------------------------------------------- */

static void
resp_add(resp_t *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2 + 64;
        r->data = realloc(r->data, r->cap);

        if (r->data == NULL) {
            printf("out of memory\n");
            exit(2);
        }
    }

    memcpy(r->data + r->len, p, n);
    r->len += n;
}


static void
resp_header(resp_t *r, char type, long long n)
{
    char  buf[32];
    int   k;

    k = snprintf(buf, sizeof(buf), "%c%lld\r\n", type, n);
    resp_add(r, buf, (size_t) k);
}


static void
resp_bulk(resp_t *r, const void *p, size_t n)
{
    resp_header(r, '$', (long long) n);
    resp_add(r, p, n);
    resp_add(r, "\r\n", 2);
}


static void
resp_str(resp_t *r, const char *s)
{
    resp_bulk(r, s, strlen(s));
}


static void
resp_line(resp_t *r, char type, const char *s)
{
    resp_add(r, &type, 1);
    resp_add(r, s, strlen(s));
    resp_add(r, "\r\n", 2);
}


/* parses one complete reply; the caller frees it */

static redisReply *
resp_parse(resp_t *r)
{
    redisReader  *reader;
    void         *reply;

    reader = redisReaderCreate();
    reply = NULL;

    if (reader == NULL) {
        return NULL;
    }

    if (redisReaderFeed(reader, r->data, r->len) != REDIS_OK
        || redisReaderGetReply(reader, &reply) != REDIS_OK)
    {
        reply = NULL;
    }

    redisReaderFree(reader);

    return reply;
}


/*
 * r holds an EXEC reply: "*2" then the GET and HGETALL replies.  Parses it
 * and runs payload_parse on the two elements.
 */

static int
parse_exec(resp_t *r, ngx_http_outage_incident_t *inc, const char **err)
{
    redisReply  *reply;
    int          rc;

    reply = resp_parse(r);
    free(r->data);
    memset(r, 0, sizeof(resp_t));

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2)
    {
        printf("  test setup: bad RESP\n");
        current_failed = 1;

        if (reply) {
            freeReplyObject(reply);
        }

        return -2;
    }

    rc = ngx_http_outage_payload_parse(reply->element[0], reply->element[1],
                                       inc, err);
    freeReplyObject(reply);

    return rc;
}


/* EXEC reply for a string key */

static int
parse_string(const void *p, size_t n, ngx_http_outage_incident_t *inc)
{
    resp_t       r = { NULL, 0, 0 };
    const char  *err;

    resp_header(&r, '*', 2);
    resp_bulk(&r, p, n);
    resp_line(&r, '-', WRONGTYPE);

    return parse_exec(&r, inc, &err);
}


/* EXEC reply for a hash key given as NULL-terminated name, value pairs */

static int
parse_hash(ngx_http_outage_incident_t *inc, const char **err, ...)
{
    resp_t       r = { NULL, 0, 0 };
    va_list      ap;
    const char  *s;
    size_t       n;

    n = 0;
    va_start(ap, err);
    while (va_arg(ap, const char *) != NULL) {
        n++;
    }
    va_end(ap);

    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', (long long) n);

    va_start(ap, err);
    while ((s = va_arg(ap, const char *)) != NULL) {
        resp_str(&r, s);
    }
    va_end(ap);

    return parse_exec(&r, inc, err);
}


static int
utf8_clean(const unsigned char *p, size_t len)
{
    size_t  i;

    /* only what the tests need: no controls, no invalid lead bytes */
    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7F || p[i] == 0xFF || p[i] == 0xC0) {
            return 0;
        }
    }

    return 1;
}


static int
incident_empty(const ngx_http_outage_incident_t *inc)
{
    return inc->state == NGX_HTTP_OUTAGE_STATE_NONE && inc->message_len == 0
           && inc->eta_text_len == 0 && inc->eta == 0 && inc->link_len == 0
           && inc->since == 0 && inc->starts == 0 && inc->ends == 0
           && inc->truncated == 0;
}


/* ---- string keys ------------------------------------------------------ */

static void
t_string_key(void)
{
    ngx_http_outage_incident_t  inc;

    CHECK(parse_string("Checkout is slow", 16, &inc) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(MSG_IS(inc, "Checkout is slow"));
    CHECK(inc.warnings == 0);
    CHECK(inc.link_len == 0 && inc.eta == 0 && inc.since == 0);
}


static void
t_string_empty(void)
{
    ngx_http_outage_incident_t  inc;

    CHECK(parse_string("", 0, &inc) == 0);
    CHECK(incident_empty(&inc));
    CHECK(inc.warnings == 0);

    CHECK(parse_string(" \r\n\t\0 ", 6, &inc) == 0);
    CHECK(incident_empty(&inc));
}


static void
t_string_ok(void)
{
    ngx_http_outage_incident_t  inc;

    CHECK(parse_string("ok", 2, &inc) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_OK && inc.message_len == 0);

    CHECK(parse_string(" UP\r\n", 5, &inc) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_OK && inc.message_len == 0);

    /* only the all-clear words are special */
    CHECK(parse_string("down", 4, &inc) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED && MSG_IS(inc, "down"));

    CHECK(parse_string("all ok", 6, &inc) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
}


static void
t_string_controls(void)
{
    ngx_http_outage_incident_t  inc;

    CHECK(parse_string("Line1\r\nLine2\0end \xff<b>", 21, &inc) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(MSG_IS(inc, "Line1 Line2end \xef\xbf\xbd<b>"));
}


static void
t_string_1mb(void)
{
    ngx_http_outage_incident_t  inc;
    char                       *big;
    size_t                      n;

    n = 1 << 20;
    big = malloc(n);
    CHECK(big != NULL);
    if (big == NULL) {
        return;
    }

    memset(big, 'x', n);

    CHECK(parse_string(big, n, &inc) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(inc.message_len <= NGX_HTTP_OUTAGE_MESSAGE_MAX);
    CHECK(inc.message_len == NGX_HTTP_OUTAGE_MESSAGE_MAX);
    CHECK(inc.truncated == 1);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_OVERSIZE);
    CHECK(memcmp(inc.message + inc.message_len - 3, "\xe2\x80\xa6", 3) == 0);

    free(big);
}


/* ---- hash keys -------------------------------------------------------- */

static void
t_hash_full(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err,
                     "state", "down",
                     "message", "Checkout is down",
                     "eta", "2026-11-22T15:30Z",
                     "link", "https://status.example.com",
                     "since", "2026-11-22T14:00Z",
                     "starts", "1795300000",
                     "ends", "2026-11-22 16:00",
                     NULL) == 0);
    CHECK(err == NULL);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(MSG_IS(inc, "Checkout is down"));
    CHECK(inc.eta == 1795361400);
    CHECK(inc.eta_text_len == 17
          && memcmp(inc.eta_text, "2026-11-22T15:30Z", 17) == 0);
    CHECK(inc.link_len == 26
          && memcmp(inc.link, "https://status.example.com", 26) == 0);
    CHECK(inc.since == 1795356000);
    CHECK(inc.starts == 1795300000);
    CHECK(inc.ends == 1795363200);
    CHECK(inc.warnings == 0);
    CHECK(inc.truncated == 0);
}


static void
t_hash_case_insensitive(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "STATE", "Maintenance", "Message", "Tonight",
                     "ETA", "soon", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE);
    CHECK(MSG_IS(inc, "Tonight"));
    CHECK(inc.eta_text_len == 4 && inc.eta == 0);
    CHECK(inc.warnings == 0);
}


static void
t_hash_state_ok(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "ok", "message", "Resolved",
                     NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_OK);
    CHECK(MSG_IS(inc, "Resolved"));
    CHECK(inc.warnings == 0);

    CHECK(parse_hash(&inc, &err, "state", "ok", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_OK && inc.warnings == 0);
}


static void
t_hash_checks_silenced(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "degraded", "message", "Cards",
                     "Checks", " Silenced ", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(inc.silences == 1 && inc.warnings == 0);

    /* a typo never silences a check, and says so */
    CHECK(parse_hash(&inc, &err, "state", "degraded", "message", "Cards",
                     "checks", "silent", NULL) == 0);
    CHECK(inc.silences == 0);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_CHECKS);
    CHECK(inc.warning_len > 0
          && strstr((const char *) inc.warning, "checks") != NULL);

    CHECK(parse_hash(&inc, &err, "state", "degraded", "message", "Cards",
                     NULL) == 0);
    CHECK(inc.silences == 0 && inc.warnings == 0);
}


static void
t_hash_invalid_state(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "donw", "message", "x", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_STATE);

    CHECK(parse_hash(&inc, &err, "state", "donw", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_STATE);

    CHECK(parse_hash(&inc, &err, "state", "", "message", "x", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_STATE);
}


static void
t_hash_missing_state(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "message", "Slow search", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(MSG_IS(inc, "Slow search"));
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_NO_STATE);

    /* no message either: nothing to show */
    CHECK(parse_hash(&inc, &err, "link", "https://a.example", "starts",
                     "2026-11-22T15:30Z", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_NO_STATE);

    /* a message that sanitises to nothing is no message */
    CHECK(parse_hash(&inc, &err, "message", " \t ", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE);
}


static void
t_hash_message_controls(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 4);
    resp_str(&r, "state");
    resp_str(&r, "degraded");
    resp_str(&r, "message");
    resp_bulk(&r, "line1\r\nline2\0end<script>\x1b[31m", 29);

    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(MSG_IS(inc, "line1 line2end<script> [31m"));
    CHECK(utf8_clean(inc.message, inc.message_len));
}


static void
t_hash_message_1mb(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;
    char                       *big;
    size_t                      n, i;

    n = 1 << 20;
    big = malloc(n);
    CHECK(big != NULL);
    if (big == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        big[i] = "ab\xc3\xa9\n\0\xff"[i % 7];
    }

    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 6);
    resp_str(&r, "state");
    resp_str(&r, "down");
    resp_str(&r, "message");
    resp_bulk(&r, big, n);
    resp_str(&r, "eta");
    resp_bulk(&r, big, n);

    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(inc.message_len <= NGX_HTTP_OUTAGE_MESSAGE_MAX);
    CHECK(inc.eta_text_len <= NGX_HTTP_OUTAGE_ETA_MAX);
    CHECK(inc.truncated == 1);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_OVERSIZE);
    CHECK(utf8_clean(inc.message, inc.message_len));
    CHECK(inc.eta == 0);

    free(big);
}


static void
t_hash_bad_link(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "down", "link",
                     "javascript:alert(document.cookie)", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(inc.link_len == 0);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_LINK);

    CHECK(parse_hash(&inc, &err, "state", "down", "link",
                     "https://x.example/\"><script>", NULL) == 0);
    CHECK(inc.link_len == 0 && inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_LINK);

    /* surrounding spaces are forgiven, an empty link is just absent */
    CHECK(parse_hash(&inc, &err, "state", "down", "link",
                     "  https://status.example.com/  ", NULL) == 0);
    CHECK(inc.link_len == 27 && inc.warnings == 0);

    CHECK(parse_hash(&inc, &err, "state", "down", "link", "", NULL) == 0);
    CHECK(inc.link_len == 0 && inc.warnings == 0);
}


static void
t_hash_link_length(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;
    char                        url[NGX_HTTP_OUTAGE_URL_MAX + 2];

    memset(url, 'a', sizeof(url));
    memcpy(url, "https://a/", 10);
    url[NGX_HTTP_OUTAGE_URL_MAX] = '\0';

    CHECK(parse_hash(&inc, &err, "state", "down", "link", url, NULL) == 0);
    CHECK(inc.link_len == NGX_HTTP_OUTAGE_URL_MAX && inc.warnings == 0);
    CHECK(inc.link_len < NGX_HTTP_OUTAGE_LINK_MAX);

    url[NGX_HTTP_OUTAGE_URL_MAX] = 'a';
    url[NGX_HTTP_OUTAGE_URL_MAX + 1] = '\0';

    CHECK(parse_hash(&inc, &err, "state", "down", "link", url, NULL) == 0);
    CHECK(inc.link_len == 0 && inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_LINK);
}


static void
t_hash_window(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "maintenance",
                     "starts", "2026-11-22T15:30Z",
                     "ends", "2026-11-22T16:30Z", NULL) == 0);
    CHECK(inc.starts == 1795361400 && inc.ends == 1795365000);
    CHECK(inc.warnings == 0);

    /* redis-cli -x keeps the line end of what it read */
    CHECK(parse_hash(&inc, &err, "state", "down\n",
                     "starts", "2026-11-22T15:30Z\n",
                     "ends", "2026-11-22T16:30Z\r\n", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(inc.starts == 1795361400 && inc.ends == 1795365000);
    CHECK(inc.warnings == 0);

    /*
     * an end before the start: neither "open now" nor "never ends": only
     * announced, and the end is kept so that it is over once it has passed
     */
    CHECK(parse_hash(&inc, &err, "state", "maintenance",
                     "starts", "2026-11-22T16:30Z",
                     "ends", "2026-11-22T15:30Z", NULL) == 0);
    CHECK(inc.starts == 1795365000 && inc.ends == 1795361400);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_WINDOW);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE);
    CHECK(inc.pending == 1);
    CHECK(WARN_IS(inc, "ends not after starts, the incident is only "
                       "announced"));

    CHECK(parse_hash(&inc, &err, "state", "maintenance",
                     "starts", "1795361400", "ends", "1795361400",
                     NULL) == 0);
    CHECK(inc.starts == 1795361400 && inc.ends == 1795361400);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_WINDOW && inc.pending == 1);

    /* open-ended windows are kept */
    CHECK(parse_hash(&inc, &err, "state", "maintenance",
                     "ends", "2026-11-22T16:30Z", NULL) == 0);
    CHECK(inc.starts == 0 && inc.ends == 1795365000 && inc.warnings == 0);
}


static void
t_hash_bad_time(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "down", "since", "yesterday",
                     "starts", "2026-02-30T10:00Z", NULL) == 0);
    CHECK(inc.since == 0 && inc.starts == 0);
    CHECK(inc.warnings == (NGX_HTTP_OUTAGE_PW_BAD_TIME
                           | NGX_HTTP_OUTAGE_PW_BAD_STARTS));
    /* a start nobody can read never means "now" */
    CHECK(inc.pending == 1);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(WARN_IS(inc, "since unparseable: \"yesterday\"; starts "
                       "unparseable, the incident is only announced: "
                       "\"2026-02-30T10:00Z\""));

    CHECK(parse_hash(&inc, &err, "state", "down", "since", " ", NULL) == 0);
    CHECK(inc.since == 0 && inc.warnings == 0 && inc.warning_len == 0);

    /* empty starts is no starts: in effect now, not pending */
    CHECK(parse_hash(&inc, &err, "state", "down", "starts", "", NULL) == 0);
    CHECK(inc.pending == 0 && inc.warnings == 0);

    /* an unparseable window end never means "forever": only announced */
    CHECK(parse_hash(&inc, &err, "state", "maintenance",
                     "starts", "2026-11-22T15:30Z", "ends", " later ",
                     NULL) == 0);
    CHECK(inc.starts == 1795361400 && inc.ends == 0);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_ENDS);
    CHECK(inc.pending == 1);
    CHECK(WARN_IS(inc, "ends unparseable, the incident is only announced: "
                       "\"later\""));

    /* the quoted value is sanitised (no controls) and cut */
    CHECK(parse_hash(&inc, &err, "state", "maintenance", "starts",
                     "\x01<b>\"x\"</b>\n0123456789012345678901234567890123456"
                     "789012345678901234567890123456789", NULL) == 0);
    CHECK(inc.pending == 1 && inc.starts == 0);
    CHECK(inc.warning_len <= NGX_HTTP_OUTAGE_PWARN_MAX);
    CHECK(memchr(inc.warning, '\n', inc.warning_len) == NULL);
    CHECK(memchr(inc.warning, '\x01', inc.warning_len) == NULL);
    /* one ellipsis (sanitize's), not two */
    CHECK(inc.warning_len > 4
          && memcmp(inc.warning + inc.warning_len - 4, "\xe2\x80\xa6\"", 4)
             == 0);
    CHECK(!has(inc.warning, inc.warning_len, "..."));

    /* all three bad at once: the warning stays within its buffer */
    CHECK(parse_hash(&inc, &err, "state", "maintenance",
                     "since", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                     "starts", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
                     "ends", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                     NULL) == 0);
    CHECK(inc.warnings == (NGX_HTTP_OUTAGE_PW_BAD_TIME
                           | NGX_HTTP_OUTAGE_PW_BAD_STARTS
                           | NGX_HTTP_OUTAGE_PW_BAD_ENDS));
    CHECK(inc.warning_len <= NGX_HTTP_OUTAGE_PWARN_MAX);
    CHECK(has(inc.warning, inc.warning_len, "starts unparseable"));
    /* the last one, ends, still fits, with a single ellipsis */
    CHECK(has(inc.warning, inc.warning_len, "\"; ends unparseable, the "
                                            "incident is only announced: "
                                            "\"zzz"));
    CHECK(inc.warning_len > 4
          && memcmp(inc.warning + inc.warning_len - 4, "\xe2\x80\xa6\"", 4)
             == 0);
    CHECK(!has(inc.warning, inc.warning_len, "..."));
}


/* the forms on-call people and tools write, all for 2026-12-07T02:18Z */

static void
t_time_forms(void)
{
    size_t       i;
    time_t       want;
    const char  *s;

    static const char  *good[] = {
        "2026-12-07T02:18Z",
        "2026-12-07T02:18:00Z",
        "2026-12-07t02:18:00.000Z",
        "2026-12-07T02:18:00.000000000Z",
        "2026-12-07T03:18:00+01:00",
        "2026-12-06T21:18:00-0500",
        "2026-12-07 02:18",
        "2026-12-07 02:18 UTC",
        "2026-12-07 02:18:00 UTC",
        "2026-12-07 02:18:00 utc",
        "2026-12-07 02:18 GMT",
        "  2026-12-07 02:18 UTC\t",
        "Mon, 07 Dec 2026 02:18:00 GMT",
        "Mon, 07 Dec 2026 02:18:00 UTC",
        "Mon, 7 Dec 2026 02:18:00 GMT",
        "mon, 07 dec 2026 02:18:00 gmt",
        "Mon, 07 Dec 2026 03:18:00 +0100",
        "Sun, 06 Dec 2026 21:18:00 -0500",
        "Monday, 07-Dec-26 02:18:00 GMT",
        "Mon Dec  7 02:18:00 2026",
        "Mon Dec 7 02:18:00 2026",
        "Mon Dec  7 02:18:00 UTC 2026",          /* date -u */
        "Mon Dec  7 02:18:00 GMT 2026\n",        /* date -u | redis-cli -x */
        "2026-12-07T02:18:00Z\r\n",
        "1796609880",
        "1796609880000",
        "1796609880999",
        NULL
    };

    static const char  *bad[] = {
        "", "   ", "tomorrow", "2026-12-07 02:18 CET", "2026-12-07 02:18UTC",
        "2026-12-07 UTC UTC", "Mon, 07 Dec 2026 02:18:00", "Mon, 07 Dec 2026 "
        "02:18:00 PST", "Mon, 32 Dec 2026 02:18:00 GMT",
        "Mon, 07 Foo 2026 02:18:00 GMT", "Mon, 07 Dec 2026 24:18:00 GMT",
        "Mon, 07 Dec 2026 02:18:00 +2400", "Mon, 07 Dec 2026 02:18:00 +0160",
        "Mon, 07 Dec 20266 02:18:00 GMT", "Monday, 07-Dec-2026 02:18:00 GMT",
        "Mon Dec  7 02:18:00 2026 GMT", "Mon Dec  7 2:18:00 2026",
        "Mon Dec  7 02:18:00 CST 2026", "Mon Dec  7 02:18:00 UTC  2026",
        "Mon Dec  7 02:18:00 UTC",
        "Mon, 29 Feb 2027 00:00:00 GMT", "Mon,07 Dec 2026 02:18:00 GMT",
        "M, 07 Dec 2026 02:18:00 GMT",
        /* milliseconds by magnitude only: 14 digits, 11 digits are not */
        "17966098800000", "00000000000001", "0001796609880",
        /* before 2000: always a mistake */
        "30", "946684799", "Fri, 31 Dec 1999 23:59:59 GMT",
        "Friday, 31-Dec-99 23:59:59 GMT", "0000000000001",
        NULL
    };

    want = 1796609880;

    for (i = 0; good[i]; i++) {
        s = good[i];

        if (ngx_http_outage_payload_time((const unsigned char *) s,
                                         strlen(s))
            != want)
        {
            printf("FAIL %s: \"%s\" -> %lld\n", current, s,
                   (long long) ngx_http_outage_payload_time(
                       (const unsigned char *) s, strlen(s)));
            current_failed = 1;
        }
    }

    for (i = 0; bad[i]; i++) {
        s = bad[i];

        if (ngx_http_outage_payload_time((const unsigned char *) s,
                                         strlen(s))
            != (time_t) -1)
        {
            printf("FAIL %s: \"%s\" accepted\n", current, s);
            current_failed = 1;
        }
    }

    /*
     * RFC 9110 5.6.7: a two-digit year more than 50 years ahead is the
     * past century, read against "now" (2026-12-06, then 2076-06-01 and
     * 2099-01-01): the window is now's year - 49 to + 50.
     */
#define T850(str, now)                                                        \
    ngx_http_outage_payload_time_at((const unsigned char *) (str),           \
                                    strlen(str), (time_t) (now))

    CHECK(T850("Sunday, 06-Nov-94 08:49:37 GMT", 1796515200LL)
          == (time_t) -1);                  /* 1994: before 2000 */
    CHECK(T850("Thursday, 01-Jan-70 00:00:00 GMT", 1796515200LL)
          == (time_t) 3155760000LL);        /* 2070, 44 years ahead */
    CHECK(T850("Friday, 06-Nov-76 08:49:37 GMT", 1796515200LL)
          == (time_t) 3371878177LL);        /* 2076: 50 years, not more */
    CHECK(T850("Saturday, 06-Nov-77 08:49:37 GMT", 1796515200LL)
          == (time_t) -1);                  /* 1977 */
    CHECK(T850("Friday, 01-Jan-49 00:00:00 GMT", 1796515200LL)
          == (time_t) 2493072000LL);
    CHECK(T850("Saturday, 06-Nov-27 08:49:37 GMT", 3358195200LL)
          == (time_t) 1825490977LL);        /* from 2076: 2027, not 2127 */
    CHECK(T850("Friday, 06-Nov-26 08:49:37 GMT", 3358195200LL)
          == (time_t) 4949628577LL);        /* 2126: 50 years, not more */
    CHECK(T850("Tuesday, 01-Jan-05 00:00:00 GMT", 4070908800LL)
          == (time_t) 4260211200LL);        /* from 2099: 2105 */
    CHECK(T850("Saturday, 06-Nov-94 08:49:37 GMT", 4070908800LL)
          == (time_t) 3939871777LL);        /* from 2099: 2094 */
#undef T850
    s = "Sat, 29 Feb 2028 12:00:00 GMT";
    CHECK(ngx_http_outage_payload_time((const unsigned char *) s, strlen(s))
          == (time_t) 1835438400LL);
    CHECK(ngx_http_outage_payload_time(NULL, 0) == (time_t) -1);

    /* every form reaches the incident's fields, eta included */
    {
        ngx_http_outage_incident_t  inc;
        const char                 *err;

        CHECK(parse_hash(&inc, &err, "state", "maintenance",
                         "starts", "2026-12-07 02:18 UTC",
                         "ends", "Mon, 07 Dec 2026 04:18:00 GMT",
                         "eta", "1796617080000", NULL) == 0);
        CHECK(inc.starts == 1796609880 && inc.ends == 1796617080);
        CHECK(inc.eta == 1796617080);
        CHECK(inc.warnings == 0 && inc.pending == 0 && inc.warning_len == 0);
    }
}


static void
t_hash_eta(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "down",
                     "eta", "about an hour\n", NULL) == 0);
    CHECK(inc.eta == 0);
    CHECK(inc.eta_text_len == 13
          && memcmp(inc.eta_text, "about an hour", 13) == 0);
    CHECK(inc.warnings == 0);

    CHECK(parse_hash(&inc, &err, "state", "down",
                     "eta", "2026-11-22T15:30:00+01:00", NULL) == 0);
    CHECK(inc.eta == 1795357800);

    CHECK(parse_hash(&inc, &err, "state", "down", "eta",
                     "a very long estimate that goes on and on and on and on "
                     "and on for a while", NULL) == 0);
    CHECK(inc.eta_text_len <= NGX_HTTP_OUTAGE_ETA_MAX);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_OVERSIZE);
    CHECK(inc.truncated == 0);
}


static void
t_hash_ancient_times(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    /* "eta 30" meant as minutes must not become 1970-01-01T00:00:30Z */
    CHECK(parse_hash(&inc, &err, "state", "down", "eta", "30", NULL) == 0);
    CHECK(inc.eta == 0);
    CHECK(inc.eta_text_len == 2 && memcmp(inc.eta_text, "30", 2) == 0);
    CHECK(inc.warnings == 0);

    CHECK(parse_hash(&inc, &err, "state", "down", "since", "0", "starts",
                     "1999-12-31T23:59Z", NULL) == 0);
    CHECK(inc.since == 0 && inc.starts == 0 && inc.pending == 1);
    CHECK(inc.warnings == (NGX_HTTP_OUTAGE_PW_BAD_TIME
                           | NGX_HTTP_OUTAGE_PW_BAD_STARTS));

    CHECK(parse_hash(&inc, &err, "state", "down", "since", "2000-01-01",
                     NULL) == 0);
    CHECK(inc.since == 946684800 && inc.warnings == 0);
}


static void
t_hash_unknown_field(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "down", "colour", "red",
                     "message", "m", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN && MSG_IS(inc, "m"));
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD);

    /* a NUL inside a field name does not alias a known field */
    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 2);
    resp_bulk(&r, "state\0x", 7);
    resp_str(&r, "down");

    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE);
    CHECK(inc.warnings == (NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD
                           | NGX_HTTP_OUTAGE_PW_NO_STATE));
}


static void
t_hash_duplicate(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "down", "State", "ok", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_DUPLICATE);
    CHECK(WARN_IS(inc, "\"state\" given in several cases, the most severe "
                       "used: \"state, State\""));
}


/*
 * Audit A5 F5: HGETALL's order is not the order of writing (a hashtable's
 * is seeded at each Redis start): whatever the order, the same result
 */

static void
t_hash_duplicate_any_order(void)
{
    ngx_http_outage_incident_t  a, b;
    const char                 *err;

    /* the more severe state, never an "ok" override over a "down" */
    CHECK(parse_hash(&a, &err, "State", "down", "state", "ok",
                     "message", "m", NULL) == 0);
    CHECK(parse_hash(&b, &err, "state", "ok", "message", "m",
                     "State", "down", NULL) == 0);
    CHECK(a.state == NGX_HTTP_OUTAGE_STATE_DOWN
          && b.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(a.warnings == NGX_HTTP_OUTAGE_PW_DUPLICATE
          && b.warnings == NGX_HTTP_OUTAGE_PW_DUPLICATE);

    CHECK(parse_hash(&a, &err, "STATE", "maintenance", "state", "degraded",
                     "State", "bogus", NULL) == 0);
    CHECK(parse_hash(&b, &err, "State", "bogus", "state", "degraded",
                     "STATE", "maintenance", NULL) == 0);
    CHECK(a.state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE
          && b.state == NGX_HTTP_OUTAGE_STATE_MAINTENANCE);
    CHECK(a.warnings == NGX_HTTP_OUTAGE_PW_DUPLICATE);

    /* review R3 F1: a misspelt variant counts as alone, "ok" never wins */
    CHECK(parse_hash(&a, &err, "state", "ok", "State", "dwon",
                     "message", "m", NULL) == 0);
    CHECK(parse_hash(&b, &err, "State", "dwon", "message", "m",
                     "state", "ok", NULL) == 0);
    CHECK(a.state == NGX_HTTP_OUTAGE_STATE_DEGRADED
          && b.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(a.warnings
          == (NGX_HTTP_OUTAGE_PW_DUPLICATE | NGX_HTTP_OUTAGE_PW_BAD_STATE));
    CHECK(parse_hash(&a, &err, "state", "ok", "State", "dwon", NULL) == 0);
    CHECK(a.state == NGX_HTTP_OUTAGE_STATE_NONE);
    CHECK(parse_hash(&a, &err, "state", "ok", "State", "UP", NULL) == 0);
    CHECK(a.state == NGX_HTTP_OUTAGE_STATE_OK);

    /* other fields: the lowercase name's value */
    CHECK(parse_hash(&a, &err, "state", "down", "Message", "upper",
                     "message", "lower", NULL) == 0);
    CHECK(parse_hash(&b, &err, "message", "lower", "state", "down",
                     "Message", "upper", NULL) == 0);
    CHECK(MSG_IS(a, "lower") && MSG_IS(b, "lower"));
    CHECK(WARN_IS(a, "a field given in several cases, the lowercase name's "
                     "value used: \"Message, message\""));

    /* ... or the first name in byte order */
    CHECK(parse_hash(&a, &err, "state", "down", "mESSAGE", "b",
                     "Message", "a", NULL) == 0);
    CHECK(parse_hash(&b, &err, "Message", "a", "state", "down",
                     "mESSAGE", "b", NULL) == 0);
    CHECK(MSG_IS(a, "a") && MSG_IS(b, "a"));

    /* "checks": silenced only if every variant says so */
    CHECK(parse_hash(&a, &err, "state", "degraded", "checks", "silenced",
                     "Checks", "no", NULL) == 0);
    CHECK(parse_hash(&b, &err, "Checks", "no", "state", "degraded",
                     "checks", "silenced", NULL) == 0);
    CHECK(!a.silences && !b.silences);
    CHECK(parse_hash(&a, &err, "state", "degraded", "checks", "silenced",
                     "Checks", "Silenced", NULL) == 0);
    CHECK(a.silences);
}


/* Audit A5 F4: a JSON object in the string form is refused, not shown */

static void
t_string_json(void)
{
    ngx_http_outage_incident_t  inc;
    static const char           *json[] = {
        "{\"state\":\"down\",\"message\":\"Database migration\"}",
        "  {  \"state\": \"down\" }\n",
        "{}",
        "\r\n{\n\t\"message\": \"x\"}\r\n",
        /* review R3 F2: a Python dict, a JS literal, an array, a BOM */
        "{'state': 'down', 'message': 'Database migration'}",
        "{state: \"down\", message: \"Database migration\"}",
        "[{\"state\":\"down\",\"message\":\"Database migration\"}]",
        "\xef\xbb\xbf{\"state\":\"down\"}\r\n",
        " \n[ ] ",
        "{{ maintenance }}",
    };
    static const char           *text[] = {
        "{maintenance} tonight",
        "{ braces } in a message",
        "{\"half",
        "Checkout {\"is\"} slow",
        "[EU] checkout slow [update 2]",
        "[maintenance]",
        "\xef\xbb\xbf" "Checkout slow",
        "{maintenance} until 10pm",
    };
    size_t                       i;

    for (i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
        CHECK(parse_string(json[i], strlen(json[i]), &inc) == 0);
        CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE);
        CHECK(inc.message_len == 0);
        CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_JSON);
        CHECK(WARN_IS(inc, "JSON is not read, nothing is applied: write a "
                           "hash (HSET <key> state down message ...)"));
    }

    for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
        CHECK(parse_string(text[i], strlen(text[i]), &inc) == 0);
        CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
        CHECK(inc.warnings == 0 && inc.warning_len == 0);
    }
}


static void
t_hash_many_fields(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;
    char                        name[32];
    int                         i;

    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 2 * 10001);

    for (i = 0; i < 10000; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        resp_str(&r, name);
        resp_str(&r, "v");
    }

    resp_str(&r, "state");
    resp_str(&r, "degraded");

    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD);
}


/* ---- absent and wrong types ------------------------------------------- */

static void
t_absent(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    resp_header(&r, '*', 2);
    resp_header(&r, '$', -1);
    resp_header(&r, '*', 0);

    err = "unchanged";
    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(err == NULL);
    CHECK(incident_empty(&inc));
    CHECK(inc.warnings == 0);

    /* nil for both (a proxy may answer HGETALL with nil) */
    resp_header(&r, '*', 2);
    resp_header(&r, '$', -1);
    resp_header(&r, '*', -1);

    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(incident_empty(&inc) && inc.warnings == 0);
}


static void
t_wrongtype_both(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    /* the key is a list */
    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_line(&r, '-', WRONGTYPE);

    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(incident_empty(&inc));
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_WRONG_TYPE);
}


static void
t_wrongtype_hash(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    /* parse_hash() sends GET -> WRONGTYPE, as Redis does for a hash */
    CHECK(parse_hash(&inc, &err, "state", "degraded", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);
    CHECK(inc.warnings == 0);
}


/* ---- malformed replies ------------------------------------------------ */

static void
t_malformed_integer(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    resp_header(&r, '*', 2);
    resp_header(&r, ':', 1);
    resp_header(&r, '*', 0);

    CHECK(parse_exec(&r, &inc, &err) == -1);
    CHECK(err != NULL);
    CHECK(incident_empty(&inc) && inc.warnings == 0);

    resp_header(&r, '*', 2);
    resp_header(&r, '$', -1);
    resp_header(&r, ':', 42);

    err = NULL;
    CHECK(parse_exec(&r, &inc, &err) == -1);
    CHECK(err != NULL);
}


static void
t_malformed_status_error(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    /* "+QUEUED" means the caller passed the wrong replies */
    resp_header(&r, '*', 2);
    resp_line(&r, '+', "QUEUED");
    resp_line(&r, '+', "QUEUED");
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);

    /* a Redis error other than WRONGTYPE: keep the previous state */
    resp_header(&r, '*', 2);
    resp_line(&r, '-', "LOADING Redis is loading the dataset in memory");
    resp_line(&r, '-', "LOADING Redis is loading the dataset in memory");
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);

    resp_header(&r, '*', 2);
    resp_str(&r, "message");
    resp_line(&r, '-', "ERR something");
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE && inc.message_len == 0);
}


static void
t_malformed_odd_hash(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 3);
    resp_str(&r, "state");
    resp_str(&r, "down");
    resp_str(&r, "message");

    CHECK(parse_exec(&r, &inc, &err) == -1);
    CHECK(err != NULL && strstr(err, "odd") != NULL);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE);
}


static void
t_malformed_nested(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 2);
    resp_header(&r, '*', 1);
    resp_str(&r, "state");
    resp_str(&r, "down");
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);

    /* nil and integer values inside the hash */
    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 2);
    resp_str(&r, "state");
    resp_header(&r, '$', -1);
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);

    resp_header(&r, '*', 2);
    resp_line(&r, '-', WRONGTYPE);
    resp_header(&r, '*', 2);
    resp_header(&r, ':', 5);
    resp_str(&r, "down");
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);

    /* GET answered with an array */
    resp_header(&r, '*', 2);
    resp_header(&r, '*', 0);
    resp_header(&r, '*', 0);
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);
}


static void
t_malformed_string_and_hash(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    resp_header(&r, '*', 2);
    resp_str(&r, "hello");
    resp_header(&r, '*', 2);
    resp_str(&r, "state");
    resp_str(&r, "down");
    CHECK(parse_exec(&r, &inc, &err) == -1 && err != NULL);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_NONE && inc.message_len == 0);
}


static void
t_hand_built(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;
    redisReply                  nil, str, empty, arr, *elts[2];

    memset(&nil, 0, sizeof(nil));
    nil.type = REDIS_REPLY_NIL;

    /* str == NULL with len 0 is just an empty string */
    memset(&str, 0, sizeof(str));
    str.type = REDIS_REPLY_STRING;
    CHECK(ngx_http_outage_payload_parse(&str, NULL, &inc, &err) == 0);
    CHECK(incident_empty(&inc));

    /* str == NULL with a length is broken */
    str.len = 5;
    CHECK(ngx_http_outage_payload_parse(&str, NULL, &inc, &err) == -1);

    /* no replies at all */
    CHECK(ngx_http_outage_payload_parse(NULL, NULL, &inc, &err) == -1);
    CHECK(err != NULL);

    /* only one of the two fetched */
    str.str = (char *) "Search is slow";
    str.len = 14;
    CHECK(ngx_http_outage_payload_parse(&str, NULL, &inc, &err) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DEGRADED);

    memset(&empty, 0, sizeof(empty));
    empty.type = REDIS_REPLY_STRING;
    empty.str = (char *) "state";
    empty.len = 5;

    memset(&arr, 0, sizeof(arr));
    arr.type = REDIS_REPLY_ARRAY;
    arr.elements = 2;
    arr.element = elts;
    elts[0] = &empty;
    elts[1] = NULL;

    /* a NULL element pointer */
    CHECK(ngx_http_outage_payload_parse(&nil, &arr, &inc, &err) == -1);

    /* a NULL element vector */
    arr.element = NULL;
    CHECK(ngx_http_outage_payload_parse(&nil, &arr, &inc, &err) == -1);

    /* hash only, GET not fetched */
    str.str = (char *) "down";
    str.len = 4;
    elts[1] = &str;
    arr.element = elts;
    CHECK(ngx_http_outage_payload_parse(NULL, &arr, &inc, &err) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);

    /* err may be NULL */
    CHECK(ngx_http_outage_payload_parse(NULL, NULL, &inc, NULL) == -1);
}


static void
t_reset_between_calls(void)
{
    ngx_http_outage_incident_t  inc;
    resp_t                      r = { NULL, 0, 0 };
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "down", "message", "m", "link",
                     "https://a.example", "eta", "soon", "since",
                     "1795000000", NULL) == 0);

    resp_header(&r, '*', 2);
    resp_header(&r, '$', -1);
    resp_header(&r, '*', 0);
    CHECK(parse_exec(&r, &inc, &err) == 0);
    CHECK(incident_empty(&inc) && inc.warnings == 0);

    memset(&inc, 0x5A, sizeof(inc));
    resp_header(&r, '*', 2);
    resp_header(&r, ':', 1);
    resp_header(&r, ':', 1);
    CHECK(parse_exec(&r, &inc, &err) == -1);
    CHECK(incident_empty(&inc) && inc.warnings == 0);
}


/*
 * A declared incident with no "starts" and an unreadable "ends" (review s6
 * A10): the operator means now; a typo in the end must not hide it
 */

static void
t_hash_ends_without_starts(void)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;

    CHECK(parse_hash(&inc, &err, "state", "down", "message", "Payments",
                     "ends", " 06:00 ", NULL) == 0);
    CHECK(inc.state == NGX_HTTP_OUTAGE_STATE_DOWN);
    CHECK(inc.pending == 0 && inc.ends == 0 && inc.starts == 0);
    CHECK(inc.warnings == NGX_HTTP_OUTAGE_PW_ENDS_IGNORED);
    CHECK(WARN_IS(inc, "ends unparseable, ignored: in effect until the key "
                       "changes: \"06:00\""));

    /* an empty "starts" is no "starts" */
    CHECK(parse_hash(&inc, &err, "ends", "soon", "starts", "",
                     "state", "maintenance", NULL) == 0);
    CHECK(inc.pending == 0
          && inc.warnings == NGX_HTTP_OUTAGE_PW_ENDS_IGNORED);

    /* with "starts", readable or not, in any field order: announced */
    CHECK(parse_hash(&inc, &err, "ends", "soon", "state", "down",
                     "starts", "2026-12-07T01:00Z", NULL) == 0);
    CHECK(inc.pending == 1 && inc.warnings == NGX_HTTP_OUTAGE_PW_BAD_ENDS);
    CHECK(WARN_IS(inc, "ends unparseable, the incident is only announced: "
                       "\"soon\""));
    CHECK(parse_hash(&inc, &err, "ends", "soon", "state", "down",
                     "starts", "now", NULL) == 0);
    CHECK(inc.pending == 1
          && inc.warnings == (NGX_HTTP_OUTAGE_PW_BAD_STARTS
                              | NGX_HTTP_OUTAGE_PW_BAD_ENDS));

    /* the spellings it is now read in */
    CHECK(parse_hash(&inc, &err, "state", "down",
                     "ends", "2026-12-07T06:00 +01:00", NULL) == 0);
    CHECK(inc.pending == 0 && inc.warnings == 0
          && inc.ends == 1796619600);
}


/* spellings scripts and people write, read since s6 */

static void
t_time_loose(void)
{
    size_t       i;
    const char  *s;

    static const struct {
        const char  *s;
        long long    t;
    } cases[] = {
        { "2026-12-07T06:00 +01:00", 1796619600LL },
        { "2026-12-07 06:00 +01:00", 1796619600LL },
        { "2026-12-07 06:00:30 -0130", 1796623200LL + 5400 + 30 },
        { "2026-12-07T06:00 +01", 1796619600LL },
        { "1796616000.5", 1796616000LL },
        { "1796616000.999999", 1796616000LL },
        { " 1796616000.0 ", 1796616000LL },
        /* what stays refused */
        { "06:00", -1 },
        { "06:00 +01:00", -1 },
        { "2026-12-07T06:00  +01:00", -1 },
        { "2026-12-07T06:00 +01:00x", -1 },
        { "2026-12-07T06:00 CET", -1 },
        { "2026-12-07 +01:00", -1 },
        { "1796616000.", -1 },
        { ".5", -1 },
        { "1796616000.5.5", -1 },
        { "1796616000,5", -1 },
        { "30.5", -1 },                      /* before 2000 */
        { "-1796616000.5", -1 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = cases[i].s;

        if ((long long) ngx_http_outage_payload_time(
                (const unsigned char *) s, strlen(s))
            != cases[i].t)
        {
            printf("FAIL %s: \"%s\" -> %lld, not %lld\n", current, s,
                   (long long) ngx_http_outage_payload_time(
                       (const unsigned char *) s, strlen(s)),
                   cases[i].t);
            current_failed = 1;
        }
    }
}


static void
t_field_known(void)
{
    CHECK(ngx_http_outage_payload_field_known((const unsigned char *) "state",
                                              5));
    CHECK(ngx_http_outage_payload_field_known((const unsigned char *) "ENDS",
                                              4));
    CHECK(ngx_http_outage_payload_field_known((const unsigned char *) "Eta",
                                              3));
    CHECK(!ngx_http_outage_payload_field_known((const unsigned char *) "note",
                                               4));
    CHECK(!ngx_http_outage_payload_field_known((const unsigned char *) "stat",
                                               4));
    CHECK(!ngx_http_outage_payload_field_known((const unsigned char *) "",
                                               0));
}


static void
t_warning_text(void)
{
    unsigned     bit;
    const char  *s, *seen[17];
    int          n, i;

    n = 0;

    for (bit = 1; bit & NGX_HTTP_OUTAGE_PW_ALL; bit <<= 1) {
        s = ngx_http_outage_payload_warning_text(bit);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(strcmp(s, "unknown warning") != 0);

        for (i = 0; i < n; i++) {
            CHECK(strcmp(seen[i], s) != 0);
        }

        seen[n++] = s;
    }

    CHECK(n == 16);
    CHECK(strcmp(ngx_http_outage_payload_warning_text(0), "unknown warning")
          == 0);
    CHECK(strcmp(ngx_http_outage_payload_warning_text(0x10000),
                 "unknown warning") == 0);
    CHECK(strcmp(ngx_http_outage_payload_warning_text(3),
                 "unknown warning") == 0);
}
/*
 * The time shoppers are told (review s9 R5 F1, F6, F7 and the PTTL note):
 * never in the past, never before the window opens, never after the notice
 * goes away; "ends" is a return time only for maintenance.
 */
static void
t_view_eta(void)
{
    time_t  now = 1800000000, E = now + 7 * 86400;

#define VE ngx_http_outage_payload_view_eta

    /* a plain future eta, alone */
    CHECK(VE(now + 60, 0, 0, 0, 0, now) == now + 60);
    /* past or now: no time (F6: the banner said "5 min ago") */
    CHECK(VE(now - 300, 0, 0, 0, 0, now) == 0);
    CHECK(VE(now, 0, 0, 0, 1, now) == 0);
    /* down, eta past, ends a week ahead as a safety expiry: no time */
    CHECK(VE(now - 300, 0, E, E, 0, now) == 0);
    /* down, free text (0), ends far: no time, the text is shown */
    CHECK(VE(0, 0, E, E, 0, now) == 0);
    /* maintenance: ends is the planned end */
    CHECK(VE(0, 0, now + 600, now + 600, 1, now) == now + 600);
    CHECK(VE(now - 5, 0, now + 600, now + 600, 1, now) == now + 600);
    /* an eta after the end is cut to it, whatever the state */
    CHECK(VE(now + 3000, 0, now + 600, now + 600, 0, now) == now + 600);
    CHECK(VE(now + 3000, 0, now + 600, now + 600, 1, now) == now + 600);
    /*
     * The key's expiry (PTTL) is never a return time, not even as a cap
     * (review s10 R4 P1: a script refreshing EXPIRE 600 made "back in
     * 10 min" slide forever): a time after it is not shown at all
     */
    CHECK(VE(now + 3000, 0, 0, now + 900, 0, now) == 0);
    CHECK(VE(now + 3000, 0, 0, now + 900, 1, now) == 0);
    CHECK(VE(0, 0, 0, now + 900, 1, now) == 0);
    CHECK(VE(0, 0, now + 2000, now + 900, 1, now) == 0);
    CHECK(VE(0, 0, now + 600, now + 900, 1, now) == now + 600);
    CHECK(VE(now + 60, 0, 0, now + 900, 0, now) == now + 60);
    CHECK(VE(now + 60, 0, 0, now, 0, now) == 0);
    /* R4 P5: an eta equal to the expiry, which is rounded a second either
     * way by the phase of the rebuild, stays */
    CHECK(VE(now + 600, 0, 0, now + 599, 0, now) == now + 600);
    CHECK(VE(now + 600, 0, 0, now + 600, 0, now) == now + 600);
    CHECK(VE(now + 603, 0, 0, now + 600, 0, now) == 0);
    /* R4 P2: a window announced past the key's expiry shows no end */
    CHECK(VE(0, now + 172800, now + 176400, now + 86400, 1, now) == 0);
    CHECK(VE(now + 174000, now + 172800, now + 176400, now + 86400, 1, now)
          == 0);
    /* announced window: an eta before starts is not its end (F7) */
    CHECK(VE(now + 1800, now + 3600, now + 7200, now + 7200, 1, now)
          == now + 7200);
    CHECK(VE(now + 1800, now + 3600, 0, 0, 1, now) == 0);
    CHECK(VE(now + 5400, now + 3600, now + 7200, now + 7200, 1, now)
          == now + 5400);

#undef VE
}





/* ---- the silence rule and the window ---------------------------------- */

static void
t_incident_silences(void)
{
    time_t                      now = 1800000000;
    uint64_t                    ms = 5000000;
    ngx_http_outage_incident_t  inc;

    memset(&inc, 0, sizeof(inc));

    inc.state = NGX_HTTP_OUTAGE_STATE_NONE;
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));

    /* "ok" and "checks silenced" silence; a plain degraded does not */
    inc.state = NGX_HTTP_OUTAGE_STATE_OK;
    CHECK(ngx_http_outage_incident_silences(&inc, now, ms));
    inc.state = NGX_HTTP_OUTAGE_STATE_DEGRADED;
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));
    inc.silences = 1;
    CHECK(ngx_http_outage_incident_silences(&inc, now, ms));

    /* "checks silenced" belongs to degraded only */
    inc.state = NGX_HTTP_OUTAGE_STATE_DOWN;
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));
    inc.state = NGX_HTTP_OUTAGE_STATE_MAINTENANCE;
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));

    /* announced for later: in effect at "starts", not before */
    inc.state = NGX_HTTP_OUTAGE_STATE_DEGRADED;
    inc.starts = now + 60;
    CHECK(ngx_http_outage_incident_window(&inc, now, ms)
          == NGX_HTTP_OUTAGE_WINDOW_ANNOUNCED);
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));
    CHECK(ngx_http_outage_incident_silences(&inc, now + 60, ms));
    inc.state = NGX_HTTP_OUTAGE_STATE_OK;
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));

    /* unusable times: only announced, whatever the clock */
    inc.starts = 0;
    inc.pending = 1;
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));
    inc.pending = 0;
    CHECK(ngx_http_outage_incident_silences(&inc, now, ms));

    /* over at "ends" */
    inc.starts = now - 60;
    inc.ends = now;
    CHECK(ngx_http_outage_incident_window(&inc, now, ms)
          == NGX_HTTP_OUTAGE_WINDOW_OVER);
    CHECK(!ngx_http_outage_incident_silences(&inc, now, ms));
    CHECK(ngx_http_outage_incident_silences(&inc, now - 1, ms));

    /* over at the key's expiry (PTTL): the caller passes the time left */
    inc.starts = 0;
    inc.ends = 0;
    inc.expires = ms + 1;
    CHECK(ngx_http_outage_incident_window(&inc, now, 1)
          == NGX_HTTP_OUTAGE_WINDOW_OPEN);
    CHECK(ngx_http_outage_incident_silences(&inc, now, 1));
    CHECK(!ngx_http_outage_incident_silences(&inc, now, 0));
    inc.state = NGX_HTTP_OUTAGE_STATE_DEGRADED;
    CHECK(!ngx_http_outage_incident_silences(&inc, now, -999));

    /* no expiry: whatever is passed */
    inc.expires = 0;
    CHECK(ngx_http_outage_incident_silences(&inc, now, -999));

    /*
     * a 32-bit nginx clock that wrapped after the poll (review s11 R1 D1):
     * the time left, taken as decision.c takes it at that width, is past
     */
    {
        uint32_t  polled = 0xfffff000u, now32 = 0x00002000u;

        inc.expires = (uint64_t) polled + 3000 + 1;
        CHECK(ngx_http_outage_incident_window(&inc, now,
                  (int32_t) ((uint32_t) inc.expires - now32))
              == NGX_HTTP_OUTAGE_WINDOW_OVER);
        CHECK(ngx_http_outage_incident_window(&inc, now,
                  (int32_t) ((uint32_t) inc.expires - (polled + 3000)))
              == NGX_HTTP_OUTAGE_WINDOW_OPEN);
    }
}


/* "Redis decides": what the guard leaves out of its count (health.c) */

static void
t_incident_decides(void)
{
    time_t                      now = 1800000000;
    uint64_t                    ms = 5000000;
    ngx_http_outage_incident_t  inc;

    memset(&inc, 0, sizeof(inc));

    inc.state = NGX_HTTP_OUTAGE_STATE_NONE;
    CHECK(!ngx_http_outage_incident_decides(&inc, now, ms));

    /* maintenance, down and the silences decide; a plain degraded not */
    inc.state = NGX_HTTP_OUTAGE_STATE_MAINTENANCE;
    CHECK(ngx_http_outage_incident_decides(&inc, now, ms));
    inc.state = NGX_HTTP_OUTAGE_STATE_DOWN;
    CHECK(ngx_http_outage_incident_decides(&inc, now, ms));
    inc.state = NGX_HTTP_OUTAGE_STATE_OK;
    CHECK(ngx_http_outage_incident_decides(&inc, now, ms));
    inc.state = NGX_HTTP_OUTAGE_STATE_DEGRADED;
    CHECK(!ngx_http_outage_incident_decides(&inc, now, ms));
    inc.silences = 1;
    CHECK(ngx_http_outage_incident_decides(&inc, now, ms));

    /* announced for later: decides from "starts" on, not before */
    inc.silences = 0;
    inc.state = NGX_HTTP_OUTAGE_STATE_MAINTENANCE;
    inc.starts = now + 60;
    CHECK(!ngx_http_outage_incident_decides(&inc, now, ms));
    CHECK(ngx_http_outage_incident_decides(&inc, now + 60, ms));
    inc.starts = 0;
    inc.pending = 1;
    CHECK(!ngx_http_outage_incident_decides(&inc, now, ms));
    inc.pending = 0;

    /* over at "ends" and at the key's expiry */
    inc.ends = now;
    CHECK(!ngx_http_outage_incident_decides(&inc, now, ms));
    CHECK(ngx_http_outage_incident_decides(&inc, now - 1, ms));
    inc.ends = 0;
    inc.expires = ms + 1;
    CHECK(ngx_http_outage_incident_decides(&inc, now, 1));
    CHECK(!ngx_http_outage_incident_decides(&inc, now, 0));
}

static const unit_test_t  tests[] = {
    { "string_key", t_string_key },
    { "string_empty", t_string_empty },
    { "string_ok", t_string_ok },
    { "string_controls", t_string_controls },
    { "string_1mb", t_string_1mb },
    { "hash_full", t_hash_full },
    { "hash_case_insensitive", t_hash_case_insensitive },
    { "hash_state_ok", t_hash_state_ok },
    { "hash_checks_silenced", t_hash_checks_silenced },
    { "hash_invalid_state", t_hash_invalid_state },
    { "hash_missing_state", t_hash_missing_state },
    { "hash_message_controls", t_hash_message_controls },
    { "hash_message_1mb", t_hash_message_1mb },
    { "hash_bad_link", t_hash_bad_link },
    { "hash_link_length", t_hash_link_length },
    { "hash_window", t_hash_window },
    { "hash_bad_time", t_hash_bad_time },
    { "time_forms", t_time_forms },
    { "hash_eta", t_hash_eta },
    { "hash_ancient_times", t_hash_ancient_times },
    { "hash_unknown_field", t_hash_unknown_field },
    { "hash_duplicate", t_hash_duplicate },
    { "hash_many_fields", t_hash_many_fields },
    { "absent", t_absent },
    { "wrongtype_both", t_wrongtype_both },
    { "wrongtype_hash", t_wrongtype_hash },
    { "malformed_integer", t_malformed_integer },
    { "malformed_status_error", t_malformed_status_error },
    { "malformed_odd_hash", t_malformed_odd_hash },
    { "malformed_nested", t_malformed_nested },
    { "malformed_string_and_hash", t_malformed_string_and_hash },
    { "hand_built", t_hand_built },
    { "reset_between_calls", t_reset_between_calls },
    { "hash_ends_without_starts", t_hash_ends_without_starts },
    { "time_loose", t_time_loose },
    { "warning_text", t_warning_text },
    { "field_known", t_field_known },
    { "view_eta", t_view_eta },
    { "hash_duplicate_any_order", t_hash_duplicate_any_order },
    { "string_json", t_string_json },
    { "incident_silences", t_incident_silences },
    { "incident_decides", t_incident_decides },
};


int
main(void)
{
    return unit_run("payload", tests, sizeof(tests) / sizeof(tests[0]));
}
