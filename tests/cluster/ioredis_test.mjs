// ioredis_test.mjs: ioredis (Node.js's Redis client, tests/cluster/js/)
// against a stage 10 group, as cluster_test.py's
// ioredis_transactions_at_a_follower_and_the_leader runs it:
//   node tests/cluster/ioredis_test.mjs LEADER_PORT FOLLOWER_PORT
// A transaction (multi, set, exec) at a follower is refused with the
// queued SET's MOVED, and EXEC's EXECABORT, nothing applied; at the
// leader, SET NX twice and a SET answer OK, null, OK; through
// Redis.Cluster, which finds the leader from CLUSTER SLOTS, the same.
// Prints one line per check and exits 1 if any failed.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Redis = require("./js/node_modules/ioredis");

const [leaderPort, followerPort] = process.argv.slice(2).map(Number);
let failed = 0;
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failed++;
}

const opts = { lazyConnect: false, maxRetriesPerRequest: 0, enableOfflineQueue: true };
const follower = new Redis(followerPort, "127.0.0.1", opts);
const leader = new Redis(leaderPort, "127.0.0.1", opts);
try {
  let err = null;
  try {
    await follower.multi().set("io:k1", "v1").exec();
  } catch (e) {
    err = e;
  }
  const prev = err && err.previousErrors ? err.previousErrors.map((e) => e.message) : [];
  check(err !== null && /EXECABORT/.test(err.message) &&
        prev.some((m) => m.startsWith("MOVED ") && m.endsWith(":" + leaderPort)),
        "a transaction at a follower: EXECABORT, after the queued SET's MOVED to the leader (" +
        (err ? err.message + " / " + JSON.stringify(prev) : "no error") + ")");
  check(!(err && /not the leader/.test(err.message + prev.join(" "))),
        "never 'not the leader'");
  const got = await leader.multi().set("io:n", "a", "NX").set("io:n", "b", "NX")
    .set("io:n2", "c").exec();
  check(JSON.stringify(got) === JSON.stringify([[null, "OK"], [null, null], [null, "OK"]]),
        "at the leader, SET NX, SET NX, SET answer OK, null, OK (" + JSON.stringify(got) + ")");
  const values = await leader.mget("io:n", "io:n2", "io:k1");
  check(JSON.stringify(values) === JSON.stringify(["a", "c", null]),
        "the values read back a, c, and nothing of the refused transaction (" +
        JSON.stringify(values) + ")");
  const cluster = new Redis.Cluster([{ host: "127.0.0.1", port: followerPort }],
                                    { redisOptions: { maxRetriesPerRequest: 1 } });
  try {
    const res = await cluster.multi().set("{io}c", "a", "NX").set("{io}c", "b", "NX").exec();
    check(JSON.stringify(res) === JSON.stringify([[null, "OK"], [null, null]]),
          "Redis.Cluster, given a follower, sends the transaction to the leader: OK, null (" +
          JSON.stringify(res) + ")");
    check((await cluster.get("{io}c")) === "a", "and reads back a");
  } finally {
    cluster.disconnect();
  }
} catch (e) {
  check(false, "ioredis: " + (e && e.stack ? e.stack : e));
} finally {
  follower.disconnect();
  leader.disconnect();
}
console.log(failed ? failed + " failed" : "all passed");
process.exit(failed ? 1 : 0);
