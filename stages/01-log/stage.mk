# Stage 01: the append-only log.  Everything here is new in this stage.
SRCS_01-log := stages/01-log/log_db.c stages/01-log/log_iter.c \
               stages/01-log/log_tools.c stages/01-log/log_verdict.c \
               stages/01-log/snapshot_iter.c \
               stages/01-log/no_repair.c stages/01-log/log_inspect.c \
               stages/01-log/txn_values.c
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_01-log := log
