/* Signatures: batch verification, and signing for key holders (wallets, a validator's own
 * votes); secp256k1 ECDSA (libsecp256k1), ed25519 (OpenSSL). */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <secp256k1.h>

#include "internal.h"

/* ---- the shared, read-only libsecp256k1 context ----------------------------------------- */

static pthread_once_t secp_once = PTHREAD_ONCE_INIT;
static secp256k1_context *secp_ctx = NULL; /* created once under secp_once; then read-only */
/* Set when libsecp256k1 reports an illegal argument on this thread (our checks make that
 * impossible; if it ever happens the call fails instead of the process aborting). */
static _Thread_local int secp_illegal = 0;

static void secp_callback(const char *message, void *data) {
    (void)message;
    (void)data;
    secp_illegal = 1;
}

static void secp_init(void) {
#ifdef SECP256K1_CONTEXT_NONE
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
#else
    secp256k1_context *ctx =
        secp256k1_context_create(SECP256K1_CONTEXT_VERIFY | SECP256K1_CONTEXT_SIGN);
#endif
    if (ctx == NULL)
        return;
    /* Blinding for signing (side-channel protection); verification does not need it. */
    uint8_t seed[32];
    if (RAND_bytes(seed, sizeof seed) != 1 || !secp256k1_context_randomize(ctx, seed)) {
        OPENSSL_cleanse(seed, sizeof seed);
        secp256k1_context_destroy(ctx);
        return;
    }
    OPENSSL_cleanse(seed, sizeof seed);
    /* libsecp256k1's default callbacks abort(); ours only record the event. */
    secp256k1_context_set_illegal_callback(ctx, secp_callback, NULL);
    secp256k1_context_set_error_callback(ctx, secp_callback, NULL);
    secp_ctx = ctx;
}

static const secp256k1_context *secp_context(void) {
    if (pthread_once(&secp_once, secp_init) != 0)
        return NULL;
    return secp_ctx;
}

/* ---- shared argument checks --------------------------------------------------------------- */

static int check_sig_batch(const uint8_t *pubkeys, size_t pubkeys_len, size_t pubkey_size,
                           const uint8_t *msgs, size_t msgs_len, const size_t *msg_offsets,
                           const size_t *msg_lengths, const uint8_t *sigs, size_t sigs_len,
                           size_t sig_size, size_t count, uint8_t *results_out,
                           size_t results_out_len, uint32_t threads) {
    size_t need_pk, need_sig;
    if (count > 0 && (pubkeys == NULL || sigs == NULL || results_out == NULL))
        return SULTAN_NULL_POINTER;
    int rc = sc_check_item_ptrs(msgs, msgs_len, msg_offsets, msg_lengths, count);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (sc_check_threads(threads) != SULTAN_SUCCESS || !sc_mul(count, pubkey_size, &need_pk) ||
        pubkeys_len != need_pk || !sc_mul(count, sig_size, &need_sig) || sigs_len != need_sig ||
        results_out_len < count)
        return SULTAN_INVALID_PARAMETER;
    return sc_check_item_bounds(msgs_len, msg_offsets, msg_lengths, count);
}

static const uint8_t EMPTY[1] = {0};

typedef struct {
    const uint8_t *pubkeys;
    const uint8_t *msgs;
    const size_t *offsets;
    const size_t *lengths;
    const uint8_t *sigs;
    uint32_t flags;
    uint8_t *results;
} sig_job;

/* ---- secp256k1 ---------------------------------------------------------------------------- */

static int all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static int secp_verify_one(const secp256k1_context *ctx, void *md, const sig_job *job, size_t i,
                           uint8_t *result) {
    const uint8_t *pk = job->pubkeys + i * SULTAN_SECP256K1_PUBKEY_SIZE;
    const uint8_t *sig = job->sigs + i * SULTAN_SECP256K1_SIGNATURE_SIZE;
    const uint8_t *msg = job->lengths[i] ? job->msgs + job->offsets[i] : EMPTY;
    uint8_t digest[SULTAN_SHA256_SIZE];
    secp256k1_pubkey pubkey;
    secp256k1_ecdsa_signature parsed;

    if (all_zero(sig, 32) || all_zero(sig + 32, 32) ||
        !secp256k1_ecdsa_signature_parse_compact(ctx, &parsed, sig)) {
        *result = SULTAN_VERIFY_BAD_SIGNATURE; /* r or s zero, or >= the group order */
        return secp_illegal ? SULTAN_INTERNAL_ERROR : SULTAN_SUCCESS;
    }
    if (!secp256k1_ec_pubkey_parse(ctx, &pubkey, pk, SULTAN_SECP256K1_PUBKEY_SIZE)) {
        *result = SULTAN_VERIFY_BAD_PUBKEY;
        return secp_illegal ? SULTAN_INTERNAL_ERROR : SULTAN_SUCCESS;
    }
    /* normalize() returns 1 when s was high; verify() itself accepts only low-S. */
    if (secp256k1_ecdsa_signature_normalize(ctx, &parsed, &parsed) &&
        !(job->flags & SULTAN_SECP256K1_NORMALIZE_S)) {
        *result = SULTAN_VERIFY_HIGH_S;
        return secp_illegal ? SULTAN_INTERNAL_ERROR : SULTAN_SUCCESS;
    }
    if (job->flags & SULTAN_SECP256K1_PREHASHED) {
        memcpy(digest, msg, SULTAN_SHA256_SIZE);
    } else {
        int rc = sc_sha256_parts(md, msg, job->lengths[i], NULL, 0, NULL, 0, digest);
        if (rc != SULTAN_SUCCESS)
            return rc;
    }
    int ok = secp256k1_ecdsa_verify(ctx, &parsed, digest, &pubkey);
    if (secp_illegal)
        return SULTAN_INTERNAL_ERROR;
    *result = ok ? SULTAN_VERIFY_VALID : SULTAN_VERIFY_INVALID;
    return SULTAN_SUCCESS;
}

static int secp_worker(void *arg, sc_cursor *cursor) {
    sig_job *job = arg;
    const secp256k1_context *ctx = secp_context();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    void *md = NULL;
    if (!(job->flags & SULTAN_SECP256K1_PREHASHED) && (md = sc_md_ctx_new()) == NULL)
        return SULTAN_INTERNAL_ERROR;
    secp_illegal = 0;
    size_t begin, end;
    int rc = SULTAN_SUCCESS;
    while (rc == SULTAN_SUCCESS && sc_next_chunk(cursor, &begin, &end)) {
        for (size_t i = begin; i < end && rc == SULTAN_SUCCESS; i++)
            rc = secp_verify_one(ctx, md, job, i, &job->results[i]);
    }
    sc_md_ctx_free(md);
    return rc;
}

int sultan_secp256k1_verify_batch(const uint8_t *pubkeys, size_t pubkeys_len,
                                  const uint8_t *msgs, size_t msgs_len, const size_t *msg_offsets,
                                  const size_t *msg_lengths, const uint8_t *sigs, size_t sigs_len,
                                  size_t count, uint32_t flags, uint8_t *results_out,
                                  size_t results_out_len, uint32_t threads) {
    int rc = check_sig_batch(pubkeys, pubkeys_len, SULTAN_SECP256K1_PUBKEY_SIZE, msgs, msgs_len,
                             msg_offsets, msg_lengths, sigs, sigs_len,
                             SULTAN_SECP256K1_SIGNATURE_SIZE, count, results_out, results_out_len,
                             threads);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (flags & ~(SULTAN_SECP256K1_PREHASHED | SULTAN_SECP256K1_NORMALIZE_S))
        return SULTAN_INVALID_PARAMETER;
    if (flags & SULTAN_SECP256K1_PREHASHED) {
        for (size_t i = 0; i < count; i++)
            if (msg_lengths[i] != SULTAN_SHA256_SIZE)
                return SULTAN_INVALID_PARAMETER;
    }
    if (count == 0)
        return SULTAN_SUCCESS;
    if (secp_context() == NULL)
        return SULTAN_INTERNAL_ERROR;
    sig_job job = {pubkeys, msgs, msg_offsets, msg_lengths, sigs, flags, results_out};
    /* 8 signatures (~0.4 ms) per thread at least: a thread costs ~0.05-0.1 ms to start. */
    return sc_parallel(secp_worker, &job, count, 4, 8, threads);
}

int sultan_secp256k1_check_pubkeys(const uint8_t *pubkeys, size_t pubkeys_len, size_t count,
                                   uint8_t *results_out, size_t results_out_len) {
    size_t need;
    if (count > 0 && (pubkeys == NULL || results_out == NULL))
        return SULTAN_NULL_POINTER;
    if (!sc_mul(count, SULTAN_SECP256K1_PUBKEY_SIZE, &need) || pubkeys_len != need ||
        results_out_len < count)
        return SULTAN_INVALID_PARAMETER;
    if (count == 0)
        return SULTAN_SUCCESS;
    const secp256k1_context *ctx = secp_context();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    secp_illegal = 0;
    for (size_t i = 0; i < count; i++) {
        secp256k1_pubkey pubkey;
        int ok = secp256k1_ec_pubkey_parse(ctx, &pubkey, pubkeys + i * SULTAN_SECP256K1_PUBKEY_SIZE,
                                           SULTAN_SECP256K1_PUBKEY_SIZE);
        results_out[i] = ok ? SULTAN_VERIFY_VALID : SULTAN_VERIFY_BAD_PUBKEY;
    }
    return secp_illegal ? SULTAN_INTERNAL_ERROR : SULTAN_SUCCESS;
}

/* ---- ed25519 ------------------------------------------------------------------------------ */

static int malloc_failure_pending(void) {
    unsigned long err;
    int oom = 0;
    while ((err = ERR_get_error()) != 0) {
        if (ERR_GET_REASON(err) == ERR_R_MALLOC_FAILURE)
            oom = 1;
    }
    return oom;
}

static int ed25519_verify_one(EVP_MD_CTX *mdctx, const sig_job *job, size_t i, uint8_t *result) {
    const uint8_t *pk = job->pubkeys + i * SULTAN_ED25519_PUBKEY_SIZE;
    const uint8_t *sig = job->sigs + i * SULTAN_ED25519_SIGNATURE_SIZE;
    const uint8_t *msg = job->lengths[i] ? job->msgs + job->offsets[i] : EMPTY;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk,
                                                 SULTAN_ED25519_PUBKEY_SIZE);
    if (pkey == NULL) {
        if (malloc_failure_pending())
            return SULTAN_INTERNAL_ERROR;
        *result = SULTAN_VERIFY_INVALID;
        return SULTAN_SUCCESS;
    }
    int rc = SULTAN_SUCCESS;
    if (EVP_DigestVerifyInit(mdctx, NULL, NULL, NULL, pkey) != 1) {
        rc = SULTAN_INTERNAL_ERROR;
    } else {
        int ok = EVP_DigestVerify(mdctx, sig, SULTAN_ED25519_SIGNATURE_SIZE, msg, job->lengths[i]);
        if (ok != 1 && malloc_failure_pending())
            rc = SULTAN_INTERNAL_ERROR;
        *result = ok == 1 ? SULTAN_VERIFY_VALID : SULTAN_VERIFY_INVALID;
    }
    EVP_PKEY_free(pkey);
    EVP_MD_CTX_reset(mdctx);
    ERR_clear_error();
    return rc;
}

static int ed25519_worker(void *arg, sc_cursor *cursor) {
    sig_job *job = arg;
    EVP_MD_CTX *mdctx = EVP_MD_CTX_new();
    if (mdctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    size_t begin, end;
    int rc = SULTAN_SUCCESS;
    while (rc == SULTAN_SUCCESS && sc_next_chunk(cursor, &begin, &end)) {
        for (size_t i = begin; i < end && rc == SULTAN_SUCCESS; i++)
            rc = ed25519_verify_one(mdctx, job, i, &job->results[i]);
    }
    EVP_MD_CTX_free(mdctx);
    return rc;
}

int sultan_ed25519_verify_batch(const uint8_t *pubkeys, size_t pubkeys_len, const uint8_t *msgs,
                                size_t msgs_len, const size_t *msg_offsets,
                                const size_t *msg_lengths, const uint8_t *sigs, size_t sigs_len,
                                size_t count, uint32_t flags, uint8_t *results_out,
                                size_t results_out_len, uint32_t threads) {
    int rc = check_sig_batch(pubkeys, pubkeys_len, SULTAN_ED25519_PUBKEY_SIZE, msgs, msgs_len,
                             msg_offsets, msg_lengths, sigs, sigs_len,
                             SULTAN_ED25519_SIGNATURE_SIZE, count, results_out, results_out_len,
                             threads);
    if (rc != SULTAN_SUCCESS)
        return rc;
    if (flags != 0)
        return SULTAN_INVALID_PARAMETER;
    if (count == 0)
        return SULTAN_SUCCESS;
    sig_job job = {pubkeys, msgs, msg_offsets, msg_lengths, sigs, flags, results_out};
    return sc_parallel(ed25519_worker, &job, count, 4, 8, threads);
}

/* ---- signing (one at a time: key holders sign their own messages) -------------------------- */

int sultan_secp256k1_public_key(const uint8_t *seckey, size_t seckey_len, uint8_t *pubkey_out,
                                size_t pubkey_out_len) {
    if (seckey == NULL || pubkey_out == NULL)
        return SULTAN_NULL_POINTER;
    if (seckey_len != SULTAN_SECP256K1_SECKEY_SIZE ||
        pubkey_out_len < SULTAN_SECP256K1_PUBKEY_SIZE)
        return SULTAN_INVALID_PARAMETER;
    const secp256k1_context *ctx = secp_context();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    secp_illegal = 0;
    secp256k1_pubkey pubkey;
    size_t len = SULTAN_SECP256K1_PUBKEY_SIZE;
    if (!secp256k1_ec_seckey_verify(ctx, seckey))
        return secp_illegal ? SULTAN_INTERNAL_ERROR : SULTAN_INVALID_PARAMETER;
    if (!secp256k1_ec_pubkey_create(ctx, &pubkey, seckey) ||
        !secp256k1_ec_pubkey_serialize(ctx, pubkey_out, &len, &pubkey, SECP256K1_EC_COMPRESSED) ||
        len != SULTAN_SECP256K1_PUBKEY_SIZE || secp_illegal)
        return SULTAN_INTERNAL_ERROR;
    return SULTAN_SUCCESS;
}

int sultan_secp256k1_sign(const uint8_t *seckey, size_t seckey_len, const uint8_t *msg,
                          size_t msg_len, uint32_t flags, uint8_t *sig_out, size_t sig_out_len) {
    if (seckey == NULL || sig_out == NULL || (msg_len > 0 && msg == NULL))
        return SULTAN_NULL_POINTER;
    if (seckey_len != SULTAN_SECP256K1_SECKEY_SIZE ||
        sig_out_len < SULTAN_SECP256K1_SIGNATURE_SIZE || (flags & ~SULTAN_SECP256K1_PREHASHED) ||
        ((flags & SULTAN_SECP256K1_PREHASHED) && msg_len != SULTAN_SHA256_SIZE))
        return SULTAN_INVALID_PARAMETER;
    const secp256k1_context *ctx = secp_context();
    if (ctx == NULL)
        return SULTAN_INTERNAL_ERROR;
    secp_illegal = 0;
    if (!secp256k1_ec_seckey_verify(ctx, seckey))
        return secp_illegal ? SULTAN_INTERNAL_ERROR : SULTAN_INVALID_PARAMETER;
    uint8_t digest[SULTAN_SHA256_SIZE];
    if (flags & SULTAN_SECP256K1_PREHASHED) {
        memcpy(digest, msg, SULTAN_SHA256_SIZE);
    } else {
        void *md = sc_md_ctx_new();
        if (md == NULL)
            return SULTAN_INTERNAL_ERROR;
        int rc = sc_sha256_parts(md, msg_len ? msg : EMPTY, msg_len, NULL, 0, NULL, 0, digest);
        sc_md_ctx_free(md);
        if (rc != SULTAN_SUCCESS)
            return rc;
    }
    /* A NULL nonce function is RFC 6979; libsecp256k1 always produces low-S signatures. */
    secp256k1_ecdsa_signature sig;
    int ok = secp256k1_ecdsa_sign(ctx, &sig, digest, seckey, NULL, NULL) &&
             secp256k1_ecdsa_signature_serialize_compact(ctx, sig_out, &sig);
    return ok && !secp_illegal ? SULTAN_SUCCESS : SULTAN_INTERNAL_ERROR;
}

/* An ed25519 key from its 32-byte seed (NULL: out of memory, ERR state cleared). */
static EVP_PKEY *ed25519_key(const uint8_t *seed) {
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, SULTAN_ED25519_SEED_SIZE);
    ERR_clear_error();
    return pkey;
}

int sultan_ed25519_public_key(const uint8_t *seed, size_t seed_len, uint8_t *pubkey_out,
                              size_t pubkey_out_len) {
    if (seed == NULL || pubkey_out == NULL)
        return SULTAN_NULL_POINTER;
    if (seed_len != SULTAN_ED25519_SEED_SIZE || pubkey_out_len < SULTAN_ED25519_PUBKEY_SIZE)
        return SULTAN_INVALID_PARAMETER;
    EVP_PKEY *pkey = ed25519_key(seed);
    if (pkey == NULL)
        return SULTAN_INTERNAL_ERROR;
    size_t len = SULTAN_ED25519_PUBKEY_SIZE;
    int ok = EVP_PKEY_get_raw_public_key(pkey, pubkey_out, &len) == 1 &&
             len == SULTAN_ED25519_PUBKEY_SIZE;
    EVP_PKEY_free(pkey); /* frees (and cleanses) OpenSSL's copy of the seed */
    ERR_clear_error();
    return ok ? SULTAN_SUCCESS : SULTAN_INTERNAL_ERROR;
}

int sultan_ed25519_sign(const uint8_t *seed, size_t seed_len, const uint8_t *msg, size_t msg_len,
                        uint8_t *sig_out, size_t sig_out_len) {
    if (seed == NULL || sig_out == NULL || (msg_len > 0 && msg == NULL))
        return SULTAN_NULL_POINTER;
    if (seed_len != SULTAN_ED25519_SEED_SIZE || sig_out_len < SULTAN_ED25519_SIGNATURE_SIZE)
        return SULTAN_INVALID_PARAMETER;
    EVP_PKEY *pkey = ed25519_key(seed);
    if (pkey == NULL)
        return SULTAN_INTERNAL_ERROR;
    EVP_MD_CTX *mdctx = EVP_MD_CTX_new();
    size_t len = SULTAN_ED25519_SIGNATURE_SIZE;
    int ok = mdctx != NULL && EVP_DigestSignInit(mdctx, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestSign(mdctx, sig_out, &len, msg_len ? msg : EMPTY, msg_len) == 1 &&
             len == SULTAN_ED25519_SIGNATURE_SIZE;
    EVP_MD_CTX_free(mdctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ok ? SULTAN_SUCCESS : SULTAN_INTERNAL_ERROR;
}
