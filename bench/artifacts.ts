/**
 * Artifact benchmark: making the relocatable tarball (`pack`) and the OCI image archive of an
 * installed prefix, against `tar -czf` of the same prefix (the same gzip level, 6), as ratios.
 * Two environments: the largest sample environment of the fixture universe (what the README's
 * walkthrough builds) and the synthetic 200-package, 22,000-file one of the install bench.
 * ABBA order, best of two each (see bench/install.ts on this machine's filesystem).
 */
import { execFile } from "node:child_process";
import { readdir, rm, mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { installLock } from "../src/builder/install/install.ts";
import { createPackageCache } from "../src/builder/package/package-cache.ts";
import { writePack } from "../src/builder/pack/pack-archive.ts";
import { buildOciArchive } from "../src/builder/oci/build-image.ts";
import { serveChannels } from "../test/fixtures/channel.ts";
import { sharedUniverse } from "../test/fixtures/universe.ts";
import { runCli } from "../test/support/run-cli.ts";
import { syntheticEnvironment } from "./synthetic-environment.ts";
import { peakRssMb, timed } from "./timing.ts";

const exec = promisify(execFile);
const SAMPLES = ["data-science/analytics", "data-science/nlp", "geo/gdal", "ml/gpu", "tools/cli"];

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += 1;
  return n;
}

async function measure(label: string, prefix: string, work: string, cacheDir: string): Promise<void> {
  const files = await countFiles(prefix);
  await mkdir(work, { recursive: true });
  const out = (name: string) => join(work, name);
  const tarCzf = (file: string) => timed(() => exec("tar", ["-czf", file, "-C", prefix, "."], { env: { ...process.env, GZIP: "-6" } }));
  const pack = (file: string) => timed(() => writePack({ prefix, out: file, cacheDir, mtime: new Date("2024-01-01T00:00:00Z") }));
  const oci = (sub: string) =>
    timed(async () => {
      await mkdir(out(sub), { recursive: true });
      return buildOciArchive({ prefix, name: "bench", platform: "linux-64", workDir: out(sub) });
    });
  const t1 = await tarCzf(out("tar1.tar.gz"));
  const p1 = await pack(out("pack1.tar.gz"));
  const o1 = await oci("oci1");
  const o2 = await oci("oci2");
  const p2 = await pack(out("pack2.tar.gz"));
  const t2 = await tarCzf(out("tar2.tar.gz"));
  const tar = Math.min(t1.ms, t2.ms);
  const packMs = Math.min(p1.ms, p2.ms);
  const ociMs = Math.min(o1.ms, o2.ms);
  console.log(`${label}: ${files} files`);
  console.log(`  tar -czf baseline: ${tar} ms`);
  console.log(`  pack: ${packMs} ms (${p1.value.bytes} bytes, ${p1.value.rewrites.text} text / ${p1.value.rewrites.binary} binary rewrites); ratio ${(packMs / tar).toFixed(2)}x`);
  console.log(`  oci:  ${ociMs} ms (layer ${o1.value.layerSize} bytes, manifest ${o1.value.manifestDigest.slice(0, 19)}, same digest twice: ${o1.value.manifestDigest === o2.value.manifestDigest}); ratio ${(ociMs / tar).toFixed(2)}x`);
  await rm(work, { recursive: true, force: true });
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-bench-artifacts-"));
  try {
    // 1. The largest sample environment, installed from the fixture universe.
    const universe = await sharedUniverse();
    const server = await serveChannels(universe.dir);
    const config = join(dir, "condaops.config.yaml");
    await writeFile(config, `cache_dir: ${join(dir, "cache")}\n`);
    let largest = { env: "", prefix: "", files: -1 };
    try {
      for (const env of SAMPLES) {
        const lockFile = join(dir, `${env.replace("/", "-")}.lock.yml`);
        const locked = await runCli("lock", `environments/${env}.yaml`, "--channel-alias", server.url, "--platform", "linux-64", "-o", lockFile, "--config", config);
        if (locked.code !== 0) throw new Error(`${env}: ${locked.stderr}`);
        const prefix = join(dir, "envs", env.replace("/", "-"));
        const installed = await runCli("install", lockFile, "--prefix", prefix, "--config", config);
        if (installed.code !== 0) throw new Error(`${env}: ${installed.stderr}`);
        const files = await countFiles(prefix);
        if (files > largest.files) largest = { env, prefix, files };
      }
    } finally {
      await server.close();
    }
    await measure(`largest sample environment (${largest.env})`, largest.prefix, join(dir, "work"), join(dir, "cache"));

    // 2. The synthetic environment of the install bench.
    const synthetic = await syntheticEnvironment(join(dir, "synthetic"));
    const prefix = join(dir, "envs", "synthetic");
    try {
      await installLock(synthetic.lock, { prefix, platform: "linux-64", cache: createPackageCache({ root: join(dir, "cache-synthetic") }), concurrency: 8, linkScripts: false });
    } finally {
      await synthetic.server.close();
    }
    await measure("synthetic environment", prefix, join(dir, "work"), join(dir, "cache-synthetic"));
    console.log(`peak RSS: ${peakRssMb()} MB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
