// draw_txn.js: the transactions of one stage, side by side above its
// picture: each session (a, b, ...) with its isolation level, the
// sequence number its snapshot sees up to (stages 04 on number their
// writes; 01 to 03 have no numbers, their snapshot is "the database as
// it was"), what it read (its read set, with the values it saw), what it
// will write, and how it ended: committed, aborted, or refused with the
// key whose newer version conflicts (drawn in the picture below).

import * as d3 from "d3";
import { shown } from "./bytes.js";

function pairs(map) {
  return [...map].map(([k, v]) => `${shown(k, 24)} = ${v === null ? "(absent)" : `"${shown(v, 24)}"`}`);
}

export function drawSessions(div, sessions, view) {
  const list = Object.values(sessions || {});
  div.selectAll("*").remove();
  div.classed("on", list.length > 0);
  if (!list.length) return;
  const box = div.selectAll("div.session").data(list).join("div")
    .attr("class", (s) => `session ${s.state}`).attr("data-session", (s) => s.name).attr("data-state", (s) => s.state);
  box.append("div").attr("class", "head").text((s) => `${s.name} · ${s.level} · ${s.state}`);
  box.append("div").attr("class", "snap").text((s) => (s.seq !== null && s.seq !== undefined
    ? `snapshot: sees sequence numbers up to ${s.seq}` : "snapshot: the database as it was at begin"));
  box.append("div").attr("class", "reads").text((s) => `read: ${s.reads.size ? pairs(s.reads).join(", ") : "nothing"}` +
    (s.level === "snapshot" && s.reads.size ? " (not checked at commit: snapshot isolation)" : ""));
  box.append("div").attr("class", "writes").text((s) => `writes: ${s.writes.size ? pairs(s.writes).join(", ") : "nothing"}`);
  box.filter((s) => s.state === "committed" && s.commitSeq !== null && s.commitSeq !== undefined)
    .append("div").attr("class", "end").text((s) => `committed: its writes are sequence numbers up to ${s.commitSeq}`);
  box.filter((s) => s.state === "conflict").append("div").attr("class", "end")
    .text((s) => `conflict: "${shown(s.conflict?.key ?? "", 24)}" was written since its snapshot; nothing of it was written`);
  d3.select(div.node()).attr("data-count", list.length);
}
