// group.js: stage 10's panel (docs/lab.md, "Stage 10: a group").  Three
// members of a Raft group in one module (group-10-raft.js: web/lab_raft.c
// over libraft's fixture and stage 10's replica code, each member with a
// stage-09 engine of its own).  Buttons drive it: a put, get or delete
// through the leader, the clock stepped (elections happen only then), a
// member cut off or killed, and healed or restarted.  After each action
// the picture is drawn again from what lab_group_describe says: who
// leads, each member's term and log (last index, commit index, applied
// index, the snapshot its log starts after) and its engine's keys.
//
// Nothing here knows Raft: every number drawn comes from the library's
// struct raft or the replica, through the C code's JSON.

import * as d3 from "d3";

const MEMBERS = [1, 2, 3];

export async function startGroup(log) {
  const factory = globalThis.kvGroup_10_raft;
  if (typeof factory !== "function") return null;
  const m = await factory();
  const call = (fn, types, args) => {
    const r = JSON.parse(m.ccall(fn, "string", types, args));
    // What was asked, as the answer's line names it: "put city Lisbon",
    // "get city" (through the leader), "get city on 2" (a member's own).
    const name = fn.replace("lab_group_", "");
    const words = name === "get" ? [args[0], ...(args[1] ? [`on ${args[1]}`] : [])] : name === "open" ? [] : args;
    r.action = [name, ...words].join(" ");
    return r;
  };
  const api = {
    open: () => call("lab_group_open", ["string"], ["/group"]),
    step: (ms) => call("lab_group_step", ["number"], [ms]),
    elect: () => call("lab_group_elect", [], []),
    put: (k, v) => call("lab_group_put", ["string", "string"], [k, v]),
    get: (k, member = 0) => call("lab_group_get", ["string", "number"], [k, member]),
    del: (k) => call("lab_group_del", ["string"], [k]),
    partition: (i) => call("lab_group_partition", ["number"], [i]),
    heal: () => call("lab_group_heal", [], []),
    kill: (i) => call("lab_group_kill", ["number"], [i]),
    restart: (i) => call("lab_group_restart", ["number"], [i]),
    describe: () => call("lab_group_describe", [], []),
  };

  const section = d3.select("body").insert("section", "script").attr("id", "group").attr("class", "panel");
  const h = section.append("h2");
  h.append("span").text("10 · a Raft group");
  h.append("a").attr("href", "../../../docs/10-raft.md").text("the chapter");
  section.append("p").attr("class", "what").text(
    "three members on libraft's fixture (an in-memory network and disk, a clock that moves only when you step it); " +
    "each applies the committed log to a stage-09 engine of its own through stage 10's replica code");
  const bar = section.append("div").attr("class", "group-bar");
  const key = bar.append("input").attr("id", "group-key").attr("placeholder", "key").property("value", "city");
  const val = bar.append("input").attr("id", "group-value").attr("placeholder", "value").property("value", "Lisbon");
  const button = (parent, label, id, fn) => parent.append("button").attr("type", "button").attr("id", id).text(label)
    .on("click", () => act(fn()));
  button(bar, "put", "group-put", () => api.put(key.property("value"), val.property("value")));
  button(bar, "get", "group-get", () => api.get(key.property("value")));
  button(bar, "delete", "group-del", () => api.del(key.property("value")));
  bar.append("span").attr("class", "sep");
  button(bar, "step 100 ms", "group-step-100", () => api.step(100));
  button(bar, "step 1 s", "group-step-1000", () => api.step(1000));
  button(bar, "elect", "group-elect", () => api.elect());
  button(bar, "heal", "group-heal", () => api.heal());
  button(bar, "new group", "group-open", () => api.open());
  const said = section.append("div").attr("class", "group-said");
  const cards = section.append("div").attr("class", "group-members");

  let last = null;
  function act(r) {
    last = r;
    said.attr("class", `group-said ${r.ok ? "ok" : "err"}`)
      .text(`${r.action}: ${r.message}${r.value !== undefined ? ` → ${r.value}` : ""}`);
    log(`[10-raft] ${r.action}: ${r.message}${r.value !== undefined ? ` → ${JSON.stringify(r.value)}` : ""}`, r.ok ? "out" : "err");
    draw(r.group);
    return r;
  }

  function draw(g) {
    const members = g ? g.members : [];
    section.attr("data-leader", g ? g.leader : 0).attr("data-time", g ? g.time : 0);
    const top = Math.max(1, ...members.map((x) => x.last_index));
    const card = cards.selectAll("div.member").data(members, (d) => d.id).join((enter) => {
      const c = enter.append("div").attr("class", "member").attr("id", (d) => `group-member-${d.id}`);
      c.append("div").attr("class", "head");
      c.append("svg").attr("class", "log").attr("height", 34);
      c.append("div").attr("class", "numbers");
      const b = c.append("div").attr("class", "buttons");
      b.append("button").attr("type", "button").attr("class", "kill");
      b.append("button").attr("type", "button").attr("class", "cut");
      b.append("button").attr("type", "button").attr("class", "read").text("read here");
      c.append("table").attr("class", "keys");
      return c;
    });
    card.attr("data-state", (d) => d.state).classed("cut", (d) => !!d.cut);
    card.select("div.head").text((d) => `member ${d.id} · ${d.state}${d.cut ? " · cut off" : ""} · term ${d.term}`);
    card.select("div.numbers").text((d) =>
      `last index ${d.last_index} · commit ${d.commit} · applied ${d.applied} (engine ${d.engine_applied})` +
      (d.snapshot_index ? ` · log after snapshot ${d.snapshot_index}` : "") +
      (d.snapshots || d.restores ? ` · ${d.snapshots} taken, ${d.restores} installed` : ""));
    card.select("button.kill").text((d) => (d.alive ? "kill" : "restart"))
      .on("click", (e, d) => act(d.alive ? api.kill(d.id) : api.restart(d.id)));
    card.select("button.cut").text((d) => (d.cut ? "heal" : "cut off"))
      .on("click", (e, d) => act(d.cut ? api.heal() : api.partition(d.id)));
    card.select("button.read").on("click", (e, d) => act(api.get(key.property("value"), d.id)));
    // The log as a bar: entries up to last index, the committed part, the
    // applied part, and what a snapshot replaced, on one scale for all.
    card.select("svg.log").each(function (d) {
      const svg = d3.select(this);
      const w = Math.max(160, this.parentNode.clientWidth - 12);
      svg.attr("width", w);
      const x = d3.scaleLinear().domain([0, top]).range([0, w - 2]);
      const rows = [
        ["snap", d.snapshot_index, "snapshot"], ["entries", d.last_index, "log"],
        ["commit", d.commit, "committed"], ["applied", d.applied, "applied"],
      ];
      svg.selectAll("rect.bar").data(rows).join("rect").attr("class", (r) => `bar ${r[0]}`)
        .attr("x", 1).attr("y", (r, i) => (i === 0 ? 2 : 2 + (i - 1) * 10)).attr("height", (r, i) => (i === 0 ? 28 : 8))
        .attr("width", (r) => x(r[1])).append("title").text((r) => `${r[2]}: ${r[1]}`);
    });
    card.select("table.keys").each(function (d) {
      const rows = d.keys.map(([k, v]) => [k, v]);
      if (d.nkeys > d.keys.length) rows.push([`… ${d.nkeys - d.keys.length} more`, ""]);
      if (!rows.length) rows.push(["(no keys)", ""]);
      const tr = d3.select(this).selectAll("tr").data(rows).join("tr");
      tr.selectAll("td").data((r) => r).join("td").text((c) => c);
    });
  }

  act(api.open());
  return {
    ...Object.fromEntries(Object.entries(api).map(([n, f]) => [n, (...a) => act(f(...a))])),
    last: () => last,
  };
}
