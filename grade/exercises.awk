# exercises.awk: reads a stage's list of exercises (grade/STAGE.exercises)
# and rewrites the C files it names.  Everything happens in BEGIN, so it
# reads no standard input:
#
#   awk -f grade/exercises.awk -v list=grade/01-log.exercises -v mode=MODE ...
#
# MODE is one of
#   names           the exercises' names, in order, one a line
#   table           one line per exercise, tab-separated: number, name,
#                   file, functions (space-separated), page section
#   files           the files that hold exercises, one a line
#   wrongs          one line per planted wrong solution, tab-separated:
#                   name, exercise, rung, expected text, file, what it breaks
#   equivalents     one line per equivalent mutant (grade/mutants.sh),
#                   tab-separated: function, the line it changes, the line
#                   the mutant has instead (both trimmed), which of the
#                   function's lines with that text it is (its
#                   `occurrence`, or 0: each of them), why no test can
#                   tell it from the reference
#   rung-section    -v name=RUNG [-v test=SUITE/TEST]: the page section to
#                   reread when the rung fails ("" if none): the one its
#                   `tests` gives that test, else the rung's
#   rung-rule       -v name=RUNG -v test=SUITE/TEST: the exercise's rule
#                   that failing test checks, "rule N of EXERCISE (WHAT)",
#                   from the rung's `rules` ("" if none)
#   rules           one line per rule of an exercise (`rule N`),
#                   tab-separated: exercise, N, the section to reread, the
#                   words of that section that state it, the rule
#   rule-section    -v name=EXERCISE -v n=N: the section to reread when a
#                   check of rule N of that exercise fails ("" if there is
#                   no such rule)
#   get             -v kind=exercise|wrong|rung -v name=N -v key=K: a field
#   stub            -v target=PATH -v ref=FILE: FILE (the reference of
#                   PATH) with the body of every exercise function in it
#                   replaced by a stub, and above each what it must do
#   fill            -v target=PATH -v ref=FILE -v ws=FILE: FILE ws (a
#                   starter, or a learner's file) with the bodies of the
#                   exercise functions of PATH taken from ref; with
#                   -v clean=1, without what `stub` added (its comments and
#                   #include lines): a starter so filled is the reference
#   wrong           -v name=W -v ref=FILE: FILE with wrong solution W's
#                   edit made in its function
#   check           every exercise function is found in its file, every
#                   wrong solution's text occurs exactly once in its own,
#                   every equivalent mutant's line in its function (where
#                   the line is there more than once, the entry covers
#                   the same change made to each, unless its `occurrence`
#                   names one: that one must be there)
#   rungs-in-order  the rungs the list names, one a line
#   sections        every page section the list names (exercises, their
#                   rules and rungs), once each, one a line
# Errors go to standard error, and the exit status is 1.
#
# The list's format (docs/learn-reference.md, "The lists"): entries "[KIND NAME]",
# each followed by "key: value" lines; a line that starts with white space
# continues the value above it; "#" starts a comment line.  Kinds:
# exercise, wrong, rung, equivalent.  An exercise's rules are its keys
# `rule 1`, `rule 2`... (numbered from 1, none left out), each with a key
# `rule N reread: SECTION | WORDS`: the heading of the stage's page that
# states the rule, and words of that section that say it; its `does`
# says what it must do around them (and may be left out when the rules
# say it all), its `keeps` the invariants it keeps and advice no test
# can check ("Advice, not a rule"); its `advice`, what no test can tell
# apart, is said to be advice.  Code in a wrong solution's `replace` and
# `with` is one line, with "\n" for a line break; an equivalent
# mutant's `replace` and `with` are the one line it changes, trimmed (of
# a mutant of several lines, a swap or a message, its lines, each
# trimmed, joined by "\n");
# its optional `occurrence: N` narrows it to the Nth line of the function
# (counted from its "{") whose trimmed text is `replace`, for a line the
# function holds more than once where only one change is equivalent.
#
# A function is found where a line that starts in column 0 names it with
# "(" after it, and its body is the lines from a line "{" to the next line
# "}", both in column 0: the layout of every function in this project.

# Whether lines n, n+1... of the C file read, each trimmed, are the lines
# of `text` (joined by "\n").
function lines_at(n, text,   parts, m, i) {
    m = split(text, parts, /\\n/)
    if (m <= 1)
        return trim(L[n]) == text
    for (i = 1; i <= m; i++)
        if (n + i - 1 > nL || trim(L[n + i - 1]) != trim(parts[i]))
            return 0
    return 1
}

function fail(msg) {
    print "exercises.awk: " msg > "/dev/stderr"
    failed = 1
    exit 1
}

function trim(s) {
    sub(/^[ \t]+/, "", s)
    sub(/[ \t]+$/, "", s)
    return s
}

# ---- the list ---------------------------------------------------------------

function read_list(file,   line, kind, name, key, n, pos) {
    nex = nwrong = nrung = neqv = 0
    kind = ""
    while ((n = (getline line < file)) > 0) {
        if (line ~ /^#/ || line ~ /^[ \t]*$/)
            continue
        if (line ~ /^\[/) {
            if (!match(line, /^\[[a-z]+ [A-Za-z0-9_]+\]$/))
                fail(file ": a bad entry line: " line)
            line = substr(line, 2, length(line) - 2)
            kind = substr(line, 1, index(line, " ") - 1)
            name = substr(line, index(line, " ") + 1)
            if (kind == "exercise") {
                ex[++nex] = name
                exnum[name] = nex
            } else if (kind == "wrong") {
                wr[++nwrong] = name
            } else if (kind == "rung") {
                rg[++nrung] = name
            } else if (kind == "equivalent") {
                eqv[++neqv] = name
            } else {
                fail(file ": unknown kind of entry: " kind)
            }
            if ((kind SUBSEP name) in seen)
                fail(file ": two entries [" kind " " name "]")
            seen[kind SUBSEP name] = 1
            key = ""
            continue
        }
        if (line ~ /^[ \t]/) {
            if (key == "")
                fail(file ": a continuation line with nothing above it: " line)
            F[kind, name, key] = F[kind, name, key] " " trim(line)
            continue
        }
        pos = index(line, ":")
        if (pos == 0 || kind == "")
            fail(file ": not \"key: value\" inside an entry: " line)
        key = substr(line, 1, pos - 1)
        if ((kind, name, key) in F)
            fail(file ": [" kind " " name "] has two \"" key "\" lines")
        F[kind, name, key] = trim(substr(line, pos + 1))
    }
    if (n < 0)
        fail("cannot read " file)
    close(file)
    if (nex == 0)
        fail(file ": no exercise")
}

function field(kind, name, key) {
    return ((kind, name, key) in F) ? F[kind, name, key] : ""
}

function need(kind, name, key,   v) {
    v = field(kind, name, key)
    if (v == "")
        fail(list ": [" kind " " name "] has no \"" key "\"")
    return v
}

# How many rules exercise `name` has (its keys `rule 1`..`rule N`).
function nrules(name,   k) {
    for (k = 1; (("exercise", name, "rule " k) in F); k++)
        ;
    return k - 1
}

# Rule k of exercise name's reread: sets rr_sec and rr_words; 1, or 0 if
# it has none (or a malformed one).
function rule_reread(name, k,   v, bar) {
    v = field("exercise", name, "rule " k " reread")
    bar = index(v, " | ")
    if (bar == 0)
        return 0
    rr_sec = trim(substr(v, 1, bar - 1))
    rr_words = trim(substr(v, bar + 3))
    return rr_sec != "" && rr_words != ""
}

# "\n" in a code field is a line break.
function code(s,   out, i) {
    out = ""
    while ((i = index(s, "\\n")) > 0) {
        out = out substr(s, 1, i - 1) "\n"
        s = substr(s, i + 2)
    }
    return out s
}

# ---- C files ----------------------------------------------------------------

# Reads file into L[1..nL].
function read_c(file,   line, n) {
    nL = 0
    while ((n = (getline line < file)) > 0)
        L[++nL] = line
    if (n < 0)
        fail("cannot read " file)
    close(file)
}

# Finds function fname in L: sets fsig (its first line), fopen (the "{"
# line), fclose (the "}" line), ftype (its return type) and fparams (the
# text between its parentheses).  Returns 1, or 0 if it is not there.
function find_fn(fname,   i, j, k, line, pat, sig, depth, c, start) {
    pat = "(^|[^A-Za-z0-9_])" fname "\\("
    for (i = 1; i <= nL; i++) {
        line = L[i]
        if (line ~ /^[ \t#\/*}{]/ || line == "" || line !~ pat)
            continue
        for (j = i; j <= nL && j < i + 16; j++) {
            if (L[j] == "{")
                break
            if (L[j] ~ /;[ \t]*$/ || L[j] ~ /}[ \t]*$/ || (j > i && L[j] ~ /^[^ \t]/)) {
                j = 0
                break
            }
        }
        if (j == 0 || j > nL || L[j] != "{")
            continue
        for (k = j + 1; k <= nL && L[k] != "}"; k++)
            ;
        if (k > nL)
            fail(fname ": no line \"}\" ends its body")
        fsig = i
        fopen = j
        fclose = k
        sig = ""
        for (k = i; k < j; k++)
            sig = sig " " trim(L[k])
        sig = trim(sig)
        match(sig, pat)
        start = RSTART + (RSTART > 1 ? 1 : 0)
        ftype = trim(substr(sig, 1, start - 1))
        sub(/^(static[ \t]+)?(inline[ \t]+)?/, "", ftype)
        fparams = ""
        depth = 0
        for (k = start + length(fname); k <= length(sig); k++) {
            c = substr(sig, k, 1)
            if (c == "(" && depth++ == 0)
                continue
            if (c == ")" && --depth == 0)
                break
            fparams = fparams c
        }
        return 1
    }
    return 0
}

# The names of the parameters in fparams, space-separated.
function param_names(params,   n, parts, i, p, depth, c, cur, names, k) {
    n = 0
    cur = ""
    depth = 0
    for (k = 1; k <= length(params); k++) {
        c = substr(params, k, 1)
        if (c == "(" || c == "[")
            depth++
        else if (c == ")" || c == "]")
            depth--
        if (c == "," && depth == 0) {
            parts[++n] = cur
            cur = ""
        } else {
            cur = cur c
        }
    }
    parts[++n] = cur
    names = ""
    for (i = 1; i <= n; i++) {
        p = trim(parts[i])
        if (p == "void" || p == "" || p == "...")
            continue
        if (match(p, /\(\*[ \t]*[A-Za-z_][A-Za-z0-9_]*/)) {
            p = substr(p, RSTART + 2, RLENGTH - 2)
            names = names " " trim(p)
            continue
        }
        sub(/\[.*$/, "", p)
        match(p, /[A-Za-z_][A-Za-z0-9_]*$/)
        names = names " " substr(p, RSTART, RLENGTH)
    }
    return trim(names)
}

# Appends to out[] (count nout) the lines of a C comment holding text,
# wrapped at 78 columns, after the label.
function wrap(label, text) {
    wrap_at(label, text, 2)
}

# As wrap, with continuation lines indented to `indent` columns after
# " * " (a numbered rule's text under its first word).
function wrap_at(label, text, indent,   words, n, i, line, lead, pad) {
    n = split(text, words, /[ \t]+/)
    lead = " * "
    pad = sprintf("%" indent "s", "")
    line = lead label
    for (i = 1; i <= n; i++) {
        if (words[i] == "")
            continue
        if (length(line) + 1 + length(words[i]) > 78 && line != lead) {
            out[++nout] = line
            line = lead pad words[i]
        } else {
            line = line (line ~ /[^ ]$/ ? " " : "") words[i]
        }
    }
    out[++nout] = line
}

# The names of the tests in the exercise's test file, comma-separated.
function test_names(name,   file, line, n, names, t) {
    file = "grade/tests/" stage "/" name "_test.c"
    names = ""
    while ((n = (getline line < file)) > 0) {
        if (match(line, /HARNESS_TEST\([A-Za-z0-9_]+\)/)) {
            t = substr(line, RSTART + 13, RLENGTH - 14)
            names = names (names == "" ? "" : ", ") t
        }
    }
    close(file)
    return names
}

# Appends the stub of function fname (exercise name) to out[].
# The list's own stub for fname ("stub: FNAME CODE | FNAME CODE"), for a
# function whose callers would hide the usual stub's message; "" if none.
function stub_code(name, fname,   v, n, parts, k, p) {
    v = field("exercise", name, "stub")
    n = split(v, parts, / \| /)
    for (k = 1; k <= n; k++) {
        p = trim(parts[k])
        if (substr(p, 1, length(fname) + 1) == fname " ")
            return code(trim(substr(p, length(fname) + 2)))
    }
    return ""
}

# The exercise whose `function` names fname ("" if none): a helper the
# list's `uses` names may itself be another function to write.
function exercise_of(fname,   i, n, parts, k) {
    for (i = 1; i <= nex; i++) {
        n = split(field("exercise", ex[i], "function"), parts, /[ ,]+/)
        for (k = 1; k <= n; k++)
            if (parts[k] == fname)
                return ex[i]
    }
    return ""
}

# What exercise `name` uses and is really kept: its `uses` less the
# functions that are stubs too (of this exercise or another).
function kept_for(name,   n, parts, k, v) {
    v = ""
    n = split(field("exercise", name, "uses"), parts, /[ ,]+/)
    for (k = 1; k <= n; k++)
        if (parts[k] != "" && exercise_of(parts[k]) == "")
            v = v (v == "" ? "" : " ") parts[k]
    return v
}

function stub_body(name, fname,   msg, names, k, n, parts, uses, custom, line, i, owner) {
    msg = "exercise " name " (" fname ") is not written yet: " (wsdir == "" ? "learn/" stage : wsdir) "/" target
    out[++nout] = "{"
    out[++nout] = "    /* Not written yet: exercise " name " (see above). */"
    n = split(param_names(fparams), parts, " ")
    for (k = 1; k <= n; k++)
        out[++nout] = "    (void)" parts[k] ";"
    # The helpers kept for the exercise are named in its last function in
    # the file, after which they are all declared.
    uses = fname == last_fn[name] ? field("exercise", name, "uses") : ""
    n = split(uses, parts, /[ ,]+/)
    for (k = 1; k <= n; k++) {
        if (parts[k] == "")
            continue
        owner = exercise_of(parts[k])
        if (owner == "")
            out[++nout] = "    (void)" parts[k] "; /* kept for you: call it if it helps */"
        else
            out[++nout] = "    (void)" parts[k] "; /* yours to write too (exercise " owner "): call it if it helps */"
    }
    if ((custom = stub_code(name, fname)) != "") {
        out[++nout] = "    kv_error(KV_ERR_INVALID, \"" msg "\");"
        n = split(custom, parts, "\n")
        for (k = 1; k <= n; k++) {
            line = parts[k]
            if ((i = index(line, "MSG")) > 0)
                line = substr(line, 1, i - 1) "\"" msg "\"" substr(line, i + 3)
            out[++nout] = (k == 1 ? "    " : "") line
        }
    } else if (ftype == "void") {
        out[++nout] = "    kv_error(KV_ERR_INVALID, \"" msg "\");"
    } else if (ftype == "int") {
        out[++nout] = "    return kv_error(KV_ERR_INVALID, \"" msg "\");"
    } else if (ftype ~ /char[ \t]*\*$/) {
        out[++nout] = "    kv_error(KV_ERR_INVALID, \"" msg "\");"
        out[++nout] = "    return \"" msg "\";"
    } else if (ftype ~ /\*$/) {
        out[++nout] = "    kv_error(KV_ERR_INVALID, \"" msg "\");"
        out[++nout] = "    return NULL;"
    } else if (ftype ~ /^(const[ \t]+)?(unsigned[ \t]+|signed[ \t]+)?(int|long|short|char|double|float|unsigned|size_t|ssize_t|u?int(8|16|32|64)_t|ptrdiff_t|uintptr_t|_Bool|bool)$/) {
        out[++nout] = "    kv_error(KV_ERR_INVALID, \"" msg "\");"
        out[++nout] = "    return 0;"
    } else {
        out[++nout] = "    kv_error(KV_ERR_INVALID, \"" msg "\");"
        out[++nout] = "    return (" ftype "){0};"
    }
    out[++nout] = "}"
}

# Appends the comment above the first function of exercise `name`.
function stub_comment(name, fname, first,   fns, tests, v, n, k) {
    fns = field("exercise", name, "function")
    out[++nout] = "/*"
    if (!first) {
        out[++nout] = " * EXERCISE " exnum[name] " of " nex ", " name ", continued: see its"
        out[++nout] = " * description above " first_fn[name] "."
        out[++nout] = " */"
        return
    }
    wrap("EXERCISE " exnum[name] " of " nex ", " name ":", need("exercise", name, "title") \
         " (" fns ")")
    if ((n = nrules(name)) == 0 || (v = field("exercise", name, "does")) != "") {
        out[++nout] = " *"
        wrap("What it must do:", n == 0 ? need("exercise", name, "does") : v)
    }
    if (n > 0) {
        out[++nout] = " *"
        wrap("Its rules:", "each checked by a test whose failure names it (\"rule N of " name "\").")
        for (k = 1; k <= n; k++)
            wrap_at(sprintf("  %d.", k), field("exercise", name, "rule " k), 6)
    }
    if ((v = field("exercise", name, "advice")) != "") {
        out[++nout] = " *"
        wrap("Advice, not a rule (no test can tell it from another way that is right):", v)
    }
    if ((v = field("exercise", name, "keeps")) != "") {
        out[++nout] = " *"
        wrap("Invariants it keeps:", v)
    }
    out[++nout] = " *"
    tests = test_names(name)
    wrap("Checked by:", "grade/tests/" stage "/" name "_test.c (" tests "), then the" \
         " stage's suites, race, crash, power, sweep and fuzz rungs: make grade STAGE=" stage ".")
    if ((v = field("exercise", name, "hint")) != "") {
        out[++nout] = " *"
        wrap("Hint:", v)
    }
    if ((v = kept_for(name)) != "") {
        out[++nout] = " *"
        wrap("Kept for you:", v " (reference code above or below; you may call it).")
    }
    out[++nout] = " *"
    wrap("Read:", page ", \"" need("exercise", name, "section") "\".")
    out[++nout] = " */"
}

# A rung's `tests`: "PREFIX = SECTION | ...", the section to reread when
# the failing test's name (suite/test) starts with PREFIX.  Fills
# rt_pre[], rt_sec[]; returns how many.
function rung_tests(rung,   v, n, parts, k, m, eq) {
    v = field("rung", rung, "tests")
    n = split(v, parts, / \| /)
    m = 0
    for (k = 1; k <= n; k++) {
        if ((eq = index(parts[k], " = ")) == 0)
            continue
        m++
        rt_pre[m] = trim(substr(parts[k], 1, eq - 1))
        rt_sec[m] = trim(substr(parts[k], eq + 3))
    }
    return m
}

# A rung's `rules`: "PREFIX = EXERCISE N (WHAT) | ...", the rule of an
# exercise that a failing test whose name (suite/test; for the fuzz rung,
# harness/) starts with PREFIX checks, for a failure whose message names
# none; N may be a list, "2 and 3", "1, 2 and 4", for a test that checks
# several.  Fills rr_pre[], rr_ex[], rr_n[] (the numbers as written),
# rr_what[]; returns how many (an entry not so written is left out: mode
# check says so).
function rung_rules(rung,   v, n, parts, k, m, eq, rest) {
    v = field("rung", rung, "rules")
    n = split(v, parts, / \| /)
    m = 0
    for (k = 1; k <= n; k++) {
        if ((eq = index(parts[k], " = ")) == 0)
            continue
        rest = trim(substr(parts[k], eq + 3))
        if (!match(rest, /^[a-z0-9_]+ [1-9][0-9]*((, | and )[1-9][0-9]*)* \(.*\)$/))
            continue
        m++
        rr_pre[m] = trim(substr(parts[k], 1, eq - 1))
        rr_ex[m] = substr(rest, 1, index(rest, " ") - 1)
        rest = substr(rest, index(rest, " ") + 1)
        rr_n[m] = substr(rest, 1, index(rest, " (") - 1)
        rr_what[m] = substr(rest, index(rest, " (") + 2)
        sub(/\)$/, "", rr_what[m])
    }
    return m
}

# The rule a failing `test` of the rung checks, as the tests write it
# ("rule N of EXERCISE (WHAT)", "rules 2 and 3 of ..."): its longest
# PREFIX's in the rung's `rules`, else "".
function rung_rule(rung, test,   n, k, best, len) {
    best = ""
    len = 0
    n = test == "" ? 0 : rung_rules(rung)
    for (k = 1; k <= n; k++)
        if (substr(test, 1, length(rr_pre[k])) == rr_pre[k] && length(rr_pre[k]) > len) {
            best = (rr_n[k] ~ /^[0-9]+$/ ? "rule " : "rules ") rr_n[k] " of " rr_ex[k] \
                   " (" rr_what[k] ")"
            len = length(rr_pre[k])
        }
    return best
}

# The section to reread when `test` (suite/test, or "") fails the rung:
# its longest PREFIX's in the rung's `tests`, else the rung's section.
function rung_section(rung, test,   n, k, best, len) {
    best = field("rung", rung, "section")
    len = 0
    n = test == "" ? 0 : rung_tests(rung)
    for (k = 1; k <= n; k++)
        if (substr(test, 1, length(rt_pre[k])) == rt_pre[k] && length(rt_pre[k]) > len) {
            best = rt_sec[k]
            len = length(rt_pre[k])
        }
    return best
}

# Every exercise function in target: fn_ex[f] = its exercise, fn_list[] in
# list order.
function target_functions(   i, n, parts, k, nf) {
    nf = 0
    for (i = 1; i <= nex; i++) {
        if (need("exercise", ex[i], "file") != target)
            continue
        n = split(need("exercise", ex[i], "function"), parts, /[ ,]+/)
        for (k = 1; k <= n; k++) {
            if (parts[k] == "")
                continue
            fn_ex[parts[k]] = ex[i]
            fn_list[++nf] = parts[k]
            if (!(ex[i] in first_fn))
                first_fn[ex[i]] = parts[k]
        }
    }
    return nf
}

# ---- modes -------------------------------------------------------------------

function mode_stub(   nf, i, j, fname, start_of, end_of, order, has_error_h, has_kv_h, last_include) {
    nf = target_functions()
    if (nf == 0)
        fail(target ": no exercise of " list " is in it")
    read_c(ref)
    for (i = 1; i <= nf; i++) {
        if (!find_fn(fn_list[i]))
            fail(ref ": function " fn_list[i] " (exercise " fn_ex[fn_list[i]] ") not found")
        start_of[fsig] = fn_list[i]
        sig_of[fn_list[i]] = fsig
        open_of[fn_list[i]] = fopen
        close_of[fn_list[i]] = fclose
        type_of[fn_list[i]] = ftype
        if (!(fn_ex[fn_list[i]] in last_fn) || fsig > sig_of[last_fn[fn_ex[fn_list[i]]]])
            last_fn[fn_ex[fn_list[i]]] = fn_list[i]
        params_of[fn_list[i]] = fparams
    }
    has_error_h = 0
    last_include = 0
    for (i = 1; i <= nL; i++) {
        if (L[i] ~ /^#include "error\.h"/)
            has_error_h = 1
        if (L[i] ~ /^#include "kv\.h"/)
            has_kv_h = 1
        if (L[i] ~ /^#include /)
            last_include = i
    }
    nout = 0
    for (i = 1; i <= nL; i++) {
        if (i in start_of) {
            fname = start_of[i]
            ftype = type_of[fname]
            fparams = params_of[fname]
            stub_comment(fn_ex[fname], fname, first_fn[fn_ex[fname]] == fname)
            for (j = i; j < open_of[fname]; j++)
                out[++nout] = L[j]
            stub_body(fn_ex[fname], fname)
            i = close_of[fname]
            continue
        }
        out[++nout] = L[i]
        if (i == last_include && !has_error_h)
            out[++nout] = "#include \"error.h\" /* kv_error: the stubs of the exercises use it */"
        if (i == last_include && !has_kv_h)
            out[++nout] = "#include \"kv.h\"    /* KV_ERR_INVALID: so do they */"
    }
    for (i = 1; i <= nout; i++)
        print out[i]
}

function mode_fill(   nf, i, j, fname, body_n, body, start_of) {
    nf = target_functions()
    read_c(ref)
    for (i = 1; i <= nf; i++) {
        if (!find_fn(fn_list[i]))
            fail(ref ": function " fn_list[i] " not found")
        body_n[fn_list[i]] = fclose - fopen + 1
        for (j = fopen; j <= fclose; j++)
            body[fn_list[i], j - fopen] = L[j]
    }
    read_c(ws)
    for (i = 1; i <= nf; i++) {
        if (!find_fn(fn_list[i]))
            fail(ws ": function " fn_list[i] " not found")
        start_of[fopen] = fn_list[i]
        end_of[fn_list[i]] = fclose
    }
    for (i = 1; i <= nL; i++) {
        if (i in start_of) {
            fname = start_of[i]
            for (j = 0; j < body_n[fname]; j++)
                print body[fname, j]
            i = end_of[fname]
            continue
        }
        if (clean && L[i] ~ /^#include "(error|kv)\.h" +\/\* (kv_error: the stubs|KV_ERR_INVALID: so do they)/)
            continue
        if (clean && L[i] == "/*" && i < nL && L[i + 1] ~ /^ \* EXERCISE [0-9]+ of [0-9]+, /) {
            while (i <= nL && L[i] != " */")
                i++
            continue
        }
        print L[i]
    }
}

# The edit of wrong solution w, made in the lines of its function in L;
# returns the text of the file, or fails.
function apply_wrong(w,   fname, text, i, from, to, pos, rest, count) {
    fname = need("wrong", w, "function")
    from = code(need("wrong", w, "replace"))
    to = code(field("wrong", w, "with"))
    if (!find_fn(fname))
        fail(ref ": function " fname " (wrong solution " w ") not found")
    text = ""
    for (i = fsig; i <= fclose; i++)
        text = text L[i] "\n"
    count = 0
    rest = text
    while ((pos = index(rest, from)) > 0) {
        count++
        rest = substr(rest, pos + length(from))
    }
    if (count != 1)
        fail("wrong solution " w ": \"" from "\" occurs " count " times in " fname \
             " (" ref "), not once: the reference changed; update " list)
    pos = index(text, from)
    return substr(text, 1, pos - 1) to substr(text, pos + length(from))
}

function mode_wrong(   w, text, i) {
    w = name
    if (!(("wrong", w) in seen))
        fail(list ": no wrong solution " w)
    read_c(ref)
    text = apply_wrong(w)
    for (i = 1; i < fsig; i++)
        print L[i]
    printf "%s", text
    for (i = fclose + 1; i <= nL; i++)
        print L[i]
}

function mode_check(   i, n, parts, k, file, w, ref, key, v, m, nums, j) {
    for (i = 1; i <= nex; i++) {
        file = need("exercise", ex[i], "file")
        need("exercise", ex[i], "title")
        if (nrules(ex[i]) == 0)
            need("exercise", ex[i], "does")
        need("exercise", ex[i], "section")
        for (k = 1; k <= nrules(ex[i]); k++)
            if (!rule_reread(ex[i], k))
                fail(list ": [exercise " ex[i] "] rule " k " has no \"rule " k " reread: SECTION | WORDS\"")
        for (key in F) {
            split(key, parts, SUBSEP)
            if (parts[1] == "exercise" && parts[2] == ex[i] && parts[3] ~ /^rule / &&
                parts[3] !~ /^rule [1-9][0-9]*( reread)?$/)
                fail(list ": [exercise " ex[i] "] has a key \"" parts[3] "\": rules are \"rule N\" and \"rule N reread\"")
            if (parts[1] == "exercise" && parts[2] == ex[i] && match(parts[3], /^rule [1-9][0-9]*/) &&
                substr(parts[3], 6, RLENGTH - 5) + 0 > nrules(ex[i]))
                fail(list ": [exercise " ex[i] "] has \"" parts[3] "\" but rules 1 to " nrules(ex[i]) " only: they are numbered from 1, none left out")
        }
        read_c(file)
        n = split(need("exercise", ex[i], "function"), parts, /[ ,]+/)
        for (k = 1; k <= n; k++)
            if (parts[k] != "" && !find_fn(parts[k]))
                fail(file ": function " parts[k] " (exercise " ex[i] ") not found")
    }
    for (i = 1; i <= nrung; i++) {
        v = field("rung", rg[i], "rules")
        n = split(v, parts, / \| /)
        if (v != "" && n != rung_rules(rg[i]))
            fail(list ": [rung " rg[i] "] rules: each entry is \"PREFIX = EXERCISE N (WHAT)\"")
        n = rung_rules(rg[i])
        for (k = 1; k <= n; k++) {
            if (!(("exercise", rr_ex[k]) in seen)) {
                fail(list ": [rung " rg[i] "] rules: " rr_pre[k] " names " rr_ex[k] \
                     ", no exercise of the list")
                continue
            }
            m = split(rr_n[k], nums, /, | and /)
            for (j = 1; j <= m; j++)
                if (nums[j] + 0 > nrules(rr_ex[k]))
                    fail(list ": [rung " rg[i] "] rules: " rr_pre[k] " names rule " nums[j] \
                         " of " rr_ex[k] ", which has rules 1 to " nrules(rr_ex[k]) " only")
        }
    }
    for (i = 1; i <= nwrong; i++) {
        w = wr[i]
        if (!(("exercise", need("wrong", w, "exercise")) in seen))
            fail(list ": wrong solution " w " names no exercise of the list")
        need("wrong", w, "rung")
        need("wrong", w, "expect")
        ref = need("exercise", need("wrong", w, "exercise"), "file")
        read_c(ref)
        apply_wrong(w)
    }
    for (i = 1; i <= neqv; i++) {
        w = eqv[i]
        if (!(("exercise", need("equivalent", w, "exercise")) in seen))
            fail(list ": equivalent mutant " w " names no exercise of the list")
        need("equivalent", w, "with")
        need("equivalent", w, "why")
        read_c(need("exercise", need("equivalent", w, "exercise"), "file"))
        if (!find_fn(need("equivalent", w, "function")))
            fail(list ": equivalent mutant " w ": no function " field("equivalent", w, "function"))
        k = 0
        for (n = fopen; n <= fclose; n++)
            k += lines_at(n, need("equivalent", w, "replace"))
        if (k == 0)
            fail(list ": equivalent mutant " w ": its replace line is not in " field("equivalent", w, "function"))
        n = field("equivalent", w, "occurrence")
        if (n != "" && n !~ /^[1-9][0-9]*$/)
            fail(list ": equivalent mutant " w ": occurrence \"" n "\" is not a number from 1 (the Nth line of " \
                 field("equivalent", w, "function") " with its replace text)")
        if (n != "" && n + 0 > k)
            fail(list ": equivalent mutant " w ": occurrence " n " of its replace line, but " \
                 field("equivalent", w, "function") " holds " k " line" (k == 1 ? "" : "s") " with that text")
    }
}

BEGIN {
    if (list == "" || mode == "")
        fail("usage: awk -f grade/exercises.awk -v list=FILE -v mode=MODE ...")
    read_list(list)
    stage = list
    sub(/^.*\//, "", stage)
    sub(/\.exercises$/, "", stage)
    page = "docs/" stage ".md"
    if (mode == "names") {
        for (i = 1; i <= nex; i++)
            print ex[i]
    } else if (mode == "table") {
        for (i = 1; i <= nex; i++)
            printf "%d\t%s\t%s\t%s\t%s\n", i, ex[i], need("exercise", ex[i], "file"),
                   need("exercise", ex[i], "function"), need("exercise", ex[i], "section")
    } else if (mode == "files") {
        for (i = 1; i <= nex; i++) {
            f = need("exercise", ex[i], "file")
            if (!(f in done_file))
                print f
            done_file[f] = 1
        }
    } else if (mode == "wrongs") {
        for (i = 1; i <= nwrong; i++)
            printf "%s\t%s\t%s\t%s\t%s\t%s\n", wr[i], need("wrong", wr[i], "exercise"),
                   need("wrong", wr[i], "rung"), need("wrong", wr[i], "expect"),
                   need("exercise", need("wrong", wr[i], "exercise"), "file"),
                   need("wrong", wr[i], "breaks")
    } else if (mode == "sections") {
        for (i = 1; i <= nex; i++) {
            v = need("exercise", ex[i], "section")
            if (!(v in done_sec))
                print v
            done_sec[v] = 1
            for (k = 1; k <= nrules(ex[i]); k++) {
                if (!rule_reread(ex[i], k) || (rr_sec in done_sec))
                    continue
                print rr_sec
                done_sec[rr_sec] = 1
            }
        }
        for (i = 1; i <= nrung; i++) {
            v = field("rung", rg[i], "section")
            if (v != "" && !(v in done_sec))
                print v
            done_sec[v] = 1
            n = rung_tests(rg[i])
            for (k = 1; k <= n; k++) {
                v = rt_sec[k]
                if (!(v in done_sec))
                    print v
                done_sec[v] = 1
            }
        }
    } else if (mode == "equivalents") {
        for (i = 1; i <= neqv; i++)
            printf "%s\t%s\t%s\t%d\t%s\n", need("equivalent", eqv[i], "function"),
                   need("equivalent", eqv[i], "replace"), need("equivalent", eqv[i], "with"),
                   field("equivalent", eqv[i], "occurrence") + 0, need("equivalent", eqv[i], "why")
    } else if (mode == "rung-section") {
        print rung_section(name, test)
    } else if (mode == "rung-rule") {
        print rung_rule(name, test)
    } else if (mode == "rules") {
        for (i = 1; i <= nex; i++)
            for (k = 1; k <= nrules(ex[i]); k++) {
                rule_reread(ex[i], k)
                printf "%s\t%d\t%s\t%s\t%s\n", ex[i], k, rr_sec, rr_words, field("exercise", ex[i], "rule " k)
            }
    } else if (mode == "rule-section") {
        print ((("exercise", name, "rule " n) in F) && rule_reread(name, n + 0)) ? rr_sec : ""
    } else if (mode == "get") {
        print field(kind, name, key)
    } else if (mode == "stub") {
        mode_stub()
    } else if (mode == "fill") {
        mode_fill()
    } else if (mode == "wrong") {
        mode_wrong()
    } else if (mode == "check") {
        mode_check()
    } else {
        fail("unknown mode " mode)
    }
    exit failed
}
