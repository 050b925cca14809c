
/*
 * Unit tests for ngx_http_outage_tplcheck.c: where a template puts the
 * Redis-provided message, eta and link.  The cases are review s9 R3's
 * attack and false-positive lists (/work/rev9d/main/scratch/t*.txt) with
 * what a browser does with them; tests/oracle/tplcheck_oracle.py checks
 * the same lists and random templates against html5lib.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_tplcheck.h"
#include "ngx_http_outage_banner.h"
#include "../support/unit_runner.h"


typedef struct {
    size_t   warns;
    size_t   notes;
    size_t   first_offset;
    size_t   first_line;
    char     first[NGX_HTTP_OUTAGE_TPL_WHY_LEN + 16];
    char     names[256];
} found_t;


static ngx_http_outage_tpl_work_t  *work;


static size_t
contexts(const unsigned char *tpl, size_t len,
    ngx_http_outage_tpl_report_pt report, void *ctx)
{
    if (work == NULL) {
        work = malloc(ngx_http_outage_tpl_work_size);
        CHECK(work != NULL);
    }

    return ngx_http_outage_tpl_contexts(work, tpl, len, report, ctx);
}


static void
collect(void *ctx, const ngx_http_outage_tpl_finding_t *f)
{
    found_t  *r = ctx;
    size_t    n;

    if (f->level == NGX_HTTP_OUTAGE_TPL_WARN) {
        r->warns++;
    } else {
        r->notes++;
    }

    if (r->first[0] == '\0') {
        r->first_offset = f->offset;
        r->first_line = f->line;
        snprintf(r->first, sizeof(r->first), "%.*s %s", (int) f->name_len,
                 f->name, f->why);
    }

    n = strlen(r->names);
    snprintf(r->names + n, sizeof(r->names) - n, "%s%.*s", n ? "," : "",
             (int) f->name_len, f->name);
}


static found_t
run(const char *tpl)
{
    size_t   off, warns;
    found_t  r;

    memset(&r, 0, sizeof(r));
    CHECK(ngx_http_outage_tpl_check((const unsigned char *) tpl, strlen(tpl),
                                    &off) == NULL);
    warns = contexts((const unsigned char *) tpl, strlen(tpl), collect, &r);
    CHECK(warns == r.warns);

    return r;
}


/* each must warn, and the text must say what the first finding is */

static const struct {
    const char  *tpl;
    const char  *says;
} attacks[] = {
    /* review s9 R0 F1 */
    { "<div data-eta={{eta}}>", "unquoted value of attribute \"data-eta\"" },
    { "<a href=\"{{eta}}\">x</a>", "starts the URL in attribute \"href\"" },
    { "<A HREF=\"{{message}}\">x</A>", "\"href\" of <a>" },
    { "<a title=\"x\"/href=\"{{message}}\">x</a>", "\"href\"" },
    { "<a title=\"x\"href=\"{{message}}\">x</a>", "\"href\"" },
    { "<a href=\"java{{message}}\">x</a>", "decides the scheme" },
    { "<a href=\" &#x6A;ava{{message}}\">x</a>", "decides the scheme" },
    { "<a href=\"javascript:go('{{eta}}')\">x</a>", "javascript: or data:" },
    { "<a href=\"java&#115;cript&colon;go('{{eta}}')\">x</a>",
      "javascript: or data:" },
    { "<button formaction=\"{{message}}\">x</button>", "\"formaction\"" },
    { "<form action=\"{{eta}}\"></form>", "\"action\" of <form>" },
    { "<iframe src=\"{{message}}\"></iframe>", "\"src\" of <iframe>" },
    { "<object data=\"{{message}}\"></object>", "\"data\" of <object>" },
    { "<meta http-equiv=\"refresh\" content=\"0;url={{message}}\">",
      "<meta http-equiv=\"refresh\">" },
    { "<meta content=\"5; URL='{{message}}'\" http-equiv=Refresh>",
      "<meta http-equiv=\"refresh\">" },
    { "<svg><a xlink:href=\"{{message}}\">x</a></svg>", "\"xlink:href\"" },
    { "<svg><set attributeName=\"href\" to=\"{{message}}\"/></svg>",
      "\"to\" of <set>" },
    { "<svg><animate values=\"{{eta}}\" attributeName=\"xlink:href\"/></svg>",
      "\"values\" of <animate>" },
    { "<math><mi href=\"{{eta}}\">x</mi></math>", "\"href\" of <mi>" },
    { "<a onclick=\"{{message}}\">x</a>", "event handler attribute \"onclick\"" },
    { "<a oNcLiCk=\"{{message}}\">x</a>", "\"onclick\"" },
    { "<svg><circle onmouseover=\"{{eta}}\"/></svg>", "event handler" },
    { "<a STYLE=\"{{message}}\">x</a>", "style attribute \"style\"" },
    { "<iframe srcdoc=\"{{message}}\"></iframe>", "\"srcdoc\"" },
    { "<a {{message}}>x</a>", "inside the tag <a>" },
    { "<a title=\"x\"{{message}}>x</a>", "inside the tag <a>" },
    { "<{{message}}>", "inside the tag" },
    { "<script>var m = \"{{message}}\";</script>", "inside <script>" },
    { "<script type=module>{{eta}}</script>", "inside <script>" },
    { "<script type=\"text/javascript\">{{eta}}</script>", "inside <script>" },
    { "<style>{{message}}</style>", "inside <style>" },
    { "<template><script>{{message}}</script></template>", "<script>" },
    { "<title></title x><script>{{message}}</script>", "<script>" },
    { "<textarea></textarea ><script>{{message}}</script>", "<script>" },
    { "<!--><script>{{message}}</script>", "<script>" },
    { "<script><!--<script></script><p>{{message}}</p>", "<script>" },
    { "<script><!--<script></script>--></script>{{message}}", NULL },
    { "<select><style>{{message}}</style></select>", "<style>" },
    { "<table><style>{{message}}</style></table>", "<style>" },
    /* review s9 R3: script and style of svg/math are read as markup, and
     * are still script and CSS */
    { "<svg><style>{{message}}</style></svg>", "<style>" },
    { "<svg><script>{{message}}</script></svg>", "<script>" },
    { "<svg><![CDATA[x]]><script>{{message}}</script></svg>", "<script>" },
    { "<svg><style><![CDATA[{{message}}]]></style></svg>", "<style>" },
    { "<svg><desc><style>{{message}}</style></desc></svg>", "<style>" },
    { "<math><mi><style>{{message}}</style></mi></math>", "<style>" },
    { "<svg><p><style>{{message}}</style></svg>", "<style>" },
    { "<svg></p><style>{{message}}</style>", "<style>" },
    { "<svg/><script>{{message}}</script>", "<script>" },
    { "<svg><svg></svg><script>{{message}}</script></svg>", "<script>" },
    /* review s9 R3 F1: link where it loads script or style */
    { "<script src=\"{{link}}\"></script>", "\"src\" of <script> loads" },
    { "<link rel=\"stylesheet\" href=\"{{link}}\">", "\"href\" of <link>" },
    { "<link href=\"{{link}}\" rel=\"preload stylesheet\">", "<link>" },
    { "<base href=\"{{link}}\">", "\"href\" of <base>" },
    { "<svg><script href=\"{{link}}\"></script></svg>", "<script> loads" },
    { "<script src=\"/{{message}}\"></script>", "\"src\" of <script>" },
    { "<script src=\"https://cdn.example{{eta}}\"></script>", "<script>" },
    { "<script src=\"ht{{eta}}\"></script>", "<script>" },
    /* a name made partly by another placeholder, read as if it were empty */
    { "<a href{{scope}}=\"{{message}}\">x</a>", "\"href\" of <a>" },
    { "<scr{{scope}}ipt>{{message}}</script>", "inside <script>" },
    /* review s9 R3 F4: raw-text start tags are ignored inside <select> by
     * some parsers, so a <script> inside them is a script there */
    { "<select><xmp><script>{{message}}</script></xmp></select>", "<script>" },
    { "<select><title><script>{{message}}</script></title></select>",
      "<script>" },
    { "<select><iframe><script>{{message}}</script></iframe></select>",
      "<script>" },
    { "<select><noembed><script>{{message}}</script></noembed></select>",
      "<script>" },
    { "<select><svg><desc><xmp><script>{{message}}</script>", "<script>" },
    /* review s10 R3 */
    { "<a href=\"&Tab;{{message}}\">x</a>", "decides the scheme" },
    { "<a href=\"j&NewLine;{{message}}\">x</a>", "decides the scheme" },
    { "<div class=\"logo\"><svg viewBox=\"0 0 10 10\"><path d=\"M0 0\"/>"
      "</div><script src=\"{{link}}\"></script>", "<script> loads" },
    { "<span><svg></span><base href=\"{{link}}\">", "<base>" },
    { "<svg><style><style>{{message}}</style></style></svg>", "<style>" },
    { "<svg><script><style>{{message}}</style></script>", "<style>" },
    { "<link rel=\"stylesheet\" href=\"{{link}}\"", "<link>" },
    { "<script {{#a}}src=\"/a.js\"{{/a}} {{#b}}data=\"1\"{{/b}} {{#c}}rel="
      "\"x\"{{/c}} {{#t}}type=\"text/plain\"{{/t}}>var m=\"{{message}}\""
      "</script>", "inside <script>" },
    /* sections: each way is followed */
    { "<a {{#eta}}href=\"x\" {{/eta}}title=\"{{message}}\">x</a>", NULL },
    { "{{#eta}}<script>{{/eta}}{{message}}", "<script>" },
    { "<p{{^link}} onclick=\"{{/link}} title=\"{{message}}\">", "onclick" },
    { "<div {{#eta}}title{{/eta}}={{message}}>", "unquoted" },
    /* review s10 F4: annotation-xml is an HTML integration point with an
     * HTML encoding, and an svg in it is svg in any case */
    { "<math><annotation-xml encoding=\"text/html\"><script>{{message}}"
      "</script></annotation-xml></math>", "inside <script>" },
    { "<math><annotation-xml encoding=\"Application/XHTML+XML\"><style>"
      "{{message}}</style></annotation-xml></math>", "inside <style>" },
    { "<math><annotation-xml encoding={{scope}}><script>{{message}}"
      "</script></annotation-xml></math>", "inside <script>" },
    { "<math><annotation-xml><svg><style>{{message}}</style></svg>"
      "</annotation-xml></math>", "inside <style>" },
    /* review s11 R4 F1/F2: a captured value with a character reference
     * takes the unsafe reading (browsers compare the decoded value) */
    { "<math><annotation-xml encoding=\"text/htm&#108;\"><script>"
      "{{message}}</script></annotation-xml></math>", "inside <script>" },
    { "<math><annotation-xml encoding=\"text&sol;html\"><script>"
      "{{message}}</script></annotation-xml></math>", "inside <script>" },
    { "<link rel=\"&#115;tylesheet\" href=\"{{link}}\">",
      "\"href\" of <link>" },
    { "<meta http-equiv=\"&#114;efresh\" content=\"0;url={{message}}\">",
      "<meta http-equiv=\"refresh\">" },
    { "<svg><set attributeName=\"&#104;ref\" to=\"{{message}}\"/></svg>",
      "\"to\" of <set>" },
    { "<svg><a><animate attributeName=\"xlink&colon;href\" "
      "values=\"{{message}}\"/></a></svg>", "\"values\" of <animate>" },
    { "<script type=\"&#109;odule\">{{message}}</script>",
      "inside <script>" },
    /* review s11 R4 F5: SMIL "values" is a ';' list, each item a URL */
    { "<svg><a><animate attributeName=\"href\" values=\"/ok;{{message}}\"/>"
      "</a></svg>", "\"values\" of <animate>" },
    { "<svg><a><animate attributeName=\"href\" values=\"/ok; {{message}}\"/>"
      "</a></svg>", "\"values\" of <animate>" },
    { "<svg><a><animate attributeName=\"href\" values=\"/ok&#59;{{eta}}\"/>"
      "</a></svg>", "\"values\" of <animate>" },
    { "<svg><a><animate attributeName=\"href\" values=\"/ok&x;{{eta}}\"/>"
      "</a></svg>", "\"values\" of <animate>" },
    { "<svg><a><animate attributeName=\"href\" "
      "values=\"{{eta}};{{message}}\"/></a></svg>", "\"values\"" },
    /* review s10 F12: CDATA right inside an integration point, a bogus
     * comment inside an HTML element opened there */
    { "<svg><foreignObject><![CDATA[><!--]]><script>{{message}}</script>"
      "--></foreignObject></svg>", "inside <script>" },
    { "<math><mtext><![CDATA[><!--]]><style>{{message}}</style>-->"
      "</mtext></math>", "inside <style>" },
    { "<svg><desc><b><![CDATA[><style>{{message}}</style>]]></desc></svg>",
      "inside <style>" },
    /* review s10 F9: the value of a placeholder after "<", "</" or "=" */
    { "<p title={{scope}}\"{{message}}\">x</p>", "unquoted value" },
    { "<{{scope}}<script>{{message}}</script>", "inside <script>" },
    { "<{{scope}}?><script>{{message}}</script>", "inside <script>" },
    { "<a href {{scope}}=\"{{message}}\">x</a>", "starts the URL" },
    /* a name made partly by a placeholder may be another element: its
     * inside is then markup, not raw text (oracle, session 11) */
    { "<textarea{{scope}}><script>{{message}}</script></textarea>",
      "inside <script>" },
    { "<iframe{{scope}}/<title>&Tab;<base{{message}}", "inside the tag" },
    /* the page's {{update}} is the Redis message too (session 12) */
    { "<script>var u = \"{{update}}\";</script>", "update is inside <script>" },
    { "<p title={{update}}>x</p>", "update is in the unquoted value" },
    { "<a {{update}}>x</a>", "update is inside the tag <a>" },
    { "<a href=\"{{update}}\">x</a>", "starts the URL" },
};

/* review s9 R3's false positives and other safe places: no warning */

static const char  *safe[] = {
    "<p>{{message}}</p>",
    "<a href=\"{{link}}\">x</a>",
    "<a href={{link}}>x</a>",
    "<a title=\"{{message}}\" data-eta='{{eta}}'>x</a>",
    "<a href=\"/\" href=\"{{message}}\">x</a>",
    "<a href=\"/status?m={{message}}\">x</a>",
    "<a href=\"mailto:help@shop.example?subject={{message}}\">mail</a>",
    "<a href=\"https://t.example/share?text={{eta}}\">x</a>",
    "<a href=\"{{link}}#{{eta}}\">x</a>",
    "<a href=\"./{{eta}}\">x</a>",
    "<a href=\"x{{message}}\">x</a>",
    "<script src=\"/js/app.js?v={{eta}}\"></script>",
    "<script src=\"/{{link}}\"></script>",
    "<script src=\"js{{message}}\"></script>",
    "<link rel=\"icon\" href=\"{{link}}\">",
    "<iframe src=\"{{link}}\"></iframe>",
    "<img src=\"{{message}}\" srcset=\"{{eta}}\" alt=\"{{eta}}\">",
    "<video poster=\"{{message}}\"></video>",
    "<a ping=\"{{message}}\">x</a>",
    "<meta name=\"description\" content=\"{{message}}\">",
    "<meta property=\"og:description\" content=\"{{message}}\">",
    "<meta http-equiv=\"refresh\" content=\"30\"><p>{{message}}</p>",
    "<meta http-equiv=\"refresh\" content=\"5; url=/status?m={{message}}\">",
    "<meta http-equiv=\"refresh\" content=\"5; url={{link}}\">",
    "<svg><title>{{message}}</title></svg>",
    "<svg><text fill=\"red\" x=\"{{eta}}\">{{message}}</text></svg>",
    "<svg><animate attributeName=\"x\" values=\"{{eta}}\"/></svg>",
    /* "to" is one URL: a ';' in it does not start another (R4 F5) */
    "<svg><a><set attributeName=\"href\" to=\"/ok;{{message}}\"/></a></svg>",
    "<svg><a><animate attributeName=\"href\" values=\"/ok;x{{message}}\"/>"
        "</a></svg>",
    "<svg><a href=\"{{link}}\"><text>status</text></a></svg>",
    "<svg><use href=\"{{link}}\"/></svg>",
    "<math><mtext><p title=\"{{message}}\">x</p></mtext></math>",
    "<svg><foreignObject><p>{{message}}</p></foreignObject></svg>",
    "<svg/><p>{{message}}</p>",
    "<svg></svg><script>x</script><p>{{message}}</p>",
    "<noscript><p title=\"{{message}}\">x</p></noscript>",
    "<noscript><script>{{message}}</script></noscript>",
    "<textarea>{{message}}</textarea><title>{{eta}}</title>",
    "<iframe>{{message}}</iframe><xmp>{{eta}}</xmp>",
    "<plaintext>{{message}}",
    "<!-- {{message}} -->",
    "<!-- x --><p>{{message}}</p><!---><p>{{eta}}</p>",
    "<!-- --!><p>{{message}}</p>",
    "<! x><p>{{message}}</p><? x><p>{{eta}}</p></ x><p>{{link}}</p>",
    "</a title=\"{{message}}\" {{eta}}>",
    "<a &#111;nclick=\"{{message}}\">x</a>",
    "<a href\0=\"{{message}}\">x</a>",
    "<scr\0ipt>{{message}}</scr\0ipt>",
    "<p>a < b {{message}}</p><p>1 <2 {{eta}}</p>",
    "<script type=\"application/ld+json\">{\"d\":\"{{message}}\"}</script>",
    "<script type=speculationrules>{{link}}</script>",
    /* review s9 R3 F3: "<!--" and CDATA in a script */
    "<script><!--\nvar a=1;\n//--></script><p>{{message}}</p>",
    "<script>document.write(\"<!-- x -->\")</script><p>{{message}}</p>",
    "<script>\n// <!-- hide\nalert(1)\n// -->\n</script><p>{{message}}</p>",
    "<script>var x = 1 <!y;</script><p>{{message}}</p>",
    "<script type=\"text/javascript\">//<![CDATA[\nvar a=1;\n//]]></script>"
        "<p>{{message}}</p>",
    "<script>if (a < b && c > d) { x = \"</scr\" + \"ipt>\"; }</script>"
        "<p>{{message}}</p>",
    "<script><!-- </script><p>{{message}}</p>",
    "<style><!--</style><p>{{message}}</p>",
    /* review s9 R3 F7: inline SVG logos */
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 100 20\"><defs>"
        "<style>.cls-1{fill:#e30;}</style></defs><title>Shop</title><path "
        "class=\"cls-1\" d=\"M0 0h10v10z\"/></svg><p>{{message}}</p>",
    "<svg><foreignObject width=\"100\" height=\"20\"><div xmlns=\"http://"
        "www.w3.org/1999/xhtml\">Shop</div></foreignObject></svg>"
        "<p>{{message}}</p>",
    "<svg><script>var a = 1;</script></svg><p>{{message}}</p>",
    "<math><mi>x</mi><mo>=</mo><mn>2</mn></math><p>{{message}}</p>",
    /* review s9 R3 F8: optional attributes with sections */
    "<p {{#eta}}class=\"a\"{{/eta}}{{^eta}}class=\"b\"{{/eta}}>{{message}}</p>",
    "<a {{#link}}href=\"{{link}}\"{{/link}}{{^link}}href=\"/status\"{{/link}}>"
        "{{message}}</a>",
    "<div{{#eta}} data-eta=\"{{eta}}\"{{/eta}}{{^eta}} hidden{{/eta}}>"
        "{{message}}</div>",
    "<div {{#eta}}data-eta=\"{{eta}}\"{{/eta}}title=\"{{message}}\">x</div>",
    "<input type=\"checkbox\" {{#eta}}checked{{/eta}}>{{message}}",
    "<p {{#eta}}title=\"{{eta}}\"{{/eta}}{{#link}}data-link=\"{{link}}\""
        "{{/link}}>{{message}}</p>",
    "<div class=\"banner {{#eta}}has-eta{{/eta}}\">{{message}}</div>",
    /* both ways of one name go together: never shown and hidden at once */
    "{{#eta}}<script>{{/eta}}{{^eta}}<p>{{message}}{{/eta}}",
    /* four optional attributes (review s10 R3 F2) */
    "<div {{#eta}}data-eta=\"{{eta}}\"{{/eta}} {{#link}}data-link=\"{{link}}\""
        "{{/link}} {{#since}}data-since=\"{{since_iso}}\"{{/since}} "
        "{{#scope}}data-scope=\"{{scope}}\"{{/scope}}>{{message}}</div>",
    "<a href=\"&tab;{{message}}\">x</a>",
    "<div><svg><g></g><path/></svg></div><p title=\"{{message}}\">x</p>",
    /* review s9 R3 F2 */
    "<meta name=\"description\" content=\"{{message}}\">",
    /* review s10 F4, F12, F9 */
    "<math><annotation-xml><script>{{message}}</script></annotation-xml>"
        "</math>",
    "<math><annotation-xml><style>{{message}}</style></annotation-xml>"
        "</math>",
    "<math><annotation-xml encoding=\" text/html\"><script>{{message}}"
        "</script></annotation-xml></math>",
    "<math><annotation-xml encoding=\"text/html\"><p title=\"{{message}}\">"
        "x</p></annotation-xml></math>",
    "<svg><foreignObject><![CDATA[><style>{{message}}</style>]]>"
        "</foreignObject></svg>",
    "<a href={{link}}>x</a><a href={{scope}}{{link}}>y</a>",
    "{{#update}}<p class=\"update\" title=\"{{update}}\">{{update}}</p>"
    "{{/update}}",
};


static void
t_attacks(void)
{
    size_t   i;
    found_t  r;

    for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        r = run(attacks[i].tpl);

        if (attacks[i].says == NULL) {
            if (r.warns != 0) {
                printf("  warned: %s\n    %s\n", attacks[i].tpl, r.first);
            }
            CHECK(r.warns == 0);
            continue;
        }

        if (r.warns == 0 || strstr(r.first, attacks[i].says) == NULL) {
            printf("  missed: %s\n    got: %s\n", attacks[i].tpl, r.first);
        }

        CHECK(r.warns >= 1);
        CHECK(strstr(r.first, attacks[i].says) != NULL);
    }
}


static void
t_safe(void)
{
    size_t   i;
    found_t  r;

    for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
        r = run(safe[i]);

        if (r.warns || r.notes) {
            printf("  warned: %s\n    %s\n", safe[i], r.first);
        }

        CHECK(r.warns == 0 && r.notes == 0);
    }
}


static void
t_default_banner(void)
{
    found_t  r;

    memset(&r, 0, sizeof(r));
    CHECK(contexts(ngx_http_outage_banner_default_tpl,
                   ngx_http_outage_banner_default_tpl_len,
                   collect, &r)
          == 0);
    CHECK(r.warns == 0 && r.notes == 0);
}


static void
t_report(void)
{
    found_t  r;

    /* the line, the offset, the placeholder, the fix */
    r = run("<p>\n{{message}}</p>\n<a\nhref={{eta}}>");
    CHECK(r.warns == 1);
    CHECK(r.first_line == 4);
    CHECK(r.first_offset == strlen("<p>\n{{message}}</p>\n<a\nhref="));
    CHECK(strcmp(r.first, "eta is in the unquoted value of attribute "
                          "\"href\" of <a>, where a space in it starts a "
                          "new attribute (such as onclick=): quote it "
                          "(href=\"{{eta}}\")") == 0);

    /* every field once, in order */
    r = run("<script>{{message}}{{eta}}</script><a onclick=\"{{link}}\">"
            "<style>{{update}}</style>");
    CHECK(r.warns == 4);
    CHECK(strcmp(r.names, "message,eta,link,update") == 0);

    /* "|raw" on the update is refused like on the message */
    CHECK(ngx_http_outage_tpl_check((const unsigned char *) "{{update|raw}}",
                                    14, NULL) != NULL);

    /* a field warned on two ways through a section is said once */
    r = run("{{#x}}<script>{{/x}}{{^x}}<style>{{/x}}{{message}}");
    CHECK(r.warns == 1);

    /* the link is a checked http(s) URL: no space, quote or "<" */
    r = run("<a title={{link}} {{link}}><{{link}}");
    CHECK(r.warns == 0);

    /* "unsure" is one note, at most, per template */
    r = run("<script type=\"text/x-template\">{{message}}{{eta}}</script>"
            "<a o{{scope}}=\"{{message}}\">");
    CHECK(r.warns == 0 && r.notes == 1);
    CHECK(strstr(r.first, "not checked") != NULL);

    /* deferred: <link href> counts only with a rel that loads */
    r = run("<link href=\"{{link}}\" rel=\"icon\"><link href=\"{{link}}\" "
            "rel=\"stylesheet\">");
    CHECK(r.warns == 1);
    CHECK(r.first_offset == strlen("<link href=\"{{link}}\" rel=\"icon\">"
                                   "<link href=\""));
}


static void
t_limits(void)
{
    size_t   i, n;
    found_t  r;
    char    *tpl;

    /* many warnings: counted, at most 64 reported */
    n = 200;
    tpl = malloc(n * 30 + 32);
    CHECK(tpl != NULL);
    if (tpl == NULL) {
        return;
    }

    strcpy(tpl, "<script>");
    for (i = 0; i < n; i++) {
        strcat(tpl, "{{message}}");
    }

    memset(&r, 0, sizeof(r));
    CHECK(contexts((unsigned char *) tpl, strlen(tpl),
                   collect, &r)
          == n);
    CHECK(r.warns == 64);

    /* sections that keep the markup apart: more ways than are followed */
    strcpy(tpl, "");
    for (i = 0; i < 12; i++) {
        sprintf(tpl + strlen(tpl), "{{#s%zu}}<b title=\"{{/s%zu}}", i, i);
    }
    strcat(tpl, "{{eta}}");
    r = run(tpl);
    CHECK(r.notes == 1 || r.warns >= 1);

    /* docs/directives.md: "elements nested more than 12 deep" */
    strcpy(tpl, "<svg>");
    for (i = 1; i < 12; i++) {
        strcat(tpl, "<g>");
    }
    strcat(tpl, "{{message}}");
    r = run(tpl);
    CHECK(r.warns == 0 && r.notes == 0);
    strcat(tpl, "<g>{{message}}");
    r = run(tpl);
    CHECK(r.warns == 0 && r.notes == 1);

    /* nested foreign content beyond what is followed */
    strcpy(tpl, "");
    for (i = 0; i < 10; i++) {
        strcat(tpl, "<svg><foreignObject>");
    }
    strcat(tpl, "<p>{{message}}</p>");
    r = run(tpl);
    CHECK(r.warns == 0 && r.notes == 1);

    free(tpl);

    CHECK(contexts(NULL, 0, collect, &r) == 0);
    CHECK(contexts((unsigned char *) "{{message}}", 11,
                   NULL, NULL) == 0);
    CHECK(contexts((unsigned char *) "<a b={{eta}}", 12,
                   NULL, NULL) == 1);
}


/* review s10: the same field is warned about once, however many ways */

static void
t_once(void)
{
    size_t   i;
    char     tpl[1024];
    found_t  r;

    /* one way warns at once, the other when rel= comes, after more than
     * 16 other warnings */
    strcpy(tpl, "{{#a}}<base {{/a}}{{^a}}<link {{/a}}href=\"{{link}}\" "
                "onclick=\"");
    for (i = 0; i < 20; i++) {
        strcat(tpl, "{{message}}");
    }
    strcat(tpl, "\" rel=stylesheet>");

    r = run(tpl);
    CHECK(r.warns == 21);

    /* two ways wait for the end of the tag, which the template leaves
     * open */
    r = run("{{#a}}<link {{/a}}{{^a}}<link x {{/a}}href=\"{{link}}\" "
            "rel=\"stylesheet\"");
    CHECK(r.warns == 1);
}


/*
 * The check is reentrant: a report may run another check (with its own
 * work area), and the outer one still sees its own sections
 */

typedef struct {
    found_t                      outer;
    found_t                      inner;
    ngx_http_outage_tpl_work_t  *work;
} nested_t;


static void
nested_collect(void *ctx, const ngx_http_outage_tpl_finding_t *f)
{
    nested_t    *n = ctx;
    const char  *tpl = "<style>{{#y}}{{/y}}{{#z}}<p>{{/z}}";

    collect(&n->outer, f);

    (void) ngx_http_outage_tpl_contexts(n->work, (const unsigned char *) tpl,
                                        strlen(tpl), collect, &n->inner);
}


static void
t_reentrant(void)
{
    size_t      warns;
    nested_t    n;
    const char *tpl = "{{#x}}<a onclick=\"{{message}}\">{{/x}}<p>{{eta}}</p>";

    memset(&n, 0, sizeof(n));
    n.work = malloc(ngx_http_outage_tpl_work_size);
    CHECK(n.work != NULL);
    if (n.work == NULL) {
        return;
    }

    warns = contexts((const unsigned char *) tpl, strlen(tpl), nested_collect,
                     &n);
    CHECK(warns == 1 && n.outer.warns == 1);
    CHECK(strcmp(n.outer.names, "message") == 0);
    CHECK(n.inner.warns == 0);

    free(n.work);
}


static const unit_test_t  tests[] = {
    { "attacks", t_attacks },
    { "safe", t_safe },
    { "default_banner", t_default_banner },
    { "report", t_report },
    { "limits", t_limits },
    { "once", t_once },
    { "reentrant", t_reentrant },
};


int
main(void)
{
    return unit_run("tplcheck", tests, sizeof(tests) / sizeof(tests[0]));
}
