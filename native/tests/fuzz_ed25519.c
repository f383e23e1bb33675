/* Fuzz target: sultan_ed25519_verify_batch on arbitrary and on signed-then-mutated items. */
#include "fuzz_common.h"

static int sign(const uint8_t seed[32], const uint8_t *msg, size_t len, uint8_t pk[32],
                uint8_t sig[64]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t pk_len = 32, sig_len = 64;
    int ok = key && ctx && EVP_PKEY_get_raw_public_key(key, pk, &pk_len) == 1 &&
             EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &sig_len, len ? msg : (const uint8_t *)"", len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
    fz_reader r = {input, size};
    fz_items it;
    fz_read_items(&r, &it);
    uint8_t pks[FZ_MAX_ITEMS * 32], sigs[FZ_MAX_ITEMS * 64], seeds[FZ_MAX_ITEMS * 32];
    fz_bytes(&r, pks, it.count * 32);
    fz_bytes(&r, sigs, it.count * 64);
    fz_bytes(&r, seeds, it.count * 32);
    const uint8_t *data = r.n ? r.p : NULL;
    size_t data_len = r.n;
    fz_place_items(&it, data_len);
    uint32_t threads = it.mode % 4, flags = (it.mode & 0x40) ? 1 : 0;
    int signed_ok[FZ_MAX_ITEMS] = {0};
    int do_sign = (it.mode & 0x10) && it.in_bounds;
    for (size_t i = 0; do_sign && i < it.count; i++) {
        uint8_t sig[64];
        signed_ok[i] = sign(seeds + 32 * i, data ? data + it.off[i] : NULL, it.len[i],
                            pks + 32 * i, sig);
        for (size_t b = 0; signed_ok[i] && b < 64; b++)
            sigs[64 * i + b] = sig[b] ^ (it.mode & 0x20 ? sigs[64 * i + b] : 0);
    }
    uint8_t res1[FZ_MAX_ITEMS], res2[FZ_MAX_ITEMS];
    int rc1 = sultan_ed25519_verify_batch(pks, it.count * 32, data, data_len, it.off, it.len,
                                          sigs, it.count * 64, it.count, flags, res1, it.count, 1);
    int rc2 = sultan_ed25519_verify_batch(pks, it.count * 32, data, data_len, it.off, it.len,
                                          sigs, it.count * 64, it.count, flags, res2, it.count,
                                          threads);
    fz_require(rc1 == rc2, "same status on any thread count");
    if (!it.in_bounds || flags) {
        fz_require(rc1 == SULTAN_INVALID_PARAMETER, "bad batch refused");
        return 0;
    }
    fz_require(rc1 == SULTAN_SUCCESS, "valid batch succeeds");
    for (size_t i = 0; i < it.count; i++) {
        fz_require(res1[i] <= SULTAN_VERIFY_VALID, "result code in range");
        fz_require(res1[i] == res2[i], "same result on any thread count");
        if (signed_ok[i] && !(it.mode & 0x20))
            fz_require(res1[i] == SULTAN_VERIFY_VALID, "a fresh signature verifies");
    }
    return 0;
}
