/* Internal helpers shared by the sources of the crypto core; not part of the ABI. */
#ifndef SULTAN_CRYPTO_INTERNAL_H
#define SULTAN_CRYPTO_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sultan_crypto.h"

/* Work shared by the threads of one call: items are handed out in chunks of `chunk`. */
typedef struct {
    atomic_size_t next;
    size_t count;
    size_t chunk;
    atomic_int status; /* first error any worker hit; SULTAN_SUCCESS while none */
} sc_cursor;

/* A worker takes chunks with sc_next_chunk until it returns 0, then returns a status. */
typedef int (*sc_worker_fn)(void *arg, sc_cursor *cursor);

/* 1 and [*begin, *end) set while work remains and no worker has failed; else 0. */
int sc_next_chunk(sc_cursor *cursor, size_t *begin, size_t *end);

/* Record a worker's failure so that the others stop early. */
void sc_fail(sc_cursor *cursor, int status);

/* SULTAN_SUCCESS if `threads` is 0..SULTAN_MAX_THREADS, else SULTAN_INVALID_PARAMETER. */
int sc_check_threads(uint32_t threads);

/*
 * Run `fn` over `count` items on up to `threads` threads (0 = online CPUs), using no more
 * threads than count / min_per_thread. The calling thread works too; every thread started
 * is joined before returning. Returns the first failure of any worker, or SULTAN_SUCCESS.
 */
int sc_parallel(sc_worker_fn fn, void *arg, size_t count, size_t chunk, size_t min_per_thread,
                uint32_t threads);

/* Item pointers: offsets/lengths present when count > 0, data present when data_len > 0. */
int sc_check_item_ptrs(const uint8_t *data, size_t data_len, const size_t *offsets,
                       const size_t *lengths, size_t count);

/* Item bounds: every (offsets[i], lengths[i]) inside [0, data_len). Run after every check
 * that needs no reading, so that a wrong count is refused before the arrays are read. */
int sc_check_item_bounds(size_t data_len, const size_t *offsets, const size_t *lengths,
                         size_t count);

/* a * b without overflow: 1 and *out set, or 0. */
static inline int sc_mul(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

/* SHA-256 of the concatenation of up to three parts (NULL parts must have length 0). */
int sc_sha256_parts(void *md_ctx, const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2,
                    const uint8_t *p3, size_t l3, uint8_t out[SULTAN_SHA256_SIZE]);

/* A new OpenSSL digest context for sc_sha256_parts (NULL on failure), and its release. */
void *sc_md_ctx_new(void);
void sc_md_ctx_free(void *md_ctx);

#endif
