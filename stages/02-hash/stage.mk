# Stage 02: a hash index in memory over segmented log files (Bitcask).
# snapshot_iter.c is stage 01's sorted-snapshot iterator, and no_repair.c its
# kv_repair ("from stage 03 on"), reused unchanged.  The record format is
# behind record_io.h (record_io_log.c) and the write path behind hash_write
# (hash_write.c), so that stage 03 can replace just those two.
SRCS_02-hash := stages/02-hash/hash_index.c stages/02-hash/segment.c \
                stages/02-hash/hint.c stages/02-hash/hash_db.c \
                stages/02-hash/hash_recover.c stages/02-hash/merge.c \
                stages/02-hash/hash_iter.c stages/02-hash/hash_tools.c \
                stages/02-hash/record_io_log.c stages/02-hash/hash_write.c \
                stages/01-log/snapshot_iter.c stages/01-log/no_repair.c
INC_02-hash := -Istages/01-log
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_02-hash := segment hint
