/* Fuzz target: the signing entry points. Input: mode (1 byte), a 32-byte secret key or seed,
 * then the message. A secp256k1 key that is zero or not below the group order must be
 * refused; every other key must sign, and the signature must verify (low-S, under the
 * key's public key) through the batch verifiers, and be deterministic. */
#include "fuzz_common.h"

static const uint8_t ORDER[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
    fz_reader r = {input, size};
    uint8_t mode = fz_u8(&r);
    uint8_t key[32];
    fz_bytes(&r, key, 32);
    if (mode & 0x40)
        memset(key, (mode & 0x20) ? 0xff : 0x00, 32); /* the edge keys: zero, above the order */
    const uint8_t *msg = r.n ? r.p : NULL;
    size_t msg_len = r.n;
    size_t off[1] = {0}, len[1] = {msg_len};
    uint8_t pk[33], sig[64], again[64], res[1];
    if (mode & 1) {
        fz_require(sultan_ed25519_public_key(key, 32, pk, 32) == SULTAN_SUCCESS, "ed25519 key");
        fz_require(sultan_ed25519_sign(key, 32, msg, msg_len, sig, 64) == SULTAN_SUCCESS,
                   "ed25519 signs");
        fz_require(sultan_ed25519_sign(key, 32, msg, msg_len, again, 64) == SULTAN_SUCCESS &&
                       memcmp(sig, again, 64) == 0,
                   "ed25519 deterministic");
        fz_require(sultan_ed25519_verify_batch(pk, 32, msg, msg_len, off, len, sig, 64, 1, 0, res,
                                               1, 1) == SULTAN_SUCCESS &&
                       res[0] == SULTAN_VERIFY_VALID,
                   "ed25519 signature verifies");
        return 0;
    }
    int zero = 1;
    for (int i = 0; i < 32; i++)
        zero &= key[i] == 0;
    int valid = !zero && memcmp(key, ORDER, 32) < 0;
    int rc = sultan_secp256k1_sign(key, 32, msg, msg_len, 0, sig, 64);
    int prc = sultan_secp256k1_public_key(key, 32, pk, 33);
    if (!valid) {
        fz_require(rc == SULTAN_INVALID_PARAMETER && prc == SULTAN_INVALID_PARAMETER,
                   "invalid secp256k1 key refused");
        return 0;
    }
    fz_require(rc == SULTAN_SUCCESS && prc == SULTAN_SUCCESS, "valid secp256k1 key signs");
    fz_require(sultan_secp256k1_sign(key, 32, msg, msg_len, 0, again, 64) == SULTAN_SUCCESS &&
                   memcmp(sig, again, 64) == 0,
               "secp256k1 deterministic");
    fz_require(sultan_secp256k1_verify_batch(pk, 33, msg, msg_len, off, len, sig, 64, 1, 0, res, 1,
                                             1) == SULTAN_SUCCESS &&
                   res[0] == SULTAN_VERIFY_VALID,
               "secp256k1 signature verifies, low-S");
    return 0;
}
