
/*
 * What the C unit tests share besides the runner: U() for a string
 * literal as bytes, the canary byte that fills a buffer around what a
 * function may write, and xorshift32, a generator that is the same on
 * every machine so that a failing random case can be replayed (each test
 * seeds rng_state itself).  Header-only, like unit_runner.h.
 */


#ifndef _UNIT_HELPERS_H_INCLUDED_
#define _UNIT_HELPERS_H_INCLUDED_


#include <stdint.h>


#define U(s)        ((const unsigned char *) (s))

#define CANARY      0xA5
#define CANARY_LEN  16


static uint32_t  rng_state;

static inline uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}


#endif /* _UNIT_HELPERS_H_INCLUDED_ */
