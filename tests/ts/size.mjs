// The size budget of embed.js: minified with terser <= 6 KiB, gzipped <= 2.5 KiB.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { minify } from "terser";

const source = readFileSync(new URL("../../meshes-core/assets/embed.js", import.meta.url), "utf8");
const { code } = await minify(source, { compress: true, mangle: true, format: { comments: false } });
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(`embed.js: ${source.length} B source, ${code.length} B minified, ${gzipped} B gzipped`);
if (code.length > 6 * 1024 || gzipped > 2.5 * 1024) {
  console.error("embed.js is over its budget: 6 KiB minified, 2.5 KiB gzipped");
  process.exit(1);
}
