
/*
 * ngx_http_outage_scan.c: streaming scanner that finds where the outage
 * banner goes in an HTML response: right after the opening <body> tag, or
 * after the first start tag that implies the body (docs/notes/scanner.md).
 *
 * It owns only the tokenizer: a byte-driven state machine modelled on the
 * HTML5 tokenizer, restricted to what decides where tags start and end.
 * Every state survives a chunk boundary, so the result does not depend on
 * how the response is split into buffers.  Buffer and chain handling belong
 * to the body filter.
 */


#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include "ngx_http_outage_scan.h"


/* element flags */
#define NGX_HTTP_OUTAGE_SCAN_HEAD      0x01  /* allowed in <head> */
#define NGX_HTTP_OUTAGE_SCAN_RAW       0x02  /* text content up to end tag */

/* element ids: indexes into ngx_http_outage_scan_elts[] */
#define NGX_HTTP_OUTAGE_SCAN_OTHER     0
#define NGX_HTTP_OUTAGE_SCAN_BODY      1
#define NGX_HTTP_OUTAGE_SCAN_HEAD_EL   2
#define NGX_HTTP_OUTAGE_SCAN_SCRIPT    3
#define NGX_HTTP_OUTAGE_SCAN_NOSCRIPT  4
#define NGX_HTTP_OUTAGE_SCAN_TEMPLATE  5
#define NGX_HTTP_OUTAGE_SCAN_PLAIN     6


typedef struct {
    const char    *name;
    size_t         len;
    unsigned int   flags;
} ngx_http_outage_scan_elt_t;


/*
 * The first entries must match the ids above.  "head" elements follow the
 * HTML "in head" insertion mode, which also accepts the obsolete basefont,
 * bgsound and noframes; anything not marked HEAD starts the body implicitly.
 */
static const ngx_http_outage_scan_elt_t  ngx_http_outage_scan_elts[] = {
    { "", 0, 0 },
    { "body", 4, 0 },
    { "head", 4, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "script", 6, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "noscript", 8, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "template", 8, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "plaintext", 9, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "html", 4, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "title", 5, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "base", 4, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "link", 4, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "meta", 4, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "style", 5, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "basefont", 8, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "bgsound", 7, NGX_HTTP_OUTAGE_SCAN_HEAD },
    { "noframes", 8, NGX_HTTP_OUTAGE_SCAN_HEAD|NGX_HTTP_OUTAGE_SCAN_RAW },
    { "textarea", 8, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "xmp", 3, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "iframe", 6, NGX_HTTP_OUTAGE_SCAN_RAW },
    { "noembed", 7, NGX_HTTP_OUTAGE_SCAN_RAW }
};

#define NGX_HTTP_OUTAGE_SCAN_NELTS                                            \
    (sizeof(ngx_http_outage_scan_elts) / sizeof(ngx_http_outage_scan_elts[0]))


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
    ngx_http_outage_scan_sw_script_dbl_end
};


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


static unsigned int ngx_http_outage_scan_lookup(ngx_http_outage_scan_t *s);
static int ngx_http_outage_scan_start_tag(ngx_http_outage_scan_t *s,
    unsigned int id);
static int ngx_http_outage_scan_end_tag(ngx_http_outage_scan_t *s,
    unsigned int id);
static unsigned int ngx_http_outage_scan_after_tag(ngx_http_outage_scan_t *s);


void
ngx_http_outage_scan_init(ngx_http_outage_scan_t *s)
{
    memset(s, 0, sizeof(ngx_http_outage_scan_t));
    s->state = ngx_http_outage_scan_sw_data;
}


ssize_t
ngx_http_outage_scan_feed(ngx_http_outage_scan_t *s, const unsigned char *p,
    size_t len)
{
    size_t                             i;
    unsigned int                       state, id;
    unsigned char                      c;
    const unsigned char               *q;
    const ngx_http_outage_scan_elt_t  *e;

    if (s->done) {
        return NGX_HTTP_OUTAGE_SCAN_MORE;
    }

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
            q = memchr(p + i, '<', len - i);
            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - p) + 1;
            state = ngx_http_outage_scan_sw_tag_open;
            break;

        case ngx_http_outage_scan_sw_tag_open:
            if (ngx_http_outage_scan_alpha(c)) {
                s->end_tag = 0;
                s->name_len = 0;
                state = ngx_http_outage_scan_sw_tag_name;
                break;
            }

            if (c == '!') {
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
                state = ngx_http_outage_scan_sw_bogus;
                i++;
                break;
            }

            /* a lone "<" is text; the byte may itself be the next "<" */
            state = ngx_http_outage_scan_sw_data;
            break;

        case ngx_http_outage_scan_sw_end_tag_open:
            if (ngx_http_outage_scan_alpha(c)) {
                s->end_tag = 1;
                s->name_len = 0;
                state = ngx_http_outage_scan_sw_tag_name;
                break;
            }

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

            if (c == '[') {
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
            if (c == '-') {
                state = ngx_http_outage_scan_sw_comment_start_dash;
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

        case ngx_http_outage_scan_sw_comment_start_dash:
            if (c == '-') {
                state = ngx_http_outage_scan_sw_comment_end;
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

        /* style, textarea, title, xmp, iframe, noembed, noframes */

        case ngx_http_outage_scan_sw_raw:
            q = memchr(p + i, '<', len - i);
            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - p) + 1;
            state = ngx_http_outage_scan_sw_raw_lt;
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
            q = memchr(p + i, '<', len - i);
            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - p) + 1;
            state = ngx_http_outage_scan_sw_script_lt;
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

        case ngx_http_outage_scan_sw_script_esc:
        case ngx_http_outage_scan_sw_script_esc_dash:
        case ngx_http_outage_scan_sw_script_esc_dash_dash:
            if (c == '-') {
                state = (state == ngx_http_outage_scan_sw_script_esc)
                        ? ngx_http_outage_scan_sw_script_esc_dash
                        : ngx_http_outage_scan_sw_script_esc_dash_dash;

            } else if (c == '<') {
                state = ngx_http_outage_scan_sw_script_esc_lt;

            } else if (c == '>'
                       && state == ngx_http_outage_scan_sw_script_esc_dash_dash)
            {
                state = ngx_http_outage_scan_sw_script;

            } else {
                state = ngx_http_outage_scan_sw_script_esc;
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

        case ngx_http_outage_scan_sw_script_dbl:
        case ngx_http_outage_scan_sw_script_dbl_dash:
        case ngx_http_outage_scan_sw_script_dbl_dash_dash:
            if (c == '-') {
                state = (state == ngx_http_outage_scan_sw_script_dbl)
                        ? ngx_http_outage_scan_sw_script_dbl_dash
                        : ngx_http_outage_scan_sw_script_dbl_dash_dash;

            } else if (c == '<') {
                state = ngx_http_outage_scan_sw_script_dbl_lt;

            } else if (c == '>'
                       && state == ngx_http_outage_scan_sw_script_dbl_dash_dash)
            {
                state = ngx_http_outage_scan_sw_script;

            } else {
                state = ngx_http_outage_scan_sw_script_dbl;
            }

            i++;
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

        default:
            /* unreachable; resynchronise on text rather than loop */
            state = ngx_http_outage_scan_sw_data;
            break;
        }

        continue;

    emit:

        /* p[i] is the ">" closing a tag */

        i++;

        id = ngx_http_outage_scan_lookup(s);

        if (s->end_tag ? ngx_http_outage_scan_end_tag(s, id)
                       : ngx_http_outage_scan_start_tag(s, id))
        {
            s->state = ngx_http_outage_scan_sw_data;
            s->done = 1;
            return (ssize_t) i;
        }

        state = ngx_http_outage_scan_after_tag(s);
    }

    s->state = state;

    return NGX_HTTP_OUTAGE_SCAN_MORE;
}


int
ngx_http_outage_scan_finish(ngx_http_outage_scan_t *s)
{
    if (s->done) {
        return 0;
    }

    /*
     * No insertion point was found (no tags, only head elements, or the
     * stream ended inside a construct): append, so that every response
     * still gets exactly one banner.
     */

    s->done = 1;

    return 1;
}


static unsigned int
ngx_http_outage_scan_lookup(ngx_http_outage_scan_t *s)
{
    size_t                             n;
    const ngx_http_outage_scan_elt_t  *e;

    for (n = 1; n < NGX_HTTP_OUTAGE_SCAN_NELTS; n++) {
        e = &ngx_http_outage_scan_elts[n];

        /* the first letter rules out most names without a memcmp() call */
        if (e->len == s->name_len && e->name[0] == (char) s->name[0]
            && memcmp(e->name, s->name, e->len) == 0)
        {
            return (unsigned int) n;
        }
    }

    return NGX_HTTP_OUTAGE_SCAN_OTHER;
}


/*
 * Template contents and noscript (which browsers with scripting render as
 * text) are tokenized but can never hold the insertion point: a banner
 * there would be invisible.
 */
#define ngx_http_outage_scan_suppressed(s)                                    \
    ((s)->template_depth != 0 || (s)->noscript)


/* returns 1 if the insertion point is right after this start tag */

static int
ngx_http_outage_scan_start_tag(ngx_http_outage_scan_t *s, unsigned int id)
{
    int           trigger;
    unsigned int  flags;

    flags = ngx_http_outage_scan_elts[id].flags;
    trigger = 0;

    if (!ngx_http_outage_scan_suppressed(s)) {

        if (id == NGX_HTTP_OUTAGE_SCAN_BODY) {
            return 1;
        }

        /* the fallback: this tag starts the body implicitly */
        trigger = s->after_head || !(flags & NGX_HTTP_OUTAGE_SCAN_HEAD);
    }

    /* self-closing syntax does not make these elements empty in HTML */

    if (flags & NGX_HTTP_OUTAGE_SCAN_RAW) {
        s->raw = id;

    } else if (id == NGX_HTTP_OUTAGE_SCAN_TEMPLATE) {
        if (s->template_depth != (unsigned int) -1) {
            s->template_depth++;
        }

    } else if (id == NGX_HTTP_OUTAGE_SCAN_NOSCRIPT) {
        s->noscript = 1;

    } else {
        return trigger;
    }

    /*
     * Inserting right after <script>, <textarea>, <template>... would put
     * the banner inside text or an invisible subtree, so the insertion is
     * deferred to just after the element's end tag.
     */

    if (trigger) {
        s->pending = 1;
    }

    return 0;
}


/* returns 1 if the insertion point is right after this end tag */

static int
ngx_http_outage_scan_end_tag(ngx_http_outage_scan_t *s, unsigned int id)
{
    if (id == NGX_HTTP_OUTAGE_SCAN_TEMPLATE) {
        if (s->template_depth) {
            s->template_depth--;
        }

    } else if (id == NGX_HTTP_OUTAGE_SCAN_NOSCRIPT) {
        s->noscript = 0;

    } else if (id == NGX_HTTP_OUTAGE_SCAN_HEAD_EL
               && !ngx_http_outage_scan_suppressed(s))
    {
        s->after_head = 1;
    }

    /*
     * While a deferred insertion is pending we are either in raw text (and
     * this is its end tag) or suppressed until the end tag that lifts it.
     */

    return s->pending && !ngx_http_outage_scan_suppressed(s);
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
