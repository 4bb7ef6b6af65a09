/**
 * Solve benchmark: a 30-spec environment against >= 100,000 synthetic repodata records served on
 * 127.0.0.1. Cold (empty cache: download, parse, filter, solve) and warm (cache confirmed by a
 * 304: parse, filter, solve) through condaops, and, as the baseline in the same process, rattler's
 * simpleSolve given the whole channel directly (what a solve without condaops' pruning costs).
 */
import { mkdtemp, rm, mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { createRepodataGateway } from "../src/builder/channels/repodata-gateway.ts";
import { solveEnvironment } from "../src/builder/solve/solve.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../src/config/index.ts";
import { serveChannels } from "../test/fixtures/channel.ts";
import { writeSyntheticRepodata } from "../test/fixtures/synthetic-repodata.ts";
import { effectiveSpec } from "../test/support/effective.ts";
import { peakRssMb, timed } from "./timing.ts";

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);



export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-bench-solve-"));
  try {
    const channel = join(dir, "synthetic");
    await mkdir(join(channel, "noarch"), { recursive: true });
    await mkdir(join(channel, "linux-64"), { recursive: true });
    await writeFile(join(channel, "noarch", "repodata.json"), JSON.stringify({ info: { subdir: "noarch" }, packages: {}, "packages.conda": {} }));
    const gen = await timed(() => writeSyntheticRepodata(join(channel, "linux-64", "repodata.json"), { records: RECORDS, seed: 42, subdir: "linux-64" }));
    console.log(`repodata: ${gen.value.records} records, ${(gen.value.bytes / 1e6).toFixed(1)} MB (generated in ${gen.ms} ms)`);

    // 30 specs spread over the older part of the index: the synthetic fan-out makes newer names
    // reach most of the channel, while a real 30-spec environment resolves to a few hundred packages.
    const doc = JSON.parse(await readFile(join(channel, "linux-64", "repodata.json"), "utf8")) as { packages: Record<string, { name: string }>; "packages.conda": Record<string, { name: string }> };
    const names = [...new Set([...Object.values(doc.packages), ...Object.values(doc["packages.conda"])].map((r) => r.name))];
    const specs = names.filter((n) => !/^python/.test(n)).slice(100, 400).filter((_, i) => i % 10 === 0);
    const server = await serveChannels(dir);
    const spec = effectiveSpec(server.url, specs, { channels: [`${server.url}/synthetic`] });
    const cache = join(dir, "cache");
    try {
      const solveOnce = async () => (await solveEnvironment(spec, { gateway: createRepodataGateway({ cacheDir: cache }), virtualPackages: DEFAULT_VIRTUAL_PACKAGES })).lock.packages.length;
      const cold = await timed(solveOnce);
      const rssCold = peakRssMb();
      const warm = await timed(solveOnce);
      const warm2 = await timed(solveOnce);
      const warmMs = Math.min(warm.ms, warm2.ms);
      console.log(`condaops cold: ${cold.ms} ms (${cold.value} packages), peak RSS ${rssCold} MB`);
      console.log(`condaops warm: ${warmMs} ms, peak RSS ${peakRssMb()} MB`);
      console.log(`warm/cold: ${(warmMs / cold.ms).toFixed(2)}x`);
      const baseline = await timed(async () => (await simpleSolve(specs, [`${server.url}/synthetic`], ["linux-64", "noarch"], undefined)).length);
      console.log(`baseline (rattler simpleSolve on the whole channel): ${baseline.ms} ms (${baseline.value} packages), peak RSS ${peakRssMb()} MB`);
      console.log(`condaops warm / baseline: ${(warmMs / baseline.ms).toFixed(2)}x  (goal: warm < 5000 ms, < 1.5 GB)`);
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
