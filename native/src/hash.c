/* SHA-256 batches (OpenSSL libcrypto) and RFC-6962 Merkle trees assembled over them. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

static const uint8_t LEAF_PREFIX = 0x00;
static const uint8_t INNER_PREFIX = 0x01;

/* ---- the shared SHA-256 implementation handle ------------------------------------------- */

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static const EVP_MD *md_sha256 = NULL; /* written once under md_once, read-only afterwards */

static void md_init(void) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    /* An explicitly fetched implementation avoids a provider look-up on every digest. */
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (md_sha256 == NULL)
        md_sha256 = EVP_sha256();
#else
    md_sha256 = EVP_sha256();
#endif
}

static const EVP_MD *sha256_md(void) {
    if (pthread_once(&md_once, md_init) != 0)
        return NULL;
    return md_sha256;
}

void *sc_md_ctx_new(void) {
    if (sha256_md() == NULL)
        return NULL;
    return EVP_MD_CTX_new();
}

void sc_md_ctx_free(void *md_ctx) { EVP_MD_CTX_free((EVP_MD_CTX *)md_ctx); }

int sc_sha256_parts(void *md_ctx, const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2,
                    const uint8_t *p3, size_t l3, uint8_t out[SULTAN_SHA256_SIZE]) {
    EVP_MD_CTX *ctx = md_ctx;
    unsigned int n = 0;
    if (EVP_DigestInit_ex(ctx, md_sha256, NULL) != 1)
        return SULTAN_INTERNAL_ERROR;
    if (l1 && EVP_DigestUpdate(ctx, p1, l1) != 1)
        return SULTAN_INTERNAL_ERROR;
    if (l2 && EVP_DigestUpdate(ctx, p2, l2) != 1)
        return SULTAN_INTERNAL_ERROR;
    if (l3 && EVP_DigestUpdate(ctx, p3, l3) != 1)
        return SULTAN_INTERNAL_ERROR;
    if (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != SULTAN_SHA256_SIZE)
        return SULTAN_INTERNAL_ERROR;
    return SULTAN_SUCCESS;
}

/* ---- batches of digests ------------------------------------------------------------------ */

typedef struct {
    const uint8_t *data;
    const size_t *offsets;
    const size_t *lengths;
    const uint8_t *prefix; /* NULL, or one byte hashed before every item */
    uint8_t *out;
} digest_job;

static int digest_worker(void *arg, sc_cursor *cursor) {
    digest_job *job = arg;
    void *ctx = sc_md_ctx_new();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    size_t begin, end;
    int rc = SULTAN_SUCCESS;
    size_t plen = job->prefix ? 1 : 0;
    while (rc == SULTAN_SUCCESS && sc_next_chunk(cursor, &begin, &end)) {
        for (size_t i = begin; i < end && rc == SULTAN_SUCCESS; i++) {
            const uint8_t *item = job->lengths[i] ? job->data + job->offsets[i] : NULL;
            rc = sc_sha256_parts(ctx, job->prefix, plen, item, job->lengths[i], NULL, 0,
                                 job->out + i * SULTAN_SHA256_SIZE);
        }
    }
    sc_md_ctx_free(ctx);
    return rc;
}

/* Enough input per thread (~1 MiB, over half a millisecond of hashing) that starting a
 * thread (~0.05-0.1 ms, OpenSSL's per-thread set-up included) pays off. */
static size_t hash_items_per_thread(size_t data_len, size_t count) {
    size_t avg = count ? data_len / count : 0;
    size_t n = ((size_t)1 << 20) / (avg + 64);
    return n < 1 ? 1 : n;
}

/* Items handed out at a time: about 64 KiB of input, so big items still spread out. */
static size_t hash_chunk(size_t data_len, size_t count) {
    size_t avg = count ? data_len / count : 0;
    size_t n = (size_t)65536 / (avg + 64);
    return n < 1 ? 1 : n > 256 ? 256 : n;
}

static int digest_items(const uint8_t *data, size_t data_len, const size_t *offsets,
                        const size_t *lengths, size_t count, const uint8_t *prefix, uint8_t *out,
                        uint32_t threads) {
    if (count == 0)
        return SULTAN_SUCCESS;
    if (sha256_md() == NULL)
        return SULTAN_INTERNAL_ERROR;
    digest_job job = {data, offsets, lengths, prefix, out};
    return sc_parallel(digest_worker, &job, count, hash_chunk(data_len, count),
                       hash_items_per_thread(data_len, count), threads);
}

int sultan_sha256_batch(const uint8_t *data, size_t data_len, const size_t *offsets,
                        const size_t *lengths, size_t count, uint8_t *digests_out,
                        size_t digests_out_len, uint32_t threads) {
    size_t need;
    if (count > 0 && digests_out == NULL)
        return SULTAN_NULL_POINTER;
    int rc = sc_check_item_ptrs(data, data_len, offsets, lengths, count);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (sc_check_threads(threads) != SULTAN_SUCCESS || !sc_mul(count, SULTAN_SHA256_SIZE, &need) ||
        digests_out_len < need)
        return SULTAN_INVALID_PARAMETER;
    rc = sc_check_item_bounds(data_len, offsets, lengths, count);
    if (rc != SULTAN_SUCCESS)
        return rc;
    return digest_items(data, data_len, offsets, lengths, count, NULL, digests_out, threads);
}

/* ---- Merkle trees ------------------------------------------------------------------------ */

/*
 * RFC 6962's split at the largest power of two below n is the same tree as hashing
 * neighbours pairwise, level by level, and carrying an unpaired last node up unchanged.
 * `level` holds n hashes and is overwritten; the root ends up in level[0..32).
 */
static int reduce_level_in_place(void *ctx, uint8_t *level, size_t n) {
    uint8_t tmp[SULTAN_SHA256_SIZE];
    while (n > 1) {
        size_t pairs = n / 2;
        for (size_t i = 0; i < pairs; i++) {
            const uint8_t *left = level + 2 * i * SULTAN_SHA256_SIZE;
            int rc = sc_sha256_parts(ctx, &INNER_PREFIX, 1, left, SULTAN_SHA256_SIZE,
                                     left + SULTAN_SHA256_SIZE, SULTAN_SHA256_SIZE, tmp);
            if (rc != SULTAN_SUCCESS)
                return rc;
            memcpy(level + i * SULTAN_SHA256_SIZE, tmp, SULTAN_SHA256_SIZE);
        }
        if (n % 2)
            memmove(level + pairs * SULTAN_SHA256_SIZE, level + (n - 1) * SULTAN_SHA256_SIZE,
                    SULTAN_SHA256_SIZE);
        n = pairs + n % 2;
    }
    return SULTAN_SUCCESS;
}

static int empty_root(uint8_t *root_out) {
    void *ctx = sc_md_ctx_new();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    int rc = sc_sha256_parts(ctx, NULL, 0, NULL, 0, NULL, 0, root_out);
    sc_md_ctx_free(ctx);
    return rc;
}

static int root_of_hashes(uint8_t *hashes, size_t count, uint8_t *root_out) {
    void *ctx = sc_md_ctx_new();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    int rc = reduce_level_in_place(ctx, hashes, count);
    sc_md_ctx_free(ctx);
    if (rc == SULTAN_SUCCESS)
        memcpy(root_out, hashes, SULTAN_SHA256_SIZE);
    return rc;
}

int sultan_merkle_root(const uint8_t *data, size_t data_len, const size_t *offsets,
                       const size_t *lengths, size_t count, uint8_t *root_out, size_t root_out_len,
                       uint32_t threads) {
    size_t need;
    if (root_out == NULL)
        return SULTAN_NULL_POINTER;
    int rc = sc_check_item_ptrs(data, data_len, offsets, lengths, count);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (sc_check_threads(threads) != SULTAN_SUCCESS || root_out_len < SULTAN_SHA256_SIZE ||
        !sc_mul(count, SULTAN_SHA256_SIZE, &need))
        return SULTAN_INVALID_PARAMETER;
    rc = sc_check_item_bounds(data_len, offsets, lengths, count);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (count == 0)
        return empty_root(root_out);
    uint8_t *leaves = malloc(need);
    if (leaves == NULL)
        return SULTAN_INTERNAL_ERROR;
    rc = digest_items(data, data_len, offsets, lengths, count, &LEAF_PREFIX, leaves, threads);
    if (rc == SULTAN_SUCCESS)
        rc = root_of_hashes(leaves, count, root_out);
    free(leaves);
    return rc;
}

int sultan_merkle_root_from_leaf_hashes(const uint8_t *leaf_hashes, size_t leaf_hashes_len,
                                        size_t count, uint8_t *root_out, size_t root_out_len) {
    size_t need;
    if (root_out == NULL || (count > 0 && leaf_hashes == NULL))
        return SULTAN_NULL_POINTER;
    if (root_out_len < SULTAN_SHA256_SIZE || !sc_mul(count, SULTAN_SHA256_SIZE, &need) ||
        leaf_hashes_len != need)
        return SULTAN_INVALID_PARAMETER;
    if (count == 0)
        return empty_root(root_out);
    uint8_t *level = malloc(need);
    if (level == NULL)
        return SULTAN_INTERNAL_ERROR;
    memcpy(level, leaf_hashes, need);
    int rc = root_of_hashes(level, count, root_out);
    free(level);
    return rc;
}

int sultan_merkle_proof_depth(size_t count, size_t *depth_out) {
    if (depth_out == NULL)
        return SULTAN_NULL_POINTER;
    size_t depth = 0;
    for (size_t width = 1; width < count; width = width > SIZE_MAX / 2 ? SIZE_MAX : width * 2)
        depth++;
    *depth_out = depth;
    return SULTAN_SUCCESS;
}

int sultan_merkle_proofs(const uint8_t *data, size_t data_len, const size_t *offsets,
                         const size_t *lengths, size_t count, uint8_t *root_out,
                         size_t root_out_len, uint8_t *leaf_hashes_out,
                         size_t leaf_hashes_out_len, uint8_t *aunts_out, size_t aunts_out_len,
                         size_t depth, uint8_t *aunt_counts_out, size_t aunt_counts_out_len,
                         uint32_t threads) {
    size_t hashes_need, aunts_need, want_depth;
    if (root_out == NULL)
        return SULTAN_NULL_POINTER;
    if (count > 0 && (leaf_hashes_out == NULL || aunt_counts_out == NULL))
        return SULTAN_NULL_POINTER;
    sultan_merkle_proof_depth(count, &want_depth);
    if (count > 0 && want_depth > 0 && aunts_out == NULL)
        return SULTAN_NULL_POINTER;
    int rc = sc_check_item_ptrs(data, data_len, offsets, lengths, count);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (sc_check_threads(threads) != SULTAN_SUCCESS || root_out_len < SULTAN_SHA256_SIZE ||
        depth != want_depth || !sc_mul(count, SULTAN_SHA256_SIZE, &hashes_need) ||
        leaf_hashes_out_len < hashes_need || !sc_mul(hashes_need, depth, &aunts_need) ||
        aunts_out_len < aunts_need || aunt_counts_out_len < count)
        return SULTAN_INVALID_PARAMETER;
    rc = sc_check_item_bounds(data_len, offsets, lengths, count);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (count == 0)
        return empty_root(root_out);
    /* Every level of the tree, leaves first: at most 2 x count hashes in all. */
    size_t total = 0, width = count, all_need;
    while (1) {
        total += width;
        if (width == 1)
            break;
        width = width / 2 + width % 2;
    }
    if (!sc_mul(total, SULTAN_SHA256_SIZE, &all_need))
        return SULTAN_INVALID_PARAMETER;
    uint8_t *tree = malloc(all_need);
    if (tree == NULL)
        return SULTAN_INTERNAL_ERROR;
    rc = digest_items(data, data_len, offsets, lengths, count, &LEAF_PREFIX, tree, threads);
    void *ctx = rc == SULTAN_SUCCESS ? sc_md_ctx_new() : NULL;
    if (rc == SULTAN_SUCCESS && ctx == NULL)
        rc = SULTAN_INTERNAL_ERROR;
    /* Build the levels above the leaves. */
    uint8_t *level = tree;
    width = count;
    while (rc == SULTAN_SUCCESS && width > 1) {
        uint8_t *up = level + width * SULTAN_SHA256_SIZE;
        size_t pairs = width / 2;
        for (size_t i = 0; i < pairs && rc == SULTAN_SUCCESS; i++) {
            const uint8_t *left = level + 2 * i * SULTAN_SHA256_SIZE;
            rc = sc_sha256_parts(ctx, &INNER_PREFIX, 1, left, SULTAN_SHA256_SIZE,
                                 left + SULTAN_SHA256_SIZE, SULTAN_SHA256_SIZE,
                                 up + i * SULTAN_SHA256_SIZE);
        }
        if (width % 2)
            memcpy(up + pairs * SULTAN_SHA256_SIZE, level + (width - 1) * SULTAN_SHA256_SIZE,
                   SULTAN_SHA256_SIZE);
        level = up;
        width = pairs + width % 2;
    }
    sc_md_ctx_free(ctx);
    if (rc == SULTAN_SUCCESS) {
        memcpy(root_out, level, SULTAN_SHA256_SIZE);
        memcpy(leaf_hashes_out, tree, hashes_need);
        for (size_t i = 0; i < count; i++) {
            uint8_t *mine = aunts_out ? aunts_out + i * depth * SULTAN_SHA256_SIZE : NULL;
            size_t found = 0, pos = i;
            const uint8_t *lvl = tree;
            for (width = count; width > 1; width = width / 2 + width % 2) {
                size_t sibling = pos ^ 1;
                if (sibling < width) {
                    memcpy(mine + found * SULTAN_SHA256_SIZE, lvl + sibling * SULTAN_SHA256_SIZE,
                           SULTAN_SHA256_SIZE);
                    found++;
                }
                lvl += width * SULTAN_SHA256_SIZE;
                pos /= 2;
            }
            aunt_counts_out[i] = (uint8_t)found;
        }
    }
    free(tree);
    return rc;
}
