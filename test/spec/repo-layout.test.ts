import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyPath } from "../../src/spec/repo-layout.ts";
import { checkIdentifier } from "../../src/spec/identifiers.ts";

test("what each path of an environments repository is", () => {
  assert.deepEqual(classifyPath("policy.yaml"), { kind: "policy" });
  assert.deepEqual(classifyPath("data-science/ml.yaml"), { kind: "spec", ref: { namespace: "data-science", name: "ml" } });
  assert.deepEqual(classifyPath("geo/gdal-3.8.yaml"), { kind: "spec", ref: { namespace: "geo", name: "gdal-3.8" } });
  assert.deepEqual(classifyPath("geo/gdal.lock.yml"), { kind: "lock", ref: { namespace: "geo", name: "gdal" } });
  for (const ignored of ["README.md", "geo/README.md", ".github/workflows/ci.yaml", "condaops.config.yaml", "docs/img.png"]) {
    assert.deepEqual(classifyPath(ignored), { kind: "ignored" }, ignored);
  }
});

test("YAML that cannot be a spec is invalid, with what to do", () => {
  const reason = (p: string) => {
    const c = classifyPath(p);
    assert.equal(c.kind, "invalid", p);
    return c.kind === "invalid" ? c.reason : "";
  };
  assert.match(reason("env.yaml"), /specs go in a namespace folder: <namespace>\/env\.yaml/);
  assert.match(reason("a/b/c.yaml"), /one folder deep.*a\/c\.yaml/);
  assert.match(reason("a/env.yml"), /rename it to a\/env\.yaml/);
  assert.match(reason("a/.env.yaml"), /starts with "\."/);
  assert.match(reason("-x/env.yaml"), /namespace "-x" starts with "-"/);
  assert.match(reason("a b/env.yaml"), /contains a space/);
  assert.match(reason(`a/${"x".repeat(65)}.yaml`), /longer than 64/);
  assert.match(reason("a/caf\u00e9.yaml"), /contains "\u00e9"/);
});

test("identifiers: letters, digits, . _ -, not starting with . or -, at most 64", () => {
  for (const ok of ["a", "data-science", "team_geo", "v1.2", "_private", "0day", "x".repeat(64)]) assert.deepEqual(checkIdentifier("namespace", ok), { ok: true }, ok);
  for (const bad of ["", ".", "..", ".hidden", "-opt", "a/b", "a b", "a\\b", "x".repeat(65), "a$b", "a\nb", "ü"]) {
    assert.equal(checkIdentifier("environment name", bad).ok, false, JSON.stringify(bad));
  }
});
