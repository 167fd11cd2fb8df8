#!/bin/sh
# docs_figures.sh: copies measured figures into the pages of docs/ from the
# one file that holds each of them, so that a figure is typed nowhere and a
# new run changes every page that quotes it (`make docs-figures`; run by
# `make bench-full BENCH_ARGS=--publish` and `make costs COSTS_ARGS=--publish`).
#
#   sh scripts/docs_figures.sh [--check] [PAGE...]     (default: docs/*.md)
#
# A page asks for figures with a pair of comments, and this script replaces
# whatever lies between them:
#
#   <!-- figures: bench/results/results.md, table "| workload | 01-log ops/s" -->
#   ...
#   <!-- end figures -->
#
# What to copy, after the file:
#   table "PREFIX"     the Markdown table whose first line starts with PREFIX
#   section "TITLE"    the text under the heading that starts with TITLE, up
#                      to the next heading (the heading itself is left out)
#   run                the run's own description: the file's "The run"
#                      section, or else the machine file beside it
#                      (results.md: machine.txt; X-results.md: X-machine.txt)
# "FILE1 or FILE2, ..." takes the first file that has it.  A table or a
# section is preceded by one line naming its file, the run's date, commit
# and load average (its `date:`, `commit:` and `load average:` lines, or
# those of the machine file beside it).
# If no file has it, the region says so, and which command would add it.
#
# --check changes nothing and exits 1 if a page is not what this script
# would make of it (a figure typed over, or a run published without
# updating the pages).
set -u

check=0
if [ "${1:-}" = --check ]; then
    check=1
    shift
fi
[ $# -gt 0 ] || set -- docs/*.md

status=0
for page in "$@"; do
    grep -q '^<!-- figures: ' "$page" || continue
    tmp=$(mktemp)
    awk -v page="$page" '
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
# Reads FILE into L[1..n]; returns n, or -1 if it cannot be read.
function load(file,    n, line) {
    n = 0
    while ((getline line < file) > 0) L[++n] = line
    close(file)
    return n == 0 ? -1 : n
}
# The machine file that describes the run of FILE.
function machine_of(file,    m) {
    m = file
    if (m ~ /results\.md$/) { sub(/results\.md$/, "machine.txt", m); return m }
    return ""
}
# "run of DATE at COMMIT" from FILE, or from its machine file.
function provenance(file,    n, i, line, m) {
    d = ""; c = ""; la = ""
    n = load(file)
    for (i = 1; i <= n; i++) note(trim(L[i]))
    m = machine_of(file)
    if ((d == "" || c == "") && m != "") {
        while ((getline line < m) > 0) note(trim(line))
        close(m)
    }
    return "run of " (d == "" ? "an unknown date" : d) ", commit " (c == "" ? "unknown" : c) \
        (la == "" ? "" : ", load average " la)
}
# Notes the date, commit and load average (1 min, before) of a run.
function note(line,    a) {
    if (d == "" && line ~ /^date: /) d = substr(line, 7)
    if (c == "" && line ~ /^commit: /) c = substr(line, 9)
    if (la == "" && line ~ /^load average: [0-9]/) { split(line, a, " "); la = a[3] }
}
# The command that writes FILE again.
function remake(file) {
    if (file ~ /^bench\/results\/server\//) return "`make bench-server`, then copy `build/bench-server/` there"
    if (file ~ /^bench\/results\/txn-/) return "`make bench-txn BENCH_TXN_ARGS=--publish`"
    if (file ~ /^bench\/results\/multiget-/) return "`make bench-multiget MULTIGET_ARGS=--publish`"
    if (file ~ /^bench\/results\//) return "`make bench-full BENCH_ARGS=--publish`"
    if (file ~ /^docs\/generated\/costs/) return "`make costs COSTS_ARGS=--publish`"
    if (file ~ /^docs\/generated\/get-instructions/) return "`make get-instructions GI_ARGS=--publish`"
    if (file ~ /^docs\/generated\/04-lsm-costs/) return "`make readcost READCOST_ARGS=--publish`"
    if (file ~ /^docs\/generated\/metrics-run/) return "`make metrics-graph METRICS_ARGS=--publish`"
    if (file ~ /^docs\/generated\/metrics-overhead/) return "`make bench-metrics-overhead METRICS_ARGS=--publish`"
    return "the command that writes `" file "`"
}
# Puts the selection of FILE into OUT[1..]; returns its number of lines, or 0.
function select(file, kind, arg,    n, i, j, k, lvl, m, line) {
    k = 0
    n = load(file)
    if (n < 0) return 0
    if (kind == "table") {
        for (i = 1; i <= n && index(L[i], arg) != 1; i++) ;
        for (; i <= n && L[i] ~ /^\|/; i++) OUT[++k] = L[i]
        return k
    }
    if (kind == "section" || kind == "run") {
        if (kind == "run") arg = "The run"
        for (i = 1; i <= n; i++)
            if (L[i] ~ /^#+ / && index(trim(substr(L[i], match(L[i], /[^#]/))), arg) == 1) break
        if (i <= n) {
            for (j = i + 1; j <= n && L[j] !~ /^#/; j++) OUT[++k] = L[j]
            while (k > 0 && trim(OUT[k]) == "") k--
            for (j = 1; j <= k && trim(OUT[j]) == ""; j++) ;
            for (i = j; i <= k; i++) OUT[i - j + 1] = OUT[i]
            return k - j + 1
        }
        if (kind == "run" && (m = machine_of(file)) != "") {
            while ((getline line < m) > 0) OUT[++k] = "    " line
            close(m)
            return k
        }
        return 0
    }
    return 0
}
# The lines for one request: "FILE [or FILE...], KIND [\"ARG\"]".
function fill(spec,    comma, files, kind, arg, nf, F, f, k, i, q) {
    comma = index(spec, ", ")
    if (comma == 0) { print "docs_figures: " page ": cannot read: " spec > "/dev/stderr"; bad = 1; return }
    files = substr(spec, 1, comma - 1); spec = trim(substr(spec, comma + 2))
    kind = spec; arg = ""
    if ((q = index(spec, " \"")) > 0) { kind = substr(spec, 1, q - 1); arg = substr(spec, q + 2); sub(/"$/, "", arg) }
    if (kind != "table" && kind != "section" && kind != "run") {
        print "docs_figures: " page ": unknown kind \"" kind "\"" > "/dev/stderr"; bad = 1; return
    }
    nf = split(files, F, / or /)
    for (f = 1; f <= nf; f++) {
        k = select(F[f], kind, arg)
        if (k > 0) {
            if (kind != "run") {
                print "*From [`" F[f] "`](" link(F[f]) "), " provenance(F[f]) ".*"
                print ""
            }
            for (i = 1; i <= k; i++) print OUT[i]
            return
        }
    }
    printf "*Not in the published figures: no %s%s in `%s` (%s).  %s adds it.*\n", kind,
        arg == "" ? "" : " \"" arg "\"", F[1], provenance(F[1]), remake(F[1])
}
# FILE as a link from the page (pages are in docs/ or at the top).
function link(file,    t) {
    if (page !~ /^docs\//) return file
    t = file
    if (sub(/^docs\//, "", t)) return t
    return "../" file
}
/^<!-- figures: .* -->$/ {
    print
    spec = $0; sub(/^<!-- figures: /, "", spec); sub(/ -->$/, "", spec)
    fill(spec)
    skipping = 1
    next
}
/^<!-- end figures -->$/ { skipping = 0; print; next }
!skipping { print }
END {
    if (skipping) { print "docs_figures: " page ": a figures region is not closed" > "/dev/stderr"; exit 2 }
    if (bad) exit 2
}' "$page" >"$tmp" || {
        rm -f "$tmp"
        exit 2
    }
    if cmp -s "$page" "$tmp"; then
        rm -f "$tmp"
    elif [ "$check" = 1 ]; then
        echo "docs_figures: $page differs from its sources (sh scripts/docs_figures.sh updates it):" >&2
        diff "$page" "$tmp" | head -20 >&2
        rm -f "$tmp"
        status=1
    else
        cat "$tmp" >"$page"
        rm -f "$tmp"
        echo "docs_figures: updated $page"
    fi
done
exit $status
