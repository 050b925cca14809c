
/*
 * Unit tests for ngx_http_outage_cond.c: If-None-Match lists against the
 * examples of RFC 9110 (8.8.3.2 weak comparison, 13.1.2) and against
 * nginx's own ngx_http_test_if_match() (transcribed below from nginx
 * 1.22's ngx_http_not_modified_filter_module.c, the oracle: the module
 * must answer as nginx does without an incident) on generated lists; the
 * If-Modified-Since rule against nginx's ngx_http_test_if_modified() for
 * every mode and ordering of the dates (tests/support/nginx_cond.h).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_outage_cond.h"
#include "../support/unit_runner.h"
#include "../support/nginx_cond.h"


static int
inm(const char *list, const char *etag)
{
    return ngx_http_outage_cond_etag((const unsigned char *) list,
                                     strlen(list),
                                     (const unsigned char *) etag,
                                     etag ? strlen(etag) : 0);
}


static void
test_rfc_examples(void)
{
    /* RFC 9110 8.8.3.2: weak comparison */
    CHECK(inm("W/\"1\"", "W/\"1\""));
    CHECK(!inm("W/\"1\"", "W/\"2\""));
    CHECK(inm("W/\"1\"", "\"1\""));
    CHECK(inm("\"1\"", "W/\"1\""));
    CHECK(inm("\"1\"", "\"1\""));

    /* RFC 9110 13.1.2 examples */
    CHECK(inm("\"xyzzy\"", "\"xyzzy\""));
    CHECK(inm("W/\"xyzzy\"", "\"xyzzy\""));
    CHECK(inm("\"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"", "\"r2d2xxxx\""));
    CHECK(inm("W/\"xyzzy\", W/\"r2d2xxxx\", W/\"c3piozzzz\"",
              "\"c3piozzzz\""));
    CHECK(!inm("\"xyzzy\", \"r2d2xxxx\"", "\"c3piozzzz\""));
    CHECK(inm("*", "\"anything\""));
    CHECK(inm("*", NULL));
    CHECK(inm("  *  ", NULL));
    CHECK(!inm("\"a\"", NULL));

    /* a tag is compared whole, not as a prefix or a suffix */
    CHECK(!inm("\"abc\"", "\"ab\""));
    CHECK(!inm("\"ab\"", "\"abc\""));
    CHECK(!inm("\"abc\"x", "\"abc\""));
    CHECK(inm("\"abc\"x, \"abc\"", "\"abc\""));
    CHECK(!inm("w/\"1\"", "\"1\""));             /* W/ is case-sensitive */

    /* an opaque-tag may hold a comma */
    CHECK(inm("\"x,y\"", "\"x,y\""));
    CHECK(inm("\"q\", W/\"x,y\"", "W/\"x,y\""));
    CHECK(!inm("\"x,y\"", "\"y\""));

    /* empty elements and white space */
    CHECK(inm(", ,\t\"1\" ,", "\"1\""));
    CHECK(!inm("", "\"1\""));
    CHECK(!inm(",", "\"1\""));
    CHECK(inm("\"\"", "\"\""));

    /* an unquoted ETag an upstream sent, echoed back */
    CHECK(inm("abc", "abc"));
    CHECK(inm("x, abc", "abc"));
    CHECK(!inm("abcd", "abc"));

    /* "*" inside a list is no wildcard (nginx), nor a tag */
    CHECK(!inm("\"1\", *", "\"2\""));
}


/* tags of which lists are made: commas, blanks and W/ included */

static const char  *tags[] = {
    "\"a\"", "W/\"a\"", "\"b\"", "W/\"b\"", "\"a,b\"", "\"\"", "\"a b\"",
    "\"ab\"", "W/\"ab\"", "\"b,\"", "\"W/a\""
};

#define NTAGS  (sizeof(tags) / sizeof(tags[0]))

static const char  *seps[] = { ",", ", ", " , ", ",\t", ",,", " ,, " };

#define NSEPS  (sizeof(seps) / sizeof(seps[0]))


static void
test_against_nginx(void)
{
    char        list[256];
    size_t      i, k, n, e;
    int         mine, theirs;
    unsigned    seed;

    seed = 15;
    srand(seed);

    for (i = 0; i < 200000; i++) {
        list[0] = '\0';
        n = 1 + (size_t) rand() % 4;

        for (k = 0; k < n; k++) {
            if (k) {
                strcat(list, seps[(size_t) rand() % NSEPS]);
            }

            strcat(list, tags[(size_t) rand() % NTAGS]);
        }

        e = (size_t) rand() % (NTAGS + 1);

        mine = inm(list, e == NTAGS ? NULL : tags[e]);
        theirs = nginx_if_none_match(list, strlen(list),
                                     e == NTAGS ? NULL : tags[e]);

        CHECK(mine == theirs);

        if (mine != theirs) {
            printf("  list [%s] etag [%s]: module %d, nginx %d\n", list,
                   e == NTAGS ? "(none)" : tags[e], mine, theirs);
            return;
        }
    }
}


static void
test_modified(void)
{
    static const time_t  t[] = { -1, 0, 1, 1000000000, 1000000001 };
    static const int     mode[] = { NGX_HTTP_OUTAGE_IMS_OFF,
                                    NGX_HTTP_OUTAGE_IMS_EXACT,
                                    NGX_HTTP_OUTAGE_IMS_BEFORE };
    size_t               i, j, m;

    for (m = 0; m < 3; m++) {
        for (i = 0; i < 5; i++) {
            for (j = 0; j < 5; j++) {
                CHECK(ngx_http_outage_cond_modified(t[i], t[j], mode[m])
                      == nginx_modified(t[i], t[j], mode[m]));
            }
        }
    }

    /* the cases by name */
    CHECK(!ngx_http_outage_cond_modified(100, 100, NGX_HTTP_OUTAGE_IMS_EXACT));
    CHECK(ngx_http_outage_cond_modified(101, 100, NGX_HTTP_OUTAGE_IMS_EXACT));
    CHECK(!ngx_http_outage_cond_modified(101, 100,
                                         NGX_HTTP_OUTAGE_IMS_BEFORE));
    CHECK(ngx_http_outage_cond_modified(99, 100, NGX_HTTP_OUTAGE_IMS_BEFORE));
    CHECK(ngx_http_outage_cond_modified(100, 100, NGX_HTTP_OUTAGE_IMS_OFF));
    CHECK(ngx_http_outage_cond_modified(100, -1, NGX_HTTP_OUTAGE_IMS_BEFORE));
    CHECK(ngx_http_outage_cond_modified(-1, 100, NGX_HTTP_OUTAGE_IMS_BEFORE));
}


int
main(void)
{
    static const unit_test_t  tests[] = {
        { "rfc_examples", test_rfc_examples },
        { "against_nginx", test_against_nginx },
        { "modified", test_modified },
    };

    return unit_run("cond", tests, sizeof(tests) / sizeof(tests[0]));
}
