
/*
 * ngx_outage_module: text helpers (pure C, no nginx headers).
 *
 * Owns everything that turns untrusted incident text (it comes from Redis)
 * into something safe to put in an HTML page, a JSON body or the error log:
 * escapers, the storage sanitiser, link validation, time and state parsing
 * and formatting, and the small {{placeholder}} template renderer.
 *
 * Output contract shared by the escapers, format_ago and tpl_render: the
 * return value is the number of bytes the complete output needs; if dst is
 * not NULL, at most dst_size bytes are written.  Output is produced in
 * indivisible units (an entity, an escape sequence, one UTF-8 character);
 * the first unit that does not fit stops all writing, so a short buffer
 * holds a clean prefix and never a partial unit.  Measuring (dst == NULL)
 * and writing run the same code, so a buffer of the measured size is always
 * exactly enough.
 */


#ifndef _NGX_HTTP_OUTAGE_TEXT_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_TEXT_H_INCLUDED_


#include <stddef.h>
#include <time.h>


/* longest link accepted by ngx_http_outage_link_valid() */
#define NGX_HTTP_OUTAGE_URL_MAX       255

/* buffer sizes for the fixed-format writers (include room for a NUL) */
#define NGX_HTTP_OUTAGE_TIME_LEN      32
#define NGX_HTTP_OUTAGE_AGO_LEN       32

/* template limits */
#define NGX_HTTP_OUTAGE_TPL_NAME_MAX  64
#define NGX_HTTP_OUTAGE_TPL_DEPTH     16

/* template escaping modes */
#define NGX_HTTP_OUTAGE_TPL_HTML      0
#define NGX_HTTP_OUTAGE_TPL_JSON      1
#define NGX_HTTP_OUTAGE_TPL_HTML_ASCII  2   /* non-ASCII as &#xHHHH; */


enum {
    NGX_HTTP_OUTAGE_STATE_NONE = 0,         /* no explicit state */
    NGX_HTTP_OUTAGE_STATE_OK,
    NGX_HTTP_OUTAGE_STATE_DEGRADED,
    NGX_HTTP_OUTAGE_STATE_DOWN,
    NGX_HTTP_OUTAGE_STATE_MAINTENANCE
};

/* who decided the effective state of a scope (the zone, pages, status) */
#define NGX_HTTP_OUTAGE_SOURCE_NONE     0
#define NGX_HTTP_OUTAGE_SOURCE_REDIS    1
#define NGX_HTTP_OUTAGE_SOURCE_HEALTH   2


/*
 * & < > " ' become &amp; &lt; &gt; &quot; &#39;.  Valid UTF-8 is copied,
 * invalid UTF-8 and NUL become U+FFFD, other bytes are copied.
 */
size_t ngx_http_outage_html_escape(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len);

/*
 * The same in ASCII: non-ASCII characters as "&#xHHHH;" (C1 controls and
 * invalid UTF-8 as &#xFFFD;), right in a page of any ASCII-compatible
 * charset, and through nginx's charset filter.
 */
size_t ngx_http_outage_html_escape_ascii(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len);

/*
 * JSON string contents (no surrounding quotes): \" \\ \n \r \t; \u00XX for
 * other C0 controls and DEL; \u003c \u003e \u0026 \u0027 for < > & ' so the
 * result is also inert inside HTML; \u2028 \u2029 for the JavaScript line
 * separators; \ufffd for invalid UTF-8; every other non-ASCII character as
 * \uXXXX (a surrogate pair beyond U+FFFF).  The output is ASCII.
 */
size_t ngx_http_outage_json_escape(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len);

/*
 * Error log: printable ASCII as is, except \ and " which (like every other
 * byte) become \xHH, so the log line is unambiguous and cannot be split.
 * Returns the bytes written (<= dst_size): a text cut to fit ends on an
 * escape boundary, up to 3 bytes short of dst_size, and those bytes are
 * not the caller's to use (unlike the escapers above, which return what
 * the whole text needs: callers that used it as the length written put
 * unwritten bytes in the log and the zone, review s7 R3/M3).  With dst
 * NULL nothing is written and the length of the whole text is returned.
 */
size_t ngx_http_outage_log_escape_cut(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len);

/*
 * Log escape into a fixed buffer for a bounded preview; returns the number
 * of bytes written (<= dst_size).  When the escaped text does not fit, it
 * is cut on an escape boundary and "..." is appended (within dst_size).
 */
size_t ngx_http_outage_log_preview(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len);

/*
 * Sanitise untrusted text for storage.  Invalid UTF-8 becomes U+FFFD; runs
 * of whitespace and controls (C0, DEL, C1, U+2028, U+2029) collapse into a
 * single space; NUL and the bidi embedding/override/isolate controls are
 * removed; leading and trailing spaces are trimmed.  The result is cut to
 * at most max bytes on a character boundary, with "..." (U+2026, 3 bytes)
 * appended within max when cut (not when max < 3).  dst must have room for
 * max bytes.  Returns the length written; *truncated (may be NULL) is set
 * to 1 if the text was cut, else 0.
 */
size_t ngx_http_outage_sanitize(unsigned char *dst, size_t max,
    const unsigned char *src, size_t len, int *truncated);

/*
 * 1 if p is an absolute http:// or https:// URL (scheme case-insensitive)
 * with a non-empty host of letters, digits, - . _ (or a [bracketed] IPv6
 * address), no userinfo, an optional numeric port, and a path/query/
 * fragment of printable ASCII without space " ' < > \ ` { } | ^ ;
 * at most NGX_HTTP_OUTAGE_URL_MAX bytes, and a port browsers open.  0
 * otherwise.
 */
int ngx_http_outage_link_valid(const unsigned char *p, size_t len);

/*
 * The same, telling a port browsers refuse to open (0 and the Fetch
 * standard's "bad ports") from the rest: a configured URL that loaded
 * before that check is kept with a warning, a Redis link is dropped.
 */
#define NGX_HTTP_OUTAGE_LINK_INVALID   0
#define NGX_HTTP_OUTAGE_LINK_OK        1
#define NGX_HTTP_OUTAGE_LINK_BAD_PORT  2

int ngx_http_outage_link_check(const unsigned char *p, size_t len);

/*
 * 1 if the n bytes at p equal s, ASCII letters in any case; s is written
 * in lower case.  No locale: "I" is "i" whatever setlocale() says.
 */
int ngx_http_outage_ascii_caseeq(const unsigned char *p, const char *s,
    size_t n);

/*
 * Accepts, after trimming spaces and tabs:
 *   unix seconds          "1795000000" (at most 12 digits)
 *   date                  "2026-11-22" (midnight UTC)
 *   date and time         "2026-11-22T15:30", "2026-11-22 15:30:00",
 *                         optionally with ".fraction" after the seconds
 *                         (ignored), then nothing (UTC), "Z", or an offset
 *                         "+01:00", "+0100", "+01"
 * Fields are range-checked (month length and leap years included; seconds
 * 0-59; offsets up to 23:59); years 1970-9999.  Returns (time_t) -1 on
 * anything invalid, including a result before the epoch or outside time_t.
 */
time_t ngx_http_outage_parse_time(const unsigned char *p, size_t len);

/*
 * Writes "2026-11-22T15:30Z" (UTC, seconds dropped) and a NUL into dst,
 * which must hold NGX_HTTP_OUTAGE_TIME_LEN bytes; returns the length
 * without the NUL.  Times before the epoch or after year 9999 write an
 * empty string and return 0.
 */
size_t ngx_http_outage_format_time(unsigned char *dst, time_t t);

/*
 * "just now" (less than a minute ago), "N min ago", "N h ago" (under 48 h),
 * "N days ago"; for the future "in under a minute", "in N min", "in N h",
 * "in N days".  Past durations round down, future ones round up (an ETA is
 * never shown earlier than it is).  Output contract as above; it fits in
 * NGX_HTTP_OUTAGE_AGO_LEN bytes.
 */
size_t ngx_http_outage_format_ago(unsigned char *dst, size_t dst_size,
    time_t then, time_t now);

/*
 * Case-insensitive, surrounding spaces ignored: "ok", "up" -> OK;
 * "degraded"; "down", "outage" -> DOWN; "maintenance".  -1 if unknown.
 */
/* spaces, tabs, CR, LF, VT and FF around a value go */
void ngx_http_outage_trim_space(const unsigned char **p, size_t *len);
int ngx_http_outage_parse_state(const unsigned char *p, size_t len);

/* "none", "ok", "degraded", "down", "maintenance"; "unknown" otherwise */
const char *ngx_http_outage_state_name(int state);


/*
 * An output sink with the contract above, shared by the page bodies
 * (pagebody.c, statusbody.c): one writing path measures (dst NULL) and
 * writes.  Pieces are written whole; the first that does not fit stops
 * all further writing (a clean prefix), while need keeps counting the
 * complete size, saturating at SIZE_MAX.
 */
typedef struct {
    unsigned char  *dst;
    size_t          size;
    size_t          need;     /* == bytes written while !full */
    int             full;
} ngx_http_outage_wr_t;

void ngx_http_outage_wr_init(ngx_http_outage_wr_t *w, unsigned char *dst,
    size_t size);
void ngx_http_outage_wr_raw(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n);
void ngx_http_outage_wr_str(ngx_http_outage_wr_t *w, const char *s);
/* HTML-escaped / JSON-string-escaped (no quotes) untrusted text */
void ngx_http_outage_wr_html(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n);
void ngx_http_outage_wr_json(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n);
/* a quoted JSON string, or null when n is 0 */
void ngx_http_outage_wr_jstr(ngx_http_outage_wr_t *w, const unsigned char *p,
    size_t n);
/* v in decimal */
void ngx_http_outage_wr_num(ngx_http_outage_wr_t *w, long v);

/* v in decimal into dst (24 bytes suffice), no NUL; returns the length */
size_t ngx_http_outage_ltoa(unsigned char *dst, long v);


/*
 * Gives the raw value of a template name.  Returns non-zero and sets
 * *value / *value_len if the name is known, 0 if not (renders empty).  It
 * is called once per use in the measuring pass and again in the writing
 * pass, so it must return the same value both times.
 */
typedef int (*ngx_http_outage_tpl_lookup_pt)(void *ctx,
    const unsigned char *name, size_t name_len,
    const unsigned char **value, size_t *value_len);

/*
 * Renders tpl.  Tags (spaces allowed inside the braces; names are 1-64 of
 * A-Z a-z 0-9 _ . -):
 *   {{name}}                 value, HTML- or JSON-escaped by mode
 *   {{name|raw}}             value as is (the caller vouches for it)
 *   {{#name}}...{{/name}}    the inside only if the value is non-empty
 *   {{^name}}...{{/name}}    the inside only if the value is empty/unknown
 * Sections nest (up to NGX_HTTP_OUTAGE_TPL_DEPTH shown at once).  Template
 * text outside tags is copied as is (in JSON mode the template supplies the
 * quotes).  Anything malformed (bad tag, section without its close, a close
 * without its open) renders literally.  Unknown modes escape as HTML.
 * Output contract as above.
 */
size_t ngx_http_outage_tpl_render(unsigned char *dst, size_t dst_size,
    const unsigned char *tpl, size_t tpl_len, int mode,
    ngx_http_outage_tpl_lookup_pt lookup, void *ctx);

/* one {{...}} tag of a template */
#define NGX_HTTP_OUTAGE_TAG_VAR      0
#define NGX_HTTP_OUTAGE_TAG_OPEN     1
#define NGX_HTTP_OUTAGE_TAG_INVERT   2
#define NGX_HTTP_OUTAGE_TAG_CLOSE    3

typedef struct {
    size_t          end;        /* just past the closing braces */
    size_t          name;       /* offset of the name */
    size_t          name_len;
    int             kind;       /* NGX_HTTP_OUTAGE_TAG_* */
    unsigned        raw:1;
} ngx_http_outage_tpl_tag_t;

/*
 * Parses the tag whose "{{" is at p, never looking at or past limit.
 * Returns 1 and fills *tag for a well-formed tag, 0 otherwise.
 */
int ngx_http_outage_tpl_tag(const unsigned char *tpl, size_t p, size_t limit,
    ngx_http_outage_tpl_tag_t *tag);

/* message, update, eta or link: the names whose values come from Redis */
int ngx_http_outage_tpl_untrusted(const unsigned char *name, size_t len);

/*
 * Checks a template once at configuration time.  Returns NULL if it is
 * well-formed, otherwise a static description of the first error (unclosed
 * "{{", invalid tag, unbalanced or crossed sections, nesting too deep,
 * "|raw" on a field that comes from Redis: message, update, eta, link) and
 * sets *offset (may be NULL) to its byte offset.
 */
const char *ngx_http_outage_tpl_check(const unsigned char *tpl, size_t len,
    size_t *offset);


#endif /* _NGX_HTTP_OUTAGE_TEXT_H_INCLUDED_ */
