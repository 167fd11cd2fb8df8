// picture.js: what every picture of the lab has: a title, a legend of its
// colours and marks, and notes wrapped to the picture's width (never cut:
// a long get path goes on the next line).

// Characters of the notes' font (11-12 px sans-serif) that fit in w px.
export const charsIn = (w, px = 6.4) => Math.max(4, Math.floor(w / px));

// Text split into lines of at most n characters, at spaces.
export function wrap(text, n) {
  const out = [];
  let line = "";
  for (const word of String(text).split(" ")) {
    if (line && line.length + 1 + word.length > n) {
      out.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
    while (line.length > n) {
      out.push(line.slice(0, n));
      line = line.slice(n);
    }
  }
  if (line) out.push(line);
  return out;
}

// Writes text at (x, y), wrapped to width; returns the y below it.
export function note(svg, cls, x, y, width, text, lineH = 14) {
  const lines = wrap(text, charsIn(width, cls === "title" ? 7 : 6.2));
  const t = svg.append("text").attr("class", cls).attr("x", x).attr("y", y);
  lines.forEach((l, i) => t.append("tspan").attr("x", x).attr("dy", i ? lineH : 0).text(l));
  return y + lines.length * lineH;
}

// A legend: items [{cls, shape, label}] in rows across width, from y (the
// top of the first row); shape "rect" (a box drawn with the class, as the
// picture draws the thing), "outline" (an empty box: marks), "line" or
// "dash".  Returns the y below it.
export function legend(svg, y, width, items) {
  const g = svg.append("g").attr("class", "legend").attr("transform", `translate(0,${y})`);
  let x = 0, row = 0;
  const rowH = 15;
  for (const it of items) {
    const w = 16 + 6 + it.label.length * 5.6 + 14;
    if (x > 0 && x + w > width) {
      x = 0;
      row++;
    }
    const item = g.append("g").attr("class", "item").attr("transform", `translate(${x},${row * rowH})`);
    const mark = item.append("g").attr("class", it.cls || "");
    if (it.shape === "line" || it.shape === "dash") {
      mark.append("line").attr("x1", 0).attr("x2", 16).attr("y1", 5).attr("y2", 5);
    } else {
      mark.append("rect").attr("class", it.inner || "").attr("width", 16).attr("height", 10).attr("rx", 1.5);
    }
    item.append("text").attr("class", "legend-label").attr("x", 21).attr("y", 9).text(it.label);
    x += w;
  }
  return y + (row + 1) * rowH + 4;
}
