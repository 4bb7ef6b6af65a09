#!/usr/bin/env node
// Runs every test file under test/ with node's test runner and tsx.
// Node 20's `--test` does not expand globs, so the files are listed here; arguments narrow the set
// (`npm test -- spec` runs the files whose path contains "spec").
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "fixtures" || entry === "__fixtures__" || entry === "node_modules") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (entry.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const flags = process.argv.slice(2).filter((a) => a.startsWith("-"));
const files = walk("test")
  .map((f) => relative(process.cwd(), f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=180000", ...flags, ...files], {
  stdio: "inherit",
  env: { ...process.env, CONDAOPS_TESTING: "1" },
});
process.exit(result.status ?? 1);
