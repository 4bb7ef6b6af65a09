import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, parseByteSize } from "../src/byte-size.ts";

test("sizes as people write them: binary and decimal units, df's bare letters, 0", () => {
  assert.equal(parseByteSize("5GiB"), 5 * 1024 ** 3);
  assert.equal(parseByteSize("500MB"), 500_000_000);
  assert.equal(parseByteSize("1.5 G"), 1.5 * 1024 ** 3);
  assert.equal(parseByteSize(" 12k "), 12 * 1024);
  assert.equal(parseByteSize("0"), 0);
  assert.equal(parseByteSize(1073741824), 1073741824);
});

test("what is not a size is refused, never guessed", () => {
  for (const bad of ["", "GiB", "-1GiB", "5 GiBs", "1e9", "5XB", "1.5.2G", "99999999999P"]) assert.equal(parseByteSize(bad), undefined, bad);
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) assert.equal(parseByteSize(bad), undefined, String(bad));
});

test("sizes as people read them", () => {
  assert.deepEqual([0, 1023, 1536, 5 * 1024 ** 3, 1000 * 1024 ** 4].map(formatBytes), ["0 B", "1023 B", "1.5 KiB", "5.0 GiB", "1000 TiB"]);
});
