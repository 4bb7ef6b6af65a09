import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedUniverse } from "../fixtures/universe.ts";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { json, runCli } from "../support/run-cli.ts";

let server: ChannelServer;
let work: string;
let config: string;

before(async () => {
  server = await serveChannels((await sharedUniverse()).dir);
  work = await mkdtemp(join(tmpdir(), "condaops-install-cli-"));
  config = join(work, "condaops.config.yaml");
  await writeFile(config, `cache_dir: ${join(work, "cache")}\ninstall:\n  concurrency: 4\n`);
  await mkdir(join(work, "envs", "tools"), { recursive: true });
  await writeFile(join(work, "envs", "tools", "hello.yaml"), "dependencies: [hello-prefix, requests, python=3.12]\n");
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

test("lock, then install: the prefix's programs run; --json reports what was done", async () => {
  const lockFile = join(work, "envs", "tools", "hello.lock.yml");
  const locked = await runCli("lock", join(work, "envs", "tools", "hello.yaml"), "--channel-alias", server.url, "--config", config);
  assert.equal(locked.code, 0, locked.stderr);
  const prefix = join(work, "prefixes", "hello");
  const r = await runCli("install", lockFile, "--prefix", prefix, "--config", config, "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = json<{ ok: boolean; prefix: string; packages: number; files: number }>(r);
  assert.equal(out.prefix, prefix);
  assert.ok(out.packages >= 3);
  assert.match(r.stderr, /^fetch: \d+\/\d+ packages in [\d.]+ s/m, "one line per phase when not on a terminal");
  assert.match(r.stderr, /^link: \d+\/\d+ packages in [\d.]+ s/m);
  assert.equal(execFileSync(join(prefix, "bin", "hello-prefix"), { encoding: "utf8" }).trim(), prefix);
  const again = await runCli("install", lockFile, "--prefix", prefix, "--config", config);
  assert.equal(again.code, 1, "an existing prefix is refused");
  assert.match(again.stderr, /already exists; installs never overwrite a prefix/);
});

test("bad locks and bad calls", async () => {
  const bad = join(work, "bad.lock.yml");
  await writeFile(bad, "version: 1\nmetadata: {}\npackage: []\n");
  const r = await runCli("install", bad, "--prefix", join(work, "p1"), "--config", config);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.lock\.yml/);
  assert.equal((await runCli("install", join(work, "missing.lock.yml"), "--prefix", join(work, "p2"), "--config", config)).code, 2);
  assert.equal((await runCli("install", bad, "--config", config)).code, 2, "--prefix is required");
});
