/*
 * sultan_crypto.h - the Sultan node's C crypto core.
 *
 * A small C library that batches the node's hot cryptographic work: SHA-256 of many inputs,
 * RFC-6962 Merkle roots and proofs (as CometBFT's crypto/merkle computes them), the state
 * tree's node hashes, secp256k1 ECDSA verification (libsecp256k1) and ed25519 verification
 * (OpenSSL libcrypto) of many (public key, message, signature) triples with a result per
 * item; and signing with both, one message at a time. It contains no cryptographic
 * primitive of its own: hashing, signing and signature checks are the libraries'; this
 * layer only checks arguments, assembles Merkle trees and spreads batches over threads.
 *
 * ABI
 *   Plain C, stable: functions take and return only fixed-width integers, size_t and
 *   pointers to bytes, size_t or int32_t. SULTAN_CRYPTO_ABI_VERSION changes only when an
 *   existing signature or meaning changes; new functions and new flag bits do not change it.
 *
 * Conventions (every function)
 *   - Returns an error code (below); SULTAN_SUCCESS is 0. Nothing aborts the process, prints,
 *     or calls exit(); a failed call writes nothing the caller can rely on except
 *     per-item results already documented as written.
 *   - Every pointer is checked. A pointer paired with a length or count may be NULL only when
 *     that length/count is 0; any other NULL gives SULTAN_NULL_POINTER.
 *   - Every length is checked before any byte is read or written: inputs made of fixed-size
 *     records (public keys, signatures, leaf hashes) must be exactly count x record size;
 *     output buffers must be at least the size needed; an item (offsets[i], lengths[i])
 *     must lie inside its data buffer; arithmetic that would overflow size_t is rejected.
 *     Violations give SULTAN_INVALID_PARAMETER.
 *   - Ownership: the library never keeps, frees or returns pointers to caller memory. Inputs
 *     are only read during the call; outputs are only written during the call. Strings
 *     returned by sultan_crypto_version / sultan_crypto_strerror are static; never free them.
 *   - Thread safety: every function may be called from any number of threads at once. The
 *     only global state is created once under pthread_once (a libsecp256k1 context,
 *     randomized at creation for signing, and OpenSSL's SHA-256 implementation handle) and
 *     is read-only afterwards.
 *     Input and output buffers must not be modified by another thread during a call.
 *   - Threads: batch functions take `threads`: 0 = as many as online CPUs (at most
 *     SULTAN_MAX_THREADS), 1 = the calling thread only, n = at most n. Worker threads are
 *     created for the call (pinned, for their life, to allowed CPUs other than the
 *     caller's) and joined before it returns, and only when the batch is big enough to gain
 *     from them; the calling thread works too, and if a thread cannot be created its share
 *     runs on the others. The calling thread's own affinity is never changed. More than
 *     SULTAN_MAX_THREADS gives SULTAN_INVALID_PARAMETER.
 *     Results never depend on the number of threads.
 *   - Callers from Python (cffi) release the GIL for the whole call.
 */
#ifndef SULTAN_CRYPTO_H
#define SULTAN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported symbols; everything else in the library is hidden (-fvisibility=hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define SULTAN_API __attribute__((visibility("default")))
#else
#define SULTAN_API
#endif

#define SULTAN_CRYPTO_ABI_VERSION 1
#define SULTAN_CRYPTO_VERSION "0.1.0"

/* ---- error codes (the original node's FFI set; values are part of the ABI) --------------- */
#define SULTAN_SUCCESS 0
#define SULTAN_NULL_POINTER 1      /* a required pointer was NULL */
#define SULTAN_INVALID_UTF8 2      /* text argument not UTF-8 (reserved: no function takes text) */
#define SULTAN_INVALID_PARAMETER 3 /* a length, count, offset, flag or thread count is wrong */
#define SULTAN_BLOCKCHAIN_ERROR 4  /* reserved for chain-level failures; never returned here */
#define SULTAN_CONSENSUS_ERROR 5   /* reserved for consensus-level failures; never returned here */
#define SULTAN_INTERNAL_ERROR 6    /* out of memory, or a wrapped library failed unexpectedly */

/* ---- sizes and limits ------------------------------------------------------------------- */
#define SULTAN_SHA256_SIZE 32
#define SULTAN_SECP256K1_PUBKEY_SIZE 33    /* compressed: 0x02/0x03 || x */
#define SULTAN_SECP256K1_SIGNATURE_SIZE 64 /* r || s, big-endian */
#define SULTAN_SECP256K1_SECKEY_SIZE 32    /* a scalar in [1, n - 1], big-endian */
#define SULTAN_ED25519_PUBKEY_SIZE 32
#define SULTAN_ED25519_SIGNATURE_SIZE 64
#define SULTAN_ED25519_SEED_SIZE 32 /* RFC 8032's private key */
#define SULTAN_MAX_THREADS 64

/* ---- secp256k1 verification flags ------------------------------------------------------- */
/* Messages are 32-byte SHA-256 digests to verify directly (default: raw messages, hashed
 * with SHA-256 by the library first, as Cosmos SDK secp256k1 keys sign). */
#define SULTAN_SECP256K1_PREHASHED 0x1u
/* Accept a high-S signature by normalizing it to low-S before verifying (default: reject it
 * with SULTAN_VERIFY_HIGH_S, the Cosmos SDK rule that keeps signatures non-malleable). */
#define SULTAN_SECP256K1_NORMALIZE_S 0x2u

/* ---- per-item verification results (one byte per item) ---------------------------------- */
#define SULTAN_VERIFY_INVALID 0       /* well-formed, but not a signature of this message/key */
#define SULTAN_VERIFY_VALID 1         /* the signature verifies */
#define SULTAN_VERIFY_BAD_PUBKEY 2    /* public key does not parse (prefix, off-curve x) */
#define SULTAN_VERIFY_BAD_SIGNATURE 3 /* r or s is zero or not below the group order */
#define SULTAN_VERIFY_HIGH_S 4        /* s > n/2 and SULTAN_SECP256K1_NORMALIZE_S not set */

/* ---- version and errors ------------------------------------------------------------------ */

/* The library version, e.g. "0.1.0" (static string; never NULL). */
SULTAN_API const char *sultan_crypto_version(void);

/* SULTAN_CRYPTO_ABI_VERSION as compiled into the library (compare with the header's). */
SULTAN_API uint32_t sultan_crypto_abi_version(void);

/* A static English description of an error code; "unknown error code" for others. */
SULTAN_API const char *sultan_crypto_strerror(int code);

/* ---- SHA-256 ----------------------------------------------------------------------------- */

/*
 * SHA-256 of `count` items. Item i is data[offsets[i] .. offsets[i] + lengths[i]).
 *   data, data_len:         the bytes the items are taken from (items may overlap)
 *   offsets, lengths:       `count` entries each
 *   digests_out:            receives count x 32 bytes, item i at i x 32;
 *                           digests_out_len >= count x 32
 * Errors: NULL_POINTER, INVALID_PARAMETER (item outside data, short output, threads),
 *         INTERNAL_ERROR.
 */
SULTAN_API int sultan_sha256_batch(const uint8_t *data, size_t data_len, const size_t *offsets,
                        const size_t *lengths, size_t count, uint8_t *digests_out,
                        size_t digests_out_len, uint32_t threads);

/* ---- RFC-6962 Merkle trees (CometBFT crypto/merkle) -------------------------------------- */
/*
 * leaf  = SHA-256(0x00 || item)
 * inner = SHA-256(0x01 || left || right)
 * The root of n > 1 leaves is inner(root(first k), root(rest)) with k the largest power of
 * two below n; the root of one leaf is its leaf hash; the root of none is SHA-256("").
 * This is `merkle.HashFromByteSlices` / `ProofsFromByteSlices`.
 */

/* Root over `count` items given as in sultan_sha256_batch; root_out_len >= 32. */
SULTAN_API int sultan_merkle_root(const uint8_t *data, size_t data_len, const size_t *offsets,
                       const size_t *lengths, size_t count, uint8_t *root_out, size_t root_out_len,
                       uint32_t threads);

/* Root over `count` precomputed leaf hashes (leaf_hashes_len == count x 32). */
SULTAN_API int sultan_merkle_root_from_leaf_hashes(const uint8_t *leaf_hashes, size_t leaf_hashes_len,
                                        size_t count, uint8_t *root_out, size_t root_out_len);

/* The number of aunts the deepest leaf of a `count`-leaf tree has: 0 for count <= 1, else
 * ceil(log2(count)). Size the buffers of sultan_merkle_proofs with it. */
SULTAN_API int sultan_merkle_proof_depth(size_t count, size_t *depth_out);

/*
 * Root, leaf hashes and the inclusion proof of every item (CometBFT `Proof.Aunts`).
 *   root_out:          32 bytes
 *   leaf_hashes_out:   count x 32 bytes (leaf hash of item i at i x 32)
 *   aunts_out:         count x depth x 32 bytes; item i's aunts, ordered from the leaf up,
 *                      start at (i x depth) x 32; only the first aunt_counts_out[i] are set
 *   depth:             exactly sultan_merkle_proof_depth(count)
 *   aunt_counts_out:   count bytes: how many aunts item i has (<= depth)
 * With count == 0 only root_out is written (SHA-256("")); the other outputs may be NULL.
 */
SULTAN_API int sultan_merkle_proofs(const uint8_t *data, size_t data_len, const size_t *offsets,
                         const size_t *lengths, size_t count, uint8_t *root_out,
                         size_t root_out_len, uint8_t *leaf_hashes_out,
                         size_t leaf_hashes_out_len, uint8_t *aunts_out, size_t aunts_out_len,
                         size_t depth, uint8_t *aunt_counts_out, size_t aunt_counts_out_len,
                         uint32_t threads);

/* ---- the state tree's new nodes (docs/state.md) ------------------------------------------ */

#define SULTAN_SMT_REF_SIZE 41      /* a child reference: kind || be64(version) || hash */
#define SULTAN_SMT_MAX_NODE_SIZE 83 /* an inner node: 0x02 || two references */

/*
 * Hash a commit's new nodes of one store's sparse Merkle tree, and encode its new inner
 * nodes, in one call. A child reference, as a parent stores it, is one byte 0x00 (an empty
 * subtree, whose hash is 32 zero bytes) or 41 bytes: kind (0x01 leaf, 0x02 inner) ||
 * be64(version) || hash.
 *   program:   3 x count int32 (program_len == 3 x count); node i is (tag, a, b), and a
 *              node's children come before it:
 *              tag 0, a new leaf: digest SHA-256(0x00 || A || B), A and B the hashes of
 *                literals a and b (sha256(key) and sha256(value)); no bytes are encoded.
 *              tag 1, a new inner node: digest SHA-256(0x01 || hash(a) || hash(b)); its
 *                encoding is 0x02 || ref(a) || ref(b).
 *              An operand j >= 0 is node j (j < i; only inner nodes take nodes): its
 *              reference is kind (0x01 for a leaf, 0x02 for an inner node) || `version` ||
 *              its digest. An operand j < 0 is literal -j - 1.
 *   refs:      literals, 41 bytes each (refs_len a multiple of 41): a reference as above
 *              (kind 0x00 = empty: the rest is ignored and it encodes as the single byte
 *              0x00), or, for a leaf's operands, any 9 bytes followed by the 32-byte hash.
 *   version:   the 8 bytes (be64) of the commit's version; version_len == 8
 *   digests_out:       count x 32 bytes, node i's digest at i x 32
 *   nodes_out:         the inner nodes' encodings one after another, in program order;
 *                      nodes_out_len >= count x SULTAN_SMT_MAX_NODE_SIZE
 *   node_lengths_out:  count bytes: node i's encoding length (0 for a leaf)
 * The whole program is checked before the first node is hashed. Runs on the calling thread
 * (each node may depend on the ones before it).
 * Errors: NULL_POINTER, INVALID_PARAMETER (lengths; a tag other than 0 or 1; an operand
 *         naming a later node, itself, a missing literal, or a node under a leaf; an inner
 *         node's literal of unknown kind; count > INT32_MAX), INTERNAL_ERROR.
 */
SULTAN_API int sultan_smt_nodes(const int32_t *program, size_t program_len, const uint8_t *refs,
                                size_t refs_len, const uint8_t *version, size_t version_len,
                                size_t count, uint8_t *digests_out, size_t digests_out_len,
                                uint8_t *nodes_out, size_t nodes_out_len,
                                uint8_t *node_lengths_out, size_t node_lengths_out_len);

/* ---- signatures -------------------------------------------------------------------------- */

/*
 * secp256k1 ECDSA verification of `count` items (libsecp256k1).
 *   pubkeys:     count x 33 bytes (compressed keys), pubkeys_len == count x 33
 *   msgs:        messages as in sultan_sha256_batch (msgs, msgs_len, msg_offsets,
 *                msg_lengths); with SULTAN_SECP256K1_PREHASHED every message must be 32 bytes
 *   sigs:        count x 64 bytes (r || s), sigs_len == count x 64
 *   flags:       SULTAN_SECP256K1_PREHASHED | SULTAN_SECP256K1_NORMALIZE_S; other bits are
 *                INVALID_PARAMETER
 *   results_out: count bytes, one SULTAN_VERIFY_* per item
 * A malformed key or signature is a per-item result, never a call error.
 */
SULTAN_API int sultan_secp256k1_verify_batch(const uint8_t *pubkeys, size_t pubkeys_len,
                                  const uint8_t *msgs, size_t msgs_len, const size_t *msg_offsets,
                                  const size_t *msg_lengths, const uint8_t *sigs, size_t sigs_len,
                                  size_t count, uint32_t flags, uint8_t *results_out,
                                  size_t results_out_len, uint32_t threads);

/*
 * Whether each of `count` compressed secp256k1 public keys (33 bytes each, pubkeys_len ==
 * count x 33) parses: prefix 0x02/0x03 and an x on the curve. results_out: count bytes,
 * SULTAN_VERIFY_VALID or SULTAN_VERIFY_BAD_PUBKEY per key (the same rule the verifier
 * applies). Runs on the calling thread.
 */
SULTAN_API int sultan_secp256k1_check_pubkeys(const uint8_t *pubkeys, size_t pubkeys_len,
                                              size_t count, uint8_t *results_out,
                                              size_t results_out_len);

/*
 * ed25519 verification (RFC 8032, OpenSSL libcrypto) of `count` items.
 *   pubkeys:     count x 32 bytes; sigs: count x 64 bytes; messages as above
 *   flags:       reserved, must be 0
 *   results_out: count bytes, SULTAN_VERIFY_VALID or SULTAN_VERIFY_INVALID per item
 */
SULTAN_API int sultan_ed25519_verify_batch(const uint8_t *pubkeys, size_t pubkeys_len, const uint8_t *msgs,
                                size_t msgs_len, const size_t *msg_offsets,
                                const size_t *msg_lengths, const uint8_t *sigs, size_t sigs_len,
                                size_t count, uint32_t flags, uint8_t *results_out,
                                size_t results_out_len, uint32_t threads);

/* ---- signing ------------------------------------------------------------------------------ */
/*
 * One message at a time, for key holders: wallets and the CLI signing txs, a validator
 * signing its own votes. Secret keys are only read during the call; the library keeps no
 * copy (OpenSSL's internal copy of an ed25519 seed is cleansed when freed).
 */

/* The compressed public key (33 bytes) of a secp256k1 secret key. A key that is zero or
 * not below the group order gives INVALID_PARAMETER. */
SULTAN_API int sultan_secp256k1_public_key(const uint8_t *seckey, size_t seckey_len,
                                           uint8_t *pubkey_out, size_t pubkey_out_len);

/* The ECDSA signature r || s (64 bytes) of SHA-256(msg) — or of msg itself, 32 bytes, with
 * SULTAN_SECP256K1_PREHASHED (the only flag) — with an RFC 6979 nonce: deterministic, and
 * always low-S, so sultan_secp256k1_verify_batch accepts it without NORMALIZE_S. An
 * invalid secret key gives INVALID_PARAMETER. */
SULTAN_API int sultan_secp256k1_sign(const uint8_t *seckey, size_t seckey_len, const uint8_t *msg,
                                     size_t msg_len, uint32_t flags, uint8_t *sig_out,
                                     size_t sig_out_len);

/* The ed25519 public key (32 bytes) of a 32-byte seed (RFC 8032). */
SULTAN_API int sultan_ed25519_public_key(const uint8_t *seed, size_t seed_len,
                                         uint8_t *pubkey_out, size_t pubkey_out_len);

/* The RFC 8032 ed25519 signature (64 bytes, deterministic) of msg under a 32-byte seed. */
SULTAN_API int sultan_ed25519_sign(const uint8_t *seed, size_t seed_len, const uint8_t *msg,
                                   size_t msg_len, uint8_t *sig_out, size_t sig_out_len);

#ifdef __cplusplus
}
#endif

#endif /* SULTAN_CRYPTO_H */
