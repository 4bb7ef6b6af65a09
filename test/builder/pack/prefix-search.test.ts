import { test } from "node:test";
import assert from "node:assert/strict";
import { replaceBinary } from "../../../src/builder/install/prefix-replace.ts";
import { StreamScanner, applyRegions, cStringRegions, regionCapacity } from "../../../src/builder/pack/prefix-search.ts";

/** A deterministic pseudo-random generator, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test("templates rendered with a prefix give exactly what replaceBinary writes", () => {
  const placeholder = "/opt/placeholder_placehold_placehold";
  const rand = rng(42);
  for (let round = 0; round < 300; round++) {
    const parts: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      const r = rand();
      if (r < 0.3) parts.push(Buffer.from(placeholder));
      else if (r < 0.5) parts.push(Buffer.alloc(1 + Math.floor(rand() * 3)));
      else parts.push(Buffer.from(Array.from({ length: Math.floor(rand() * 8) }, () => 1 + Math.floor(rand() * 255))));
    }
    const data = Buffer.concat(parts);
    const { regions } = cStringRegions(data, Buffer.from(placeholder));
    for (const prefix of ["/p", "/a/much/longer/prefix/x", placeholder]) {
      const want = replaceBinary(data, placeholder, prefix);
      assert.deepEqual(applyRegions(data, regions, Buffer.from(prefix)), want, `round ${round}, ${prefix}`);
    }
  }
});

test("a region's capacity is the longest prefix that fits, occurrences counted", () => {
  const needle = Buffer.from("/old/prefix"); // 11 bytes
  const data = Buffer.concat([Buffer.from("x\0"), needle, Buffer.from(":"), needle, Buffer.from("/lib\0"), needle, Buffer.from("/tail")]);
  const { regions, loose } = cStringRegions(data, needle);
  assert.equal(regions.length, 1);
  assert.equal(loose, 1, "the last occurrence has no NUL after it");
  const r = regions[0];
  assert.ok(r);
  assert.equal(r.offset, 2);
  assert.equal(r.length, 11 + 1 + 11 + 4);
  assert.deepEqual(r.segments.map(String), ["", ":", "/lib"]);
  assert.equal(regionCapacity(r), 11);
  assert.ok(applyRegions(data, regions, Buffer.from("x".repeat(11))));
  assert.equal(applyRegions(data, regions, Buffer.from("x".repeat(12))), undefined);
});

test("the stream scanner finds a needle split across chunks and notes NUL bytes", () => {
  const needle = Buffer.from("/the/prefix");
  for (let cut = 0; cut <= needle.length; cut++) {
    const s = new StreamScanner(needle);
    s.push(Buffer.concat([Buffer.from("abc"), needle.subarray(0, cut)]));
    s.push(Buffer.concat([needle.subarray(cut), Buffer.from("def")]));
    assert.equal(s.found, true, `cut at ${cut}`);
    assert.equal(s.hasNul, false);
  }
  const s = new StreamScanner(needle);
  s.push(Buffer.from("/the/pre"));
  s.push(Buffer.from("x"));
  s.push(Buffer.from("fix\0"));
  assert.equal(s.found, false);
  assert.equal(s.hasNul, true);
});
