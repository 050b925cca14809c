
/*
 * What the libFuzzer targets of the renderers share: fuzz_field() cuts the
 * input into texts at 0x1f bytes, FUZZ_RENDERER(type) defines
 * fuzz_render(), which holds a renderer of "type" to its measure-then-write
 * contract (the same length measured and written, a short buffer never
 * overrun: ASan watches the allocation), and fuzz_json_check() that no
 * JSON string has a raw control byte, an unescaped quote or < >.
 * Header-only: each fuzzer is a program of its own.
 */


#ifndef _FUZZ_RENDER_H_INCLUDED_
#define _FUZZ_RENDER_H_INCLUDED_


#include <stdint.h>
#include <stdlib.h>
#include <string.h>


static const uint8_t *
fuzz_field(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t  *start, *sep;

    start = *p;
    sep = memchr(start, 0x1f, end - start);

    if (sep == NULL) {
        *len = end - start;
        *p = end;

    } else {
        *len = sep - start;
        *p = sep + 1;
    }

    return start;
}


#define FUZZ_RENDERER(type)                                                  \
                                                                             \
typedef size_t (*fuzz_render_pt)(unsigned char *dst, size_t size,            \
    const type *arg);                                                        \
                                                                             \
static unsigned char *                                                       \
fuzz_render(fuzz_render_pt fn, const type *arg, size_t *len)                 \
{                                                                            \
    size_t          need;                                                    \
    unsigned char  *buf;                                                     \
                                                                             \
    need = fn(NULL, 0, arg);                                                 \
    buf = malloc(need + 1);                                                  \
                                                                             \
    if (buf == NULL || fn(buf, need, arg) != need) {                         \
        abort();                                                             \
    }                                                                        \
                                                                             \
    if (fn(buf, need / 3, arg) != need || fn(buf, need, arg) != need) {      \
        abort();                                                             \
    }                                                                        \
                                                                             \
    buf[need] = '\0';                                                        \
    *len = need;                                                             \
                                                                             \
    return buf;                                                              \
}


/* a JSON object (and its final newline) whose strings are all safe */

static void
fuzz_json_check(const unsigned char *p, size_t len)
{
    size_t  i;
    int     in;

    in = 0;

    for (i = 0; i < len; i++) {
        if (in) {
            if (p[i] < 0x20 || p[i] == '<' || p[i] == '>') {
                abort();
            }

            if (p[i] == '\\') {
                i++;
                continue;
            }

            if (p[i] == '"') {
                in = 0;
            }

        } else if (p[i] == '"') {
            in = 1;
        }
    }

    if (in || len < 2 || p[0] != '{' || p[len - 2] != '}') {
        abort();
    }
}


#endif /* _FUZZ_RENDER_H_INCLUDED_ */
