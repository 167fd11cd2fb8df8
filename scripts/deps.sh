#!/bin/sh
# deps.sh: checks (and as root installs) the Debian packages the build needs.
#
#   sh scripts/deps.sh [GROUP...]
#
# Always: a C compiler (gcc), make, the C library's headers (libc6-dev),
# lz4 (liblz4-dev: stage 05 compresses its tables' blocks), liburing
# (liburing-dev: the io_uring backend of the I/O layer, common/io_ring.c),
# libfuse3's headers (libfuse3-dev: kvgrade-fs, the power-cut file system),
# libraft and libuv (libraft-dev, libuv1-dev: stage 10's replicas, whose
# tests `make test` runs), OpenSSL (libssl-dev: the TLS between stage
# 10's members, and their certificates), and the
# AddressSanitizer, UBSan and ThreadSanitizer runtimes that `make test`
# links against.
# Optional GROUPs: lcov (coverage), lz4 (liblz4-dev), fuzz (clang and its
# libFuzzer runtime), afl (afl++ and clang), gnuplot, valgrind (callgrind,
# for `make get-instructions` and `make get-cost`), server (redis-server,
# redis-tools, python3 and python3-redis, for the tests of `kv serve`, which
# compare its replies with Redis's; ruby-redis, whose cluster client the
# Raft group's test drives; python3-cryptography, with which it signs
# certificates `kv DIR certs` would not make, expired or about to; nodejs
# and npm, and with npm the Node.js client ioredis, pinned in
# tests/cluster/js/package-lock.json, which that test drives too: the one
# package here from npm, Debian having none), metrics (prometheus, which ships
# promtool, and python3: tests/server_metrics_test.py scrapes `kv serve
# --metrics-port` with a real Prometheus), check
# (universal-ctags, python3 and xxd, for tests/structure_test.py and the
# pages' worked examples, scripts/docs_examples.py), bench-server (redis-server and
# redis-tools, for `make bench-server`), demo (redis-tools: `make demo`'s
# tour of stage 10 talks to its members with redis-cli), etcd (etcd-server and etcd-client,
# etcd 3.4: `make bench-raft` runs three members beside stage 10's group,
# with peer certificates made by the openssl command (openssl), and drives
# them with build/bench/etcd_load, built with golang-go from the sources of
# etcd's Go client library, golang-etcd-server-dev),
# shard (nutcracker, twemproxy 0.5.0, with redis-tools, python3 and
# python3-redis: tests/cluster/shard_test.py, in `make test-cluster`, shards
# keys over two stage 10 groups through it),
# peers (the engines bench/ compares with: LevelDB, RocksDB, LMDB, SQLite),
# kvgrade (fuse3, for fusermount3, and python3, for kvgrade's example
# engines and its tests),
# wasm (emscripten and node, for `make wasm` and the suites of `make
# test-wasm`; npm, for the lab page's libraries; chromium, for its browser
# test; curl, for libraft's source when the lab is built with stage 10's
# group, WASM_RAFT=1: docs/lab.md), pictures (librsvg2-bin, for its
# rsvg-convert, and python3: `make lab-group-picture` draws stage 10's
# group and renders it to PNG).
#
# The Makefile runs it with no GROUP before its first compile (and records
# success in build/.deps-ok), and `make deps DEPS=GROUP` for the others.
# As root, missing packages are installed with apt-get (one `apt-get update`
# first).  Otherwise the script names them, says how to install them, and
# exits 1.  It prints nothing when everything is already there.

# Package lists are split into words on purpose (names have no spaces).
# shellcheck disable=SC2086
set -u

packages="gcc make libc6-dev liblz4-dev liburing-dev libfuse3-dev libraft-dev libuv1-dev libssl-dev"
for group in "$@"; do
    case $group in
    lcov) packages="$packages lcov" ;;
    lz4) packages="$packages liblz4-dev" ;;
    fuzz) packages="$packages clang libclang-rt-14-dev" ;;
    afl) packages="$packages afl++ clang libclang-rt-14-dev" ;;
    gnuplot) packages="$packages gnuplot" ;;
    perf) packages="$packages linux-perf" ;;
    valgrind) packages="$packages valgrind" ;;
    server) packages="$packages redis-server redis-tools python3 python3-redis ruby-redis python3-cryptography nodejs" ;;
    metrics) packages="$packages prometheus python3" ;;
    check) packages="$packages universal-ctags python3 xxd" ;;
    bench-server) packages="$packages redis-server redis-tools python3" ;;
    demo) packages="$packages redis-tools" ;;
    etcd) packages="$packages etcd-server etcd-client openssl golang-go golang-etcd-server-dev" ;;
    shard) packages="$packages nutcracker redis-tools python3 python3-redis" ;;
    peers) packages="$packages libleveldb-dev librocksdb-dev liblmdb-dev libsqlite3-dev" ;;
    kvgrade) packages="$packages fuse3 python3" ;;
    wasm) packages="$packages emscripten nodejs chromium curl" ;;
    pictures) packages="$packages librsvg2-bin python3" ;;
    *)
        echo "deps.sh: unknown group '$group' (known: lcov lz4 fuzz afl gnuplot perf valgrind peers server metrics check bench-server demo etcd shard kvgrade wasm pictures)" >&2
        exit 2
        ;;
    esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: not a Debian system; install by hand: $packages" >&2
    exit 0
fi

# deps_missing PKG...: prints those of PKG that are not installed (one
# dpkg-query for all of them: make test asks a few dozen times).
deps_missing() {
    installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
                  awk '/ ok installed$/ { printf "%s ", $1 }')"
    for p in "$@"; do
        case $installed in
        *" $p "*) ;;
        *) printf '%s ' "$p" ;;
        esac
    done
}

updated=0
# deps_install PKG...: installs PKG as root, or says how to and exits 1.
deps_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages: $* ; run: sudo apt-get install -y $*" >&2
        exit 1
    fi
    echo "deps.sh: installing $*"
    if [ "$updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q || exit 1
        updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" || exit 1
}

missing=$(deps_missing $packages)
if [ -n "$missing" ]; then
    deps_install $missing
fi

# ioredis from npm (the server group), once, into tests/cluster/js/.
for group in "$@"; do
    if [ "$group" = server ] && [ ! -f tests/cluster/js/node_modules/ioredis/package.json ]; then
        # Debian's nodejs comes without npm (its own package); some
        # builds of nodejs carry npm and conflict with that package.
        if ! command -v npm >/dev/null 2>&1; then
            deps_install npm
        fi
        echo "deps.sh: npm ci in tests/cluster/js (ioredis)"
        (cd tests/cluster/js && npm ci --no-audit --no-fund --ignore-scripts >/dev/null) || {
            echo "deps.sh: npm ci in tests/cluster/js failed" >&2
            exit 1
        }
    fi
done

# The sanitizer runtimes: link a tiny program with them (-fsanitize=FLAGS).
# Their package names follow gcc's major version.
deps_sanitizer_works() {
    dir=$(mktemp -d) || return 1
    printf 'int main(void) { return 0; }\n' >"$dir/t.c"
    ${CC:-cc} -fsanitize="$1" "$dir/t.c" -o "$dir/t" >/dev/null 2>&1
    ok=$?
    rm -rf "$dir"
    return $ok
}

major=$(gcc -dumpversion 2>/dev/null | cut -d. -f1)
case $major in
[0-9]) asan=libasan5 tsan=libtsan0 ;;
1[01]) asan=libasan6 tsan=libtsan0 ;;
*) asan=libasan8 tsan=libtsan2 ;;
esac
for flags in address,undefined thread; do
    deps_sanitizer_works "$flags" && continue
    case $flags in
    thread) san=$tsan ;;
    *) san="$asan libubsan1" ;;
    esac
    [ -n "$major" ] && san="$san libgcc-$major-dev"
    missing=$(deps_missing $san)
    if [ -n "$missing" ]; then
        deps_install $missing
    fi
    if ! deps_sanitizer_works "$flags"; then
        echo "deps.sh: ${CC:-cc} cannot link with -fsanitize=$flags although $san are" \
            "installed" >&2
        exit 1
    fi
done
exit 0
