
/*
 * ngx_http_outage_scan.h: interface of the streaming HTML scanner that
 * decides where the outage banner is inserted in a response body.
 *
 * Pure C: no nginx headers, no allocation, no global state, so it can be
 * unit tested and fuzzed on its own and compiled into the module unchanged.
 * The rules are described in docs/notes/scanner.md.
 */


#ifndef _NGX_HTTP_OUTAGE_SCAN_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_SCAN_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


/* results of feed() and finish() */
#define NGX_HTTP_OUTAGE_SCAN_MORE      0   /* no decision yet */
#define NGX_HTTP_OUTAGE_SCAN_HIT       1   /* insert at s->hit */
#define NGX_HTTP_OUTAGE_SCAN_NONE      2   /* no place: no banner */

/*
 * Longest tag name the scanner ever has to recognise is "plaintext"; longer
 * names only need to be known as "something else".
 */
#define NGX_HTTP_OUTAGE_SCAN_NAME_LEN  12

/*
 * Bytes of a token whose meaning is not known yet ("<p" may be the start
 * of a body-implying tag, "&#3" of a space) are held back, at most this
 * many: longer tokens are decided before reaching the limit.
 */
#define NGX_HTTP_OUTAGE_SCAN_HOLD      32


/*
 * All state is here and of fixed size; nothing points into the caller's
 * buffers, so chunks may be freed or reused between calls.  Callers read
 * "done", "result", "hit", "implied", "nhold" and "hold" only, and may set
 * "utf8" after init() when the response names UTF-8 as its charset (a
 * browser then decodes it so: an ESC byte is text, not ISO-2022-JP's).
 */
typedef struct {
    unsigned int   state;
    unsigned int   done;        /* decided: result is HIT or NONE */
    unsigned int   result;
    unsigned int   raw;
    unsigned int   match;
    unsigned int   name_len;
    unsigned int   template_depth;
    unsigned int   foreign;     /* svg/math depth inside a template */
    unsigned int   cref;        /* numeric character reference value */
    unsigned int   cref_len;
    unsigned int   id;          /* of the tag being read, once looked up */
    unsigned int   end_tag:1;
    unsigned int   self_closing:1;
    unsigned int   after_head:1;
    unsigned int   body_tag:1;  /* the tag being read is <body> */
    unsigned int   pending:1;   /* bytes from "mark" are held back */
    unsigned int   sniffed:1;
    unsigned int   hex:1;
    unsigned int   implied:1;   /* the hit needs "<body>" before the banner */
    unsigned int   no_masks:1;  /* a run was not in the masks' shape */
    unsigned int   utf8:1;      /* set by the caller: served as UTF-8 */
    off_t          offset;      /* bytes fed so far */
    off_t          mark;        /* start of the held token */
    off_t          hit;         /* where the banner goes, from the start */
    off_t          esc;         /* 1 + where the first ESC byte is, or 0 */
    unsigned int   nhold;       /* held bytes: the last nhold bytes fed */
    unsigned char  name[NGX_HTTP_OUTAGE_SCAN_NAME_LEN];
    unsigned char  hold[NGX_HTTP_OUTAGE_SCAN_HOLD];
} ngx_http_outage_scan_t;


void ngx_http_outage_scan_init(ngx_http_outage_scan_t *s);

/*
 * Feed the next chunk.  Returns NGX_HTTP_OUTAGE_SCAN_MORE if no decision
 * was made yet: then the last s->nhold bytes fed (a copy is in s->hold)
 * may still have to go after the banner and must be held back by the
 * caller, everything before them can be sent.  NGX_HTTP_OUTAGE_SCAN_HIT:
 * the banner goes s->hit bytes from the start of the stream, which is at
 * or after the first held byte; with s->implied set, "<body>" must be
 * inserted right before the banner.  NGX_HTTP_OUTAGE_SCAN_NONE: the body
 * has no place for a banner (not HTML, a frameset, an ESC byte before the
 * place: ISO-2022-JP, whose bytes are not what they seem).  After a
 * decision, further calls return it again without scanning.
 */
int ngx_http_outage_scan_feed(ngx_http_outage_scan_t *s,
    const unsigned char *p, size_t len);

/*
 * Called at end of stream: returns the decision (HIT, possibly at the very
 * end, or NONE, e.g. for an empty body or one that ends inside a comment,
 * a script or an attribute).  Never returns MORE.
 */
int ngx_http_outage_scan_finish(ngx_http_outage_scan_t *s);

/*
 * For tests: 0 stops the AVX2 reading of runs of <meta> and <link> tags
 * (the SSE2 or portable searches read every tag, as on CPUs without
 * AVX2), anything else lets the scanner use it where the build and the
 * CPU have it.  Returns 1 if it is used from now on.  Not for the module:
 * the choice is per process.
 */
int ngx_http_outage_scan_use_avx2(int on);


#endif /* _NGX_HTTP_OUTAGE_SCAN_H_INCLUDED_ */
