// default_permissions / default_uid / default_gid applied to a built prefix.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmod, lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyPermissions, parsePermissions } from "../../../src/builder/build/permissions.ts";
import { InfraError, InputError } from "../../../src/errors.ts";

let work: string;
let n = 0;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-perm-"));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A small prefix: folders, an executable, data files, a symlink inside, and a sibling folder outside. */
async function prefix(): Promise<{ root: string; outside: string }> {
  const base = join(work, `p${++n}`);
  const root = join(base, "prefix");
  const outside = join(base, "outside");
  await mkdir(join(root, "bin"), { recursive: true });
  await mkdir(join(root, "lib", "python3.11"), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, "bin", "python"), "#!/bin/sh\n");
  await chmod(join(root, "bin", "python"), 0o700);
  await writeFile(join(root, "lib", "python3.11", "os.py"), "x");
  await chmod(join(root, "lib", "python3.11", "os.py"), 0o600);
  await writeFile(join(root, "lib", "data.json"), "{}");
  await chmod(join(root, "lib", "data.json"), 0o666);
  await writeFile(join(root, "lib", "group-exec-only"), "");
  await chmod(join(root, "lib", "group-exec-only"), 0o610);
  await symlink("python", join(root, "bin", "python3"));
  await writeFile(join(outside, "target"), "t");
  await chmod(join(outside, "target"), 0o600);
  await symlink(join(outside, "target"), join(root, "lib", "escape"));
  await symlink(outside, join(root, "lib", "escape-dir"));
  await chmod(outside, 0o700);
  return { root, outside };
}

const modeOf = async (p: string): Promise<number> => (await lstat(p)).mode & 0o7777;

test("parsePermissions accepts 775, 0775 and 0o775 only", () => {
  assert.equal(parsePermissions("775"), 0o775);
  assert.equal(parsePermissions("0775"), 0o775);
  assert.equal(parsePermissions("0o775"), 0o775);
  assert.equal(parsePermissions("750"), 0o750);
  for (const bad of ["", "77", "7755", "778", "0x1fd", "rwxr-xr-x", "509", "0o7750", "-775", "0o", "u+rwx"]) {
    assert.throws(() => parsePermissions(bad), (e: unknown) => e instanceof InputError && e.code === "config.permissions" && e.message.includes(JSON.stringify(bad)), bad);
  }
});

test("mode 0o750: folders get it, executables keep execute, data files never become executable", async () => {
  const { root, outside } = await prefix();
  await applyPermissions(root, { mode: 0o750 });
  assert.equal(await modeOf(root), 0o750);
  assert.equal(await modeOf(join(root, "bin")), 0o750);
  assert.equal(await modeOf(join(root, "lib", "python3.11")), 0o750);
  assert.equal(await modeOf(join(root, "bin", "python")), 0o750, "owner-executable file");
  assert.equal(await modeOf(join(root, "lib", "python3.11", "os.py")), 0o640, "data file");
  assert.equal(await modeOf(join(root, "lib", "data.json")), 0o640, "world-writable data file tightened");
  assert.equal(await modeOf(join(root, "lib", "group-exec-only")), 0o640, "execute only counts for the owner");
  // Symlinks are not followed: what they point at outside the tree keeps its mode.
  assert.equal(await modeOf(join(outside, "target")), 0o600);
  assert.equal(await modeOf(outside), 0o700);
  assert.ok((await lstat(join(root, "lib", "escape"))).isSymbolicLink());
});

test("mode 0o775 makes executables 775 and data 664", async () => {
  const { root } = await prefix();
  await applyPermissions(root, { mode: parsePermissions("775") });
  assert.equal(await modeOf(join(root, "bin", "python")), 0o775);
  assert.equal(await modeOf(join(root, "lib", "data.json")), 0o664);
  assert.equal(await modeOf(join(root, "lib")), 0o775);
});

test("uid/gid 4321:4321 via lchown on files, folders and symlinks; targets outside untouched", async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("needs root: only root can chown to another user (run the tests as root)");
    return;
  }
  const { root, outside } = await prefix();
  await applyPermissions(root, { uid: 4321, gid: 4321 });
  for (const p of [root, join(root, "bin"), join(root, "bin", "python"), join(root, "lib", "data.json"), join(root, "bin", "python3"), join(root, "lib", "escape"), join(root, "lib", "escape-dir")]) {
    const s = await lstat(p);
    assert.equal(s.uid, 4321, p);
    assert.equal(s.gid, 4321, p);
  }
  assert.equal((await stat(join(outside, "target"))).uid, 0, "the symlink's target outside is not chowned");
  assert.equal((await stat(outside)).uid, 0);
  assert.equal(await modeOf(join(root, "lib", "data.json")), 0o666, "no mode given: modes unchanged");

  // Only the gid: the uid stays.
  await applyPermissions(root, { gid: 1234 });
  const s = await lstat(join(root, "bin", "python"));
  assert.equal(s.uid, 4321);
  assert.equal(s.gid, 1234);
});

test("errors are InfraError build.permissions naming the path", async () => {
  const missing = join(work, "no-such-prefix");
  await assert.rejects(applyPermissions(missing, { mode: 0o755 }), (e: unknown) => {
    assert.ok(e instanceof InfraError);
    assert.equal(e.code, "build.permissions");
    assert.ok(e.message.includes(missing), e.message);
    return true;
  });
  await assert.rejects(applyPermissions(work, { mode: 0o17777 }), { code: "config.permissions" });
});

test("the hint on EPERM suggests a user allowed to chown", async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("needs root: drops to another user to provoke EPERM");
    return;
  }
  // As root chown never fails; check the message shape via a non-root child process instead.
  const { root } = await prefix();
  const { spawnSync } = await import("node:child_process");
  await chmod(work, 0o755);
  await chmod(join(root, ".."), 0o755);
  const script = `import { applyPermissions } from ${JSON.stringify(new URL("../../../src/builder/build/permissions.ts", import.meta.url).href)};
    try { await applyPermissions(${JSON.stringify(root)}, { uid: 4321 }); console.log("no error"); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })); }`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { uid: 65534, gid: 65534, encoding: "utf8", cwd: process.cwd() });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (!last.startsWith("{")) {
    t.skip(`the unprivileged child could not run the module here: ${(r.stderr || last).slice(0, 200)}`);
    return;
  }
  const out = JSON.parse(last) as { code?: string; message?: string; hint?: string };
  assert.equal(out.code, "build.permissions", r.stdout + r.stderr);
  assert.match(out.message ?? "", /prefix/);
  assert.match(out.hint ?? "", /allowed to chown/);
});
