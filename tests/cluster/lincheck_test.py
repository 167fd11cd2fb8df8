#!/usr/bin/env python3
"""lincheck_test.py: the linearizability checker (lincheck.py) says yes
to histories a single copy could give, however their operations overlap,
and no to the three ways a replicated store goes wrong: a stale read, a
lost acknowledged write, a read of an unacknowledged value that later
vanishes.  Prints RUN/ok/FAIL lines and "N passed, N failed".

  python3 tests/cluster/lincheck_test.py
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lincheck  # noqa: E402

passed = failed = 0


def history(*ops):
    """Lines of a history from (process, f, key, value, start, end, type,
    output) tuples: type ok, fail or info (end None: never completed)."""
    events = []
    for p, f, key, value, start, end, kind, output in ops:
        inv = {"process": p, "type": "invoke", "f": f, "key": key, "time": start}
        if value is not None:
            inv["value"] = value
        events.append((start, 0, inv))
        if end is not None:
            done = {"process": p, "type": kind, "f": f, "key": key, "time": end}
            if kind == "ok" and f in ("read", "cas"):
                done["value"] = output
            elif value is not None:
                done["value"] = value
            events.append((end, 1, done))
    events.sort(key=lambda e: (e[0], e[1]))
    return [json.dumps(e[2]) for e in events]


def verdict(lines):
    keys = lincheck.parse(lines)
    return {k: lincheck.check_key(ops) for k, ops in keys.items()}


def expect(name, lines, linearizable, key="x"):
    global passed, failed
    print("RUN  lincheck/%s" % name)
    ok, blocker = verdict(lines)[key]
    if ok == linearizable:
        passed += 1
        print("ok   lincheck/%s" % name)
    else:
        failed += 1
        print("    %s: lincheck said %s" % (name, "linearizable" if ok else
                                            "not linearizable (%s)" % lincheck.describe(blocker)))
        print("FAIL lincheck/%s" % name)


def W(p, v, s, e, kind="ok", key="x"):
    return (p, "write", key, v, s, e, kind, None)


def R(p, out, s, e, kind="ok", key="x"):
    return (p, "read", key, None, s, e, kind, out)


def CAS(p, exp, new, swapped, s, e, kind="ok", key="x"):
    return (p, "cas", key, [exp, new], s, e, kind, swapped)


def main():
    global passed, failed
    expect("a_sequential_history", history(W(1, "1", 1, 2), R(2, "1", 3, 4)), True)
    expect("a_read_overlapping_a_write_may_see_either_value",
           history(W(1, "1", 1, 10), R(2, None, 2, 3), R(3, "1", 4, 5)), True)
    expect("but_not_go_back_once_one_read_saw_the_new_value",
           history(W(1, "1", 1, 10), R(2, "1", 2, 3), R(3, None, 4, 5)), False)
    expect("a_stale_read_is_not", history(W(1, "1", 1, 2), R(2, None, 3, 4)), False)
    expect("a_lost_acknowledged_write_is_not",
           history(W(1, "1", 1, 2), W(1, "2", 3, 4), R(2, "1", 5, 6)), False)
    expect("a_read_of_an_unacknowledged_value_that_vanishes_is_not",
           history(W(1, "1", 1, 2), W(3, "2", 3, None, "info"), R(2, "2", 4, 5),
                   R(2, "1", 6, 7)), False)
    expect("an_unacknowledged_write_may_never_happen",
           history(W(1, "1", 1, 2), W(3, "2", 3, None, "info"), R(2, "1", 4, 5),
                   R(2, "1", 6, 7)), True)
    expect("or_happen_late", history(W(1, "1", 1, 2), W(3, "2", 3, 4, "info"),
                                     R(2, "1", 5, 6), R(2, "2", 100, 101)), True)
    expect("a_failed_write_did_not_happen",
           history(W(1, "5", 1, 2, "fail"), R(2, "5", 3, 4)), False)
    expect("a_failed_write_may_be_absent", history(W(1, "5", 1, 2, "fail"), R(2, None, 3, 4)),
           True)
    expect("compare_and_set_swaps_only_what_it_expects",
           history(W(1, "1", 1, 2), CAS(2, "1", "2", True, 3, 4), R(1, "2", 5, 6),
                   CAS(3, "1", "3", False, 7, 8)), True)
    expect("a_swap_that_could_not_have_seen_its_value_is_not",
           history(W(1, "1", 1, 2), CAS(2, "1", "2", True, 3, 4),
                   CAS(3, "1", "3", True, 5, 6)), False)
    # Unknown writes no read saw are left out of the search (each would
    # double it): thirty of them, overlapping everything, change neither
    # verdict; and on a key with a cas they are kept, since a cas that
    # answered false can need one.
    silent = [W(10 + i, "lost%d" % i, 1.5 + i * 0.01, None, "info") for i in range(30)]
    expect("unknown_writes_no_read_saw_change_nothing",
           history(W(1, "1", 1, 2), *silent, R(2, "1", 50, 51), W(1, "2", 52, 53),
                   R(2, "2", 54, 55)), True)
    expect("nor_hide_a_stale_read",
           history(W(1, "1", 1, 2), *silent, W(1, "2", 52, 53), R(2, "1", 54, 55)), False)
    expect("a_cas_answered_false_may_need_an_unknown_write_no_read_saw",
           history(W(1, "e", 1, 2), W(3, "w", 3, None, "info"), CAS(2, "e", "n", False, 4, 5)),
           True)

    # Keys are checked apart; the exit status and the line name the bad one.
    print("RUN  lincheck/the_command_names_the_key_that_is_not")
    lines = history(W(1, "1", 1, 2, key="good"), R(2, "1", 3, 4, key="good"),
                    W(1, "1", 5, 6, key="bad"), R(2, None, 7, 8, key="bad"))
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    out = subprocess.run([sys.executable, os.path.join(HERE, "lincheck.py"), f.name],
                         capture_output=True, text=True)
    os.unlink(f.name)
    if (out.returncode == 1 and 'key "good": linearizable' in out.stdout and
            'key "bad": NOT linearizable' in out.stdout and "read of null" in out.stdout):
        passed += 1
        print("ok   lincheck/the_command_names_the_key_that_is_not")
    else:
        failed += 1
        print("    exit %d: %s%s" % (out.returncode, out.stdout, out.stderr))
        print("FAIL lincheck/the_command_names_the_key_that_is_not")

    print("RUN  lincheck/a_malformed_history_is_refused_naming_its_line")
    try:
        lincheck.parse(['{"process": 1, "type": "invoke", "f": "read", "key": "x", "time": 1}',
                        '{"process": 1, "f": "read", "time": 2}'])
        passed, failed = passed, failed + 1
        print("    parse accepted an event without a type")
        print("FAIL lincheck/a_malformed_history_is_refused_naming_its_line")
    except ValueError as err:
        if "line 2" in str(err):
            passed += 1
            print("ok   lincheck/a_malformed_history_is_refused_naming_its_line")
        else:
            failed += 1
            print("    the message names no line: %s" % err)
            print("FAIL lincheck/a_malformed_history_is_refused_naming_its_line")

    # A long history a single register gave (each operation takes effect at
    # a random instant inside its interval), five processes overlapping:
    # linearizable, and checked in well under the time a cluster test has.
    print("RUN  lincheck/a_long_history_of_one_register_is_checked_quickly")
    rng = random.Random(7)
    ops, value, t = [], None, 0.0
    busy = {p: 0.0 for p in range(5)}
    effects = []
    for i in range(600):
        p = rng.randrange(5)
        start = max(busy[p], t) + rng.random() * 0.2
        end = start + rng.random() * 5
        busy[p] = end
        t = start
        f = rng.choice(["read", "write", "write", "cas"])
        effects.append((start + (end - start) * rng.random(), p, f, start, end, i))
    effects.sort()
    for at, p, f, start, end, i in effects:
        if f == "write":
            value = str(i)
            ops.append(W(p, value, start, end))
        elif f == "read":
            ops.append(R(p, value, start, end))
        else:
            swapped = value == "1"
            ops.append(CAS(p, "1", "x%d" % i, swapped, start, end))
            value = "x%d" % i if swapped else value
    began = time.time()
    ok, _ = verdict(history(*ops))["x"]
    took = time.time() - began
    # The same history with one read in the middle answering a value no
    # write wrote: no longer linearizable.
    reads = [i for i, o in enumerate(ops) if o[1] == "read"]
    k = reads[len(reads) // 2]
    ops[k] = ops[k][:7] + ("never-written",)
    broken, _ = verdict(history(*ops))["x"]
    ok = ok and not broken
    if ok and took < 20:
        passed += 1
        print("ok   lincheck/a_long_history_of_one_register_is_checked_quickly (%.2f s)" % took)
    else:
        failed += 1
        print("    600 operations: %s in %.1f s; with a read of a value never written: %s" % (
            "linearizable" if ok else "NOT linearizable", took,
            "linearizable" if broken else "not"))
        print("FAIL lincheck/a_long_history_of_one_register_is_checked_quickly")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
