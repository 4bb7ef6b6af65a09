import { test } from "node:test";
import assert from "node:assert/strict";
import { versionsEscape, versionsOverlap } from "../../src/spec/version-overlap.ts";

test("overlap: some version satisfies both specs", () => {
  const cases: [string | undefined, string | undefined, boolean][] = [
    [">=3.10", "3.11.*", true],
    [">=3.12", "3.11.*", false],
    ["<2", ">=1.26", true],
    ["<1.26", ">=1.26", false],
    ["<=1.26", ">=1.26", true],
    ["<1.26", ">1.25", true],
    ["==1.2|==1.4", "1.4.*", true],
    ["==1.2|==1.5", "1.4.*", false],
    ["==1.21.0", "1.21.*", true],
    ["==1.21", "1.21.*", true],
    ["!=1.2", "==1.2", false],
    ["!=1.2.*", "1.2.*", false],
    ["!=1.2", ">=1.2,<1.3", true],
    ["1.2.*", ">1.2.5", true],
    ["1.2.*", "1.20.*", false],
    ["~=1.2", "<1.2", false],
    ["~=1.2", ">=1.9", true],
    ["~=1.2", ">=2", false],
    ["(==1.2|==1.4),>1.3", "<1.3", false],
    ["<1.2", "1.2.*", true], // conda: 1.2.0a0 is below 1.2 and starts with 1.2
    ["<1.2", "1.3.*", false],
    [undefined, "3.11.*", true],
    ["3.11.*", undefined, true],
    [undefined, undefined, true],
    [">2,<1", undefined, false],
    ["*", ">=1", true],
  ];
  for (const [a, b, expected] of cases) {
    assert.equal(versionsOverlap(a, b), expected, `${a} vs ${b}`);
    assert.equal(versionsOverlap(b, a), expected, `${b} vs ${a} (symmetric)`);
  }
});

test("escape: some version satisfies the spec but not the excluded set", () => {
  const cases: [string | undefined, string | undefined, boolean][] = [
    ["1.1.*", "<3", false],
    [">=1.1", "<3", true],
    ["1.1.*", "1.1.*", false],
    ["1.1.1", "1.1.*", false],
    ["1.1.*", "1.1.1", true],
    ["~=1.2", "<2", false],
    ["~=1.2", "<1.9", true],
    ["==1.2|==1.4", "!=1.3", false],
    ["==1.2|==1.3", "!=1.3", true],
    [">=2", ">=1", false],
    [">=1", ">=2", true],
    [undefined, "<3", true],
    [undefined, ">=1.0", true],
    [undefined, "*", false],
    [undefined, undefined, false],
    ["1.2.*", undefined, false],
    ["1.2.*", "*", false],
  ];
  for (const [spec, excluded, expected] of cases) assert.equal(versionsEscape(spec, excluded), expected, `${spec} escapes ${excluded}`);
});

test("an invalid spec is a programming error, not a silent answer", () => {
  assert.throws(() => versionsOverlap(">>=1", "1.2"), /invalid version spec ">>=1"/);
  assert.throws(() => versionsEscape("1.2", "1..2"), /invalid version spec "1\.\.2"/);
});
