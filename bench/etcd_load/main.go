// etcd_load: build/bench/etcd_load, PUT load on etcd over its own gRPC API,
// through etcd's Go client library (clientv3, etcd 3.4), of the same shape
// as build/bench/raft_load's SET (bench/raft_load.c): `make bench-raft`,
// scripts/bench_raft.sh, docs/10-raft.md.
//
//	etcd_load --endpoint HOST:PORT [-c CLIENTS] [-n REQUESTS] [-r KEYS]
//	          [-d VALUE_BYTES] [--conns shared|each]
//
// C clients (50), each driven by its own goroutine in a closed loop: one
// Put, wait for its answer, the next Put, so that a client is raft_load's
// connection: one request in flight on each.  How the clients reach etcd
// is --conns:
//
//	shared  (the default) one clientv3.Client, so one gRPC connection (one
//	        TCP connection), that every client's Puts share, each an
//	        HTTP/2 stream of its own: how a Go program usually talks to
//	        etcd, one client object for the process
//	each    a clientv3.Client per client, so a gRPC connection each, one
//	        stream at a time on it: raft_load's shape
//
// The two differ only on etcd's side of the comparison (a RESP connection
// carries one request at a time); which is faster for etcd depends on the
// machine, and `make bench-raft` runs both.  N requests (100,000) in all,
// shared out evenly; each puts a
// random key of [0, KEYS) (KEYS = N by default) named "key:%012d", the
// keys raft_load and redis-benchmark write, and a value of D bytes of
// 'x' (3).  The key sequence of client i is raft_load's connection i's
// (the same xorshift64* generator and seed).  Each Put's latency, from
// the call to its answer, is kept; at the end every latency is sorted and
// one line printed, raft_load's:
//
//	rps,p50_ms,p99_ms
//
// (rps: answered requests over the wall time from the moment every client
// is connected to the last answer; p50 and p99 nearest-rank).  A Put is
// answered once etcd's leader has committed it (a majority holds it in
// its synced log) and applied it: etcd's linearizable write, its only
// kind.  Every connection is up (clientv3.New with a dial timeout blocks
// until it is) before the clock starts.  A failed
// Put (an error, or no answer in 10 s) is counted and the first one named
// on stderr; the program then exits 3 (the line is printed all the same).
// A client that cannot connect in 10 s ends the run: a message on stderr,
// exit 1.
//
// The endpoint is etcd's client port, plain gRPC (no TLS between client
// and server: what a benchmark compares here is the members' promise,
// and peer TLS is set up by the script that starts them).  Give one
// endpoint, the leader's, so that no Put is forwarded between members.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

const silence = 10 * time.Second

type conf struct {
	endpoint   string
	clients    int
	requests   int
	keys       uint64
	valueBytes int
	shared     bool
}

// One client: its connection, its share of the requests, what it measured.
type client struct {
	cli       *clientv3.Client
	rng       uint64
	todo      int
	latencies []time.Duration // todo entries, one per Put
	failed    int
	lastError error
}

// random is xorshift64*, raft_load's load_random: a generator per client,
// so that goroutines share no state.
func (c *client) random() uint64 {
	c.rng ^= c.rng >> 12
	c.rng ^= c.rng << 25
	c.rng ^= c.rng >> 27
	return c.rng * 2685821657736338717
}

func (c *client) run(cf *conf, value string, start *sync.WaitGroup, done *sync.WaitGroup) {
	defer done.Done()
	start.Wait()
	for i := 0; i < c.todo; i++ {
		key := fmt.Sprintf("key:%012d", c.random()%cf.keys)
		ctx, cancel := context.WithTimeout(context.Background(), silence)
		t0 := time.Now()
		_, err := c.cli.Put(ctx, key, value)
		c.latencies[i] = time.Since(t0)
		cancel()
		if err != nil {
			c.failed++
			c.lastError = err
		}
	}
}

// percentileMs is the nearest-rank percentile p (0..1) of sorted, in ms.
func percentileMs(sorted []time.Duration, p float64) float64 {
	rank := int(p*float64(len(sorted)) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	return float64(sorted[rank-1].Nanoseconds()) / 1e6
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "etcd_load: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var cf conf
	var keys int64
	flag.StringVar(&cf.endpoint, "endpoint", "", "etcd's client address, HOST:PORT (the leader's)")
	flag.IntVar(&cf.clients, "c", 50, "clients, each a closed loop of one Put at a time")
	flag.IntVar(&cf.requests, "n", 100000, "requests in all")
	flag.Int64Var(&keys, "r", 0, "keys: each Put writes a random key of [0, KEYS) (default N)")
	flag.IntVar(&cf.valueBytes, "d", 3, "value bytes")
	conns := flag.String("conns", "shared", "shared: one gRPC connection for every client; each: one a client")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: etcd_load --endpoint HOST:PORT [-c CLIENTS] [-n REQUESTS] [-r KEYS] [-d VALUE_BYTES]\n"+
				"                 [--conns shared|each]\n"+
				"Prints rps,p50_ms,p99_ms (the header of bench/etcd_load/main.go says what it measures).\n")
		flag.PrintDefaults()
	}
	// Asked for, the usage goes to standard output (exit 0), as every
	// program of the build answers --help; after a mistake, to stderr.
	for _, a := range os.Args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			flag.CommandLine.SetOutput(os.Stdout)
			flag.Usage()
			os.Exit(0)
		}
	}
	flag.Parse()
	cf.shared = *conns == "shared"
	if cf.endpoint == "" || flag.NArg() != 0 || cf.clients < 1 || cf.clients > 10000 ||
		cf.requests < 1 || keys < 0 || cf.valueBytes < 1 || cf.valueBytes > 4096 ||
		(*conns != "shared" && *conns != "each") {
		flag.Usage()
		os.Exit(2)
	}
	cf.keys = uint64(keys)
	if cf.keys == 0 {
		cf.keys = uint64(cf.requests)
	}
	if cf.clients > cf.requests {
		cf.clients = cf.requests
	}
	value := strings.Repeat("x", cf.valueBytes)

	// Every client connected before the clock starts.
	clients := make([]client, cf.clients)
	all := make([]time.Duration, cf.requests)
	given := 0
	var shared *clientv3.Client
	for i := range clients {
		cli := shared
		if cli == nil {
			var err error
			cli, err = clientv3.New(clientv3.Config{
				Endpoints:   []string{cf.endpoint},
				DialTimeout: silence,
			})
			if err != nil {
				die("client %d cannot connect to %s: %v", i, cf.endpoint, err)
			}
			if cf.shared {
				shared = cli
			}
		}
		c := &clients[i]
		c.cli = cli
		c.todo = cf.requests/cf.clients + boolToInt(i < cf.requests%cf.clients)
		c.latencies = all[given : given+c.todo]
		given += c.todo
		c.rng = 0x9E3779B97F4A7C15 * uint64(i+1)
	}
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(len(clients))
	for i := range clients {
		go clients[i].run(&cf, value, &start, &done)
	}
	t0 := time.Now()
	start.Done()
	done.Wait()
	secs := time.Since(t0).Seconds()

	failed := 0
	for i := range clients {
		c := &clients[i]
		if c.failed > 0 && failed == 0 {
			fmt.Fprintf(os.Stderr, "etcd_load: %v\n", c.lastError)
		}
		failed += c.failed
		if !cf.shared || i == 0 {
			c.cli.Close()
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	fmt.Printf("%.2f,%.3f,%.3f\n", float64(cf.requests-failed)/secs,
		percentileMs(all, 0.50), percentileMs(all, 0.99))
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "etcd_load: %d of %d requests failed\n", failed, cf.requests)
		os.Exit(3)
	}
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
