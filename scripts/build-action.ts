/**
 * Bundles the GitHub Action (`npm run build:action`): src/action/index.ts and the extraction
 * worker into action/dist/ with esbuild, as ES modules for Node 20. The bundle is committed (an
 * Action runs from its repository, without npm install); a test rebuilds it into a temporary
 * folder and fails when the committed files differ.
 *
 * Left out on purpose: `zstd-napi` (a native addon: the pure-JS fzstd decoder takes over) and
 * `@electric-sql/pglite` (15 MB of WASM; `mode: build` records into PostgreSQL, since an
 * embedded database would vanish with the runner).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";

export const EXTERNAL = ["zstd-napi", "zstd-napi/*", "@electric-sql/pglite", "pg-native"];

export async function buildAction(outdir: string): Promise<void> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: { index: "src/action/index.ts", "extract-worker": "src/builder/package/extract-worker.ts" },
    outdir,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    external: EXTERNAL,
    legalComments: "none",
    logLevel: "warning",
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: { js: 'import { createRequire as __condaopsCreateRequire } from "node:module"; const require = __condaopsCreateRequire(import.meta.url);' },
  });
  await writeFile(join(outdir, "package.json"), `${JSON.stringify({ type: "module", private: true }, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildAction("action/dist");
  console.log("wrote action/dist/");
}
