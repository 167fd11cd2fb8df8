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
trimmed; a line holding a tab is never mutated).  A mutant of several
lines (swap, message) has `line` "N-M", the first and the last line it
changes; its `before` is lines N to M and its `after` the lines that take
their place (as many, or fewer), each joined to the next by the two
characters \n (a line that holds them is never part of such a mutant).
One mutant changes one thing, of these kinds (the usual operators of
mutation testing, as PIT and mull name them, and two of the mistakes
learners make):

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
    swap       two neighbouring statements exchanged: two lines of the
               same indentation, each a whole simple statement (an
               assignment, a call, a declaration: no if, loop, return,
               break, continue or goto), neither declaring a name the
               other uses (two steps done in the wrong order)
    message    a call to kv_error() replaced by its first argument, the
               code (the whole statement dropped where the call is one):
               an error returned without the message of its own, so that
               kv_errmsg() still says an earlier call's

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


# ---- mutants of several lines: swap, message ----------------------------------------

NOT_SIMPLE = {'if', 'else', 'while', 'for', 'do', 'switch', 'case', 'default', 'return', 'break',
              'continue', 'goto'}
# A declaration: type words, a type name, stars, the name declared.
DECLARES = re.compile(r'^(?:(?:const|static|volatile|unsigned|signed|register|struct|enum|union)\s+)*'
                      r'[A-Za-z_]\w*(?:\s+|\s*\*[\s*]*)(?:const\s+)?([A-Za-z_]\w*)\s*(?:=|;|\[|,)')
LABEL = re.compile(r'^(?:case\b.*|default|[A-Za-z_]\w*)\s*:$')


def ends_statement(masked):
    """Whether a line (masked) ends a statement, a block's opening or closing, or a
    label: what may come before a line that starts a statement."""
    s = masked.strip()
    return s == '' or s.endswith((';', '{', '}')) or bool(LABEL.match(s))


def simple_statement(masked):
    """The names a masked line declares and uses, if it is one whole simple
    statement, else None."""
    s = masked.strip()
    if not s.endswith(';') or s.count(';') != 1 or s.count('(') != s.count(')') or \
            not re.match(r'[A-Za-z_*(]|\+\+|--', s):
        return None
    first = re.match(r'[A-Za-z_]\w*', s)
    if first and first.group() in NOT_SIMPLE:
        return None
    d = DECLARES.match(s)
    names = set(re.findall(r'[A-Za-z_]\w*', s))
    return ({d.group(1)} if d else set()), names


def swap_mutants(lines, masked_lines, body):
    """(first index, last index, new lines) for two neighbouring simple
    statements exchanged."""
    out = []
    idx = list(body)
    for a, b in zip(idx, idx[1:]):
        ra, rb = lines[a], lines[b]
        if '\t' in ra + rb or '\\n' in ra + rb or ra.lstrip().startswith('#') or \
                rb.lstrip().startswith('#'):
            continue
        indent_a, indent_b = ra[:len(ra) - len(ra.lstrip())], rb[:len(rb) - len(rb.lstrip())]
        if indent_a != indent_b or ra.strip() == rb.strip():
            continue
        if a - 1 in masked_lines and not ends_statement(masked_lines[a - 1]):
            continue  # the first line continues a statement begun above
        sa, sb = simple_statement(masked_lines[a]), simple_statement(masked_lines[b])
        if sa is None or sb is None:
            continue
        if sa[0] & sb[1] or sb[0] & sa[1]:
            continue  # one declares a name the other uses
        out.append((a, b, [rb.rstrip(), ra.rstrip()]))
    return out


def message_mutants(lines, masked_lines, body):
    """(first index, last index, new lines) for each kv_error() call of the body
    replaced by its code, or dropped with its statement where it is one."""
    out = []
    idx = list(body)
    for i in idx:
        for m in re.finditer(r'\bkv_error\s*\(', masked_lines[i]):
            start = i  # the statement's first line
            while start - 1 in masked_lines and not ends_statement(masked_lines[start - 1]) and \
                    not re.search(r'(\)|\belse)$', masked_lines[start - 1].rstrip()):
                start -= 1  # (a line ending in ")" or "else" heads the statement)
            end = idx[-1]
            seg = range(start, end + 1)
            jm = '\n'.join(masked_lines[k] for k in seg)
            jr = '\n'.join(lines[k] for k in seg)
            at = sum(len(masked_lines[k]) + 1 for k in range(start, i)) + m.start()
            o = at + (m.end() - m.start()) - 1
            c = close_paren(jm, o)
            semi = jm.find(';', c) if c >= 0 else -1
            if semi < 0:
                continue
            last = start + jm.count('\n', 0, semi)
            if masked_lines[last].rstrip()[-1:] != ';' or \
                    len(masked_lines[last].rstrip()) - 1 != semi - (jm.rfind('\n', 0, semi) + 1):
                continue  # the statement does not end its line
            raw = [lines[k] for k in range(start, last + 1)]
            if any('\t' in r or '\\n' in r for r in raw):
                continue
            depth, comma = 0, c
            for k in range(o + 1, c):
                if jm[k] in '([{':
                    depth += 1
                elif jm[k] in ')]}':
                    depth -= 1
                elif jm[k] == ',' and depth == 0:
                    comma = k
                    break
            code = jr[o + 1:comma].strip()
            indent = raw[0][:len(raw[0]) - len(raw[0].lstrip())]
            if start == i and masked_lines[i][:m.start()].strip() == '' and \
                    jm[c + 1:semi].strip() == '':
                # The call is the statement: dropped (an if's or an else's
                # body kept, but empty, as the compiler takes it).
                heads = start - 1 in masked_lines and \
                    re.search(r'(\)|\belse)$', masked_lines[start - 1].rstrip())
                new = [indent + ('(void)0;' if heads else ';')]
            else:
                new = [l.rstrip() for l in (jr[:at] + code + jr[c + 1:semi + 1]).split('\n')]
                new = [l for l in new if l.strip()]
            out.append((start, last, new))
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
        # Mutants of several lines, by their first line (a message mutant
        # of one line is one of its line's).
        several = {}
        for op, found_op in (('message', message_mutants), ('swap', swap_mutants)):
            for first, last, new in found_op(lines, masked_lines, body):
                several.setdefault(first, []).append((op, last, new))
        for i in body:
            raw, masked = lines[i], masked_lines[i]
            for op, last, new in several.get(i, ()):
                before = [lines[k].rstrip() for k in range(i, last + 1)]
                if new == before:
                    continue
                where = str(i + 1) if last == i else '%d-%d' % (i + 1, last + 1)
                key = (f, where, '\\n'.join(new))
                if key in seen:
                    continue
                seen.add(key)
                print('\t'.join((f, where, op, '\\n'.join(before), '\\n'.join(new))))
            if raw.lstrip().startswith('#') or not masked.strip() or '\t' in raw:
                continue  # (the project indents with spaces: a tab is left alone)
            for op, new in line_mutants(raw, masked, fields):
                if new == raw:
                    continue
                key = (f, str(i + 1), new.rstrip())
                if key in seen:
                    continue
                seen.add(key)
                print('\t'.join((f, str(i + 1), op, raw.rstrip(), new.rstrip())))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
