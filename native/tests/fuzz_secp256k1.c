/* Fuzz target: sultan_secp256k1_verify_batch on arbitrary and on signed-then-mutated items,
 * and sultan_secp256k1_check_pubkeys on the same keys (it must agree with the verifier). */
#include <secp256k1.h>

#include "fuzz_common.h"

static secp256k1_context *signer(void) {
    static secp256k1_context *ctx = NULL;
    if (ctx == NULL)
        ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
    fz_reader r = {input, size};
    fz_items it;
    fz_read_items(&r, &it);
    uint8_t pks[FZ_MAX_ITEMS * 33], sigs[FZ_MAX_ITEMS * 64], sks[FZ_MAX_ITEMS * 32];
    fz_bytes(&r, pks, it.count * 33);
    fz_bytes(&r, sigs, it.count * 64);
    fz_bytes(&r, sks, it.count * 32);
    const uint8_t *data = r.n ? r.p : NULL;
    size_t data_len = r.n;
    fz_place_items(&it, data_len);
    uint32_t flags = (it.mode >> 2) & 3, threads = it.mode % 4;
    int sign = (it.mode & 0x10) && it.in_bounds && !(flags & SULTAN_SECP256K1_PREHASHED);
    for (size_t i = 0; sign && i < it.count; i++) {
        /* Sign the item for real, then flip the bits the input asks for in its signature. */
        secp256k1_pubkey pub;
        secp256k1_ecdsa_signature sig;
        uint8_t digest[32], compact[64];
        size_t pk_len = 33;
        if (!secp256k1_ec_seckey_verify(signer(), sks + 32 * i))
            continue;
        fz_sha256(data ? data + it.off[i] : NULL, it.len[i], digest);
        if (!secp256k1_ec_pubkey_create(signer(), &pub, sks + 32 * i) ||
            !secp256k1_ecdsa_sign(signer(), &sig, digest, sks + 32 * i, NULL, NULL))
            continue;
        secp256k1_ec_pubkey_serialize(signer(), pks + 33 * i, &pk_len, &pub,
                                      SECP256K1_EC_COMPRESSED);
        secp256k1_ecdsa_signature_serialize_compact(signer(), compact, &sig);
        for (size_t b = 0; b < 64; b++)
            sigs[64 * i + b] = compact[b] ^ (it.mode & 0x20 ? sigs[64 * i + b] : 0);
    }
    uint8_t res1[FZ_MAX_ITEMS], res2[FZ_MAX_ITEMS];
    int rc1 = sultan_secp256k1_verify_batch(pks, it.count * 33, data, data_len, it.off, it.len,
                                            sigs, it.count * 64, it.count, flags, res1, it.count,
                                            1);
    int rc2 = sultan_secp256k1_verify_batch(pks, it.count * 33, data, data_len, it.off, it.len,
                                            sigs, it.count * 64, it.count, flags, res2, it.count,
                                            threads);
    fz_require(rc1 == rc2, "same status on any thread count");
    int prehashed_ok = 1;
    for (size_t i = 0; i < it.count; i++)
        if ((flags & SULTAN_SECP256K1_PREHASHED) && it.len[i] != 32)
            prehashed_ok = 0;
    if (!it.in_bounds || !prehashed_ok) {
        fz_require(rc1 == SULTAN_INVALID_PARAMETER, "bad batch refused");
        return 0;
    }
    fz_require(rc1 == SULTAN_SUCCESS, "valid batch succeeds");
    uint8_t parsed[FZ_MAX_ITEMS];
    fz_require(sultan_secp256k1_check_pubkeys(pks, it.count * 33, it.count, parsed, it.count) ==
                   SULTAN_SUCCESS,
               "key check succeeds");
    for (size_t i = 0; i < it.count; i++) {
        /* The verifier reports a bad key only once the signature parsed. */
        if (res1[i] == SULTAN_VERIFY_BAD_PUBKEY)
            fz_require(parsed[i] == SULTAN_VERIFY_BAD_PUBKEY, "bad key seen by both");
        else if (res1[i] != SULTAN_VERIFY_BAD_SIGNATURE)
            fz_require(parsed[i] == SULTAN_VERIFY_VALID, "good key seen by both");
    }
    for (size_t i = 0; i < it.count; i++) {
        fz_require(res1[i] <= SULTAN_VERIFY_HIGH_S, "result code in range");
        fz_require(res1[i] == res2[i], "same result on any thread count");
        if (sign && !(it.mode & 0x20) && secp256k1_ec_seckey_verify(signer(), sks + 32 * i))
            fz_require(res1[i] == SULTAN_VERIFY_VALID, "a fresh signature verifies");
    }
    return 0;
}
