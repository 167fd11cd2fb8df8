#!/usr/bin/env python3
"""reword.py STAGE DIR: a workspace DIR holding stage STAGE's exercise files
(grade/STAGE.exercises) as the reference has them, but for the words of
every message its exercise functions build: each string literal of a
statement that calls kv_error or kv_error_append, or sets a why or a text,
has each word of three letters or more replaced by another (its letters
reversed, after "zq"), its formats (%zu), escapes, numbers and names of
files left as they are, and the words a tool reads (offset, torn, CORRUPT:
kv.h's grammar of kv_check's lines) too.

grade/check.sh grades such a workspace: a right solution whose reasons are
worded otherwise must pass, since the grade checks that a reason is there
and what it names, never its words (docs/learn-reference.md, "Why the grade can be
trusted").  A function is found as grade/exercises.awk finds it: a line in
column 0 naming it with "(" after it, and its body from a line "{" to the
next line "}".
"""
import os
import re
import subprocess
import sys

TOOL_WORDS = {'offset', 'torn', 'corrupt'}
FORMAT = r'(%[-#0 +]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t|L)?[a-zA-Z%]|\\.|PRIu64)'


def reword_word(m):
    word = m.group(0)
    return word if word.lower() in TOOL_WORDS else 'zq' + word[::-1].lower()


def reword_literal(lit):
    parts = re.split(FORMAT, lit[1:-1])
    for i in range(0, len(parts), 2):  # the text between formats and escapes
        parts[i] = re.sub(r'(?<![\w.%/])[A-Za-z_]{3,}(?![\w./])', reword_word, parts[i])
    return '"' + ''.join(parts) + '"'


def reword_file(text, functions):
    lines = text.split('\n')
    out, i, body, message = [], 0, False, False
    starts = [re.compile(r'^[^ \t#/*].*\b%s\(' % re.escape(f)) for f in functions]
    while i < len(lines):
        line = lines[i]
        if not body:
            if any(p.match(line) for p in starts):
                j = i
                while j < len(lines) and lines[j] != '{' and not lines[j].rstrip().endswith(';'):
                    j += 1
                if j < len(lines) and lines[j] == '{':
                    out.extend(lines[i:j + 1])
                    i, body, message = j + 1, True, False
                    continue
            out.append(line)
            i += 1
            continue
        if line == '}':
            body = False
        elif re.search(r'kv_error(_append)?\(|\bwhy\b|->text\b|\btext\b', line):
            message = True
        if body and message and '"' in line:
            line = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: reword_literal(m.group(0)), line)
        if line.rstrip().endswith((';', '{', '}')):
            message = False
        out.append(line)
        i += 1
    return '\n'.join(out)


def main():
    stage, dest = sys.argv[1], sys.argv[2]
    table = subprocess.run(['awk', '-f', 'grade/exercises.awk', '-v',
                            'list=grade/%s.exercises' % stage, '-v', 'mode=table'],
                           capture_output=True, text=True, check=True).stdout
    files = {}
    for row in table.splitlines():
        _, _, path, functions, _ = row.split('\t')
        files.setdefault(path, []).extend(functions.split())
    for path, functions in files.items():
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(path) as f:
            text = reword_file(f.read(), functions)
        with open(target, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
