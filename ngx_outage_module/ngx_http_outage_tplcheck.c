
/*
 * ngx_outage_module: the HTML contexts of a template's Redis-provided
 * fields (pure C, no nginx headers, no allocation).  See
 * ngx_http_outage_tplcheck.h.
 *
 * The model is the WHATWG tokenizer ("13.2.5 Tokenization": data, tag,
 * attribute, comment, RCDATA/RAWTEXT, script data with its escaped states,
 * CDATA) plus the tree-builder rules that change how the tokenizer is
 * driven: <svg>/<math> foreign content with its integration points and
 * breakout tags, and <select>, where browsers disagree about raw-text
 * start tags (both readings are followed).  The values of the other
 * placeholders are module text escaped like Redis text, so they cannot move
 * the tokenizer; the ways a template's sections can be shown are followed
 * as a set of tokenizer states, deduplicated, so a section that leaves the
 * markup as it found it costs nothing.
 *
 * Only what certainly runs is a warning: script and style content, on*
 * handlers, style and srcdoc attributes, unquoted values and the inside of
 * a tag (where a space or "=" in the text adds an attribute), URLs whose
 * scheme the field decides on elements that run javascript: URLs, and URLs
 * whose origin it decides on elements that load script or style.
 * Comments, RCDATA, quoted values of other attributes, a duplicate
 * attribute (browsers keep the first) and <meta content> without
 * http-equiv="refresh" are not.
 */


#include <string.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_tplcheck.h"


#define TC_NAME        16      /* bytes of an element/attribute name kept */
#define TC_VAL         48      /* bytes of a type/rel/... value kept */
#define TC_FRAMES      12      /* open svg/math elements, integration points */
#define TC_PENDING     4       /* fields waiting for the end of their tag */
#define TC_STATES      32      /* ways through the sections followed */
#define TC_NAMES       16      /* section names whose value is tracked */
#define TC_MAX_REPORTS 64

/* tokenizer states */
enum {
    S_DATA = 0, S_TAG_OPEN, S_END_OPEN, S_TAG_NAME, S_BEFORE_ATTR,
    S_ATTR_NAME, S_AFTER_NAME, S_BEFORE_VAL, S_VAL_DQ, S_VAL_SQ, S_VAL_UQ,
    S_AFTER_VAL, S_SELF_CLOSE, S_DECL, S_COMMENT, S_BOGUS, S_CDATA, S_RAW,
    S_SCRIPT, S_PLAINTEXT, S_LOST
};

/* comment sub-states */
enum { C_START = 0, C_START_DASH, C_BODY, C_END_DASH, C_END, C_END_BANG };

/* script data sub-states */
enum {
    SC_DATA = 0, SC_LT, SC_END, SC_ESC_START, SC_ESC_START_DASH, SC_ESC,
    SC_ESC_DASH, SC_ESC_DD, SC_ESC_LT, SC_DBL_START, SC_DBL, SC_DBL_DASH,
    SC_DBL_DD, SC_DBL_LT, SC_DBL_END
};

/* what the text of a raw-text element is */
enum { RK_TEXT = 0, RK_STYLE, RK_SCRIPT, RK_SCRIPT_DATA, RK_SCRIPT_UNKNOWN };

/* attribute values */
enum {
    V_PLAIN = 0, V_EVENT, V_STYLE, V_SRCDOC, V_NAV, V_LOAD, V_LINKREL,
    V_REFRESH, V_ANIM, V_CAPTURE
};

/* where a URL value is after the bytes before the field */
enum {
    U_START = 0, U_SCHEME, U_COLON, U_COLON_SLASH, U_SLASH1, U_AUTH, U_FIXED,
    U_JS
};

enum { NS_HTML = 0, NS_SVG, NS_MATH };

/* findings */
enum {
    K_NONE = 0, K_SCRIPT, K_STYLE, K_EVENT, K_STYLE_ATTR, K_SRCDOC,
    K_UNQUOTED, K_IN_TAG, K_URL, K_JSURL, K_LOAD, K_REFRESH,
    N_FIRST, N_LOST = N_FIRST, N_TYPE, N_STATES, N_PARTIAL, N_NAME
};

/* facts about the tag being read */
#define F_TYPE_SEEN    0x01
#define F_TYPE_EXEC    0x02
#define F_TYPE_DATA    0x04
#define F_REFRESH      0x08
#define F_REL_EXEC     0x10
#define F_ANIM_HREF    0x20
#define F_FONT_BREAK   0x40
#define F_ALWAYS       0x80
#define F_HTML_ENC     0x100       /* annotation-xml read as HTML */

/* attributes the check knows by name (index = bit in "seen") */
static const char  *tc_attrs[] = {
    "href", "src", "action", "formaction", "data", "xlink:href", "style",
    "srcdoc", "content", "type", "rel", "http-equiv", "attributename",
    "to", "values", "from", "by", "color", "face", "size", "encoding", NULL
};

enum {
    A_HREF = 0, A_SRC, A_ACTION, A_FORMACTION, A_DATA, A_XLINK_HREF, A_STYLE,
    A_SRCDOC, A_CONTENT, A_TYPE, A_REL, A_HTTP_EQUIV, A_ATTRIBUTENAME,
    A_TO, A_VALUES, A_FROM, A_BY, A_COLOR, A_FACE, A_SIZE, A_ENCODING
};


/*
 * An open element of foreign content (<svg> or <math> itself, an element
 * inside it, an svg <script> or <style>), or an integration point, where
 * HTML is read again (ns NS_HTML)
 */

typedef struct {
    unsigned char  name[TC_NAME];
    size_t         len;
    int            ns;
    int            kind;           /* RK_SCRIPT, RK_STYLE: its own text */
    unsigned       html_open;      /* an HTML element may be open in it */
} tc_frame_t;


typedef struct {
    size_t         offset;
    int            name_id;        /* index in tc_field_names */
    int            kind;
    int            attr_id;
    unsigned       cond;           /* F_* the tag must have */
} tc_pending_t;


typedef struct {
    int            state;
    int            sub;
    int            back;           /* script sub-state an end tag leaves */
    size_t         match;
    unsigned char  tag[TC_NAME];
    size_t         tag_len;
    unsigned char  attr[TC_NAME];
    size_t         attr_len;
    unsigned char  raw[TC_NAME];
    size_t         raw_len;
    unsigned char  tmp[TC_NAME];
    size_t         tmp_len;
    unsigned char  val[TC_VAL];
    size_t         val_len;
    unsigned char  scheme[12];
    size_t         scheme_len;
    unsigned char  ref[12];
    size_t         ref_len;
    int            raw_kind;
    int            vkind;
    int            url;
    int            attr_id;
    int            in_ref;
    unsigned       seen;
    unsigned       facts;
    unsigned       end_tag;
    unsigned       self_closing;
    unsigned       tag_tainted;
    unsigned       attr_tainted;
    unsigned       attr_dup;
    unsigned       val_tainted;
    unsigned       in_select;
    size_t         nframes;
    tc_frame_t     frames[TC_FRAMES];
    size_t         npending;
    tc_pending_t   pending[TC_PENDING];

    /* not compared: which way each tracked section went */
    unsigned       known;
    unsigned       value;
} tc_state_t;


/*
 * All the check's state, one per call: the caller owns it (see
 * ngx_http_outage_tpl_work_size), so calls never share memory
 */

struct ngx_http_outage_tpl_work_s {
    const unsigned char            *tpl;
    size_t                          len;
    ngx_http_outage_tpl_report_pt   report;
    void                           *ctx;
    tc_state_t                      set[TC_STATES];
    size_t                          n;
    /* ways a byte or a placeholder adds, joined to set after it */
    tc_state_t                      more[3 * TC_STATES];
    size_t                          nmore;
    tc_state_t                      scratch[TC_STATES];
    size_t                          warnings;
    size_t                          reports;
    unsigned                        noted;
    unsigned                        incomplete;
    const unsigned char            *names[TC_NAMES];
    size_t                          name_lens[TC_NAMES];
    size_t                          nnames;
    /* the ways each open section's other branch starts from */
    size_t                          depth;
    size_t                          nsaved[NGX_HTTP_OUTAGE_TPL_DEPTH];
    tc_state_t                      saved[NGX_HTTP_OUTAGE_TPL_DEPTH]
                                         [TC_STATES];
};

typedef struct ngx_http_outage_tpl_work_s  tc_run_t;


const size_t  ngx_http_outage_tpl_work_size = sizeof(tc_run_t);


/* the Redis fields (ngx_http_outage_tpl_untrusted()); 2 is the link */
static const char  *tc_field_names[] = { "message", "eta", "link", "update" };

#define TC_FIELDS  (sizeof(tc_field_names) / sizeof(tc_field_names[0]))


static int
tc_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}


static int
tc_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static unsigned char
tc_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


static void
tc_add_byte(unsigned char *buf, size_t *len, size_t size, unsigned char c)
{
    if (*len < size) {
        buf[*len] = tc_lower(c);
    }

    if (*len <= size) {
        (*len)++;       /* size + 1: longer than kept, never equal to a word */
    }
}


/* is the name one of the NUL-separated words of list? */

static int
tc_in(const unsigned char *name, size_t len, const char *list)
{
    size_t  n;

    while (*list) {
        n = strlen(list);

        if (n == len && memcmp(name, list, n) == 0) {
            return 1;
        }

        list += n + 1;
    }

    return 0;
}


/* can the scheme read so far still become one of the words of list? */

static int
tc_prefix_of(const unsigned char *name, size_t len, const char *list)
{
    size_t  n;

    while (*list) {
        n = strlen(list);

        if (len <= n && memcmp(name, list, len) == 0) {
            return 1;
        }

        list += n + 1;
    }

    return 0;
}


static int
tc_ns(const tc_state_t *h)
{
    return h->nframes ? h->frames[h->nframes - 1].ns : NS_HTML;
}


/*
 * A second way the markup can be read from here on: a copy of h, joined to
 * the set once the byte or placeholder is done with every way (so no way
 * sees it twice); NULL when too many ways are followed
 */

static tc_state_t *
tc_fork(tc_run_t *run, const tc_state_t *h)
{
    tc_state_t  *f;

    if (run->nmore == sizeof(run->more) / sizeof(run->more[0])) {
        run->incomplete = 1;
        return NULL;
    }

    f = &run->more[run->nmore++];
    memcpy(f, h, sizeof(tc_state_t));

    return f;
}


/* ---- values ----------------------------------------------------------- */

static int
tc_value_kind(tc_state_t *h)
{
    int   ns, id;

    if (h->end_tag || h->attr_dup) {
        return V_PLAIN;
    }

    if (h->attr_len > 2 && h->attr[0] == 'o' && h->attr[1] == 'n') {
        return V_EVENT;
    }

    id = h->attr_id;
    ns = tc_ns(h);

#define tc_tag_is(list)  tc_in(h->tag, h->tag_len, list)

    switch (id) {

    case A_STYLE:
        return V_STYLE;

    case A_SRCDOC:
        return (ns == NS_HTML && tc_tag_is("iframe\0")) ? V_SRCDOC : V_PLAIN;

    case A_HREF:
    case A_XLINK_HREF:
        if (ns == NS_MATH && id == A_HREF) {
            return V_NAV;
        }

        if (ns == NS_SVG) {
            return tc_tag_is("a\0") ? V_NAV
                   : tc_tag_is("script\0") ? V_LOAD : V_PLAIN;
        }

        if (id == A_XLINK_HREF) {
            return V_PLAIN;
        }

        return tc_tag_is("a\0area\0") ? V_NAV
               : tc_tag_is("base\0") ? V_LOAD
               : tc_tag_is("link\0") ? V_LINKREL : V_PLAIN;

    case A_SRC:
        if (ns != NS_HTML) {
            return V_PLAIN;
        }

        return tc_tag_is("script\0") ? V_LOAD
               : tc_tag_is("iframe\0frame\0embed\0") ? V_NAV : V_PLAIN;

    case A_ACTION:
        return (ns == NS_HTML && tc_tag_is("form\0")) ? V_NAV : V_PLAIN;

    case A_FORMACTION:
        return (ns == NS_HTML && tc_tag_is("button\0input\0")) ? V_NAV
                                                               : V_PLAIN;

    case A_DATA:
        return (ns == NS_HTML && tc_tag_is("object\0")) ? V_NAV : V_PLAIN;

    case A_CONTENT:
        return (ns == NS_HTML && tc_tag_is("meta\0")) ? V_REFRESH : V_PLAIN;

    case A_TYPE:
        return (ns == NS_HTML && tc_tag_is("script\0")) ? V_CAPTURE : V_PLAIN;

    case A_REL:
        return (ns == NS_HTML && tc_tag_is("link\0")) ? V_CAPTURE : V_PLAIN;

    case A_HTTP_EQUIV:
        return (ns == NS_HTML && tc_tag_is("meta\0")) ? V_CAPTURE : V_PLAIN;

    case A_ATTRIBUTENAME:
        return (ns == NS_SVG && tc_tag_is("set\0animate\0")) ? V_CAPTURE
                                                              : V_PLAIN;

    case A_TO:
    case A_VALUES:
    case A_FROM:
    case A_BY:
        return (ns == NS_SVG && tc_tag_is("set\0animate\0")) ? V_ANIM
                                                              : V_PLAIN;

    case A_ENCODING:
        return (ns == NS_MATH && tc_tag_is("annotation-xml\0")) ? V_CAPTURE
                                                                : V_PLAIN;
    }

#undef tc_tag_is

    return V_PLAIN;
}


/* the attribute name is complete */

static void
tc_attr_done(tc_state_t *h)
{
    int  i;

    h->attr_id = -1;
    h->attr_dup = 0;

    for (i = 0; tc_attrs[i]; i++) {
        if (h->attr_len == strlen(tc_attrs[i])
            && memcmp(h->attr, tc_attrs[i], h->attr_len) == 0)
        {
            h->attr_id = i;
            break;
        }
    }

    if (h->attr_id < 0 || h->attr_tainted) {
        return;
    }

    /* browsers keep the first of two attributes of the same name */
    if (h->seen & (1u << h->attr_id)) {
        h->attr_dup = 1;
        return;
    }

    h->seen |= 1u << h->attr_id;

    if (h->attr_id == A_TYPE && tc_in(h->tag, h->tag_len, "script\0")) {
        h->facts |= F_TYPE_SEEN | F_TYPE_EXEC;      /* empty: JavaScript */
    }

    if ((h->attr_id == A_COLOR || h->attr_id == A_FACE
         || h->attr_id == A_SIZE)
        && tc_in(h->tag, h->tag_len, "font\0"))
    {
        h->facts |= F_FONT_BREAK;
    }
}


static void
tc_attr_start(tc_state_t *h, unsigned char c)
{
    memset(h->attr, 0, TC_NAME);
    h->attr_len = 0;
    h->attr_tainted = 0;
    h->attr_dup = 0;
    h->attr_id = -1;
    tc_add_byte(h->attr, &h->attr_len, TC_NAME, c);
    h->state = S_ATTR_NAME;
}


static void
tc_value_reset(tc_state_t *h)
{
    memset(h->val, 0, TC_VAL);
    memset(h->scheme, 0, sizeof(h->scheme));
    memset(h->ref, 0, sizeof(h->ref));
    h->val_len = 0;
    h->scheme_len = 0;
    h->ref_len = 0;
    h->in_ref = 0;
    h->val_tainted = 0;
    h->url = U_START;
    h->vkind = V_PLAIN;
}


static void
tc_value_start(tc_state_t *h)
{
    tc_value_reset(h);
    h->vkind = tc_value_kind(h);
}


/* a word of the value, ASCII whitespace separated, is one of list */

static int
tc_has_token(const unsigned char *v, size_t len, const char *list)
{
    size_t  i, s;

    i = 0;

    while (i < len) {
        while (i < len && tc_space(v[i])) {
            i++;
        }

        s = i;

        while (i < len && !tc_space(v[i])) {
            i++;
        }

        if (i > s && tc_in(v + s, i - s, list)) {
            return 1;
        }
    }

    return 0;
}


static void
tc_value_end(tc_state_t *h)
{
    const unsigned char  *v;
    size_t                len;
    int                   unknown;

    if (h->vkind == V_CAPTURE) {
        v = h->val;
        len = h->val_len;
        /* browsers compare the value with its character references
         * decoded ("&#115;tylesheet", "text&sol;html"); this check reads
         * it raw, so a value with any reference takes the unsafe reading */
        unknown = h->val_tainted || len > TC_VAL
                  || memchr(v, '&', len) != NULL;

        while (len && tc_space(v[0])) {
            v++;
            len--;
        }

        while (len && tc_space(v[len - 1])) {
            len--;
        }

        switch (h->attr_id) {

        case A_TYPE:
            h->facts &= ~(F_TYPE_EXEC | F_TYPE_DATA);

            /* HTML "prepare the script element": JavaScript MIME type
             * essences, "module", "importmap" (it decides what modules
             * load); JSON types are data; others are not run */
            if (unknown || len == 0
                || tc_in(v, len,
                         "text/javascript\0application/javascript\0"
                         "application/ecmascript\0application/x-ecmascript\0"
                         "application/x-javascript\0text/ecmascript\0"
                         "text/javascript1.0\0text/javascript1.1\0"
                         "text/javascript1.2\0text/javascript1.3\0"
                         "text/javascript1.4\0text/javascript1.5\0"
                         "text/jscript\0text/livescript\0"
                         "text/x-ecmascript\0text/x-javascript\0"
                         "module\0importmap\0"))
            {
                h->facts |= F_TYPE_EXEC;

            } else if ((len >= 4 && memcmp(v + len - 4, "json", 4) == 0)
                       || tc_in(v, len, "speculationrules\0"))
            {
                h->facts |= F_TYPE_DATA;
            }

            break;

        case A_REL:
            if (unknown
                || tc_has_token(v, len, "stylesheet\0import\0"))
            {
                h->facts |= F_REL_EXEC;
            }
            break;

        case A_HTTP_EQUIV:
            if (unknown || tc_in(v, len, "refresh\0")) {
                h->facts |= F_REFRESH;
            }
            break;

        case A_ATTRIBUTENAME:
            if (unknown || tc_in(v, len, "href\0xlink:href\0")) {
                h->facts |= F_ANIM_HREF;
            }
            break;

        case A_ENCODING:
            /* HTML integration point: compared as is, spaces too */
            if (unknown
                || tc_in(h->val, h->val_len,
                         "text/html\0application/xhtml+xml\0"))
            {
                h->facts |= F_HTML_ENC;
            }
            break;
        }
    }

    tc_value_reset(h);

    /* the attribute is done: ways that differ only in it read alike */
    memset(h->attr, 0, TC_NAME);
    h->attr_len = 0;
    h->attr_tainted = 0;
    h->attr_dup = 0;
    h->attr_id = -1;
}


static int
tc_scheme_char(unsigned char c)
{
    return tc_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-'
           || c == '.';
}


/* one decoded character of a URL value (WHATWG URL parser's view) */

static void
tc_url_char(tc_state_t *h, unsigned char c)
{
    if (c == '\t' || c == '\n' || c == '\r') {
        return;                         /* removed anywhere in a URL */
    }

    if (c == ';' && h->vkind == V_ANIM && h->attr_id == A_VALUES) {
        /* SMIL "values" is a ';' list: each item is a URL of its own */
        memset(h->scheme, 0, sizeof(h->scheme));
        h->scheme_len = 0;
        h->url = U_START;
        return;
    }

    switch (h->url) {

    case U_START:
        if (c <= 0x20) {
            return;                     /* leading C0 and space stripped */
        }

        if (tc_alpha(c)) {
            tc_add_byte(h->scheme, &h->scheme_len, sizeof(h->scheme), c);
            h->url = U_SCHEME;

        } else {
            h->url = (c == '/' || c == '\\') ? U_SLASH1 : U_FIXED;
        }
        return;

    case U_SCHEME:
        if (tc_scheme_char(c)) {
            tc_add_byte(h->scheme, &h->scheme_len, sizeof(h->scheme), c);

        } else if (c == ':') {
            if (tc_in(h->scheme, h->scheme_len,
                      "javascript\0vbscript\0data\0"))
            {
                h->url = U_JS;

            } else if (tc_in(h->scheme, h->scheme_len,
                             "http\0https\0ws\0wss\0ftp\0file\0"))
            {
                h->url = U_COLON;

            } else {
                h->url = U_FIXED;
            }

        } else {
            h->url = U_FIXED;           /* a relative path */
        }
        return;

    case U_COLON:
    case U_COLON_SLASH:
        /* special schemes read "https:evil" as "https://evil" */
        if (c == '/' || c == '\\') {
            h->url = (h->url == U_COLON) ? U_COLON_SLASH : U_AUTH;

        } else {
            h->url = (c == '?' || c == '#') ? U_FIXED : U_AUTH;
        }
        return;

    case U_SLASH1:
        h->url = (c == '/' || c == '\\') ? U_AUTH : U_FIXED;
        return;

    case U_AUTH:
        if (c == '/' || c == '\\' || c == '?' || c == '#') {
            h->url = U_FIXED;
        }
        return;

    default:
        return;
    }
}


/* a character reference in a URL value is decoded before the URL parser */

static void
tc_ref_done(tc_state_t *h)
{
    size_t          i;
    unsigned long   cp;
    unsigned char   c;
    const unsigned char  *r = h->ref;

    h->in_ref = 0;

    if (h->ref_len == 0) {
        tc_url_char(h, '&');
        return;
    }

    c = 0x80;       /* not ASCII: fixes a scheme, as any other byte */

    if (r[0] == '#' && h->ref_len <= sizeof(h->ref)) {
        cp = 0;

        if (h->ref_len > 1 && (r[1] == 'x' || r[1] == 'X')) {
            for (i = 2; i < h->ref_len && cp < 0x110000; i++) {
                cp = cp * 16 + ((r[i] >= '0' && r[i] <= '9') ? r[i] - '0'
                                : (tc_lower(r[i]) - 'a' + 10) & 0xf);
            }

        } else {
            for (i = 1; i < h->ref_len && cp < 0x110000; i++) {
                cp = cp * 10 + ((r[i] - '0') % 10);
            }
        }

        if (cp < 0x80) {
            c = (unsigned char) cp;
        }

    } else if (tc_in(r, h->ref_len, "colon\0")) {
        c = ':';
    } else if (tc_in(r, h->ref_len, "sol\0")) {
        c = '/';
    } else if (tc_in(r, h->ref_len, "bsol\0")) {
        c = '\\';
    } else if (tc_in(r, h->ref_len, "quest\0")) {
        c = '?';
    } else if (tc_in(r, h->ref_len, "num\0")) {
        c = '#';
    } else if (tc_in(r, h->ref_len, "period\0")) {
        c = '.';
    } else if (tc_in(r, h->ref_len, "plus\0")) {
        c = '+';
    } else if (tc_in(r, h->ref_len, "Tab\0NewLine\0")) {
        c = '\t';
    }

    tc_url_char(h, c);

    memset(h->ref, 0, sizeof(h->ref));
    h->ref_len = 0;
}


static void
tc_value_char(tc_state_t *h, unsigned char c)
{
    if (h->vkind == V_CAPTURE || h->vkind == V_REFRESH) {
        tc_add_byte(h->val, &h->val_len, TC_VAL, c);
        return;
    }

    if (h->vkind < V_NAV || h->vkind > V_ANIM) {
        return;
    }

    if (h->in_ref) {
        if ((tc_alpha(c) || (c >= '0' && c <= '9') || c == '#')
            && h->ref_len < sizeof(h->ref))
        {
            h->ref[h->ref_len++] = c;   /* case kept: "Tab" vs "tab" */
            return;
        }

        tc_ref_done(h);

        /* in a "values" list the ';' after a name browsers do not know
         * ("&x;") separates items: any ';' ending a reference is read as
         * a separator there, the unsafe reading */
        if (c == ';' && h->attr_id != A_VALUES) {
            return;
        }
    }

    if (c == '&') {
        h->in_ref = 1;
        return;
    }

    tc_url_char(h, c);
}


/*
 * content="5; url=...": the URL of a refresh starts after the delay, a
 * separator and "url=" (HTML "shared declarative refresh steps"); the
 * part before the field is read into h->url
 */

static void
tc_refresh_url(tc_state_t *h)
{
    size_t                i, len;
    const unsigned char  *v;

    v = h->val;
    len = h->val_len;
    h->url = U_START;

    if (len > TC_VAL) {
        return;                 /* too long to read: as if it started here */
    }

    i = 0;

    while (i < len && tc_space(v[i])) {
        i++;
    }

    while (i < len && ((v[i] >= '0' && v[i] <= '9') || v[i] == '.')) {
        i++;
    }

    while (i < len && tc_space(v[i])) {
        i++;
    }

    if (i < len && (v[i] == ';' || v[i] == ',')) {
        i++;
    }

    while (i < len && tc_space(v[i])) {
        i++;
    }

    if (len - i >= 3 && memcmp(v + i, "url", 3) == 0) {
        size_t  j = i + 3;

        while (j < len && tc_space(v[j])) {
            j++;
        }

        if (j < len && v[j] == '=') {
            i = j + 1;

            while (i < len && tc_space(v[i])) {
                i++;
            }
        }
    }

    if (i < len && (v[i] == '"' || v[i] == '\'')) {
        i++;
    }

    for ( /* void */ ; i < len; i++) {
        tc_url_char(h, v[i]);
    }
}


/* ---- tags ------------------------------------------------------------- */

static void
tc_tag_start(tc_state_t *h, unsigned char c, int end)
{
    memset(h->tag, 0, TC_NAME);
    memset(h->attr, 0, TC_NAME);
    h->tag_len = 0;
    h->attr_len = 0;
    h->end_tag = end;
    h->self_closing = 0;
    h->tag_tainted = 0;
    h->attr_tainted = 0;
    h->attr_dup = 0;
    h->attr_id = -1;
    h->seen = 0;
    h->facts = 0;
    tc_value_reset(h);

    if (c) {
        tc_add_byte(h->tag, &h->tag_len, TC_NAME, c);
    }

    h->state = S_TAG_NAME;
}


static void tc_report(tc_run_t *run, size_t offset, int name_id, int kind,
    const unsigned char *tag, size_t tag_len, const char *attr,
    size_t attr_len);


static int
tc_push(tc_state_t *h, int ns, const unsigned char *name, size_t len,
    int kind)
{
    tc_frame_t  *f;

    if (h->nframes == TC_FRAMES) {
        return S_LOST;
    }

    f = &h->frames[h->nframes++];
    memset(f, 0, sizeof(tc_frame_t));
    memcpy(f->name, name, TC_NAME);
    f->len = len;
    f->ns = ns;
    f->kind = kind;

    return S_DATA;
}


static void
tc_pop(tc_state_t *h, size_t to)
{
    while (h->nframes > to) {
        memset(&h->frames[--h->nframes], 0, sizeof(tc_frame_t));
    }
}


/* a breakout tag closes every foreign element up to HTML */

static void
tc_breakout(tc_state_t *h)
{
    size_t  n;

    for (n = h->nframes; n && h->frames[n - 1].ns != NS_HTML; n--) {
        /* void */
    }

    tc_pop(h, n);
}


static void
tc_raw(tc_state_t *h, const unsigned char *name, size_t len, int kind)
{
    memset(h->raw, 0, TC_NAME);
    memcpy(h->raw, name, TC_NAME);
    h->raw_len = len;
    h->raw_kind = kind;
    h->match = 0;
    h->sub = SC_DATA;
    h->back = SC_DATA;
}


/* ">" ends a tag: the tokenizer state after it */

static int
tc_emit_tag(tc_run_t *run, tc_state_t *h)
{
    size_t          i, n, len;
    unsigned        facts, end, self_closing;
    unsigned char   name[TC_NAME];
    tc_frame_t     *top;
    tc_state_t     *f;
    tc_pending_t    pending[TC_PENDING];

    memcpy(name, h->tag, TC_NAME);
    len = h->tag_len;
    facts = h->facts | F_ALWAYS;
    end = h->end_tag;
    self_closing = h->self_closing;

    /* a report takes its field out of every way's pending list */
    n = h->npending;
    memcpy(pending, h->pending, sizeof(pending));
    memset(h->pending, 0, sizeof(h->pending));
    h->npending = 0;

    for (i = 0; i < n; i++) {
        if (facts & pending[i].cond) {
            tc_report(run, pending[i].offset, pending[i].name_id,
                      pending[i].kind, name, len,
                      tc_attrs[pending[i].attr_id],
                      strlen(tc_attrs[pending[i].attr_id]));
        }
    }
    tc_tag_start(h, 0, 0);
    memset(h->tag, 0, TC_NAME);
    h->tag_len = 0;
    h->end_tag = 0;
    h->state = S_DATA;

    /*
     * A name made partly by a placeholder ("<script{{x}}>") is read as if
     * the value were empty here; tc_emit() follows the other element too.
     */

#define tc_is(list)  tc_in(name, len, list)

    if (end) {
        if (tc_ns(h) == NS_HTML) {
            top = h->nframes ? &h->frames[h->nframes - 1] : NULL;

            if (top && top->len == len && memcmp(top->name, name, TC_NAME) == 0)
            {
                memset(&h->frames[--h->nframes], 0, sizeof(tc_frame_t));

            } else if (tc_is("select\0")) {
                h->in_select = 0;
            }

            return S_DATA;
        }

        if (tc_is("p\0br\0")) {
            tc_breakout(h);
            return S_DATA;
        }

        /* "any other end tag": closes up to the open element of its name
         * in this foreign content, or is ignored */
        for (i = h->nframes; i > 0 && h->frames[i - 1].ns != NS_HTML; i--) {
            top = &h->frames[i - 1];

            if (top->len == len && memcmp(top->name, name, TC_NAME) == 0) {
                tc_pop(h, i - 1);
                return S_DATA;
            }
        }

        /*
         * It reaches the HTML elements: it closes one of them ("<div><svg>
         * </div>": svg and all) or is ignored; which, only the HTML
         * elements open know: both are followed
         */
        f = tc_fork(run, h);

        if (f) {
            tc_breakout(f);
            f->state = S_DATA;
        }

        return S_DATA;
    }

    if (tc_ns(h) != NS_HTML) {
        /* WHATWG 13.2.6.5: these start tags end foreign content */
        if (tc_is("b\0big\0blockquote\0body\0br\0center\0code\0dd\0div\0dl\0"
                  "dt\0em\0embed\0h1\0h2\0h3\0h4\0h5\0h6\0head\0hr\0i\0img\0"
                  "li\0listing\0menu\0meta\0nobr\0ol\0p\0pre\0ruby\0s\0"
                  "small\0span\0strong\0strike\0sub\0sup\0table\0tt\0u\0ul\0"
                  "var\0")
            || (tc_is("font\0") && (facts & F_FONT_BREAK)))
        {
            tc_breakout(h);

        } else {
            top = &h->frames[h->nframes - 1];

            if (self_closing) {
                return S_DATA;
            }

            if (tc_is(top->ns == NS_SVG ? "foreignobject\0desc\0title\0"
                                        : "mi\0mo\0mn\0ms\0mtext\0")
                || (top->ns == NS_MATH && tc_is("annotation-xml\0")
                    && (facts & F_HTML_ENC)))
            {
                return tc_push(h, NS_HTML, name, len, RK_TEXT);
            }

            /* <svg> in any MathML annotation-xml is read as HTML: an svg */
            if (top->ns == NS_MATH && tc_is("svg\0")
                && top->len == 14
                && memcmp(top->name, "annotation-xml", 14) == 0)
            {
                return tc_push(h, NS_SVG, name, len, RK_TEXT);
            }

            /* svg <script> and <style> are read as markup, and their own
             * text (entities decoded) is script or CSS; MathML has
             * neither */
            return tc_push(h, top->ns, name, len,
                           top->ns != NS_SVG ? RK_TEXT
                           : tc_is("script\0") ? RK_SCRIPT
                           : tc_is("style\0") ? RK_STYLE : RK_TEXT);
        }
    }

    /* HTML, or an integration point */

    if (h->nframes && h->frames[h->nframes - 1].ns == NS_HTML
        && !tc_is("svg\0math\0area\0base\0br\0col\0embed\0hr\0img\0"
                  "input\0keygen\0link\0meta\0param\0source\0track\0"
                  "wbr\0"))
    {
        /* an HTML element is open in the integration point */
        h->frames[h->nframes - 1].html_open = 1;
    }

    if (tc_is("svg\0math\0")) {
        if (self_closing) {
            return S_DATA;
        }

        if (h->in_select) {
            /* older parsers ignore it inside <select>, newer ones not */
            f = tc_fork(run, h);

            if (f) {
                f->state = S_DATA;
            }
        }

        return tc_push(h, name[0] == 's' ? NS_SVG : NS_MATH, name, len,
                       RK_TEXT);
    }

    if (tc_is("select\0")) {
        h->in_select = 1;
        return S_DATA;
    }

    if (tc_is("input\0keygen\0textarea\0")) {
        h->in_select = 0;           /* they close a <select> */
    }

    if (tc_is("script\0")) {
        tc_raw(h, name, len,
               !(facts & F_TYPE_SEEN) || (facts & F_TYPE_EXEC) ? RK_SCRIPT
               : (facts & F_TYPE_DATA) ? RK_SCRIPT_DATA : RK_SCRIPT_UNKNOWN);
        return S_SCRIPT;
    }

    if (tc_is("style\0xmp\0iframe\0noembed\0noframes\0noscript\0title\0"
              "textarea\0plaintext\0"))
    {
        if (h->in_select) {
            f = tc_fork(run, h);

            if (f) {
                f->state = S_DATA;
            }
        }

        tc_raw(h, name, len, tc_is("style\0") ? RK_STYLE : RK_TEXT);

        return tc_is("plaintext\0") ? S_PLAINTEXT : S_RAW;
    }

#undef tc_is

    return S_DATA;
}


/*
 * A name made partly by a placeholder is read both as if its value were
 * empty and as an element the check does not know (<iframe{{x}}> may be
 * <iframev>, whose inside is markup, not text)
 */

static int
tc_emit(tc_run_t *run, tc_state_t *h)
{
    int          state;
    tc_state_t  *f;

    f = h->tag_tainted ? tc_fork(run, h) : NULL;

    state = tc_emit_tag(run, h);

    if (f) {
        /* its fields were reported above: none wait any longer */
        memset(f->pending, 0, sizeof(f->pending));
        f->npending = 0;
        memset(f->tag, 0, TC_NAME);
        f->tag_len = TC_NAME + 1;       /* no name it is compared with */
        f->tag_tainted = 0;
        f->state = tc_emit_tag(run, f);
    }

    return state;
}


/* "</name" + a delimiter in raw text: an end tag, read as a tag */

static void
tc_raw_end(tc_state_t *h)
{
    tc_tag_start(h, 0, 1);
    memcpy(h->tag, h->raw, TC_NAME);
    h->tag_len = h->raw_len;
    memset(h->raw, 0, TC_NAME);
    h->raw_len = 0;
    h->raw_kind = 0;
    h->match = 0;
    h->sub = 0;
    h->back = 0;
}


/*
 * Script data (double) escaped, its dash and dash dash states: base is
 * SC_ESC or SC_DBL, the two that follow it count the dashes seen
 */

static void
tc_escaped(tc_state_t *h, unsigned char c, int base, int lt)
{
    if (c == '-') {
        h->sub = (h->sub == base) ? base + 1 : base + 2;
    } else if (c == '<') {
        h->sub = lt;
    } else if (c == '>' && h->sub == base + 2) {
        h->sub = SC_DATA;
    } else {
        h->sub = base;
    }
}


/*
 * "<![CDATA[" starts CDATA where the current node is not HTML: inside
 * svg and math, integration points included (foreignObject, mtext, ... are
 * svg or MathML elements), but not inside an HTML element opened in one,
 * where it is a bogus comment
 */

static int
tc_cdata(tc_run_t *run, tc_state_t *h)
{
    tc_frame_t  *top;
    tc_state_t  *f;

    if (h->nframes == 0) {
        return 0;
    }

    top = &h->frames[h->nframes - 1];

    if (top->ns == NS_HTML && top->html_open) {
        /* the HTML elements it opened may all be closed: both */
        f = tc_fork(run, h);

        if (f) {
            f->state = S_BOGUS;
            f->match = 0;
            f->sub = 0;
        }
    }

    return 1;
}


static void
tc_step(tc_run_t *run, tc_state_t *h, unsigned char c)
{
    const char  *target;

again:

    switch (h->state) {

    case S_DATA:
        if (c == '<') {
            h->state = S_TAG_OPEN;
        }
        return;

    case S_TAG_OPEN:
        if (c == '!') {
            h->state = S_DECL;
            h->match = 0;
            h->sub = 0;

        } else if (c == '/') {
            h->state = S_END_OPEN;

        } else if (tc_alpha(c)) {
            tc_tag_start(h, c, 0);

        } else if (c == '?') {
            h->state = S_BOGUS;

        } else {
            h->state = S_DATA;
            goto again;
        }
        return;

    case S_END_OPEN:
        if (tc_alpha(c)) {
            tc_tag_start(h, c, 1);

        } else {
            h->state = (c == '>') ? S_DATA : S_BOGUS;
        }
        return;

    case S_TAG_NAME:
        if (tc_space(c)) {
            h->state = S_BEFORE_ATTR;
        } else if (c == '/') {
            h->state = S_SELF_CLOSE;
        } else if (c == '>') {
            h->state = tc_emit(run, h);
        } else {
            tc_add_byte(h->tag, &h->tag_len, TC_NAME, c);
        }
        return;

    case S_BEFORE_ATTR:
    case S_AFTER_NAME:
        if (tc_space(c)) {
            return;
        }

        if (c == '/') {
            h->state = S_SELF_CLOSE;
        } else if (c == '=' && h->state == S_AFTER_NAME) {
            h->state = S_BEFORE_VAL;
        } else if (c == '>') {
            h->state = tc_emit(run, h);
        } else {
            tc_attr_start(h, c);    /* "=" too: a name that starts so */
        }
        return;

    case S_ATTR_NAME:
        if (tc_space(c) || c == '/' || c == '>' || c == '=') {
            tc_attr_done(h);

            if (c == '=') {
                h->state = S_BEFORE_VAL;
            } else if (c == '>') {
                h->state = tc_emit(run, h);
            } else {
                h->state = (c == '/') ? S_SELF_CLOSE : S_AFTER_NAME;
            }

        } else {
            tc_add_byte(h->attr, &h->attr_len, TC_NAME, c);
        }
        return;

    case S_BEFORE_VAL:
        if (tc_space(c)) {
            return;
        }

        if (c == '>') {
            h->state = tc_emit(run, h);
            return;
        }

        tc_value_start(h);

        if (c == '"' || c == '\'') {
            h->state = (c == '"') ? S_VAL_DQ : S_VAL_SQ;
            return;
        }

        h->state = S_VAL_UQ;
        goto again;

    case S_VAL_DQ:
    case S_VAL_SQ:
        if (c == (h->state == S_VAL_DQ ? '"' : '\'')) {
            tc_value_end(h);
            h->state = S_AFTER_VAL;

        } else {
            tc_value_char(h, c);
        }
        return;

    case S_VAL_UQ:
        if (tc_space(c)) {
            tc_value_end(h);
            h->state = S_BEFORE_ATTR;

        } else if (c == '>') {
            tc_value_end(h);
            h->state = tc_emit(run, h);

        } else {
            tc_value_char(h, c);
        }
        return;

    case S_AFTER_VAL:
        if (tc_space(c)) {
            h->state = S_BEFORE_ATTR;
        } else if (c == '/') {
            h->state = S_SELF_CLOSE;
        } else if (c == '>') {
            h->state = tc_emit(run, h);
        } else {
            h->state = S_BEFORE_ATTR;
            goto again;
        }
        return;

    case S_SELF_CLOSE:
        if (c == '>') {
            h->self_closing = 1;
            h->state = tc_emit(run, h);
            return;
        }

        h->state = S_BEFORE_ATTR;
        goto again;

    case S_DECL:
        /* "<!--" a comment, "<![CDATA[" in foreign content a CDATA
         * section, anything else a bogus comment up to ">" */
        if (h->match == 0) {
            h->sub = (c == '[' && tc_cdata(run, h));
        }

        target = h->sub ? "[CDATA[" : "--";

        if (c == (unsigned char) target[h->match]) {
            if (target[++h->match] == '\0') {
                h->state = h->sub ? S_CDATA : S_COMMENT;
                h->sub = C_START;
                h->match = 0;
            }
            return;
        }

        h->state = S_BOGUS;
        h->match = 0;
        h->sub = 0;
        goto again;

    case S_COMMENT:
        switch (h->sub) {

        case C_START:
        case C_START_DASH:
            if (c == '>') {
                h->state = S_DATA;
                h->sub = 0;
                return;
            }

            if (c == '-') {
                h->sub = (h->sub == C_START) ? C_START_DASH : C_END;
                return;
            }

            h->sub = C_BODY;
            goto again;

        case C_BODY:
            if (c == '-') {
                h->sub = C_END_DASH;
            }
            return;

        case C_END_DASH:
            h->sub = (c == '-') ? C_END : C_BODY;
            return;

        case C_END:
            if (c == '>') {
                h->state = S_DATA;
                h->sub = 0;
            } else if (c == '!') {
                h->sub = C_END_BANG;
            } else if (c != '-') {
                h->sub = C_BODY;
            }
            return;

        default:    /* C_END_BANG */
            if (c == '>') {
                h->state = S_DATA;
                h->sub = 0;
            } else {
                h->sub = (c == '-') ? C_END_DASH : C_BODY;
            }
            return;
        }

    case S_BOGUS:
        if (c == '>') {
            h->state = S_DATA;
        }
        return;

    case S_CDATA:
        if (c == ']') {
            h->match = (h->match < 2) ? h->match + 1 : 2;
            return;
        }

        if (c == '>' && h->match == 2) {
            h->state = S_DATA;
        }

        h->match = 0;
        return;

    case S_RAW:
        /* match: bytes of "</" + the element's name seen */
        if (h->match >= 2 && h->match - 2 == h->raw_len
            && (tc_space(c) || c == '/' || c == '>'))
        {
            tc_raw_end(h);
            goto again;
        }

        if (h->match == 0 && c == '<') {
            h->match = 1;
        } else if (h->match == 1 && c == '/') {
            h->match = 2;
        } else if (h->match >= 2 && h->match - 2 < h->raw_len
                   && h->match - 2 < TC_NAME
                   && tc_lower(c) == h->raw[h->match - 2])
        {
            h->match++;
        } else {
            h->match = (c == '<');
        }
        return;

    case S_SCRIPT:
        switch (h->sub) {

        case SC_DATA:
            if (c == '<') {
                h->sub = SC_LT;
            }
            return;

        case SC_LT:
            if (c == '/') {
                h->sub = SC_END;
                h->back = SC_DATA;
                h->match = 0;
                return;
            }

            h->sub = (c == '!') ? SC_ESC_START : SC_DATA;

            if (c == '!') {
                return;
            }
            goto again;

        case SC_END:
            if (h->match < 6 && tc_lower(c) == (unsigned char) "script"[h->match]) {
                h->match++;
                return;
            }

            if (h->match == 6 && (tc_space(c) || c == '/' || c == '>')) {
                tc_raw_end(h);
                goto again;
            }

            h->sub = h->back;
            h->match = 0;
            goto again;

        case SC_ESC_START:
        case SC_ESC_START_DASH:
            if (c == '-') {
                h->sub = (h->sub == SC_ESC_START) ? SC_ESC_START_DASH
                                                  : SC_ESC_DD;
                return;
            }

            h->sub = SC_DATA;
            goto again;

        case SC_ESC:
        case SC_ESC_DASH:
        case SC_ESC_DD:
            tc_escaped(h, c, SC_ESC, SC_ESC_LT);
            return;

        case SC_ESC_LT:
            if (c == '/') {
                h->sub = SC_END;
                h->back = SC_ESC;
                h->match = 0;
                return;
            }

            if (tc_alpha(c)) {
                memset(h->tmp, 0, TC_NAME);
                h->tmp_len = 0;
                h->sub = SC_DBL_START;
                goto again;
            }

            h->sub = SC_ESC;
            goto again;

        case SC_DBL_START:
        case SC_DBL_END:
            if (tc_space(c) || c == '/' || c == '>') {
                if (tc_in(h->tmp, h->tmp_len, "script\0")) {
                    h->sub = (h->sub == SC_DBL_START) ? SC_DBL : SC_ESC;
                } else {
                    h->sub = (h->sub == SC_DBL_START) ? SC_ESC : SC_DBL;
                }

                memset(h->tmp, 0, TC_NAME);
                h->tmp_len = 0;
                return;
            }

            if (tc_alpha(c)) {
                tc_add_byte(h->tmp, &h->tmp_len, TC_NAME, c);
                return;
            }

            h->sub = (h->sub == SC_DBL_START) ? SC_ESC : SC_DBL;
            memset(h->tmp, 0, TC_NAME);
            h->tmp_len = 0;
            goto again;

        case SC_DBL:
        case SC_DBL_DASH:
        case SC_DBL_DD:
            tc_escaped(h, c, SC_DBL, SC_DBL_LT);
            return;

        default:    /* SC_DBL_LT */
            if (c == '/') {
                memset(h->tmp, 0, TC_NAME);
                h->tmp_len = 0;
                h->sub = SC_DBL_END;
                return;
            }

            h->sub = SC_DBL;
            goto again;
        }

    default:    /* PLAINTEXT and LOST never end */
        return;
    }
}


/* ---- placeholders ----------------------------------------------------- */

/* a placeholder's text is between the bytes around it: what it changes */

static void
tc_placeholder(tc_run_t *run, tc_state_t *h)
{
    tc_state_t  *f;

    /*
     * Right after "<", "</", "=" or an attribute name the value decides
     * the state, as its first byte would: each reading is followed, the
     * empty value (h as it is) among them.  A value that starts an end
     * tag ("/x") or a comment ("!--") is not: the module's values do not,
     * and the Redis fields there are warned about themselves.
     */

    switch (h->state) {

    case S_TAG_OPEN:
        (void) tc_fork(run, h);             /* empty */

        f = tc_fork(run, h);                /* "<" and a digit: text */
        if (f) {
            f->state = S_DATA;
        }

        f = tc_fork(run, h);                /* "<?" or "<!x": a comment */
        if (f) {
            f->state = S_BOGUS;
        }

        tc_tag_start(h, 0, 0);              /* a letter: a tag name */
        h->tag_tainted = 1;
        return;

    case S_END_OPEN:
        f = tc_fork(run, h);
        if (f) {
            f->state = S_BOGUS;
        }

        f = tc_fork(run, h);
        if (f) {
            tc_tag_start(f, 0, 1);
            f->tag_tainted = 1;
        }
        return;

    case S_AFTER_NAME:
        (void) tc_fork(run, h);             /* empty: "=" may follow */
        break;

    case S_BEFORE_VAL:
        f = tc_fork(run, h);                /* not empty: unquoted value */
        if (f) {
            tc_value_start(f);
            f->state = S_VAL_UQ;
            f->val_tainted = 1;
        }
        return;

    default:
        break;
    }

    switch (h->state) {

    case S_TAG_NAME:
        h->tag_tainted = 1;
        return;

    case S_BEFORE_ATTR:
    case S_AFTER_NAME:
    case S_AFTER_VAL:
        tc_attr_start(h, 'x');
        h->attr_len = 0;
        h->attr[0] = 0;
        h->attr_tainted = 1;
        return;

    case S_ATTR_NAME:
        h->attr_tainted = 1;
        return;

    case S_VAL_DQ:
    case S_VAL_SQ:
    case S_VAL_UQ:
        h->val_tainted = 1;

        if (h->in_ref) {
            memset(h->ref, 0, sizeof(h->ref));
            h->ref_len = 0;
            h->in_ref = 0;
        }
        return;

    default:
        return;
    }
}


/*
 * The finding for a Redis field (name_id 2: link) here; a finding that
 * depends on an attribute not read yet is left pending in the state.
 */

static int
tc_judge(tc_state_t *h, int name_id, size_t offset)
{
    int        link, kind, unsure;
    unsigned   cond;

    link = (name_id == 2);

    switch (h->state) {

    case S_DATA:
    case S_CDATA:
        if (h->nframes == 0) {
            return K_NONE;
        }

        /* the innermost open element's own text */
        kind = h->frames[h->nframes - 1].kind;

        return kind == RK_SCRIPT ? K_SCRIPT
               : kind == RK_STYLE ? K_STYLE : K_NONE;

    case S_TAG_OPEN:
        return link ? K_NONE : K_IN_TAG;

    case S_TAG_NAME:
    case S_BEFORE_ATTR:
    case S_ATTR_NAME:
    case S_AFTER_NAME:
    case S_AFTER_VAL:
    case S_SELF_CLOSE:
        return (h->end_tag || link) ? K_NONE : K_IN_TAG;

    case S_BEFORE_VAL:
    case S_VAL_UQ:
        if (h->end_tag) {
            return K_NONE;
        }

        /* a link has no space, quote or "<>": it stays one value */
        if (!link) {
            return K_UNQUOTED;
        }

        if (h->state == S_BEFORE_VAL) {
            h->vkind = tc_value_kind(h);
        }

        break;

    case S_VAL_DQ:
    case S_VAL_SQ:
        break;

    case S_RAW:
        if (h->raw_kind == RK_STYLE) {
            return K_STYLE;
        }

        return h->match ? N_PARTIAL : K_NONE;

    case S_SCRIPT:
        return h->raw_kind == RK_SCRIPT ? K_SCRIPT
               : h->raw_kind == RK_SCRIPT_UNKNOWN ? N_TYPE : K_NONE;

    case S_LOST:
        return N_LOST;

    default:
        return K_NONE;
    }

    /*
     * A name made partly by another placeholder is read as if its value
     * were empty (<a href{{x}}="...">: href); safe that way, it may not
     * be with the value
     */
    unsure = h->attr_tainted || h->tag_tainted;
    kind = K_NONE;
    cond = F_ALWAYS;

    switch (h->vkind) {

    case V_EVENT:
        return K_EVENT;

    case V_STYLE:
        return K_STYLE_ATTR;

    case V_SRCDOC:
        return K_SRCDOC;

    case V_NAV:
    case V_ANIM:
        if (h->url == U_JS) {
            kind = K_JSURL;

        } else if (!link
                   && (h->url == U_START
                       || (h->url == U_SCHEME
                           && tc_prefix_of(h->scheme, h->scheme_len,
                                           "javascript\0vbscript\0data\0"))))
        {
            kind = K_URL;
        }

        if (h->vkind == V_ANIM) {
            cond = F_ANIM_HREF;
        }
        break;

    case V_LOAD:
    case V_LINKREL:
        if (h->url == U_JS) {
            kind = K_JSURL;

        } else if (link ? h->url == U_START
                   : h->url != U_FIXED
                     && (h->url != U_SCHEME
                         || tc_prefix_of(h->scheme, h->scheme_len,
                                         "https\0data\0")))
        {
            /* "ht" may become "https://evil/", "js" no loadable URL */
            kind = K_LOAD;
        }

        if (h->vkind == V_LINKREL) {
            cond = F_REL_EXEC;
        }
        break;

    case V_REFRESH:
        tc_refresh_url(h);

        if (h->url == U_JS) {
            kind = K_JSURL;

        } else if (!link && h->url != U_FIXED) {
            kind = K_REFRESH;
        }

        h->url = U_START;
        memset(h->scheme, 0, sizeof(h->scheme));
        h->scheme_len = 0;
        cond = F_REFRESH;
        break;

    default:
        break;
    }

    if (kind == K_NONE) {
        return unsure ? N_NAME : K_NONE;
    }

    if (cond == F_ALWAYS) {
        return kind;
    }

    /* it counts only if the rest of the tag says so */
    if (h->npending == TC_PENDING) {
        return N_LOST;
    }

    h->pending[h->npending].offset = offset;
    h->pending[h->npending].name_id = name_id;
    h->pending[h->npending].kind = kind;
    h->pending[h->npending].attr_id = h->attr_id;
    h->pending[h->npending].cond = cond;
    h->npending++;

    return K_NONE;
}


/* ---- reporting -------------------------------------------------------- */

typedef struct {
    char    *p;
    char    *end;
} tc_buf_t;


static void
tc_put(tc_buf_t *b, const char *s, size_t n)
{
    while (n-- && b->p < b->end) {
        *b->p++ = *s++;
    }
}


static void
tc_puts(tc_buf_t *b, const char *s)
{
    tc_put(b, s, strlen(s));
}


/* a name as kept by the tracker: printable ASCII only */

static void
tc_put_name(tc_buf_t *b, const unsigned char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n && i < TC_NAME; i++) {
        tc_put(b, (s[i] > 0x20 && s[i] < 0x7f && s[i] != '"') ? (const char *) &s[i]
                                                             : "?", 1);
    }

    if (n > TC_NAME) {
        tc_puts(b, "...");
    }
}


/*
 * What each finding says: where the field is, why that is a problem (or
 * why it is not checked) and what to do, joined as they are.  In them $A
 * is 'attribute "name" of <tag>', $a the attribute's name, $T the tag's
 * name (of the end tag that may come, for N_PARTIAL) and $F the field's.
 */

typedef struct {
    const char  *where;
    const char  *why;
    const char  *fix;
} tc_text_t;


static const tc_text_t  tc_texts[] = {

    [K_SCRIPT] = { "is inside <script>",
        ", where escaping does not stop script",
        ": move it out into the text of an element, or a quoted attribute "
        "such as title=\"{{$F}}\"" },

    [K_STYLE] = { "is inside <style>",
        ", where escaping does not stop CSS",
        ": move it out into the text of an element, or a quoted attribute "
        "such as title=\"{{$F}}\"" },

    [K_EVENT] = { "is in the event handler $A",
        ", where escaping does not stop script",
        ": move it out of on... and style attributes" },

    [K_STYLE_ATTR] = { "is in the style $A",
        ", where escaping does not stop CSS",
        ": move it out of on... and style attributes" },

    [K_SRCDOC] = { "is in the $A",
        ", read as HTML once more after escaping is undone",
        ": move it out of srcdoc" },

    [K_UNQUOTED] = { "is in the unquoted value of $A",
        ", where a space in it starts a new attribute (such as onclick=)",
        ": quote it ($a=\"{{$F}}\")" },

    [K_IN_TAG] = { "is inside the tag <$T>",
        ", outside any attribute value, where it can add attributes (such "
        "as onclick=)",
        ": put it in a quoted attribute value or in text" },

    [K_URL] = { "starts the URL in $A",
        ", so it decides the scheme (a javascript: URL runs script)",
        ": use {{link}} there (a checked http(s) URL), or put a fixed start "
        "before it (\"/status?m={{$F}}\")" },

    [K_JSURL] = { "is in a javascript: or data: URL in $A",
        ", where escaping does not stop script",
        ": move it out of the URL" },

    [K_LOAD] = { "decides where $A loads script or style from",
        " (anyone who can write to Redis could run script in every page)",
        ": use {{link}} only in links (<a href=\"{{link}}\">), never in what "
        "loads a script, a style sheet or sets <base>" },

    [K_REFRESH] = { "starts the URL of <meta http-equiv=\"refresh\">",
        ", so it decides where every visitor is sent",
        ": keep it out of content=, or use {{link}} there" },

    [N_LOST] = { "is not checked",
        ": the check does not follow the markup before it (<svg> and <math> "
        "nested too deeply, or too many fields in one tag)", "" },

    [N_TYPE] = { "is not checked",
        ": it is inside <script> of a type browsers do not run",
        "; make sure no script of the page runs that text as code" },

    [N_STATES] = { "is not checked",
        ": the template's sections make more different HTML contexts than "
        "the check follows", "" },

    [N_PARTIAL] = { "is not checked",
        ": it is inside what may become the end tag </$T>", "" },

    [N_NAME] = { "is not checked",
        ": the name of its tag or attribute is made by another placeholder",
        "" },
};

/* a finding added to the enum without its texts does not compile */
typedef char  tc_texts_complete_t[(sizeof(tc_texts) / sizeof(tc_texts[0])
                                   == N_NAME + 1) ? 1 : -1];


static void
tc_put_text(tc_buf_t *b, const char *s, const char *name,
    const unsigned char *tag, size_t tag_len, const char *attr,
    size_t attr_len)
{
    for ( /* void */ ; *s; s++) {
        if (*s != '$' || s[1] == '\0') {
            tc_put(b, s, 1);
            continue;
        }

        switch (*++s) {

        case 'A':
            tc_puts(b, "attribute \"");
            tc_put_name(b, (const unsigned char *) attr, attr_len);
            tc_puts(b, "\" of <");
            tc_put_name(b, tag, tag_len);
            tc_puts(b, ">");
            break;

        case 'a':
            tc_put_name(b, (const unsigned char *) attr, attr_len);
            break;

        case 'T':
            tc_put_name(b, tag, tag_len);
            break;

        default:    /* 'F' */
            tc_puts(b, name);
            break;
        }
    }
}


static void
tc_why(char *why, int kind, const char *name, const unsigned char *tag,
    size_t tag_len, const char *attr, size_t attr_len)
{
    tc_buf_t          b;
    const tc_text_t  *t;

    b.p = why;
    b.end = why + NGX_HTTP_OUTAGE_TPL_WHY_LEN - 1;

    t = &tc_texts[(kind > K_NONE && kind <= N_NAME) ? kind : N_LOST];

    tc_put_text(&b, t->where, name, tag, tag_len, attr, attr_len);
    tc_put_text(&b, t->why, name, tag, tag_len, attr, attr_len);
    tc_put_text(&b, t->fix, name, tag, tag_len, attr, attr_len);

    *b.p = '\0';
}


static void
tc_report_state(tc_run_t *run, size_t offset, int name_id, int kind,
    const tc_state_t *h)
{
    const char  *attr;
    size_t       attr_len;

    attr = (const char *) h->attr;
    attr_len = h->attr_len;

    tc_report(run, offset, name_id, kind, h->tag, h->tag_len, attr, attr_len);
}


/*
 * A field is warned about once: its other ways, waiting for the end of
 * their tag, no longer need to say it
 */

static void
tc_unpend(tc_state_t *s, size_t n, size_t offset)
{
    size_t  i, j, k;

    for (i = 0; i < n; i++) {
        k = 0;

        for (j = 0; j < s[i].npending; j++) {
            if (s[i].pending[j].offset != offset) {
                s[i].pending[k++] = s[i].pending[j];
            }
        }

        while (s[i].npending > k) {
            memset(&s[i].pending[--s[i].npending], 0, sizeof(tc_pending_t));
        }
    }
}


static void
tc_said(tc_run_t *run, size_t offset)
{
    size_t  d;

    tc_unpend(run->set, run->n, offset);
    tc_unpend(run->more, run->nmore, offset);

    for (d = 0; d < run->depth; d++) {
        tc_unpend(run->saved[d], run->nsaved[d], offset);
    }
}


static void
tc_report(tc_run_t *run, size_t offset, int name_id, int kind,
    const unsigned char *tag, size_t tag_len, const char *attr,
    size_t attr_len)
{
    size_t                         i;
    const char                    *name;
    ngx_http_outage_tpl_finding_t  f;

    if (kind >= N_FIRST) {
        if (run->noted) {
            return;
        }

        run->noted = 1;

    } else {
        tc_said(run, offset);
        run->warnings++;
    }

    if (run->reports == TC_MAX_REPORTS || run->report == NULL) {
        return;
    }

    run->reports++;

    name = tc_field_names[name_id];

    memset(&f, 0, sizeof(f));
    f.offset = offset;
    f.line = 1;

    for (i = 0; i < offset && i < run->len; i++) {
        f.line += (run->tpl[i] == '\n');
    }

    f.name = (const unsigned char *) name;
    f.name_len = strlen(name);
    f.level = (kind >= N_FIRST) ? NGX_HTTP_OUTAGE_TPL_NOTE
                                : NGX_HTTP_OUTAGE_TPL_WARN;
    f.kind = kind;

    tc_why(f.why, kind, name, tag, tag_len, attr, attr_len);

    run->report(run->ctx, &f);
}


/* ---- the set of states ------------------------------------------------ */

static void
tc_add(tc_run_t *run, const tc_state_t *s)
{
    size_t       i;
    tc_state_t  *t;

    for (i = 0; i < run->n; i++) {
        t = &run->set[i];

        if (memcmp(t, s, offsetof(tc_state_t, known)) == 0) {
            /* the same markup both ways: what a section decided no
             * longer matters where the two ways disagree */
            t->known &= s->known & ~(t->value ^ s->value);
            t->value &= t->known;
            return;
        }
    }

    if (run->n == TC_STATES) {
        run->incomplete = 1;
        return;
    }

    memcpy(&run->set[run->n++], s, sizeof(tc_state_t));
}


static void
tc_dedup(tc_run_t *run)
{
    size_t  i, n;

    n = run->n;
    memcpy(run->scratch, run->set, n * sizeof(tc_state_t));
    run->n = 0;

    for (i = 0; i < n; i++) {
        tc_add(run, &run->scratch[i]);
    }
}


/* keeps the states on which a section's way is possible, and records it */

static size_t
tc_way(tc_state_t *dst, const tc_state_t *src, size_t n, int id, int shown)
{
    size_t    i, k;
    unsigned  bit;

    k = 0;

    for (i = 0; i < n; i++) {
        if (id >= 0) {
            bit = 1u << id;

            if ((src[i].known & bit) && !!(src[i].value & bit) != shown) {
                continue;
            }
        }

        memmove(&dst[k], &src[i], sizeof(tc_state_t));

        if (id >= 0) {
            dst[k].known |= 1u << id;
            dst[k].value = shown ? (dst[k].value | (1u << id))
                                 : (dst[k].value & ~(1u << id));
        }

        k++;
    }

    return k;
}


static int
tc_name_id(tc_run_t *run, const unsigned char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < run->nnames; i++) {
        if (run->name_lens[i] == len && memcmp(run->names[i], name, len) == 0)
        {
            return (int) i;
        }
    }

    if (run->nnames == TC_NAMES) {
        return -1;
    }

    run->names[run->nnames] = name;
    run->name_lens[run->nnames] = len;

    return (int) run->nnames++;
}


static void
tc_field(tc_run_t *run, size_t offset, const unsigned char *name, size_t len)
{
    size_t  i;
    int     name_id, kind, warn_kind, note_kind;
    size_t  warn_at, note_at;

    /* only Redis fields come here: the last one if none of the others */
    for (name_id = 0; name_id < (int) TC_FIELDS - 1; name_id++) {
        if (strlen(tc_field_names[name_id]) == len
            && memcmp(tc_field_names[name_id], name, len) == 0)
        {
            break;
        }
    }

    warn_kind = K_NONE;
    note_kind = K_NONE;
    warn_at = 0;
    note_at = 0;

    for (i = 0; i < run->n; i++) {
        kind = tc_judge(&run->set[i], name_id, offset);

        if (kind == K_NONE) {
            continue;
        }

        if (kind < N_FIRST) {
            if (warn_kind == K_NONE) {
                warn_kind = kind;
                warn_at = i;
            }

        } else if (note_kind == K_NONE) {
            note_kind = kind;
            note_at = i;
        }
    }

    if (warn_kind != K_NONE) {
        tc_report_state(run, offset, name_id, warn_kind, &run->set[warn_at]);

    } else if (run->incomplete) {
        /* a dropped way may have warned: never say anything else */
        tc_report(run, offset, name_id, N_STATES, NULL, 0, "", 0);

    } else if (note_kind != K_NONE) {
        if (note_kind == N_PARTIAL) {
            tc_report(run, offset, name_id, note_kind,
                      run->set[note_at].raw, run->set[note_at].raw_len,
                      "", 0);
        } else {
            tc_report_state(run, offset, name_id, note_kind,
                            &run->set[note_at]);
        }

    }
}


/* the ways the last byte or placeholder added join the set */

static void
tc_join(tc_run_t *run)
{
    size_t  i;

    for (i = 0; i < run->nmore; i++) {
        tc_add(run, &run->more[i]);
    }

    run->nmore = 0;
}


size_t
ngx_http_outage_tpl_contexts(ngx_http_outage_tpl_work_t *run,
    const unsigned char *tpl, size_t len,
    ngx_http_outage_tpl_report_pt report, void *ctx)
{
    int                        id;
    size_t                     p, i, n;
    tc_pending_t               pd;
    ngx_http_outage_tpl_tag_t  tag;

    if (tpl == NULL || run == NULL) {
        return 0;
    }

    memset(run, 0, offsetof(tc_run_t, saved));
    run->tpl = tpl;
    run->len = len;
    run->report = report;
    run->ctx = ctx;
    run->n = 1;
    run->set[0].attr_id = -1;

    p = 0;

    while (p < len) {
        if (tpl[p] == '{' && ngx_http_outage_tpl_tag(tpl, p, len, &tag)) {

            switch (tag.kind) {

            case NGX_HTTP_OUTAGE_TAG_VAR:
                if (ngx_http_outage_tpl_untrusted(tpl + tag.name,
                                                  tag.name_len))
                {
                    tc_field(run, p, tpl + tag.name, tag.name_len);
                }

                /* module HTML ({{components|raw}}) is whole elements */
                if (!tag.raw) {
                    n = run->n;

                    for (i = 0; i < n; i++) {
                        tc_placeholder(run, &run->set[i]);
                    }

                    tc_join(run);
                }

                break;

            case NGX_HTTP_OUTAGE_TAG_OPEN:
            case NGX_HTTP_OUTAGE_TAG_INVERT:
                if (run->depth == NGX_HTTP_OUTAGE_TPL_DEPTH) {
                    return run->warnings;   /* tpl_check refuses it */
                }

                id = tc_name_id(run, tpl + tag.name, tag.name_len);
                i = (tag.kind == NGX_HTTP_OUTAGE_TAG_OPEN);

                run->nsaved[run->depth] = tc_way(run->saved[run->depth],
                                                 run->set, run->n, id, !i);
                run->n = tc_way(run->set, run->set, run->n, id, i);
                run->depth++;
                break;

            default:
                if (run->depth == 0) {
                    return run->warnings;
                }

                run->depth--;

                for (i = 0; i < run->nsaved[run->depth]; i++) {
                    tc_add(run, &run->saved[run->depth][i]);
                }

                if (run->n > 1) {
                    tc_dedup(run);
                }

                break;
            }

            p = tag.end;
            continue;
        }

        n = run->n;

        for (i = 0; i < n; i++) {
            tc_step(run, &run->set[i], tpl[p]);
        }

        tc_join(run);

        if (run->n > 1 && (tpl[p] == '>' || tc_space(tpl[p]))) {
            tc_dedup(run);
        }

        p++;
    }

    /*
     * A tag left open is closed by the page after the banner: what waited
     * for the rest of it may be so.  Each report takes its field out of
     * every way (tc_said), so the list shrinks under the loop.
     */
    for (i = 0; i < run->n; i++) {
        while (run->set[i].npending) {
            pd = run->set[i].pending[0];
            tc_report(run, pd.offset, pd.name_id, pd.kind, run->set[i].tag,
                      run->set[i].tag_len, tc_attrs[pd.attr_id],
                      strlen(tc_attrs[pd.attr_id]));
        }
    }

    return run->warnings;
}
