
/*
 * tests/unit/test_scan.c: unit tests for the streaming insertion-point
 * scanner (ngx_outage_module/ngx_http_outage_scan.c).
 *
 * Each case is an HTML string in which "@@" marks the expected insertion
 * point (the marker is removed before scanning); a case without "@@" expects
 * no hit and an append at the end (finish() == 1).  Every case is checked
 * fed in one piece, split in two at every byte, split in three at every
 * pair of bytes (short inputs), and fed byte by byte with empty chunks in
 * between: the absolute position must always be the same.
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -Ingx_outage_module \
 *        tests/unit/test_scan.c ngx_outage_module/ngx_http_outage_scan.c
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_scan.h"


#define TEST_MAX_INPUT  4096
#define TEST_APPEND     (-2)


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
    { "double <, the second starts the tag",
      "<<body>@@" },
    { "< followed by space is text",
      "a < body> b<body>@@" },
    { "end tag </body> before <body> is not a start tag",
      "<head></head></body><body>@@" },
    { "slash then space between attributes",
      "<body / x>@@" },
    { "slash right after attribute name, value, and space",
      "<body a/ b=\"x\"/ c />@@" },

    /* rule 2: constructs that must not fool it */

    { "body in a comment",
      "<!-- <body> -->x<body id=real>@@" },
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
    { "CDATA section hides body",
      "<![CDATA[ <body> ]] > ]> ]]]><body>@@" },
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

    /* rule 3: fallback when there is no <body> */

    { "fallback: div after head",
      "<html><head><title>x</title></head><div id=a>@@hi" },
    { "fallback: img among head elements",
      "<html><head><meta charset=utf-8><link rel=x href=y><img src=a>@@" },
    { "fallback: text then an inline tag",
      "hello <b>@@world</b>" },
    { "fallback: custom element",
      "<my-app>@@" },
    { "fallback: <bodyx> is not body but starts the body",
      "<head><meta x><bodyx>@@<body>" },
    { "fallback: <scriptx> is not a script",
      "<head><scriptx>@@</script><body>" },
    { "fallback: quoted > in the implying tag",
      "<head></head><div a=\">\" >@@" },
    { "fallback: link after </head> counts",
      "<head></head><link rel=x>@@<body>" },
    { "fallback: script after </head> deferred to its end tag",
      "<head></head><script>a</script>@@<body>" },
    { "fallback: textarea deferred to its end tag",
      "<head><textarea><body></textarea>@@<body>" },
    { "fallback: iframe deferred to its end tag",
      "<head><iframe src=x><body></iframe>@@<p>" },
    { "fallback: xmp deferred",
      "<xmp><body></xmp >@@<body>" },
    { "fallback: noembed deferred",
      "<noembed><body></noembed>@@" },
    { "fallback: noscript after </head> deferred",
      "<head></head><noscript><img></noscript>@@<div>" },
    { "fallback: template after </head> deferred",
      "<head></head><template><p><body></template>@@<body>" },
    { "fallback: </head> inside template does not count",
      "<template></head></template><link rel=x><p>@@" },
    { "fallback: end tag with attributes </head x='>'>",
      "<head></head x='>'><p>@@" },

    /* rule 4: no hit, append at the end */

    { "empty input",
      "" },
    { "no tag at all",
      "hello world, no markup here" },
    { "head elements only",
      "<!DOCTYPE html><html><head><title>t</title><meta a=b></head></html>" },
    { "unterminated comment",
      "<!-- <body>" },
    { "unterminated script",
      "<script><body>" },
    { "unterminated body tag",
      "<body class=\"x>" },
    { "unterminated CDATA",
      "<![CDATA[ <body> ]]" },
    { "plaintext swallows everything",
      "<plaintext><body></plaintext><body>" },
    { "unclosed noscript",
      "<noscript><body>" },
    { "only a lone <",
      "<" },
    { "binary without < (from fuzzing: a harness bug, kept as a case)",
      "\xea\xea\xea\xea\xea(\xff\xff\xf5\xf5=\xf5~\xf5\xdf\xff" },
};


static int  test_failed;


static void
test_fail(const char *name, const char *what, long expected, long got)
{
    printf("FAIL %s: %s: expected %ld, got %ld\n", name, what, expected, got);
    test_failed = 1;
}


/*
 * Feeds buf split at the given cut points and returns the absolute
 * insertion position, or TEST_APPEND if finish() asked for an append.
 * Also checks the API contract around a hit.
 */
static long
test_run(const char *name, const unsigned char *buf, size_t len,
    const size_t *cuts, size_t ncuts, int empty)
{
    long                     pos;
    size_t                   k, from, to;
    ssize_t                  rc;
    ngx_http_outage_scan_t   s;

    ngx_http_outage_scan_init(&s);

    pos = -1;
    from = 0;

    for (k = 0; k <= ncuts; k++) {
        to = (k < ncuts) ? cuts[k] : len;

        if (empty) {
            rc = ngx_http_outage_scan_feed(&s, buf + from, 0);
            if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
                test_fail(name, "empty chunk returned a hit", -1, (long) rc);
            }
        }

        rc = ngx_http_outage_scan_feed(&s, buf + from, to - from);

        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
            if (pos != -1) {
                test_fail(name, "second hit", pos, (long) (from + rc));
            }

            if (rc < 0 || (size_t) rc > to - from) {
                test_fail(name, "offset outside chunk", 0, (long) rc);
            }

            if (!s.done) {
                test_fail(name, "done not set after hit", 1, 0);
            }

            pos = (long) (from + (size_t) rc);
        }

        from = to;
    }

    if (pos != -1) {
        rc = ngx_http_outage_scan_feed(&s, buf, len);
        if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
            test_fail(name, "feed after hit", -1, (long) rc);
        }

        if (ngx_http_outage_scan_finish(&s) != 0) {
            test_fail(name, "finish after hit", 0, 1);
        }

        return pos;
    }

    if (ngx_http_outage_scan_finish(&s) != 1) {
        test_fail(name, "finish without hit", 1, 0);
    }

    if (ngx_http_outage_scan_finish(&s) != 0) {
        test_fail(name, "second finish", 0, 1);
    }

    return TEST_APPEND;
}


static int
test_case(const test_case_t *t)
{
    char            what[64];
    long            expected, got;
    size_t          len, i, j, cuts[TEST_MAX_INPUT];
    const char     *m;
    unsigned char   buf[TEST_MAX_INPUT];

    test_failed = 0;

    len = strlen(t->html);
    if (len >= TEST_MAX_INPUT) {
        test_fail(t->name, "input too long", TEST_MAX_INPUT, (long) len);
        return 0;
    }

    m = strstr(t->html, "@@");

    if (m == NULL) {
        memcpy(buf, t->html, len);
        expected = TEST_APPEND;

    } else {
        i = (size_t) (m - t->html);
        memcpy(buf, t->html, i);
        memcpy(buf + i, m + 2, len - i - 2);
        len -= 2;
        expected = (long) i;
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

    for (i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }

    got = test_run(t->name, buf, len, cuts, len, 1);
    if (got != expected) {
        test_fail(t->name, "byte by byte", expected, got);
    }

    return !test_failed;
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
    expected = (long) len;

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
    ssize_t                  rc;
    ngx_http_outage_scan_t   s;

    test_failed = 0;

    ngx_http_outage_scan_init(&s);

    rc = ngx_http_outage_scan_feed(&s, (const unsigned char *) "<body>", 6);
    if (rc != 6 || !s.done) {
        test_fail("done short circuit", "hit", 6, (long) rc);
    }

    /* a NULL pointer would crash if the scanner touched the data */
    rc = ngx_http_outage_scan_feed(&s, NULL, 1000);
    if (rc != NGX_HTTP_OUTAGE_SCAN_MORE) {
        test_fail("done short circuit", "feed after done", -1, (long) rc);
    }

    return !test_failed;
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

    printf("scan: %lu passed, %lu failed\n",
           (unsigned long) passed, (unsigned long) failed);

    return failed ? 1 : 0;
}
