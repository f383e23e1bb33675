/* Fuzz target: sultan_smt_nodes against a reference evaluation written out here.
 *
 * Input: count (1 byte, < 64), literal count (1 byte, < 16), mode (1 byte), then 3 bytes per
 * node (tag, a, b; an operand byte v names node v - 16 when v >= 16, else literal v), then
 * 41 bytes per literal. Tags, operands and literal kinds come from the input, so most
 * programs are malformed (a tag other than 0/1, an operand naming a later node or a missing
 * literal, a node under a leaf, a literal of unknown kind) and must be refused with
 * SULTAN_INVALID_PARAMETER; mode bit 0x80 makes the encoding buffer one byte short. */
#include "fuzz_common.h"

#define FZ_MAX_NODES 64
#define FZ_MAX_LITERALS 16

static const uint8_t *hash_of(int32_t op, const uint8_t *lits, const uint8_t *digests,
                              int inner) {
    static const uint8_t zero[32] = {0};
    if (op >= 0)
        return digests + 32 * op;
    const uint8_t *ref = lits + 41 * (-op - 1);
    return inner && ref[0] == 0 ? zero : ref + 9;
}

static size_t ref_of(int32_t op, const int32_t *program, const uint8_t *lits,
                     const uint8_t *digests, const uint8_t version[8], uint8_t *out) {
    if (op >= 0) {
        out[0] = program[3 * op] == 1 ? 2 : 1;
        memcpy(out + 1, version, 8);
        memcpy(out + 9, digests + 32 * op, 32);
        return 41;
    }
    const uint8_t *ref = lits + 41 * (-op - 1);
    if (ref[0] == 0) {
        out[0] = 0;
        return 1;
    }
    memcpy(out, ref, 41);
    return 41;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
    fz_reader r = {input, size};
    size_t count = fz_u8(&r) % FZ_MAX_NODES;
    size_t nlit = fz_u8(&r) % FZ_MAX_LITERALS;
    uint8_t mode = fz_u8(&r);
    int32_t program[3 * FZ_MAX_NODES];
    for (size_t i = 0; i < count; i++) {
        program[3 * i] = fz_u8(&r) % 3;
        for (int k = 1; k <= 2; k++) {
            uint8_t v = fz_u8(&r);
            program[3 * i + k] = v >= 16 ? v - 16 : -(int32_t)v - 1;
        }
    }
    uint8_t lits[FZ_MAX_LITERALS * 41];
    fz_bytes(&r, lits, nlit * 41);
    for (size_t j = 0; j < nlit; j++)
        lits[41 * j] %= 4; /* kinds 0-2 are valid, 3 is not */
    int valid = 1;
    for (size_t i = 0; i < count; i++) {
        int32_t tag = program[3 * i];
        valid &= tag == 0 || tag == 1;
        for (int k = 1; k <= 2; k++) {
            int32_t op = program[3 * i + k];
            if (op >= 0)
                valid &= tag == 1 && (size_t)op < i;
            else if ((size_t)(-op - 1) >= nlit)
                valid = 0;
            else if (tag == 1)
                valid &= lits[41 * (-op - 1)] <= 2;
        }
    }
    static const uint8_t version[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t digests[FZ_MAX_NODES * 32], nodes[FZ_MAX_NODES * 83], lengths[FZ_MAX_NODES];
    size_t nodes_len = (mode & 0x80) && count > 0 ? count * 83 - 1 : count * 83;
    int rc = sultan_smt_nodes(count ? program : NULL, 3 * count, nlit ? lits : NULL, nlit * 41,
                              version, 8, count, count ? digests : NULL, count * 32,
                              count ? nodes : NULL, nodes_len, count ? lengths : NULL, count);
    if ((mode & 0x80) && count > 0) {
        fz_require(rc == SULTAN_INVALID_PARAMETER, "short output refused");
        return 0;
    }
    if (!valid) {
        fz_require(rc == SULTAN_INVALID_PARAMETER, "bad program refused");
        return 0;
    }
    fz_require(rc == SULTAN_SUCCESS, "valid program succeeds");
    uint8_t want[FZ_MAX_NODES * 32], enc[83];
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        int inner = program[3 * i] == 1;
        uint8_t buf[65];
        buf[0] = (uint8_t)program[3 * i];
        memcpy(buf + 1, hash_of(program[3 * i + 1], lits, want, inner), 32);
        memcpy(buf + 33, hash_of(program[3 * i + 2], lits, want, inner), 32);
        fz_sha256(buf, 65, want + 32 * i);
        if (!inner) {
            fz_require(lengths[i] == 0, "a leaf has no encoding");
            continue;
        }
        enc[0] = 2;
        size_t n = 1;
        n += ref_of(program[3 * i + 1], program, lits, want, version, enc + n);
        n += ref_of(program[3 * i + 2], program, lits, want, version, enc + n);
        fz_require(lengths[i] == n && memcmp(nodes + pos, enc, n) == 0, "encoding matches");
        pos += n;
    }
    fz_require(memcmp(digests, want, count * 32) == 0, "digests match the reference");
    return 0;
}
