/**
 * The benchmarks' big environment: PACKAGES packages of FILES_PER_PACKAGE text files each
 * (BENCH_PACKAGES / BENCH_FILES override 200 x 110), half `.conda`, half `.tar.bz2`, in a channel
 * served on 127.0.0.1, and the lock that installs them. Shared by the install and artifact benches.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import type { Lock, LockedPackage } from "../src/builder/lock/types.ts";
import { buildPackage } from "../test/fixtures/conda-package.ts";
import type { BuiltPackage } from "../test/fixtures/conda-package.ts";
import { serveChannels } from "../test/fixtures/channel.ts";
import type { ChannelServer } from "../test/fixtures/channel.ts";
import { timed } from "./timing.ts";

export const PACKAGES = Number(process.env.BENCH_PACKAGES ?? 200);
export const FILES_PER_PACKAGE = Number(process.env.BENCH_FILES ?? 110);

function fileContent(seed: number, size: number): string {
  let s = "";
  let x = seed;
  while (s.length < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += `line ${x.toString(36)} of a module that does something useful ${x % 997}\n`;
  }
  return s;
}

export interface SyntheticEnvironment {
  built: BuiltPackage[];
  server: ChannelServer;
  lock: Lock;
  files: number;
}

/** Builds the packages under `dir/channel` and serves them; close `server` when done. */
export async function syntheticEnvironment(dir: string): Promise<SyntheticEnvironment> {
  const channel = join(dir, "channel", "linux-64");
  await mkdir(channel, { recursive: true });
  const built: BuiltPackage[] = [];
  const build = await timed(async () => {
    const limit = pLimit(4);
    await Promise.all(
      Array.from({ length: PACKAGES }, (_, i) =>
        limit(async () => {
          const files = Array.from({ length: FILES_PER_PACKAGE }, (_, j) => ({ path: `lib/pkg${i}/mod${j}.py`, content: fileContent(i * 1000 + j, 1500 + ((i * 7 + j * 13) % 5000)) }));
          built[i] = await buildPackage({ name: `pkg${i}`, version: "1.0", subdir: "linux-64", timestamp: Date.UTC(2024, 0, 1), files }, channel, i % 2 === 0 ? "conda" : "tar.bz2");
        }),
      ),
    );
  });
  const files = PACKAGES * FILES_PER_PACKAGE;
  console.log(`environment: ${PACKAGES} packages, ${files} files (archives built in ${build.ms} ms)`);
  const server = await serveChannels(join(dir, "channel"));
  const packages: LockedPackage[] = built.map((b) => ({
    name: b.record.name, version: b.record.version, build: b.record.build, buildNumber: b.record.build_number, platform: "linux-64", subdir: "linux-64",
    channel: server.url, url: `${server.url}/linux-64/${b.filename}`, filename: b.filename, sha256: b.sha256, md5: b.md5, size: b.size,
    depends: [], constrains: [], manager: "conda", category: "main", optional: false,
  }));
  const lock: Lock = { platforms: ["linux-64"], channels: [server.url], contentHash: {}, sources: [], packages, metadata: {} };
  return { built, server, lock, files };
}
