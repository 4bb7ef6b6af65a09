import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linkPackage } from "../../../src/builder/install/link-package.ts";
import { runLinkScript } from "../../../src/builder/install/link-scripts.ts";
import type { ExtractedPackage, LinkContext } from "../../../src/builder/install/types.ts";
import { InputError } from "../../../src/errors.ts";
import { buildPackage } from "../../fixtures/conda-package.ts";
import type { PackageDef } from "../../fixtures/conda-package.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import type { Universe } from "../../fixtures/universe.ts";
import { extractPackage, fixturePackage } from "./extract-cli.ts";

let u: Universe;
let work: string;
let n = 0;

before(async () => {
  u = await sharedUniverse();
  work = await mkdtemp(join(tmpdir(), "condaops-scripts-"));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Links `pkg` into a fresh folder (no staging rename: scripts run where the package is). */
async function linked(pkg: ExtractedPackage): Promise<string> {
  const prefix = join(work, "envs", `e${++n}`);
  const ctx: LinkContext = { prefix, staging: prefix, platform: "linux-64", hardlinks: true };
  await linkPackage(pkg, ctx);
  return prefix;
}

async function custom(def: Partial<PackageDef> & { name: string }): Promise<ExtractedPackage> {
  const built = await buildPackage({ version: "1.0", subdir: "linux-64", buildNumber: 7, ...def }, join(work, "channel"), "tar.bz2");
  return extractPackage(built.path, join(work, "pkgs"), "https://conda.anaconda.org/test");
}

test("post-link: runs with conda's variables, output captured and logged, .messages.txt collected and removed", async () => {
  const pkg = await fixturePackage(u, join(work, "pkgs"), "postlink-demo");
  const prefix = await linked(pkg);
  const log: string[] = [];
  const r = await runLinkScript("post-link", pkg, { prefix, timeoutMs: 30_000, log: (l) => log.push(l) });
  assert.equal(r.ran, true);
  assert.equal(await readFile(join(prefix, "share/postlink-demo/post-link-ran"), "utf8"), "postlink-demo 1.0\n");
  assert.equal(r.messages, "postlink-demo installed\n");
  assert.equal(existsSync(join(prefix, ".messages.txt")), false);
  assert.ok(log.some((l) => /postlink-demo-1\.0-h0_0: running post-link script/.test(l)));
  assert.ok(log.some((l) => /message: postlink-demo installed/.test(l)));
});

test("variables, PATH and output: everything the script prints is returned, nothing inherited", async () => {
  const pkg = await custom({
    name: "envcheck",
    postLink: '#!/bin/bash\necho "PREFIX=$PREFIX NAME=$PKG_NAME VERSION=$PKG_VERSION BUILDNUM=$PKG_BUILDNUM"\necho "first on PATH: ${PATH%%:*}"\necho "to stderr" >&2\nenvcheck-tool\n',
    files: [{ path: "bin/envcheck-tool", content: '#!/bin/sh\necho "tool found on PATH"\n' }],
  });
  const prefix = await linked(pkg);
  const log: string[] = [];
  const r = await runLinkScript("post-link", pkg, { prefix, timeoutMs: 30_000, log: (l) => log.push(l) });
  // stdout and stderr are two pipes: their relative order is not guaranteed, each one's is
  const lines = r.output.split("\n");
  assert.deepEqual(lines.filter((l) => l !== "to stderr"), [`PREFIX=${prefix} NAME=envcheck VERSION=1.0 BUILDNUM=7`, `first on PATH: ${prefix}/bin`, "tool found on PATH", ""]);
  assert.ok(lines.includes("to stderr"));
  assert.ok(log.some((l) => /^envcheck-1\.0-\S+ post-link: to stderr$/.test(l)));
});

test("no script: ran is false", async () => {
  const pkg = await fixturePackage(u, join(work, "pkgs"), "linkdemo");
  const prefix = await linked(pkg);
  assert.deepEqual(await runLinkScript("post-link", pkg, { prefix, timeoutMs: 1000 }), { ran: false, output: "" });
  assert.deepEqual(await runLinkScript("pre-unlink", pkg, { prefix, timeoutMs: 1000 }), { ran: false, output: "" });
});

test("a failing post-link script is an InputError carrying its output and exit code", async () => {
  const pkg = await custom({ name: "failing", postLink: "#!/bin/sh\necho about to fail\necho 'oops: no license server' >&2\nexit 3\n" });
  const prefix = await linked(pkg);
  await assert.rejects(runLinkScript("post-link", pkg, { prefix, timeoutMs: 30_000 }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.code, "install.link-script");
    assert.match(e.message, /the post-link script of failing-1\.0-\S+ exited with 3/);
    assert.match(e.message, /about to fail\noops: no license server/);
    return true;
  });
});

test("a script that runs too long is killed, with what it printed, and so are its children", async () => {
  const pkg = await custom({ name: "sleepy", postLink: "#!/bin/sh\necho started\nsleep 30\necho never\n" });
  const prefix = await linked(pkg);
  const t0 = Date.now();
  await assert.rejects(runLinkScript("post-link", pkg, { prefix, timeoutMs: 500 }), (e: unknown) => e instanceof InputError && /did not finish within 500 ms/.test(e.message) && /started/.test(e.message) && !/never/.test(e.message));
  assert.ok(Date.now() - t0 < 10_000, "the sleeping child did not keep the script alive");
});

test("pre-link runs from the package cache with SOURCE_DIR, before the files are in the prefix", async () => {
  const pkg = await custom({ name: "prelinker", preLink: '#!/bin/sh\necho "source=$SOURCE_DIR prefix=$PREFIX"\n' });
  const prefix = join(work, "envs", "not-yet-linked");
  const r = await runLinkScript("pre-link", pkg, { prefix, timeoutMs: 30_000 });
  assert.equal(r.output, `source=${pkg.dir} prefix=${prefix}\n`);
});
