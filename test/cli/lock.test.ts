import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCondaLock } from "../../src/builder/lock/conda-lock-v1.ts";
import { sharedUniverse } from "../fixtures/universe.ts";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { json, runCli } from "../support/run-cli.ts";

let server: ChannelServer;
let work: string;
let config: string;

const POLICY = "channels: {default: [conda-forge], allowed: [conda-forge, extra]}\npackages:\n  blocked: [{name: 'urllib3<2', reason: old}]\n";

before(async () => {
  const universe = await sharedUniverse();
  server = await serveChannels(universe.dir, { hooks: [{ match: "/private/", hook: { kind: "token", token: "tk-very-secret-1" } }] });
  work = await mkdtemp(join(tmpdir(), "condaops-lock-cli-"));
  config = join(work, "condaops.config.yaml");
  await writeFile(config, `cache_dir: ${join(work, "cache")}\n`);
  await mkdir(join(work, "envs", "ds"), { recursive: true });
  await writeFile(join(work, "envs", "policy.yaml"), POLICY);
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

async function spec(name: string, body: string): Promise<string> {
  const path = join(work, "envs", "ds", `${name}.yaml`);
  await writeFile(path, body);
  return path;
}

test("condaops lock on the sample repository, against the fixture channel, as a new user would", async () => {
  const out = join(work, "analytics.lock.yml");
  const r = await runCli("lock", "environments/data-science/analytics.yaml", "--channel-alias", server.url, "-o", out, "--config", config);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^linux-64: \d+ packages \(environment hash [0-9a-f]{12}\)$/m);
  const lock = parseCondaLock(out, await readFile(out, "utf8"));
  const names = lock.packages.map((p) => p.name);
  for (const n of ["python", "pandas", "numpy", "jupyterlab", "ipykernel", "scikit-learn"]) assert.ok(names.includes(n), n);
  assert.equal(lock.packages.find((p) => p.name === "python")?.version.startsWith("3.11."), true, "python=3.11 from the spec");
  assert.deepEqual(lock.sources, ["data-science/analytics.yaml"]);
});

test("lock writes next to the spec by default, and a second run keeps the locked versions", async () => {
  const path = await spec("ml", "dependencies: [python, numpy]\n");
  const first = await runCli("lock", path, "--channel-alias", server.url, "--as-of", "2024-03-01", "--config", config, "--json");
  assert.equal(first.code, 0, first.stderr);
  const lockPath = join(work, "envs", "ds", "ml.lock.yml");
  assert.equal(json<{ output: string }>(first).output, lockPath);
  const v1 = parseCondaLock(lockPath, await readFile(lockPath, "utf8"));
  assert.equal(v1.packages.find((p) => p.name === "numpy")?.version, "1.26.4");
  await spec("ml", "dependencies: [python, numpy, scipy]\n");
  const second = await runCli("lock", path, "--channel-alias", server.url, "--config", config);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /keeping the versions of .*ml\.lock\.yml/);
  const v2 = parseCondaLock(lockPath, await readFile(lockPath, "utf8"));
  assert.equal(v2.packages.find((p) => p.name === "numpy")?.version, "1.26.4", "numpy not upgraded by adding scipy");
  assert.ok(v2.packages.some((p) => p.name === "scipy"));
  const fresh = await runCli("lock", path, "--channel-alias", server.url, "--config", config, "--fresh", "-o", join(work, "fresh.lock.yml"));
  assert.equal(fresh.code, 0, fresh.stderr);
  const v3 = parseCondaLock("fresh", await readFile(join(work, "fresh.lock.yml"), "utf8"));
  assert.equal(v3.packages.find((p) => p.name === "numpy")?.version, "2.0.0");

  const diff = await runCli("diff", lockPath, join(work, "fresh.lock.yml"), "--exit-code");
  assert.equal(diff.code, 1, "the locks differ");
  assert.match(diff.stdout, /numpy/);
  const md = await runCli("diff", lockPath, join(work, "fresh.lock.yml"), "--markdown");
  assert.equal(md.code, 0);
  assert.match(md.stdout, /\| *numpy *\| *1\.26\.4 *\| *2\.0\.0 *\|/);
  const same = await runCli("diff", lockPath, lockPath, "--exit-code", "--json");
  assert.equal(same.code, 0);
  assert.equal(json<{ same: boolean }>(same).same, true);
});

test("policy applies at lock time: a blocked version cannot come in as a dependency", async () => {
  const path = await spec("web", "dependencies: [requests]\n");
  const r = await runCli("lock", path, "--channel-alias", server.url, "--config", config, "-o", join(work, "web.lock.yml"), "--as-of", "2023-07-01");
  // requests 2.31 needs urllib3; only 1.26.15 existed then (2.0.4 came on 2023-07-20) and the policy blocks urllib3<2.
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot be solved for linux-64 as of 2023-07-01/);
  assert.match(r.stderr, /urllib3/);
  assert.equal(existsSync(join(work, "web.lock.yml")), false, "nothing written");
  const later = await runCli("lock", path, "--channel-alias", server.url, "--config", config, "-o", join(work, "web.lock.yml"), "--as-of", "2023-08-01");
  assert.equal(later.code, 0, later.stderr);
  assert.match(await readFile(join(work, "web.lock.yml"), "utf8"), /urllib3-2\.0\.4/);
});

test("bad input: invalid spec exits 1, bad flags exit 2, unreachable channels exit 3", async () => {
  const bad = await spec("bad", "dependencies: [numpy>>=1]\n");
  const invalid = await runCli("lock", bad, "--channel-alias", server.url, "--config", config);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /ds\/bad\.yaml:1:16: "numpy>>=1" is not a valid match spec/);
  const ok = await spec("ok", "dependencies: [python]\n");
  const asOf = await runCli("lock", ok, "--as-of", "last tuesday", "--config", config);
  assert.equal(asOf.code, 2);
  assert.match(asOf.stderr, /--as-of "last tuesday" is not a date/);
  assert.equal((await runCli("lock", ok, "--platform", "linux-65", "--config", config)).code, 2);
  const down = await runCli("lock", ok, "--channel-alias", "http://127.0.0.1:9", "--config", config, "-o", join(work, "down.lock.yml"));
  assert.equal(down.code, 3, down.stderr);
  assert.match(down.stderr, /127\.0\.0\.1:9\/conda-forge/);
});

test("channel tokens from the configuration reach the server but never the lock or the output", async () => {
  const universe = await sharedUniverse();
  // A private channel: the universe's conda-forge served under /private/ behind a token.
  const { symlink } = await import("node:fs/promises");
  await symlink(join(universe.dir, "conda-forge"), join(universe.dir, "private"), "dir").catch(() => undefined);
  const cfg = join(work, "token.config.yaml");
  await writeFile(cfg, `cache_dir: ${join(work, "cache2")}\nchannels:\n  credentials:\n    - {prefix: "${server.url}/private", token_env: TEST_CONDA_TOKEN}\n`);
  const path = await spec("priv", `channels: ["${server.url}/private"]\ndependencies: [requests]\n`);
  await writeFile(join(work, "envs", "policy.yaml"), "version: 1\n");
  process.env.TEST_CONDA_TOKEN = "tk-very-secret-1";
  try {
    const r = await runCli("lock", path, "--config", cfg, "-o", join(work, "priv.lock.yml"), "--json");
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(join(work, "priv.lock.yml"), "utf8");
    assert.ok(text.includes(`${server.url}/private/noarch/requests-`), "the lock names the channel");
    assert.ok(!text.includes("tk-very-secret-1") && !r.stdout.includes("tk-very-secret-1") && !r.stderr.includes("tk-very-secret-1"));
    assert.ok(server.requests.some((q) => q.url.startsWith("/t/tk-very-secret-1/private/")), "the token was sent");
  } finally {
    delete process.env.TEST_CONDA_TOKEN;
    await writeFile(join(work, "envs", "policy.yaml"), POLICY);
  }
});

test("--kind writes @EXPLICIT lists and pinned environment.yml files per platform", async () => {
  const path = await spec("multi", "dependencies: [numpy, requests]\nplatforms: [linux-64, osx-arm64]\n");
  const out = join(work, "multi.lock.yml");
  const r = await runCli("lock", path, "--channel-alias", server.url, "--config", config, "-o", out, "--kind", "lock", "explicit", "env");
  assert.equal(r.code, 0, r.stderr);
  for (const p of ["linux-64", "osx-arm64"]) {
    const explicit = await readFile(join(work, `multi.${p}.explicit.txt`), "utf8");
    assert.match(explicit, new RegExp(`# platform: ${p}`));
    assert.match(explicit, /^@EXPLICIT$/m);
    assert.match(explicit, new RegExp(`^${server.url}/conda-forge/${p}/numpy-[^#]+#[0-9a-f]{64}$`, "m"));
    const pinned = await readFile(join(work, `multi.${p}.pinned.yaml`), "utf8");
    assert.match(pinned, /^name: multi$/m);
    assert.match(pinned, /^ {2}- numpy=[\d.]+=\S+$/m);
  }
  assert.ok(existsSync(out));
  assert.equal((await runCli("lock", path, "--kind", "pdf", "--config", config)).code, 2);
});
