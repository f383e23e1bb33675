/* Fuzz target: sultan_merkle_root / _from_leaf_hashes / _proofs against RFC 6962 itself. */
#include "fuzz_common.h"

static void mth(const uint8_t *data, const size_t *off, const size_t *len, size_t n,
                uint8_t out[32]) {
    if (n == 0) {
        fz_sha256(NULL, 0, out);
        return;
    }
    if (n == 1) {
        fz_sha256_prefixed(0, data ? data + off[0] : NULL, len[0], out);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t buf[65];
    buf[0] = 1;
    mth(data, off, len, k, buf + 1);
    mth(data, off + k, len + k, n - k, buf + 33);
    fz_sha256(buf, 65, out);
}

/* Root from a leaf hash and its aunts (CometBFT computeHashFromAunts). */
static int proof_root(size_t index, size_t total, const uint8_t leaf[32], const uint8_t *aunts,
                      size_t naunts, uint8_t out[32]) {
    if (total == 1) {
        memcpy(out, leaf, 32);
        return naunts == 0;
    }
    if (naunts == 0 || total == 0)
        return 0;
    size_t k = 1;
    while (k * 2 < total)
        k *= 2;
    uint8_t buf[65];
    buf[0] = 1;
    const uint8_t *last = aunts + (naunts - 1) * 32;
    if (index < k) {
        if (!proof_root(index, k, leaf, aunts, naunts - 1, buf + 1))
            return 0;
        memcpy(buf + 33, last, 32);
    } else {
        if (!proof_root(index - k, total - k, leaf, aunts, naunts - 1, buf + 33))
            return 0;
        memcpy(buf + 1, last, 32);
    }
    fz_sha256(buf, 65, out);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
    fz_reader r = {input, size};
    fz_items it;
    fz_read_items(&r, &it);
    const uint8_t *data = r.n ? r.p : NULL;
    size_t data_len = r.n;
    fz_place_items(&it, data_len);
    uint32_t threads = it.mode % 4;
    uint8_t root[32], want[32];
    int rc = sultan_merkle_root(data, data_len, it.off, it.len, it.count, root, 32, threads);
    size_t depth;
    fz_require(sultan_merkle_proof_depth(it.count, &depth) == SULTAN_SUCCESS, "depth");
    uint8_t leaves[FZ_MAX_ITEMS * 32], aunts[FZ_MAX_ITEMS * 8 * 32], counts[FZ_MAX_ITEMS],
        proot[32];
    int prc = sultan_merkle_proofs(data, data_len, it.off, it.len, it.count, proot, 32, leaves,
                                   sizeof leaves, aunts, sizeof aunts, depth, counts, sizeof counts,
                                   threads);
    if (!it.in_bounds) {
        fz_require(rc == SULTAN_INVALID_PARAMETER && prc == SULTAN_INVALID_PARAMETER,
                   "out-of-bounds item refused");
        return 0;
    }
    fz_require(rc == SULTAN_SUCCESS && prc == SULTAN_SUCCESS, "valid tree succeeds");
    mth(data, it.off, it.len, it.count, want);
    fz_require(memcmp(root, want, 32) == 0, "root matches RFC 6962");
    fz_require(memcmp(proot, want, 32) == 0, "proofs root matches");
    uint8_t lroot[32];
    fz_require(sultan_merkle_root_from_leaf_hashes(it.count ? leaves : NULL, it.count * 32,
                                                   it.count, lroot, 32) == SULTAN_SUCCESS,
               "root from leaf hashes");
    fz_require(memcmp(lroot, want, 32) == 0, "root from leaf hashes matches");
    for (size_t i = 0; i < it.count; i++) {
        uint8_t got[32];
        fz_require(counts[i] <= depth, "aunt count within depth");
        fz_require(proof_root(i, it.count, leaves + 32 * i, aunts + i * depth * 32, counts[i],
                              got) &&
                       memcmp(got, want, 32) == 0,
                   "proof verifies");
    }
    return 0;
}
