import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseCondaLock, serializeCondaLock } from "../../../src/builder/lock/conda-lock-v1.ts";
import { compareVersions, diffLocks, formatDiffMarkdown, formatDiffText, isEmptyDiff, summarizeDiff } from "../../../src/builder/lock/diff.ts";
import type { ChangedEntry } from "../../../src/builder/lock/diff.ts";
import { lockOf, pkg } from "./lock-builders.ts";

const BIOCONDA = "https://conda.anaconda.org/bioconda";

const before = lockOf(
  [
    pkg("_libgcc_mutex", "0.1", "conda_forge"),
    pkg("numpy", "1.26.4", "py311h64a7726_0"),
    pkg("pandas", "2.1.0", "py311h_0"),
    pkg("foo", "2.0", "h_0"),
    pkg("bzip2", "1.0.8", "h4bc722e_7"),
    pkg("openssl", "3.1.4", "hd590300_0"),
    pkg("samtools", "1.19", "h50ea8bc_0"),
    pkg("x", "1.0", "h_0"),
    pkg("requests", "2.31.0", "", { manager: "pip" }),
    pkg("zlib", "1.9", "h_0", { platform: "osx-64" }),
  ],
  { platforms: ["linux-64", "osx-64"] },
);
const after = lockOf(
  [
    pkg("_libgcc_mutex", "0.1", "conda_forge"),
    pkg("numpy", "1.26.4", "py311h64a7726_0"),
    pkg("pandas", "2.2.1", "py311h_0"),
    pkg("foo", "2.0rc1", "h_0"),
    pkg("bzip2", "1.0.8", "h4bc722e_8"),
    { ...pkg("openssl", "3.1.4", "hd590300_0"), sha256: "f".repeat(64) },
    pkg("samtools", "1.19", "h50ea8bc_0", { channel: BIOCONDA }),
    pkg("scipy", "1.11.4", "py311_0"),
    pkg("requests", "2.32.0", "", { manager: "pip" }),
    pkg("requests", "2.32.0", "py_0", { subdir: "noarch" }),
    pkg("zlib", "1.10", "h_0", { platform: "win-64" }),
  ],
  { platforms: ["linux-64", "win-64"] },
);

test("versions compare by conda's rules, not as strings", () => {
  assert.equal(compareVersions("1.9", "1.10"), -1);
  assert.equal(compareVersions("2.0rc1", "2.0"), -1);
  assert.equal(compareVersions("1.0", "1.0.0"), 0);
  assert.equal(compareVersions("2!1.0", "3.0"), 1);
  assert.equal(compareVersions("1.0.post1", "1.0"), 1);
});

test("each kind of change, per platform, matched by manager and name", () => {
  const d = diffLocks(before, after);
  assert.deepEqual(d.addedPlatforms, [{ platform: "win-64", packages: 1 }]);
  assert.deepEqual(d.removedPlatforms, [{ platform: "osx-64", packages: 1 }]);
  assert.equal(d.platforms.length, 1);
  const linux = d.platforms[0];
  assert.ok(linux);
  assert.equal(linux.platform, "linux-64");
  assert.equal(linux.unchanged, 2);
  assert.deepEqual(
    linux.entries.map((e) => [e.kind, e.name, e.manager]),
    [
      ["rebuilt", "bzip2", "conda"],
      ["downgraded", "foo", "conda"],
      ["rebuilt", "openssl", "conda"],
      ["upgraded", "pandas", "conda"],
      ["added", "requests", "conda"],
      ["upgraded", "requests", "pip"],
      ["channel-changed", "samtools", "conda"],
      ["added", "scipy", "conda"],
      ["removed", "x", "conda"],
    ],
  );
  const samtools = linux.entries.find((e): e is ChangedEntry => e.kind === "channel-changed");
  assert.equal(samtools?.after.channel, BIOCONDA);
  assert.equal(samtools?.before.version, "1.19");
});

test("text: one block per platform, aligned columns, a symbol per kind", () => {
  assert.equal(
    formatDiffText(diffLocks(before, after)),
    `linux-64: 2 added, 1 removed, 2 upgraded, 1 downgraded, 2 rebuilt, 1 changed channel (2 unchanged)
  ~ bzip2           1.0.8 h4bc722e_7   → 1.0.8 h4bc722e_8
  ↓ foo             2.0                → 2.0rc1
  ~ openssl         3.1.4 hd590300_0   → 3.1.4 hd590300_0 (new sha256)
  ↑ pandas          2.1.0              → 2.2.1
  + requests        2.32.0
  ↑ requests (pip)  2.31.0             → 2.32.0
  ⇄ samtools        1.19 (conda-forge) → 1.19 (bioconda)
  + scipy           1.11.4
  - x               1.0
win-64: new platform (1 package)
osx-64: platform removed (1 package)
`,
  );
});

test("markdown: heading, one-line summary, a table per platform, escaped cells", () => {
  const md = formatDiffMarkdown(diffLocks(before, after), { title: "`data-science/ml`" });
  assert.ok(md.startsWith("### `data-science/ml`\n\n**2 added, 1 removed, 2 upgraded, 1 downgraded, 2 rebuilt, 1 changed channel, 1 platform added (win-64), 1 platform removed (osx-64)**\n\n"));
  assert.ok(md.includes("**linux-64: 2 added, 1 removed, 2 upgraded, 1 downgraded, 2 rebuilt, 1 changed channel (2 unchanged)**\n\n| | package | before | after |\n|:-:|---|---|---|\n"));
  assert.ok(md.includes("| \\~ | bzip2 | 1.0.8 h4bc722e\\_7 | 1.0.8 h4bc722e\\_8 |\n"), "underscores do not turn into emphasis");
  assert.ok(md.includes("| ↑ | pandas | 2.1.0 | 2.2.1 |\n"));
  assert.ok(md.includes("| + | scipy |  | 1.11.4 |\n"));
  assert.ok(md.includes("| - | x | 1.0 |  |\n"));
  assert.ok(md.endsWith("**win-64: new platform** (1 package)\n\n**osx-64: platform removed** (1 package)\n"));
  assert.doesNotMatch(md, /<details>/, "short tables are shown open");
});

test("markdown: long platform sections are collapsed, and a table cannot be broken by a cell", () => {
  const many = lockOf(Array.from({ length: 12 }, (_, i) => pkg(`p${String(i).padStart(2, "0")}`, "1.0", "h_0")));
  const md = formatDiffMarkdown(diffLocks(lockOf([], { platforms: ["linux-64"] }), many), { collapseAbove: 10 });
  assert.match(md, /<details><summary><b>linux-64: 12 added \(0 unchanged\)<\/b><\/summary>\n\n\| \| package \| before \| after \|\n/);
  assert.match(md, /\n<\/details>\n$/);
  assert.equal(md.match(/^\| \+ \| p\d\d \|/gm)?.length, 12);
  const capped = formatDiffMarkdown(diffLocks(lockOf([], { platforms: ["linux-64"] }), many), { maxRows: 5 });
  assert.match(capped, /\| \| … and 7 more \| \| \|/);
  const hostile = lockOf([{ ...pkg("evil", "1.0", "h_0"), version: "1|<img src=x>" }]);
  const out = formatDiffMarkdown(diffLocks(lockOf([], { platforms: ["linux-64"] }), hostile));
  assert.ok(out.includes("| + | evil |  | 1\\|&lt;img src=x&gt; |"));
});

test("summary counts a package once however many platforms it changed on", () => {
  const two = (v: string) => lockOf([pkg("numpy", v, "h_0"), pkg("numpy", v, "h_0", { platform: "osx-arm64" }), pkg("six", "1.16.0", "py_0", { subdir: "noarch" })]);
  const d = diffLocks(two("1.26.3"), two("1.26.4"));
  assert.equal(summarizeDiff(d), "1 upgraded");
  assert.equal(formatDiffText(d), "linux-64: 1 upgraded (1 unchanged)\n  ↑ numpy  1.26.3 → 1.26.4\nosx-arm64: 1 upgraded (0 unchanged)\n  ↑ numpy  1.26.3 → 1.26.4\n");
});

test("identical locks (a lock and its conda-lock round trip) make an empty diff", () => {
  const lock = parseCondaLock("a.yml", readFileSync(new URL("./__fixtures__/conda-lock.yml", import.meta.url), "utf8"));
  const d = diffLocks(lock, parseCondaLock("b.yml", serializeCondaLock(lock)));
  assert.equal(isEmptyDiff(d), true);
  assert.equal(summarizeDiff(d), "no changes");
  assert.equal(formatDiffText(d), "linux-64: no changes (28 packages)\nosx-arm64: no changes (21 packages)\nwin-64: no changes (23 packages)\n");
  assert.match(formatDiffMarkdown(d), /^### Package changes\n\n\*\*no changes\*\*\n\n\*\*linux-64: no changes \(28 packages\)\*\*\n/);
  assert.equal(isEmptyDiff(diffLocks(before, after)), false);
  assert.equal(isEmptyDiff(diffLocks(lockOf([pkg("a", "1", "h_0")]), lockOf([pkg("a", "1", "h_0")], { platforms: ["linux-64", "win-64"] }))), false, "a platform added is a change");
});
