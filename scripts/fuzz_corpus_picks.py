#!/usr/bin/env python3
"""fuzz_corpus_picks.py FILE... -- STAGE:TARGET...: the few inputs of the
kept corpora (build/fuzz/corpus/STAGE-TARGET, what make fuzz-smoke kept)
that take branches of FILEs the seeds and regressions miss.

The baseline is build/fuzzcov/fuzz.profdata as scripts/fuzz_coverage.sh
last wrote it: run `make fuzz-coverage` (or the script over the same
pairs) first, with no corpus in build/fuzz/corpus, so that it holds what
the seeds and regressions reach.  Then each pair's corpus is replayed in
its coverage binary (build/fuzzcov/STAGE/TARGET) in batches of 64; a batch
that takes a branch side the baseline misses is halved until the inputs
that take them are alone.  Last, the inputs are picked greedily, the one
that adds the most first, until the picks take every side any input took.
Prints one line per pick (pair, input, the branch sides it adds, as
FILE:LINE:COLUMN:T or F), then each file's branches before and after.
The picks are for a person to look at, name for what they reach and
commit under fuzz/regressions/TARGET/ (docs/fuzzing.md, "Coverage: what
the harnesses reach").
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.getcwd() + "/"
BATCH = 64


def sides(profdata, binaries, files):
    """Branch sides of files: {"FILE:L:C:EL:EC:T" or ":F": count}."""
    cmd = ["llvm-cov", "export", "-format=text", "-skip-expansions", "-skip-functions",
           binaries[0]]
    for b in binaries[1:]:
        cmd += ["-object", b]
    cmd += ["-instr-profile=" + profdata] + [ROOT + f for f in files]
    data = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    out = {}
    for f in data["data"][0]["files"]:
        name = f["filename"][len(ROOT):]
        for b in f["branches"]:
            key = "%s:%d:%d:%d:%d" % (name, b[0], b[1], b[2], b[3])
            out[key + ":T"] = out.get(key + ":T", 0) + b[4]
            out[key + ":F"] = out.get(key + ":F", 0) + b[5]
    return out


def replay(binary, inputs, files, tmp):
    """The sides files take when binary replays inputs."""
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    env = dict(os.environ, KV_FUZZ_ENGINE="all", LLVM_PROFILE_FILE=tmp + "/p-%m.profraw")
    env.setdefault("KV_FUZZ_SLOW_S", "30")
    env.setdefault("TMPDIR", "/dev/shm")
    subprocess.run([binary] + inputs, env=env, capture_output=True)
    raws = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".profraw")]
    if not raws:
        return {}
    subprocess.run(["llvm-profdata", "merge", "-sparse", "-o", tmp + "/m.profdata"] + raws,
                   check=True)
    return sides(tmp + "/m.profdata", [binary], files)


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    cut = argv.index("--")
    files, pairs = argv[:cut], argv[cut + 1:]
    binaries = ["build/fuzzcov/%s/%s" % tuple(p.split(":")) for p in pairs]
    base = sides("build/fuzzcov/fuzz.profdata", binaries, files)
    missed = {k for k, v in base.items() if v == 0}
    tmp = tempfile.mkdtemp()
    found = {}

    def halve(binary, pair, inputs):
        took = {k for k, v in replay(binary, inputs, files, tmp).items() if v and k in missed}
        if not took:
            return
        if len(inputs) == 1:
            found[(pair, inputs[0])] = took
            return
        halve(binary, pair, inputs[:len(inputs) // 2])
        halve(binary, pair, inputs[len(inputs) // 2:])

    for pair, binary in zip(pairs, binaries):
        corpus = "build/fuzz/corpus/" + pair.replace(":", "-")
        if not os.path.isdir(corpus):
            continue
        inputs = sorted(os.path.join(corpus, f) for f in os.listdir(corpus))
        for i in range(0, len(inputs), BATCH):
            halve(binary, pair, inputs[i:i + BATCH])
    shutil.rmtree(tmp)
    covered = set()
    while found:
        pick = max(found, key=lambda k: len(found[k] - covered))
        new = found.pop(pick) - covered
        if not new:
            break
        covered |= new
        print(pick[0], pick[1], " ".join(sorted(s.split("/")[-1] for s in new)))
    for f in files:
        all_ = [k for k in base if k.startswith(f + ":")]
        hit = sum(1 for k in all_ if base[k])
        add = sum(1 for k in covered if k.startswith(f + ":"))
        if all_:
            print("%-60s %5.1f%% -> %5.1f%%" % (f, 100 * hit / len(all_),
                                                 100 * (hit + add) / len(all_)))


if __name__ == "__main__":
    main(sys.argv[1:])
