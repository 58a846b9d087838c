/*
 * crc32.c - the model checksums that catch bit rot a shape check cannot see:
 * CRC-32 (IEEE 802.3, as zlib; slicing by 4), and CRC-32C, which processors
 * compute in hardware, for checking a model at every start.
 */
#include "attntag.h"

#include <pthread.h>

/* Read-only once made: pthread_once makes it safely from any thread. */
static uint32_t table[4][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 4; s++)
            table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xFF];
}

uint32_t at_crc32(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&table_once, make_table);
    const unsigned char *p = data;
    crc = ~crc;
    while (len >= 4) {
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        crc = table[3][crc & 0xFF] ^ table[2][(crc >> 8) & 0xFF] ^ table[1][(crc >> 16) & 0xFF] ^
              table[0][crc >> 24];
        p += 4;
        len -= 4;
    }
    while (len--)
        crc = table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* CRC-32C (Castagnoli), the model file's fast checksum: the SSE 4.2 crc32
 * instruction over three independent streams at once, joined by the algebra
 * of CRCs (appending n zero bytes multiplies the register by x^(8n) modulo
 * the polynomial), else a byte table. Both give the same value. */
#define POLY_C 0x82F63B78u
enum { STREAM = 8192 };

static uint32_t table_c[256];
static uint32_t shift_1, shift_2; /* x^(8 STREAM), x^(16 STREAM) mod P */
static pthread_once_t c_once = PTHREAD_ONCE_INIT;

/* a * b modulo P, bit-reflected (x^0 is the top bit). */
static uint32_t multmodp(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (uint32_t m = 1u << 31; m; m >>= 1) {
        if (a & m)
            p ^= b;
        b = b & 1 ? (b >> 1) ^ POLY_C : b >> 1;
    }
    return p;
}

/* x^(8n) modulo P */
static uint32_t x8n(size_t n)
{
    uint32_t r = 1u << 31, sq = 1u << 23; /* x^0, x^8 */
    for (; n; n >>= 1) {
        if (n & 1)
            r = multmodp(r, sq);
        sq = multmodp(sq, sq);
    }
    return r;
}

static void make_table_c(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? POLY_C ^ (c >> 1) : c >> 1;
        table_c[i] = c;
    }
    shift_1 = x8n(STREAM);
    shift_2 = x8n(2 * STREAM);
}

static uint32_t crc32c_bytes(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len--)
        crc = table_c[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <string.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p,
                                                            size_t len)
{
    while (len >= 3 * STREAM) {
        uint64_t a = crc, b = 0, c = 0, w;
        for (size_t i = 0; i < STREAM; i += 8) {
            memcpy(&w, p + i, 8);
            a = _mm_crc32_u64(a, w);
            memcpy(&w, p + STREAM + i, 8);
            b = _mm_crc32_u64(b, w);
            memcpy(&w, p + 2 * STREAM + i, 8);
            c = _mm_crc32_u64(c, w);
        }
        crc = multmodp(shift_2, (uint32_t)a) ^ multmodp(shift_1, (uint32_t)b) ^ (uint32_t)c;
        p += 3 * STREAM;
        len -= 3 * STREAM;
    }
    uint64_t r = crc, w;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        r = _mm_crc32_u64(r, w);
    }
    crc = (uint32_t)r;
    while (len--)
        crc = _mm_crc32_u8(crc, *p++);
    return crc;
}
#endif

uint32_t at_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&c_once, make_table_c);
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc32c_hw(~crc, data, len);
#endif
    return ~crc32c_bytes(~crc, data, len);
}

uint32_t at_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&c_once, make_table_c);
    return ~crc32c_bytes(~crc, data, len);
}
