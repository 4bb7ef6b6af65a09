/**
 * Install benchmark: an environment of 200 packages and >= 20,000 files, built by the fixtures
 * and served on 127.0.0.1.
 *   cold: empty package cache (download, verify, extract, link) against the command-line tools
 *         extracting the same archives (`tar -xjf`; `unzip -p | zstd -d | tar -x`), same parallelism;
 *   warm: full cache (link only) against `cp -al` of the extracted trees into one folder.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pLimit from "p-limit";
import { installLock } from "../src/builder/install/install.ts";
import { createPackageCache } from "../src/builder/package/package-cache.ts";
import { syntheticEnvironment } from "./synthetic-environment.ts";
import { peakRssMb, timed } from "./timing.ts";

const exec = promisify(execFile);
const CONCURRENCY = 8;

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-bench-install-"));
  try {
    const { built, server, lock } = await syntheticEnvironment(dir);
    try {
      const install = (prefix: string, cacheRoot: string) => installLock(lock, { prefix, platform: "linux-64", cache: createPackageCache({ root: cacheRoot }), concurrency: CONCURRENCY, linkScripts: false });
      const cliLimit = pLimit(CONCURRENCY);
      const extractCli = (cli: string) =>
        Promise.all(
          built.map((b) =>
            cliLimit(async () => {
              const out = join(cli, b.filename);
              await mkdir(out, { recursive: true });
              if (b.filename.endsWith(".tar.bz2")) await exec("tar", ["-xjf", b.path, "-C", out]);
              else {
                const stem = b.filename.replace(/\.conda$/, "");
                for (const part of ["info", "pkg"]) await exec("sh", ["-c", `unzip -p "$1" "${part}-${stem}.tar.zst" | zstd -dq | tar -x -C "$2"`, "sh", b.path, out]);
              }
            }),
          ),
        );
      // ABBA order, best of two each: on some filesystems whichever run creates files right after
      // a large deletion pays for it, so a single fixed order would measure the order.
      const cold1 = await timed(() => install(join(dir, "envs", "cold1"), join(dir, "cache1")));
      const rssCold = peakRssMb();
      const cli1 = await timed(() => extractCli(join(dir, "cli1")));
      const cli2 = await timed(() => extractCli(join(dir, "cli2")));
      const cold2 = await timed(() => install(join(dir, "envs", "cold2"), join(dir, "cache2")));
      const cold = cold1.ms <= cold2.ms ? cold1 : cold2;
      const extractMs = Math.min(cli1.ms, cli2.ms);
      const warm1 = await timed(() => install(join(dir, "envs", "warm1"), join(dir, "cache1")));
      const cpal1 = await timed(() => exec("sh", ["-c", `mkdir -p "$2" && for d in "$1"/*/; do cp -al "$d". "$2"/; done`, "sh", join(dir, "cli1"), join(dir, "cpal1")]));
      const cpal2 = await timed(() => exec("sh", ["-c", `mkdir -p "$2" && for d in "$1"/*/; do cp -al "$d". "$2"/; done`, "sh", join(dir, "cli2"), join(dir, "cpal2")]));
      const warm2 = await timed(() => install(join(dir, "envs", "warm2"), join(dir, "cache2")));
      const warm = { ms: Math.min(warm1.ms, warm2.ms) };
      const cpal = { ms: Math.min(cpal1.ms, cpal2.ms) };
      const extractCliResult = { ms: extractMs };

      console.log(`cold install: ${cold.ms} ms (${cold.value.files} files, ${cold.value.linkType}); CLI extraction baseline: ${extractCliResult.ms} ms; ratio ${(cold.ms / extractCliResult.ms).toFixed(2)}x (goal <= 1.2x)`);
      console.log(`warm install: ${warm.ms} ms; cp -al baseline: ${cpal.ms} ms; ratio ${(warm.ms / cpal.ms).toFixed(2)}x (goal <= 1.5x)`);
      console.log(`peak RSS: ${rssCold} MB after the cold install, ${peakRssMb()} MB at the end`);
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
