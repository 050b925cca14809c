
/*
 * libFuzzer target for ngx_http_outage_payload_parse(): the input is RESP
 * bytes as Redis (or anything impersonating it) would send.  Up to four
 * replies are read with hiredis and handed to the parser in the shapes the
 * module uses (GET + HGETALL pair, elements of an EXEC array, one alone).
 * Every result must respect the incident invariants checked below.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ingx_outage_module \
 *       tests/fuzz/fuzz_payload.c ngx_outage_module/ngx_http_outage_payload.c \
 *       ngx_outage_module/ngx_http_outage_text.c -lhiredis -o /tmp/fuzz_payload
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_payload.h"
#include "../support/utf8_oracle.h"


#define REPLIES_MAX  4


/* sanitised text: valid UTF-8, no controls (C0, DEL, C1), trimmed */

static void
fuzz_check_text(const unsigned char *p, size_t len, size_t max)
{
    size_t  i;

    if (len > max || !oracle_utf8_ok(p, len)) {
        __builtin_trap();
    }

    if (len > 0 && (p[0] == ' ' || p[len - 1] == ' ')) {
        __builtin_trap();
    }

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7F
            || (p[i] == 0xC2 && i + 1 < len && p[i + 1] < 0xA0))
        {
            __builtin_trap();
        }
    }
}


static void
fuzz_check(const ngx_http_outage_incident_t *inc, int rc, const char *err)
{
    unsigned char  *buf;
    size_t          need;

    if (rc != 0 && rc != -1) {
        __builtin_trap();
    }

    if (inc->state < NGX_HTTP_OUTAGE_STATE_NONE
        || inc->state > NGX_HTTP_OUTAGE_STATE_MAINTENANCE)
    {
        __builtin_trap();
    }

    if (rc == -1) {
        if (err == NULL || inc->state != NGX_HTTP_OUTAGE_STATE_NONE
            || inc->message_len || inc->eta_text_len || inc->link_len
            || inc->eta || inc->since || inc->starts || inc->ends
            || inc->warnings || inc->truncated)
        {
            __builtin_trap();
        }

        return;
    }

    if (err != NULL) {
        __builtin_trap();
    }

    fuzz_check_text(inc->message, inc->message_len,
                    NGX_HTTP_OUTAGE_MESSAGE_MAX);
    fuzz_check_text(inc->eta_text, inc->eta_text_len, NGX_HTTP_OUTAGE_ETA_MAX);

    if (inc->link_len >= NGX_HTTP_OUTAGE_LINK_MAX
        || (inc->link_len
            && !ngx_http_outage_link_valid(inc->link, inc->link_len)))
    {
        __builtin_trap();
    }

    if (inc->warnings & ~(unsigned) NGX_HTTP_OUTAGE_PW_ALL) {
        __builtin_trap();
    }

    if (inc->eta < 0 || inc->since < 0 || inc->starts < 0 || inc->ends < 0
        || (inc->eta && inc->eta < 946684800)
        || (inc->since && inc->since < 946684800)
        || (inc->starts && inc->starts < 946684800)
        || (inc->ends && inc->ends < 946684800)
        || (inc->starts && inc->ends && inc->ends <= inc->starts
            && !(inc->warnings & NGX_HTTP_OUTAGE_PW_BAD_WINDOW)))
    {
        __builtin_trap();
    }

    if (inc->truncated
        && !(inc->warnings & NGX_HTTP_OUTAGE_PW_OVERSIZE))
    {
        __builtin_trap();
    }

    /*
     * An unusable window (a start or an end nobody can read, an end not
     * after the start) is only announced, never "now"; an unreadable start
     * is no start; and it is said.  An end nobody can read with no start
     * at all (the incident is declared now) is ignored, said, and the
     * incident is in effect with no end; with a start it is the window's.
     */
    if (inc->pending != !!(inc->warnings & (NGX_HTTP_OUTAGE_PW_BAD_STARTS
                                            | NGX_HTTP_OUTAGE_PW_BAD_ENDS
                                            | NGX_HTTP_OUTAGE_PW_BAD_WINDOW))
        || ((inc->warnings & NGX_HTTP_OUTAGE_PW_BAD_STARTS) && inc->starts)
        || ((inc->warnings & NGX_HTTP_OUTAGE_PW_BAD_ENDS)
            && !inc->starts
            && !(inc->warnings & NGX_HTTP_OUTAGE_PW_BAD_STARTS))
        || ((inc->warnings & NGX_HTTP_OUTAGE_PW_ENDS_IGNORED)
            && (inc->starts || inc->ends
                || (inc->warnings & (NGX_HTTP_OUTAGE_PW_BAD_STARTS
                                     | NGX_HTTP_OUTAGE_PW_BAD_ENDS))))
        || (inc->warning_len == 0
            && (inc->warnings & (NGX_HTTP_OUTAGE_PW_BAD_TIME
                                 | NGX_HTTP_OUTAGE_PW_BAD_STARTS
                                 | NGX_HTTP_OUTAGE_PW_BAD_ENDS
                                 | NGX_HTTP_OUTAGE_PW_ENDS_IGNORED
                                 | NGX_HTTP_OUTAGE_PW_BAD_WINDOW))))
    {
        __builtin_trap();
    }

    /* the warning quotes Redis text: sanitised like the message */
    if (inc->warning_len > NGX_HTTP_OUTAGE_PWARN_MAX
        || !oracle_utf8_ok(inc->warning, inc->warning_len))
    {
        __builtin_trap();
    }

    for (need = 0; need < inc->warning_len; need++) {
        if (inc->warning[need] < 0x20 || inc->warning[need] == 0x7F) {
            __builtin_trap();
        }
    }

    /* what the module does next: escape for a page, exactly sized */
    need = ngx_http_outage_html_escape(NULL, 0, inc->message,
                                       inc->message_len);
    buf = malloc(need);

    if (buf != NULL) {
        if (ngx_http_outage_html_escape(buf, need, inc->message,
                                        inc->message_len) != need)
        {
            __builtin_trap();
        }

        free(buf);
    }
}


static void
fuzz_parse(const redisReply *get, const redisReply *hgetall)
{
    ngx_http_outage_incident_t  inc;
    const char                 *err;
    int                         rc;

    memset(&inc, 0xA5, sizeof(inc));
    err = (const char *) "garbage";

    rc = ngx_http_outage_payload_parse(get, hgetall, &inc, &err);
    fuzz_check(&inc, rc, err);
}


/*
 * hiredis 0.14 allocates the element vector as soon as it reads an array
 * header, so "*2000000000" is an allocation failure in hiredis, not a bug
 * here: skip inputs that declare huge counts anywhere.
 */

static int
fuzz_too_big(const uint8_t *data, size_t size)
{
    size_t  i, digits;

    for (i = 0; i < size; i++) {
        if (data[i] != '*' && data[i] != '$') {
            continue;
        }

        digits = 0;

        while (i + 1 < size && data[i + 1] >= '0' && data[i + 1] <= '9') {
            i++;
            digits++;
        }

        if (digits > 5) {
            return 1;
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader  *reader;
    redisReply   *r[REPLIES_MAX], *first;
    void         *reply;
    int           n, i;
    time_t        t;

    /* the whole input as a time field: a time from 2000 on, or nothing */
    t = ngx_http_outage_payload_time(data, size);

    if (t != (time_t) -1 && (t < 946684800 || t > 253402300799LL)) {
        __builtin_trap();
    }

    if (fuzz_too_big(data, size)) {
        return 0;
    }

    reader = redisReaderCreate();
    if (reader == NULL) {
        return 0;
    }

    n = 0;

    if (redisReaderFeed(reader, (const char *) data, size) == REDIS_OK) {
        while (n < REPLIES_MAX) {
            reply = NULL;

            if (redisReaderGetReply(reader, &reply) != REDIS_OK
                || reply == NULL)
            {
                break;
            }

            r[n++] = reply;
        }
    }

    redisReaderFree(reader);

    for (i = 0; i < n; i++) {
        fuzz_parse(r[i], NULL);
        fuzz_parse(NULL, r[i]);
    }

    if (n >= 2) {
        fuzz_parse(r[0], r[1]);
        fuzz_parse(r[1], r[0]);
    }

    if (n >= 1) {
        first = r[0];

        /* the EXEC reply shape the module really gets */
        if (first->type == REDIS_REPLY_ARRAY && first->elements >= 2) {
            fuzz_parse(first->element[0], first->element[1]);
        }
    }

    for (i = 0; i < n; i++) {
        freeReplyObject(r[i]);
    }

    return 0;
}
