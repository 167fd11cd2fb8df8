/*
 * full_speed.c: stage 04's pace for the background's writes (bg_rate.h):
 * none.  A flush or a merge writes its table as fast as the disk takes
 * it, so the only rate this stage takes is 0, no limit, and an ask is
 * granted at once.  Nothing is counted, and kv_stats says nothing of it.
 */
#include "bg_rate.h"

#include "error.h"

/* Nothing to keep: every database shares this one. */
struct bg_rate {
    char none;
};

static bg_rate full_speed;

int bg_rate_new(const kv_options *opt, bg_rate **out)
{
    (void)opt; /* background_bytes_per_sec: nothing here paces */
    *out = &full_speed;
    return KV_OK;
}

void bg_rate_free(bg_rate *r)
{
    (void)r;
}

int bg_rate_set(bg_rate *r, uint64_t bytes_per_sec)
{
    (void)r;
    if (bytes_per_sec == 0)
        return KV_OK;
    return kv_error(KV_ERR_INVALID, "kv_set_background_rate %llu: stage %s writes its tables "
                    "at full speed; 0 (no limit) is the only rate it takes",
                    (unsigned long long)bytes_per_sec, kv_stage());
}

void bg_rate_ask(bg_rate *r, uint64_t bytes, int who)
{
    (void)r, (void)bytes, (void)who;
}

void bg_rate_stats(bg_rate *r, kv_line_fn line, void *ctx)
{
    (void)r, (void)line, (void)ctx;
}
