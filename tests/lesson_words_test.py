#!/usr/bin/env python3
"""lesson_words_test.py: each stage page (docs/NN-name.md) and the exercise
track (docs/learn.md) is a lesson that reads in a sitting, and links the
pages that hold the rest.

    python3 tests/lesson_words_test.py [PAGE...]   (default: every such page)

A lesson's words are those of its prose and its tables: every
whitespace-separated word outside fenced code blocks (``` or ~~~) and
HTML comments (<!-- ... -->), folded answers (<details>) included.  Code
is left out because a reader runs or skims it rather than reads it, and
a worked example's output is as long as the tool makes it.  A page of
more than LESSON_WORDS_MAX words fails, named, with its count.

A stage's reference pages are docs/NN-name-*.md beside docs/NN-name.md
(docs/learn-*.md beside docs/learn.md): what the lesson leaves for a
second reading (operating it, its tools, its measurements, the history
of a change).  The lesson must link each of them, and each must link
its lesson back (../shared/STYLE.md, "A lesson reads apart from its
optimisations").

Prints a line per page and "N passed, M failed" (tests/run.sh reads it);
exit status 1 if a page failed.
"""
import glob
import os
import re
import sys

LESSON_WORDS_MAX = 5000
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FENCE = re.compile(r"^\s*(```|~~~)")


def lesson_words(text):
    """Words of prose and tables: outside fenced code and HTML comments."""
    words, fence, comment = 0, None, False
    for line in text.split("\n"):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is not None:
            continue
        line = re.sub(r"<!--.*?-->", " ", line)
        if comment:
            if "-->" not in line:
                continue
            line = line.split("-->", 1)[1]
            comment = False
        if "<!--" in line:
            line, comment = line.split("<!--", 1)[0], True
        words += len(line.split())
    return words


def lessons():
    pages = sorted(glob.glob(os.path.join(ROOT, "docs", "[0-9][0-9]-*.md")))
    stems = [p[:-3] for p in pages]
    # A page whose name extends another stage page's is a reference page.
    out = [p for p, s in zip(pages, stems)
           if not any(s != o and s.startswith(o + "-") for o in stems)]
    return out + [os.path.join(ROOT, "docs", "learn.md")]


def links(text, name):
    return re.search(r"\]\(%s(#[^)]*)?\)" % re.escape(name), text) is not None


def check(page):
    problems = []
    text = open(page).read()
    n = lesson_words(text)
    base = os.path.basename(page)
    if n > LESSON_WORDS_MAX:
        problems.append("docs/%s: %d words of prose and tables (at most %d): move what a "
                        "first reading skips to its reference page" % (base, n, LESSON_WORDS_MAX))
    for ref in sorted(glob.glob(page[:-3] + "-*.md")):
        rb = os.path.basename(ref)
        if not links(text, rb):
            problems.append("docs/%s does not link its reference page %s" % (base, rb))
        if not links(open(ref).read(), base):
            problems.append("docs/%s does not link its lesson %s" % (rb, base))
    return n, problems


def main(argv):
    pages = [os.path.abspath(p) for p in argv] or lessons()
    passed = failed = 0
    for page in pages:
        n, problems = check(page)
        refs = [os.path.basename(r) for r in sorted(glob.glob(page[:-3] + "-*.md"))]
        if problems:
            failed += 1
            print("FAIL docs/%s: %d words" % (os.path.basename(page), n))
            for p in problems:
                print("    " + p)
        else:
            passed += 1
            print("ok   docs/%s: %d words%s" % (os.path.basename(page), n,
                  "; links " + ", ".join(refs) if refs else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
