/*
 * rng.c - the random numbers of training and dropout: xorshift64*, a stream
 * per state or per use, so that a run is the same for the same seed whatever
 * the threads do.
 */
#include "internal.h"

float at_rand(uint64_t *rng)
{
    uint64_t x = *rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return (float)((x * 0x2545F4914F6CDD1DULL) >> 40) / 16777216.0f;
}
