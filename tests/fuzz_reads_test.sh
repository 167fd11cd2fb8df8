#!/bin/sh
# fuzz_reads_test.sh: every source file that reads bytes is either a
# decoder the fuzz harnesses are measured on, or says why it is not.
#
# A file under common/, stages/ or tools/ "reads" when its code (comments
# left out) calls a read of the I/O layer (common/io.h's io_read_at,
# io_read_batch*, io_map, and common's file_bytes_open and file_start_read,
# which hand out a file's bytes) or of a socket, pipe or stream (read,
# pread, recv*, SSL_read, BIO_read, uv_read_start, fread, fgets, getline,
# fgetc, getc, fscanf; not a call through a struct's member, `ops->read(`).
# Each such file must be named in fuzz/reads_bytes.txt (it decodes bytes
# someone else wrote: `make fuzz-coverage` reports what the harnesses
# reach of it) or in fuzz/reads_no_decoding.txt (with the reason it
# decodes none).  A new reader in neither list fails, named; so does a
# listed file that no longer exists, or a line without a reason in the
# second list.  Unit tests (*/tests/*) are left out: they read what they
# wrote themselves.  docs/fuzzing.md, "Coverage: what the harnesses reach".
#
# Usage: sh tests/fuzz_reads_test.sh (from anywhere; cheap: one pass of
# the preprocessor's comment stripping per file).  Prints "N passed, M
# failed", as the other checks of tests/run.sh do.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 2
cc=${CC:-cc}
decoders=fuzz/reads_bytes.txt
others=fuzz/reads_no_decoding.txt
passed=0 failed=0
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

for list in "$decoders" "$others"; do
    [ -f "$list" ] || { echo "FAIL $list is missing"; echo "0 passed, 1 failed"; exit 1; }
done
listed=$(awk '!/^#/ && NF { print $1 }' "$decoders" "$others" | sort)

# 1. Every listed file exists, and is listed once.
for f in $listed; do
    [ -f "$f" ] || fail "$f is listed in $decoders or $others but no longer exists: take it out"
done
dups=$(echo "$listed" | uniq -d)
for f in $dups; do
    fail "$f is listed more than once (in $decoders and $others together)"
done
# 2. Every line of the second list gives a reason.
bare=$(awk '!/^#/ && NF == 1 { print $1 }' "$others")
for f in $bare; do
    fail "$others: $f has no reason: say why it decodes no one else's bytes"
done
[ "$failed" -eq 0 ] && passed=$((passed + 1))

# 3. Every file that reads is listed.
io_calls='io_read_at|io_read_batch|io_read_batch_ops|io_read_batch_inner|io_map|file_bytes_open|file_start_read'
fd_calls='read|readv|pread|preadv|recv|recvfrom|recvmsg|SSL_read|SSL_read_ex|BIO_read|uv_read_start'
stdio_calls='fread|fgets|getline|getdelim|fgetc|getc|fscanf'
pattern="(^|[^[:alnum:]_>.])($io_calls|$fd_calls|$stdio_calls)[[:space:]]*\\("
readers=0 before=$failed
# Only a file that has one of the calls' names as a word somewhere,
# comments and all, can call one (one grep for all of them; stripping a
# comment joins no words): the others cost no process.
names="($io_calls|$fd_calls|$stdio_calls)"
for f in $(find common stages tools -name '*.c' ! -path '*/tests/*' -exec grep -lwE "$names" {} + | sort); do
    # The code without its comments (a comment that says "a read (" is not one).
    if ! code=$("$cc" -fpreprocessed -dD -E -P -x c "$f" 2>/dev/null); then
        fail "$f: $cc could not strip its comments"
        continue
    fi
    calls=$(printf '%s\n' "$code" | grep -oE "$pattern" | sed -E 's/^[^[:alnum:]_]//; s/[[:space:]]*\($//' |
            sort -u | tr '\n' ' ')
    [ -n "$calls" ] || continue
    readers=$((readers + 1))
    case "
$listed
" in
    *"
$f
"*) ;;
    *) fail "$f reads bytes (${calls% }) but is in neither $decoders (it decodes bytes someone else wrote: then a harness should reach it) nor $others (with the reason it decodes none)" ;;
    esac
done
[ "$failed" -eq "$before" ] && passed=$((passed + 1))
echo "fuzz_reads_test: $readers files read bytes; $(awk '!/^#/ && NF' "$decoders" | wc -l | tr -d ' ') decoders listed, $(awk '!/^#/ && NF' "$others" | wc -l | tr -d ' ') readers that decode none"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
