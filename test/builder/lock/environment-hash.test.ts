import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { environmentHash, environmentHashInput } from "../../../src/builder/lock/environment-hash.ts";
import { InputError } from "../../../src/errors.ts";
import { lockOf, pkg } from "./lock-builders.ts";

const a = pkg("zlib", "1.3", "h4ab18f5_1", { sha256: "a".repeat(64) });
const b = pkg("bzip2", "1.0.8", "h4bc722e_7", { sha256: "b".repeat(64) });

test("vector: sha256 over the sorted `url#sha256` lines", () => {
  const lock = lockOf([a, b]);
  assert.equal(
    environmentHashInput(lock, "linux-64"),
    `https://conda.anaconda.org/conda-forge/linux-64/bzip2-1.0.8-h4bc722e_7.conda#${"b".repeat(64)}\nhttps://conda.anaconda.org/conda-forge/linux-64/zlib-1.3-h4ab18f5_1.conda#${"a".repeat(64)}\n`,
  );
  assert.equal(environmentHash(lock, "linux-64"), createHash("sha256").update(environmentHashInput(lock, "linux-64")).digest("hex"));
  // Computed outside condaops:
  //   printf '%s\n' 'https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3-h4ab18f5_1.conda#aaa…a' \
  //     'https://conda.anaconda.org/conda-forge/linux-64/bzip2-1.0.8-h4bc722e_7.conda#bbb…b' | LC_ALL=C sort | sha256sum
  assert.equal(environmentHash(lock, "linux-64"), "112b5501d71c34ef0524b3924fe5b46dde7b7871307bc4825b2c501de73e76c7");
});

test("the same packages give the same hash whatever the order, metadata or other platforms", () => {
  const base = environmentHash(lockOf([a, b]), "linux-64");
  const other = pkg("zlib", "1.3", "h_0", { platform: "osx-arm64" });
  assert.equal(environmentHash(lockOf([b, a]), "linux-64"), base);
  assert.equal(environmentHash(lockOf([other, b, a], { metadata: { commit: "x" }, contentHash: { "linux-64": "1", "osx-arm64": "2" }, sources: [] }), "linux-64"), base);
  assert.equal(environmentHash(lockOf([{ ...a, category: "dev", optional: true, depends: ["x"] }, b]), "linux-64"), base);
});

test("another build, checksum or package changes the hash", () => {
  const base = environmentHash(lockOf([a, b]), "linux-64");
  assert.notEqual(environmentHash(lockOf([{ ...a, sha256: "c".repeat(64) }, b]), "linux-64"), base);
  assert.notEqual(environmentHash(lockOf([pkg("zlib", "1.3", "h4ab18f5_2", { sha256: "a".repeat(64) }), b]), "linux-64"), base);
  assert.notEqual(environmentHash(lockOf([a]), "linux-64"), base);
});

test("a platform the lock does not have is refused", () => {
  assert.throws(() => environmentHash(lockOf([a]), "win-64"), InputError);
});
