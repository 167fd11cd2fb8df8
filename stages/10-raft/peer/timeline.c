/* timeline.c: the steps of writes, recorded in memory (timeline.h). */
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

static int timeline_on = -1; /* not yet looked at */
static timeline_entry *timeline_steps;
static size_t timeline_n;
static uint64_t timeline_lost;

int timeline_active(void)
{
    if (timeline_on < 0)
        timeline_mark(TL_PASS, 0);
    return timeline_on > 0;
}

void timeline_mark(timeline_step step, uint64_t arg)
{
    if (timeline_on == 0)
        return;
    if (timeline_on < 0) {
        timeline_on = getenv("KV_RAFT_TIMELINE") != NULL;
        if (timeline_on)
            timeline_steps = malloc(TIMELINE_MAX * sizeof *timeline_steps);
        if (timeline_steps == NULL)
            timeline_on = 0;
        if (!timeline_on)
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
    if (timeline_on <= 0 || prefix == NULL)
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
