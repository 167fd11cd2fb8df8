/*
 * exercise_alloc.c: the allocator the exercises' tests run on
 * (exercise.h, "Every block a test allocates...").
 *
 * build/STAGE/exercisetest is linked with -Wl,--wrap=malloc,... (EX_WRAP
 * in grade/grade.mk), so that every call of those functions from the
 * engine's code (the reference's and a workspace's) and from the tests
 * reaches the __wrap_ functions here; __real_f is the C library's f.
 * Allocations the C library makes for itself (a thread's bookkeeping in
 * pthread_create, stdio's buffers) are not the engine's and are not seen.
 *
 *   - Between ex_alloc_begin and ex_alloc_end (the harness calls them as
 *     each test starts and once it has passed: harness_test_hooks), every
 *     block allocated is recorded with its size, and freeing it forgets
 *     it; what is still recorded when the test ends was allocated during
 *     the test and never freed, and fails the test.  A block allocated
 *     before the test started is not counted, freed or not (nor is the
 *     block realloc makes of it).
 *   - realloc always moves the block: a new block, the old one's bytes
 *     copied, the old one overwritten with EX_POISON and freed.  Code
 *     that keeps using a pointer from before a realloc reads the poison
 *     (or crashes), every time, not only when the C library happened to
 *     move the block.  free overwrites the block with EX_POISON too.
 *
 * Under AddressSanitizer or ThreadSanitizer the wrappers pass every call
 * on as it is: the sanitizer has its own allocator, its own poison and,
 * for AddressSanitizer, its own leak check at exit.
 */
#include "exercise.h"
#include "kv.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_vasprintf(char **out, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);
int __wrap_asprintf(char **out, const char *fmt, ...);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EX_SANITIZED 1
#endif
#endif

#ifdef EX_SANITIZED

static void *ex_malloc_from(size_t n, const void *from)
{
    (void)from;
    return __real_malloc(n);
}
static int ex_vasprintf_from(char **out, const char *fmt, va_list ap, const void *from)
{
    (void)from;
    return __real_vasprintf(out, fmt, ap);
}
void ex_alloc_begin(void) {}
void ex_alloc_end(const char *test) { (void)test; }
int ex_alloc_fail_at(long n)
{
    (void)n;
    return 0;
}
int ex_alloc_failed(void) { return 0; }

void *__wrap_malloc(size_t n) { return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return __real_realloc(p, n); }
void __wrap_free(void *p) { __real_free(p); }

#else

#define EX_POISON 0xa5

/* The blocks of the running test: an open-addressing table of (address,
 * size), in memory of its own (mmap), never from the allocator it
 * watches.  EX_GONE marks a slot whose block was freed. */
typedef struct ex_block {
    uintptr_t p;
    size_t n;
    size_t room;      /* malloc_usable_size when it was made (n and the slack) */
    const void *from; /* the return address of the call that allocated it */
} ex_block;
#define EX_GONE ((uintptr_t)1)
static pthread_mutex_t ex_lock = PTHREAD_MUTEX_INITIALIZER;
static ex_block *ex_tab;
static size_t ex_cap;   /* slots, a power of 2 */
static size_t ex_used;  /* slots not empty: live blocks and EX_GONE */
static size_t ex_live, ex_live_bytes;
static int ex_counting; /* between ex_alloc_begin and ex_alloc_end */

static size_t ex_slot(uintptr_t p, size_t cap)
{
    uint64_t h = ((uint64_t)p >> 4) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ h >> 32) & (cap - 1);
}

/* A table of cap slots holding the live blocks (ex_lock held); 0 if no
 * memory is left for it. */
static int ex_rehash(size_t cap)
{
    ex_block *t = mmap(NULL, cap * sizeof *t, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return 0;
    for (size_t i = 0; i < ex_cap; i++) {
        if (ex_tab[i].p == 0 || ex_tab[i].p == EX_GONE)
            continue;
        size_t j = ex_slot(ex_tab[i].p, cap);
        while (t[j].p != 0)
            j = (j + 1) & (cap - 1);
        t[j] = ex_tab[i];
    }
    if (ex_tab != NULL)
        munmap(ex_tab, ex_cap * sizeof *ex_tab);
    ex_tab = t;
    ex_cap = cap;
    ex_used = ex_live;
    return 1;
}

/* Records block p of n bytes (ex_lock held); 0 if it cannot. */
static int ex_record(void *p, size_t n, const void *from)
{
    if ((ex_used + 1) * 4 > ex_cap * 3 &&
        !ex_rehash((ex_live + 1) * 2 > ex_cap ? ex_cap * 2 : ex_cap))
        return 0;
    size_t j = ex_slot((uintptr_t)p, ex_cap);
    while (ex_tab[j].p != 0 && ex_tab[j].p != EX_GONE)
        j = (j + 1) & (ex_cap - 1);
    if (ex_tab[j].p == 0)
        ex_used++;
    ex_tab[j].p = (uintptr_t)p;
    ex_tab[j].n = n;
    ex_tab[j].room = malloc_usable_size(p);
    ex_tab[j].from = from;
    ex_live++;
    ex_live_bytes += n;
    return 1;
}

/* The slot of block p, or NULL if it is not recorded (ex_lock held). */
static ex_block *ex_find(const void *p)
{
    if (ex_tab == NULL)
        return NULL;
    for (size_t j = ex_slot((uintptr_t)p, ex_cap);; j = (j + 1) & (ex_cap - 1)) {
        if (ex_tab[j].p == 0)
            return NULL;
        if (ex_tab[j].p == (uintptr_t)p)
            return &ex_tab[j];
    }
}

static void ex_forget(ex_block *b)
{
    ex_live--;
    ex_live_bytes -= b->n;
    b->p = EX_GONE;
    b->n = 0;
    b->from = NULL;
}

/* ex_alloc_fail_at: allocations left before the one that fails (0: none
 * fails), and whether it has failed (ex_lock held for both). */
static long ex_fail_countdown;
static int ex_fail_done;

int ex_alloc_fail_at(long n)
{
    pthread_mutex_lock(&ex_lock);
    ex_fail_countdown = n > 0 ? n : 0;
    ex_fail_done = 0;
    pthread_mutex_unlock(&ex_lock);
    return 1;
}

int ex_alloc_failed(void)
{
    pthread_mutex_lock(&ex_lock);
    int done = ex_fail_done;
    pthread_mutex_unlock(&ex_lock);
    return done;
}

/* Whether this allocation is the one ex_alloc_fail_at chose (ex_lock held). */
static int ex_fails_now(void)
{
    if (!ex_counting || ex_fail_countdown == 0 || --ex_fail_countdown > 0)
        return 0;
    ex_fail_done = 1;
    return 1;
}

/* A write past the end of a block: the bytes glibc gives beyond the n
 * asked for (malloc_usable_size) are filled with EX_SLACK when a test's
 * block is made, and checked when it is freed; the first block found
 * written past its end is reported as the test ends (ex_lock held for
 * the three). */
#define EX_SLACK 0xfd
static int ex_overflow_seen;
static size_t ex_overflow_n;
static const void *ex_overflow_from;

static void ex_fill_slack(void *p, size_t n)
{
    size_t u = malloc_usable_size(p);
    if (u > n)
        memset((uint8_t *)p + n, EX_SLACK, u - n);
}

/* Notes block b if it was written past its end (ex_lock held).  The
 * room is the one recorded when it was made: a write past it may have
 * changed what malloc_usable_size reads now (the next chunk's header). */
static void ex_check_slack(const ex_block *b)
{
    const uint8_t *p = (const uint8_t *)b->p;
    for (size_t i = b->n; i < b->room && !ex_overflow_seen; i++)
        if (p[i] != EX_SLACK) {
            ex_overflow_seen = 1;
            ex_overflow_n = b->n;
            ex_overflow_from = b->from;
        }
}

/* p, recorded as a block of n bytes if a test is running; NULL (and p
 * freed) if there is no memory left to record it, or if it is the
 * allocation ex_alloc_fail_at chose to fail. */
static void *ex_took(void *p, size_t n, const void *from)
{
    if (p == NULL)
        return NULL;
    pthread_mutex_lock(&ex_lock);
    int ok = !ex_fails_now() && (!ex_counting || ex_record(p, n, from));
    if (ok && ex_counting)
        ex_fill_slack(p, n);
    pthread_mutex_unlock(&ex_lock);
    if (!ok) {
        __real_free(p);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void ex_alloc_begin(void)
{
    pthread_mutex_lock(&ex_lock);
    if (ex_tab != NULL)
        memset(ex_tab, 0, ex_cap * sizeof *ex_tab);
    ex_used = ex_live = ex_live_bytes = 0;
    ex_overflow_seen = 0;
    if (ex_tab == NULL && !ex_rehash(1u << 16)) {
        pthread_mutex_unlock(&ex_lock);
        harness_fail(__FILE__, __LINE__, "ex_alloc_begin: no memory for the table of blocks");
    }
    ex_counting = 1;
    pthread_mutex_unlock(&ex_lock);
}

void ex_alloc_end(const char *test)
{
    pthread_mutex_lock(&ex_lock);
    ex_counting = 0;
    if (ex_overflow_seen) {
        size_t n = ex_overflow_n;
        uintptr_t off = (uintptr_t)ex_overflow_from;
        Dl_info info;
        if (dladdr(ex_overflow_from, &info) != 0 && info.dli_fbase != NULL)
            off -= (uintptr_t)info.dli_fbase;
        pthread_mutex_unlock(&ex_lock);
        harness_fail(__FILE__, __LINE__,
                     "%s wrote past the end of a block of %zu bytes (found when it was freed): "
                     "a block holds the bytes asked for and no more: copy at most that many "
                     "(a length in place of another?)\n"
                     "      (allocated at 0x%lx: `addr2line -f -e exercisetest ADDRESS` names "
                     "where)", test, n, (unsigned long)off);
    }
    size_t live = ex_live, bytes = ex_live_bytes;
    if (live == 0) {
        pthread_mutex_unlock(&ex_lock);
        return;
    }
    /* Where the first few were allocated: an offset in the binary, which
     * addr2line turns into a function and a line. */
    char where[512] = "";
    size_t used = 0, shown = 0;
    for (size_t i = 0; i < ex_cap && shown < 3; i++) {
        if (ex_tab[i].p == 0 || ex_tab[i].p == EX_GONE)
            continue;
        Dl_info info;
        uintptr_t off = (uintptr_t)ex_tab[i].from;
        if (dladdr(ex_tab[i].from, &info) != 0 && info.dli_fbase != NULL)
            off -= (uintptr_t)info.dli_fbase;
        used += (size_t)snprintf(where + used, sizeof where - used, "%s%zu bytes from 0x%lx",
                                 shown ? ", " : "", ex_tab[i].n, (unsigned long)off);
        shown++;
    }
    pthread_mutex_unlock(&ex_lock);
    /* A block that another exercise's stub did not free: the grade says
     * that exercise is needed first (as ex_fail does). */
    const char *msg = ex_stub_note();
    int stub = msg[0] != '\0';
    /* The rule the test checked last (EX_RULE), which a test that checks
     * what is freed sets before its end. */
    const char *rule = ex_rule_now();
    harness_fail(__FILE__, __LINE__,
                 "%s%s%s ended with %zu block%s (%zu bytes) still allocated: every block the "
                 "exercise's code allocates must be freed by its owner (a free dropped?)\n"
                 "      (%s%s: `addr2line -f -e exercisetest ADDRESS` names where)%s%s%s",
                 rule, rule[0] ? ": " : "", test, live, live == 1 ? "" : "s", bytes, where,
                 live > shown ? ", ..." : "", stub ? "\n      kv_errmsg: \"" : "", stub ? msg : "",
                 stub ? "\"" : "");
}

static void *ex_malloc_from(size_t n, const void *from) { return ex_took(__real_malloc(n), n, from); }

/* malloc(0) may return NULL (C11 7.22.3): here it does, every time, so
 * that code which asks for 0 bytes and takes NULL for "out of memory" (a
 * copy of an empty value, say) fails here as it would on such a C
 * library, instead of passing on glibc's. */
void *__wrap_malloc(size_t n)
{
    if (n == 0)
        return NULL;
    return ex_malloc_from(n, __builtin_return_address(0));
}

void *__wrap_calloc(size_t n, size_t size)
{
    /* (n * size: calloc refuses a product that overflows) */
    return ex_took(__real_calloc(n, size), n * size, __builtin_return_address(0));
}

void __wrap_free(void *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&ex_lock);
    ex_block *b = ex_find(p);
    size_t room = 0;
    if (b != NULL) {
        room = b->room;
        ex_check_slack(b);
        ex_forget(b);
    }
    pthread_mutex_unlock(&ex_lock);
    memset(p, EX_POISON, b != NULL ? room : malloc_usable_size(p));
    __real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (p == NULL)
        return ex_took(__real_malloc(n), n, __builtin_return_address(0));
    if (n == 0) { /* glibc's realloc(p, 0): p freed, NULL returned */
        __wrap_free(p);
        return NULL;
    }
    void *q = __real_malloc(n);
    if (q == NULL)
        return NULL; /* p is untouched, as when realloc fails */
    size_t old = malloc_usable_size(p);
    pthread_mutex_lock(&ex_lock);
    if (ex_fails_now()) {
        pthread_mutex_unlock(&ex_lock);
        __real_free(q);
        errno = ENOMEM;
        return NULL; /* p is untouched, as when realloc fails */
    }
    /* The new block is the test's if the old one was. */
    if (ex_find(p) != NULL) {
        if (!ex_record(q, n, __builtin_return_address(0))) {
            pthread_mutex_unlock(&ex_lock);
            __real_free(q);
            errno = ENOMEM;
            return NULL;
        }
        ex_fill_slack(q, n);
        ex_block *b = ex_find(p); /* (after ex_record, which may move the table) */
        old = b->n;
        ex_check_slack(b);
        ex_forget(b);
    }
    pthread_mutex_unlock(&ex_lock);
    memcpy(q, p, old < n ? old : n);
    memset(p, EX_POISON, malloc_usable_size(p));
    __real_free(p);
    return q;
}

static int ex_vasprintf_from(char **out, const char *fmt, va_list ap, const void *from)
{
    int n = __real_vasprintf(out, fmt, ap);
    if (n >= 0 && ex_took(*out, (size_t)n + 1, from) == NULL) {
        *out = NULL;
        return -1;
    }
    return n;
}

#endif

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
    return ex_vasprintf_from(out, fmt, ap, __builtin_return_address(0));
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = ex_malloc_from(n, __builtin_return_address(0));
    if (c != NULL)
        memcpy(c, s, n);
    return c;
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *c = ex_malloc_from(len + 1, __builtin_return_address(0));
    if (c != NULL) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = ex_vasprintf_from(out, fmt, ap, __builtin_return_address(0));
    va_end(ap);
    return n;
}
