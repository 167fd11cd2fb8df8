# Stage 09: a read path that scales (docs to come).  Stage 08's engine
# with a record cache above the block cache and a rate limiter for
# background writes.  Still being built: so far its new parts are
#   record_cache/      the CLOCK (second chance) cache, sharded, byte-budgeted;
#                      the record cache over it: per table, the newest
#                      version of a key, answering lookups at or above its
#                      sequence number only (record_cache.h, R1-R3)
#   rate_limiter/      a token bucket for background writes, flushes first
#   partitioned/       a table's bloom filter cut into partitions of about a
#                      block, found through a top-level index (filter_parts.h)
# with their unit tests (build/09-cache/stagetest); the engine uses none
# yet, so the stage is marked unfinished and `make`, `make test`, the
# benchmarks and the fuzz targets leave it out.
UNFINISHED_09-cache := 1
PARTS_09-cache := 09-cache/record_lookup 09-cache/record_cache 09-cache/rate_limiter 09-cache/partitioned \
                  $(filter-out 05-blocks/table_v2/entry,$(PARTS_08-vlog))
LIBS_09-cache := $(LIBS_08-vlog)
$(B)/09-cache/%: LDLIBS += $(LIBS_09-cache)
TESTS_09-cache := $(wildcard stages/09-cache/tests/*_test.c)
TEST_HELPERS_09-cache := tests/testdb.c
# Its threads under ThreadSanitizer: stages/09-cache/tests/record_race.c,
# linked into its racetest (tests/race/main.c's stage_race_suite).
$(B)/09-cache/racetest: $(B)/09-cache/obj/stages/09-cache/tests/record_race.o
