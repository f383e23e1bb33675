/* Version, error strings, argument checks and the per-call thread runner. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

const char *sultan_crypto_version(void) { return SULTAN_CRYPTO_VERSION; }

uint32_t sultan_crypto_abi_version(void) { return SULTAN_CRYPTO_ABI_VERSION; }

const char *sultan_crypto_strerror(int code) {
    switch (code) {
    case SULTAN_SUCCESS:
        return "success";
    case SULTAN_NULL_POINTER:
        return "null pointer";
    case SULTAN_INVALID_UTF8:
        return "invalid UTF-8";
    case SULTAN_INVALID_PARAMETER:
        return "invalid parameter";
    case SULTAN_BLOCKCHAIN_ERROR:
        return "blockchain error";
    case SULTAN_CONSENSUS_ERROR:
        return "consensus error";
    case SULTAN_INTERNAL_ERROR:
        return "internal error";
    default:
        return "unknown error code";
    }
}

int sc_check_threads(uint32_t threads) {
    return threads <= SULTAN_MAX_THREADS ? SULTAN_SUCCESS : SULTAN_INVALID_PARAMETER;
}

int sc_check_item_ptrs(const uint8_t *data, size_t data_len, const size_t *offsets,
                       const size_t *lengths, size_t count) {
    if (count > 0 && (offsets == NULL || lengths == NULL))
        return SULTAN_NULL_POINTER;
    if (data_len > 0 && data == NULL)
        return SULTAN_NULL_POINTER;
    return SULTAN_SUCCESS;
}

int sc_check_item_bounds(size_t data_len, const size_t *offsets, const size_t *lengths,
                         size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (offsets[i] > data_len || lengths[i] > data_len - offsets[i])
            return SULTAN_INVALID_PARAMETER;
    }
    return SULTAN_SUCCESS;
}

static uint32_t online_cpus(void) {
    long n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    if (n > SULTAN_MAX_THREADS)
        n = SULTAN_MAX_THREADS;
    return (uint32_t)n;
}

int sc_next_chunk(sc_cursor *cursor, size_t *begin, size_t *end) {
    if (atomic_load_explicit(&cursor->status, memory_order_relaxed) != SULTAN_SUCCESS)
        return 0;
    size_t start = atomic_fetch_add_explicit(&cursor->next, cursor->chunk, memory_order_relaxed);
    if (start >= cursor->count)
        return 0;
    *begin = start;
    *end = cursor->count - start < cursor->chunk ? cursor->count : start + cursor->chunk;
    return 1;
}

void sc_fail(sc_cursor *cursor, int status) {
    int expected = SULTAN_SUCCESS;
    atomic_compare_exchange_strong(&cursor->status, &expected, status);
}

typedef struct {
    sc_worker_fn fn;
    void *arg;
    sc_cursor *cursor;
} sc_thread_job;

static void *thread_main(void *p) {
    sc_thread_job *job = p;
    int rc = job->fn(job->arg, job->cursor);
    if (rc != SULTAN_SUCCESS)
        sc_fail(job->cursor, rc);
    return NULL;
}

int sc_parallel(sc_worker_fn fn, void *arg, size_t count, size_t chunk, size_t min_per_thread,
                uint32_t threads) {
#ifdef SULTAN_TEST_SMALL_BATCHES
    /* Test and fuzz builds: spread even tiny batches, so threads are exercised everywhere. */
    chunk = 1;
    min_per_thread = 1;
#endif
    sc_cursor cursor;
    atomic_init(&cursor.next, 0);
    atomic_init(&cursor.status, SULTAN_SUCCESS);
    cursor.count = count;
    cursor.chunk = chunk ? chunk : 1;
    size_t wanted = threads == 0 ? online_cpus() : threads;
    size_t useful = min_per_thread ? count / min_per_thread : count;
    if (wanted > useful)
        wanted = useful;
    if (wanted < 1)
        wanted = 1;
    pthread_t ids[SULTAN_MAX_THREADS];
    size_t started = 0;
    sc_thread_job job = {fn, arg, &cursor};
    /* Each worker is pinned to an allowed CPU other than the caller's: left to itself, the
     * scheduler often starts a new thread on the caller's (busy) CPU and moves it only
     * milliseconds later, which loses most of a short batch. Pinning is a placement hint
     * only: the workers live for this call, and as work is handed out in chunks a worker
     * that cannot run just leaves more chunks to the others. */
    cpu_set_t allowed;
    int here = sched_getcpu();
    int pin = sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 1;
    int next_cpu = 0;
    for (size_t i = 1; i < wanted; i++) {
        pthread_attr_t attr;
        int have_attr = pin && pthread_attr_init(&attr) == 0;
        if (have_attr) {
            for (int tries = 0; tries < CPU_SETSIZE; tries++) {
                if (CPU_ISSET(next_cpu, &allowed) && next_cpu != here)
                    break;
                next_cpu = (next_cpu + 1) % CPU_SETSIZE;
            }
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(next_cpu, &one);
            next_cpu = (next_cpu + 1) % CPU_SETSIZE;
            if (pthread_attr_setaffinity_np(&attr, sizeof(one), &one) != 0) {
                pthread_attr_destroy(&attr);
                have_attr = 0;
            }
        }
        int rc = pthread_create(&ids[started], have_attr ? &attr : NULL, thread_main, &job);
        if (have_attr)
            pthread_attr_destroy(&attr);
        if (rc != 0)
            break; /* the remaining work runs on the threads we have */
        started++;
    }
    int rc = fn(arg, &cursor);
    if (rc != SULTAN_SUCCESS)
        sc_fail(&cursor, rc);
    for (size_t i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    return atomic_load(&cursor.status);
}
