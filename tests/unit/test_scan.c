
/*
 * tests/unit/test_scan.c: unit tests for the streaming insertion-point
 * scanner (ngx_outage_module/ngx_http_outage_scan.c).
 *
 * Each case is an HTML string in which "@@" marks the expected insertion
 * point right after the page's own <body> tag and "##" an insertion point
 * before a token that implies the body (the filter adds "<body>" there);
 * a case without a marker expects "no place" (NONE).  "%00" stands for a
 * NUL byte.  Expected points follow the HTML standard's tree construction
 * (browsers), also where html5lib 1.1, the oracle of tests/oracle, differs
 * (<template> in <head>).  Every case is fed in one piece, split in two at
 * every byte, in three at every pair of bytes (short inputs), and byte by
 * byte with empty chunks in between: the decision must always be the same,
 * and the held bytes must be the last bytes fed.
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -Ingx_outage_module \
 *        tests/unit/test_scan.c ngx_outage_module/ngx_http_outage_scan.c
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_scan.h"


#define TEST_MAX_INPUT  4096
#define TEST_NONE       (-1)


typedef struct {
    const char  *name;
    const char  *html;
} test_case_t;


static const test_case_t  test_cases[] = {

    /* rule 1: the real <body> start tag */

    { "plain body",
      "<html><head></head><body>@@<p>x</p></body></html>" },
    { "body is the whole input",
      "<body>@@" },
    { "uppercase BODY",
      "<HTML><HEAD></HEAD><BODY>@@text" },
    { "mixed case Body with attribute",
      "<html><Body class=\"main\">@@" },
    { "attributes with > inside double and single quotes",
      "<body onload=\"if (a > b) go()\" data-x='>' data-y=\"'>'\">@@hi" },
    { "unquoted attribute values",
      "<body class=a data-x=b id=c>@@" },
    { "spaces around = and before >",
      "<body class = \"x>y\"  id =  'z' >@@" },
    { "quote inside unquoted value does not open a string",
      "<body data-a=x\"y>@@ \">" },
    { "quote inside attribute name does not open a string",
      "<body a\"b='>'>@@" },
    { "quoted value followed directly by another attribute",
      "<body a='x'b=\"y>\">@@" },
    { "attribute without value then >",
      "<body hidden>@@" },
    { "attribute = then > (missing value)",
      "<body a=>@@" },
    { "self-closing <body/>",
      "<html><body/>@@<p>" },
    { "whitespace after name: newline, tab, CR, FF",
      "<body\r\n\tclass=x\f>@@" },
    { "BOM and doctype first",
      "\xEF\xBB\xBF<!DOCTYPE html>\n<html><head><meta charset=utf-8></head>"
      "<body>@@" },
    { "XHTML doctype with identifiers",
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
      "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">"
      "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body>@@" },
    { "double <: the first is text, which implies the body",
      "##<<body>" },
    { "< followed by space is text",
      "##a < body> b<body>" },
    { "end tag </body> before <body> implies the body",
      "<head></head>##</body><body>" },
    { "slash then space between attributes",
      "<body / x>@@" },
    { "slash right after attribute name, value, and space",
      "<body a/ b=\"x\"/ c />@@" },

    /* rule 2: constructs that must not fool it */

    { "body in a comment",
      "<!-- <body> --><body id=real>@@" },
    { "comment with dashes inside",
      "<!-- -- -> <body> - --><body>@@" },
    { "empty comment <!-->",
      "<!--><body>@@" },
    { "empty comment <!--->",
      "<!---><body>@@" },
    { "comment closed by --!>",
      "<!-- a <body> --!><body>@@" },
    { "comment closed by ---->",
      "<!-- <body> ----><body>@@" },
    { "comment <!----> and <!---x-->",
      "<!----><!---x <body> --><body>@@" },
    { "--!- and --!x do not close a comment",
      "<!-- a --!-><body> --!x <body> --><body>@@" },
    { "nested-looking comment ends at the first -->",
      "<!-- <!-- <body> --><body>@@ -->" },
    { "<!- is a bogus comment ending at >",
      "<!-x <body><body>@@" },
    { "downlevel-revealed conditional comment",
      "<![if !IE]><body>@@<![endif]>" },
    { "IE conditional comment",
      "<!--[if lt IE 9]><body class=ie><![endif]--><!--[if !IE]>--><body>@@" },
    { "processing instructions",
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><?php x ?><body>@@" },
    { "bogus end tag </ body>",
      "</ body><body>@@" },
    { "empty end tag </>",
      "</><body>@@" },
    { "body in a script string",
      "<head><script>var s = \"<body>\"; if (a<b) x();</script></head>"
      "<body>@@" },
    { "</script > with a space",
      "<script>a</script ><body>@@" },
    { "</SCRIPT> uppercase",
      "<SCRIPT>a<body></SCRIPT><body>@@" },
    { "</script/> and </script\\n>",
      "<script>a</script/><script><body></script\n><body>@@" },
    { "</scripty> does not end the script",
      "<script>a</scripty><body>b</script><body>@@" },
    { "</script-> does not end the script",
      "<script>a</script-><body></script><body>@@" },
    { "</titlex> and </tit< do not end a title",
      "<title>a</titlex><body></tit<body></title><body>@@" },
    { "<!x and <!-x in a script are not escapes",
      "<script><!x <!-x </script><body>@@" },
    { "escaped script: </scriptx> and <1 are text",
      "<script><!-- </scriptx> <1 <body> </script><body>@@" },
    { "double escaped script: <x is text",
      "<script><!--<script><x </script --></script><body>@@" },
    { "partial </scr< inside script",
      "<script>a</scr</script><body>@@" },
    { "end tag with quoted > in attribute",
      "<script>a</script x=\">\"><body>@@" },
    { "script with <!-- but no nested script",
      "<script><!-- x <body> </script><body>@@" },
    { "script <!--> is closed at once",
      "<script><!--></script><body>@@" },
    { "document.write of a nested script",
      "<script><!-- document.write(\"<script>x</script><body>\"); -->"
      "</script><body>@@" },
    { "double escape left by -->",
      "<script><!--<script>--></script><body>@@" },
    { "double escape with <scripts> is not a nested script",
      "<script><!--<scripts></script><body>@@" },
    { "double escape, nested script closed then real end",
      "<script><!--<script x></SCRIPT><body>--></script ><body>@@" },
    { "style hides body",
      "<style>body:after { content: \"<body>\" }</style><body>@@" },
    { "style is not script: <!-- has no effect",
      "<style><!-- </style><body>@@" },
    { "title hides body",
      "<head><title><body></title></head><body>@@" },
    { "TITLE uppercase end tag",
      "<TITLE>a</Title><body>@@" },
    { "noframes in head hides body",
      "<head><noframes><body></noframes></head><body>@@" },
    { "template contents are never the insertion point",
      "<head><template><div><body></div></template></head><body>@@" },
    { "nested template",
      "<head><template><template><p></template><p></template><body>@@" },
    { "template hides </template> inside a script",
      "<template><script>\"</template><p>\"</script></template><body>@@" },
    { "noscript in head: its img is not the body",
      "<head><noscript><img src=x></noscript></head><body class=x>@@" },

    /* rule 3: before the first token that implies <body> */

    { "implied: div after head",
      "<html><head><title>x</title></head>##<div id=a>hi" },
    { "implied: img among head elements",
      "<html><head><meta charset=utf-8><link rel=x href=y>##<img src=a>" },
    { "implied: text before any tag",
      "##hello <b>world</b>" },
    { "implied: whitespace stays, text implies",
      " \r\n\t\f##x" },
    { "implied: custom element",
      "##<my-app>" },
    { "implied: <bodyx> is not body but starts the body",
      "<head><meta x>##<bodyx><body>" },
    { "implied: <scriptx> is not a script",
      "<head>##<scriptx></script><body>" },
    { "implied: quoted > in the implying tag",
      "<head></head>##<div a=\">\" >" },
    { "link after </head> stays in head",
      "<head></head><link rel=x><body>@@" },
    { "script after </head> stays in head",
      "<head></head><script>a</script><body>@@" },
    { "template after </head> stays in head",
      "<head></head><template><p><body></template><body>@@" },
    { "implied: textarea, before its leading newline",
      "<head>##<textarea>\n<body></textarea><body>" },
    { "implied: pre keeps its leading newline",
      "##<pre>\nx</pre>" },
    { "implied: iframe",
      "<head>##<iframe src=x><body></iframe><p>" },
    { "implied: xmp",
      "##<xmp><body></xmp ><body>" },
    { "implied: noembed",
      "##<noembed><body></noembed>" },
    { "implied: noscript after </head>",
      "<head></head>##<noscript><img></noscript><div>" },
    { "noscript in head is text",
      "<head><noscript><p></noscript>##<p>" },
    { "implied: </head> inside template does not count",
      "<template></head></template><link rel=x>##<p>" },
    { "implied: end tag with attributes </head x='>'>",
      "<head></head x='>'>##<p>" },
    { "implied: p before a second p (no banner inside the first)",
      "##<p>Para one<p>Two" },
    { "implied: svg",
      "<head></head>##<svg><style>a</style></svg>" },
    { "implied: math",
      "##<math><mi>x</mi></math>" },
    { "implied: select",
      "##<select><option>a</select>" },
    { "implied: a link (no nested link)",
      "##<a href=/>home</a>" },
    { "implied: plaintext",
      "##<plaintext><body></plaintext><body>" },
    { "implied: </br> is a br",
      "<head></head>##</br>" },
    { "implied: </body>",
      "##</body>x" },
    { "implied: </html>",
      "<!DOCTYPE html><html><head><title>t</title><meta a=b></head>##</html>" },
    { "other end tags are ignored",
      "</p></div></template></head>##<p>" },
    { "implied: lone <",
      "##<" },
    { "implied: < then space",
      "##< x" },
    { "implied: a long unknown name",
      "##<abcdefghijklmnopqrstuvwxyz>" },
    { "long unknown end tag is ignored",
      "</abcdefghijklmnopqrstuvwxyz><body>@@" },
    { "implied: NUL after the first bytes",
      "<html>##%00" },
    { "implied: a non-ASCII character",
      "<head>##\xc3\xa9" },
    { "implied: &amp;",
      "<head>##&amp;" },
    { "implied: &#65;",
      "##&#65;" },
    { "implied: &#; and &#x; are text",
      "##&#;" },
    { "implied: &Tabx is text",
      "##&Tabx" },
    { "whitespace character references stay in head",
      "<head>&#32;&#x20;&#X0a;&#9&#13;&#12;&Tab;&NewLine;<link>##<p>" },
    { "whitespace reference without semicolon before a tag",
      "&#32<body>@@" },
    { "implied: frameset-ok text after the references",
      "&#32;##x" },
    { "CDATA outside svg is a bogus comment",
      "<![CDATA[ <body> ##]]>" },
    { "template: svg style is not raw text",
      "<template><svg><style></template>##<p>x" },
    { "template: CDATA in svg hides </template>",
      "<template><svg><![CDATA[</template>]]></svg></template>##<p>" },
    { "template: html breaks out of svg",
      "<template><svg><p><style></template></style></template>##<p>" },
    { "template: self-closing svg does not open foreign content",
      "<template><svg/><style></template></style></template>##<p>" },
    { "template: textarea is raw",
      "<template><textarea></template></textarea></template>##<p>" },

    /* rule 4: where no place exists, no banner */

    { "empty input",
      "" },
    { "frameset",
      "<html><head></head><frameset><frame></frameset>" },
    { "frameset after comments",
      "<!-- x --><frameset>" },
    { "unterminated comment",
      "<!-- <body>" },
    { "unterminated script",
      "<script><body>" },
    { "unterminated title",
      "<title>x" },
    { "unterminated body tag",
      "<body class=\"x>" },
    { "unterminated attribute of a head element",
      "<meta content='x" },
    { "unterminated end tag of a title",
      "<title>x</title" },
    { "unclosed noscript",
      "<noscript><body>" },
    { "unclosed template",
      "<template><p>x" },
    { "plaintext in a template",
      "<template><plaintext></template><p>" },
    { "PNG",
      "\x89PNG\r\n\x1a\n" },
    { "gzip",
      "\x1f\x8b\x08\x00" },
    { "UTF-16LE BOM",
      "\xff\xfe<%00h%00" },
    { "UTF-16BE BOM",
      "\xfe\xff%00<%00h" },
    { "UTF-16 without BOM",
      "<%00p%00>%00" },
    { "NUL first",
      "%00<p>" },
    { "a character reference too long to hold",
      "<head>&#000000000000000000000000000000000000000032;x" },
    { "UTF-8 BOM is skipped",
      "\xef\xbb\xbf##x" },
    { "a cut-off tag at the end",
      "<head>##<p class" },
    { "end of a head: an empty body is created",
      "<head><title>t</title>\n##" },
    { "binary without < (from fuzzing)",
      "##\xea\xea\xea\xea\xea(\xff\xff\xf5\xf5=\xf5~\xf5\xdf\xff" },

    /*
     * The fast paths (tags before <body>, raw text and script ends): one
     * shot takes them, splits and byte by byte take the state machine;
     * test_case() requires the same answer from all.
     */

    { "fast: > inside quoted values of head tags",
      "<head><meta content=\"a>b\"><link href='x>y' rel=\"s\"></head>##text" },
    { "fast: an attribute name starting with = and a quote",
      "<head><meta =\"x>##y\">" },
    { "fast: a name right after a quoted value",
      "<head><meta a=\"b\"c='>'>\n##<p>" },
    { "fast: unquoted value with a quote in it",
      "<head><meta a=b\"c>##text\">" },
    { "fast: slash then space then = starts a name",
      "<head><meta a/ =\">##\">" },
    { "fast: self-closing and slashes between attributes",
      "<head><meta/ name=\"a\"/><link rel=\"x\" / href=\"y\"/>##<p>" },
    { "fast: names with - : and digits, long words",
      "<head><meta http-equiv=\"x\" xml:lang=\"en\" "
      "data-a-b-c-d-e-f-g-h=\"1\" aria-describedby2345678=\"2\">##text" },
    { "fast: every whitespace between attributes",
      "<head><meta\ta\n=\r\"1\"\fb = '2'\n\n>\n\t##x" },
    { "fast: style ends only at its own end tag",
      "<head><style>a</styles>p</stylex >q</style >\n<style>r{}</STYLE>"
      "<title>t</TITLE foo></head>##<p>" },
    { "fast: script ends only at its own end tag",
      "<head><script>if (a<b) x = \"</scriptx>\";</script >"
      "<script>a</SCRIPT\t><script></script></head>##<p>" },
    { "fast: script escape after a fast skip",
      "<head><script>x<y;<!--<script>a</script>b--></script>"
      "</head>##<p>" },
    { "fast: end tags before the body",
      "<head></head >\n<meta>##</body>x" },
    { "fast: </HEAD> read by the name switch, then <noscript> implies body",
      "<head><title>t</title><meta charset=\"utf-8\"></HEAD>\n"
      "##<noscript>x</noscript>" },
    { "fast: 0x0F | 0x20 is \"/\": <\\x0Fhead> is text, no end tag",
      "<html><head>\n##<\x0F" "head>\n<title>t</title></head><body>x" },
    { "fast: <\\x0Fhead> before a frameset still is text",
      "<html><head>\n##<\x0F" "head>\n<frameset><frame src=a></frameset>" },
    { "fast: names close to head elements imply the body",
      "<head><basefont><bgsound><noframes></noframes>##<nofram>" },
    { "fast: template after tags",
      "<head><meta a=\"1\"><template><p></template><link>##text" },
    { "fast: a name longer than any element",
      "<head><link>##<metadataextensionelement a=\"1\">" },
    { "fast: a mixed-case name that is not an element",
      "<head><META><mEtA>##<meTb>" },
    { "fast: body with attributes after head tags",
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>t</title>"
      "<link rel=\"icon\" href=\"/f.ico\"></head>\n"
      "<body class=\"a b\" data-x='>'>@@<p>" },
    { "fast: frameset after head tags",
      "<head><meta a=\"1\"></head><frameset>" },
    { "fast: noscript after head",
      "<head></head><link>##<noscript>x</noscript>" },

    /* the search for the next "=" or ">" in the name states */

    { "fast: = right after a quoted value starts a name",
      "<head><meta a=\"b\"=\"c>##\">" },
    { "fast: / then = starts a name",
      "<head><meta a/=\"x>##\">" },
    { "fast: = and a quote inside an unquoted value",
      "<head><meta a=b=\"c>##d\">" },
    { "fast: an unquoted value, then a quoted one",
      "<head><meta a=b c=\">\" d=e>\n<link x=y>##z" },
    { "fast: < and ? in attribute names",
      "<head><meta a<b?c=\">\" d?=\"1\" <=\">\">##x" },
    { "fast: values across 16-byte steps and longer than 64 bytes",
      "<head><meta content=\"0123456789abcde>\" b=\"0123456789abcdef\" "
      "c='0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      "0123456789>abcdef'><link href=\"0123456789abcdef0123456789abcdef"
      "0123456789abcdef0123456789abcdef0123456789abcdef\">##x" },
    { "fast: a name of 15 bytes then = at a 16-byte step",
      "<head><meta abcdefghijklmno=\"x\" abcdefghijklmnopqrstuvwxyzabcde=1>"
      "##x" },

    /* the head fast path: every token it reads inline, and its edges */

    { "head: comments of every shape between head tags",
      "<head><!----><!-- a -- b --><!-- x --!><!---><!-- <!-- -->\n"
      "<meta a=\"b\">##x" },
    { "head: a comment open to the end of the stream",
      "<head><meta a=\"b\"><!-- x" },
    { "head: doctype, bogus comments and CDATA outside foreign content",
      "<!DOCTYPE html><!x><!-y><!-><![CDATA[ z ]]><head>##<p>" },
    { "head: a quote in a name, then a value holding >",
      "<head><meta b\"c=\"d>e\"><link rel='x>y'>##<p>" },
    { "head: = right after a quoted value starts a name, > ends it",
      "<head><meta a=\"x\"=\"y>##z\"><p>" },
    { "head: an unquoted value holding a quote",
      "<head><meta a=b\"c d=\"e>f\">##g" },
    { "head: names in upper and mixed case",
      "<HEAD><META charset=utf-8><Link rel=x><SCRIPT>a<b</SCRIPT>"
      "<TiTlE>t</tItLe><STYLE>p{}</STYLE></HEAD>##x" },
    { "head: longer names that start like head elements are other tags",
      "<head><link>##<metadata>" },
    { "head: <scripts> is another tag",
      "<head><meta charset=utf-8>##<scripts>" },
    { "head: <bodyx> implies the body, <body> does not",
      "<html><head></head>##<bodyx><body>" },
    { "head: a value ending the tag at the last byte",
      "<head><meta a=\"b\">##" },
    { "head: a script with an escape and a nested script",
      "<head><script><!--<script>x</script>--></script><meta a=\"b\">##x" },
    /*
     * ISO-2022-JP (R2 L1 of the issue audit): an ESC byte before the place
     * gives none, wherever it is (in a value, a title, a script, a
     * comment, text); after the place, or at it, it changes nothing
     */

    { "esc: ISO-2022-JP title in <head>",
      "<html><head><title>\x1b$B$3$s$K$A$O\x1b(B</title></head><body>x" },
    { "esc: in an attribute value",
      "<head><meta name=\"d\" content=\"\x1b$B<body>\x1b(B\"><body>x" },
    { "esc: in a script",
      "<head><script>var a = '\x1b$B';</script></head><body>x" },
    { "esc: in a comment",
      "<!-- \x1b$B --><html><head></head><body>x" },
    { "esc: in an unquoted value",
      "<head><link rel=a\x1b" "b href=/x.css><body>x" },
    { "esc: in the text that implies the body, after the place",
      "<head><meta a=\"b\">##x\x1b$B" },
    { "esc: after a held '&': text, the place is before it",
      "<head>##&\x1bx" },
    { "esc: before a held '&'",
      "<head><!--\x1b-->&x" },
    { "esc: text itself: the place is before it",
      "<head>##\x1b&x" },
    { "esc: at the very start is at the place",
      "##\x1b$B<body>x" },
    { "esc: right after the page's <body>",
      "<head></head><body>@@\x1b$B$3$s\x1b(B" },
    { "esc: in the text that implies the body",
      "<head><title>t</title>##<p>\x1b$B</p>" },
    { "esc: in a held tag name after the place",
      "<head>##<di\x1bv>" },
};


static int  test_failed;


static void
test_fail(const char *name, const char *what, long expected, long got)
{
    printf("FAIL %s: %s: expected %ld, got %ld\n", name, what, expected, got);
    test_failed = 1;
}


/*
 * Feeds buf split at the given cut points and returns 2 * the absolute
 * insertion position (+ 1 when implied), or TEST_NONE.  Also checks the API
 * contract: held bytes, a hit within the held bytes and the chunk, and a
 * decision that sticks.
 */
static long
test_run(const char *name, const unsigned char *buf, size_t len,
    const size_t *cuts, size_t ncuts, int empty)
{
    int                      rc;
    long                     got;
    size_t                   k, from, to, held;
    ngx_http_outage_scan_t   s;

    ngx_http_outage_scan_init(&s);

    rc = NGX_HTTP_OUTAGE_SCAN_MORE;
    from = 0;
    held = 0;

    for (k = 0; k <= ncuts && rc == NGX_HTTP_OUTAGE_SCAN_MORE; k++) {
        to = (k < ncuts) ? cuts[k] : len;

        if (empty) {
            rc = ngx_http_outage_scan_feed(&s, buf + from, 0);
            if (rc != NGX_HTTP_OUTAGE_SCAN_MORE || s.nhold != held) {
                test_fail(name, "empty chunk changed something", held,
                          (long) s.nhold);
            }
        }

        rc = ngx_http_outage_scan_feed(&s, buf + from, to - from);

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
            if (s.nhold > to || s.nhold > NGX_HTTP_OUTAGE_SCAN_HOLD
                || memcmp(s.hold, buf + to - s.nhold, s.nhold) != 0)
            {
                test_fail(name, "held bytes are not the last ones", 0,
                          (long) s.nhold);
            }

            held = s.nhold;

        } else if (rc == NGX_HTTP_OUTAGE_SCAN_HIT) {
            if (s.hit < (off_t) (from - held) || s.hit > (off_t) to) {
                test_fail(name, "hit outside held bytes and chunk",
                          (long) from, (long) s.hit);
            }
        }

        from = to;
    }

    if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
        rc = ngx_http_outage_scan_finish(&s);

        if (rc == NGX_HTTP_OUTAGE_SCAN_HIT
            && s.hit < (off_t) (len - held))
        {
            test_fail(name, "final hit before the held bytes",
                      (long) (len - held), (long) s.hit);
        }
    }

    if (!s.done || ngx_http_outage_scan_finish(&s) != rc
        || ngx_http_outage_scan_feed(&s, NULL, 1000) != rc)
    {
        test_fail(name, "decision does not stick", rc, (long) s.result);
    }

    if (rc == NGX_HTTP_OUTAGE_SCAN_HIT) {
        got = (long) s.hit * 2 + (s.implied ? 1 : 0);

    } else if (rc == NGX_HTTP_OUTAGE_SCAN_NONE) {
        got = TEST_NONE;

    } else {
        test_fail(name, "finish returned MORE", TEST_NONE, rc);
        got = -2;
    }

    return got;
}


static int
test_case(const test_case_t *t)
{
    char            what[64];
    long            expected, got;
    size_t          len, i, j, n, cuts[TEST_MAX_INPUT];
    const char     *h;
    unsigned char   buf[TEST_MAX_INPUT];

    test_failed = 0;

    if (strlen(t->html) >= TEST_MAX_INPUT) {
        test_fail(t->name, "input too long", TEST_MAX_INPUT,
                  (long) strlen(t->html));
        return 0;
    }

    expected = TEST_NONE;
    len = 0;

    for (h = t->html; *h; ) {
        if (h[0] == '@' && h[1] == '@') {
            expected = (long) len * 2;
            h += 2;

        } else if (h[0] == '#' && h[1] == '#') {
            expected = (long) len * 2 + 1;
            h += 2;

        } else if (strncmp(h, "%00", 3) == 0) {
            buf[len++] = '\0';
            h += 3;

        } else {
            buf[len++] = (unsigned char) *h++;
        }
    }

    got = test_run(t->name, buf, len, NULL, 0, 0);
    if (got != expected) {
        test_fail(t->name, "one shot", expected, got);
    }

    for (i = 0; i <= len && !test_failed; i++) {
        cuts[0] = i;
        got = test_run(t->name, buf, len, cuts, 1, 0);
        if (got != expected) {
            snprintf(what, sizeof(what), "split at %lu", (unsigned long) i);
            test_fail(t->name, what, expected, got);
        }
    }

    for (i = 0; i <= len && len <= 200 && !test_failed; i++) {
        for (j = i; j <= len && !test_failed; j++) {
            cuts[0] = i;
            cuts[1] = j;
            got = test_run(t->name, buf, len, cuts, 2, 0);
            if (got != expected) {
                snprintf(what, sizeof(what), "split at %lu and %lu",
                         (unsigned long) i, (unsigned long) j);
                test_fail(t->name, what, expected, got);
            }
        }
    }

    n = 0;
    for (i = 0; i < len; i++) {
        cuts[n++] = i + 1;
    }

    got = test_run(t->name, buf, len, cuts, n, 1);
    if (got != expected) {
        test_fail(t->name, "byte by byte", expected, got);
    }

    return !test_failed;
}


/*
 * A quote, '=' or '>' of a tag at each offset around the 512 bytes the
 * head fast path re-reads of a tag cut by the end of a buffer (review s6/E)
 */

static int
test_reread_limit(void)
{
    int          ok;
    size_t       n, i;
    test_case_t  t;
    static char  html[1024];

    ok = 1;

    for (n = 500; n <= 520; n++) {
        for (i = 0; i < 2; i++) {
            if (i == 0) {
                /* the closing quote of a value near the limit */
                memcpy(html, "<meta a=\"", 9);
                memset(html + 9, 'x', n);
                strcpy(html + 9 + n, "\"><body>@@");
                t.name = "reread: a long value";

            } else {
                /* '=' and a quoted '>' after a long name */
                memcpy(html, "<meta ", 6);
                memset(html + 6, 'a', n);
                strcpy(html + 6 + n, "=\">\"><body>@@");
                t.name = "reread: a long name, then a quoted >";
            }

            t.html = html;

            if (!test_case(&t)) {
                printf("  (at n = %lu)\n", (unsigned long) n);
                ok = 0;
            }
        }
    }

    return ok;
}


/*
 * The AVX2 reading of a run of <meta>s and <link>s against the searches
 * (ngx_http_outage_scan_use_avx2(0)) on generated hostile tags after
 * three plain ones: quotes of both kinds, "=" in every position, ">"
 * inside values, "/", whitespace runs, values across 64-byte blocks and
 * past the 512-byte limit, fed whole and split at every point (the tags
 * cross the end of the buffer).  Same decision and position everywhere.
 * Deterministic (a fixed xorshift seed); on a build or CPU without AVX2
 * both sides are the searches and it checks splits only.
 */

static uint32_t
test_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;

    return *x;
}


static size_t
test_hostile_doc(uint32_t *x, unsigned char *buf, size_t size)
{
    size_t       len, n, ntags, t, k, npieces;
    const char  *piece;
    static char  lng[600];

    static const char  *pieces[] = {
        "a", "b=\"x\"", "c='y'", "d=e", "f =\"z\"", " = \"z\"", "=\"w\"",
        "\"", "'", ">", "/", " ", "\n", "\t", "=", "\"x>y\"", "g=h=\"x>y\"",
        "i=\"x\"=\"y\"", "j=\"a'b\"", "k=\"<>\"", "\x01", "<", "l/=\"m\"",
        "o=\"\"", "p=\"=\"", "q=\"\"\"", "r=\"a\" s=\"b\"", "t\"=\"u\"",
        "v='x>y'", "w=\"x\"/", "content=\"width=device-width, initial-scale=1\"",
        "y=\"\xc3\xa9\"", "z=\"\n\"", "A=\"B\"\"", "=", "\"=\"", "x='",
        "a= \"x>y\"", "a=\t'x>y'", "a=\n\"x\"", "href=/a.css", "u=x>y",
        "rel=stylesheet", "v=a'b", "w=a\"b", "x=\x01>", "y=\f\"z\"",
        "c='x\"y'", "d='>'", "e=\"\r\n\"", "\f", "\r\n",
        NULL, NULL
    };

    static const char  *seps[] = { "", " ", "\n", "/", "  ", " /", "\t",
                                   "\r\n", "\f" };
    static const char  *gaps[] = { "", "\n", " \n", "\n\n", "<!---->",
                                   "\r\n", "\t", "\n    ", "\f",
                                   "\r\n\t\t", "\n                    "
                                   "                        ", "\n/", " x" };

    if (lng[0] == '\0') {
        memcpy(lng, "m=\"", 3);
        memset(lng + 3, 'x', 560);
        strcpy(lng + 563, "\"");
    }

    /* a value across blocks, and one past the 512-byte limit */
    pieces[sizeof(pieces) / sizeof(pieces[0]) - 2] = "n=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx>\"";
    pieces[sizeof(pieces) / sizeof(pieces[0]) - 1] = lng;

    len = 0;

#define test_put(str)                                                         \
    do {                                                                      \
        piece = (str);                                                        \
        n = strlen(piece);                                                    \
        if (len + n > size) {                                                 \
            return 0;                                                         \
        }                                                                     \
        memcpy(buf + len, piece, n);                                          \
        len += n;                                                             \
    } while (0)

    test_put("<head>");
    test_put(gaps[test_rand(x) % 13]);
    test_put("<meta a=\"1\">");
    test_put(gaps[test_rand(x) % 13]);
    test_put("<link b=\"2\">");
    test_put(gaps[test_rand(x) % 13]);
    test_put("<meta c=\"3\">");

    ntags = 1 + test_rand(x) % 8;

    for (t = 0; t < ntags; t++) {
        test_put(gaps[test_rand(x) % 13]);
        test_put((test_rand(x) & 1) ? "<meta " : "<LINK ");

        npieces = test_rand(x) % 7;

        for (k = 0; k < npieces; k++) {
            test_put(pieces[test_rand(x)
                            % (sizeof(pieces) / sizeof(pieces[0])
                               - ((test_rand(x) & 15) ? 1 : 0))]);
            test_put(seps[test_rand(x) % 9]);
        }

        test_put(">");
    }

    test_put(gaps[test_rand(x) % 13]);
    test_put((test_rand(x) & 1) ? "<body class=\"x\">" : "text");

    /* enough after it for a block of 64 bytes from any tag */
    test_put("<p>yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy</p>");

#undef test_put

    return len;
}


static int
test_masks_differential(void)
{
    int            ok;
    long           ref, got;
    size_t         len, i, doc, cut;
    uint32_t       x;
    unsigned char  buf[TEST_MAX_INPUT];
    static size_t  bytes[TEST_MAX_INPUT];

    ok = 1;
    x = 0x9e3779b9;

    for (i = 0; i < TEST_MAX_INPUT; i++) {
        bytes[i] = i + 1;
    }

    for (doc = 0; doc < 1000 && ok; doc++) {
        len = test_hostile_doc(&x, buf, sizeof(buf));
        if (len == 0) {
            continue;
        }

        test_failed = 0;

        (void) ngx_http_outage_scan_use_avx2(0);
        ref = test_run("masks: searches", buf, len, NULL, 0, 0);

        /* the searches against the state machine alone (byte by byte) */
        got = test_run("masks: bytes", buf, len, bytes, len - 1, 0);

        if (got != ref || test_failed) {
            printf("FAIL masks differential: doc %lu: searches %ld,"
                   " byte by byte %ld\n%.*s\n", (unsigned long) doc, ref,
                   got, (int) len, buf);
            ok = 0;
            break;
        }

        (void) ngx_http_outage_scan_use_avx2(1);

        for (i = 0; i <= len; i++) {
            /* i == len: whole; otherwise split at i */
            cut = i;
            got = test_run("masks: avx2", buf, len, &cut, i < len ? 1 : 0, 0);

            if (got != ref || test_failed) {
                printf("FAIL masks differential: doc %lu split %lu:"
                       " searches %ld, avx2 %ld\n%.*s\n",
                       (unsigned long) doc, (unsigned long) i, ref, got,
                       (int) len, buf);
                ok = 0;
                break;
            }
        }
    }

    /*
     * each shape with its "=" or quote at every offset of the first two
     * blocks (the 64-byte blocks start at the fourth tag's attributes):
     * the carries from one block to the next
     */

    for (doc = 0; doc < 8 * 140 && ok; doc++) {
        static const char  *tails[] = {
            "=b=\"x>y\">", "=\"x>y\">", "= \"x>y\">", "=\"x\"=\"y>z\">",
            "\"=\"x>y\">", "/=\"x>y\">", " =\"x>y\">", "=\"x\" b=\"y\">"
        };

        len = (size_t) snprintf((char *) buf, sizeof(buf),
                                "<meta a=\"1\">\n<link b=\"2\">\n<meta c=\"3\">"
                                "\n<meta %.*s%sq<body>%s", (int) (doc / 8),
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                tails[doc % 8],
                                "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
                                "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");

        test_failed = 0;

        (void) ngx_http_outage_scan_use_avx2(0);
        ref = test_run("masks: searches", buf, len, NULL, 0, 0);

        (void) ngx_http_outage_scan_use_avx2(1);

        for (i = 0; i <= len; i += (i < len - 80) ? 7 : 1) {
            cut = i;
            got = test_run("masks: avx2", buf, len, &cut, i < len ? 1 : 0, 0);

            if (got != ref || test_failed) {
                printf("FAIL masks differential: offset %lu split %lu:"
                       " searches %ld, avx2 %ld\n%.*s\n",
                       (unsigned long) doc / 8, (unsigned long) i, ref, got,
                       (int) len, buf);
                ok = 0;
                break;
            }
        }
    }

    (void) ngx_http_outage_scan_use_avx2(1);

    return ok;
}


/* bounded state: a huge attribute value and a huge comment */

static int
test_long_input(void)
{
    long            got, expected;
    size_t          len, n, i, cuts[3];
    unsigned char  *buf;
    const char     *head = "<!-- ", *mid = " --><body data-x=\"";
    const char     *tail = "\">";

    test_failed = 0;
    n = 1024 * 1024;
    len = strlen(head) + n + strlen(mid) + n + strlen(tail);

    buf = malloc(len);
    if (buf == NULL) {
        test_fail("long input", "malloc", 0, 0);
        return 0;
    }

    i = 0;
    memcpy(buf + i, head, strlen(head));
    i += strlen(head);

    /* "<body>-" repeated: every byte a comment could trip on */
    for (n = 0; n < 1024 * 1024; n++) {
        buf[i++] = (unsigned char) "<body>-"[n % 7];
    }

    memcpy(buf + i, mid, strlen(mid));
    i += strlen(mid);

    for (n = 0; n < 1024 * 1024; n++) {
        buf[i++] = (unsigned char) "<body>'"[n % 7];
    }

    memcpy(buf + i, tail, strlen(tail));
    expected = (long) len * 2;

    got = test_run("long input", buf, len, NULL, 0, 0);
    if (got != expected) {
        test_fail("long input", "one shot", expected, got);
    }

    cuts[0] = 7;
    cuts[1] = len / 2;
    cuts[2] = len - 1;
    got = test_run("long input", buf, len, cuts, 3, 1);
    if (got != expected) {
        test_fail("long input", "three chunks", expected, got);
    }

    for (i = 1; i < len; i += 4093) {
        cuts[0] = i;
        got = test_run("long input", buf, len, cuts, 1, 0);
        if (got != expected) {
            test_fail("long input", "split", expected, (long) i);
            break;
        }
    }

    free(buf);

    return !test_failed;
}


/* the scanner must not look at anything once the point is found */

static int
test_done_short_circuit(void)
{
    int                      rc;
    ngx_http_outage_scan_t   s;

    test_failed = 0;

    ngx_http_outage_scan_init(&s);

    rc = ngx_http_outage_scan_feed(&s, (const unsigned char *) "<body>", 6);
    if (rc != NGX_HTTP_OUTAGE_SCAN_HIT || s.hit != 6 || !s.done) {
        test_fail("done short circuit", "hit", 6, (long) s.hit);
    }

    /* a NULL pointer would crash if the scanner touched the data */
    rc = ngx_http_outage_scan_feed(&s, NULL, 1000);
    if (rc != NGX_HTTP_OUTAGE_SCAN_HIT) {
        test_fail("done short circuit", "feed after done", 1, (long) rc);
    }

    return !test_failed;
}


/*
 * A page served as UTF-8 (s->utf8, set by the filter from the response's
 * charset) is decoded as UTF-8 whatever its bytes: an ESC is text there
 * and changes no place; the same page without it gets none.
 */

/*
 * A UTF-8 BOM makes browsers decode the page as UTF-8 whatever its label
 * (WHATWG): an ESC after it is text, at every split, the BOM read in
 * pieces included (review s9/R4 F2).
 */

static int
test_esc_bom(void)
{
    int                     rc, ok;
    size_t                  i, j, len;
    ngx_http_outage_scan_t  s;

    static const char  doc[] =
        "\xEF\xBB\xBF<head><title>\x1b$B$3$s\x1b(B</title></head><body>x";

    ok = 1;
    len = sizeof(doc) - 1;

    for (i = 1; i <= len; i++) {
        ngx_http_outage_scan_init(&s);

        rc = NGX_HTTP_OUTAGE_SCAN_MORE;
        for (j = 0; j < len && rc == NGX_HTTP_OUTAGE_SCAN_MORE; j += i) {
            rc = ngx_http_outage_scan_feed(&s, (const unsigned char *) doc + j,
                                           (j + i <= len) ? i : len - j);
        }

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
            rc = ngx_http_outage_scan_finish(&s);
        }

        if (rc != NGX_HTTP_OUTAGE_SCAN_HIT || s.hit != (off_t) (len - 1)) {
            printf("FAIL esc bom: pieces of %lu: rc %d hit %ld\n",
                   (unsigned long) i, rc, (long) s.hit);
            ok = 0;
        }
    }

    return ok;
}


static int
test_esc_utf8(void)
{
    int                     rc, ok;
    size_t                  i, len;
    ngx_http_outage_scan_t  s;

    static const char  doc[] =
        "<head><title>\x1b$B$3$s\x1b(B</title></head><body>x";

    ok = 1;
    len = sizeof(doc) - 1;

    for (i = 1; i <= len; i++) {
        /* whole (i == len) and split at every byte */

        ngx_http_outage_scan_init(&s);
        s.utf8 = 1;

        rc = ngx_http_outage_scan_feed(&s, (const unsigned char *) doc, i);
        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE && i < len) {
            rc = ngx_http_outage_scan_feed(&s, (const unsigned char *) doc + i,
                                           len - i);
        }

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
            rc = ngx_http_outage_scan_finish(&s);
        }

        if (rc != NGX_HTTP_OUTAGE_SCAN_HIT || s.hit != (off_t) (len - 1)) {
            printf("FAIL esc utf8: split %lu: rc %d hit %ld\n",
                   (unsigned long) i, rc, (long) s.hit);
            ok = 0;
        }

        ngx_http_outage_scan_init(&s);

        rc = ngx_http_outage_scan_feed(&s, (const unsigned char *) doc, i);
        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE && i < len) {
            rc = ngx_http_outage_scan_feed(&s, (const unsigned char *) doc + i,
                                           len - i);
        }

        if (rc == NGX_HTTP_OUTAGE_SCAN_MORE) {
            rc = ngx_http_outage_scan_finish(&s);
        }

        if (rc != NGX_HTTP_OUTAGE_SCAN_NONE) {
            printf("FAIL esc without utf8: split %lu: rc %d\n",
                   (unsigned long) i, rc);
            ok = 0;
        }
    }

    return ok;
}


int
main(void)
{
    size_t  i, passed, failed;

    passed = 0;
    failed = 0;

    for (i = 0; i < sizeof(test_cases) / sizeof(test_cases[0]); i++) {
        if (test_case(&test_cases[i])) {
            passed++;

        } else {
            failed++;
        }
    }

    if (test_long_input()) {
        passed++;

    } else {
        failed++;
    }

    if (test_done_short_circuit()) {
        passed++;

    } else {
        failed++;
    }

    if (test_reread_limit()) {
        passed++;

    } else {
        failed++;
    }

    if (test_esc_utf8()) {
        passed++;

    } else {
        failed++;
    }

    if (test_esc_bom()) {
        passed++;

    } else {
        failed++;
    }

    if (test_masks_differential()) {
        passed++;

    } else {
        failed++;
    }

    printf("scan: %lu passed, %lu failed\n",
           (unsigned long) passed, (unsigned long) failed);

    return failed ? 1 : 0;
}
