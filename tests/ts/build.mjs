// embed.js as the library serves it: minified with terser (pinned by package-lock.json), and
// precompressed once with gzip and brotli (Node's zlib). `node build.mjs` writes
// meshes-core/assets/embed.min.js{,.gz,.br}; `node build.mjs --check` (CI) fails when they are
// stale (the minified bytes differ from what terser makes of embed.js now, or a compressed file
// does not decode to them) or over the budget that BENCHMARKS.md gives: bytes on the wire.
import { readFileSync, writeFileSync } from "node:fs";
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { minify } from "terser";

const assets = new URL("../../meshes-core/assets/", import.meta.url);
const source = readFileSync(new URL("embed.js", assets), "utf8");
const { code } = await minify(source, {
  compress: true,
  mangle: true,
  format: { comments: /^!/ }, // the license line
});
const min = Buffer.from(code + "\n", "utf8");
const files = { min: new URL("embed.min.js", assets), gz: new URL("embed.min.js.gz", assets), br: new URL("embed.min.js.br", assets) };

// Budget (bytes on the wire): identity 9.5 KiB, gzip and brotli 4 KiB (BENCHMARKS.md).
const BUDGET = { min: 9.5 * 1024, gz: 4 * 1024, br: 4 * 1024 };

if (process.argv.includes("--check")) {
  const stale = [];
  const read = (f) => { try { return readFileSync(f); } catch { return Buffer.alloc(0); } };
  const got = { min: read(files.min), gz: read(files.gz), br: read(files.br) };
  if (!got.min.equals(min)) stale.push("embed.min.js is not terser's output of embed.js");
  try { if (!gunzipSync(got.gz).equals(got.min)) stale.push("embed.min.js.gz does not decode to embed.min.js"); }
  catch { stale.push("embed.min.js.gz is not gzip"); }
  try { if (!brotliDecompressSync(got.br).equals(got.min)) stale.push("embed.min.js.br does not decode to embed.min.js"); }
  catch { stale.push("embed.min.js.br is not brotli"); }
  console.log(`embed.js on the wire: ${got.min.length} B identity, ${got.gz.length} B gzip, ${got.br.length} B br (source ${source.length} B)`);
  for (const k of Object.keys(BUDGET)) {
    if (got[k].length > BUDGET[k]) stale.push(`${k}: ${got[k].length} B is over its budget of ${BUDGET[k]} B`);
  }
  if (stale.length) {
    console.error(stale.join("\n") + "\nrun `npm run build` in tests/ts and commit meshes-core/assets/embed.min.js*");
    process.exit(1);
  }
} else {
  const gz = gzipSync(min, { level: 9 });
  const br = brotliCompressSync(min, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: min.length } });
  writeFileSync(files.min, min);
  writeFileSync(files.gz, gz);
  writeFileSync(files.br, br);
  console.log(`wrote embed.min.js: ${min.length} B, .gz ${gz.length} B, .br ${br.length} B`);
}
