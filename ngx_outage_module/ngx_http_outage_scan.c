
/*
 * ngx_http_outage_scan.c: streaming scanner that finds where the outage
 * banner goes in an HTML response so that, in the tree an HTML5 parser
 * builds, it is the first child of <body> and nothing else changes
 * (docs/notes/scanner.md).
 *
 * It owns a byte-driven state machine modelled on the HTML5 tokenizer and
 * the few tree-construction facts that matter before <body> exists: which
 * tokens imply the body (the banner goes right before them, after a
 * "<body>" of its own), which stay in <head>, templates, and where no
 * place exists (a frameset, a stream that ends inside a construct, a body
 * that is not HTML).  Every state survives a chunk boundary; bytes of a
 * token not yet understood are held back (at most NGX_HTTP_OUTAGE_SCAN_HOLD),
 * so the result does not depend on how the body is split into buffers.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "ngx_http_outage_scan.h"


/* element flags */
#define NGX_HTTP_OUTAGE_SCAN_HEAD      0x01  /* stays in <head> */
#define NGX_HTTP_OUTAGE_SCAN_RAW       0x02  /* text content up to end tag */
/* a start tag kept in <head> that changes nothing in the scanner's state */
#define NGX_HTTP_OUTAGE_SCAN_KEPT      0x04

/* element ids: indexes into ngx_http_outage_scan_elts[] */
#define NGX_HTTP_OUTAGE_SCAN_OTHER     0
#define NGX_HTTP_OUTAGE_SCAN_BODY      1
#define NGX_HTTP_OUTAGE_SCAN_HEAD_EL   2
#define NGX_HTTP_OUTAGE_SCAN_SCRIPT    3
#define NGX_HTTP_OUTAGE_SCAN_NOSCRIPT  4
#define NGX_HTTP_OUTAGE_SCAN_TEMPLATE  5
#define NGX_HTTP_OUTAGE_SCAN_PLAIN     6
#define NGX_HTTP_OUTAGE_SCAN_HTML      7
#define NGX_HTTP_OUTAGE_SCAN_FRAMESET  8
#define NGX_HTTP_OUTAGE_SCAN_BR        9
#define NGX_HTTP_OUTAGE_SCAN_SVG       10
#define NGX_HTTP_OUTAGE_SCAN_MATH      11
#define NGX_HTTP_OUTAGE_SCAN_P         12
#define NGX_HTTP_OUTAGE_SCAN_TITLE     13
#define NGX_HTTP_OUTAGE_SCAN_BASE      14
#define NGX_HTTP_OUTAGE_SCAN_LINK      15
#define NGX_HTTP_OUTAGE_SCAN_META      16
#define NGX_HTTP_OUTAGE_SCAN_STYLE     17
#define NGX_HTTP_OUTAGE_SCAN_BASEFONT  18
#define NGX_HTTP_OUTAGE_SCAN_BGSOUND   19
#define NGX_HTTP_OUTAGE_SCAN_NOFRAMES  20
#define NGX_HTTP_OUTAGE_SCAN_TEXTAREA  21
#define NGX_HTTP_OUTAGE_SCAN_XMP       22
#define NGX_HTTP_OUTAGE_SCAN_IFRAME    23
#define NGX_HTTP_OUTAGE_SCAN_NOEMBED   24

/* s->id of a tag whose name was not looked up yet */
#define NGX_HTTP_OUTAGE_SCAN_UNKNOWN   ((unsigned int) -1)

/* bytes looked at before deciding whether the body is HTML at all */
#define NGX_HTTP_OUTAGE_SCAN_SNIFF     4


typedef struct {
    const char    *name;
    size_t         len;
    unsigned int   flags;
} ngx_http_outage_scan_elt_t;


/*
 * The first entries must match the ids above.  HEAD elements are those the
 * "in head" and "after head" insertion modes keep in <head> (noscript only
 * before </head>, see start_tag()); any other start tag implies <body>.
 * RAW elements switch the tokenizer to text until their end tag; those
 * that are not HEAD matter only inside <template>, since anywhere else
 * they imply the body and the scan ends before them.
 */
static const ngx_http_outage_scan_elt_t  ngx_http_outage_scan_elts[] = {
    { "", 0, 0 },
    { "body", 4, 0 },
    { "head", 4, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_KEPT },
    { "script", 6, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "noscript", 8, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "template", 8, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "plaintext", 9, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "html", 4, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_KEPT },
    { "frameset", 8, 0 },
    { "br", 2, 0 },
    { "svg", 3, 0 },
    { "math", 4, 0 },
    { "p", 1, 0 },
    { "title", 5, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "base", 4, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_KEPT },
    { "link", 4, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_KEPT },
    { "meta", 4, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_KEPT },
    { "style", 5, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "basefont", 8, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_KEPT },
    { "bgsound", 7, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_KEPT },
    { "noframes", 8, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "textarea", 8, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "xmp", 3, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "iframe", 6, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "noembed", 7, NGX_HTTP_OUTAGE_SCAN_RAW }
};

#define NGX_HTTP_OUTAGE_SCAN_NELTS                                            \
    (sizeof(ngx_http_outage_scan_elts) / sizeof(ngx_http_outage_scan_elts[0]))


/*
 * HTML start tags that end foreign (svg/math) content; only looked up
 * inside a <template>, where svg and math do not imply the body.
 */
static const char  *ngx_http_outage_scan_breakout[] = {
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div",
    "dl", "dt", "em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "hr", "i", "img", "li", "listing", "menu", "meta", "nobr", "ol", "p",
    "pre", "ruby", "s", "small", "span", "strong", "strike", "sub", "sup",
    "table", "tt", "u", "ul", "var", NULL
};


/* tokenizer states, kept in s->state between calls */
enum {
    ngx_http_outage_scan_sw_data = 0,
    ngx_http_outage_scan_sw_tag_open,
    ngx_http_outage_scan_sw_end_tag_open,
    ngx_http_outage_scan_sw_tag_name,
    ngx_http_outage_scan_sw_before_attr_name,
    ngx_http_outage_scan_sw_attr_name,
    ngx_http_outage_scan_sw_after_attr_name,
    ngx_http_outage_scan_sw_before_value,
    ngx_http_outage_scan_sw_value_dq,
    ngx_http_outage_scan_sw_value_sq,
    ngx_http_outage_scan_sw_value_unq,
    ngx_http_outage_scan_sw_after_value,
    ngx_http_outage_scan_sw_self_closing,
    ngx_http_outage_scan_sw_markup,
    ngx_http_outage_scan_sw_markup_dash,
    ngx_http_outage_scan_sw_markup_cdata,
    ngx_http_outage_scan_sw_bogus,
    ngx_http_outage_scan_sw_comment_start,
    ngx_http_outage_scan_sw_comment_start_dash,
    ngx_http_outage_scan_sw_comment,
    ngx_http_outage_scan_sw_comment_end_dash,
    ngx_http_outage_scan_sw_comment_end,
    ngx_http_outage_scan_sw_comment_end_bang,
    ngx_http_outage_scan_sw_cdata,
    ngx_http_outage_scan_sw_cdata_bracket,
    ngx_http_outage_scan_sw_cdata_end,
    ngx_http_outage_scan_sw_raw,
    ngx_http_outage_scan_sw_raw_lt,
    ngx_http_outage_scan_sw_raw_end,
    ngx_http_outage_scan_sw_plaintext,
    ngx_http_outage_scan_sw_script,
    ngx_http_outage_scan_sw_script_lt,
    ngx_http_outage_scan_sw_script_end,
    ngx_http_outage_scan_sw_script_esc_start,
    ngx_http_outage_scan_sw_script_esc_start_dash,
    /* these four and the four from script_dbl: see run() and below */
    ngx_http_outage_scan_sw_script_esc,
    ngx_http_outage_scan_sw_script_esc_dash,
    ngx_http_outage_scan_sw_script_esc_dash_dash,
    ngx_http_outage_scan_sw_script_esc_lt,
    ngx_http_outage_scan_sw_script_esc_end,
    ngx_http_outage_scan_sw_script_dbl_start,
    ngx_http_outage_scan_sw_script_dbl,
    ngx_http_outage_scan_sw_script_dbl_dash,
    ngx_http_outage_scan_sw_script_dbl_dash_dash,
    ngx_http_outage_scan_sw_script_dbl_lt,
    ngx_http_outage_scan_sw_script_dbl_end,
    ngx_http_outage_scan_sw_cref,
    ngx_http_outage_scan_sw_cref_named,
    ngx_http_outage_scan_sw_cref_num,
    ngx_http_outage_scan_sw_cref_digits
};


/*
 * run() steps through "script data escaped" and "script data double
 * escaped" and their dash and less-than states by arithmetic
 */
typedef char  ngx_http_outage_scan_esc_order_t[
    (ngx_http_outage_scan_sw_script_esc_lt
     == ngx_http_outage_scan_sw_script_esc + 3
     && ngx_http_outage_scan_sw_script_dbl_lt
        == ngx_http_outage_scan_sw_script_dbl + 3) ? 1 : -1];


#define ngx_http_outage_scan_lower(c)                                         \
    (unsigned char) (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c))

#define ngx_http_outage_scan_alpha(c)                                         \
    (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')

/* HTML whitespace; CR is included because the tokenizer sees it as LF */
#define ngx_http_outage_scan_space(c)                                         \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r' || (c) == '\f')

/* what may follow a tag name: anything else makes it a longer name */
#define ngx_http_outage_scan_name_end(c)                                      \
    (ngx_http_outage_scan_space(c) || (c) == '/' || (c) == '>')

/* the only named character references that are whitespace */
static const char  *ngx_http_outage_scan_cref_names[] = { "Tab;", "NewLine;" };


/*
 * Byte classes of the head fast path (ngx_http_outage_scan_head()):
 * one table load per byte instead of a chain of compares.
 */
#define NGX_HTTP_OUTAGE_SCAN_C_SP   0x01    /* HTML whitespace, CR */
#define NGX_HTTP_OUTAGE_SCAN_C_SL   0x02    /* "/" */
#define NGX_HTTP_OUTAGE_SCAN_C_GT   0x04    /* ">" */
#define NGX_HTTP_OUTAGE_SCAN_C_EQ   0x08    /* "=" */
#define NGX_HTTP_OUTAGE_SCAN_C_QT   0x10    /* a quote */

/* what ends a tag name or an attribute name ("=" only the latter) */
#define NGX_HTTP_OUTAGE_SCAN_C_NAME                                           \
    (NGX_HTTP_OUTAGE_SCAN_C_SP|NGX_HTTP_OUTAGE_SCAN_C_SL                      \
     |NGX_HTTP_OUTAGE_SCAN_C_GT)

static const unsigned char  ngx_http_outage_scan_cls[256] = {
    ['\t'] = NGX_HTTP_OUTAGE_SCAN_C_SP, ['\n'] = NGX_HTTP_OUTAGE_SCAN_C_SP,
    ['\f'] = NGX_HTTP_OUTAGE_SCAN_C_SP, ['\r'] = NGX_HTTP_OUTAGE_SCAN_C_SP,
    [' '] = NGX_HTTP_OUTAGE_SCAN_C_SP, ['/'] = NGX_HTTP_OUTAGE_SCAN_C_SL,
    ['>'] = NGX_HTTP_OUTAGE_SCAN_C_GT, ['='] = NGX_HTTP_OUTAGE_SCAN_C_EQ,
    ['"'] = NGX_HTTP_OUTAGE_SCAN_C_QT, ['\''] = NGX_HTTP_OUTAGE_SCAN_C_QT
};

/* the fast path cannot finish this token here: the state machine does */
#define NGX_HTTP_OUTAGE_SCAN_SLOW   (-1)

/* a run of <meta>s and <link>s from *pi: tags_avx2() reads it */
#define NGX_HTTP_OUTAGE_SCAN_MASKS  (-2)

/*
 * A tag the fast path has not finished within this many bytes goes to
 * the state machine: a tag left open at the end of a buffer is read again
 * from its "<", and this bounds how much of it is read twice.
 */
#define NGX_HTTP_OUTAGE_SCAN_FAST_MAX  512

/*
 * Eight bytes at a time where it is known which byte comes first (little
 * endian) and how to find it (__builtin_ctzll): every class above is a
 * byte below 0x3F, names are letters mostly, so a word without any byte
 * below 0x3F is skipped whole.  Elsewhere a byte at a time, same result.
 */
#if (defined __GNUC__ && defined __BYTE_ORDER__                               \
     && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define NGX_HTTP_OUTAGE_SCAN_SWAR   1
#endif

/*
 * Sixteen bytes at a time where SSE2 is there for sure (every x86-64):
 * the searches of the tag fast path; the same results as the loops
 * beside them (tests/unit/test_scan.c, the oracle and the fuzzer run on
 * the build at hand; -DNGX_HTTP_OUTAGE_SCAN_NO_SSE2 builds the other way)
 */
#if (defined __SSE2__ && (defined __GNUC__ || defined __clang__)            \
     && !defined NGX_HTTP_OUTAGE_SCAN_NO_SSE2)
#define NGX_HTTP_OUTAGE_SCAN_SSE2   1
#include <emmintrin.h>
#endif

/*
 * Sixty-four bytes at a time where the CPU has AVX2 (asked once at run
 * time: nginx is built for the x86-64 baseline): the part of a tag after
 * its name as one pass of byte masks and bit operations
 * (ngx_http_outage_scan_tags_avx2(); the argument is in docs/notes/scanner.md
 * "The tag skipper").  Compilers that cannot build a function for another
 * target than the file's (GCC before 6, clang before 6) and other CPUs use
 * the SSE2 searches; -DNGX_HTTP_OUTAGE_SCAN_NO_AVX2 builds that variant on
 * any machine (make unit, make oracle, scan_ir.py --no-avx2).  The CPU is
 * asked by CPUID and XGETBV (cpu_avx2()), not __builtin_cpu_supports(),
 * whose feature names ("pclmul", "bmi2") depend on the compiler's version.
 */
#if (NGX_HTTP_OUTAGE_SCAN_SSE2 && defined __x86_64__                          \
     && !defined NGX_HTTP_OUTAGE_SCAN_NO_AVX2                                 \
     && ((defined __clang__ && __clang_major__ >= 6)                          \
         || (!defined __clang__ && defined __GNUC__ && __GNUC__ >= 6)))
#define NGX_HTTP_OUTAGE_SCAN_AVX2   1
#include <immintrin.h>
#include <cpuid.h>
#define ngx_http_outage_scan_target_avx2                                      \
    __attribute__((target("avx2,bmi,bmi2,pclmul")))

/* the bytes the masks look for, 32 of each: loads, not broadcasts */
static const unsigned char  ngx_http_outage_scan_avx2_c[5][32]
    __attribute__((aligned(32))) = {
#define ngx_http_outage_scan_c32(c)                                           \
    { c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c,                         \
      c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c }
    ngx_http_outage_scan_c32('"'), ngx_http_outage_scan_c32('='),
    ngx_http_outage_scan_c32('>'), ngx_http_outage_scan_c32(0x20),
    ngx_http_outage_scan_c32('/')
#undef ngx_http_outage_scan_c32
};

/* tags_avx2() stopped at a limit of the buffer, not at the run's end */
#define NGX_HTTP_OUTAGE_SCAN_AT_LIMIT  0x80000000

/* 1: AVX2 is there, 0: it is not, -1: not asked yet (benign race: same value) */
static int  ngx_http_outage_scan_avx2 = -1;
#endif

/* the helpers of the fast paths: inlined even at -O1 */
#if (defined __GNUC__)
#define ngx_http_outage_scan_inline  inline __attribute__((always_inline))
#else
#define ngx_http_outage_scan_inline  inline
#endif

/*
 * head() is called, not inlined into run(): inlined, the registers of
 * run()'s loop and head()'s tag loop compete and every tag costs a few
 * instructions more (2-4 % of a head, tests/bench/scan_ir.py), more than
 * the call costs once per stretch of head
 */
#if (defined __GNUC__)
#define ngx_http_outage_scan_noinline  __attribute__((noinline))
#else
#define ngx_http_outage_scan_noinline
#endif


/*
 * Four letters as the word a load of them gives, where the byte order is
 * known (GCC, clang); elsewhere the head fast path looks names up by
 * find() only.
 */

#if (defined __BYTE_ORDER__ && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define NGX_HTTP_OUTAGE_SCAN_WORDS  1
#define NGX_HTTP_OUTAGE_SCAN_W4(a, b, c, d)                                   \
    ((uint32_t) (a) << 24 | (uint32_t) (b) << 16 | (uint32_t) (c) << 8        \
     | (uint32_t) (d))
#elif (defined __BYTE_ORDER__ && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define NGX_HTTP_OUTAGE_SCAN_WORDS  1
#define NGX_HTTP_OUTAGE_SCAN_W4(a, b, c, d)                                   \
    ((uint32_t) (a) | (uint32_t) (b) << 8 | (uint32_t) (c) << 16              \
     | (uint32_t) (d) << 24)
#endif



static int ngx_http_outage_scan_feed_bytes(ngx_http_outage_scan_t *s,
    const unsigned char *p, size_t len);
static int ngx_http_outage_scan_finish_bytes(ngx_http_outage_scan_t *s);
static int ngx_http_outage_scan_run(ngx_http_outage_scan_t *s,
    const unsigned char *p, size_t len);
static int ngx_http_outage_scan_sniff(ngx_http_outage_scan_t *s);
static int ngx_http_outage_scan_decide(ngx_http_outage_scan_t *s, int result,
    off_t hit, unsigned int implied);
static unsigned int ngx_http_outage_scan_lookup(ngx_http_outage_scan_t *s);
static int ngx_http_outage_scan_resolve(ngx_http_outage_scan_t *s);
static void ngx_http_outage_scan_tag(ngx_http_outage_scan_t *s);
static int ngx_http_outage_scan_cref_space(ngx_http_outage_scan_t *s);
static unsigned int ngx_http_outage_scan_after_tag(ngx_http_outage_scan_t *s);
static int ngx_http_outage_scan_head(ngx_http_outage_scan_t *s,
    const unsigned char *p, size_t len, off_t base, size_t *pi,
    unsigned int *pstate);
static ngx_http_outage_scan_inline unsigned int ngx_http_outage_scan_find(
    const unsigned char *name, size_t len);
static ngx_http_outage_scan_inline int ngx_http_outage_scan_eq(
    const unsigned char *p, const char *lc, size_t len);
static ngx_http_outage_scan_inline const unsigned char *
    ngx_http_outage_scan_skip(
    const unsigned char *u, const unsigned char *end, unsigned int stop);
static ngx_http_outage_scan_inline const unsigned char *
    ngx_http_outage_scan_spaces(const unsigned char *u,
    const unsigned char *end);
static ngx_http_outage_scan_inline const unsigned char *
    ngx_http_outage_scan_eq_gt(const unsigned char *u,
    const unsigned char *l16, const unsigned char *end);
static ngx_http_outage_scan_inline const unsigned char *
    ngx_http_outage_scan_quote(const unsigned char *u,
    const unsigned char *l16, const unsigned char *end, unsigned char quote);
static ngx_http_outage_scan_inline const unsigned char *
    ngx_http_outage_scan_unquoted(const unsigned char *u,
    const unsigned char *l16, const unsigned char *end);
#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
static ngx_http_outage_scan_target_avx2 const unsigned char *
    ngx_http_outage_scan_tags_avx2(const unsigned char *t,
    const unsigned char *end, unsigned int *pn);
#endif
static ngx_http_outage_scan_inline unsigned int ngx_http_outage_scan_text(
    ngx_http_outage_scan_t *s, const unsigned char *p, size_t len,
    size_t *pi, unsigned int script);


void
ngx_http_outage_scan_init(ngx_http_outage_scan_t *s)
{
    memset(s, 0, sizeof(ngx_http_outage_scan_t));
    s->state = ngx_http_outage_scan_sw_data;

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    if (ngx_http_outage_scan_avx2 < 0) {
        (void) ngx_http_outage_scan_use_avx2(1);
    }
#endif
}


#if (NGX_HTTP_OUTAGE_SCAN_AVX2)

/*
 * Whether the CPU has AVX2, BMI1, BMI2 and PCLMULQDQ and the kernel saves
 * the YMM registers (OSXSAVE, and XCR0 bits 1 and 2): CPUID leaves 1 and
 * 7 and XGETBV, as Intel's SDM 14.3 says to ask.
 */

static int
ngx_http_outage_scan_cpu_avx2(void)
{
    unsigned int  a, b, c, d, xlo, xhi;

    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }

    __cpuid(1, a, b, c, d);

    /* PCLMULQDQ (bit 1), OSXSAVE (27), AVX (28) */
    if ((c & 0x18000002) != 0x18000002) {
        return 0;
    }

    __asm__ ("xgetbv" : "=a" (xlo), "=d" (xhi) : "c" (0));
    (void) xhi;

    if ((xlo & 6) != 6) {
        return 0;
    }

    __cpuid_count(7, 0, a, b, c, d);

    /* BMI1 (bit 3), AVX2 (5), BMI2 (8) */
    return (b & 0x128) == 0x128;
}

#endif


int
ngx_http_outage_scan_use_avx2(int on)
{
#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    ngx_http_outage_scan_avx2 = on && ngx_http_outage_scan_cpu_avx2();

    return ngx_http_outage_scan_avx2;
#else
    (void) on;

    return 0;
#endif
}


/*
 * An ESC byte (0x1B) before the place: no place.  In ISO-2022-JP (which
 * a browser may detect in a page that names no charset) an escape
 * sequence switches to two-byte characters whose bytes include "<", ">",
 * quotes and letters: the bytes this scanner read as tags may be text.
 * A page in an ASCII-compatible charset has no reason to carry ESC before
 * its <body>.  A page served as UTF-8 (s->utf8) is decoded so whatever
 * its bytes, and is not looked at.  One memchr() over the bytes fed up to
 * the decision (a decision in this chunk: up to the place) rather than a
 * compare in every search of the fast paths: tests/bench/scan_ir.py
 * --no-charset measures it (docs/performance.md, Run Q-scan).  The first ESC's position is kept:
 * held bytes may still come after the place, so an ESC among them decides
 * nothing yet, and the answer does not depend on where chunks split.
 */

int
ngx_http_outage_scan_feed(ngx_http_outage_scan_t *s, const unsigned char *p,
    size_t len)
{
    int                   rc;
    off_t                 start, n;
    const unsigned char  *q;

    if (s->done) {
        return (int) s->result;
    }

    start = s->offset;

    rc = ngx_http_outage_scan_feed_bytes(s, p, len);

    if (rc == NGX_HTTP_OUTAGE_SCAN_NONE) {
        return rc;
    }

    if (s->esc == 0) {

        if (s->utf8) {
            /* decoded as UTF-8 whatever its bytes: ESC is text */
            return rc;
        }

        n = (rc == NGX_HTTP_OUTAGE_SCAN_HIT) ? s->hit - start : (off_t) len;

        if (n > (off_t) len) {
            n = (off_t) len;
        }

        if (n > 0) {
            q = memchr(p, 0x1B, (size_t) n);
            if (q != NULL) {
                s->esc = start + (off_t) (q - p) + 1;
            }
        }

        if (s->esc == 0) {
            return rc;
        }
    }

    if (s->utf8) {
        /* a UTF-8 BOM sniffed after the ESC was seen in held bytes */
        return rc;
    }

    /* s->esc - 1 is where the first ESC is */

    if (rc == NGX_HTTP_OUTAGE_SCAN_HIT ? s->esc <= s->hit
        : s->esc <= s->offset - (off_t) s->nhold)
    {
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);
    }

    return rc;
}


static int
ngx_http_outage_scan_feed_bytes(ngx_http_outage_scan_t *s,
    const unsigned char *p, size_t len)
{
    size_t  n;
    int     rc;

    if (!s->sniffed) {

        if (s->nhold == 0 && len >= NGX_HTTP_OUTAGE_SCAN_SNIFF
            && (p[0] == '<' || ngx_http_outage_scan_space(p[0]))
            && p[1] && p[2] && p[3])
        {
            /* what sniff() decides for the usual start of a page */
            s->sniffed = 1;
            s->pending = 0;
            return ngx_http_outage_scan_run(s, p, len);
        }

        /* the first bytes are held until it is known whether this is HTML */

        n = NGX_HTTP_OUTAGE_SCAN_SNIFF - s->nhold;
        if (n > len) {
            n = len;
        }

        memcpy(s->hold + s->nhold, p, n);
        s->nhold += (unsigned int) n;
        s->offset += (off_t) n;
        p += n;
        len -= n;

        if (s->nhold < NGX_HTTP_OUTAGE_SCAN_SNIFF) {
            s->pending = 1;
            s->mark = 0;
            return NGX_HTTP_OUTAGE_SCAN_MORE;
        }

        rc = ngx_http_outage_scan_sniff(s);
        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE || len == 0) {
            return rc;
        }
    }

    return ngx_http_outage_scan_run(s, p, len);
}


int
ngx_http_outage_scan_finish(ngx_http_outage_scan_t *s)
{
    int  rc;

    if (s->done) {
        return (int) s->result;
    }

    rc = ngx_http_outage_scan_finish_bytes(s);

    /* an ESC before the place (see feed()) */

    if (rc == NGX_HTTP_OUTAGE_SCAN_HIT && s->esc && !s->utf8
        && s->esc <= s->hit)
    {
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);
    }

    return rc;
}


static int
ngx_http_outage_scan_finish_bytes(ngx_http_outage_scan_t *s)
{
    int  rc;

    if (s->offset == 0) {
        /* an empty body stays empty */
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);
    }

    if (!s->sniffed) {
        rc = ngx_http_outage_scan_sniff(s);
        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
            return rc;
        }
    }

    /*
     * An open <template> would take the banner in; anything else open at
     * the end (a comment, a script, a tag, an attribute value) would show
     * it as text or swallow it.
     */

    if (s->template_depth) {
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);
    }

    switch (s->state) {

    case ngx_http_outage_scan_sw_data:
        /* the parser creates an empty <body> at the end: append */
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                           s->offset, 1);

    case ngx_http_outage_scan_sw_tag_open:
    case ngx_http_outage_scan_sw_end_tag_open:
    case ngx_http_outage_scan_sw_cref:
    case ngx_http_outage_scan_sw_cref_named:
    case ngx_http_outage_scan_sw_cref_num:
        /* "<", "</", "&..." at the end are text: they imply the body */
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                           s->mark, 1);

    case ngx_http_outage_scan_sw_tag_name:
        if (s->pending) {
            /* a tag cut off by the end is dropped: before it is the end */
            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                               s->mark, 1);
        }

        break;

    case ngx_http_outage_scan_sw_cref_digits:
        if (s->cref_len && ngx_http_outage_scan_cref_space(s)) {
            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                               s->offset, 1);
        }

        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                           s->mark, 1);

    default:
        break;
    }

    return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);
}


/*
 * Bodies served as HTML that are not: binary formats by their magic bytes,
 * UTF-16 (a BOM, or NUL bytes that ASCII text in UTF-16 has).  A UTF-8 BOM
 * is skipped: the decoder drops it only at the very start, so the banner
 * must not come before it.
 */

static int
ngx_http_outage_scan_sniff(ngx_http_outage_scan_t *s)
{
    size_t          i, n, skip;
    unsigned char   b[NGX_HTTP_OUTAGE_SCAN_SNIFF];

    static const struct {
        size_t       len;
        const char  *magic;
    } binary[] = {
        { 2, "\xFE\xFF" },              /* UTF-16BE BOM */
        { 2, "\xFF\xFE" },              /* UTF-16LE BOM */
        { 4, "\x89PNG" },
        { 4, "GIF8" },
        { 3, "\xFF\xD8\xFF" },          /* JPEG */
        { 2, "\x1F\x8B" },              /* gzip */
        { 4, "\x28\xB5\x2F\xFD" },      /* zstd */
        { 4, "%PDF" },
        { 4, "PK\x03\x04" },            /* zip */
        { 4, "RIFF" },                  /* webp, wav, avi */
        { 4, "\x7F" "ELF" },
        { 4, "wOFF" },
        { 4, "wOF2" },
        { 4, "OggS" },
        { 4, "\x1A\x45\xDF\xA3" }       /* webm, mkv */
    };

    n = s->nhold;
    memcpy(b, s->hold, n);

    /* the usual start of a page: none of the magic numbers begins so */
    if (n && (b[0] == '<' || ngx_http_outage_scan_space(b[0]))
        && memchr(b, '\0', n) == NULL)
    {
        goto html;
    }

    if (memchr(b, '\0', n) != NULL) {
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);
    }

    for (i = 0; i < sizeof(binary) / sizeof(binary[0]); i++) {
        if (n >= binary[i].len && memcmp(b, binary[i].magic, binary[i].len) == 0)
        {
            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE,
                                               0, 0);
        }
    }

html:

    skip = (n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;

    if (skip) {
        /* a UTF-8 BOM wins over any charset label in browsers (WHATWG) */
        s->utf8 = 1;
    }

    s->sniffed = 1;
    s->pending = 0;
    s->nhold = 0;
    s->offset = (off_t) skip;

    return ngx_http_outage_scan_run(s, b + skip, n - skip);
}


static int
ngx_http_outage_scan_decide(ngx_http_outage_scan_t *s, int result, off_t hit,
    unsigned int implied)
{
    s->done = 1;
    s->result = (unsigned int) result;
    s->hit = hit;
    s->implied = implied;
    s->nhold = 0;

    return result;
}


/*
 * The body of the state machine.  Before <body> exists (s->template_depth
 * is 0), a token that may imply the body sets s->pending and s->mark at
 * its first byte until it is understood; a token known to imply it ends
 * the scan with a hit at its start.
 */

static int
ngx_http_outage_scan_run(ngx_http_outage_scan_t *s, const unsigned char *p,
    size_t len)
{
    int                                rc;
    off_t                              base;
    size_t                             i, n;
    unsigned int                       state, first;
    unsigned char                      c;
    const unsigned char               *q;
    const ngx_http_outage_scan_elt_t  *e;
#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    unsigned int                       n32;
#endif

    base = s->offset;
    state = s->state;
    i = 0;

    /*
     * Each case either consumes p[i] (i++) or switches state without
     * consuming it ("reconsume"), exactly like the HTML5 tokenizer; the
     * reconsume chains are all finite, so every iteration makes progress
     * within a couple of steps.
     */

    while (i < len) {
        c = p[i];

        switch (state) {

        case ngx_http_outage_scan_sw_data:

            if (s->template_depth) {
                q = memchr(p + i, '<', len - i);
                if (q == NULL) {
                    i = len;
                    break;
                }

                i = (size_t) (q - p) + 1;
                state = ngx_http_outage_scan_sw_tag_open;
                break;
            }

            /*
             * Before the body, whitespace stays where it is (ignored or in
             * <head>); any other character implies the body.
             */

            while (ngx_http_outage_scan_space(c)) {
                if (++i == len) {
                    break;
                }

                c = p[i];
            }

            if (i == len) {
                break;
            }

            s->mark = base + (off_t) i;

            if (c == '<') {

                rc = ngx_http_outage_scan_head(s, p, len, base, &i, &state);

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
                while (rc == NGX_HTTP_OUTAGE_SCAN_MASKS) {
                    q = ngx_http_outage_scan_tags_avx2(p + i, p + len, &n32);

                    /*
                     * A run that ended (not at a limit of the buffer)
                     * before a third tag did not pay for its masks: a tag
                     * in another shape or short groups of tags in the
                     * shape are a page's habit, so the masks are not
                     * tried again for this page (review R2 s8 F2, F3).
                     */
                    if (n32 < 3) {
                        s->no_masks = 1;
                    }

                    if (q != NULL) {
                        /* the data state after the last ">" read */
                        i = (size_t) (q - p) + 1;
                        rc = NGX_HTTP_OUTAGE_SCAN_MORE;
                        break;
                    }

                    /* the searches read this tag (and may come back) */
                    rc = ngx_http_outage_scan_head(s, p, len, base, &i,
                                                   &state);
                }
#endif

                if (rc != NGX_HTTP_OUTAGE_SCAN_SLOW) {
                    if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
                        return rc;
                    }

                    break;
                }

                s->mark = base + (off_t) i;
                s->pending = 1;
                state = ngx_http_outage_scan_sw_tag_open;
                i++;
                break;
            }

            if (c == '&') {
                s->pending = 1;
                state = ngx_http_outage_scan_sw_cref;
                i++;
                break;
            }

            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                               s->mark, 1);

        case ngx_http_outage_scan_sw_tag_open:
            if (ngx_http_outage_scan_alpha(c)) {
                s->end_tag = 0;
                s->name_len = 0;
                s->self_closing = 0;
                s->body_tag = 0;
                s->id = NGX_HTTP_OUTAGE_SCAN_UNKNOWN;
                state = ngx_http_outage_scan_sw_tag_name;
                break;
            }

            if (c == '!') {
                s->pending = 0;
                state = ngx_http_outage_scan_sw_markup;
                i++;
                break;
            }

            if (c == '/') {
                state = ngx_http_outage_scan_sw_end_tag_open;
                i++;
                break;
            }

            if (c == '?') {
                s->pending = 0;
                state = ngx_http_outage_scan_sw_bogus;
                i++;
                break;
            }

            /* a lone "<" is text, which implies the body */

            if (s->pending) {
                return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                                   s->mark, 1);
            }

            state = ngx_http_outage_scan_sw_data;
            break;

        case ngx_http_outage_scan_sw_end_tag_open:
            if (ngx_http_outage_scan_alpha(c)) {
                s->end_tag = 1;
                s->name_len = 0;
                s->self_closing = 0;
                s->body_tag = 0;
                s->id = NGX_HTTP_OUTAGE_SCAN_UNKNOWN;
                state = ngx_http_outage_scan_sw_tag_name;
                break;
            }

            /* "</>" is dropped, "</3" is a bogus comment */

            s->pending = 0;

            if (c == '>') {
                state = ngx_http_outage_scan_sw_data;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_bogus;
            break;

        case ngx_http_outage_scan_sw_tag_name:

            /* the name in one go, without a round through the switch */
            while (!ngx_http_outage_scan_name_end(c)) {

                /* names longer than the buffer only need to be "not ours" */
                if (s->name_len < NGX_HTTP_OUTAGE_SCAN_NAME_LEN) {
                    s->name[s->name_len] = ngx_http_outage_scan_lower(c);
                }

                if (s->name_len <= NGX_HTTP_OUTAGE_SCAN_NAME_LEN) {
                    s->name_len++;
                }

                i++;

                if (s->pending && s->name_len > NGX_HTTP_OUTAGE_SCAN_NAME_LEN)
                {
                    /* an unknown name: decided now, so the hold stays small */
                    rc = ngx_http_outage_scan_resolve(s);
                    if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
                        return rc;
                    }
                }

                if (i == len) {
                    break;
                }

                c = p[i];
            }

            if (i == len) {
                break;
            }

            if (s->pending) {
                rc = ngx_http_outage_scan_resolve(s);
                if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
                    return rc;
                }
            }

            if (ngx_http_outage_scan_space(c)) {
                state = ngx_http_outage_scan_sw_before_attr_name;
                i++;
                break;
            }

            if (c == '/') {
                state = ngx_http_outage_scan_sw_self_closing;
                i++;
                break;
            }

            goto emit;

        case ngx_http_outage_scan_sw_before_attr_name:
        case ngx_http_outage_scan_sw_after_attr_name:
            if (ngx_http_outage_scan_space(c)) {
                i++;
                break;
            }

            if (c == '/') {
                state = ngx_http_outage_scan_sw_self_closing;
                i++;
                break;
            }

            if (c == '>') {
                goto emit;
            }

            if (c == '=' && state == ngx_http_outage_scan_sw_after_attr_name) {
                state = ngx_http_outage_scan_sw_before_value;
                i++;
                break;
            }

            /* a quote or "=" here is part of an attribute name */
            state = ngx_http_outage_scan_sw_attr_name;
            i++;
            break;

        case ngx_http_outage_scan_sw_attr_name:
            while (!ngx_http_outage_scan_name_end(c) && c != '=') {
                if (++i == len) {
                    break;
                }

                c = p[i];
            }

            if (i == len) {
                break;
            }

            if (ngx_http_outage_scan_space(c)) {
                state = ngx_http_outage_scan_sw_after_attr_name;
                i++;
                break;
            }

            if (c == '/') {
                state = ngx_http_outage_scan_sw_self_closing;
                i++;
                break;
            }

            if (c == '>') {
                goto emit;
            }

            if (c == '=') {
                state = ngx_http_outage_scan_sw_before_value;
            }

            i++;
            break;

        case ngx_http_outage_scan_sw_before_value:
            if (ngx_http_outage_scan_space(c)) {
                i++;
                break;
            }

            if (c == '"') {
                state = ngx_http_outage_scan_sw_value_dq;
                i++;
                break;
            }

            if (c == '\'') {
                state = ngx_http_outage_scan_sw_value_sq;
                i++;
                break;
            }

            if (c == '>') {
                goto emit;
            }

            state = ngx_http_outage_scan_sw_value_unq;
            i++;
            break;

        case ngx_http_outage_scan_sw_value_dq:
        case ngx_http_outage_scan_sw_value_sq:
            /* values may be huge (data: URIs), so skip them in one go */
            q = memchr(p + i,
                       state == ngx_http_outage_scan_sw_value_dq ? '"' : '\'',
                       len - i);
            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - p) + 1;
            state = ngx_http_outage_scan_sw_after_value;
            break;

        case ngx_http_outage_scan_sw_value_unq:
            while (!ngx_http_outage_scan_space(c) && c != '>') {
                if (++i == len) {
                    break;
                }

                c = p[i];
            }

            if (i == len) {
                break;
            }

            if (ngx_http_outage_scan_space(c)) {
                state = ngx_http_outage_scan_sw_before_attr_name;
                i++;
                break;
            }

            if (c == '>') {
                goto emit;
            }

            i++;
            break;

        case ngx_http_outage_scan_sw_after_value:
            if (ngx_http_outage_scan_space(c)) {
                state = ngx_http_outage_scan_sw_before_attr_name;
                i++;
                break;
            }

            if (c == '/') {
                state = ngx_http_outage_scan_sw_self_closing;
                i++;
                break;
            }

            if (c == '>') {
                goto emit;
            }

            /* a="x"b: "b" starts a new attribute name */
            state = ngx_http_outage_scan_sw_attr_name;
            i++;
            break;

        case ngx_http_outage_scan_sw_self_closing:
            if (c == '>') {
                s->self_closing = 1;
                goto emit;
            }

            state = ngx_http_outage_scan_sw_before_attr_name;
            break;

        case ngx_http_outage_scan_sw_markup:
            if (c == '-') {
                state = ngx_http_outage_scan_sw_markup_dash;
                i++;
                break;
            }

            /* CDATA sections exist in svg and math only */
            if (c == '[' && s->foreign) {
                s->match = 1;
                state = ngx_http_outage_scan_sw_markup_cdata;
                i++;
                break;
            }

            /* <!DOCTYPE ...> and anything else end at the first ">" */
            state = ngx_http_outage_scan_sw_bogus;
            break;

        case ngx_http_outage_scan_sw_markup_dash:
            if (c == '-') {
                state = ngx_http_outage_scan_sw_comment_start;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_bogus;
            break;

        case ngx_http_outage_scan_sw_markup_cdata:
            if (c == (unsigned char) "[CDATA["[s->match]) {
                if (++s->match == sizeof("[CDATA[") - 1) {
                    state = ngx_http_outage_scan_sw_cdata;
                }

                i++;
                break;
            }

            /* e.g. <![if !IE]>, which browsers also end at ">" */
            state = ngx_http_outage_scan_sw_bogus;
            break;

        case ngx_http_outage_scan_sw_bogus:
            q = memchr(p + i, '>', len - i);
            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - p) + 1;
            state = ngx_http_outage_scan_sw_data;
            break;

        /*
         * Comments follow HTML5: "<!-->" and "<!--->" are complete empty
         * comments, and "--!>" closes a comment as well as "-->" does.
         */

        case ngx_http_outage_scan_sw_comment_start:
        case ngx_http_outage_scan_sw_comment_start_dash:
            if (c == '-') {
                state = (state == ngx_http_outage_scan_sw_comment_start)
                        ? ngx_http_outage_scan_sw_comment_start_dash
                        : ngx_http_outage_scan_sw_comment_end;
                i++;
                break;
            }

            if (c == '>') {
                state = ngx_http_outage_scan_sw_data;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_comment;
            break;

        case ngx_http_outage_scan_sw_comment:
            q = memchr(p + i, '-', len - i);
            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - p) + 1;
            state = ngx_http_outage_scan_sw_comment_end_dash;
            break;

        case ngx_http_outage_scan_sw_comment_end_dash:
            state = (c == '-') ? ngx_http_outage_scan_sw_comment_end
                               : ngx_http_outage_scan_sw_comment;
            i++;
            break;

        case ngx_http_outage_scan_sw_comment_end:
            if (c == '>') {
                state = ngx_http_outage_scan_sw_data;

            } else if (c == '!') {
                state = ngx_http_outage_scan_sw_comment_end_bang;

            } else if (c != '-') {
                state = ngx_http_outage_scan_sw_comment;
            }

            i++;
            break;

        case ngx_http_outage_scan_sw_comment_end_bang:
            if (c == '>') {
                state = ngx_http_outage_scan_sw_data;

            } else if (c == '-') {
                state = ngx_http_outage_scan_sw_comment_end_dash;

            } else {
                state = ngx_http_outage_scan_sw_comment;
            }

            i++;
            break;

        case ngx_http_outage_scan_sw_cdata:
            q = memchr(p + i, ']', len - i);
            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - p) + 1;
            state = ngx_http_outage_scan_sw_cdata_bracket;
            break;

        case ngx_http_outage_scan_sw_cdata_bracket:
            state = (c == ']') ? ngx_http_outage_scan_sw_cdata_end
                               : ngx_http_outage_scan_sw_cdata;
            i++;
            break;

        case ngx_http_outage_scan_sw_cdata_end:
            if (c == '>') {
                state = ngx_http_outage_scan_sw_data;

            } else if (c != ']') {
                state = ngx_http_outage_scan_sw_cdata;
            }

            i++;
            break;

        /* style, title, noframes, noscript; in templates textarea & co. */

        case ngx_http_outage_scan_sw_raw:
            state = ngx_http_outage_scan_text(s, p, len, &i, 0);
            break;

        case ngx_http_outage_scan_sw_raw_lt:
            if (c == '/') {
                s->match = 0;
                state = ngx_http_outage_scan_sw_raw_end;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_raw;
            break;

        case ngx_http_outage_scan_sw_raw_end:
        case ngx_http_outage_scan_sw_script_end:
        case ngx_http_outage_scan_sw_script_esc_end:
            e = &ngx_http_outage_scan_elts[s->raw];

            if (s->match < e->len) {
                if (ngx_http_outage_scan_lower(c)
                    == (unsigned char) e->name[s->match])
                {
                    s->match++;
                    i++;
                    break;
                }

            } else if (ngx_http_outage_scan_name_end(c)) {

                /*
                 * The matching end tag: from here on it is an ordinary end
                 * tag, attributes included, emitted at its ">".
                 */

                memcpy(s->name, e->name, e->len);
                s->name_len = (unsigned int) e->len;
                s->end_tag = 1;
                s->self_closing = 0;
                s->body_tag = 0;
                s->id = s->raw;
                s->raw = NGX_HTTP_OUTAGE_SCAN_OTHER;
                state = ngx_http_outage_scan_sw_tag_name;
                break;
            }

            /* not our end tag: it was text, look at this byte again */

            if (state == ngx_http_outage_scan_sw_raw_end) {
                state = ngx_http_outage_scan_sw_raw;

            } else if (state == ngx_http_outage_scan_sw_script_end) {
                state = ngx_http_outage_scan_sw_script;

            } else {
                state = ngx_http_outage_scan_sw_script_esc;
            }

            break;

        case ngx_http_outage_scan_sw_plaintext:
            /* nothing ends <plaintext>, not even end of the document */
            i = len;
            break;

        /*
         * Script data follows the HTML5 escape rules: after "<!--" a nested
         * "<script>" makes "</script>" end only that nested one, which is
         * how document.write("<script>...</script>") in old pages works.
         */

        case ngx_http_outage_scan_sw_script:
            state = ngx_http_outage_scan_text(s, p, len, &i, 1);
            break;

        case ngx_http_outage_scan_sw_script_lt:
            if (c == '/') {
                s->match = 0;
                state = ngx_http_outage_scan_sw_script_end;
                i++;
                break;
            }

            if (c == '!') {
                state = ngx_http_outage_scan_sw_script_esc_start;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_script;
            break;

        case ngx_http_outage_scan_sw_script_esc_start:
            if (c == '-') {
                state = ngx_http_outage_scan_sw_script_esc_start_dash;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_script;
            break;

        case ngx_http_outage_scan_sw_script_esc_start_dash:
            if (c == '-') {
                state = ngx_http_outage_scan_sw_script_esc_dash_dash;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_script;
            break;

        /*
         * "script data escaped" and "script data double escaped" and
         * their dash states act alike but for where "<" leads: each
         * family is in the enum as first, dash, dash dash, less-than
         */

        case ngx_http_outage_scan_sw_script_esc:
        case ngx_http_outage_scan_sw_script_esc_dash:
        case ngx_http_outage_scan_sw_script_esc_dash_dash:
        case ngx_http_outage_scan_sw_script_dbl:
        case ngx_http_outage_scan_sw_script_dbl_dash:
        case ngx_http_outage_scan_sw_script_dbl_dash_dash:
            first = (state >= ngx_http_outage_scan_sw_script_dbl)
                    ? ngx_http_outage_scan_sw_script_dbl
                    : ngx_http_outage_scan_sw_script_esc;

            if (c == '-') {
                state = (state == first) ? first + 1 : first + 2;

            } else if (c == '<') {
                state = first + 3;

            } else if (c == '>' && state == first + 2) {
                state = ngx_http_outage_scan_sw_script;

            } else {
                state = first;
            }

            i++;
            break;

        case ngx_http_outage_scan_sw_script_esc_lt:
            if (c == '/') {
                s->match = 0;
                state = ngx_http_outage_scan_sw_script_esc_end;
                i++;
                break;
            }

            if (ngx_http_outage_scan_alpha(c)) {
                s->match = 0;
                state = ngx_http_outage_scan_sw_script_dbl_start;
                break;
            }

            state = ngx_http_outage_scan_sw_script_esc;
            break;

        case ngx_http_outage_scan_sw_script_dbl_start:
        case ngx_http_outage_scan_sw_script_dbl_end:

            /*
             * Bailing out at the first mismatching letter is equivalent to
             * the spec's "collect letters, compare at the end": the states
             * we fall back to ignore letters anyway.
             */

            if (s->match < sizeof("script") - 1) {
                if (ngx_http_outage_scan_lower(c)
                    == (unsigned char) "script"[s->match])
                {
                    s->match++;
                    i++;
                    break;
                }

            } else if (ngx_http_outage_scan_name_end(c)) {
                state = (state == ngx_http_outage_scan_sw_script_dbl_start)
                        ? ngx_http_outage_scan_sw_script_dbl
                        : ngx_http_outage_scan_sw_script_esc;
                i++;
                break;
            }

            state = (state == ngx_http_outage_scan_sw_script_dbl_start)
                    ? ngx_http_outage_scan_sw_script_esc
                    : ngx_http_outage_scan_sw_script_dbl;
            break;


        case ngx_http_outage_scan_sw_script_dbl_lt:
            if (c == '/') {
                s->match = 0;
                state = ngx_http_outage_scan_sw_script_dbl_end;
                i++;
                break;
            }

            state = ngx_http_outage_scan_sw_script_dbl;
            break;

        /*
         * A character reference before the body: only those that stand for
         * whitespace ("&#32;", "&#x0A", "&Tab;"...) leave the body unborn.
         */

        case ngx_http_outage_scan_sw_cref:
            if (c == '#') {
                state = ngx_http_outage_scan_sw_cref_num;
                i++;
                break;
            }

            if (c == 'T' || c == 'N') {
                s->cref = (c == 'T') ? 0 : 1;
                s->match = 1;
                state = ngx_http_outage_scan_sw_cref_named;
                i++;
                break;
            }

            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                               s->mark, 1);

        case ngx_http_outage_scan_sw_cref_named:
            if (c != (unsigned char)
                     ngx_http_outage_scan_cref_names[s->cref][s->match])
            {
                return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                                   s->mark, 1);
            }

            i++;

            if (c == ';') {
                s->pending = 0;
                state = ngx_http_outage_scan_sw_data;
                break;
            }

            s->match++;
            break;

        case ngx_http_outage_scan_sw_cref_num:
            s->cref = 0;
            s->cref_len = 0;
            s->hex = 0;
            state = ngx_http_outage_scan_sw_cref_digits;

            if (c == 'x' || c == 'X') {
                s->hex = 1;
                i++;
            }

            break;

        case ngx_http_outage_scan_sw_cref_digits:
            if (c >= '0' && c <= '9') {
                n = c - '0';

            } else if (s->hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
                n = (c | 0x20) - 'a' + 10;

            } else {
                n = 16;
            }

            if (n < 16) {
                if (++s->cref_len > NGX_HTTP_OUTAGE_SCAN_HOLD - 4) {
                    /* "&#0000...": too long to hold, too odd to guess */
                    return ngx_http_outage_scan_decide(s,
                                               NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);
                }

                s->cref = s->cref * (s->hex ? 16 : 10) + (unsigned int) n;

                if (s->cref > 0x10FFFF) {
                    s->cref = 0x110000;
                }

                i++;
                break;
            }

            /* "&#" and "&#x" without digits are text */

            if (s->cref_len == 0 || !ngx_http_outage_scan_cref_space(s)) {
                return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                                   s->mark, 1);
            }

            if (c == ';') {
                i++;
            }

            s->pending = 0;
            state = ngx_http_outage_scan_sw_data;
            break;

        default:
            /* unreachable; resynchronise on text rather than loop */
            state = ngx_http_outage_scan_sw_data;
            break;
        }

        continue;

    emit:

        /* p[i] is the ">" closing a tag */

        i++;

        if (s->body_tag && s->template_depth == 0) {
            /* right after the page's own <body ...> */
            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                               base + (off_t) i, 0);
        }

        ngx_http_outage_scan_tag(s);

        state = ngx_http_outage_scan_after_tag(s);
    }

    s->state = state;
    s->offset = base + (off_t) len;

    if (!s->pending) {
        s->nhold = 0;
        return NGX_HTTP_OUTAGE_SCAN_MORE;
    }

    /* keep a copy of the held bytes: the caller may not keep the chunk */

    if (s->mark >= base) {
        n = (size_t) (s->mark - base);
        s->nhold = (unsigned int) (len - n);
        memcpy(s->hold, p + n, len - n);

    } else {
        memcpy(s->hold + s->nhold, p, len);
        s->nhold += (unsigned int) len;
    }

    return NGX_HTTP_OUTAGE_SCAN_MORE;
}


static unsigned int
ngx_http_outage_scan_lookup(ngx_http_outage_scan_t *s)
{
    if (s->name_len > NGX_HTTP_OUTAGE_SCAN_NAME_LEN) {
        return NGX_HTTP_OUTAGE_SCAN_OTHER;
    }

    return ngx_http_outage_scan_find(s->name, s->name_len);
}


/*
 * The element id of a tag name as it is in the document (any case): by
 * length and first letter, then one word compare; a linear search with
 * memcmp() cost about 160 instructions per tag.
 */

static ngx_http_outage_scan_inline unsigned int
ngx_http_outage_scan_find(const unsigned char *name, size_t len)
{
    unsigned int  id;

    switch (len) {

    case 1:
        return ((name[0] | 0x20) == 'p') ? NGX_HTTP_OUTAGE_SCAN_P
                                         : NGX_HTTP_OUTAGE_SCAN_OTHER;

    case 2:
        id = NGX_HTTP_OUTAGE_SCAN_BR;
        break;

    case 3:
        id = ((name[0] | 0x20) == 's') ? NGX_HTTP_OUTAGE_SCAN_SVG
                                         : NGX_HTTP_OUTAGE_SCAN_XMP;
        break;

    case 4:
        switch (name[0] | 0x20) {
        case 'b': id = (name[1] | 0x20) == 'o' ? NGX_HTTP_OUTAGE_SCAN_BODY
                                               : NGX_HTTP_OUTAGE_SCAN_BASE;
                  break;
        case 'h': id = (name[1] | 0x20) == 'e' ? NGX_HTTP_OUTAGE_SCAN_HEAD_EL
                                               : NGX_HTTP_OUTAGE_SCAN_HTML;
                  break;
        case 'l': id = NGX_HTTP_OUTAGE_SCAN_LINK; break;
        case 'm': id = (name[1] | 0x20) == 'e' ? NGX_HTTP_OUTAGE_SCAN_META
                                               : NGX_HTTP_OUTAGE_SCAN_MATH;
                  break;
        default:  return NGX_HTTP_OUTAGE_SCAN_OTHER;
        }

        break;

    case 5:
        id = ((name[0] | 0x20) == 't') ? NGX_HTTP_OUTAGE_SCAN_TITLE
                                         : NGX_HTTP_OUTAGE_SCAN_STYLE;
        break;

    case 6:
        id = ((name[0] | 0x20) == 's') ? NGX_HTTP_OUTAGE_SCAN_SCRIPT
                                         : NGX_HTTP_OUTAGE_SCAN_IFRAME;
        break;

    case 7:
        id = ((name[0] | 0x20) == 'b') ? NGX_HTTP_OUTAGE_SCAN_BGSOUND
                                         : NGX_HTTP_OUTAGE_SCAN_NOEMBED;
        break;

    case 8:
        switch (name[0] | 0x20) {
        case 'n': id = (name[2] | 0x20) == 's' ? NGX_HTTP_OUTAGE_SCAN_NOSCRIPT
                                               : NGX_HTTP_OUTAGE_SCAN_NOFRAMES;
                  break;
        case 't': id = (name[2] | 0x20) == 'm' ? NGX_HTTP_OUTAGE_SCAN_TEMPLATE
                                               : NGX_HTTP_OUTAGE_SCAN_TEXTAREA;
                  break;
        case 'f': id = NGX_HTTP_OUTAGE_SCAN_FRAMESET; break;
        case 'b': id = NGX_HTTP_OUTAGE_SCAN_BASEFONT; break;
        default:  return NGX_HTTP_OUTAGE_SCAN_OTHER;
        }

        break;

    case 9:
        id = NGX_HTTP_OUTAGE_SCAN_PLAIN;
        break;

    default:
        return NGX_HTTP_OUTAGE_SCAN_OTHER;
    }

    return ngx_http_outage_scan_eq(name, ngx_http_outage_scan_elts[id].name,
                                   len)
           ? id : NGX_HTTP_OUTAGE_SCAN_OTHER;
}


/*
 * Whether p[0..len) is the lowercase name lc in any case.  Names are
 * letters only, and "| 0x20" makes a lowercase letter only of a letter, so
 * comparing words with 0x20 set in every byte is exact.  len <= 9.
 */

static ngx_http_outage_scan_inline int
ngx_http_outage_scan_eq(const unsigned char *p, const char *lc, size_t len)
{
    uint32_t  a, b, c, d;

    if (len < 4) {
        while (len--) {
            if ((p[len] | 0x20) != (unsigned char) lc[len]) {
                return 0;
            }
        }

        return 1;
    }

    /* two words, overlapping for 5..7 letters; a ninth letter alone */

    memcpy(&a, p, 4);
    memcpy(&b, lc, 4);
    memcpy(&c, p + (len > 8 ? 4 : len - 4), 4);
    memcpy(&d, lc + (len > 8 ? 4 : len - 4), 4);

    return ((a | 0x20202020) == b) & ((c | 0x20202020) == d)
           & (len < 9 || (p[8] | 0x20) == (unsigned char) lc[8]);
}


/*
 * The name of a held tag is known: does it imply <body>?  Start tags other
 * than those kept in <head> do (the banner goes before them), <frameset>
 * means there is no body at all, end tags do only for body, html and br
 * (all others are ignored before the body).
 */

static int
ngx_http_outage_scan_resolve(ngx_http_outage_scan_t *s)
{
    unsigned int  id;

    id = ngx_http_outage_scan_lookup(s);

    s->id = id;
    s->pending = 0;

    if (s->end_tag) {
        if (id == NGX_HTTP_OUTAGE_SCAN_BODY || id == NGX_HTTP_OUTAGE_SCAN_HTML
            || id == NGX_HTTP_OUTAGE_SCAN_BR)
        {
            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                               s->mark, 1);
        }

        return NGX_HTTP_OUTAGE_SCAN_MORE;
    }

    switch (id) {

    case NGX_HTTP_OUTAGE_SCAN_BODY:
        s->body_tag = 1;
        return NGX_HTTP_OUTAGE_SCAN_MORE;

    case NGX_HTTP_OUTAGE_SCAN_FRAMESET:
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);

    case NGX_HTTP_OUTAGE_SCAN_NOSCRIPT:
        /* in <head> it is raw text (scripting on); after </head> body */
        if (!s->after_head) {
            return NGX_HTTP_OUTAGE_SCAN_MORE;
        }

        break;

    default:
        if (ngx_http_outage_scan_elts[id].flags & NGX_HTTP_OUTAGE_SCAN_HEAD) {
            return NGX_HTTP_OUTAGE_SCAN_MORE;
        }

        break;
    }

    return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT, s->mark, 1);
}


/* what a complete tag that did not end the scan changes */

static void
ngx_http_outage_scan_tag(ngx_http_outage_scan_t *s)
{
    size_t        n;
    unsigned int  id;

    id = s->id;

    if (id == NGX_HTTP_OUTAGE_SCAN_UNKNOWN) {
        id = ngx_http_outage_scan_lookup(s);
    }

    if (s->template_depth == 0) {

        if (s->end_tag) {
            if (id == NGX_HTTP_OUTAGE_SCAN_HEAD_EL) {
                s->after_head = 1;
            }

            return;
        }

        if (id == NGX_HTTP_OUTAGE_SCAN_TEMPLATE) {
            s->template_depth = 1;
            s->foreign = 0;

        } else if (ngx_http_outage_scan_elts[id].flags
                   & NGX_HTTP_OUTAGE_SCAN_RAW)
        {
            /* self-closing syntax does not make these elements empty */
            s->raw = id;
        }

        return;
    }

    /*
     * Inside a template nothing implies the body; only the tokenizer's
     * view matters: raw text elements, nested templates, and svg/math,
     * where elements are not raw text and CDATA sections exist.
     */

    if (s->end_tag) {
        if (id == NGX_HTTP_OUTAGE_SCAN_TEMPLATE) {
            s->template_depth--;
            s->foreign = 0;

        } else if (s->foreign) {
            if (id == NGX_HTTP_OUTAGE_SCAN_SVG
                || id == NGX_HTTP_OUTAGE_SCAN_MATH)
            {
                s->foreign--;

            } else if (id == NGX_HTTP_OUTAGE_SCAN_BR
                       || id == NGX_HTTP_OUTAGE_SCAN_P)
            {
                s->foreign = 0;
            }
        }

        return;
    }

    if (s->foreign) {
        if (id == NGX_HTTP_OUTAGE_SCAN_SVG || id == NGX_HTTP_OUTAGE_SCAN_MATH) {
            if (!s->self_closing) {
                s->foreign++;
            }

            return;
        }

        for (n = 0; ngx_http_outage_scan_breakout[n]; n++) {
            if (s->name_len == strlen(ngx_http_outage_scan_breakout[n])
                && memcmp(s->name, ngx_http_outage_scan_breakout[n],
                          s->name_len)
                   == 0)
            {
                s->foreign = 0;
                break;
            }
        }

        if (s->foreign) {
            return;
        }
    }

    if (id == NGX_HTTP_OUTAGE_SCAN_TEMPLATE) {
        if (s->template_depth != (unsigned int) -1) {
            s->template_depth++;
        }

    } else if (id == NGX_HTTP_OUTAGE_SCAN_SVG
               || id == NGX_HTTP_OUTAGE_SCAN_MATH)
    {
        if (!s->self_closing) {
            s->foreign = 1;
        }

    } else if (ngx_http_outage_scan_elts[id].flags & NGX_HTTP_OUTAGE_SCAN_RAW)
    {
        s->raw = id;
    }
}


/* the value of a numeric reference is one of the HTML whitespace */

static int
ngx_http_outage_scan_cref_space(ngx_http_outage_scan_t *s)
{
    return s->cref == 0x09 || s->cref == 0x0A || s->cref == 0x0C
           || s->cref == 0x0D || s->cref == 0x20;
}


static unsigned int
ngx_http_outage_scan_after_tag(ngx_http_outage_scan_t *s)
{
    switch (s->raw) {

    case NGX_HTTP_OUTAGE_SCAN_OTHER:
        return ngx_http_outage_scan_sw_data;

    case NGX_HTTP_OUTAGE_SCAN_SCRIPT:
        return ngx_http_outage_scan_sw_script;

    case NGX_HTTP_OUTAGE_SCAN_PLAIN:
        return ngx_http_outage_scan_sw_plaintext;

    default:
        return ngx_http_outage_scan_sw_raw;
    }
}


/*
 * The head fast path: from a "<" in the data state before <body>
 * (template_depth 0, nothing held), the tokens a <head> is made of, one
 * after the other without a round through the state machine's switch:
 * tags and their attributes, the whitespace between them, comments,
 * <!DOCTYPE>, and the raw text of <script>, <style>, <title>.  Each token
 * is read by the tokenizer's rules and decided as resolve() and tag()
 * decide; only the per-byte rounds are left out.
 *
 * <meta> and <link>, most of a head, are known from one word; other names
 * are skipped 8 bytes a word and looked up by find().  Attributes: in the
 * tokenizer's name states ("before/after attribute name", "attribute
 * name", "self-closing start tag", "after attribute value (quoted)") only
 * "=" and ">" matter (quotes, "<" and the rest are name bytes, whitespace
 * and "/" keep it in those states), so one search finds the next "=" or
 * ">".  ">" ends the tag.  An "=" right after a name byte introduces a
 * value (after whitespace, "/" or a quote the state may be another: those
 * shapes, "a =", "a/=", "x"=", are walked state by state).  A quote right
 * after the "=" opens the value; one search finds its end and the next
 * "=" or ">" after it (with SSE2 in the same 16 bytes when they are
 * there).  Unquoted values end at whitespace or ">".
 *
 * Returns SLOW with *pi at the "<" of a token it does not finish in this
 * buffer (cut by its end, or longer than NGX_HTTP_OUTAGE_SCAN_FAST_MAX
 * bytes) or that is rare in a head ("<?", "</3", "<!---"): the state
 * machine reads that token from its "<".  Returns MORE with *pi and
 * *pstate where the state machine goes on (a byte that is not "<" in the
 * data state, text of a raw text element or a comment left open at the
 * end of the buffer, a template), or the decision.
 */

static ngx_http_outage_scan_noinline int
ngx_http_outage_scan_head(ngx_http_outage_scan_t *s, const unsigned char *p,
    size_t len, off_t base, size_t *pi, unsigned int *pstate)
{
    size_t                i;
    uint32_t              w;
    unsigned int          id, end_tag, body, after, kept, state;
    unsigned char         c;
    const unsigned char  *u, *n, *q, *e, *t, *end, *last, *lim, *l16;
#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    size_t                mln;
#endif

    static const unsigned char  *cls = ngx_http_outage_scan_cls;

    end = p + len;
    last = end - 1;
    t = p + *pi;

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    /*
     * How many more <meta>s and <link>s in the masks' shape the searches
     * read before tags_avx2() is tried: without AVX2 (or after a failed
     * attempt) more than a buffer can hold, so it never reaches 0; a tag
     * in another shape sets it back to 3 by "| 3", which keeps that.
     */
    mln = (ngx_http_outage_scan_avx2 > 0 && !s->no_masks) ? 3 : (size_t) -1;
#endif

tag:


    /*
     * t is at a "<" in the data state.  The tag must end before lim, the
     * last byte of the buffer (or of the 512 bytes from t): so "=" found
     * before lim has a byte after it, and a hit at lim is none.  l16 + 16
     * bytes are in the buffer (see eq_gt()).
     */

    if ((size_t) (last - t) >= NGX_HTTP_OUTAGE_SCAN_FAST_MAX) {
        lim = t + NGX_HTTP_OUTAGE_SCAN_FAST_MAX - 1;
        l16 = lim - 15;

    } else {
        lim = last;
        l16 = (lim - t >= 16) ? lim - 15 : t;
    }

    u = t + 1;

    id = NGX_HTTP_OUTAGE_SCAN_OTHER;
    end_tag = 0;
    body = 0;
    kept = 0;

#if (NGX_HTTP_OUTAGE_SCAN_WORDS)

    if (lim - u > 6) {

        /*
         * The names a head is made of from one word: "| 0x20" makes
         * lowercase letters of letters only, so the compares are exact
         */

        memcpy(&w, u, 4);
        w |= 0x20202020;

        switch (w) {

        case NGX_HTTP_OUTAGE_SCAN_W4('m', 'e', 't', 'a'):
        case NGX_HTTP_OUTAGE_SCAN_W4('l', 'i', 'n', 'k'):
            kept = 1;

            if (u[4] == ' ') {
                u += 5;

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)

                /*
                 * The fourth <meta> or <link> of this stretch of head()
                 * after three in the shape the masks read (name="value":
                 * see attrs below; a run of them, as heads have): the
                 * masks of its attributes serve the <meta>s and <link>s
                 * that follow it too, which pays for them; for a lone tag
                 * the searches below cost less.  run() calls tags_avx2()
                 * and comes back here with the count forgotten: a call
                 * from here costs every tag more (registers saved around
                 * it).
                 */

                if (mln == 0) {
                    *pi = (size_t) (t - p);
                    return NGX_HTTP_OUTAGE_SCAN_MASKS;
                }

                mln--;
#endif
                goto attrs;
            }

            n = u + 4;
            break;

        case NGX_HTTP_OUTAGE_SCAN_W4('s', 'c', 'r', 'i'):
            id = NGX_HTTP_OUTAGE_SCAN_SCRIPT;
            kept = 0;
            n = ((u[4] | 0x20) == 'p' && (u[5] | 0x20) == 't') ? u + 6 : t;
            break;

        case NGX_HTTP_OUTAGE_SCAN_W4('t', 'i', 't', 'l'):
            id = NGX_HTTP_OUTAGE_SCAN_TITLE;
            kept = 0;
            n = ((u[4] | 0x20) == 'e') ? u + 5 : t;
            break;

        case NGX_HTTP_OUTAGE_SCAN_W4('s', 't', 'y', 'l'):
            id = NGX_HTTP_OUTAGE_SCAN_STYLE;
            kept = 0;
            n = ((u[4] | 0x20) == 'e') ? u + 5 : t;
            break;

        case NGX_HTTP_OUTAGE_SCAN_W4('h', 'e', 'a', 'd'):
        case NGX_HTTP_OUTAGE_SCAN_W4('h', 't', 'm', 'l'):
            kept = 1;
            n = u + 4;
            break;

        case NGX_HTTP_OUTAGE_SCAN_W4('b', 'o', 'd', 'y'):
            id = NGX_HTTP_OUTAGE_SCAN_BODY;
            kept = 0;
            body = 1;
            n = u + 4;
            break;

        case NGX_HTTP_OUTAGE_SCAN_W4('/', 'h', 'e', 'a'):

            /*
             * "</head>", once a page: what the end tag path does; "| 0x20"
             * made "/" of 0x0F too, so the first byte is compared as is
             */

            if (u[0] == '/' && (u[4] | 0x20) == 'd' && u[5] == '>') {
#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
                mln |= 3;
#endif
                s->after_head = 1;
                u += 6;
                goto next;
            }

            n = t;
            break;

        default:
            n = t;
            break;
        }

        /* n is the name's end if it is one of those */

        if (n != t && (cls[*n] & NGX_HTTP_OUTAGE_SCAN_C_NAME)) {
            u = n;
            goto name_end;
        }

        /* a longer name ("<scripts>"): nothing of the guess may stay */
        id = NGX_HTTP_OUTAGE_SCAN_OTHER;
        body = 0;
    }

#endif

    if (u >= lim) {
        goto slow;
    }

    if (*u == '/') {
        end_tag = 1;

        if (++u == lim) {
            goto slow;
        }
    }

    if (!ngx_http_outage_scan_alpha(*u)) {
        if (*u == '!' && !end_tag) {
            goto markup;
        }

        goto slow;
    }

    n = u++;

    u = ngx_http_outage_scan_skip(u, lim, NGX_HTTP_OUTAGE_SCAN_C_NAME);

    if (u == lim) {
        goto slow;
    }

    id = ngx_http_outage_scan_find(n, (size_t) (u - n));

    kept = !end_tag
           && (ngx_http_outage_scan_elts[id].flags & NGX_HTTP_OUTAGE_SCAN_KEPT);

    if (kept) {
        /* <html>, <head>, <base>...: the attributes, then the next tag */

    } else if (end_tag) {
        if (id == NGX_HTTP_OUTAGE_SCAN_BODY || id == NGX_HTTP_OUTAGE_SCAN_HTML
            || id == NGX_HTTP_OUTAGE_SCAN_BR)
        {
            return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                               base + (off_t) (t - p), 1);
        }

    } else if (id == NGX_HTTP_OUTAGE_SCAN_BODY) {
        body = 1;

    } else if (id == NGX_HTTP_OUTAGE_SCAN_FRAMESET) {
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_NONE, 0, 0);

    } else if (id == NGX_HTTP_OUTAGE_SCAN_NOSCRIPT ? s->after_head
               : !(ngx_http_outage_scan_elts[id].flags
                   & NGX_HTTP_OUTAGE_SCAN_HEAD))
    {
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                           base + (off_t) (t - p), 1);
    }

name_end:

    /* u is at the byte that ended the name: whitespace, "/" or ">" */

    if (*u == '>') {
        goto emit;
    }

    /*
     * After the name's whitespace or "/" the tokenizer is in "before
     * attribute name" or "self-closing start tag"; after a quoted value in
     * "after attribute value (quoted)".  For the rest of the tag these
     * three act alike (whitespace skipped, "/" to self-closing, ">" ends
     * the tag, anything else starts a name; the self-closing flag changes
     * nothing outside templates), so one loop serves them all: u is where
     * the stretch in these states starts.
     */

    u++;

attrs:

    /* e is the first "=" or ">" from u, or lim */

    e = ngx_http_outage_scan_eq_gt(u, l16, lim);

    if (e == lim) {
        goto slow;
    }

    if (*e == '>') {
        u = e;
        goto emit;
    }

    if (cls[e[-1]] & (NGX_HTTP_OUTAGE_SCAN_C_SP|NGX_HTTP_OUTAGE_SCAN_C_SL
                      |NGX_HTTP_OUTAGE_SCAN_C_QT))
    {
        goto before_name;
    }

    /* a quote right after the "=" opens the value */

    u = e + 1;

    if (*u == '"') {
        q = ngx_http_outage_scan_quote(u + 1, l16, lim, '"');

    } else if (*u == '\'') {
#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
        /* not the masks' shape: the run starts again */
        mln |= 3;
#endif
        q = ngx_http_outage_scan_quote(u + 1, l16, lim, '\'');

    } else {
        goto before_value;
    }

    if (q == lim) {
        goto slow;
    }

    u = q + 1;

    if (*u == '>') {
        /* the last value of a tag, mostly */
        goto emit;
    }

    goto attrs;

before_value:

    /* "before attribute value": not the masks' shape */

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    mln |= 3;
#endif

    /* u <= lim; an unquoted value right after the "=" (minified pages) */

    if (!(cls[*u] & (NGX_HTTP_OUTAGE_SCAN_C_SP|NGX_HTTP_OUTAGE_SCAN_C_GT
                     |NGX_HTTP_OUTAGE_SCAN_C_QT)))
    {
        goto unquoted;
    }

    u = ngx_http_outage_scan_spaces(u, lim);

    if (u == lim) {
        goto slow;
    }

    c = *u;

    if (c == '>') {
        goto emit;
    }

    if (c == '"' || c == '\'') {
        q = ngx_http_outage_scan_quote(u + 1, l16, lim, c);
        if (q == lim) {
            goto slow;
        }

        u = q + 1;
        goto attrs;
    }

unquoted:

    /* an unquoted value ends at whitespace or ">" */

    u = ngx_http_outage_scan_unquoted(u, l16, lim);

    /* the last value of a tag: its ">" without a search (not at lim) */

    if (u < lim && *u == '>') {
        goto emit;
    }

    goto attrs;

before_name:

    /*
     * "before attribute name" and, with "after" set, "after attribute
     * name", state by state: the rare shapes the search above leaves
     */

    after = 0;

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    mln |= 3;
#endif

walk:

    u = ngx_http_outage_scan_spaces(u, lim);

    if (u == lim) {
        goto slow;
    }

    c = *u++;

    if (c == '>') {
        u--;
        goto emit;
    }

    if (c == '/') {
        /*
         * "self-closing start tag": ">" ends the tag (as it does from
         * "before attribute name"), anything else is reconsumed there
         */
        goto before_name;
    }

    if (c == '=' && after) {
        goto before_value;
    }

    /* c starts a name, even if it is "=" or a quote */

    u = ngx_http_outage_scan_skip(u, lim, NGX_HTTP_OUTAGE_SCAN_C_NAME
                                          |NGX_HTTP_OUTAGE_SCAN_C_EQ);

    if (u == lim) {
        goto slow;
    }

    if (*u == '=') {
        u++;
        goto before_value;
    }

    /* whitespace, "/" or ">" after the name: handled at "walk" */

    after = 1;
    goto walk;

emit:

    /* u is at the ">"; what tag() does outside templates */

    u++;

    if (kept) {
        goto next;
    }

    if (body) {
        /* right after the page's own <body ...> */
        return ngx_http_outage_scan_decide(s, NGX_HTTP_OUTAGE_SCAN_HIT,
                                           base + (off_t) (u - p), 0);
    }

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    /* not a <meta> or <link>: a run of them starts again */
    mln |= 3;
#endif

    if (end_tag) {
        if (id == NGX_HTTP_OUTAGE_SCAN_HEAD_EL) {
            s->after_head = 1;
        }

        goto next;
    }

    i = (size_t) (u - p);

    if (id == NGX_HTTP_OUTAGE_SCAN_TEMPLATE) {
        s->template_depth = 1;
        s->foreign = 0;
        state = ngx_http_outage_scan_sw_data;
        goto more;
    }

    /* the other start tags kept in <head> are raw text elements */

    s->raw = id;

    state = ngx_http_outage_scan_text(s, p, len, &i,
                                      id == NGX_HTTP_OUTAGE_SCAN_SCRIPT);

    if (state != ngx_http_outage_scan_sw_data) {
        goto more;
    }

    u = p + i;

next:

    /* whitespace, then the next token: mostly none or one newline */

    for ( /* void */ ; u < end; u++) {
        c = *u;

        if (c == '<') {
            t = u;
            goto tag;
        }

        if (!(cls[c] & NGX_HTTP_OUTAGE_SCAN_C_SP)) {
            break;
        }
    }

    i = (size_t) (u - p);
    state = ngx_http_outage_scan_sw_data;
    goto more;

markup:

    /*
     * u is at the "!" of "<!": a comment, or markup that ends at the first
     * ">" as a bogus comment (<!DOCTYPE ...>; CDATA sections exist only in
     * svg and math, which imply the body here)
     */

#if (NGX_HTTP_OUTAGE_SCAN_AVX2)
    mln |= 3;
#endif

    if (lim - u < 5) {
        goto slow;
    }

    if (u[1] == '-' && u[2] == '-') {

        if (u[3] == '>') {
            /* "<!-->" is a complete empty comment */
            u += 4;
            goto next;
        }

        if (u[3] == '-') {
            /* "<!---": "comment start dash", rare */
            goto slow;
        }

        /* the comment state; "-->" ends it, "--" otherwise goes on there */

        u += 3;

        for ( ;; ) {
            q = memchr(u, '-', (size_t) (end - u));
            if (q == NULL) {
                i = len;
                state = ngx_http_outage_scan_sw_comment;
                goto more;
            }

            if (end - q < 3) {
                i = (size_t) (q - p) + 1;
                state = ngx_http_outage_scan_sw_comment_end_dash;
                goto more;
            }

            if (q[1] != '-') {
                /* "comment end dash" takes the byte after a lone "-" */
                u = q + 2;
                continue;
            }

            if (q[2] == '>') {
                u = q + 3;
                goto next;
            }

            i = (size_t) (q - p) + 2;
            state = ngx_http_outage_scan_sw_comment_end;
            goto more;
        }
    }

    q = memchr(u + 1, '>', (size_t) (end - u - 1));
    if (q == NULL) {
        i = len;
        state = ngx_http_outage_scan_sw_bogus;
        goto more;
    }

    u = q + 1;
    goto next;

slow:

    *pi = (size_t) (t - p);
    return NGX_HTTP_OUTAGE_SCAN_SLOW;

more:

    *pi = i;
    *pstate = state;
    return NGX_HTTP_OUTAGE_SCAN_MORE;
}


/* the first byte from u of a class in "stop", or end */

static ngx_http_outage_scan_inline const unsigned char *
ngx_http_outage_scan_skip(const unsigned char *u, const unsigned char *end,
    unsigned int stop)
{
#if (NGX_HTTP_OUTAGE_SCAN_SWAR)
    uint64_t  w, t;

    while (end - u >= 8) {
        memcpy(&w, u, 8);

        /* the high bit of each byte below 0x3F, the lowest one exact */
        t = (w - 0x3F3F3F3F3F3F3F3FULL) & ~w & 0x8080808080808080ULL;

        if (t == 0) {
            u += 8;
            continue;
        }

        u += __builtin_ctzll(t) >> 3;

        if (ngx_http_outage_scan_cls[*u] & stop) {
            return u;
        }

        u++;
    }
#endif

    while (u < end && !(ngx_http_outage_scan_cls[*u] & stop)) {
        u++;
    }

    return u;
}


/* the first byte from u that is not HTML whitespace, or end */

static ngx_http_outage_scan_inline const unsigned char *
ngx_http_outage_scan_spaces(const unsigned char *u, const unsigned char *end)
{
    while (u < end && (ngx_http_outage_scan_cls[*u] & NGX_HTTP_OUTAGE_SCAN_C_SP))
    {
        u++;
    }

    return u;
}


/*
 * The first "=" or ">" in [u, end), or end.  Sixteen bytes at a time with
 * SSE2 (part of every x86-64) while u <= l16 (end - 15 or less: l16 + 16
 * bytes are in the buffer, a hit at end counts as none), otherwise a word
 * at a time: "<", "=", ">" and "?" are the only bytes 0x3C..0x3F, so a
 * word of other bytes (letters, digits, quotes, whitespace: all of a
 * typical attribute name and the space before it) is skipped whole; "<"
 * and "?" are stepped over.
 */

static ngx_http_outage_scan_inline const unsigned char *
ngx_http_outage_scan_eq_gt(const unsigned char *u, const unsigned char *l16,
    const unsigned char *end)
{
#if (NGX_HTTP_OUTAGE_SCAN_SSE2)
    unsigned int  m;
    __m128i       v;

    while (u <= l16) {
        v = _mm_loadu_si128((const __m128i *) u);
        m = (unsigned int) _mm_movemask_epi8(_mm_or_si128(
                               _mm_cmpeq_epi8(v, _mm_set1_epi8('=')),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))));
        if (m) {
            return u + (unsigned int) __builtin_ctz(m);
        }

        u += 16;
    }

#elif (NGX_HTTP_OUTAGE_SCAN_SWAR)
    uint64_t  w, t;

    (void) l16;

    while (end - u >= 8) {
        memcpy(&w, u, 8);

        w ^= 0x3C3C3C3C3C3C3C3CULL;

        /* the high bit of each byte now below 4, the lowest one exact */
        t = (w - 0x0404040404040404ULL) & ~w & 0x8080808080808080ULL;

        if (t == 0) {
            u += 8;
            continue;
        }

        u += __builtin_ctzll(t) >> 3;

        if (*u == '=' || *u == '>') {
            return u;
        }

        u++;
    }
#else
    (void) l16;
#endif

    /* after the 16-byte steps u may be end + 1 */

    for ( /* void */ ; u < end; u++) {
        if (*u == '=' || *u == '>') {
            return u;
        }
    }

    return end;
}


/*
 * The closing quote of a value from u in [u, end), or end; l16 as above.
 * Values are mostly short, so they are looked at inline (SSE2) rather
 * than by a call to memchr(); a value longer than a tag may be (512
 * bytes) leaves the fast path anyway.
 */

static ngx_http_outage_scan_inline const unsigned char *
ngx_http_outage_scan_quote(const unsigned char *u, const unsigned char *l16,
    const unsigned char *end, unsigned char quote)
{
    const unsigned char  *q;
#if (NGX_HTTP_OUTAGE_SCAN_SSE2)
    unsigned int          m;

    while (u <= l16) {
        m = (unsigned int) _mm_movemask_epi8(_mm_cmpeq_epi8(
                               _mm_loadu_si128((const __m128i *) u),
                               _mm_set1_epi8((char) quote)));
        if (m) {
            return u + (unsigned int) __builtin_ctz(m);
        }

        u += 16;
    }
#else
    (void) l16;
#endif

    /* u may be end + 1: after the 16-byte steps or a quote at end */

    if (u >= end) {
        return end;
    }

    q = memchr(u, quote, (size_t) (end - u));

    return q ? q : end;
}


/*
 * The end of an unquoted attribute value from u: the first HTML
 * whitespace or ">" in [u, end), or end; l16 as above.  Minified pages
 * leave URLs unquoted (href=/static/app.css): their "/", "." and digits
 * are below 0x3F, which makes skip()'s words stop at nearly every byte,
 * so this looks for bytes up to 0x20 and ">" only (a control byte that
 * is not whitespace is a value byte: stepped over).
 */

static ngx_http_outage_scan_inline const unsigned char *
ngx_http_outage_scan_unquoted(const unsigned char *u,
    const unsigned char *l16, const unsigned char *end)
{
#if (NGX_HTTP_OUTAGE_SCAN_SSE2)
    unsigned int  m, k;
    __m128i       v;

    while (u <= l16) {
        v = _mm_loadu_si128((const __m128i *) u);
        m = (unsigned int) _mm_movemask_epi8(_mm_or_si128(
                 _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v),
                 _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))));

        while (m) {
            k = (unsigned int) __builtin_ctz(m);

            if (ngx_http_outage_scan_cls[u[k]]
                & (NGX_HTTP_OUTAGE_SCAN_C_SP|NGX_HTTP_OUTAGE_SCAN_C_GT))
            {
                return u + k;
            }

            m &= m - 1;
        }

        u += 16;
    }

    /* after the 16-byte steps u may be end + 1 */

    if (u >= end) {
        return end;
    }

#elif (NGX_HTTP_OUTAGE_SCAN_SWAR)
    uint64_t  w, x, t;

    (void) l16;

    while (end - u >= 8) {
        memcpy(&w, u, 8);

        /* bytes below 0x21 and ">": the lowest flagged one is exact */
        x = w ^ 0x3E3E3E3E3E3E3E3EULL;
        t = (((w - 0x2121212121212121ULL) & ~w)
             | ((x - 0x0101010101010101ULL) & ~x))
            & 0x8080808080808080ULL;

        if (t == 0) {
            u += 8;
            continue;
        }

        u += __builtin_ctzll(t) >> 3;

        if (ngx_http_outage_scan_cls[*u]
            & (NGX_HTTP_OUTAGE_SCAN_C_SP|NGX_HTTP_OUTAGE_SCAN_C_GT))
        {
            return u;
        }

        u++;
    }
#else
    (void) l16;
#endif

    while (u < end
           && !(ngx_http_outage_scan_cls[*u]
                & (NGX_HTTP_OUTAGE_SCAN_C_SP|NGX_HTTP_OUTAGE_SCAN_C_GT)))
    {
        u++;
    }

    return u;
}


#if (NGX_HTTP_OUTAGE_SCAN_AVX2)

/*
 * The masks of the 64 bytes from b, which are in the buffer: quotes ('"'),
 * "=", ">", the bytes
 * that may not come right before an "=" that ends a name (whitespace and
 * other control bytes, "/"; a quote is added from the quote mask), and the
 * prefix XOR of the quotes by carry-less multiplication with all ones
 * (bit i = XOR of bits 0..i: set from an odd quote up to the next).
 */

#define ngx_http_outage_scan_blk_load(b)                                      \
    do {                                                                      \
        __m256i  lo_, hi_;                                                    \
                                                                              \
        lo_ = _mm256_loadu_si256((const __m256i *) (b));                      \
        hi_ = _mm256_loadu_si256((const __m256i *) ((b) + 32));               \
        mq = ngx_http_outage_scan_m64(_mm256_cmpeq_epi8(lo_, cq),             \
                                      _mm256_cmpeq_epi8(hi_, cq));            \
        me = ngx_http_outage_scan_m64(_mm256_cmpeq_epi8(lo_, ce),             \
                                      _mm256_cmpeq_epi8(hi_, ce));            \
        mg = ngx_http_outage_scan_m64(_mm256_cmpeq_epi8(lo_, cg),             \
                                      _mm256_cmpeq_epi8(hi_, cg));            \
        mb = ngx_http_outage_scan_m64(                                        \
                 _mm256_or_si256(                                             \
                     _mm256_cmpeq_epi8(_mm256_min_epu8(lo_, cc), lo_),        \
                     _mm256_cmpeq_epi8(lo_, cs)),                             \
                 _mm256_or_si256(                                             \
                     _mm256_cmpeq_epi8(_mm256_min_epu8(hi_, cc), hi_),        \
                     _mm256_cmpeq_epi8(hi_, cs)));                            \
        mi = (uint64_t) _mm_cvtsi128_si64(_mm_clmulepi64_si128(               \
                 _mm_cvtsi64_si128((long long) mq), c1, 0));                  \
    } while (0)


/* the byte mask of two compares of 32 bytes */

static ngx_http_outage_scan_target_avx2 ngx_http_outage_scan_inline uint64_t
ngx_http_outage_scan_m64(__m256i lo, __m256i hi)
{
    return (uint64_t) (uint32_t) _mm256_movemask_epi8(lo)
           | (uint64_t) (uint32_t) _mm256_movemask_epi8(hi) << 32;
}


/*
 * The ">" of the <meta ...> or <link ...> at t ("<meta " or "<link ": its
 * attributes start at t + 6) and of the <meta>s and <link>s that follow
 * it (after at most one whitespace byte), each before its own limit
 * (FAST_MAX bytes and the last byte of the buffer, as in head()): the
 * last ">" read, or NULL if not even the first tag could be read.
 *
 * The attributes start in "before attribute name"; after a closing quote
 * the tokenizer is in "after attribute value (quoted)", and after "/" in
 * "self-closing start tag": for what follows, these three act alike.  A
 * tag is read only in the shape nearly every tag has: attributes
 * name="value" (double quotes) and bare names, separated by whitespace or
 * "/"; any other shape, a ">" at or after the limit or a block past the
 * end of the buffer stop the reading (the searches read that tag).  With
 * a parity bit per byte (prefix XOR of the quotes), "in a value" is exact
 * when every "=" outside values is followed by '"' and comes right after
 * a name byte (not whitespace, a control byte, "/" or a quote), and the
 * quotes outside values that open one are exactly those after such an
 * "=".  A "'" then never opens a value (only "before attribute value",
 * right after such an "=", would make it one).  The tag ends at the
 * first ">" outside values (docs/notes/scanner.md, "The tag skipper").
 */

static ngx_http_outage_scan_target_avx2 const unsigned char *
ngx_http_outage_scan_tags_avx2(const unsigned char *t, const unsigned char *end,
    unsigned int *pn)
{
    uint32_t              w;
    unsigned int          k, n;
    uint64_t              mq, me, mg, mb, mi, in, flip, r, g, eo, x, viol,
                          carry, bad;
    __m256i               cq, ce, cg, cc, cs;
    __m128i               c1;
    const unsigned char  *b, *u, *lim, *done;

    /* t is at "<meta " or "<link " in the data state before the body */

    u = t + 6;
    n = 0;
    done = NULL;

    if (end - u < 64) {
        goto limit;
    }

    lim = (end - 1 - t >= NGX_HTTP_OUTAGE_SCAN_FAST_MAX)
          ? t + NGX_HTTP_OUTAGE_SCAN_FAST_MAX - 1 : end - 1;

    flip = 0;
    carry = 0;
    bad = 1;          /* the byte before u ends the name or is a quote */
    r = ~0ULL;

    cq = _mm256_load_si256((const __m256i *) ngx_http_outage_scan_avx2_c[0]);
    ce = _mm256_load_si256((const __m256i *) ngx_http_outage_scan_avx2_c[1]);
    cg = _mm256_load_si256((const __m256i *) ngx_http_outage_scan_avx2_c[2]);
    cc = _mm256_load_si256((const __m256i *) ngx_http_outage_scan_avx2_c[3]);
    cs = _mm256_load_si256((const __m256i *) ngx_http_outage_scan_avx2_c[4]);
    c1 = _mm_set1_epi8((char) 0xFF);

    b = u;

block:

    /*
     * b + 64 is in the buffer and the byte before b is the one before u,
     * whitespace, or the previous block's last (x, eo and in carry).  The
     * parity is that of the tag at u: between the tags of a run there are
     * no quotes, so one parity serves them all.
     */

    ngx_http_outage_scan_blk_load(b);

    in = mi ^ flip;
    eo = me & ~in;

    /* bytes that are no name bytes: a closing quote too */
    x = mb | (mq & ~in);

    /*
     * where the shape is not the one the masks read: a byte after an "="
     * outside values that is no opening quote, an opening quote after
     * something else than such an "=", an "=" after no name byte
     */

    viol = (((eo << 1) | carry) ^ (mq & in)) | (eo & ((x << 1) | bad));

    for ( ;; ) {

        /* the tag's ">" from b + k */

        g = mg & ~in & r;

        if (g == 0) {
            if (viol & r) {
                goto shape;
            }

            /* the tag goes on in the next block */

            carry = eo >> 63;
            bad = x >> 63;
            flip = 0 - (in >> 63);
            r = ~0ULL;

            b += 64;

            if (b >= lim || end - b < 64) {
                goto limit;
            }

            goto block;
        }

        /* the bytes of the tag up to its ">" must have the shape */

        if (viol & r & (g ^ (g - 1))) {
            goto shape;
        }

        u = b + __builtin_ctzll(g);

        if (u >= lim) {
            goto limit;
        }

        done = u;
        n++;

        /*
         * the next tag: <meta ...> or <link ...> after a newline, CRLF,
         * indentation: any whitespace stays in <head>
         */

        t = u + 1;

        /*
         * t is in the buffer (u < lim); mostly one newline, then "<": the
         * general loop only for more whitespace
         */

        if (ngx_http_outage_scan_cls[*t] & NGX_HTTP_OUTAGE_SCAN_C_SP) {
            t++;

            if (end - t < 8) {
                goto limit;
            }

            while (ngx_http_outage_scan_cls[*t] & NGX_HTTP_OUTAGE_SCAN_C_SP) {
                if (++t == end) {
                    goto limit;
                }
            }

            if (end - t < 8) {
                goto limit;
            }

        } else if (end - t < 8) {
            goto limit;
        }

        if (*t != '<') {
            goto shape;
        }

        memcpy(&w, t + 1, 4);
        w |= 0x20202020;

        if ((w != NGX_HTTP_OUTAGE_SCAN_W4('m', 'e', 't', 'a')
             && w != NGX_HTTP_OUTAGE_SCAN_W4('l', 'i', 'n', 'k'))
            || t[5] != ' ')
        {
            goto shape;
        }

        lim = (end - 1 - t >= NGX_HTTP_OUTAGE_SCAN_FAST_MAX)
              ? t + NGX_HTTP_OUTAGE_SCAN_FAST_MAX - 1 : end - 1;

        u = t + 6;
        k = (unsigned int) (u - b);

        if (k < 64) {
            /* the next tag in this block: its bytes from k */
            r = ~0ULL << k;
            continue;
        }

        if (end - u < 64) {
            goto limit;
        }

        b = u;
        flip = 0;
        carry = 0;
        bad = 1;
        r = ~0ULL;

        goto block;
    }

shape:

    /* the run ended: a tag in another shape, or another token */

    *pn = n;
    return done;

limit:

    /* a limit of the buffer (or of FAST_MAX) stopped the reading */

    *pn = n | NGX_HTTP_OUTAGE_SCAN_AT_LIMIT;
    return done;
}

#undef ngx_http_outage_scan_blk_load

#endif


/*
 * The text of a raw text element (s->raw: <style>, <title>, <noscript> in
 * <head>...; with "script", <script>) from p[*pi]: the state after it and
 * *pi where that state goes on.  memchr() from "<" to "<": "</name>"
 * whole in the buffer ends the element (the data state after its ">"),
 * any other "<" is text; "</name" followed by whitespace or "/" (an end
 * tag with attributes), "<!" in a script (escapes) and a "<" too close to
 * the end of the buffer to tell go through the states from the "<".
 */

static ngx_http_outage_scan_inline unsigned int
ngx_http_outage_scan_text(ngx_http_outage_scan_t *s, const unsigned char *p,
    size_t len, size_t *pi, unsigned int script)
{
    size_t                             i;
    unsigned char                      c;
    const unsigned char               *q;
    const ngx_http_outage_scan_elt_t  *e;

    e = &ngx_http_outage_scan_elts[s->raw];
    i = *pi;

    for ( ;; ) {
        q = memchr(p + i, '<', len - i);
        if (q == NULL) {
            *pi = len;
            return script ? ngx_http_outage_scan_sw_script
                          : ngx_http_outage_scan_sw_raw;
        }

        i = (size_t) (q - p) + 1;
        *pi = i;

        if (len - i < e->len + 2 || (script && p[i] == '!')) {
            break;
        }

        if (p[i] != '/' || !ngx_http_outage_scan_eq(p + i + 1, e->name, e->len))
        {
            continue;
        }

        c = p[i + 1 + e->len];

        if (c == '>') {
            s->raw = NGX_HTTP_OUTAGE_SCAN_OTHER;
            *pi = i + e->len + 2;
            return ngx_http_outage_scan_sw_data;
        }

        if (ngx_http_outage_scan_name_end(c)) {
            break;
        }
    }

    return script ? ngx_http_outage_scan_sw_script_lt
                  : ngx_http_outage_scan_sw_raw_lt;
}
