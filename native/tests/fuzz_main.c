/*
 * A small stand-in for libFuzzer's driver, used when clang's libFuzzer is not installed
 * (gcc builds): runs the target on every file named on the command line, then on random
 * and mutated inputs until -max_total_time=SECONDS (default 10) has passed. No coverage
 * guidance, but the same sanitizers and the same invariants.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    double seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-max_total_time=", 16) == 0) {
            seconds = atof(argv[i] + 16);
        } else if (argv[i][0] != '-') {
            FILE *f = fopen(argv[i], "rb");
            if (f == NULL)
                continue;
            static uint8_t buf[1 << 16];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
        }
    }
    static uint8_t input[4096], keep[4096];
    size_t keep_len = 0;
    unsigned long runs = 0;
    double start = now();
    while (now() - start < seconds) {
        for (int k = 0; k < 64; k++, runs++) {
            size_t len;
            if (keep_len && (rng() & 1)) { /* mutate the previous input */
                memcpy(input, keep, keep_len);
                len = keep_len;
                for (int m = (int)(rng() % 8) + 1; m > 0; m--)
                    input[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
            } else {
                len = rng() % (rng() & 1 ? 64 : sizeof input);
                for (size_t i = 0; i < len; i++)
                    input[i] = (uint8_t)rng();
                if (len > 0)
                    input[0] %= 24;
            }
            LLVMFuzzerTestOneInput(input, len);
            memcpy(keep, input, len);
            keep_len = len;
        }
    }
    printf("Done %lu runs in %.0f second(s)\n", runs, now() - start);
    return 0;
}
