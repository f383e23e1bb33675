/*
 * Shared pieces of the fuzz targets (libFuzzer's LLVMFuzzerTestOneInput, or the standalone
 * driver in fuzz_main.c when clang's libFuzzer is not installed).
 *
 * An input is read as: count (1 byte, < 24), mode (1 byte), then `count` (offset, length)
 * pairs of 2 bytes each, then whatever each target needs, then the data buffer. Offsets and
 * lengths are taken modulo data_len + 4, so most items fit and some lie outside the buffer;
 * every call must then return SULTAN_INVALID_PARAMETER, never read out of bounds.
 */
#ifndef SULTAN_FUZZ_COMMON_H
#define SULTAN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sultan_crypto.h"

#define FZ_MAX_ITEMS 24

typedef struct {
    const uint8_t *p;
    size_t n;
} fz_reader;

static inline uint8_t fz_u8(fz_reader *r) {
    if (r->n == 0)
        return 0;
    uint8_t v = r->p[0];
    r->p++, r->n--;
    return v;
}

static inline void fz_bytes(fz_reader *r, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        out[i] = fz_u8(r);
}

typedef struct {
    size_t count;
    uint8_t mode;
    uint16_t raw_off[FZ_MAX_ITEMS], raw_len[FZ_MAX_ITEMS];
    size_t off[FZ_MAX_ITEMS], len[FZ_MAX_ITEMS];
    int in_bounds;
} fz_items;

static inline void fz_read_items(fz_reader *r, fz_items *it) {
    it->count = fz_u8(r) % FZ_MAX_ITEMS;
    it->mode = fz_u8(r);
    for (size_t i = 0; i < it->count; i++) {
        it->raw_off[i] = (uint16_t)(fz_u8(r) | fz_u8(r) << 8);
        it->raw_len[i] = (uint16_t)(fz_u8(r) | fz_u8(r) << 8);
    }
}

/* Resolve offsets once the data buffer (the rest of the input) is known. */
static inline void fz_place_items(fz_items *it, size_t data_len) {
    it->in_bounds = 1;
    for (size_t i = 0; i < it->count; i++) {
        it->off[i] = it->raw_off[i] % (data_len + 4);
        it->len[i] = it->raw_len[i] % (data_len + 4);
        if (it->off[i] > data_len || it->len[i] > data_len - it->off[i])
            it->in_bounds = 0;
    }
}

static inline void fz_require(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "fuzz invariant violated: %s\n", what);
        abort();
    }
}

static inline void fz_sha256(const uint8_t *p, size_t n, uint8_t out[32]) {
    unsigned int len = 0;
    if (EVP_Digest(n ? p : (const uint8_t *)"", n, out, &len, EVP_sha256(), NULL) != 1)
        abort();
}

static inline void fz_sha256_prefixed(uint8_t prefix, const uint8_t *p, size_t n, uint8_t out[32]) {
    uint8_t *buf = malloc(n + 1);
    if (buf == NULL)
        abort();
    buf[0] = prefix;
    if (n)
        memcpy(buf + 1, p, n);
    fz_sha256(buf, n + 1, out);
    free(buf);
}

#endif
