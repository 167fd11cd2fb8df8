// lab_raft_test.mjs: stage 10's group as the lab page drives it
// (web/lab_raft.c, compiled to group-10-raft.js), under node:
//   node web/test/lab_raft_test.mjs LABDIR
// Three members on libraft's fixture, each applying to its own stage-09
// engine through stage 10's replica code: a put through the leader read
// back from every member; the leader killed, a new one elected, the value
// still read; the killed member restarted and caught up; a leader cut off
// commits nothing while the majority goes on; a member that was down
// through many writes comes back by a snapshot.  Ends with
// "N passed, N failed".
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const labdir = resolve(process.argv[2] || "build/wasm/lab");
const require = createRequire(import.meta.url);
const factory = require(join(labdir, "group-10-raft.js"));
const M = await factory();

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail !== undefined ? `: ${detail}` : ""}`);
  }
}

const call = (fn, types, args) => JSON.parse(M.ccall(fn, "string", types, args));
const open = () => call("lab_group_open", ["string"], ["/group"]);
const step = (ms) => call("lab_group_step", ["number"], [ms]);
const put = (k, v) => call("lab_group_put", ["string", "string"], [k, v]);
const del = (k) => call("lab_group_del", ["string"], [k]);
const get = (k, member = 0) => call("lab_group_get", ["string", "number"], [k, member]);
const kill = (m) => call("lab_group_kill", ["number"], [m]);
const restart = (m) => call("lab_group_restart", ["number"], [m]);
const partition = (m) => call("lab_group_partition", ["number"], [m]);
const heal = () => call("lab_group_heal", [], []);
const keysOf = (member) => Object.fromEntries(member.keys);

try {
  let r = open();
  check("a group of three opens and elects a leader", r.ok && r.group.leader >= 1 && r.group.members.length === 3, JSON.stringify(r));
  const first = r.group.leader;

  r = put("city", "Lisbon");
  check("a put through the leader is committed", r.ok, r.message);
  r = get("city");
  check("a get through the leader reads it", r.ok && r.value === "Lisbon", JSON.stringify(r));
  r = step(500);
  const members = r.group.members;
  check("every member applied it to its own engine within 500 ms",
    members.every((m) => keysOf(m).city === "Lisbon" && m.applied === members[0].applied),
    JSON.stringify(members.map((m) => [m.id, m.applied, m.keys])));
  check("the picture: one leader, the others followers, all at one term",
    members.filter((m) => m.state === "leader").length === 1 && members.every((m) => m.term === members[0].term),
    JSON.stringify(members.map((m) => [m.id, m.state, m.term])));
  // The engine keeps the index of the last command it applied (replica.h,
  // R1); the library's applied index also counts entries that carry no
  // command (the get's barrier), so it may be ahead.
  check("every engine holds the same applied index, at most the library's",
    members.every((m) => m.engine_applied === members[0].engine_applied && m.engine_applied >= 2 && m.engine_applied <= m.applied),
    JSON.stringify(members.map((m) => [m.engine_applied, m.applied])));

  r = kill(first);
  check("the leader is killed", r.ok && r.group.members[first - 1].state === "killed", JSON.stringify(r.group.members[first - 1]));
  r = put("city", "Porto");
  check("no write is taken while the killed leader is the only one known", !r.ok, r.message);
  r = step(3000);
  const second = r.group.leader;
  check("the two others elect a new leader", second >= 1 && second !== first,
    `leader ${second}, was ${first}; ${JSON.stringify(r.group.members.map((m) => [m.id, m.state, m.term]))}`);
  check("at a higher term", r.group.members[second - 1].term > members[0].term);
  r = get("city");
  check("the value is still read, through the new leader", r.ok && r.value === "Lisbon", JSON.stringify(r));
  r = put("city", "Porto");
  check("the new leader commits with one follower", r.ok, r.message);
  r = restart(first);
  r = step(1000);
  const back = r.group.members[first - 1];
  check("the killed member, restarted, follows and catches up",
    back.state === "follower" && keysOf(back).city === "Porto" && back.applied === r.group.members[second - 1].applied,
    JSON.stringify(back));

  r = partition(second);
  r = put("x", "cut-off");
  // Within the wait the leader either is still waiting for a majority or
  // has stepped down (it heard from none for an election timeout).
  check("a leader cut off from the others commits nothing", !r.ok && /not committed|lost leadership/.test(r.message), r.message);
  r = step(3000);
  const third = r.group.leader;
  check("the majority elects a leader of its own", third >= 1 && third !== second, `leader ${third}`);
  r = put("x", "majority");
  check("and commits", r.ok, r.message);
  r = get("x", second);
  check("the cut-off member's engine never held its uncommitted write", r.ok && r.value === undefined, JSON.stringify(r));
  heal();
  r = step(2000);
  check("healed, every member holds the majority's x",
    r.group.members.every((m) => keysOf(m).x === "majority"), JSON.stringify(r.group.members.map((m) => m.keys)));

  r = del("city");
  check("a delete through the leader says the key was there", r.ok && /was there/.test(r.message), r.message);
  r = get("city");
  check("and the key is gone", r.ok && r.value === undefined, JSON.stringify(r));

  // A member down through more writes than the leader keeps in its log
  // (a snapshot every 16 entries) comes back by a snapshot.
  const down = r.group.members.find((m) => m.state === "follower").id;
  kill(down);
  for (let i = 0; i < 40; i++) {
    r = put(`k${String(i).padStart(2, "0")}`, `v${i}`);
    if (!r.ok) break;
  }
  check("40 puts with one member down", r.ok, r.message);
  restart(down);
  r = step(3000);
  const m = r.group.members[down - 1];
  check("the member that was down caught up by a snapshot",
    m.restores >= 1 && keysOf(m).k00 === "v0" && m.nkeys === r.group.members[r.group.leader - 1].nkeys,
    JSON.stringify({ restores: m.restores, nkeys: m.nkeys, applied: m.applied }));

  r = open();
  check("a second group opens afresh", r.ok && r.group.members.every((x) => x.nkeys === 0), JSON.stringify(r.group.members.map((x) => x.nkeys)));
} catch (e) {
  check("no exception", false, e.stack);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
