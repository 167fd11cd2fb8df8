#!/usr/bin/env python3
"""structure_test.py: the rules of how a stage builds on the one before,
checked on the sources (../shared/STYLE.md has them; docs/building.md,
"Layout"), and the front door that names the stages (README.md, ROADMAP.md).

  python3 tests/structure_test.py

For every stage that `make` builds:
  - no function is defined again by a later stage's files unless a header
    that says it is an interface declares it (scripts/interface_check.sh;
    the public kv_* API is every stage's own);
  - no stage.mk compiles a file with defines of its own (a -D rename of
    another stage's symbols);
  - the files a stage links from stages/ (its own and the parts it reuses)
    call each other without a circle: a file calls another if it names a
    function the other defines (comments left out), an interface's
    function included, so that a part behind an interface (a table set)
    never calls back into the part that uses it (the engine);
  - no stage.mk subtracts files (filter-out): a stage names its parts;
  - no file of a stage after 04 includes the LSM engine's own header
    (lsm_db.h) or names one of its struct's fields: later stages reach the
    engine only through interfaces;
  - `make stage-files` prints a non-empty "open first" list, every file of
    it found;
  - the stage's page has a reading plan (reading_plan below) that names
    every file of the stage's own directory, whose line counts are what
    the files hold, and whose first reading is at most FIRST_READING_MAX
    lines (scripts/reading_plan.py; --fix brings the counts up to date).
For `kv serve` (tools/serve/): its files call each other without a
circle, as a stage's do.
Across stages/ and tools/: no header includes itself through others, and
no folder's files call each other both ways (check_no_circle_anywhere;
CIRCLES_BEING_CUT lists the ones known and being cut).
An earlier stage reads as if no later stage existed: no file of stages
01 to 08 names stage 09 or 10 (check_no_later_stage_named), and stage
04's table.h declares no function, and no field, that only stage 09 gives
a body or sets (check_table_h_speaks_of_no_later_stage).
For README.md and ROADMAP.md (check_front_door below):
  - each names every stage directory under stages/, and neither calls a
    stage that `make` builds "being built" (in the same paragraph, table
    row or list item, or under a heading that says it), nor counts the
    stages that `make` builds wrong in its title ("nine stages", "nine
    engines"; a stage being built is not counted);
  - README.md shows `make demo` and `make test` within its first
    README_COMMANDS_BY lines;
  - no cell of ROADMAP.md's tables is longer than ROADMAP_CELL_WORDS words
    (a line or two: the figures belong on the stage pages).
Prints RUN/ok/FAIL lines and "N passed, N failed" as the C suites do
(tests/run.sh counts them).  Needs make and ctags (Debian's
universal-ctags: `make deps DEPS=check`).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from reading_plan import own_files, reading_plan  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
passed = failed = 0
# The front door: README's two commands come within its first this many
# lines, and a cell of ROADMAP's tables says what it says in this many
# words at most.
README_COMMANDS_BY = 25
ROADMAP_CELL_WORDS = 70
# Stage 09 calls at most this many functions of stage 05's format v2
# (check_seam_05_09; docs/09-cache-reference.md, "What it takes of stage 05", lists
# them by what they are for).  Each is a step format v2's own table.h
# functions are made of, taking only what stage 05's own calls hand it
# too: the builder (eight calls), the context (three), a lookup (three),
# the blocks and handles (three), the open (two) and the walks (three).
SEAM_09_CALLS_MAX = 22
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen"]


def result(name, problems):
    global passed, failed
    print("RUN  structure/" + name)
    if problems:
        failed += 1
        for p in problems:
            print("    " + p)
        print("FAIL structure/" + name)
    else:
        passed += 1
        print("ok   structure/" + name)


def make_vars():
    """SRCS_<stage> and INC_<stage> of every built stage, from make's database."""
    out = subprocess.run(["make", "-s", "-pn", "-C", ROOT], capture_output=True, text=True).stdout
    stages, srcs, incs = [], {}, {}
    for line in out.splitlines():
        m = re.match(r"^STAGES :?= (.*)$", line)
        if m:
            stages = m.group(1).split()
        m = re.match(r"^SRCS_([0-9][^ ]*) :?= (.*)$", line)
        if m:
            srcs[m.group(1)] = m.group(2).split()
        m = re.match(r"^INC_([0-9][^ ]*) :?= (.*)$", line)
        if m:
            incs[m.group(1)] = [w[2:] for w in m.group(2).split() if w.startswith("-I")]
    return stages, srcs, incs


# ctags -x's lines for each file, asked once: ctags_prime runs one ctags
# over many files (one process instead of hundreds), ctags_lines reads them.
CTAGS = {}


def ctags_prime(paths):
    todo = sorted({p for p in paths if p not in CTAGS})
    for p in todo:
        CTAGS[p] = []
    if not todo:
        return
    out = subprocess.run(["ctags", "-x", "--c-kinds=f"] + todo, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5 and parts[3] in CTAGS:
            CTAGS[parts[3]].append(line)


def ctags_lines(path):
    """ctags -x --c-kinds=f's lines for one file."""
    if path not in CTAGS:
        ctags_prime([path])
    return CTAGS[path]


def defined_functions(path):
    """The global functions a C file defines (ctags), but static ones."""
    names = set()
    for line in ctags_lines(path):
        parts = line.split(None, 4)
        if len(parts) == 5 and not re.search(r"\bstatic\b", parts[4]):
            names.add(parts[0])
    return names


def interface_functions(dirs):
    """Functions declared in a header whose opening comment says it is an
    interface: calling one depends on the interface, not on whichever file
    of the stage implements it."""
    names = set()
    for d in dirs:
        headers = []
        for root, sub, files in os.walk(d):
            sub[:] = [x for x in sub if x != "tests"]
            headers += [os.path.join(root, h) for h in files if h.endswith(".h")]
        for h in headers:
            text = open(h).read()
            opening = text.split("*/", 1)[0]
            if "an interface" in " ".join(opening.replace("*", " ").split()):
                names |= set(re.findall(r"^[a-z][\w \*]*?[ \*](\w+)\(", text, flags=re.M))
    return names


def lsm_db_fields():
    """The fields of the LSM engine's struct kv_db (stages/04-lsm/engine/lsm_db.h)."""
    path = os.path.join("stages", "04-lsm", "engine", "lsm_db.h")
    if not os.path.exists(path):
        return set()
    text = without_comments(open(path).read())
    m = re.search(r"struct kv_db \{(.*?)\n\};", text, flags=re.S)
    fields = set()
    for decl in (m.group(1) if m else "").split(";"):
        decl = re.sub(r"\[[^\]]*\]", "", decl)
        for part in decl.split(","):
            w = re.findall(r"(\w+)\s*$", part.strip())
            if w:
                fields.add(w[0])
    return fields - {"", "int", "uint64_t"}


def without_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def find_circle(graph):
    """A circle of graph (node -> set of nodes) as a list, or None."""
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def main():
    os.chdir(ROOT)
    stages, srcs, incs = make_vars()
    ctags_prime(os.path.join(r, f) for top in ("stages", "tools", "common")
                for r, _, files in os.walk(top) for f in files if f.endswith((".c", ".h")))
    if not stages:
        result("make_lists_the_stages", ["make -pn printed no STAGES"])
        return []
    everything = sorted({f for s in stages for f in srcs.get(s, [])})
    rc = subprocess.run(["sh", "scripts/interface_check.sh"] + everything, capture_output=True,
                        text=True)
    result("later_stages_replace_only_interfaces",
           (rc.stdout + rc.stderr).strip().splitlines() if rc.returncode else [])

    renames = []
    for s in stages:
        for n, line in enumerate(open(os.path.join("stages", s, "stage.mk")), 1):
            if re.search(r"(CFLAGS|DEFS)\s*\+?=.*-D", line):
                renames.append("stages/%s/stage.mk:%d: %s" % (s, n, line.strip()))
    result("no_stage_compiles_a_file_with_defines_of_its_own", renames)

    interfaces = interface_functions([os.path.join("stages", s) for s in stages])
    for s in stages:
        linked = [f for f in srcs.get(s, []) if f.startswith("stages/")]
        # (kv.h's calls are the API, every stage's own: no edge either.)
        defs = {f: {d for d in defined_functions(f) if not d.startswith("kv_")} for f in linked}
        graph = {}
        for a in linked:
            words = set(re.findall(r"[A-Za-z_]\w*", without_comments(open(a).read())))
            graph[a] = {b for b in linked if b != a and words & defs[b]}
        circle = find_circle(graph)
        result("stage_%s_has_no_circle" % s.replace("-", "_"),
               ["a circle: " + " -> ".join(circle)] if circle else [])

    # The server (tools/serve/) in floors, the same way: output, parsing and
    # counting at the bottom, the commands, the batch and the transactions
    # above, the loop and main on top (tools/serve/server.h says which).
    serve = sorted(os.path.join("tools", "serve", f) for f in os.listdir(os.path.join("tools", "serve"))
                   if f.endswith(".c"))
    defs = {f: defined_functions(f) for f in serve}
    graph = {}
    for a in serve:
        words = set(re.findall(r"[A-Za-z_]\w*", without_comments(open(a).read())))
        graph[a] = {b for b in serve if b != a and words & defs[b]}
    circle = find_circle(graph)
    result("server_files_have_no_circle", ["a circle: " + " -> ".join(circle)] if circle else [])

    # Stage 04's lower floors: keys/ includes nothing of any stage, and the
    # parts every table format and iterator builds on (keys, memtable,
    # iterators, table) include one another in one direction only.
    floors = ["keys", "memtable", "iterators", "table"]
    owner = {}
    for root, sub, files in os.walk(os.path.join("stages")):
        for name in files:
            if name.endswith(".h"):
                owner.setdefault(name, os.path.relpath(root, "stages"))
    graph, problems = {}, []
    for folder in floors:
        base = os.path.join("stages", "04-lsm", folder)
        node = "04-lsm/" + folder
        graph[node] = set()
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if not name.endswith((".c", ".h")):
                continue
            for inc in re.findall(r'#\s*include\s+"([^"]+)"', open(os.path.join(base, name)).read()):
                where = owner.get(os.path.basename(inc))
                if where is None or where == node:
                    continue
                if folder == "keys":
                    problems.append("stages/%s/%s includes %s (of stages/%s)" % (node, name, inc,
                                                                                 where))
                graph[node].add(where)
    graph = {n: {m for m in e if m in graph} for n, e in graph.items()}
    circle = find_circle(graph)
    if circle:
        problems.append("folders that need each other: " + " -> ".join(circle))
    result("stage_04_keys_are_the_ground_floor", problems)

    # Stage 04's parts work on what they own: no file of the stage outside
    # engine/ (and the tests) includes the engine's struct (lsm_db.h); the
    # engine applies what they return (replay: lsm_replayed) and feeds the
    # counters it prints (stats: lsm_stats_lines).
    reach = []
    for root, sub, files in os.walk(os.path.join("stages", "04-lsm")):
        sub[:] = [x for x in sub if x != "tests"]
        if os.path.relpath(root, os.path.join("stages", "04-lsm")) == "engine":
            continue
        for name in sorted(files):
            if name.endswith((".c", ".h")) and re.search(
                    r'#\s*include\s+"lsm_db\.h"', open(os.path.join(root, name)).read()):
                reach.append("%s includes lsm_db.h" % os.path.join(root, name))
    result("stage_04_only_its_engine_includes_lsm_db_h", reach)

    # The engine's struct reads as a table of contents: a few members, most
    # of them parts whose structs are declared beside their code.
    fields = lsm_db_fields()
    result("stage_04_kv_db_is_a_table_of_contents",
           ["struct kv_db has %d members (%s); at most 15" % (len(fields), ", ".join(sorted(fields)))]
           if len(fields) > 15 else [])

    # No two folders of a stage's own include each other: a part that needs
    # another that needs it back is one part, or a seam in the wrong place.
    mutual = []
    folder_of = {}
    for root, sub, files in os.walk("stages"):
        sub[:] = sorted(x for x in sub if x != "tests")
        for name in files:
            if name.endswith(".h"):
                folder_of.setdefault(name, os.path.relpath(root, "stages"))
    includes = {}
    for root, sub, files in os.walk("stages"):
        sub[:] = sorted(x for x in sub if x != "tests")
        node = os.path.relpath(root, "stages")
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            for inc in re.findall(r'#\s*include\s+"([^"]+)"', open(os.path.join(root, name)).read()):
                where = folder_of.get(os.path.basename(inc))
                if where is not None and where != node:
                    includes.setdefault(node, {}).setdefault(where, "%s includes %s" % (
                        os.path.join(root, name), inc))
    for a in sorted(includes):
        for b in sorted(includes[a]):
            if a < b and a in includes.get(b, {}):
                mutual.append("stages/%s and stages/%s include each other (%s; %s)" % (
                    a, b, includes[a][b], includes[b][a]))
    result("no_two_folders_include_each_other", mutual)

    subtracts = []
    for s in stages:
        for n, line in enumerate(open(os.path.join("stages", s, "stage.mk")), 1):
            if "filter-out" in line:
                subtracts.append("stages/%s/stage.mk:%d: %s" % (s, n, line.strip()))
    result("no_stage_subtracts_files", subtracts)

    engine_fields = lsm_db_fields()
    reaches = []
    for s in stages:
        if s < "05":
            continue
        for root, sub, files in os.walk(os.path.join("stages", s)):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                text = without_comments(open(path).read())
                if re.search(r'#\s*include\s+"[^"]*lsm_db\.h"', open(path).read()):
                    reaches.append("%s includes lsm_db.h" % path)
                for field in sorted(engine_fields):
                    if re.search(r"\bdb->%s\b" % re.escape(field), text):
                        reaches.append("%s names kv_db's field %s" % (path, field))
    result("later_stages_reach_the_engine_through_interfaces", reaches)

    check_seam_05_09()
    check_no_later_stage_named()
    check_table_h_speaks_of_no_later_stage()
    check_no_circle_anywhere()

    for s in stages:
        # What `make stage-files STAGE=s` runs.
        dirs = " ".join(["stages/" + s] + incs.get(s, []))
        out = subprocess.run(["sh", "scripts/stage_files.sh", s, " ".join(srcs.get(s, [])), dirs],
                             capture_output=True, text=True)
        lines = out.stdout.splitlines()
        problems = []
        try:
            start = next(i for i, l in enumerate(lines) if "open first" in l)
        except StopIteration:
            problems.append("no \"open first\" list (docs/%s.md has no **Open first:** "
                            "paragraph)" % s)
            start = None
        if start is not None:
            listed = []
            for l in lines[start + 1:]:
                if not l.startswith("    "):
                    break
                listed.append(l.strip())
            if not listed:
                problems.append("the \"open first\" list is empty")
            problems += ["open first: " + l for l in listed if "(not found)" in l]
        if out.returncode != 0:
            problems.append("make stage-files STAGE=%s failed: %s" % (s, out.stderr.strip()))
        result("stage_%s_names_the_files_to_open_first" % s.replace("-", "_"), problems)
    return stages


def source_files(top, tests=False):
    """The .c and .h files under top, its tests/ folders left out unless tests,
    and npm's node_modules/ always (make test-wasm installs the lab's
    packages in web/: their C is not the project's)."""
    out = []
    for root, sub, files in os.walk(top):
        sub[:] = sorted(x for x in sub if (tests or x != "tests") and x != "node_modules")
        out += [os.path.join(root, f) for f in sorted(files) if f.endswith((".c", ".h"))]
    return out


def check_seam_05_09():
    """Stage 09 over stage 05, as stage 05 over stage 04: one header
    (stages/05-blocks/table_v2/table_v2_parts.h), a few calls through it,
    nothing called back."""
    seam = os.path.join("stages", "05-blocks", "table_v2")
    cache = os.path.join("stages", "09-cache")
    if not os.path.isdir(seam) or not os.path.isdir(cache):
        return
    headers = {os.path.basename(f) for f in source_files(seam, tests=False) if f.endswith(".h")}
    # Format v2's functions: every function its files define, static
    # inline ones of its headers included (table.h's own functions, which
    # it implements, are table.h's interface: not counted).
    format_fns = set()
    for f in source_files(seam):
        for line in ctags_lines(f):
            parts = line.split(None, 4)
            if len(parts) == 5 and parts[0].startswith("table_v2_") and (
                    f.endswith(".h") or not re.search(r"\bstatic\b", parts[4])):
                format_fns.add(parts[0])
    used, includes = {}, []
    for f in source_files(cache):
        raw = open(f).read()
        for inc in re.findall(r'#\s*include\s+"([^"]+)"', raw):
            if os.path.basename(inc) in headers and os.path.basename(inc) != "table_v2_parts.h":
                includes.append("%s includes %s: stage 09 sees format v2 through "
                                "table_v2_parts.h only" % (f, inc))
        for name in re.findall(r"\b(table_v2_\w+)\s*\(", without_comments(raw)):
            if name in format_fns:
                used.setdefault(name, f)
    problems = includes
    if len(used) > SEAM_09_CALLS_MAX:
        problems.append("stage 09's sources call %d functions of format v2 (at most %d): %s" % (
            len(used), SEAM_09_CALLS_MAX, ", ".join(sorted(used))))
    result("stage_09_calls_format_v2_through_one_narrow_header", problems)

    # Nothing of format v2 calls back: no struct of function pointers
    # declared there (an ops table a later stage would fill), no function
    # pointer type, and no function of stage 09 handed to a call of format
    # v2 (named there other than to call it).
    problems = []
    for f in source_files(seam):
        text = without_comments(open(f).read())
        for body in re.findall(r"struct\s*\w*\s*\{([^{}]*)\}", text):
            if re.search(r"\(\s*\*\s*\w+\s*\)\s*\(", body):
                problems.append("%s declares a struct of function pointers" % f)
        for m in re.finditer(r"typedef[^;]*\(\s*\*\s*(\w+)\s*\)\s*\(", text):
            problems.append("%s declares a function pointer type %s" % (f, m.group(1)))
    own = set()
    for f in source_files(cache):
        own |= defined_functions(f)
        own |= {line.split(None, 1)[0] for line in ctags_lines(f) if line.strip()}
    for f in source_files(cache):
        text = without_comments(open(f).read())
        for call in re.finditer(r"\btable_v2_\w+\s*\(([^;]*)", text):
            for name in sorted(own):
                if re.search(r"\b%s\b(?!\s*\()" % re.escape(name), call.group(1)):
                    problems.append("%s hands its function %s to format v2" % (f, name))
    result("format_v2_calls_nothing_of_stage_09_back", problems)


# How a line names stage 09 or 10: "stage 09", "stage 9", "stages 05 to
# 09", "10-raft", "(09)", Raft.
LATER_STAGE_WORDS = re.compile(r"\bstages?\s+0?9\b|\bstages?\s+10\b|09-cache|10-raft|"
                               r"\b(to|and|through|from|before|or)\s+(09|10)\b|\(09\)|"
                               r"\braft\b")


def check_no_later_stage_named():
    """An earlier stage reads as if no later stage existed: no file of
    stages 01 to 08 (sources, tests, stage.mk; comments and messages
    alike) names stage 09 or 10 (LATER_STAGE_WORDS).  A database a later
    stage wrote is refused in the stage's own words ("format version 3,
    which this stage does not read").  include/kv.h, every stage's
    contract, may say that an option takes effect "from stage 09 on"."""
    files = []
    for d in sorted(os.listdir("stages")):
        if re.match(r"0[1-8]-", d):
            for root, sub, names in os.walk(os.path.join("stages", d)):
                sub.sort()
                files += [os.path.join(root, n) for n in sorted(names)
                          if n.endswith((".c", ".h", ".mk", ".md", ".py", ".sh"))]
    problems = []
    for f in files + ["include/kv.h"]:
        for n, line in enumerate(open(f, errors="replace"), 1):
            low = line.lower()
            if not LATER_STAGE_WORDS.search(low):
                continue
            if f == "include/kv.h" and ("stage 09 on" in low or "from stage 09" in low or
                                        not re.search(r"stage 09|09-cache|10-raft|stages?\s+10\b|"
                                                      r"\b(to|and)\s+(09|10)\b", low)):
                continue
            problems.append("%s:%d: %s" % (f, n, line.strip()))
    result("no_earlier_stage_names_stage_09_or_10", problems)


def ctags_functions(files):
    """name -> [(file, line)] of every function a C file of files defines
    with a body (ctags), static ones included."""
    ctags_prime(files)
    found = {}
    for f in files:
        for line in CTAGS[f]:
            parts = line.split(None, 4)
            if len(parts) == 5:
                found.setdefault(parts[0], []).append((parts[3], int(parts[2])))
    return found


def function_body(path, line):
    """The body of the function whose definition starts at line of path,
    comments left out, or "" if it cannot be found."""
    text = open(path, errors="replace").read().split("\n")
    rest = "\n".join(text[line - 1:])
    start = rest.find("{")
    if start < 0:
        return ""
    depth = 0
    for i in range(start, len(rest)):
        if rest[i] == "{":
            depth += 1
        elif rest[i] == "}":
            depth -= 1
            if depth == 0:
                return without_comments(rest[start + 1:i])
    return ""


def is_stub(body):
    """A body that does nothing but refuse: casts to void, returns of
    KV_OK, 0 or nothing (under a condition or not), and a refusal
    (return kv_error(KV_ERR_INVALID, ...))."""
    rest = re.sub(r"\(void\)\s*[\w\->\.]+\s*(,\s*\(void\)\s*[\w\->\.]+\s*)*;", "", body)
    rest = re.sub(r"if\s*\([^;{}]*\)\s*return\s*(KV_OK|0)?\s*;", "", rest)
    rest = re.sub(r"return\s+kv_error\s*\(\s*KV_ERR_INVALID[^;]*;", "", rest)
    rest = re.sub(r"return\s*(KV_OK|0)?\s*;", "", rest)
    return rest.strip() == ""


def struct_fields(text):
    """struct name -> its field names, for the structs a header's text
    defines (comments left out)."""
    fields = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*\w+\s*;", text, flags=re.S):
        names = []
        for decl in m.group(2).split(";"):
            decl = re.sub(r"\[[^\]]*\]", "", decl).strip()
            if not decl:
                continue
            first, *others = decl.split(",")
            w = re.findall(r"(\w+)\s*$", first.strip())
            names += w
            for o in others:
                names += re.findall(r"(\w+)\s*$", o.strip())
        fields[m.group(1)] = names
    return fields


def check_table_h_speaks_of_no_later_stage():
    """stages/04-lsm/table/table.h is stage 04's interface to its tables,
    and reads as if no later stage existed: every function it declares has
    a body that does something (not only casts to void and a return of
    KV_OK) in a stage before 09 (a function only stage 09 gives a body to
    is stage 09's, and belongs behind its own wrapper or in a generic
    option stage 04 uses too); and every field of its structs is set by a
    file of stages 04 to 08 (a field only stage 09 sets is stage 09's)."""
    path = os.path.join("stages", "04-lsm", "table", "table.h")
    text = without_comments(open(path).read())
    declared = sorted(set(re.findall(r"^[a-z][\w \*]*?[ \*](\w+)\(", text, flags=re.M)))
    earlier, later = [], []
    for d in sorted(os.listdir("stages")):
        if not os.path.isdir(os.path.join("stages", d)):
            continue
        files = [f for f in source_files(os.path.join("stages", d)) if f.endswith(".c")]
        (earlier if d < "09" else later).extend(files)
    defs = ctags_functions(earlier)
    problems = []
    for name in declared:
        bodies = defs.get(name, [])
        if not any(not is_stub(function_body(f, n)) for f, n in bodies):
            problems.append("%s declares %s, which no stage before 09 gives a body that does "
                            "something (%s)" % (path, name, ", ".join(
                                "%s:%d" % b for b in bodies) or "none at all"))
    texts = [without_comments(open(f, errors="replace").read()) for f in earlier] + [
        without_comments(open(f, errors="replace").read())
        for f in source_files(os.path.join("stages"), tests=False)
        if f.endswith(".h") and re.match(r"stages/0[4-8]-", f)]
    joined = "\n".join(texts)
    for struct, names in sorted(struct_fields(text).items()):
        for field in names:
            f = re.escape(field)
            if not re.search(r"(\.|->)%s\s*(=(?!=)|\+=|-=|\|=|\+\+)|&[\w\[\]\.\->]*(\.|->)%s\b|"
                             r"\+\+\s*[\w\[\]\.\->]*(\.|->)%s\b" % (f, f, f), joined):
                problems.append("%s: %s.%s is set by no file of stages 04 to 08" % (
                    path, struct, field))
    result("table_h_speaks_of_no_later_stage", problems)


# Circles found today that are being cut, each as the set of files in it,
# with why it is allowed until then.  Delete an entry once its circle is
# gone (the check says so).
CIRCLES_BEING_CUT = []


def strongly_connected(graph):
    """The strongly connected components of graph (node -> set of nodes)
    with more than one node: each a circle or several."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# Where no circle may be: every folder of C that the project builds.
CIRCLE_FREE_TOPS = ["stages", "tools", "common", "kvgrade", "web"]


def check_no_circle_anywhere():
    """No circle anywhere under stages/, tools/, common/, kvgrade/ or web/
    (CIRCLE_FREE_TOPS): no header includes itself through others (all
    headers there, and include/'s, by name), and in every folder the
    files call each other in one direction only (a file calls another if
    it names a function the other defines, comments left out; kv.h's API
    excepted, as in a stage's own check).  The stages' checks above
    follow a stage's linked files across folders; this one reaches what
    no stage links (the tools, a stage's member or replica files, the
    shared code, the grader, the lab, the tests)."""
    tops = CIRCLE_FREE_TOPS
    headers = {}
    for top in tops + ["include"]:
        for f in source_files(top, tests=True):
            if f.endswith(".h"):
                headers.setdefault(os.path.basename(f), []).append(f)
    graph = {}
    for top in tops:
        for f in source_files(top, tests=True):
            if f.endswith(".h"):
                graph[f] = set()
                for inc in re.findall(r'#\s*include\s+"([^"]+)"', open(f, errors="replace").read()):
                    same = os.path.join(os.path.dirname(f), inc)
                    graph[f] |= {same} if os.path.exists(same) else set(
                        headers.get(os.path.basename(inc), []))
    for f in graph:
        graph[f] = {g for g in graph[f] if g in graph}
    problems, noted = [], []
    for comp in strongly_connected(graph):
        problems.append("headers that include each other: " + ", ".join(sorted(comp)))
    folders = {}
    for top in tops:
        for f in source_files(top, tests=True):
            if f.endswith(".c"):
                folders.setdefault(os.path.dirname(f), []).append(f)
    for folder, files in sorted(folders.items()):
        found = ctags_functions(files)
        defs = {f: set() for f in files}
        for name, where in found.items():
            if name.startswith("kv_") or name == "main":
                continue
            for f, _ in where:
                if f in defs and not re.search(r"^\s*static\b", open(f, errors="replace")
                                               .read().split("\n")[_ - 1]):
                    defs[f].add(name)
        graph = {}
        for a in files:
            words = set(re.findall(r"[A-Za-z_]\w*", without_comments(open(a, errors="replace").read())))
            graph[a] = {b for b in files if b != a and words & defs[b]}
        for comp in strongly_connected(graph):
            if comp in CIRCLES_BEING_CUT:
                noted.append("known, being cut (CIRCLES_BEING_CUT): " + " <-> ".join(sorted(comp)))
            else:
                problems.append("files that call each other: " + " <-> ".join(sorted(comp)))
    for known in CIRCLES_BEING_CUT:
        if not any(known == set(n.split(": ", 1)[1].split(" <-> ")) for n in noted):
            noted.append("CIRCLES_BEING_CUT lists %s, which no longer call each other: delete "
                         "the entry" % " <-> ".join(sorted(known)))
    for n in noted:
        print("    note: " + n)
    result("no_circle_under_stages_tools_common_kvgrade_or_web", problems)


# The extension's headers: the only folder of tools/ that stage 10 is
# compiled against (docs/server.md, "An extension, chosen at run time").
EXT_DIR = os.path.join("tools", "ext")
# The command table's file: the one place a command or a subcommand is
# found by its name.  And the extension's rows of CLUSTER's subcommands
# (serve_ext.h, serve_ext_cmd), which that table takes in.
COMMAND_TABLE = os.path.join("tools", "serve", "serve_cmd_table.c")
EXTENSION_ROWS = os.path.join("stages", "10-raft", "member", "member_cluster.c")
# What is read of libraft's struct raft where its API has no call, in one
# file (stages/10-raft/replica/libraft_fields.h says why), and the test
# that checks it against the library's API.
LIBRAFT_FIELDS = os.path.join("stages", "10-raft", "replica", "libraft_fields.c")
LIBRAFT_FIELDS_TEST = os.path.join("stages", "10-raft", "tests", "group_test.c")
# struct raft's fields (libraft 0.15's raft.h), read through a pointer or
# a member named for it: `r->current_term`, `m->raft.configuration`,
# `raft_fixture_get(...)->id`.
RAFT_FIELD_READ = re.compile(
    r"(->|\.)(current_term|voted_for|commit_index|last_stored|configuration_index|"
    r"configuration_uncommitted_index|follower_state|candidate_state|leader_state|"
    r"election_timer_start|install_snapshot_timeout|max_catch_up_rounds|"
    r"max_catch_up_round_duration)\b|"
    r"\b(raft|r)(->|\.)(configuration|log|state|id|address|transfer|snapshot|io|fsm)\b|"
    r"raft_fixture_get\s*\([^;]*?\)\s*->\s*\w+")


def without_comments_keeping_strings(text):
    """text without its comments, its strings kept, its lines where they were."""
    text = re.sub(r"/\*.*?\*/", lambda m: " " + "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def code_of(path):
    """A C file without its comments or its strings' contents, its lines
    where they were."""
    text = without_comments_keeping_strings(open(path, errors="replace").read())
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def command_names():
    """The commands' names in the command table (COMMAND_TABLE), and the
    subcommands' words there and in the extension's rows (EXTENSION_ROWS)."""
    text = without_comments_keeping_strings(open(COMMAND_TABLE).read())
    rows = re.findall(r'^\s*\{"([a-z]+)",\s*(NULL|"[a-z]+"),\s*-?\d+\s*,', text, flags=re.M)
    subs = {sub.strip('"') for _, sub in rows if sub != "NULL"}
    if os.path.exists(EXTENSION_ROWS):
        ext = without_comments_keeping_strings(open(EXTENSION_ROWS).read())
        subs |= set(re.findall(r'^\s*\{"([a-z]+)",\s*-?\d+\s*,', ext, flags=re.M))
    return {name for name, _ in rows}, subs


def check_server_seam():
    """The server and a later stage's extension meet in the extension's
    headers (tools/ext/) alone (docs/server.md, "An extension, chosen at
    run time"): stage 10 is compiled against that folder and no other of
    tools/, and none of its files reaches past it; no struct of server.h
    has a Raft or member field; nothing in tools/ is replaced at link time
    (a weak definition); no rule reads a command's flags as a string."""
    problems = []
    for n, line in enumerate(open(os.path.join("stages", "10-raft", "stage.mk")), 1):
        for flag in re.findall(r"-I(\S+)", line):
            if not flag.startswith("stages/10-raft") and os.path.normpath(flag) != EXT_DIR:
                problems.append("stages/10-raft/stage.mk:%d compiles stage 10 against %s: only "
                                "its own folders and %s" % (n, flag, EXT_DIR))
    for path in source_files("stages/10-raft", tests=True):
        for n, line in enumerate(open(path, errors="replace"), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m and ("/" in m.group(1) and not m.group(1).startswith("../../../tests/")):
                problems.append("%s:%d includes %s: a path past the folders it is compiled "
                                "against" % (path, n, m.group(1)))
    result("stage_10_is_compiled_against_the_extensions_headers_alone", problems)

    text = without_comments(open("tools/serve/server.h").read())
    fields = []
    for m in re.finditer(r"(?:typedef\s+)?struct\s+(\w*)\s*\{(.*?)\}", text, flags=re.S):
        for decl in m.group(2).split(";"):
            words = re.findall(r"\w+", decl)
            if words and re.search(r"raft|member", words[-1], flags=re.I):
                fields.append("server.h: struct %s has a field %s" % (m.group(1) or "(unnamed)",
                                                                     words[-1]))
    result("the_servers_structs_carry_no_raft_field", fields)

    weak, flags = [], []
    for path in source_files("tools", tests=True) + source_files("stages/10-raft", tests=True):
        code = without_comments(open(path, errors="replace").read())
        if "weak" in code and re.search(r"__attribute__\s*\(\(\s*weak", code):
            weak.append("%s has a weak definition" % path)
        for m in re.finditer(r"strstr\s*\([^;]*flags", code):
            flags.append("%s: %s" % (path, m.group(0)[:60]))
    result("nothing_in_the_tools_is_replaced_at_link_time", weak)
    result("no_rule_reads_a_commands_flags_as_a_string", flags)


def check_commands_are_data():
    """Every rule reads the command table (docs/server.md, "An extension,
    chosen at run time"; STYLE.md, "Commands are data"):
      - the walk over a command's keys by first key, last key and step is
        written once, in tools/serve/ (one loop steps by key_step);
      - no command is found by its name outside the table's file
        (COMMAND_TABLE): no strcmp-like call with a name the table has, no
        serve_cmd_is of word 0 or of an entry's name, no comparison of an
        entry's run function (but with NULL); a rule reads the entry's
        flags instead;
      - no subcommand is matched by its name outside it either: no
        serve_cmd_is of word 1, or strcmp-like call on word 1, with a word
        that a row of the table, or of the extension's (EXTENSION_ROWS),
        has as its subcommand; a rule reads the row (its kind, its
        arity)."""
    files = [f for top in ("tools", "stages/10-raft") for f in source_files(top)]
    walks = []
    for path in files:
        code = code_of(path)
        for m in re.finditer(r"\+=?\s*(\(\s*size_t\s*\)\s*)?[\w\.\->\[\]()]*key_step\b", code):
            walks.append("%s:%d" % (path, code[:m.start()].count("\n") + 1))
    problems = []
    if len(walks) != 1 or not walks[0].startswith(os.path.join("tools", "serve") + "/"):
        problems.append("the walk over a command's keys (a loop stepping by key_step) is "
                        "written %d times, not once under tools/serve/: %s" % (
                            len(walks), ", ".join(walks) or "nowhere"))
    result("the_walk_over_a_commands_keys_is_written_once", problems)

    names, subs = command_names()
    compared, subs_compared = [], []
    if not names:
        compared.append("%s: no command table found" % COMMAND_TABLE)
    if not subs:
        subs_compared.append("%s: no subcommand row found" % COMMAND_TABLE)
    for path in files:
        if os.path.normpath(path) == COMMAND_TABLE or not (
                path.startswith("tools/serve") or path.startswith("tools/ext") or
                path.startswith("stages/10-raft")):
            continue
        code = without_comments_keeping_strings(open(path, errors="replace").read())
        found = []
        for m in re.finditer(r'\b(strn?cmp|strn?casecmp|memcmp)\s*\(([^;]*?)"([a-z]+)"', code):
            if m.group(3) in names:
                found.append(m)
        found += list(re.finditer(r"\bserve_cmd_is\s*\([^,;]+,\s*0\s*,", code))
        found += list(re.finditer(r"\bserve_cmd_is\s*\([^;]*(->|\.)name\b", code))
        found += list(re.finditer(r"(->|\.)run\s*[!=]=(?!\s*NULL\b)", code))
        for m in found:
            compared.append("%s:%d: %s" % (path, code[:m.start()].count("\n") + 1,
                                           " ".join(m.group(0).split())[:70]))
        by_sub = [m for m in re.finditer(r'\bserve_cmd_is\s*\([^,;]+,\s*1\s*,\s*"([a-z]+)"', code)
                  if m.group(1) in subs]
        by_sub += [m for m in re.finditer(
            r'\b(strn?cmp|strn?casecmp|memcmp)\s*\(([^;]*?req_ptr\s*\([^,;]+,\s*1\s*\)'
            r'[^;]*?)"([a-z]+)"', code) if m.group(3) in subs]
        for m in by_sub:
            subs_compared.append("%s:%d: %s" % (path, code[:m.start()].count("\n") + 1,
                                                " ".join(m.group(0).split())[:70]))
    result("no_command_is_found_by_its_name_outside_the_table", compared)
    result("no_subcommand_is_matched_by_its_name_outside_the_table", subs_compared)


def check_libraft_fields_in_one_place():
    """What is read of libraft's struct raft where its API has no call
    (its fields: the term, the vote, the commit index, the configuration,
    the leader's progress) is read in one non-test file, LIBRAFT_FIELDS,
    which the member and the lab (web/lab_raft.c) both use; and the test
    that checks it against the library's API (LIBRAFT_FIELDS_TEST) calls
    every function that file defines."""
    files = [f for top in ("stages", "tools", "web", "bench") for f in source_files(top)
             if f.endswith(".c")]
    readers = []
    for path in files:
        if os.path.normpath(path) == LIBRAFT_FIELDS:
            continue
        code = code_of(path)
        if "raft" not in code:
            continue
        for m in RAFT_FIELD_READ.finditer(code):
            readers.append("%s:%d reads %s" % (path, code[:m.start()].count("\n") + 1,
                                               m.group(0)))
    if not os.path.exists(LIBRAFT_FIELDS):
        readers.append("%s is missing" % LIBRAFT_FIELDS)
    else:
        test = without_comments(open(LIBRAFT_FIELDS_TEST).read())
        for name in sorted(defined_functions(LIBRAFT_FIELDS)):
            if not re.search(r"\b%s\s*\(" % re.escape(name), test):
                readers.append("%s defines %s, which %s never checks against the library's "
                               "API" % (LIBRAFT_FIELDS, name, LIBRAFT_FIELDS_TEST))
    result("libraft_is_read_past_its_api_in_one_file", readers)


def check_reading_plans(stages):
    for s in stages:
        own = own_files(s)
        result("stage_%s_has_an_honest_reading_plan" % s.replace("-", "_"),
               reading_plan(s, own))


def front_door_blocks(text):
    """The paragraphs, list items and table rows of a Markdown text, each
    with the heading it sits under (fenced code left out)."""
    blocks, heading, current, fenced = [], "", [], False

    def close():
        if current:
            blocks.append((heading, " ".join(current)))
            del current[:]

    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            close()
            continue
        if fenced:
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            close()
            heading = stripped
        elif not stripped:
            close()
        elif stripped.startswith("|") or re.match(r"([-*+]|\d+\.) ", stripped):
            close()
            current.append(stripped)
            if stripped.startswith("|"):
                close()
        else:
            current.append(stripped)
    close()
    return blocks


def table_cells(text):
    """(line number, cell) for every cell of the Markdown tables of text,
    the separator rows left out."""
    cells = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line.startswith("|") or re.match(r"^\|[\s:|-]*$", line):
            continue
        # A | inside backticks is the cell's, not a border.
        parts = re.split(r"\|(?=(?:[^`]*`[^`]*`)*[^`]*$)", line.strip("|"))
        cells += [(n, c.strip()) for c in parts]
    return cells


def check_front_door(stages):
    """README.md and ROADMAP.md against the stages: named, none that make
    builds called "being built", the title's count right, README's two
    commands near its top, ROADMAP's cells short."""
    dirs = sorted(d for d in os.listdir("stages")
                  if re.match(r"^\d\d-", d) and os.path.isdir(os.path.join("stages", d)))
    pages = {}
    for page in ("README.md", "ROADMAP.md"):
        path = os.path.join(ROOT, page)
        pages[page] = open(path).read() if os.path.exists(path) else ""

    named = []
    for page, text in sorted(pages.items()):
        shown = re.sub(r"\]\([^)]*\)", "]", text)  # a link's target names nothing
        named += ["%s does not name stages/%s" % (page, d) for d in dirs
                  if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(d), shown)]
    result("readme_and_roadmap_name_every_stage", named)

    unbuilt = []
    for page, text in sorted(pages.items()):
        for heading, block in front_door_blocks(text):
            if not re.search(r"being\s+built", heading + " " + block, flags=re.I):
                continue
            words = block if re.search(r"being\s+built", block, flags=re.I) else heading + " " + block
            for s in stages:
                if re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(s), words):
                    unbuilt.append("%s calls %s \"being built\", but make builds it: %s" % (
                        page, s, block[:120]))
        title = text.splitlines()[0] if text else ""
        for m in re.finditer(r"\b(%s)\s+(stages|engines)\b" % "|".join(NUMBER_WORDS), title,
                             flags=re.I):
            if NUMBER_WORDS.index(m.group(1).lower()) != len(stages):
                unbuilt.append("%s's title says \"%s\"; make builds %d" % (
                    page, m.group(0), len(stages)))
    result("no_built_stage_is_called_being_built", unbuilt)

    top = "\n".join(pages["README.md"].splitlines()[:README_COMMANDS_BY])
    result("readme_gives_the_two_commands_first",
           ["README.md does not show `%s` within its first %d lines" % (c, README_COMMANDS_BY)
            for c in ("make demo", "make test") if not re.search(r"\b%s\b" % c, top)])

    long_cells = ["ROADMAP.md:%d: a cell of %d words (at most %d): %s..." % (
        n, len(c.split()), ROADMAP_CELL_WORDS, c[:60])
        for n, c in table_cells(pages["ROADMAP.md"]) if len(c.split()) > ROADMAP_CELL_WORDS]
    result("roadmap_cells_are_short", long_cells)


if __name__ == "__main__":
    stages = main()
    check_server_seam()
    check_commands_are_data()
    check_libraft_fields_in_one_place()
    check_front_door(stages)
    check_reading_plans(stages)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
