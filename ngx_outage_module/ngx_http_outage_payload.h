
/*
 * ngx_outage_module: Redis incident payloads (pure C, no nginx headers).
 *
 * Owns the translation of the two Redis replies fetched for one scope key
 * (GET and HGETALL, in one MULTI/EXEC) into a validated, fixed-size
 * incident record that can be copied into shared memory as is.  Everything
 * taken from Redis is sanitised and bounded here; see docs/notes/payload.md
 * for the key schema and the validation rules.
 */


#ifndef _NGX_HTTP_OUTAGE_PAYLOAD_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_PAYLOAD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "ngx_http_outage_text.h"


#define NGX_HTTP_OUTAGE_MESSAGE_MAX  512   /* bytes, after sanitising */
#define NGX_HTTP_OUTAGE_ETA_MAX       64
#define NGX_HTTP_OUTAGE_LINK_MAX     256   /* > NGX_HTTP_OUTAGE_URL_MAX */
#define NGX_HTTP_OUTAGE_PWARN_MAX    288   /* the time warning, bytes */
#define NGX_HTTP_OUTAGE_PWARN_VALUE   48   /* of a value quoted in it */
/* ends a warning that had no room for everything: "; " U+2026 */
#define NGX_HTTP_OUTAGE_PWARN_MORE    "; \xe2\x80\xa6"


/* warning bits: the payload was used, but something in it was ignored */
#define NGX_HTTP_OUTAGE_PW_NO_STATE       0x0001  /* hash without "state" */
#define NGX_HTTP_OUTAGE_PW_BAD_STATE      0x0002  /* unknown state value */
#define NGX_HTTP_OUTAGE_PW_BAD_LINK       0x0004  /* link not http(s) */
#define NGX_HTTP_OUTAGE_PW_BAD_TIME       0x0008  /* since */
#define NGX_HTTP_OUTAGE_PW_BAD_WINDOW     0x0010  /* ends <= starts */
#define NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD  0x0020
#define NGX_HTTP_OUTAGE_PW_WRONG_TYPE     0x0040  /* neither string nor hash */
#define NGX_HTTP_OUTAGE_PW_OVERSIZE       0x0080  /* message/eta cut */
#define NGX_HTTP_OUTAGE_PW_DUPLICATE      0x0100  /* field given twice */
#define NGX_HTTP_OUTAGE_PW_BAD_STARTS     0x0200  /* kept pending */
#define NGX_HTTP_OUTAGE_PW_BAD_ENDS       0x0400  /* no end applied */
#define NGX_HTTP_OUTAGE_PW_ENDS_IGNORED   0x0800  /* no "starts": in effect */
/* set by the reader (ngx_http_outage_redis.c), not by the parser */
#define NGX_HTTP_OUTAGE_PW_VALUE_CUT      0x1000  /* a value over 64 KB */
#define NGX_HTTP_OUTAGE_PW_FIELDS_CUT     0x2000  /* over 64 fields */

#define NGX_HTTP_OUTAGE_PW_BAD_CHECKS     0x4000  /* "checks" not "silenced" */
#define NGX_HTTP_OUTAGE_PW_JSON           0x8000  /* a JSON string: refused */

#define NGX_HTTP_OUTAGE_PW_ALL            0xffff


typedef struct {
    int            state;          /* NGX_HTTP_OUTAGE_STATE_*; NONE if the
                                      key is absent */
    unsigned char  message[NGX_HTTP_OUTAGE_MESSAGE_MAX];
    size_t         message_len;
    unsigned char  eta_text[NGX_HTTP_OUTAGE_ETA_MAX];
    size_t         eta_text_len;   /* sanitised raw eta as given */
    time_t         eta;            /* parsed, or 0 if absent/unparseable
                                      (eta_text is still shown) */
    unsigned char  link[NGX_HTTP_OUTAGE_LINK_MAX];
    size_t         link_len;       /* 0 if absent or invalid */
    time_t         since;          /* from "since" if given and valid, or 0 */
    time_t         starts;         /* the incident's window (any state), */
    time_t         ends;           /* 0 if absent or unusable */
    unsigned       truncated:1;    /* message was cut */
    unsigned       silences:1;     /* "checks silenced": a degraded
                                      incident keeps its scope's failing
                                      checks from paging, as "ok" does */
    unsigned       pending:1;      /* "starts" unparseable, "ends" of one
                                      unparseable, or "ends" not after
                                      "starts": the
                                      incident never takes effect, it is
                                      only announced */
    unsigned       warnings;       /* NGX_HTTP_OUTAGE_PW_* bits */
    /*
     * For people (the status JSON): which time field was unusable and its
     * value, sanitised and cut, e.g. 'starts unparseable: "tomorrow"'.
     */
    unsigned char  warning[NGX_HTTP_OUTAGE_PWARN_MAX];
    size_t         warning_len;
    /*
     * Not from the payload: when the key expires in Redis (its PTTL), on
     * the system-wide monotonic clock in ms (nginx's ngx_current_msec);
     * 0: no expiry.  Set by the poller, so that the state ends there even
     * while Redis cannot be read.
     */
    uint64_t       expires;
} ngx_http_outage_incident_t;


/*
 * Parses the replies to "GET key" and "HGETALL key" for one scope (either
 * may be NULL if it was not fetched, not both).  Returns 0 on success,
 * including "absent" (state NONE), and sets *err (may be NULL) to NULL.
 * Returns -1 if the replies are malformed (a Redis error other than
 * WRONGTYPE, an unexpected reply type, an odd or nested HGETALL array, a
 * string and a hash at once); then *out is reset to state NONE, *err is a
 * short static reason, and the caller should keep its previous state.
 * *out is always fully initialised.
 */
int ngx_http_outage_payload_parse(const redisReply *get_reply,
    const redisReply *hgetall_reply, ngx_http_outage_incident_t *out,
    const char **err);

/*
 * A time as on-call people and tools write it, after trimming spaces and
 * tabs: everything ngx_http_outage_parse_time() accepts (RFC 3339 with
 * "Z", an offset or a fraction; "YYYY-MM-DD[ HH:MM[:SS]]"; unix seconds),
 * the same with a space before a numeric offset, unix seconds with a
 * fraction (cut to the second),
 * the same followed by " UTC" or " GMT", the three HTTP date formats of
 * RFC 9110 (IMF-fixdate, RFC 850, asctime; IMF-fixdate also with a
 * "+HHMM" zone as RFC 5322 writes it), and unix milliseconds.  Digits
 * alone are seconds, as Python's datetime.fromtimestamp() reads them, up
 * to 12 digits (9999-12-31 at most); exactly 13 digits are milliseconds
 * (as JavaScript's Date.now() gives: 13 digits of seconds would be after
 * year 9999).  Returns (time_t) -1 otherwise, and for anything before
 * 2000-01-01 (always a mistake: "30" meant minutes).  RFC 850's two-digit
 * year is read against the clock (time(NULL)); _at() takes "now".
 */
time_t ngx_http_outage_payload_time(const unsigned char *p, size_t len);
time_t ngx_http_outage_payload_time_at(const unsigned char *p, size_t len,
    time_t now);

/*
 * 1 if a hash field of this name (any case) is one the parser reads: the
 * reader keeps only those of a hash with too many fields to keep whole.
 */
int ngx_http_outage_payload_field_known(const unsigned char *name,
    size_t len);

/*
 * The time a view names to shoppers (Retry-After, "Expected back", the
 * banner, $outage_eta), from what one incident says at "now"; 0: none
 * (free text, if any, is shown instead).  Only a time the operator wrote
 * is shown, and none that cannot be kept: not in the past, not before
 * "starts" (an eta left over from before the window), not after "ends"
 * (cut to it: the incident is over then), not after the key's expiry
 * ("expiry", 0: none; then no time at all: the notice is gone before it,
 * and a key's expiry, often refreshed by a script, is never a plan).
 * Only in maintenance is "ends" itself the expected return (the window's
 * planned end) when there is no usable eta: for "down" or "degraded" it is
 * often a safety expiry days ahead.
 */
time_t ngx_http_outage_payload_view_eta(time_t eta, time_t starts,
    time_t ends, time_t expiry, int maintenance, time_t now);

/* ngx_http_outage_incident_window() */
#define NGX_HTTP_OUTAGE_WINDOW_OPEN       0   /* in effect now */
#define NGX_HTTP_OUTAGE_WINDOW_ANNOUNCED  1   /* ahead, or unusable times */
#define NGX_HTTP_OUTAGE_WINDOW_OVER       2   /* "ends" has passed */

/*
 * Where "now" is in the incident's window (docs/redis.md, "Times"), for
 * every state: after "ends" or the key's expiry it is over; before
 * "starts", or when its times cannot be used, it is only announced.
 * left_ms: the key's time left, "expires" minus now taken by the caller
 * as a signed difference at the width of its clock (ignored without an
 * expiry): a 32-bit nginx clock wraps every 49.7 days, and a 64-bit
 * comparison of its values would then never see the key expire.
 */
int ngx_http_outage_incident_window(const ngx_http_outage_incident_t *inc,
    time_t now, int64_t left_ms);

/*
 * 1 if the incident, read from a current Redis, keeps its scope's failing
 * checks from paging: "ok", or "degraded" with "checks silenced", in its
 * open window.  The one rule of the decision, the health checks' log and
 * the guard's held list.
 */
int ngx_http_outage_incident_silences(const ngx_http_outage_incident_t *inc,
    time_t now, int64_t left_ms);

/*
 * 1 if the incident, read from a current Redis, decides its scope's state
 * whatever its checks say ("Redis wins"): it silences them, or declares a
 * maintenance or "down" in its open window.  An incident announced for
 * later, over, or a degraded banner without "checks silenced" leaves the
 * checks to decide.  The rule of the decision's "redis_decides", the
 * guard's held list and its count (health.c).
 */
int ngx_http_outage_incident_decides(const ngx_http_outage_incident_t *inc,
    time_t now, int64_t left_ms);

/* a static description of one NGX_HTTP_OUTAGE_PW_* bit */
const char *ngx_http_outage_payload_warning_text(unsigned bit);


#endif /* _NGX_HTTP_OUTAGE_PAYLOAD_H_INCLUDED_ */
