/*
 * replay_main.c: runs a harness's LLVMFuzzerTestOneInput on files, without a
 * fuzzer.  `make test` uses it (built with ASan+UBSan) to replay the seed
 * corpora and every saved regression input under fuzz/regressions/.
 *
 *   replay FILE_OR_DIR...   prints "N passed, 0 failed" (N inputs) and exits
 *                           0, or dies in the harness on the input that
 *                           breaks it (a file it cannot read is a failure).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replayed;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (buf == NULL)
        return 1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    replayed++;
    return 0;
}

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, names[i]->d_name);
            failed |= replay_path(child);
        }
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: %s FILE|DIR...\n"
               "Runs the fuzz harness once on each file (each file of each directory) and\n"
               "prints \"N passed, N failed\"; a crash or a sanitizer report is a failure.\n",
               argv[0]);
        return 0;
    }
    for (int i = 1; i < argc; i++)
        failed |= replay_path(argv[i]);
    printf("%ld passed, %d failed\n", replayed, failed);
    return failed;
}
