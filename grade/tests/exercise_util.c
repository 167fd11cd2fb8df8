/*
 * exercise_util.c: the helpers of exercise.h.
 */
#include "exercise.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "io_sim.h"
#include "kv.h"

static char ex_rule_text[256];
/* The exercise of the running test: its suite's name (ex_test_begin). */
static char ex_exercise[64];

/* The exercise a test file is named for: .../NAME_test.c. */
static void ex_file_exercise(const char *file, char *out, size_t n)
{
    const char *base = strrchr(file, '/');
    base = base != NULL ? base + 1 : file;
    const char *end = strstr(base, "_test.c");
    int len = end != NULL ? (int)(end - base) : (int)strlen(base);
    snprintf(out, n, "%.*s", len, base);
}

void ex_test_begin(const char *full_name)
{
    const char *slash = strchr(full_name, '/');
    int len = slash != NULL ? (int)(slash - full_name) : (int)strlen(full_name);
    snprintf(ex_exercise, sizeof ex_exercise, "%.*s", len, full_name);
}

void ex_rule(const char *file, int n, const char *what)
{
    char name[64];
    ex_file_exercise(file, name, sizeof name);
    snprintf(ex_rule_text, sizeof ex_rule_text, "rule %d of %s (%s)", n, name, what);
    ex_crash_rule(ex_rule_text);
}

const char *ex_rule_now(void)
{
    return ex_rule_text;
}

void ex_rule_put(const char *text)
{
    snprintf(ex_rule_text, sizeof ex_rule_text, "%s", text);
    ex_crash_rule(ex_rule_text);
}

static int ex_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static const char *ex_digits(const char *p)
{
    while (*p >= '0' && *p <= '9')
        p++;
    return p;
}

/* Past the numbers at p: "3", or with plural "1, 2 and 3", "1 to 4". */
static const char *ex_rule_numbers(const char *p, int plural)
{
    p = ex_digits(p);
    while (plural) {
        const char *sep = strncmp(p, ", ", 2) == 0       ? p + 2
                          : strncmp(p, " and ", 5) == 0 ? p + 5
                          : strncmp(p, " to ", 4) == 0  ? p + 4
                                                        : NULL;
        if (sep == NULL || *sep < '0' || *sep > '9')
            break;
        p = ex_digits(sep);
    }
    return p;
}

/* A rule named in EX_RULE's, EX_RULES's or EX_RULE_OF's words ("rule 3 (",
 * "rules 1, 2 and 3 (", "NAME's rule 3 ("), found in a message. */
typedef struct {
    const char *start; /* where its words start */
    int plural;        /* "rules" */
    const char *nums;  /* its numbers: "3", "1, 2 and 3" */
    size_t nums_len;
    const char *ex;    /* EX_RULE_OF's exercise, else NULL */
    size_t ex_len;
    const char *what;  /* just after the "(" */
} ex_named_rule;

/* The first rule msg names so, or 0. */
static int ex_rule_find(const char *msg, ex_named_rule *r)
{
    for (const char *p = msg; *p != '\0'; p++) {
        if (p > msg && (ex_word_char(p[-1]) || p[-1] == '\''))
            continue;
        const char *q = p, *name_end = p;
        r->ex = NULL;
        r->ex_len = 0;
        while (ex_word_char(*name_end))
            name_end++;
        if (name_end > p && strncmp(name_end, "'s rule ", 8) == 0) {
            r->ex = p;
            r->ex_len = (size_t)(name_end - p);
            q = name_end + 3;
        }
        r->plural = r->ex == NULL && strncmp(q, "rules ", 6) == 0;
        if (!r->plural && strncmp(q, "rule ", 5) != 0)
            continue;
        q += r->plural ? 6 : 5;
        if (*q < '0' || *q > '9')
            continue;
        r->nums = q;
        q = ex_rule_numbers(q, r->plural);
        if (strncmp(q, " (", 2) != 0)
            continue;
        r->nums_len = (size_t)(q - r->nums);
        r->what = q + 2;
        r->start = p;
        return 1;
    }
    return 0;
}

/* 1 if msg starts with a rule written as ex_fail writes it: "rule N of
 * NAME (" or "rules ... of NAME (". */
static int ex_rule_qualified(const char *msg)
{
    int plural = strncmp(msg, "rules ", 6) == 0;
    if (!plural && strncmp(msg, "rule ", 5) != 0)
        return 0;
    const char *q = msg + (plural ? 6 : 5);
    if (*q < '0' || *q > '9')
        return 0;
    return strncmp(ex_rule_numbers(q, plural), " of ", 4) == 0;
}

/* The exercise rule r is of: EX_RULE_OF's, else the running test's
 * (`file`'s if no test runs). */
static void ex_rule_exercise(const ex_named_rule *r, const char *file, char *name, size_t n)
{
    if (r->ex != NULL)
        snprintf(name, n, "%.*s", (int)r->ex_len, r->ex);
    else if (ex_exercise[0] != '\0')
        snprintf(name, n, "%s", ex_exercise);
    else
        ex_file_exercise(file, name, n);
}

/* Appends to out[*at, n) "rule N of NAME (" (or "rules ... of NAME (")
 * for r. */
static void ex_rule_put_name(const ex_named_rule *r, const char *file, char *out, size_t n,
                             size_t *at)
{
    char name[64];
    ex_rule_exercise(r, file, name, sizeof name);
    if (*at < n)
        *at += (size_t)snprintf(out + *at, n - *at, "rule%s %.*s of %s (", r->plural ? "s" : "",
                                (int)r->nums_len, r->nums, name);
}

/* Appends src to out[*at, n) with every rule it names in EX_RULE's words
 * written where it stands as "rule N of NAME (". */
static void ex_rule_name_all(const char *src, const char *file, char *out, size_t n, size_t *at)
{
    ex_named_rule r;
    while (*at < n && ex_rule_find(src, &r)) {
        *at += (size_t)snprintf(out + *at, n - *at, "%.*s", (int)(r.start - src), src);
        ex_rule_put_name(&r, file, out, n, at);
        src = r.what;
    }
    if (*at < n)
        *at += (size_t)snprintf(out + *at, n - *at, "%s", src);
}

/* msg with every rule it names in EX_RULE's words (EX_RULE, EX_RULES,
 * EX_RULE_OF) written "rule N of NAME (what)", NAME the running test's
 * exercise (or the one EX_RULE_OF names), into out, and the first of them
 * moved to the front: the rule the failure breaks (a helper handed a
 * caller's words puts them before its own rule).  1 if msg names one so,
 * or starts with a rule so written already; else 0, and out is msg. */
static int ex_rule_qualify(const char *file, const char *msg, char *out, size_t n)
{
    ex_named_rule r;
    size_t at = 0;
    out[0] = '\0';
    if (ex_rule_qualified(msg) || !ex_rule_find(msg, &r)) {
        ex_rule_name_all(msg, file, out, n, &at);
        return ex_rule_qualified(msg);
    }
    /* The rule's words end at "): ", and go first; the rest of the
     * message follows them.  Without that end, the rule is named where
     * it stands. */
    const char *close = strstr(r.what, "): ");
    if (close == NULL) {
        ex_rule_name_all(msg, file, out, n, &at);
        return 1;
    }
    ex_rule_put_name(&r, file, out, n, &at);
    if (at < n)
        at += (size_t)snprintf(out + at, n - at, "%.*s%.*s", (int)(close + 3 - r.what), r.what,
                               (int)(r.start - msg), msg);
    ex_rule_name_all(close + 3, file, out, n, &at);
    return 1;
}

void ex_rule_words(const char *file, const char *msg, char *out, size_t n)
{
    ex_rule_qualify(file, msg, out, n);
}

void ex_context(const char *fmt, ...)
{
    char text[1024], named[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ex_rule_qualify(__FILE__, text, named, sizeof named);
    harness_context("%s", named);
}

void ex_race_rule(const char *rule)
{
    char named[1024];
    ex_rule_qualify(__FILE__, rule, named, sizeof named);
    size_t n = strlen(named);
    if (n >= 2 && strcmp(named + n - 2, ": ") == 0)
        named[n - 2] = '\0';
    fprintf(stderr, "race rule: %s\n", named);
}

void ex_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    char text[1024], rule[1280];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* A rule the message names itself is the one it breaks; else the one
     * EX_RULE_BEGIN set, if any. */
    size_t at = 0;
    char named[1024];
    if (!ex_rule_qualify(file, text, named, sizeof named) && ex_rule_text[0] != '\0')
        at = (size_t)snprintf(rule, sizeof rule, "%s: ", ex_rule_text);
    snprintf(rule + at, sizeof rule - at, "%s", named);
    const char *msg = ex_stub_note();
    if (msg[0] != '\0')
        harness_fail(file, line, "%s\n      (checked: %s)\n      kv_errmsg: \"%s\"", rule, expr,
                     msg);
    harness_fail(file, line, "%s\n      (checked: %s)", rule, expr);
}

uint8_t *ex_guarded(size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t body = (n + (size_t)page - 1) / (size_t)page * (size_t)page;
    uint8_t *m = mmap(NULL, body + (size_t)page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + body, (size_t)page, PROT_NONE) != 0)
        harness_fail(__FILE__, __LINE__, "ex_guarded: cannot map %zu bytes", n);
    return m + body - n;
}

uint8_t *ex_guarded_copy(const void *p, size_t n)
{
    uint8_t *g = ex_guarded(n);
    if (n > 0)
        memcpy(g, p, n);
    return g;
}

int ex_names_number(const char *msg, unsigned long long n)
{
    for (const char *p = msg; p != NULL && *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || (p > msg && p[-1] >= '0' && p[-1] <= '9'))
            continue;
        if (strtoull(p, NULL, 10) == n)
            return 1;
    }
    return 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EX_SANITIZED 1
#endif
#endif

#ifndef EX_SANITIZED
static struct rlimit ex_memory_saved;
#endif

int ex_memory_cap(size_t more)
{
#ifdef EX_SANITIZED
    (void)more;
    return 0;
#else
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
            break;
    fclose(f);
    if (kb == 0 || getrlimit(RLIMIT_AS, &ex_memory_saved) != 0)
        return 0;
    struct rlimit cap = ex_memory_saved;
    cap.rlim_cur = (rlim_t)(kb * 1024 + more + (8u << 20));
    if (ex_memory_saved.rlim_max != RLIM_INFINITY &&
        cap.rlim_cur > ex_memory_saved.rlim_max)
        return 0;
    return setrlimit(RLIMIT_AS, &cap) == 0;
#endif
}

void ex_memory_uncap(void)
{
#ifndef EX_SANITIZED
    setrlimit(RLIMIT_AS, &ex_memory_saved);
#endif
}

const char *ex_write_file(const char *name, const void *p, size_t n)
{
    const char *path = harness_join(harness_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        harness_fail(__FILE__, __LINE__, "cannot write %s", path);
    return path;
}

uint8_t *ex_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        harness_fail(__FILE__, __LINE__, "cannot open %s", path);
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf != NULL && (got = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf == NULL)
        harness_fail(__FILE__, __LINE__, "out of memory reading %s", path);
    *n = len;
    return buf;
}

void ex_poke_file(const char *path, uint64_t at, uint8_t b)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0 || pwrite(fd, &b, 1, (off_t)at) != 1 || close(fd) != 0)
        harness_fail(__FILE__, __LINE__, "cannot write byte %llu of %s",
                     (unsigned long long)at, path);
}

static _Thread_local int ex_kv_status;
static _Thread_local char ex_stub_kept[512];

void ex_kv_clear(void)
{
    if (ex_stub_kept[0] == '\0' && strstr(kv_errmsg(), "not written yet") != NULL)
        snprintf(ex_stub_kept, sizeof ex_stub_kept, "%s", kv_errmsg());
    kv_error_clear();
}

const char *ex_stub_note(void)
{
    const char *msg = kv_errmsg();
    return strstr(msg, "not written yet") != NULL ? msg : ex_stub_kept;
}

int ex_kv_kept(int rc)
{
    ex_kv_status = rc;
    return rc;
}

const char *ex_errmsg(int rc)
{
    static _Thread_local char none[160];
    if (rc < 0 && kv_errmsg()[0] != '\0')
        return kv_errmsg();
    if (rc < 0)
        snprintf(none, sizeof none, "no kv_errmsg: the call returned %d (%s) and set none", rc,
                 kv_strerror(rc));
    else
        snprintf(none, sizeof none, "no kv_errmsg: the call returned %d, which sets none", rc);
    return none;
}

const char *ex_kv_errmsg(void)
{
    return ex_errmsg(ex_kv_status);
}

kv_db *ex_open(const char *dir, const kv_options *opt, const char *rule)
{
    kv_db *db = NULL;
    ex_kv_clear();
    int rc = kv_open(dir, opt, &db);
    EX_CHECK(rc == KV_OK, "%s: kv_open returned %d (%s)", rule, rc, ex_errmsg(rc));
    return db;
}

void ex_put(kv_db *db, const char *k, const char *v, const char *rule)
{
    ex_kv_clear();
    int rc = kv_put(db, k, strlen(k), v, strlen(v));
    EX_CHECK(rc == KV_OK, "%s: kv_put(%s) returned %d (%s)", rule, k, rc, ex_errmsg(rc));
}

void ex_expect(kv_db *db, const char *k, const char *v, const char *rule)
{
    void *got = NULL;
    size_t gl = 0;
    ex_kv_clear();
    int rc = kv_get(db, k, strlen(k), &got, &gl);
    EX_CHECK(rc == KV_OK, "%s: kv_get(%s) returned %d, not KV_OK (%s)", rule, k, rc,
             ex_errmsg(rc));
    int same = gl == strlen(v) && memcmp(got, v, gl) == 0;
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(gl < 40 ? gl : 40), (const char *)got);
    kv_free(got);
    EX_CHECK(same, "%s: kv_get(%s) is \"%s\", want \"%s\"", rule, k, shown, v);
}

void ex_absent(kv_db *db, const char *k, const char *rule)
{
    void *got = NULL;
    size_t gl = 0;
    ex_kv_clear();
    int rc = kv_get(db, k, strlen(k), &got, &gl);
    if (rc == KV_OK)
        kv_free(got);
    EX_CHECK(rc == KV_NOT_FOUND, "%s: kv_get(%s) returned %d, not KV_NOT_FOUND (%s)", rule, k, rc,
             ex_errmsg(rc));
}

uint64_t ex_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    ex_kv_clear();
    int rc = kv_stats(db, &text);
    EX_CHECK(rc == KV_OK, "kv_stats returned %d (%s)", rc, ex_errmsg(rc));
    size_t n = strlen(name);
    uint64_t v = 0;
    int found = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = strtoull(line + n + 1, NULL, 10);
            found = 1;
            break;
        }
    }
    kv_free(text);
    EX_CHECK(found, "kv_stats has no line \"%s: ...\"", name);
    return v;
}

uint64_t ex_dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    uint64_t total = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        struct stat st;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

enum { EX_SEED_MAX = 64 << 10 };

void ex_seed_mode(const char *harness, uint8_t mode, const void *p, size_t n)
{
    const char *dir = getenv("EX_SEEDS");
    if (dir == NULL || dir[0] == '\0' || n + 1 > EX_SEED_MAX)
        return;
    static uint8_t buf[EX_SEED_MAX];
    buf[0] = mode;
    if (n > 0)
        memcpy(buf + 1, p, n);
    ex_seed(harness, buf, n + 1);
}

void ex_seed(const char *harness, const void *p, size_t n)
{
    const char *dir = getenv("EX_SEEDS");
    if (dir == NULL || dir[0] == '\0' || n > EX_SEED_MAX)
        return;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    char path[4096];
    char *q = path;
    /* EX_SEEDS and EX_SEEDS/HARNESS, made as needed. */
    snprintf(path, sizeof path, "%s", dir);
    for (q = path + 1; *q != '\0'; q++)
        if (*q == '/') {
            *q = '\0';
            mkdir(path, 0755);
            *q = '/';
        }
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/test-%016llx", dir, harness, (unsigned long long)h);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return; /* there already, or no room: a seed less */
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            break;
        b += w;
        n -= (size_t)w;
    }
    close(fd);
}

void ex_seed_files(const char *harness, const char *dir, const char *suffix)
{
    const char *seeds = getenv("EX_SEEDS");
    if (seeds == NULL || seeds[0] == '\0')
        return;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    static uint8_t buf[EX_SEED_MAX];
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len < sl || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t got = read(fd, buf, sizeof buf);
        char more;
        if (got > 0 && read(fd, &more, 1) == 0)
            ex_seed(harness, buf, (size_t)got);
        close(fd);
    }
    closedir(d);
}

const char *ex_sim_root(void)
{
    const char *root = harness_join(harness_tmpdir(), "sim");
    EX_CHECK(mkdir(root, 0755) == 0, "test setup: mkdir %s", root);
    int rc = io_sim_install(root);
    EX_CHECK(rc == KV_OK, "test setup: io_sim_install: %s", kv_errmsg());
    return root;
}

const char *ex_sim_cut(size_t at, size_t from, int power, char *what, size_t n)
{
    char name[32];
    snprintf(name, sizeof name, "cut-%zu", at);
    const char *state = harness_join(harness_tmpdir(), name);
    EX_CHECK(mkdir(state, 0755) == 0, "test setup: mkdir %s", state);
    io_sim_crash c = {.at = at, .data = power ? IO_SIM_LOSE : IO_SIM_KEEP,
                      .names = power ? IO_SIM_LOSE : IO_SIM_KEEP};
    int rc = io_sim_materialize(&c, state, NULL);
    EX_CHECK(rc == KV_OK, "test setup: io_sim_materialize: %s", kv_errmsg());
    if (at > from)
        io_sim_describe(at - 1, what, n);
    else
        snprintf(what, n, "none yet");
    return state;
}
