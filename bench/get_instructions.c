/*
 * get_instructions.c: instructions per kv_get, counted by callgrind, to show
 * whether a stage's point read does the same work at every database size.
 *
 *   build/S/get_instructions build DIR N     fill DIR with N keys (native run)
 *   valgrind --tool=callgrind --instr-atstart=no \
 *       build/S/get_instructions measure DIR N GETS
 *
 * `measure` opens DIR without instrumentation, then counts only the loop of
 * GETS random gets of present keys (CALLGRIND_START/STOP_INSTRUMENTATION);
 * callgrind's total "Ir" divided by GETS is the user-space instructions per
 * get.  Unlike a timing, the count does not depend on the CPU caches or on
 * other load on the machine: at 10,000 keys the whole database sits in the
 * caches and at 1,000,000 it does not, so nanoseconds per get differ while
 * the work per get may not.  `make get-instructions` runs it for 10K and 1M
 * keys on every stage that has a hash index or better.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include "kv.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100

static void gi_key(char *k, uint64_t i)
{
    for (int d = KEY_BYTES - 1; d >= 0; d--, i /= 10)
        k[d] = (char)('0' + i % 10);
}

static int gi_fail(const char *what, int rc)
{
    fprintf(stderr, "get_instructions: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    return 2;
}

int main(int argc, char **argv)
{
    int help = argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
    if (argc < 4 || help) {
        fprintf(help ? stdout : stderr,
                "usage: get_instructions build DIR N | measure DIR N GETS\n"
                "build fills DIR with N keys; measure, under valgrind --tool=callgrind\n"
                "--instr-atstart=no, counts the instructions of GETS random gets.\n");
        return help ? 0 : 2;
    }
    const char *dir = argv[2];
    uint64_t n = strtoull(argv[3], NULL, 10);
    kv_db *db;
    int rc = kv_open(dir, NULL, &db);
    if (rc != KV_OK)
        return gi_fail("open", rc);
    char key[KEY_BYTES], val[VALUE_BYTES];
    memset(val, 'v', sizeof val);
    if (strcmp(argv[1], "build") == 0) {
        for (uint64_t i = 0; i < n; i++) {
            gi_key(key, i);
            if ((rc = kv_put(db, key, KEY_BYTES, val, VALUE_BYTES)) != KV_OK)
                return gi_fail("put", rc);
        }
        return kv_close(db) == KV_OK ? 0 : 2;
    }
    long gets = argc > 4 ? atol(argv[4]) : 10000;
    uint64_t rng = 88172645463325252ull;
    CALLGRIND_START_INSTRUMENTATION;
    for (long g = 0; g < gets; g++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        gi_key(key, rng % n);
        void *out;
        size_t len;
        if ((rc = kv_get(db, key, KEY_BYTES, &out, &len)) != KV_OK)
            return gi_fail("get", rc);
        kv_free(out);
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    printf("%ld gets done\n", gets);
    return kv_close(db) == KV_OK ? 0 : 2;
}
