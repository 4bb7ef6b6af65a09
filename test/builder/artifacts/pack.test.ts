import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { packArtifact } from "../../../src/builder/artifacts/pack.ts";
import type { ArtifactInput } from "../../../src/builder/artifacts/types.ts";
import { parseManifest } from "../../../src/builder/pack/pack-manifest.ts";
import { extract, fixtureLock, installFixture, unpack } from "../pack/helpers.ts";
import type { FixtureEnv } from "../pack/helpers.ts";
import { effectiveSpec } from "../../support/effective.ts";

let work: string;
let env: FixtureEnv;
let prefix: string;
const DEPS = ["python 3.11.*", "requests", "hello-prefix"];

before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-pack-artifact-"));
  env = await fixtureLock(work, DEPS);
  prefix = join(work, "builds", "abcdef012345-tools");
  await installFixture(env, prefix, false);
});
after(async () => {
  await env.close();
  await rm(work, { recursive: true, force: true });
});

function input(extra: Partial<ArtifactInput> = {}): ArtifactInput {
  return {
    namespace: "team",
    name: "tools",
    commit: "c0ffee",
    commitDate: "2024-06-02T03:04:05Z",
    effective: effectiveSpec("http://127.0.0.1:1", DEPS),
    lock: env.lock,
    installed: { prefix, platform: "linux-64", environmentHash: "h" },
    repository: "/srv/envs",
    workDir: join(work, "scratch"),
    cacheDir: env.cacheDir,
    oci: { credentials: [], insecureRegistries: [] },
    log: () => undefined,
    ...extra,
  };
}

async function bytes(body: () => Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body()) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test("the pack maker streams <name>.tar.gz of the installed platform, dated by the commit", async () => {
  assert.equal(packArtifact.kind, "pack");
  assert.equal(packArtifact.needsPrefix, true);
  const logs: string[] = [];
  const files = await packArtifact.make(input({ commitDate: "2024-06-02T03:04:05Z", log: (l) => logs.push(l) }));
  assert.equal(files.length, 1);
  const f = files[0];
  assert.ok(f && typeof f.body === "function");
  assert.deepEqual([f.kind, f.file, f.platform], ["pack", "tools.tar.gz", "linux-64"]);
  const archive = join(work, "got.tar.gz");
  await writeFile(archive, await bytes(f.body));
  assert.match(logs.join("\n"), /pack: \d+ files/);
  const listing = execFileSync("tar", ["--utc", "-tvzf", archive], { encoding: "utf8" }).trim().split("\n");
  for (const line of listing) assert.match(line, / 2024-06-02 03:04 /, line);
  const dest = join(work, "out");
  await extract(archive, dest);
  const manifest = parseManifest(await readFile(join(dest, ".condaops-pack", "manifest.json"), "utf8"));
  assert.equal(manifest.label, "team/tools@c0ffee (linux-64)");
  assert.equal(unpack(dest).status, 0);
  assert.equal(execFileSync(join(dest, "bin", "hello-prefix"), { encoding: "utf8" }).trim(), dest);
  // A second make of the same prefix and commit gives the same bytes.
  const again = await packArtifact.make(input({ commitDate: "2024-06-02T03:04:05Z" }));
  assert.deepEqual(await bytes(again[0]?.body as () => Readable), await readFile(archive));
});

test("nothing is packed without an installed prefix or for Windows", async () => {
  const { installed: _installed, ...rest } = input();
  assert.deepEqual(await packArtifact.make(rest), []);
  const logs: string[] = [];
  assert.deepEqual(await packArtifact.make(input({ installed: { prefix, platform: "win-64", environmentHash: "h" }, log: (l) => logs.push(l) })), []);
  assert.match(logs.join("\n"), /skipped for win-64/);
});
