# Stage 01: the append-only log.  Everything here is new in this stage.
# Its parts (a folder each; the Makefile compiles every .c of each part a
# stage lists, and puts each part on the include path):
#   log/         the engine: records appended, a read scans the log
#   snapshots/   an iterator's sorted copy at a snapshot (stages 02, 03 too)
#   txn_values/  how a commit finds a conflict: by comparing values
#                (every stage up to 06)
#   no_repair/   kv_repair before stage 03: there is nothing to mend
#   multi_get_loop/  kv_multi_get as a loop of kv_get (stages 02, 03 too;
#                from stage 04 on the engine looks keys up together)
#   tools/       kv_check, kv_dump, kv_inspect
PARTS_01-log := 01-log/log 01-log/snapshots 01-log/txn_values 01-log/no_repair \
                01-log/multi_get_loop 01-log/tools
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_01-log := log identity
