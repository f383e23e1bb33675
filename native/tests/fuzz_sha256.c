/* Fuzz target: sultan_sha256_batch against OpenSSL's one-shot digest. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
    fz_reader r = {input, size};
    fz_items it;
    fz_read_items(&r, &it);
    const uint8_t *data = r.n ? r.p : NULL;
    size_t data_len = r.n;
    fz_place_items(&it, data_len);
    uint8_t out[FZ_MAX_ITEMS * 32];
    uint32_t threads = it.mode % 4;
    size_t out_len = (it.mode & 0x80) ? it.count * 32 - (it.count > 0) : sizeof out;
    int rc = sultan_sha256_batch(data, data_len, it.off, it.len, it.count, out, out_len, threads);
    if ((it.mode & 0x80) && it.count > 0) {
        fz_require(rc == SULTAN_INVALID_PARAMETER, "short output refused");
        return 0;
    }
    if (!it.in_bounds) {
        fz_require(rc == SULTAN_INVALID_PARAMETER, "out-of-bounds item refused");
        return 0;
    }
    fz_require(rc == SULTAN_SUCCESS, "valid batch succeeds");
    for (size_t i = 0; i < it.count; i++) {
        uint8_t want[32];
        fz_sha256(data ? data + it.off[i] : NULL, it.len[i], want);
        fz_require(memcmp(out + 32 * i, want, 32) == 0, "digest matches OpenSSL");
    }
    return 0;
}
