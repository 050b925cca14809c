
/*
 * ngx_outage_module: where one RESP2 reply ends, without keeping it (pure C,
 * no nginx headers).
 *
 * Owns the walk of the push connection's byte stream frame by frame in
 * constant memory: a reply too big for the bounded reader (a key name
 * beyond the value limit, more keys than the key list takes, more bytes
 * than a reply may hold) is marked "over" so that the caller can skip it
 * to its last byte and keep the connection, while a length beyond the hard
 * cap, or bytes that are not RESP2, end the walk with a reason.
 *
 * Also owns the poll connection's filter in front of hiredis's reader,
 * which keeps a string whole in its buffer until its last byte: a string
 * longer than the reader may hold is taken out of the stream and walked in
 * constant memory, so that one big value is its own key's matter.
 *
 * And reads a field of an INFO reply (the server's role, its eviction
 * policy and count), which the poll asks along with the keys.
 */


#ifndef _NGX_HTTP_OUTAGE_RESP_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_RESP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* ngx_http_outage_resp_walk() */
#define NGX_HTTP_OUTAGE_RESP_END     0     /* a reply ended at *used */
#define NGX_HTTP_OUTAGE_RESP_MORE    1     /* all bytes taken, not ended */
#define NGX_HTTP_OUTAGE_RESP_BAD     2     /* not RESP2, or beyond the cap */

/* open arrays: a message (1), its key list (2), one more for the reader */
#define NGX_HTTP_OUTAGE_RESP_DEPTH   3
#define NGX_HTTP_OUTAGE_RESP_LINE    24    /* "*" or "$" and 20 digits */


typedef struct {
    /* the top array has the shape of an expected reply, or the walk fails */
    uint64_t        top_max;
    /* what the reader takes; beyond: "over" */
    uint64_t        value_max;    /* bytes of one string */
    uint64_t        elements_max; /* elements of an inner array, and of
                                     the whole reply (+ top_max) */
    uint64_t        bytes_max;    /* bytes of the whole reply */
    /* beyond this a reply is not skipped either: BAD */
    uint64_t        cap;
} ngx_http_outage_resp_limits_t;


typedef struct {
    const ngx_http_outage_resp_limits_t  *limits;

    unsigned        state;
    unsigned char   type;         /* of the line being read */
    unsigned char   top;          /* of the reply: '*' for a message */
    unsigned char   line[NGX_HTTP_OUTAGE_RESP_LINE];
    size_t          line_len;
    uint64_t        bulk;         /* bytes of the string still to come */
    uint64_t        left[NGX_HTTP_OUTAGE_RESP_DEPTH];
    unsigned        depth;        /* arrays open */
    uint64_t        bytes;        /* of this reply so far */
    uint64_t        elements;     /* of this reply so far */

    unsigned        over:1;       /* too big for the reader: skip it */
    unsigned        started:1;    /* a reply has begun */
    unsigned        head_seen:1;  /* the top array's first element began */
    unsigned        head_open:1;  /* ... a string, being read */

    /*
     * The first bytes of the top array's first element when it is a
     * string: what a skipped reply was ("message", "pong") is known at its
     * end without keeping it.
     */
    unsigned char   head[8];
    size_t          head_len;

    char            reason[96];   /* BAD: why; "over": the first excess */
} ngx_http_outage_resp_t;


void ngx_http_outage_resp_init(ngx_http_outage_resp_t *w,
    const ngx_http_outage_resp_limits_t *limits);

/*
 * Walks p[0..len): NGX_HTTP_OUTAGE_RESP_END when a reply ended, *used bytes
 * later (the walker is then ready for the next one, its "over" and
 * "reason" still telling about the one that ended until the next call);
 * NGX_HTTP_OUTAGE_RESP_MORE when all len bytes belong to an unfinished
 * reply; NGX_HTTP_OUTAGE_RESP_BAD with w->reason.
 */
int ngx_http_outage_resp_walk(ngx_http_outage_resp_t *w,
    const unsigned char *p, size_t len, size_t *used);



/* ngx_http_outage_resp_cut() */
#define NGX_HTTP_OUTAGE_RESP_CUT_MORE  0   /* all bytes taken */
#define NGX_HTTP_OUTAGE_RESP_CUT_SKIP  1   /* a string over max begins */
#define NGX_HTTP_OUTAGE_RESP_CUT_BAD   2   /* a string over cap: reason */


typedef struct {
    uint64_t        max;          /* a longer string is skipped */
    uint64_t        cap;          /* a longer one is not Redis's: BAD */

    unsigned        state;
    unsigned char   line[NGX_HTTP_OUTAGE_RESP_LINE];
    size_t          line_len;
    uint64_t        left;         /* bytes of a string + CRLF to go */
    uint64_t        skipped;      /* SKIP: the length of that string */

    char            reason[96];
} ngx_http_outage_resp_cut_t;


void ngx_http_outage_resp_cut_init(ngx_http_outage_resp_cut_t *c,
    uint64_t max, uint64_t cap);

/*
 * Copies in[0..len) to out (room for len + NGX_HTTP_OUTAGE_RESP_LINE
 * bytes: a header cut between two calls is held back until complete),
 * *out_len bytes, up to *used bytes of in.  A string header announcing
 * more than max bytes is not copied: NGX_HTTP_OUTAGE_RESP_CUT_SKIP with
 * its length in c->skipped, after which the string and its CRLF are
 * dropped by the next calls; the caller stands something in for it.
 * Beyond cap: NGX_HTTP_OUTAGE_RESP_CUT_BAD with c->reason.  Other bytes,
 * well-formed or not, are copied as they are: the reader behind judges.
 */
int ngx_http_outage_resp_cut(ngx_http_outage_resp_cut_t *c,
    const unsigned char *in, size_t len, size_t *used, unsigned char *out,
    size_t *out_len);

/* the bytes of a skipped string still to drop (with its CRLF); 0: none */
uint64_t ngx_http_outage_resp_cut_dropping(ngx_http_outage_resp_cut_t *c);

/*
 * The value of one "name:value" line of an INFO reply (CRLF or LF lines,
 * "# Section" headers); NULL if the field is absent.  *vlen: its length.
 */
const unsigned char *ngx_http_outage_resp_info(const unsigned char *text,
    size_t len, const char *name, size_t *vlen);


#endif /* _NGX_HTTP_OUTAGE_RESP_H_INCLUDED_ */
