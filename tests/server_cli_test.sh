#!/bin/sh
# server_cli_test.sh KV: redis-cli and redis-benchmark (Debian's
# redis-tools) against `KV DIR serve`, as a user would run them.
#
# Starts the server with --port 0 --verbose on a temporary directory (the
# port is read from its start-up line), then checks what redis-cli prints
# for the command set, a SCAN walk with --scan and --pattern, KEYS, TYPE,
# STRLEN, INFO,
# standard input with -x, a mass insert with --pipe, that a short
# redis-benchmark run reports no error, --latency and SLOWLOG.  Prints "ok ..." / "FAIL ..." lines
# and "N passed, N failed".
set -u
kv=$1
passed=0 failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvcli.XXXXXX") || exit 2
pid=""
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

for tool in redis-cli redis-benchmark; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "FAIL $tool is not installed (make deps DEPS=server)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

"$kv" "$tmp/db" serve --port 0 --verbose 2>"$tmp/log" &
pid=$!
port=""
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
    port=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$tmp/log" | head -n 1)
    [ -z "$port" ] && sleep 0.1
    i=$((i + 1))
done
if [ -z "$port" ]; then
    echo "FAIL the server did not start:"
    cat "$tmp/log"
    echo "0 passed, 1 failed"
    exit 1
fi
cli() { redis-cli -p "$port" "$@"; }

# expect NAME WANT GOT
expect() {
    if [ "$2" = "$3" ]; then
        echo "ok $1"
        passed=$((passed + 1))
    else
        echo "FAIL $1: want [$2], got [$3]"
        failed=$((failed + 1))
    fi
}

expect "ping" "PONG" "$(cli ping)"
expect "set" "OK" "$(cli set greeting hello)"
expect "get" "hello" "$(cli get greeting)"
expect "get absent (redis-cli shows nil as empty)" "" "$(cli get nothing)"
expect "mset" "OK" "$(cli mset a 1 b 2 c 3)"
expect "mget" "1
2
" "$(cli mget a b zz)
"
expect "exists" "2" "$(cli exists a b zz)"
expect "del" "2" "$(cli del a b zz)"
expect "dbsize" "2" "$(cli dbsize)"
expect "unknown command names it" "ERR unknown command 'flushall', with args beginning with: " \
    "$(cli flushall)"
expect "set from standard input (-x)" "OK" "$(printf 'from stdin' | cli -x set piped)"
expect "get what -x stored" "from stdin" "$(cli get piped)"

# Keys for SCAN: 120 of them through one redis-cli reading commands.
i=0
while [ $i -lt 120 ]; do
    echo "SET user:$i $i"
    i=$((i + 1))
done | cli >/dev/null
scanned=$(cli --scan | tr '\n' ' ')
want=$(printf '%s\n' c greeting piped $(i=0; while [ $i -lt 120 ]; do echo user:$i; i=$((i + 1)); done) |
    LC_ALL=C sort | tr '\n' ' ')
expect "--scan walks every key in key order" "$want" "$scanned"
expect "--scan --pattern" "user:7 user:70 user:71 user:72 user:73 user:74 user:75 user:76 user:77 user:78 user:79 " \
    "$(cli --scan --pattern 'user:7*' | tr '\n' ' ')"
expect "info keyspace" "db0:keys=123,expires=0,avg_ttl=0" \
    "$(cli info keyspace | tr -d '\r' | grep '^db0:')"
expect "info names the stage" "1" "$(cli info server | tr -d '\r' | grep -c '^kv_stage:')"
expect "keys" "user:7 user:70 user:71 user:72 user:73 user:74 user:75 user:76 user:77 user:78 user:79 " \
    "$(cli keys 'user:7*' | tr '\n' ' ')"
expect "keys without a match (redis-cli prints nothing)" "" "$(cli keys 'none*')"
expect "type of a key" "string" "$(cli type greeting)"
expect "type of no key" "none" "$(cli type nothing)"
expect "strlen" "5" "$(cli strlen greeting)"
expect "strlen of no key" "0" "$(cli strlen nothing)"

# Mass insertion: redis-cli --pipe sends raw RESP and counts the replies.
i=0
while [ $i -lt 2000 ]; do
    printf '*3\r\n$3\r\nSET\r\n$%d\r\npipe:%d\r\n$1\r\nv\r\n' $((5 + ${#i})) $i
    i=$((i + 1))
done >"$tmp/pipe.resp"
piped=$(cli --pipe <"$tmp/pipe.resp" 2>&1 | tail -n 1)
expect "--pipe mass insert" "errors: 0, replies: 2000" "$piped"
expect "dbsize after --pipe" "2123" "$(cli dbsize)"

# redis-benchmark: a short run, every test it is given answered without error.
bench=$(redis-benchmark -p "$port" -t ping,set,get,mset -n 2000 -c 10 -P 4 -r 1000 -q 2>&1 | tr '\r' '\n')
if echo "$bench" | grep -qi 'error'; then
    echo "FAIL redis-benchmark reported errors:"
    echo "$bench" | grep -i error | head -n 5
    failed=$((failed + 1))
else
    expect "redis-benchmark runs PING, SET, GET, MSET" "5" \
        "$(echo "$bench" | grep -c 'requests per second')"
fi

# --latency: PINGs for about a second, then (standard output not a
# terminal) one line "min max avg samples", as against redis-server.
lat=$(cli --latency 2>&1)
if echo "$lat" | grep -Eq '^[0-9]+ [0-9]+ [0-9.]+ [1-9][0-9]*$'; then
    echo "ok --latency: $lat"
    passed=$((passed + 1))
else
    echo "FAIL --latency: want [min max avg samples], got [$lat]"
    failed=$((failed + 1))
fi
# SLOWLOG through redis-cli: with slowlog-log-slower-than 0 every command
# is logged; the entry of the GET says its words and the client.
expect "config set slowlog-log-slower-than" "OK" "$(cli config set slowlog-log-slower-than 0)"
cli get greeting >/dev/null
entry=$(cli slowlog get 1 | tr '\n' ' ')
case $entry in
*" get greeting 127.0.0.1:"*) echo "ok slowlog get names the command and the client"; passed=$((passed + 1)) ;;
*) echo "FAIL slowlog get: [$entry]"; failed=$((failed + 1)) ;;
esac
expect "slowlog reset" "OK" "$(cli slowlog reset)"
expect "slowlog len after reset (the RESET itself is logged)" "1" "$(cli slowlog len)"

kill -TERM "$pid"
wait "$pid"
status=$?
pid=""
expect "SIGTERM: clean exit" "0" "$status"
# Connection errors only: a clean run logs none.
expect "no connection errors logged" "" \
    "$(grep -v -e ': connected$' -e ': closed$' -e 'listening on' -e 'stopping' -e 'stopped' "$tmp/log")"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
