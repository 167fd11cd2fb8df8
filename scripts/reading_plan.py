#!/usr/bin/env python3
"""reading_plan.py: each stage page's reading plan, checked (or its line
counts brought up to date) against the files it names.

    python3 scripts/reading_plan.py [--fix] STAGE...

A stage's page (docs/STAGE.md) says which files to read first, which on a
second reading, and which to skip, with how many lines each reading is
(reading_plan below has the format); tests/structure_test.py checks every
built stage's with this module.  --fix rewrites the line counts (after a
change to a file a plan names); the other rules it leaves to you.  Prints
each problem; exit status 1 if there is one.
"""
import os
import re
import sys

# The most lines a stage's first reading may ask for (its page says which
# files; the rest it names for a second reading, or to skip).
FIRST_READING_MAX = 3000


def count_lines(path):
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def reading_plan(stage, own, fix=False):
    """Problems with the reading plan of docs/<stage>.md: a table between
    <!-- reading plan --> and <!-- end reading plan -->, a row per reading:

      | reading | files | lines |
      |---|---|---|
      | first | `stages/04-lsm/keys/internal_key.h`, `stages/04-lsm/memtable/skiplist.h`, ... | 2,934 |

    A file named without a directory is in the directory of the file named
    before it in the row.  The lines are the sum of the files' lines; the
    row "first" must be at most FIRST_READING_MAX; every file of `own` (the
    stage's own .c and .h files) must be in some row.  With fix, the lines
    column is rewritten with what the files hold (the page is saved)."""
    page = os.path.join("docs", stage + ".md")
    if not os.path.exists(page):
        return ["%s does not exist" % page]
    text = open(page).read()
    m = re.search(r"<!-- reading plan -->\n(.*?)<!-- end reading plan -->", text, re.S)
    if not m:
        return ["%s has no reading plan (<!-- reading plan --> ... <!-- end reading plan -->)"
                % page]
    problems, named = [], set()
    first = None
    for row in m.group(1).splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("reading", "") or set(cells[0]) <= set("-:"):
            continue
        files, where = [], ""
        for name in re.findall(r"`([^`]+)`", cells[1]):
            path = name if "/" in name else os.path.join(where, name)
            where = os.path.dirname(path)
            files.append(path)
        total = 0
        for f in files:
            if not os.path.isfile(f):
                problems.append("%s: the %s reading names %s, which does not exist"
                                % (page, cells[0], f))
                continue
            named.add(os.path.normpath(f))
            total += count_lines(f)
        said = int(cells[2].replace(",", "")) if cells[2].replace(",", "").isdigit() else -1
        if said != total and fix:
            fixed = row.replace("| %s |" % cells[2], "| {:,} |".format(total))
            text = text.replace(row, fixed)
        elif said != total:
            problems.append("%s: the %s reading says %s lines; its files hold %d"
                            % (page, cells[0], cells[2], total))
        if cells[0].startswith("first"):
            first = total
    if first is None:
        problems.append("%s: the reading plan has no \"first\" row" % page)
    elif first > FIRST_READING_MAX:
        problems.append("%s: a first reading of %d lines (at most %d)"
                        % (page, first, FIRST_READING_MAX))
    for f in own:
        if os.path.normpath(f) not in named:
            problems.append("%s: the reading plan does not name %s" % (page, f))
    if fix:
        with open(page, "w") as out:
            out.write(text)
    return problems



def own_files(stage):
    """The sources of the stage's own parts: every .c and .h under
    stages/STAGE/ but its tests."""
    d = os.path.join("stages", stage)
    found = []
    for root, dirs, names in os.walk(d):
        dirs[:] = sorted(x for x in dirs if x != "tests")
        found += [os.path.join(root, n) for n in names if n.endswith((".c", ".h"))]
    return sorted(found)


if __name__ == "__main__":
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = sys.argv[1:]
    fix = bool(args) and args[0] == "--fix"
    problems = []
    for stage in args[1:] if fix else args:
        problems += reading_plan(stage, own_files(stage), fix)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
