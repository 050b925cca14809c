
/*
 * Unit tests for ngx_http_outage_resp.c, the walk of the push connection's
 * RESP2 replies: where each reply ends is checked against hiredis's own
 * reader (the oracle) on random replies cut into random pieces; then the
 * limits: "over" for what is skipped, BAD for what drops the link.  And
 * the poll connection's filter (ngx_http_outage_resp_cut): random replies
 * in random pieces come out byte for byte, but for each string longer than
 * its max, which is announced once and replaced by what the caller stands
 * in for it; a length past its cap stops it.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "ngx_http_outage_resp.h"


static int  failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)


static const ngx_http_outage_resp_limits_t  limits = {
    3, 100, 16, 4096, 1 << 20
};

/* wide enough that random replies are never "over": boundaries only */
static const ngx_http_outage_resp_limits_t  wide = {
    1000, 1 << 20, 1 << 20, 1 << 30, 1 << 30
};


static size_t
gen(unsigned char *p, int depth)
{
    int     k, i, n;
    size_t  len;

    k = rand() % (depth < 3 ? 7 : 5);

    switch (k) {
    case 0:
        return (size_t) sprintf((char *) p, "+OK %d\r\n", rand());
    case 1:
        return (size_t) sprintf((char *) p, "-ERR a \r b %d\r\n", rand());
    case 2:
        return (size_t) sprintf((char *) p, ":%d\r\n", rand() - RAND_MAX / 2);
    case 3:
        return (size_t) sprintf((char *) p, "$-1\r\n");
    case 4:
        n = rand() % 40;
        len = (size_t) sprintf((char *) p, "$%d\r\n", n);
        for (i = 0; i < n; i++) {
            /* CR, LF, '*' and '$' inside a string are its bytes */
            p[len++] = "ab\r\n*$:+-x"[rand() % 11];
        }
        p[len++] = '\r';
        p[len++] = '\n';
        return len;
    case 5:
        return (size_t) sprintf((char *) p, "*%d\r\n", rand() % 2 ? 0 : -1);
    default:
        n = 1 + rand() % 4;
        len = (size_t) sprintf((char *) p, "*%d\r\n", n);
        for (i = 0; i < n; i++) {
            len += gen(p + len, depth + 1);
        }
        return len;
    }
}


/* random replies, random pieces: ends where hiredis's reader has a reply */

static void
test_boundaries_match_hiredis(void)
{
    int                      round, replies, rc;
    void                    *reply;
    size_t                   len, pos, piece, used, start;
    redisReader             *r;
    unsigned char           *buf;
    ngx_http_outage_resp_t   w;

    buf = malloc(1 << 20);

    for (round = 0; round < 300; round++) {
        len = 0;
        replies = 1 + rand() % 20;

        for (int i = 0; i < replies; i++) {
            /* the top of a reply: an array, or anything */
            len += gen(buf + len, 0);
        }

        ngx_http_outage_resp_init(&w, &wide);
        r = redisReaderCreate();

        pos = 0;
        start = 0;
        int ends = 0;

        while (pos < len) {
            piece = 1 + rand() % 17;
            if (piece > len - pos) {
                piece = len - pos;
            }

            rc = ngx_http_outage_resp_walk(&w, buf + pos, piece, &used);
            CHECK(rc != NGX_HTTP_OUTAGE_RESP_BAD, "bad: %s", w.reason);
            if (rc == NGX_HTTP_OUTAGE_RESP_BAD) {
                break;
            }

            CHECK(!w.over, "over: %s", w.reason);

            if (rc == NGX_HTTP_OUTAGE_RESP_END) {
                /* one byte short: hiredis has nothing yet; then one reply */
                redisReaderFeed(r, (char *) buf + start,
                                pos + used - start - 1);
                reply = NULL;
                CHECK(redisReaderGetReply(r, &reply) == REDIS_OK
                      && reply == NULL, "hiredis saw a reply early, round "
                      "%d at %zu", round, pos + used);
                if (reply) {
                    freeReplyObject(reply);
                }

                redisReaderFeed(r, (char *) buf + pos + used - 1, 1);
                CHECK(redisReaderGetReply(r, &reply) == REDIS_OK
                      && reply != NULL, "hiredis has no reply, round %d at "
                      "%zu", round, pos + used);
                if (reply) {
                    freeReplyObject(reply);
                }

                start = pos + used;
                ends++;
            }

            pos += used;
        }

        CHECK(ends == replies, "round %d: %d ends for %d replies", round,
              ends, replies);
        CHECK(start == len, "round %d: %zu of %zu bytes", round, start, len);

        redisReaderFree(r);
    }

    free(buf);
}


static int
walk_all(ngx_http_outage_resp_t *w, const char *s, size_t len, size_t *end)
{
    int     rc;
    size_t  pos, used;

    ngx_http_outage_resp_init(w, &limits);

    for (pos = 0; pos < len; pos += used) {
        /* byte by byte: every state is left and entered mid-buffer */
        rc = ngx_http_outage_resp_walk(w, (const unsigned char *) s + pos, 1,
                                       &used);
        if (rc != NGX_HTTP_OUTAGE_RESP_MORE) {
            *end = pos + used;
            return rc;
        }
    }

    *end = len;
    return NGX_HTTP_OUTAGE_RESP_MORE;
}


static void
expect(const char *s, size_t len, int want_rc, int want_over,
    const char *want_reason)
{
    int                     rc;
    size_t                  end;
    ngx_http_outage_resp_t  w;

    rc = walk_all(&w, s, len, &end);

    CHECK(rc == want_rc, "%.40s: rc %d, want %d (%s)", s, rc, want_rc,
          w.reason);
    if (want_rc == NGX_HTTP_OUTAGE_RESP_END) {
        CHECK(end == len, "%.40s: ended at %zu of %zu", s, end, len);
    }
    CHECK(w.over == (unsigned) want_over, "%.40s: over %d", s, w.over);
    if (want_reason) {
        CHECK(strstr(w.reason, want_reason) != NULL, "%.40s: reason \"%s\", "
              "want \"%s\"", s, w.reason, want_reason);
    }
}


static void
test_limits(void)
{
    char    *big;
    size_t   n;

#define S(x)  x, sizeof(x) - 1

    /* the shape of an invalidation, within limits */
    expect(S("*3\r\n$7\r\nmessage\r\n$3\r\nch!\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n"),
           NGX_HTTP_OUTAGE_RESP_END, 0, NULL);

    /* a string of 101 bytes: skipped, to its very end */
    big = malloc(1 << 21);
    n = (size_t) sprintf(big, "*3\r\n$7\r\nmessage\r\n$3\r\nch!\r\n$101\r\n");
    memset(big + n, 'k', 101);
    n += 101;
    memcpy(big + n, "\r\n", 2);
    n += 2;
    expect(big, n, NGX_HTTP_OUTAGE_RESP_END, 1,
           "a value of 101 bytes (at most 100)");

    /* 17 keys */
    n = (size_t) sprintf(big, "*3\r\n:1\r\n:2\r\n*17\r\n");
    for (int i = 0; i < 17; i++) {
        n += (size_t) sprintf(big + n, ":%d\r\n", i);
    }
    expect(big, n, NGX_HTTP_OUTAGE_RESP_END, 1,
           "an array of 17 elements (at most 16)");

    /* 16 keys of 100 bytes: within; a 3000-byte line as well: over */
    n = (size_t) sprintf(big, "*3\r\n:1\r\n:2\r\n*16\r\n");
    for (int i = 0; i < 16; i++) {
        n += (size_t) sprintf(big + n, "$100\r\n");
        memset(big + n, 'v', 100);
        n += 100;
        n += (size_t) sprintf(big + n, "\r\n");
    }
    expect(big, n, NGX_HTTP_OUTAGE_RESP_END, 0, NULL);
    n = (size_t) sprintf(big, "*3\r\n:1\r\n+%0*d\r\n*16\r\n", 3000, 0);
    for (int i = 0; i < 16; i++) {
        n += (size_t) sprintf(big + n, "$90\r\n");
        memset(big + n, 'v', 90);
        n += 90;
        n += (size_t) sprintf(big + n, "\r\n");
    }
    expect(big, n, NGX_HTTP_OUTAGE_RESP_END, 1, "a line of more than 100");

    /* a 1 MB + 1 string: beyond the cap at its header, nothing read */
    expect(S("*3\r\n:1\r\n:2\r\n$1048577\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0,
           "a value of 1048577 bytes (at most 1048576)");
    /* a string within the cap, in a reply beyond it */
    n = (size_t) sprintf(big, "*3\r\n:1\r\n$1000000\r\n");
    memset(big + n, 'x', 1000000);
    n += 1000000;
    n += (size_t) sprintf(big + n, "\r\n$1000000\r\n");
    memset(big + n, 'x', 1000000);
    n += 1000000;
    expect(big, n, NGX_HTTP_OUTAGE_RESP_BAD, 1, "a reply of more than 1048576");

    /* the top array has the shape of a reply */
    expect(S("*100000000\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0,
           "an array of 100000000 elements (at most 3)");
    expect(S("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0,
           "nested 3 deep");
    expect(S("*1\r\n*1\r\n*1\r\n*0\r\n"), NGX_HTTP_OUTAGE_RESP_END, 0, NULL);

    /* not RESP2 */
    expect(S("@@!!garbage\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0,
           "Protocol error, got \"@\" as reply type byte");
    expect(S("%1\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0, "Protocol error");
    expect(S("$5\r\nabcdefg\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0,
           "not followed by CRLF");
    expect(S("$-2\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0, "negative");
    expect(S("$\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0, "without a number");
    expect(S("*1x\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0, "bad number");
    expect(S("$999999999999999999999999999999\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0,
           "longer than");
    expect(S("$99999999999999999999\r\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0,
           "bad number");
    expect(S(":1\rx\n"), NGX_HTTP_OUTAGE_RESP_BAD, 0, "CR without LF");

    /* a nil, and an error with a lone CR, are complete replies */
    expect(S("$-1\r\n"), NGX_HTTP_OUTAGE_RESP_END, 0, NULL);
    expect(S("*-1\r\n"), NGX_HTTP_OUTAGE_RESP_END, 0, NULL);
    expect(S("-ERR a\rb\r\n"), NGX_HTTP_OUTAGE_RESP_END, 0, NULL);

    free(big);
#undef S
}


/*
 * A lone CR is one character of a status or error line: wherever it falls
 * (also right after the limit), the line is "over" exactly when it has
 * more characters than value_max, with the push link's own limits.
 */

static void
test_lone_cr_at_the_line_limit(void)
{
    int                     rc;
    size_t                  len, used, before, total;
    unsigned char          *p;
    ngx_http_outage_resp_t  w;

    static const ngx_http_outage_resp_limits_t  push = {
        3, 65536, 1024, 512 * 1024, 32 * 1024 * 1024
    };

    static const struct {
        size_t  before;     /* characters before the lone CR */
        size_t  total;      /* characters of the line, CR included */
        int     over;
    } cases[] = {
        { 65534, 65535, 0 },
        { 65535, 65536, 0 },        /* exactly value_max */
        { 65535, 65537, 1 },
        { 65536, 65537, 1 },        /* the CR is the excess */
        { 65536, 100000, 1 },       /* stepped over "== max + 1" */
        { 65537, 100000, 1 },
    };

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        before = cases[k].before;
        total = cases[k].total;
        len = 1 + total + 2;

        p = malloc(len);
        if (p == NULL) {
            abort();
        }

        p[0] = (k & 1) ? '-' : '+';
        memset(p + 1, 'a', total);
        p[1 + before] = '\r';
        p[len - 2] = '\r';
        p[len - 1] = '\n';

        /* in one piece, and byte by byte */
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            ngx_http_outage_resp_init(&w, &push);
            rc = NGX_HTTP_OUTAGE_RESP_MORE;

            for (size_t pos = 0; pos < len; pos += used) {
                rc = ngx_http_outage_resp_walk(&w, p + pos,
                                               bytewise ? 1 : len - pos,
                                               &used);
                if (rc != NGX_HTTP_OUTAGE_RESP_MORE) {
                    used += pos;
                    break;
                }
            }

            CHECK(rc == NGX_HTTP_OUTAGE_RESP_END && used == len,
                  "lone CR after %zu of %zu: rc %d", before, total, rc);
            CHECK(w.over == (unsigned) cases[k].over,
                  "lone CR after %zu of %zu (%s): over %d, want %d",
                  before, total, bytewise ? "bytewise" : "whole", w.over,
                  cases[k].over);
            /* a line, not a message: the caller refuses it, not skips */
            CHECK(w.top == p[0], "top %c, want %c", w.top, p[0]);
            if (cases[k].over) {
                CHECK(strstr(w.reason, "a line of more than 65536") != NULL,
                      "lone CR after %zu: reason \"%s\"", before, w.reason);
            }
        }

        free(p);
    }
}


/* after a skipped reply, the next is walked afresh */

static void
test_next_reply_after_over(void)
{
    int                     rc;
    size_t                  used, n;
    char                    buf[512];
    ngx_http_outage_resp_t  w;

    n = (size_t) sprintf(buf, "*1\r\n$101\r\n%0*d\r\n*1\r\n:7\r\n", 101, 0);

    ngx_http_outage_resp_init(&w, &limits);

    rc = ngx_http_outage_resp_walk(&w, (unsigned char *) buf, n, &used);
    CHECK(rc == NGX_HTTP_OUTAGE_RESP_END && w.over, "first: %d", rc);
    CHECK(w.top == '*', "first: top %c", w.top);
    CHECK(used == n - 8, "first ends at %zu", used);

    rc = ngx_http_outage_resp_walk(&w, (unsigned char *) buf + used,
                                   n - used, &used);
    CHECK(rc == NGX_HTTP_OUTAGE_RESP_END && !w.over && used == 8,
          "second: %d over %d used %zu", rc, w.over, used);
}


/*
 * Random replies as gen() makes them, written twice: as sent (p) and as
 * the filter with this max should hand them on (q), a longer string being
 * replaced by "$0\r\n\r\n" (what redis.c stands in for it); *big counts
 * those.
 */

static void
gen_cut(unsigned char *p, size_t *pl, unsigned char *q, size_t *ql,
    int depth, int max, int *big)
{
    int     k, i, n;
    size_t  len;

    k = rand() % (depth < 3 ? 6 : 4);

    switch (k) {
    case 0:
        len = (size_t) sprintf((char *) p + *pl, "+OK $%d\r\n", rand());
        break;
    case 1:
        len = (size_t) sprintf((char *) p + *pl, "-ERR $1 \r b %d\r\n",
                               rand());
        break;
    case 2:
        len = (size_t) sprintf((char *) p + *pl, "$-1\r\n");
        break;
    case 3:
        n = rand() % 60;
        len = (size_t) sprintf((char *) p + *pl, "$%d\r\n", n);
        for (i = 0; i < n; i++) {
            /* CR, LF, '*' and '$' inside a string are its bytes */
            p[*pl + len++] = "ab\r\n*$:+-x"[rand() % 11];
        }
        p[*pl + len++] = '\r';
        p[*pl + len++] = '\n';

        if (n > max) {
            memcpy(q + *ql, "$0\r\n\r\n", 6);
            *ql += 6;
            *pl += len;
            (*big)++;
            return;
        }

        break;
    case 4:
        len = (size_t) sprintf((char *) p + *pl, "*%d\r\n",
                               rand() % 2 ? 0 : -1);
        break;
    default:
        n = 1 + rand() % 4;
        len = (size_t) sprintf((char *) p + *pl, "*%d\r\n", n);
        memcpy(q + *ql, p + *pl, len);
        *pl += len;
        *ql += len;
        for (i = 0; i < n; i++) {
            gen_cut(p, pl, q, ql, depth + 1, max, big);
        }
        return;
    }

    memcpy(q + *ql, p + *pl, len);
    *pl += len;
    *ql += len;
}


static void
test_cut_filter(void)
{
    int                          round, rc, big, seen, max;
    size_t                       len, qlen, olen, pos, piece, used, n;
    unsigned char               *buf, *want, *got;
    ngx_http_outage_resp_cut_t   c;

    buf = malloc(1 << 20);
    want = malloc(1 << 20);
    got = malloc(1 << 20);

    for (round = 0; round < 600; round++) {
        /* 60: nothing is skipped, the filter must be the identity */
        max = (round % 3 == 0) ? 60 : rand() % 45;
        len = 0;
        qlen = 0;
        big = 0;

        for (int i = 1 + rand() % 20; i; i--) {
            gen_cut(buf, &len, want, &qlen, 0, max, &big);
        }

        ngx_http_outage_resp_cut_init(&c, (uint64_t) max, 1000);

        pos = 0;
        olen = 0;
        seen = 0;

        while (pos < len) {
            piece = 1 + rand() % 17;
            if (piece > len - pos) {
                piece = len - pos;
            }

            rc = ngx_http_outage_resp_cut(&c, buf + pos, piece, &used,
                                          got + olen, &n);
            CHECK(rc != NGX_HTTP_OUTAGE_RESP_CUT_BAD, "bad: %s", c.reason);
            CHECK(used <= piece && n <= piece + NGX_HTTP_OUTAGE_RESP_LINE,
                  "used %zu of %zu, wrote %zu", used, piece, n);
            if (rc == NGX_HTTP_OUTAGE_RESP_CUT_BAD) {
                break;
            }

            olen += n;
            pos += used;

            if (rc == NGX_HTTP_OUTAGE_RESP_CUT_SKIP) {
                CHECK(c.skipped > (uint64_t) max && c.skipped < 60,
                      "skipped %llu, max %d",
                      (unsigned long long) c.skipped, max);
                memcpy(got + olen, "$0\r\n\r\n", 6);
                olen += 6;
                seen++;
            }
        }

        CHECK(seen == big, "round %d: %d skipped, %d expected", round, seen,
              big);
        CHECK(olen == qlen && memcmp(got, want, qlen) == 0,
              "round %d: output differs (%zu, %zu bytes)", round, olen, qlen);
    }

    free(buf);
    free(want);
    free(got);
}


/* past the cap, or a length that does not fit: stopped, with a reason */

static void
test_cut_cap(void)
{
    int                          rc;
    size_t                       used, n;
    unsigned char                out[128];
    ngx_http_outage_resp_cut_t   c;
    const char                  *s;

    ngx_http_outage_resp_cut_init(&c, 10, 1000);
    s = "*2\r\n$3\r\nabc\r\n$1001\r\nxyz";
    rc = ngx_http_outage_resp_cut(&c, (const unsigned char *) s, strlen(s),
                                  &used, out, &n);
    CHECK(rc == NGX_HTTP_OUTAGE_RESP_CUT_BAD
          && strcmp(c.reason, "a value of 1001 bytes (at most 1000)") == 0
          && n == 13 && memcmp(out, s, 13) == 0
          && used == strlen(s) - 3,
          "cap: %d \"%s\" wrote %zu used %zu", rc, c.reason, n, used);

    ngx_http_outage_resp_cut_init(&c, 10, 1000);
    s = "$99999999999999999999999\r\n";
    rc = ngx_http_outage_resp_cut(&c, (const unsigned char *) s, strlen(s),
                                  &used, out, &n);
    /* 24 bytes without LF: no length of ours, handed on for hiredis */
    CHECK(rc == NGX_HTTP_OUTAGE_RESP_CUT_MORE && n == strlen(s),
          "long header: %d wrote %zu", rc, n);

    ngx_http_outage_resp_cut_init(&c, 10, 1000);
    s = "$18446744073709551616\r\n";
    rc = ngx_http_outage_resp_cut(&c, (const unsigned char *) s, strlen(s),
                                  &used, out, &n);
    CHECK(rc == NGX_HTTP_OUTAGE_RESP_CUT_BAD && n == 0,
          "wrap: %d \"%s\"", rc, c.reason);

    /* a skipped string's bytes are dropped to its CRLF, then copying goes on */
    ngx_http_outage_resp_cut_init(&c, 2, 1000);
    s = "$5\r\n$3\r\nx\r\n:1\r\n";
    rc = ngx_http_outage_resp_cut(&c, (const unsigned char *) s, strlen(s),
                                  &used, out, &n);
    CHECK(rc == NGX_HTTP_OUTAGE_RESP_CUT_SKIP && n == 0 && used == 4
          && c.skipped == 5, "skip: %d %zu %zu", rc, n, used);
    rc = ngx_http_outage_resp_cut(&c, (const unsigned char *) s + used,
                                  strlen(s) - used, &used, out, &n);
    CHECK(rc == NGX_HTTP_OUTAGE_RESP_CUT_MORE && n == 4
          && memcmp(out, ":1\r\n", 4) == 0, "after skip: %d %zu", rc, n);
}


/* INFO fields: at a line's start, CRLF or LF, absent, empty */

static void
test_info_field(void)
{
    size_t               n;
    const unsigned char  *v;
    static const char     info[] =
        "# Replication\r\nrole:slave\r\nmaster_role:x\r\n"
        "master_link_status:down\r\nempty:\r\nlast:7";

#define INFO(name) ngx_http_outage_resp_info((const unsigned char *) info,  \
                                             sizeof(info) - 1, name, &n)

    v = INFO("role");
    CHECK(v && n == 5 && memcmp(v, "slave", 5) == 0, "role: %zu", n);
    v = INFO("master_link_status");
    CHECK(v && n == 4 && memcmp(v, "down", 4) == 0, "link: %zu", n);
    v = INFO("empty");
    CHECK(v && n == 0, "empty: %zu", n);
    v = INFO("last");
    CHECK(v && n == 1 && *v == '7', "last: %zu", n);
    v = INFO("master");
    CHECK(v == NULL && n == 0, "a prefix of a name is no field");
    v = INFO("Replication");
    CHECK(v == NULL, "a section header is no field");
    v = ngx_http_outage_resp_info((const unsigned char *) "a:1\nb:2", 7,
                                  "b", &n);
    CHECK(v && n == 1 && *v == '2', "LF lines: %zu", n);

#undef INFO
}


int
main(void)
{
    srand(14);

    test_boundaries_match_hiredis();
    test_limits();
    test_next_reply_after_over();
    test_lone_cr_at_the_line_limit();
    test_cut_filter();
    test_cut_cap();
    test_info_field();

    if (failed) {
        fprintf(stderr, "test_resp: %d failed\n", failed);
        return 1;
    }

    printf("test_resp: ok\n");
    return 0;
}
