// The linker on packages conda-forge built (../shared/realworld), not only on the fixtures: xz's
// binaries carry conda-build's 255-character binary placeholder and link to liblzma and libgcc.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeCondaMetaRecord } from "../../../src/builder/install/conda-meta.ts";
import { linkPackage } from "../../../src/builder/install/link-package.ts";
import type { LinkedPath } from "../../../src/builder/install/link-package.ts";
import type { LinkContext } from "../../../src/builder/install/types.ts";
import { extractPackage } from "./extract-cli.ts";

const SUBSET = resolve(process.cwd(), "../shared/realworld/conda-forge-subset/linux-64");
const NAMES = ["_libgcc_mutex", "libgomp", "_openmp_mutex", "libgcc", "libgcc-ng", "xz"];
const available = existsSync(SUBSET) && process.platform === "linux" && process.arch === "x64";
let work: string | undefined;
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test("real conda-forge xz and its runtime deps link into a prefix where bin/xz runs", { skip: available ? false : `needs linux-64 and ${SUBSET}` }, async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-xz-"));
  const files = await readdir(SUBSET);
  const prefix = join(work, "envs", "xz");
  const ctx: LinkContext = { prefix, staging: `${prefix}.partial-1234`, platform: "linux-64", hardlinks: true };
  for (const name of NAMES) {
    const archive = files.find((f) => f.startsWith(`${name}-`) && /^[^-]+-[^-]+$/.test(f.slice(name.length + 1).replace(/\.(conda|tar\.bz2)$/, "")));
    assert.ok(archive, `${name} is in the subset`);
    const pkg = await extractPackage(join(SUBSET, archive), join(work, "pkgs"), "https://conda.anaconda.org/conda-forge");
    assert.equal(pkg.record.name, name);
    const linked = await linkPackage(pkg, ctx);
    await writeCondaMetaRecord(ctx.staging, pkg, linked, { prefix, ...(name === "xz" ? { requestedSpec: "xz" } : {}) });
    if (name === "xz") {
      const xz = linked.paths.find((p) => p._path === "bin/xz") as LinkedPath;
      assert.equal(xz.file_mode, "binary");
      assert.ok(xz.prefix_placeholder && xz.prefix_placeholder.length >= 200);
    }
  }
  await rename(ctx.staging, prefix);
  assert.match(execFileSync(join(prefix, "bin", "xz"), ["--version"], { encoding: "utf8" }), /xz \(XZ Utils\) 5\.2\.6/);
  // softlinks of the package: bin/unxz -> xz, lib/liblzma.so.5 -> liblzma.so.5.2.6
  assert.equal(await readlink(join(prefix, "bin", "unxz")), "xz");
  assert.equal(execFileSync(join(prefix, "bin", "unxz"), ["--version"], { encoding: "utf8" }).split("\n")[0], "xz (XZ Utils) 5.2.6");
  // the placeholder is gone from the binary, and the text one from the .pc file
  assert.equal((await readFile(join(prefix, "bin", "xz"))).includes("_placehold_placehold"), false);
  assert.match(await readFile(join(prefix, "lib", "pkgconfig", "liblzma.pc"), "utf8"), new RegExp(`^prefix=${prefix}$`, "m"));
  const meta = JSON.parse(await readFile(join(prefix, "conda-meta", "xz-5.2.6-h166bdaf_0.json"), "utf8")) as { files: string[]; depends: string[] };
  assert.ok(meta.files.includes("bin/xz"));
  assert.deepEqual(meta.depends, ["libgcc-ng >=12"]);
});
