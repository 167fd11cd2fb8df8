#!/usr/bin/env python3
"""rules_check.py: an exercise's rules against its tests and its page
(docs/learn-reference.md, "The lists"; grade/check.sh runs it for every stage).

    python3 grade/rules_check.py STAGE

For each rule of grade/STAGE.exercises (`rule N` of an exercise):
  - its section (`rule N reread: SECTION | WORDS`) is a heading of
    docs/STAGE.md or of one of its reference pages (docs/STAGE-*.md), and
    the section's text holds WORDS (line breaks and runs of spaces read as
    one space, Markdown's * and ` left out): the page the grade sends a
    learner to says the rule;
  - a test names it (grade/tests/exercise.h), so that some check fails
    naming it when the rule is broken: the exercise's test files
    (grade/tests/STAGE/NAME_test.c, and a helper that defines
    EX_EXERCISE_FILE "NAME_test.c") hold EX_RULE(N, ...) or
    EX_RULE_BEGIN(N, ...), or N in the list of an EX_RULES("1, 2 and
    3", ...) ("1 to 4" is 1, 2, 3 and 4); or a test of the stage holds
    EX_RULE_OF(NAME, N, ...).
And every rule a test names so is one its exercise has.
Prints one line per problem; exits 0 only if there is none.

One process for the whole stage: the shell version it replaces ran some
eight processes a rule, a minute of `make test` for ten stages.  The
rules themselves come from grade/exercises.awk (mode=rules), the one
reader of the lists.
"""
import glob
import os
import re
import subprocess
import sys

RULE = re.compile(r'EX_RULE(_BEGIN)?\(([0-9]+),')
RULE_OF = re.compile(r'EX_RULE_OF\(([a-z0-9_]+), *([0-9]+),')
RULES = re.compile(r'EX_RULES\("([^"]*)"')
OWN = re.compile(r'^#define EX_EXERCISE_FILE "(.*)_test\.c"$', re.M)
HEADING = re.compile(r'^#+ ')


def number(word):
    """A word read as awk reads it in arithmetic: its leading digits, else 0."""
    m = re.match(r'[0-9]+', word)
    return int(m.group()) if m else 0


def named_rules(test_files):
    """(file, exercise, n) for every rule the tests name."""
    out = []
    for t in test_files:
        with open(t, encoding='utf-8', errors='replace') as f:
            text = f.read()
        m = OWN.search(text)
        base = os.path.basename(t)
        if m:
            own = m.group(1)
        elif base.endswith('_test.c') and base != '_test.c':
            own = base[:-len('_test.c')]
        else:
            own = base
        for line in text.split('\n'):
            for m in RULE.finditer(line):
                out.append((t, own, int(m.group(2))))
            for m in RULE_OF.finditer(line):
                out.append((t, m.group(1), int(m.group(2))))
            for m in RULES.finditer(line):
                w = re.split(r' +', re.sub(r',| and ', ' ', m.group(1)))
                for i, word in enumerate(w):
                    if word == 'to' and 0 < i < len(w) - 1:
                        lo, hi = number(w[i - 1]), number(w[i + 1])
                        out.extend((t, own, j) for j in range(lo + 1, hi))
                    elif re.fullmatch(r'[0-9]+', word):
                        out.append((t, own, int(word)))
    return out


def lines_of(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    return lines


def section_page(page, sec):
    """The page that holds SEC as a heading: the lesson or one of its
    reference pages; the lesson if none does (grade/section_page.sh)."""
    for sp in [page] + sorted(glob.glob(page[:-len('.md')] + '-*.md')):
        if os.path.isfile(sp) and any(HEADING.match(l) and HEADING.sub('', l, 1) == sec
                                      for l in lines_of(sp)):
            return sp
    return page


def section_text(sec, path):
    """The text under SEC's heading, up to the next heading of the same or
    a higher level (a line starting "#" in a fenced block is none), on one
    line, without * and `, runs of spaces and tabs as one space."""
    parts, on, level, fence = [], False, 0, False
    for line in lines_of(path):
        if line.startswith('```'):
            fence = not fence
        if HEADING.match(line) and not fence:
            h = line.split(' ', 1)[0]
            if on and len(h) <= level:
                break
            if HEADING.sub('', line, 1) == sec:
                on, level = True, len(h)
                continue
        if on:
            parts.append(line + ' ')
    text = ''.join(parts).replace('*', '').replace('`', '')
    return re.sub(r'[ \t]+', ' ', text)


def main(argv):
    if len(argv) != 2:
        print('usage: python3 grade/rules_check.py STAGE', file=sys.stderr)
        return 2
    stage = argv[1]
    here = os.path.dirname(argv[0]) or '.'
    lst = os.path.join(here, stage + '.exercises')
    page = 'docs/%s.md' % stage
    got = subprocess.run(['awk', '-f', os.path.join(here, 'exercises.awk'), '-v', 'list=' + lst,
                          '-v', 'mode=rules'], stdout=subprocess.PIPE)
    if got.returncode != 0:
        return 1
    rules = []
    for line in got.stdout.decode('utf-8', 'replace').split('\n'):
        if line:
            f = line.split('\t', 4)
            rules.append((f + [''] * 5)[:5])
    named = named_rules(sorted(glob.glob(os.path.join(here, 'tests', stage, '*.c'))))
    problems = []

    def problem(what):
        problems.append('%s: %s' % (stage, what))

    for exname, n, sec, words, _text in rules:
        if not os.path.isfile(page):
            problem('rule %s of %s: there is no page %s' % (n, exname, page))
            continue
        pg = section_page(page, sec)
        if not any(re.fullmatch(r'#* ' + re.escape(sec), l) for l in lines_of(pg)):
            problem('rule %s of %s: its section "%s" is not a heading of %s nor of its '
                    'reference pages' % (n, exname, sec, page))
        elif words.replace('*', '').replace('`', '') not in section_text(sec, pg):
            problem('rule %s of %s: section "%s" of %s does not say "%s"' % (n, exname, sec, pg, words))
        if not any(e == exname and k == int(n) for _t, e, k in named):
            problem('rule %s of %s has no test: no EX_RULE(%s, ...), EX_RULE_BEGIN(%s, ...) or '
                    'EX_RULES list holding %s in %s/tests/%s/%s_test.c (or a file that says it '
                    'holds its tests: EX_EXERCISE_FILE), nor EX_RULE_OF(%s, %s, ...) in a test '
                    'of the stage' % (n, exname, n, n, n, here, stage, exname, exname, n))
    have = {(e, int(k)) for e, k, _s, _w, _t in rules}
    for t, exname, n in sorted(set(named), key=lambda r: '%s\t%s\t%d' % r):
        if (exname, n) not in have:
            problem("%s names rule %d of %s, which grade/%s.exercises does not have"
                    % (t, n, exname, stage))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
