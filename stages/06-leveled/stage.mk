# Stage 06: stage 05's LSM tree with its flat set of tables replaced by
# versions of levels (L0 overlapping, L1..L6 sorted and disjoint), a
# manifest of version edits with a CURRENT file, and leveled compaction on
# the background thread.  (Being built: the file list below grows as the
# engine lands; see docs/06-leveled.md.)
UNFINISHED_06-leveled := 1

# The manifest (version edits, MANIFEST-NNNNNN, CURRENT) and the versions,
# level iterator, compaction picker and simulator bring their own fragments
# (sources, unit tests, fuzz harnesses); they are included when present.
-include stages/06-leveled/stage_manifest.mk
-include stages/06-leveled/stage_version.mk
