// A separate process for the cache race tests: `node --import tsx race-child.ts <job.json>`.
// "ensure": says "ready", waits for "go" on stdin, ensures every package into the shared cache
// and prints the extracted folders as JSON. "hold-lock": takes a cache lock, says "locked" and
// waits to be killed, leaving the lock behind as a crashed process would.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { acquireLock } from "../../../src/builder/package/cache-lock.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import type { LockedPackage } from "../../../src/builder/lock/types.ts";

type Job = { mode: "ensure"; root: string; packages: LockedPackage[]; concurrency: number } | { mode: "hold-lock"; lockPath: string };

const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as Job;

if (job.mode === "hold-lock") {
  await acquireLock(job.lockPath);
  process.stdout.write("locked\n");
  setInterval(() => undefined, 60_000);
} else {
  const cache = createPackageCache({ root: job.root, log: process.env.RACE_LOG ? (l) => console.error(`[${process.pid}] ${l}`) : undefined });
  process.stdout.write("ready\n");
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()));
  const queue = [...job.packages];
  const dirs: string[] = [];
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) dirs.push((await cache.ensure(p)).dir);
    }),
  );
  process.stdout.write(JSON.stringify(dirs.sort()) + "\n");
  process.exit(0);
}
