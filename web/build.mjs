// build.mjs: makes the lab page in OUTDIR (make wasm calls it):
//   node web/build.mjs OUTDIR STAGE... [group-10-raft.js]
// bundles web/src/lab.js and its libraries (d3, from node_modules) into
// one classic script, OUTDIR/lab.js (a page opened from disk may not load
// modules), copies the style sheet and lz4's licence (the engines of
// stages 05 on hold lz4, compiled from the npm package's copy), and writes OUTDIR/index.html with a
// script tag for each stage's engine (OUTDIR/kv-STAGE.js, made by emcc).
import { build } from "esbuild";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [outdir, ...stages] = process.argv.slice(2);
if (!outdir) {
  console.error("usage: node web/build.mjs OUTDIR STAGE...");
  process.exit(2);
}
await build({
  entryPoints: [join(here, "src/lab.js")],
  bundle: true,
  format: "iife",
  target: "es2020",
  minify: false,
  legalComments: "eof",
  outfile: join(outdir, "lab.js"),
  logLevel: "warning",
});
copyFileSync(join(here, "src/lab.css"), join(outdir, "lab.css"));
const lz4Licence = join(here, "node_modules/lz4/deps/lz4/lib/LICENSE");
if (existsSync(lz4Licence)) copyFileSync(lz4Licence, join(outdir, "LICENSE.lz4"));
// A name ending in .js is a script of its own (group-10-raft.js: stage
// 10's group, web/lab_raft.c), named as it is.
const tags = stages.map((s) => `<script src="${s.endsWith(".js") ? s : `kv-${s}.js`}"></script>`).join("\n");
const html = readFileSync(join(here, "index.html"), "utf8").replace("<!-- ENGINES -->", tags);
writeFileSync(join(outdir, "index.html"), html);
console.log(`lab: ${join(outdir, "index.html")} (${stages.length} engines)`);
