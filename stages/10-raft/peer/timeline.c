/* timeline.c: the steps of writes, recorded in memory (timeline.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "timeline.h"

typedef struct {
    uint64_t ns;
    uint64_t arg;
    uint32_t step;
} timeline_entry;

/* -1 until first looked at; atomic because tests run several members'
 * loops in threads of one process (with the timeline off). */
static atomic_int timeline_on = -1;
static timeline_entry *timeline_steps;
static size_t timeline_n;
static uint64_t timeline_lost;

int timeline_active(void)
{
    if (atomic_load_explicit(&timeline_on, memory_order_relaxed) < 0)
        timeline_mark(TL_PASS, 0);
    return atomic_load_explicit(&timeline_on, memory_order_relaxed) > 0;
}

void timeline_mark(timeline_step step, uint64_t arg)
{
    int on = atomic_load_explicit(&timeline_on, memory_order_relaxed);
    if (on == 0)
        return;
    if (on < 0) {
        on = getenv("KV_RAFT_TIMELINE") != NULL;
        if (on)
            timeline_steps = malloc(TIMELINE_MAX * sizeof *timeline_steps);
        if (timeline_steps == NULL)
            on = 0;
        atomic_store_explicit(&timeline_on, on, memory_order_relaxed);
        if (!on)
            return;
    }
    if (timeline_n == TIMELINE_MAX) {
        timeline_lost++;
        return;
    }
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    timeline_steps[timeline_n++] = (timeline_entry){
        (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec, arg, (uint32_t)step};
}

int timeline_write(void)
{
    const char *prefix = getenv("KV_RAFT_TIMELINE");
    if (atomic_load_explicit(&timeline_on, memory_order_relaxed) <= 0 || prefix == NULL)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s.%ld", prefix, (long)getpid());
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "# lost %llu\n", (unsigned long long)timeline_lost);
    for (size_t i = 0; i < timeline_n; i++)
        fprintf(f, "%llu %u %llu\n", (unsigned long long)timeline_steps[i].ns,
                timeline_steps[i].step, (unsigned long long)timeline_steps[i].arg);
    int rc = fclose(f) == 0 ? 0 : -1;
    if (rc == 0)
        timeline_n = 0;
    return rc;
}
