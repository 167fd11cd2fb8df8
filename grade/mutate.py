#!/usr/bin/env python3
"""mutate.py: the mutants of an exercise's reference, for grade/mutants.sh.

    python3 grade/mutate.py FILE FUNCTION... > mutants.tsv

Reads the reference FILE, finds each FUNCTION's body (the lines from a "{"
to the next "}", both in column 0, after the line in column 0 that names
it: the layout of every function here, as grade/exercises.awk finds it),
and prints one line per mutant, tab-separated:

    function  line  operator  before  after

`line` is the file's line (from 1) the mutant changes; `before` is that
line as it is, `after` as the mutant has it (white space at the end
trimmed; a line holding a tab is never mutated).  One mutant changes one thing, of
these kinds (the usual operators of mutation testing, as PIT and
mull name them):

    cmp        a comparison to its neighbour: < <=, > >=, == !=, and back
    arith      + and - swapped (binary), += and -=, ++ and --, / and *,
               << and >>, & and |
    logic      && and || swapped
    const      an integer constant plus or minus one
    negate     an if's or a while's condition negated
    force      an if's condition forced true, or false
    drop       a statement dropped (an assignment, a call, a return,
               a break, a continue)
    field      a field (p->f or s.f) swapped for another the function
               reaches through the same name
    arg        two neighbouring arguments of a call swapped

What does not compile is left to the compiler (grade/mutants.sh counts it
as stillborn, never as caught).  Strings, character constants, comments
and preprocessor lines are never changed.  The output is sorted and the
same for the same file, so a seed picks the same sample every time.
"""
import re
import sys


def mask(line, in_comment):
    """The line with strings, characters and comments blanked, and whether
    a /* comment runs on past its end."""
    out, i, n = [], 0, len(line)
    while i < n:
        if in_comment:
            j = line.find('*/', i)
            if j < 0:
                out.append(' ' * (n - i))
                return ''.join(out), True
            out.append(' ' * (j + 2 - i))
            i, in_comment = j + 2, False
            continue
        c = line[i]
        if line.startswith('//', i):
            out.append(' ' * (n - i))
            break
        if line.startswith('/*', i):
            in_comment = True
            continue
        if c in '"\'':
            j = i + 1
            while j < n and line[j] != c:
                j += 2 if line[j] == '\\' else 1
            out.append(c + ' ' * (min(j, n) - i - 1) + (c if j < n else ''))
            i = j + 1
            continue
        out.append(c)
        i += 1
    return ''.join(out), in_comment


def bodies(lines, functions):
    """For each function, the indices of its body's lines (without the
    braces)."""
    found = {}
    for f in functions:
        head = re.compile(r'^[A-Za-z_].*\b' + re.escape(f) + r'\(')
        for i, l in enumerate(lines):
            if head.match(l) and not l.rstrip().endswith(';'):
                j = i
                while j < len(lines) and lines[j].rstrip('\n') != '{':
                    j += 1
                k = j + 1
                while k < len(lines) and lines[k].rstrip('\n') != '}':
                    k += 1
                if k < len(lines):
                    found[f] = range(j + 1, k)
                break
    return found


CMP = {'<': ['<='], '<=': ['<'], '>': ['>='], '>=': ['>'], '==': ['!='], '!=': ['==']}
ARITH = {'+=': ['-='], '-=': ['+='], '++': ['--'], '--': ['++'], '<<': ['>>'], '>>': ['<<'],
         '/': ['*'], '&': ['|'], '|': ['&']}
TOKEN = re.compile(r'->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||\+=|-=|\*=|/=|'
                   r'[-+*/%<>=!&|^~?:;,.(){}\[\]]|[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F]+[uUlL]*|'
                   r'[0-9]+[uUlL]*|\S')
# A binary + or - follows an operand: a name, a number, ) or ].
OPERAND_END = re.compile(r'[A-Za-z0-9_\)\]]$')
KEYWORDS = {'return', 'sizeof', 'case', 'if', 'while', 'for', 'switch', 'else', 'do', 'goto'}


def tokens(masked):
    return [(m.start(), m.group()) for m in TOKEN.finditer(masked)]


def close_paren(masked, open_at):
    depth = 0
    for i in range(open_at, len(masked)):
        if masked[i] == '(':
            depth += 1
        elif masked[i] == ')':
            depth -= 1
            if depth == 0:
                return i
    return -1


def line_mutants(raw, masked, fields):
    """(operator, new line) for every mutant of one line."""
    out = []
    toks = tokens(masked)

    def at(op, pos, old, new):
        out.append((op, raw[:pos] + new + raw[pos + len(old):]))

    for k, (pos, t) in enumerate(toks):
        prev = toks[k - 1][1] if k > 0 else ''
        if t in CMP and not (t in '<>' and (prev == '#' or prev == 'include')):
            for alt in CMP[t]:
                at('cmp', pos, t, alt)
        elif t in ('+', '-') and k > 0 and (OPERAND_END.search(prev) and prev not in KEYWORDS):
            at('arith', pos, t, '-' if t == '+' else '+')
        elif t in ARITH and (t not in ('&', '|', '/') or
                             (k > 0 and OPERAND_END.search(prev) and prev not in KEYWORDS)):
            for alt in ARITH[t]:
                at('arith', pos, t, alt)
        elif t in ('&&', '||'):
            at('logic', pos, t, '||' if t == '&&' else '&&')
        elif re.fullmatch(r'[0-9]+[uUlL]*', t):
            digits = re.match(r'[0-9]+', t).group()
            suffix = t[len(digits):]
            if len(digits) > 1 and digits.startswith('0'):
                continue  # octal: left alone
            v = int(digits)
            for nv in (v + 1, v - 1):
                if nv >= 0:
                    at('const', pos, t, str(nv) + suffix)
        elif t in ('->', '.') and k + 1 < len(toks) and re.fullmatch(r'[A-Za-z_]\w*', toks[k + 1][1]):
            # Another field the function reaches through the same name (the
            # same struct, so as a rule a field of the same kind).
            name_pos, name = toks[k + 1]
            for other in sorted(fields.get((prev, t), ())):
                if other != name:
                    at('field', name_pos, name, other)
    # Conditions: negated, forced.
    for m in re.finditer(r'\b(if|while)\s*\(', masked):
        o = m.end() - 1
        c = close_paren(masked, o)
        if c < 0:
            continue
        cond = raw[o + 1:c]
        out.append(('negate', raw[:o + 1] + '!(' + cond + ')' + raw[c:]))
        if m.group(1) == 'if':
            for forced in ('1', '0'):
                out.append(('force', raw[:o + 1] + forced + raw[c:]))
    # Calls: neighbouring arguments swapped (all on this line).
    for m in re.finditer(r'\b([A-Za-z_]\w*)\s*\(', masked):
        if m.group(1) in KEYWORDS:
            continue
        o = m.end() - 1
        c = close_paren(masked, o)
        if c < 0:
            continue
        args, depth, start = [], 0, o + 1
        for i in range(o + 1, c):
            ch = masked[i]
            if ch in '([{':
                depth += 1
            elif ch in ')]}':
                depth -= 1
            elif ch == ',' and depth == 0:
                args.append((start, i))
                start = i + 1
        args.append((start, c))
        for a in range(len(args) - 1):
            (s1, e1), (s2, e2) = args[a], args[a + 1]
            x, y = raw[s1:e1], raw[s2:e2]
            if x.strip() == y.strip() or not x.strip() or not y.strip():
                continue
            lead_x = x[:len(x) - len(x.lstrip())]
            lead_y = y[:len(y) - len(y.lstrip())]
            out.append(('arg', raw[:s1] + lead_x + y.strip() + raw[e1:s2] + lead_y + x.strip() +
                        raw[e2:]))
    # A statement dropped: a whole line that is one statement.
    stripped = masked.strip()
    if stripped.endswith(';') and stripped.count(';') == 1 and not stripped.startswith(('}', 'for')):
        first = stripped.split()[0] if stripped.split() else ''
        if first in ('return', 'break;', 'continue;', 'break', 'continue') or \
                re.match(r'^[A-Za-z_][\w\->\.\[\]]*\s*(=|\+=|-=|\|=|&=|\+\+|--|\()', stripped) or \
                re.match(r'^\*?[A-Za-z_][\w\->\.\[\]]*\s*(=|\+=|-=)', stripped) or \
                re.match(r'^(\+\+|--)', stripped):
            indent = raw[:len(raw) - len(raw.lstrip())]
            out.append(('drop', indent + ';'))
    return out


def main(argv):
    if len(argv) < 3:
        sys.stderr.write('usage: python3 grade/mutate.py FILE FUNCTION...\n')
        return 2
    path, functions = argv[1], argv[2:]
    with open(path) as f:
        lines = f.read().split('\n')
    found = bodies(lines, functions)
    missing = [f for f in functions if f not in found]
    if missing:
        sys.stderr.write('mutate.py: %s: no function %s\n' % (path, ' '.join(missing)))
        return 1
    seen = set()
    for f in functions:
        body = found[f]
        masked_lines, in_comment = {}, False
        for i in body:
            masked_lines[i], in_comment = mask(lines[i], in_comment)
        fields = {}  # (base name, -> or .): the fields used through it
        for i in body:
            for m in re.finditer(r'\b([A-Za-z_]\w*)\s*(->|\.)\s*([A-Za-z_]\w*)', masked_lines[i]):
                fields.setdefault((m.group(1), m.group(2)), set()).add(m.group(3))
        for i in body:
            raw, masked = lines[i], masked_lines[i]
            if raw.lstrip().startswith('#') or not masked.strip() or '\t' in raw:
                continue  # (the project indents with spaces: a tab is left alone)
            for op, new in line_mutants(raw, masked, fields):
                if new == raw:
                    continue
                key = (f, i, new)
                if key in seen:
                    continue
                seen.add(key)
                print('\t'.join((f, str(i + 1), op, raw.rstrip(), new.rstrip())))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
