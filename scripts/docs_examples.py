#!/usr/bin/env python3
"""docs_examples.py: runs the worked examples of docs/ and checks (or
rewrites) the output the pages show, so that an example a page quotes is
what the tool prints today.

    python3 scripts/docs_examples.py [--check] [PAGE...]   (default: docs/*.md)
    python3 scripts/docs_examples.py --tools [PAGE...]

An example is marked on its page like this:

    <!-- example /tmp/kvex-05-blocks -->
    ```sh
    build/05-blocks/kv --block-bytes 80 /tmp/kvex-05-blocks put a 1
    build/05-blocks/kv /tmp/kvex-05-blocks dump
    ```
    ```text
    (what the commands print)
    ```
    <!-- end example -->

The comment names the example's scratch directory, which must start with
/tmp/kvex-: it is removed before the commands run and after.  The sh
block runs with `sh -e` from the top of the repository (so build/S/kv is
the tool `make` built), standard input empty, stderr joined to stdout.
Its output must equal the text block, byte for byte.  Without --check the
text blocks are rewritten with the output; with it nothing changes, every
difference is shown, and the exit status is 1 if there was one.  The
binaries are the ones in build/ (`make docs-examples` builds them first).
--tools prints the binaries the examples run (build/S/kv, ...), one a
line, and runs nothing: the Makefile builds them before the examples run,
a stage still being built (not in `make`'s `all`) included.
"""
import difflib
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = re.compile(r'^<!-- example (/tmp/kvex-[A-Za-z0-9._-]+) -->\n$')
END = '<!-- end example -->\n'


def parse(lines, page):
    """Yields (start, end, dir, script, out_start, out_end) for each example:
    lines[out_start:out_end] is the text block's body."""
    i = 0
    while i < len(lines):
        m = START.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        if j >= len(lines) or lines[j] != '```sh\n':
            raise SystemExit(f'{page}:{j + 1}: an example opens with a ```sh block')
        k = j + 1
        while k < len(lines) and lines[k] != '```\n':
            k += 1
        script = ''.join(lines[j + 1:k])
        t = k + 1
        if t >= len(lines) or lines[t] != '```text\n':
            raise SystemExit(f'{page}:{t + 1}: the sh block is followed by a ```text block')
        u = t + 1
        while u < len(lines) and lines[u] != '```\n':
            u += 1
        e = u + 1
        if e >= len(lines) or lines[e] != END:
            raise SystemExit(f'{page}:{e + 1}: "{END.strip()}" ends an example')
        yield start, e, m.group(1), script, t + 1, u
        i = e + 1


def run(directory, script):
    shutil.rmtree(directory, ignore_errors=True)
    try:
        p = subprocess.run(['sh', '-e', '-c', script], cwd=ROOT, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = p.stdout.decode('utf-8', 'replace')
        if p.returncode != 0:
            out += f'(exit status {p.returncode})\n'
        return out
    finally:
        shutil.rmtree(directory, ignore_errors=True)


TOOL = re.compile(r'\bbuild/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+')


def main(argv):
    check = False
    if argv and argv[0] == '--tools':
        pages = argv[1:] or sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
        tools = set()
        for page in pages:
            with open(page) as f:
                for _s, _e, _d, script, _a, _b in parse(f.readlines(), page):
                    tools.update(TOOL.findall(script))
        print('\n'.join(sorted(tools)))
        return 0
    if argv and argv[0] == '--check':
        check = True
        argv = argv[1:]
    pages = argv or sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
    differ = 0
    examples = 0
    for page in pages:
        with open(page) as f:
            lines = f.readlines()
        found = list(parse(lines, page))
        if not found:
            continue
        changed = False
        for start, _end, directory, script, a, b in reversed(found):
            examples += 1
            want = ''.join(lines[a:b])
            got = run(directory, script)
            if got == want:
                continue
            if check:
                differ += 1
                print(f'{os.path.relpath(page, ROOT)}:{start + 1}: the example prints '
                      f'something else now:')
                sys.stdout.writelines(difflib.unified_diff(
                    want.splitlines(True), got.splitlines(True), 'page', 'tool'))
            else:
                lines[a:b] = got.splitlines(True)
                changed = True
        if changed:
            with open(page, 'w') as f:
                f.writelines(lines)
            print(f'{os.path.relpath(page, ROOT)}: examples rewritten')
    if check:
        print(f'{examples - differ} passed, {differ} failed')
    return 1 if differ else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
