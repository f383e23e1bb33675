/* The state tree's new nodes, hashed and encoded in one call (see sultan_crypto.h and
 * docs/state.md for the layout). */
#include <string.h>

#include "internal.h"

#define REF_SIZE SULTAN_SMT_REF_SIZE /* kind || be64(version) || hash */
#define HASH_AT 9                    /* where a reference's hash starts */

static const uint8_t SMT_LEAF_TAG = 0x00;
static const uint8_t SMT_INNER_TAG = 0x01;
static const uint8_t KIND_EMPTY = 0x00, KIND_LEAF = 0x01, KIND_INNER = 0x02;
static const uint8_t ZERO_HASH[SULTAN_SHA256_SIZE] = {0};

/* Every operand names a literal or an earlier inner node (leaves: two literals); every
 * literal an inner node uses has a known kind. Checked before anything is hashed. */
static int check_program(const int32_t *program, size_t count, const uint8_t *refs,
                         size_t ref_count) {
    for (size_t i = 0; i < count; i++) {
        const int32_t *node = program + 3 * i;
        if (node[0] != SMT_LEAF_TAG && node[0] != SMT_INNER_TAG)
            return SULTAN_INVALID_PARAMETER;
        for (int k = 1; k <= 2; k++) {
            int64_t operand = node[k];
            if (operand >= 0) {
                /* Only an inner node takes a node as child, and only one before it. */
                if (node[0] == SMT_LEAF_TAG || (uint64_t)operand >= i)
                    return SULTAN_INVALID_PARAMETER;
                continue;
            }
            uint64_t lit = (uint64_t)(-operand - 1);
            if (lit >= ref_count)
                return SULTAN_INVALID_PARAMETER;
            uint8_t kind = refs[lit * REF_SIZE];
            if (node[0] == SMT_INNER_TAG && kind != KIND_EMPTY && kind != KIND_LEAF &&
                kind != KIND_INNER)
                return SULTAN_INVALID_PARAMETER;
        }
    }
    return SULTAN_SUCCESS;
}

/* A child's reference as its parent stores it; returns its length (1 or 41). */
static size_t put_ref(uint8_t *out, int32_t operand, const int32_t *program, const uint8_t *refs,
                      const uint8_t *version, const uint8_t *digests) {
    if (operand >= 0) {
        out[0] = program[3 * (size_t)operand] == SMT_INNER_TAG ? KIND_INNER : KIND_LEAF;
        memcpy(out + 1, version, 8);
        memcpy(out + HASH_AT, digests + (size_t)operand * SULTAN_SHA256_SIZE, SULTAN_SHA256_SIZE);
        return REF_SIZE;
    }
    const uint8_t *ref = refs + (size_t)(-(int64_t)operand - 1) * REF_SIZE;
    if (ref[0] == KIND_EMPTY) {
        out[0] = KIND_EMPTY;
        return 1;
    }
    memcpy(out, ref, REF_SIZE);
    return REF_SIZE;
}

static const uint8_t *operand_hash(int32_t operand, const uint8_t *refs, const uint8_t *digests,
                                   int inner) {
    if (operand >= 0)
        return digests + (size_t)operand * SULTAN_SHA256_SIZE;
    const uint8_t *ref = refs + (size_t)(-(int64_t)operand - 1) * REF_SIZE;
    if (inner && ref[0] == KIND_EMPTY)
        return ZERO_HASH;
    return ref + HASH_AT;
}

int sultan_smt_nodes(const int32_t *program, size_t program_len, const uint8_t *refs,
                     size_t refs_len, const uint8_t *version, size_t version_len, size_t count,
                     uint8_t *digests_out, size_t digests_out_len, uint8_t *nodes_out,
                     size_t nodes_out_len, uint8_t *node_lengths_out,
                     size_t node_lengths_out_len) {
    size_t words, need_digests, need_nodes;
    if (version == NULL)
        return SULTAN_NULL_POINTER;
    if (count > 0 && (program == NULL || digests_out == NULL || nodes_out == NULL ||
                      node_lengths_out == NULL))
        return SULTAN_NULL_POINTER;
    if (refs_len > 0 && refs == NULL)
        return SULTAN_NULL_POINTER;
    if (count > INT32_MAX || !sc_mul(count, 3, &words) || program_len != words ||
        refs_len % REF_SIZE != 0 || version_len != 8 ||
        !sc_mul(count, SULTAN_SHA256_SIZE, &need_digests) || digests_out_len < need_digests ||
        !sc_mul(count, SULTAN_SMT_MAX_NODE_SIZE, &need_nodes) || nodes_out_len < need_nodes ||
        node_lengths_out_len < count)
        return SULTAN_INVALID_PARAMETER;
    int rc = check_program(program, count, refs, refs_len / REF_SIZE);
    if (rc != SULTAN_SUCCESS || count == 0)
        return rc;
    void *ctx = sc_md_ctx_new();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    size_t pos = 0;
    for (size_t i = 0; i < count && rc == SULTAN_SUCCESS; i++) {
        const int32_t *node = program + 3 * i;
        int inner = node[0] == SMT_INNER_TAG;
        const uint8_t tag = inner ? SMT_INNER_TAG : SMT_LEAF_TAG;
        rc = sc_sha256_parts(ctx, &tag, 1, operand_hash(node[1], refs, digests_out, inner),
                             SULTAN_SHA256_SIZE, operand_hash(node[2], refs, digests_out, inner),
                             SULTAN_SHA256_SIZE, digests_out + i * SULTAN_SHA256_SIZE);
        node_lengths_out[i] = 0;
        if (inner && rc == SULTAN_SUCCESS) {
            size_t start = pos;
            nodes_out[pos++] = KIND_INNER;
            pos += put_ref(nodes_out + pos, node[1], program, refs, version, digests_out);
            pos += put_ref(nodes_out + pos, node[2], program, refs, version, digests_out);
            node_lengths_out[i] = (uint8_t)(pos - start);
        }
    }
    sc_md_ctx_free(ctx);
    return rc;
}
