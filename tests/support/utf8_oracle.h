/*
 * The tests' own UTF-8 validator, independent of the module's: it decodes
 * each code point, then rejects overlong forms, surrogates and values past
 * U+10FFFF.  Unit tests and fuzzers use it as the oracle for "the module
 * only ever writes valid UTF-8".
 */

#ifndef OUTAGE_TEST_UTF8_ORACLE_H
#define OUTAGE_TEST_UTF8_ORACLE_H

#include <stddef.h>
#include <stdint.h>


static int
oracle_utf8_ok(const unsigned char *p, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp, min;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        if ((p[i] & 0xE0) == 0xC0) {
            n = 2; cp = p[i] & 0x1F; min = 0x80;
        } else if ((p[i] & 0xF0) == 0xE0) {
            n = 3; cp = p[i] & 0x0F; min = 0x800;
        } else if ((p[i] & 0xF8) == 0xF0) {
            n = 4; cp = p[i] & 0x07; min = 0x10000;
        } else {
            return 0;
        }

        if (i + n > len) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }

        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
    }

    return 1;
}

#endif
