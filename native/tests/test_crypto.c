/*
 * Unit tests of the crypto core, built with AddressSanitizer and UBSan (make native-test).
 * References are independent of the code under test where possible: published vectors,
 * OpenSSL's one-shot EVP_Digest, and a recursive RFC 6962 definition written out here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <secp256k1.h>

#include "sultan_crypto.h"

static int failures = 0, checks = 0;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        checks++;                                                                              \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_RC(expr, want)                                                                   \
    do {                                                                                       \
        int rc_ = (expr);                                                                      \
        checks++;                                                                              \
        if (rc_ != (want)) {                                                                   \
            failures++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %d, want %d\n", __FILE__, __LINE__, #expr, rc_, \
                    (int)(want));                                                              \
        }                                                                                      \
    } while (0)

static void unhex(const char *hex, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void sha256_ref(const uint8_t *p, size_t n, uint8_t out[32]) {
    unsigned int len = 0;
    EVP_Digest(n ? p : (const uint8_t *)"", n, out, &len, EVP_sha256(), NULL);
}

static void sha256_2(uint8_t prefix, const uint8_t *p, size_t n, uint8_t out[32]) {
    uint8_t *buf = malloc(n + 1);
    buf[0] = prefix;
    if (n)
        memcpy(buf + 1, p, n);
    sha256_ref(buf, n + 1, out);
    free(buf);
}

/* RFC 6962 MTH, recursively, as the definition states it. */
static void mth(const uint8_t *data, const size_t *off, const size_t *len, size_t n,
                uint8_t out[32]) {
    if (n == 0) {
        sha256_ref(NULL, 0, out);
        return;
    }
    if (n == 1) {
        sha256_2(0, data + off[0], len[0], out);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t buf[65];
    buf[0] = 1;
    mth(data, off, len, k, buf + 1);
    mth(data, off + k, len + k, n - k, buf + 33);
    sha256_ref(buf, 65, out);
}

/* ---- version and errors ------------------------------------------------------------------ */

static void test_version_and_strerror(void) {
    CHECK(strcmp(sultan_crypto_version(), SULTAN_CRYPTO_VERSION) == 0);
    CHECK(sultan_crypto_abi_version() == SULTAN_CRYPTO_ABI_VERSION);
    CHECK(strcmp(sultan_crypto_strerror(SULTAN_SUCCESS), "success") == 0);
    CHECK(strcmp(sultan_crypto_strerror(SULTAN_NULL_POINTER), "null pointer") == 0);
    CHECK(strcmp(sultan_crypto_strerror(SULTAN_INTERNAL_ERROR), "internal error") == 0);
    CHECK(strcmp(sultan_crypto_strerror(-1), "unknown error code") == 0);
    CHECK(strcmp(sultan_crypto_strerror(7), "unknown error code") == 0);
    CHECK(SULTAN_SUCCESS == 0 && SULTAN_NULL_POINTER == 1 && SULTAN_INVALID_UTF8 == 2 &&
          SULTAN_INVALID_PARAMETER == 3 && SULTAN_BLOCKCHAIN_ERROR == 4 &&
          SULTAN_CONSENSUS_ERROR == 5 && SULTAN_INTERNAL_ERROR == 6);
}

/* ---- SHA-256 ----------------------------------------------------------------------------- */

static void test_sha256_vectors(void) {
    /* FIPS 180-2: "abc", "", and the 448-bit message. */
    const char *msg = "abcabcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    size_t offsets[3] = {0, 0, 3}, lengths[3] = {3, 0, 56};
    uint8_t out[96], want[32];
    CHECK_RC(sultan_sha256_batch((const uint8_t *)msg, strlen(msg), offsets, lengths, 3, out,
                                 sizeof out, 1),
             SULTAN_SUCCESS);
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    CHECK(memcmp(out, want, 32) == 0);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    CHECK(memcmp(out + 32, want, 32) == 0);
    unhex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", want, 32);
    CHECK(memcmp(out + 64, want, 32) == 0);
}

static void test_sha256_zero_lengths_and_empty_batches(void) {
    uint8_t out[64], want[32];
    size_t zero[2] = {0, 0};
    sha256_ref(NULL, 0, want);
    /* No data at all: NULL data with data_len 0 is fine; every item is empty. */
    CHECK_RC(sultan_sha256_batch(NULL, 0, zero, zero, 2, out, sizeof out, 0), SULTAN_SUCCESS);
    CHECK(memcmp(out, want, 32) == 0 && memcmp(out + 32, want, 32) == 0);
    /* count 0: every array may be NULL. */
    CHECK_RC(sultan_sha256_batch(NULL, 0, NULL, NULL, 0, NULL, 0, 0), SULTAN_SUCCESS);
}

static void test_sha256_rejects_bad_arguments(void) {
    uint8_t data[8] = {0}, out[64];
    size_t off[2] = {0, 4}, len[2] = {4, 4};
    CHECK_RC(sultan_sha256_batch(NULL, 8, off, len, 2, out, sizeof out, 0), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_sha256_batch(data, 8, NULL, len, 2, out, sizeof out, 0), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_sha256_batch(data, 8, off, NULL, 2, out, sizeof out, 0), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_sha256_batch(data, 8, off, len, 2, NULL, sizeof out, 0), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_sha256_batch(data, 8, off, len, 2, out, 63, 0), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_sha256_batch(data, 7, off, len, 2, out, sizeof out, 0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_sha256_batch(data, 8, off, len, 2, out, sizeof out, SULTAN_MAX_THREADS + 1),
             SULTAN_INVALID_PARAMETER);
    /* offset + length overflowing size_t */
    size_t big_off[1] = {SIZE_MAX}, big_len[1] = {2};
    CHECK_RC(sultan_sha256_batch(data, 8, big_off, big_len, 1, out, sizeof out, 0),
             SULTAN_INVALID_PARAMETER);
    size_t off1[1] = {1}, len_max[1] = {SIZE_MAX};
    CHECK_RC(sultan_sha256_batch(data, 8, off1, len_max, 1, out, sizeof out, 0),
             SULTAN_INVALID_PARAMETER);
}

static void test_sha256_huge_counts_are_refused_before_reading(void) {
    /* The output-size check fails first, so the 1-entry arrays are never over-read. */
    uint8_t data[1] = {0}, out[32];
    size_t off[1] = {0}, len[1] = {0};
    CHECK_RC(sultan_sha256_batch(data, 1, off, len, 1, out, sizeof out, 0), SULTAN_SUCCESS);
    size_t huge = SIZE_MAX / 16;
    uint8_t results[1];
    CHECK_RC(sultan_merkle_root_from_leaf_hashes(data, 1, SIZE_MAX, out, 32),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_merkle_root_from_leaf_hashes(data, 1, huge, out, 32),
             SULTAN_INVALID_PARAMETER);
    uint8_t pk[33] = {2}, sig[64] = {1};
    size_t one_off[1] = {0}, one_len[1] = {1};
    CHECK_RC(sultan_secp256k1_verify_batch(pk, 33, data, 1, one_off, one_len, sig, 64, huge, 0,
                                           results, 1, 0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_ed25519_verify_batch(pk, 32, data, 1, one_off, one_len, sig, 64, SIZE_MAX, 0,
                                         results, SIZE_MAX, 0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_sha256_batch(data, 1, one_off, one_len, SIZE_MAX / 8, out, 32, 0),
             SULTAN_INVALID_PARAMETER);
    uint8_t leaves[32], counts[1], aunts[32];
    CHECK_RC(sultan_merkle_proofs(data, 1, one_off, one_len, huge, out, 32, leaves, 32, aunts, 32,
                                  60, counts, 1, 0),
             SULTAN_INVALID_PARAMETER);
    size_t depth = 0;
    CHECK_RC(sultan_merkle_proof_depth(SIZE_MAX, &depth), SULTAN_SUCCESS);
    CHECK(depth == 64);
}

static void test_sha256_threads_agree(void) {
    enum { N = 20000 };
    size_t data_len = N * 3;
    uint8_t *data = malloc(data_len);
    size_t *off = malloc(N * sizeof(size_t)), *len = malloc(N * sizeof(size_t));
    uint8_t *a = malloc(N * 32), *b = malloc(N * 32);
    for (size_t i = 0; i < data_len; i++)
        data[i] = (uint8_t)(i * 131 + 7);
    for (size_t i = 0; i < N; i++) {
        off[i] = i;
        len[i] = i % 200;
    }
    CHECK_RC(sultan_sha256_batch(data, data_len, off, len, N, a, N * 32, 1), SULTAN_SUCCESS);
    CHECK_RC(sultan_sha256_batch(data, data_len, off, len, N, b, N * 32, 4), SULTAN_SUCCESS);
    CHECK(memcmp(a, b, N * 32) == 0);
    uint8_t want[32];
    sha256_ref(data + off[N - 1], len[N - 1], want);
    CHECK(memcmp(a + (N - 1) * 32, want, 32) == 0);
    free(data), free(off), free(len), free(a), free(b);
}

/* ---- Merkle ------------------------------------------------------------------------------ */

static void test_merkle_cometbft_vectors(void) {
    uint8_t root[32], want[32];
    /* crypto/merkle tree_test.go: empty, [""], [0x010203], two, five items. */
    CHECK_RC(sultan_merkle_root(NULL, 0, NULL, NULL, 0, root, 32, 0), SULTAN_SUCCESS);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    CHECK(memcmp(root, want, 32) == 0);
    size_t z = 0;
    CHECK_RC(sultan_merkle_root(NULL, 0, &z, &z, 1, root, 32, 0), SULTAN_SUCCESS);
    unhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want, 32);
    CHECK(memcmp(root, want, 32) == 0);
    uint8_t items[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    size_t off3[1] = {0}, len3[1] = {3};
    CHECK_RC(sultan_merkle_root(items, 10, off3, len3, 1, root, 32, 0), SULTAN_SUCCESS);
    unhex("054edec1d0211f624fed0cbca9d4f9400b0e491c43742af2c5b0abebf0c990d8", want, 32);
    CHECK(memcmp(root, want, 32) == 0);
    size_t off2[2] = {0, 3}, len2[2] = {3, 3};
    CHECK_RC(sultan_merkle_root(items, 10, off2, len2, 2, root, 32, 0), SULTAN_SUCCESS);
    unhex("82e6cfce00453804379b53962939eaa7906b39904be0813fcadd31b100773c4b", want, 32);
    CHECK(memcmp(root, want, 32) == 0);
    size_t off5[5] = {0, 2, 4, 6, 8}, len5[5] = {2, 2, 2, 2, 2};
    CHECK_RC(sultan_merkle_root(items, 10, off5, len5, 5, root, 32, 0), SULTAN_SUCCESS);
    unhex("f326493eceab4f2d9ffbc78c59432a0a005d6ea98392045c74df5d14a113be18", want, 32);
    CHECK(memcmp(root, want, 32) == 0);
}

static int verify_proof(const uint8_t root[32], const uint8_t leaf[32], size_t index,
                        size_t total, const uint8_t *aunts, size_t naunts) {
    /* CometBFT computeHashFromAunts: the split decisions top-down, applied bottom-up. */
    int lefts[64];
    size_t depth = 0, idx = index, tot = total;
    if (total == 0)
        return 0;
    while (tot > 1) {
        size_t k = 1;
        while (k * 2 < tot)
            k *= 2;
        if (idx < k) {
            lefts[depth++] = 1;
            tot = k;
        } else {
            lefts[depth++] = 0;
            idx -= k;
            tot -= k;
        }
    }
    if (depth != naunts)
        return 0;
    uint8_t buf[65], cur[32];
    buf[0] = 1;
    memcpy(cur, leaf, 32);
    for (size_t d = depth, used = 0; d-- > 0; used++) {
        const uint8_t *aunt = aunts + used * 32;
        memcpy(buf + 1, lefts[d] ? cur : aunt, 32);
        memcpy(buf + 33, lefts[d] ? aunt : cur, 32);
        sha256_ref(buf, 65, cur);
    }
    return memcmp(cur, root, 32) == 0;
}

static void test_merkle_roots_and_proofs_match_definition(void) {
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    for (size_t n = 0; n <= 70; n++) {
        size_t off[70], len[70];
        for (size_t i = 0; i < n; i++) {
            off[i] = i * 3;
            len[i] = i % 5;
        }
        uint8_t root[32], want[32];
        mth(data, off, len, n, want);
        CHECK_RC(sultan_merkle_root(data, sizeof data, off, len, n, root, 32, 0), SULTAN_SUCCESS);
        CHECK(memcmp(root, want, 32) == 0);
        size_t depth;
        sultan_merkle_proof_depth(n, &depth);
        uint8_t leaves[70 * 32], aunts[70 * 7 * 32], counts[70], proot[32];
        CHECK_RC(sultan_merkle_proofs(data, sizeof data, off, len, n, proot, 32, leaves,
                                      sizeof leaves, aunts, sizeof aunts, depth, counts,
                                      sizeof counts, 1),
                 SULTAN_SUCCESS);
        CHECK(memcmp(proot, want, 32) == 0);
        CHECK_RC(sultan_merkle_root_from_leaf_hashes(leaves, n * 32, n, root, 32),
                 SULTAN_SUCCESS);
        CHECK(memcmp(root, want, 32) == 0);
        for (size_t i = 0; i < n; i++) {
            uint8_t leaf[32];
            sha256_2(0, data + off[i], len[i], leaf);
            CHECK(memcmp(leaves + i * 32, leaf, 32) == 0);
            CHECK(counts[i] <= depth);
            CHECK(verify_proof(want, leaf, i, n, aunts + i * depth * 32, counts[i]));
        }
        /* A wrong depth is refused. */
        CHECK_RC(sultan_merkle_proofs(data, sizeof data, off, len, n, proot, 32, leaves,
                                      sizeof leaves, aunts, sizeof aunts, depth + 1, counts,
                                      sizeof counts, 1),
                 SULTAN_INVALID_PARAMETER);
    }
}

static void test_merkle_rejects_bad_arguments(void) {
    uint8_t data[4] = {0}, root[32], hashes[64] = {0};
    size_t off[1] = {0}, len[1] = {5};
    CHECK_RC(sultan_merkle_root(data, 4, off, len, 1, NULL, 32, 0), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_merkle_root(data, 4, off, len, 1, root, 31, 0), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_merkle_root(data, 4, off, len, 1, root, 32, 0), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_merkle_root_from_leaf_hashes(NULL, 64, 2, root, 32), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_merkle_root_from_leaf_hashes(hashes, 63, 2, root, 32),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_merkle_root_from_leaf_hashes(hashes, 64, 2, NULL, 32), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_merkle_proof_depth(3, NULL), SULTAN_NULL_POINTER);
    size_t d = 99;
    CHECK_RC(sultan_merkle_proof_depth(0, &d), SULTAN_SUCCESS);
    CHECK(d == 0);
    CHECK_RC(sultan_merkle_proof_depth(5, &d), SULTAN_SUCCESS);
    CHECK(d == 3);
    size_t ok_len[1] = {4};
    uint8_t leaves[32], counts[1];
    CHECK_RC(sultan_merkle_proofs(data, 4, off, ok_len, 1, root, 32, NULL, 32, NULL, 0, 0, counts,
                                  1, 0),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_merkle_proofs(data, 4, off, ok_len, 1, root, 32, leaves, 32, NULL, 0, 0,
                                  counts, 0, 0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_merkle_proofs(data, 4, off, ok_len, 1, root, 32, leaves, 32, NULL, 0, 0,
                                  counts, 1, 0),
             SULTAN_SUCCESS);
    CHECK(counts[0] == 0);
}

/* ---- the state tree's new nodes ---------------------------------------------------------- */

/* SHA-256(tag || a || b), through the reference digest. */
static void node_ref(uint8_t tag, const uint8_t a[32], const uint8_t b[32], uint8_t out[32]) {
    uint8_t buf[65];
    buf[0] = tag;
    memcpy(buf + 1, a, 32);
    memcpy(buf + 33, b, 32);
    sha256_ref(buf, 65, out);
}

static int smt_nodes(const int32_t *program, size_t count, const uint8_t *refs, size_t nrefs,
                     uint8_t *digests, uint8_t *nodes, uint8_t *lengths) {
    static const uint8_t version[8] = {0, 0, 0, 0, 0, 0, 0, 7};
    return sultan_smt_nodes(program, 3 * count, refs, nrefs * 41, version, 8, count, digests,
                            count * 32, nodes, count * SULTAN_SMT_MAX_NODE_SIZE, lengths, count);
}

static void test_smt_nodes_match_definition(void) {
    /* Literals: 0 empty; 1, 2 a leaf's sha256(key), sha256(value); 3 a stored inner node's
     * reference (version 5). Program: the new leaf; an inner node over it and the empty
     * subtree; the root over the stored node and that inner node. */
    uint8_t refs[4 * 41] = {0};
    for (size_t i = 41; i < sizeof refs; i++)
        refs[i] = (uint8_t)(i * 7 + 1);
    refs[3 * 41] = 0x02;
    memcpy(refs + 3 * 41 + 1, "\0\0\0\0\0\0\0\5", 8);
    const int32_t program[] = {0, -2, -3, 1, 0, -1, 1, -4, 1};
    uint8_t digests[3 * 32], nodes[3 * 83], lengths[3], want[3 * 32], zero[32] = {0};
    CHECK_RC(smt_nodes(program, 3, refs, 4, digests, nodes, lengths), SULTAN_SUCCESS);
    node_ref(0, refs + 41 + 9, refs + 82 + 9, want);
    node_ref(1, want, zero, want + 32);
    node_ref(1, refs + 3 * 41 + 9, want + 32, want + 64);
    CHECK(memcmp(digests, want, sizeof want) == 0);
    CHECK(lengths[0] == 0 && lengths[1] == 43 && lengths[2] == 83);
    /* Node 1: 0x02 || leaf ref (kind 1, version 7, its digest) || 0x00. */
    uint8_t first[43] = {0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 7};
    memcpy(first + 10, want, 32);
    first[42] = 0x00;
    CHECK(memcmp(nodes, first, 43) == 0);
    /* Node 2: 0x02 || the stored node's reference as given || node 1's (kind 2, version 7). */
    uint8_t second[83] = {0x02};
    memcpy(second + 1, refs + 3 * 41, 41);
    memcpy(second + 42, "\x02\0\0\0\0\0\0\0\x07", 9);
    memcpy(second + 51, want + 32, 32);
    CHECK(memcmp(nodes + 43, second, 83) == 0);
    /* Nothing to do: only the version is required. */
    static const uint8_t version[8] = {0};
    CHECK_RC(sultan_smt_nodes(NULL, 0, NULL, 0, version, 8, 0, NULL, 0, NULL, 0, NULL, 0),
             SULTAN_SUCCESS);
}

static void test_smt_nodes_reject_bad_programs(void) {
    uint8_t refs[3 * 41] = {0}, digests[64], nodes[2 * 83], lengths[2];
    refs[41] = 0x01;
    static const uint8_t version[8] = {0};
    const int32_t ok[] = {1, -1, -2};
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, NULL, 8, 1, digests, 32, nodes, 83, lengths, 1),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_smt_nodes(NULL, 3, refs, 123, version, 8, 1, digests, 32, nodes, 83, lengths,
                              1),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_smt_nodes(ok, 3, NULL, 123, version, 8, 1, digests, 32, nodes, 83, lengths,
                              1),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, version, 8, 1, digests, 32, NULL, 83, lengths, 1),
             SULTAN_NULL_POINTER);
    CHECK_RC(smt_nodes(ok, 1, refs, 3, digests, nodes, lengths), SULTAN_SUCCESS);
    /* Lengths: program, literals, version, each output. */
    CHECK_RC(sultan_smt_nodes(ok, 2, refs, 123, version, 8, 1, digests, 32, nodes, 83, lengths,
                              1),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 122, version, 8, 1, digests, 32, nodes, 83, lengths,
                              1),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, version, 7, 1, digests, 32, nodes, 83, lengths,
                              1),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, version, 8, 1, digests, 31, nodes, 83, lengths,
                              1),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, version, 8, 1, digests, 32, nodes, 82, lengths,
                              1),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, version, 8, 1, digests, 32, nodes, 83, lengths,
                              0),
             SULTAN_INVALID_PARAMETER);
    /* Operands: itself, a later node, a missing literal, the most negative int32, a node
     * under a leaf; tags other than 0 and 1; an inner node's literal of unknown kind. */
    const int32_t self[] = {1, 0, -1};
    const int32_t later[] = {1, -1, 1, 1, -1, -2};
    const int32_t missing[] = {1, -1, -4};
    const int32_t lowest[] = {1, -1, INT32_MIN};
    const int32_t under_leaf[] = {0, -1, -2, 0, 0, -1};
    const int32_t tag2[] = {2, -1, -2};
    const int32_t tag_neg[] = {-1, -1, -2};
    CHECK_RC(smt_nodes(self, 1, refs, 3, digests, nodes, lengths), SULTAN_INVALID_PARAMETER);
    CHECK_RC(smt_nodes(later, 2, refs, 3, digests, nodes, lengths), SULTAN_INVALID_PARAMETER);
    CHECK_RC(smt_nodes(missing, 1, refs, 3, digests, nodes, lengths), SULTAN_INVALID_PARAMETER);
    CHECK_RC(smt_nodes(lowest, 1, refs, 3, digests, nodes, lengths), SULTAN_INVALID_PARAMETER);
    CHECK_RC(smt_nodes(under_leaf, 2, refs, 3, digests, nodes, lengths),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(smt_nodes(tag2, 1, refs, 3, digests, nodes, lengths), SULTAN_INVALID_PARAMETER);
    CHECK_RC(smt_nodes(tag_neg, 1, refs, 3, digests, nodes, lengths), SULTAN_INVALID_PARAMETER);
    refs[82] = 0x03;
    const int32_t bad_kind[] = {1, -1, -3};
    CHECK_RC(smt_nodes(bad_kind, 1, refs, 3, digests, nodes, lengths), SULTAN_INVALID_PARAMETER);
    const int32_t leaf_any_kind[] = {0, -3, -3};
    CHECK_RC(smt_nodes(leaf_any_kind, 1, refs, 3, digests, nodes, lengths), SULTAN_SUCCESS);
    /* A count whose program would overflow is refused before the program is read. */
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, version, 8, (size_t)INT32_MAX + 1, digests, 32,
                              nodes, 83, lengths, 1),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_smt_nodes(ok, 3, refs, 123, version, 8, SIZE_MAX / 2, digests, 32, nodes, 83,
                              lengths, 1),
             SULTAN_INVALID_PARAMETER);
}

/* ---- secp256k1 ---------------------------------------------------------------------------- */

static const char *ORDER_HEX = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

static void sub_from_order(const uint8_t s[32], uint8_t out[32]) {
    uint8_t n[32];
    unhex(ORDER_HEX, n, 32);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int v = n[i] - s[i] - borrow;
        borrow = v < 0;
        out[i] = (uint8_t)(v + (borrow ? 256 : 0));
    }
}

typedef struct {
    uint8_t pk[33];
    uint8_t sig[64];
    uint8_t digest[32];
} secp_item;

static void secp_make(secp256k1_context *ctx, uint8_t seed, const uint8_t *msg, size_t msg_len,
                      secp_item *it) {
    uint8_t sk[32];
    memset(sk, 0, 32);
    sk[31] = seed ? seed : 1;
    sk[0] = 0x11;
    secp256k1_pubkey pub;
    secp256k1_ecdsa_signature sig;
    size_t pk_len = 33;
    if (!secp256k1_ec_pubkey_create(ctx, &pub, sk))
        abort();
    secp256k1_ec_pubkey_serialize(ctx, it->pk, &pk_len, &pub, SECP256K1_EC_COMPRESSED);
    sha256_ref(msg, msg_len, it->digest);
    secp256k1_ecdsa_sign(ctx, &sig, it->digest, sk, NULL, NULL);
    secp256k1_ecdsa_signature_serialize_compact(ctx, it->sig, &sig);
}

static int secp_one(const uint8_t pk[33], const uint8_t *msg, size_t msg_len, const uint8_t sig[64],
                    uint32_t flags, uint8_t *result) {
    size_t off = 0, len = msg_len;
    return sultan_secp256k1_verify_batch(pk, 33, msg, msg_len, &off, &len, sig, 64, 1, flags,
                                         result, 1, 1);
}

static void test_secp256k1_verify(void) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    const uint8_t msg[] = "sign doc bytes";
    secp_item it;
    secp_make(ctx, 9, msg, sizeof msg - 1, &it);
    uint8_t r = 99, tmp[64], pk[33];
    CHECK_RC(secp_one(it.pk, msg, sizeof msg - 1, it.sig, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_VALID);
    CHECK_RC(secp_one(it.pk, msg, sizeof msg - 2, it.sig, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_INVALID);
    CHECK_RC(secp_one(it.pk, it.digest, 32, it.sig, SULTAN_SECP256K1_PREHASHED, &r),
             SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_VALID);
    /* Prehashed messages must be 32 bytes. */
    CHECK_RC(secp_one(it.pk, msg, 31, it.sig, SULTAN_SECP256K1_PREHASHED, &r),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(secp_one(it.pk, msg, 5, it.sig, 0x4, &r), SULTAN_INVALID_PARAMETER);
    /* High S: rejected by default, accepted when normalizing. */
    memcpy(tmp, it.sig, 64);
    sub_from_order(it.sig + 32, tmp + 32);
    CHECK_RC(secp_one(it.pk, msg, sizeof msg - 1, tmp, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_HIGH_S);
    CHECK_RC(secp_one(it.pk, msg, sizeof msg - 1, tmp, SULTAN_SECP256K1_NORMALIZE_S, &r),
             SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_VALID);
    /* r = 0, s = 0, r = n, s = n: malformed. */
    memcpy(tmp, it.sig, 64);
    memset(tmp, 0, 32);
    CHECK_RC(secp_one(it.pk, msg, sizeof msg - 1, tmp, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_BAD_SIGNATURE);
    memcpy(tmp, it.sig, 64);
    memset(tmp + 32, 0, 32);
    CHECK_RC(secp_one(it.pk, msg, sizeof msg - 1, tmp, SULTAN_SECP256K1_NORMALIZE_S, &r),
             SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_BAD_SIGNATURE);
    memcpy(tmp, it.sig, 64);
    unhex(ORDER_HEX, tmp, 32);
    CHECK_RC(secp_one(it.pk, msg, sizeof msg - 1, tmp, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_BAD_SIGNATURE);
    /* Public keys: wrong prefix, x not below p, x not on the curve. */
    memcpy(pk, it.pk, 33);
    pk[0] = 0x04;
    CHECK_RC(secp_one(pk, msg, sizeof msg - 1, it.sig, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_BAD_PUBKEY);
    memset(pk + 1, 0xff, 32);
    pk[0] = 0x02;
    CHECK_RC(secp_one(pk, msg, sizeof msg - 1, it.sig, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_BAD_PUBKEY);
    int found_off_curve = 0;
    for (uint8_t x = 1; x < 50 && !found_off_curve; x++) {
        memset(pk, 0, 33);
        pk[0] = 0x03;
        pk[32] = x;
        secp256k1_pubkey p;
        if (!secp256k1_ec_pubkey_parse(ctx, &p, pk, 33)) {
            found_off_curve = 1;
            CHECK_RC(secp_one(pk, msg, sizeof msg - 1, it.sig, 0, &r), SULTAN_SUCCESS);
            CHECK(r == SULTAN_VERIFY_BAD_PUBKEY);
        }
    }
    CHECK(found_off_curve);
    /* Argument errors. */
    size_t off = 0, len = 3;
    CHECK_RC(sultan_secp256k1_verify_batch(NULL, 33, msg, 3, &off, &len, it.sig, 64, 1, 0, &r, 1,
                                           0),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, 33, msg, 3, &off, &len, NULL, 64, 1, 0, &r, 1,
                                           0),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, 33, msg, 3, &off, &len, it.sig, 64, 1, 0, NULL,
                                           1, 0),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, 33, NULL, 3, &off, &len, it.sig, 64, 1, 0, &r,
                                           1, 0),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, 32, msg, 3, &off, &len, it.sig, 64, 1, 0, &r, 1,
                                           0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, 33, msg, 3, &off, &len, it.sig, 65, 1, 0, &r, 1,
                                           0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, 33, msg, 3, &off, &len, it.sig, 64, 1, 0, &r, 0,
                                           0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, 33, msg, 2, &off, &len, it.sig, 64, 1, 0, &r, 1,
                                           0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_verify_batch(it.pk, SIZE_MAX, msg, 3, &off, &len, it.sig, 64,
                                           SIZE_MAX / 2, 0, &r, 1, 0),
             SULTAN_INVALID_PARAMETER);
    secp256k1_context_destroy(ctx);
}

static void test_secp256k1_batch_threads_agree(void) {
    enum { N = 600 };
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    uint8_t *pks = malloc(N * 33), *sigs = malloc(N * 64), *msgs = malloc(N * 8);
    size_t *off = malloc(N * sizeof(size_t)), *len = malloc(N * sizeof(size_t));
    uint8_t r1[N], r2[N];
    for (size_t i = 0; i < N; i++) {
        secp_item it;
        memcpy(msgs + i * 8, "message", 7);
        msgs[i * 8 + 7] = (uint8_t)i;
        off[i] = i * 8;
        len[i] = 8;
        secp_make(ctx, (uint8_t)(i % 13), msgs + i * 8, 8, &it);
        memcpy(pks + i * 33, it.pk, 33);
        memcpy(sigs + i * 64, it.sig, 64);
        if (i % 7 == 3)
            sigs[i * 64 + 5] ^= 1; /* every seventh one broken */
    }
    CHECK_RC(sultan_secp256k1_verify_batch(pks, N * 33, msgs, N * 8, off, len, sigs, N * 64, N, 0,
                                           r1, N, 1),
             SULTAN_SUCCESS);
    CHECK_RC(sultan_secp256k1_verify_batch(pks, N * 33, msgs, N * 8, off, len, sigs, N * 64, N, 0,
                                           r2, N, 2),
             SULTAN_SUCCESS);
    CHECK(memcmp(r1, r2, N) == 0);
    int ok = 1;
    for (size_t i = 0; i < N; i++)
        ok &= (i % 7 == 3) ? r1[i] != SULTAN_VERIFY_VALID : r1[i] == SULTAN_VERIFY_VALID;
    CHECK(ok);
    free(pks), free(sigs), free(msgs), free(off), free(len);
    secp256k1_context_destroy(ctx);
}

/* ---- ed25519 ------------------------------------------------------------------------------ */

static void test_ed25519_rfc8032_vectors(void) {
    /* RFC 8032 section 7.1, tests 1-3. */
    const char *pks[3] = {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                          "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                          "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"};
    const char *sigs[3] = {
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
        "f9b46bd25bf5f0595bbe24655141438e7a100b",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0"
        "f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f76098"
        "4dc6594a7c15e9716ed28dc027beceea1ec40a"};
    uint8_t pk[96], sig[192], msgs[3] = {0x72, 0xaf, 0x82}, res[3];
    size_t off[3] = {0, 0, 1}, len[3] = {0, 1, 2};
    for (int i = 0; i < 3; i++) {
        unhex(pks[i], pk + 32 * i, 32);
        unhex(sigs[i], sig + 64 * i, 64);
    }
    CHECK_RC(sultan_ed25519_verify_batch(pk, 96, msgs, 3, off, len, sig, 192, 3, 0, res, 3, 0),
             SULTAN_SUCCESS);
    CHECK(res[0] == SULTAN_VERIFY_VALID && res[1] == SULTAN_VERIFY_VALID &&
          res[2] == SULTAN_VERIFY_VALID);
    sig[64 + 10] ^= 1;            /* broken signature */
    len[2] = 1;                   /* wrong message */
    memset(pk, 0xff, 32);         /* not a point encoding */
    CHECK_RC(sultan_ed25519_verify_batch(pk, 96, msgs, 3, off, len, sig, 192, 3, 0, res, 3, 0),
             SULTAN_SUCCESS);
    CHECK(res[0] == SULTAN_VERIFY_INVALID && res[1] == SULTAN_VERIFY_INVALID &&
          res[2] == SULTAN_VERIFY_INVALID);
    CHECK_RC(sultan_ed25519_verify_batch(pk, 96, msgs, 3, off, len, sig, 192, 3, 1, res, 3, 0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_ed25519_verify_batch(pk, 95, msgs, 3, off, len, sig, 192, 3, 0, res, 3, 0),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_ed25519_verify_batch(pk, 96, msgs, 3, off, NULL, sig, 192, 3, 0, res, 3, 0),
             SULTAN_NULL_POINTER);
    CHECK_RC(sultan_ed25519_verify_batch(NULL, 0, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0, 0),
             SULTAN_SUCCESS);
}

/* ---- signing ------------------------------------------------------------------------------ */

static void test_ed25519_sign_rfc8032_vectors(void) {
    /* RFC 8032 section 7.1, tests 1-3: seed -> public key, and the signature of the message. */
    const char *seeds[3] = {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"};
    const char *pks[3] = {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                          "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                          "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"};
    const char *sigs[3] = {
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
        "f9b46bd25bf5f0595bbe24655141438e7a100b",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0"
        "f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f76098"
        "4dc6594a7c15e9716ed28dc027beceea1ec40a"};
    const uint8_t msgs[3] = {0x72, 0xaf, 0x82};
    const uint8_t *msg[3] = {NULL, msgs, msgs + 1};
    const size_t len[3] = {0, 1, 2};
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32], pk[32], want_pk[32], sig[64], want_sig[64];
        unhex(seeds[i], seed, 32);
        unhex(pks[i], want_pk, 32);
        unhex(sigs[i], want_sig, 64);
        CHECK_RC(sultan_ed25519_public_key(seed, 32, pk, 32), SULTAN_SUCCESS);
        CHECK(memcmp(pk, want_pk, 32) == 0);
        CHECK_RC(sultan_ed25519_sign(seed, 32, msg[i], len[i], sig, 64), SULTAN_SUCCESS);
        CHECK(memcmp(sig, want_sig, 64) == 0);
    }
    uint8_t seed[32] = {0}, out[64];
    CHECK_RC(sultan_ed25519_sign(NULL, 32, NULL, 0, out, 64), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_ed25519_sign(seed, 32, NULL, 1, out, 64), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_ed25519_sign(seed, 32, NULL, 0, NULL, 64), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_ed25519_sign(seed, 31, NULL, 0, out, 64), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_ed25519_sign(seed, 32, NULL, 0, out, 63), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_ed25519_public_key(seed, 33, out, 32), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_ed25519_public_key(seed, 32, out, 31), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_ed25519_public_key(seed, 32, NULL, 32), SULTAN_NULL_POINTER);
}

static void test_secp256k1_check_pubkeys(void) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    secp_item it;
    secp_make(ctx, 5, (const uint8_t *)"m", 1, &it);
    uint8_t keys[4 * 33], res[4];
    memcpy(keys, it.pk, 33);            /* a real key */
    memcpy(keys + 33, it.pk, 33);
    keys[33] = 0x04;                    /* wrong prefix */
    memset(keys + 66, 0, 33);           /* zero */
    keys[66] = 0x02;
    memset(keys + 99, 0xff, 33);        /* x above the field size */
    keys[99] = 0x03;
    CHECK_RC(sultan_secp256k1_check_pubkeys(keys, 132, 4, res, 4), SULTAN_SUCCESS);
    CHECK(res[0] == SULTAN_VERIFY_VALID && res[1] == SULTAN_VERIFY_BAD_PUBKEY &&
          res[2] == SULTAN_VERIFY_BAD_PUBKEY && res[3] == SULTAN_VERIFY_BAD_PUBKEY);
    CHECK_RC(sultan_secp256k1_check_pubkeys(keys, 131, 4, res, 4), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_check_pubkeys(keys, 132, 4, res, 3), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_check_pubkeys(NULL, 132, 4, res, 4), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_check_pubkeys(keys, 33, SIZE_MAX, res, 4), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_check_pubkeys(NULL, 0, 0, NULL, 0), SULTAN_SUCCESS);
    secp256k1_context_destroy(ctx);
}

static void test_secp256k1_sign(void) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    const uint8_t msg[] = "sign doc bytes";
    secp_item it; /* libsecp256k1 called directly: key 0x11 00.. 09, RFC 6979 signature */
    secp_make(ctx, 9, msg, sizeof msg - 1, &it);
    uint8_t sk[32] = {0x11}, pk[33], sig[64], again[64], r = 99;
    sk[31] = 9;
    CHECK_RC(sultan_secp256k1_public_key(sk, 32, pk, 33), SULTAN_SUCCESS);
    CHECK(memcmp(pk, it.pk, 33) == 0);
    CHECK_RC(sultan_secp256k1_sign(sk, 32, msg, sizeof msg - 1, 0, sig, 64), SULTAN_SUCCESS);
    CHECK(memcmp(sig, it.sig, 64) == 0);
    CHECK_RC(sultan_secp256k1_sign(sk, 32, it.digest, 32, SULTAN_SECP256K1_PREHASHED, again, 64),
             SULTAN_SUCCESS);
    CHECK(memcmp(sig, again, 64) == 0);
    CHECK_RC(secp_one(pk, msg, sizeof msg - 1, sig, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_VALID); /* low-S: accepted without NORMALIZE_S */
    /* An empty message may come with a NULL pointer. */
    CHECK_RC(sultan_secp256k1_sign(sk, 32, NULL, 0, 0, sig, 64), SULTAN_SUCCESS);
    CHECK_RC(secp_one(pk, (const uint8_t *)"", 0, sig, 0, &r), SULTAN_SUCCESS);
    CHECK(r == SULTAN_VERIFY_VALID);
    /* Secret keys 0, n and all-ones are not keys. */
    uint8_t bad[32] = {0};
    CHECK_RC(sultan_secp256k1_sign(bad, 32, msg, 3, 0, sig, 64), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_public_key(bad, 32, pk, 33), SULTAN_INVALID_PARAMETER);
    unhex(ORDER_HEX, bad, 32);
    CHECK_RC(sultan_secp256k1_sign(bad, 32, msg, 3, 0, sig, 64), SULTAN_INVALID_PARAMETER);
    memset(bad, 0xff, 32);
    CHECK_RC(sultan_secp256k1_public_key(bad, 32, pk, 33), SULTAN_INVALID_PARAMETER);
    /* Arguments. */
    CHECK_RC(sultan_secp256k1_sign(NULL, 32, msg, 3, 0, sig, 64), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_sign(sk, 32, NULL, 3, 0, sig, 64), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_sign(sk, 32, msg, 3, 0, NULL, 64), SULTAN_NULL_POINTER);
    CHECK_RC(sultan_secp256k1_sign(sk, 31, msg, 3, 0, sig, 64), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_sign(sk, 32, msg, 3, 0, sig, 63), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_sign(sk, 32, msg, 3, SULTAN_SECP256K1_PREHASHED, sig, 64),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_sign(sk, 32, msg, 3, SULTAN_SECP256K1_NORMALIZE_S, sig, 64),
             SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_public_key(sk, 32, pk, 32), SULTAN_INVALID_PARAMETER);
    CHECK_RC(sultan_secp256k1_public_key(sk, 32, NULL, 33), SULTAN_NULL_POINTER);
    secp256k1_context_destroy(ctx);
}

static int tests_run = 0, tests_failed = 0;

#define RUN(test)                                                                              \
    do {                                                                                       \
        int before_ = failures;                                                                \
        test();                                                                                \
        tests_run++;                                                                           \
        if (failures != before_) {                                                             \
            tests_failed++;                                                                    \
            fprintf(stderr, "FAILED %s\n", #test);                                             \
        }                                                                                      \
    } while (0)

int main(void) {
    RUN(test_version_and_strerror);
    RUN(test_sha256_vectors);
    RUN(test_sha256_zero_lengths_and_empty_batches);
    RUN(test_sha256_rejects_bad_arguments);
    RUN(test_sha256_huge_counts_are_refused_before_reading);
    RUN(test_sha256_threads_agree);
    RUN(test_merkle_cometbft_vectors);
    RUN(test_merkle_roots_and_proofs_match_definition);
    RUN(test_merkle_rejects_bad_arguments);
    RUN(test_smt_nodes_match_definition);
    RUN(test_smt_nodes_reject_bad_programs);
    RUN(test_secp256k1_verify);
    RUN(test_secp256k1_batch_threads_agree);
    RUN(test_ed25519_rfc8032_vectors);
    RUN(test_ed25519_sign_rfc8032_vectors);
    RUN(test_secp256k1_sign);
    RUN(test_secp256k1_check_pubkeys);
    printf("%d checks, %d failed\n", checks, failures);
    printf("%d passed, %d failed\n", tests_run - tests_failed, tests_failed);
    return failures ? 1 : 0;
}
