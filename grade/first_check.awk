# first_check.awk: the first failing check of a log, in one line
# (grade/grade.sh's first_check, for the scorecard's "First failing
# check").  Two kinds of log:
#   the test harness's (tests/harness.c): "RUN  suite/test", the lines the
#     test printed, indented by four spaces, then "FAIL suite/test (T s)":
#     the first failed test's name and every line it printed, joined;
#   crashtest's (tests/crash/main.c): "FAIL: what" and, indented by six
#     spaces, the lines under it ("reproduce: ..."): the first such
#     failure and its lines.  Crashtest prints one after the other, and
#     after the first 25 a last "FAIL: (more failures; ...)": the first is
#     the one reported, never a later one, nor that last line.
/^RUN / { msg = ""; next }
/^FAIL / { if (!done) { print $2 ": " msg; done = 1; exit } next }
/^    / && !incrash { line = $0; sub(/^ +/, "", line); msg = msg (msg == "" ? "" : " ") line; next }
/^FAIL: / {
    if (incrash) { print crash; done = 1; exit }   # the next failure: the first is complete
    if (!done && $0 !~ /^FAIL: \(more failures/) { sub(/^FAIL: /, ""); crash = $0; incrash = 1 }
    next
}
incrash && /^      / { line = $0; sub(/^ +/, "", line); crash = crash " (" line ")"; next }
incrash { print crash; done = 1; exit }
END { if (incrash && !done) print crash }
