import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseCondaLock } from "../../../src/builder/lock/conda-lock-v1.ts";
import { explicitFile, installOrder, parseExplicit } from "../../../src/builder/lock/explicit.ts";
import { splitDepend } from "../../../src/builder/lock/package-record.ts";
import { InputError } from "../../../src/errors.ts";
import { lockOf, pkg } from "./lock-builders.ts";

const LOCK = parseCondaLock("conda-lock.yml", readFileSync(new URL("./__fixtures__/conda-lock.yml", import.meta.url), "utf8"));
const SHA = "5ced96500d945fb286c9c838e54fa759aa04a7129c59800f0846b4335cee770d";
const URL1 = "https://conda.anaconda.org/conda-forge/linux-64/bzip2-1.0.8-h4bc722e_7.conda";

function rejection(text: string): InputError {
  try {
    parseExplicit("env.txt", text);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e;
  }
  assert.fail("accepted");
}

test("the explicit file of a platform: conda's header, @EXPLICIT, one url#sha256 per conda package", () => {
  const text = explicitFile(LOCK, "linux-64");
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 5), [
    "# This file may be used to create an environment using:",
    "# $ conda create --name <env> --file <this file>",
    "# platform: linux-64",
    "# input_hash: eed331dcdaf75d3543529f60267cd809dd2efee45150445e9f589795ba896f66",
    "@EXPLICIT",
  ]);
  const conda = LOCK.packages.filter((p) => p.platform === "linux-64" && p.manager === "conda");
  const urlLines = lines.filter((l) => l.startsWith("https://"));
  assert.equal(urlLines.length, conda.length);
  assert.deepEqual(new Set(urlLines), new Set(conda.map((p) => `${p.url}#${p.sha256}`)));
  assert.ok(urlLines.includes(`${URL1}#${SHA}`));
  assert.ok(text.endsWith("# pip certifi @ https://files.pythonhosted.org/packages/4c/dd/2234eab22353ffc7d94e8d13177aaa050113286e93e7b40eae01fbf7c3d9/certifi-2023.7.22-py3-none-any.whl#sha256=92d6037539857d8206b8f6ae472e8b77db8058fec5937a1ef3f54304089edbb9\n"));
  assert.equal(explicitFile(LOCK, "linux-64"), text, "deterministic");
});

test("install order: every package after the locked packages it depends on", () => {
  for (const platform of LOCK.platforms) {
    const text = explicitFile(LOCK, platform);
    const order = text.split("\n").filter((l) => l.startsWith("https://")).map((l) => LOCK.packages.find((p) => p.platform === platform && `${p.url}#${p.sha256}` === l)?.name);
    const position = new Map(order.map((n, i) => [n, i]));
    for (const p of LOCK.packages.filter((x) => x.platform === platform && x.manager === "conda")) {
      for (const d of p.depends.map((s) => splitDepend(s)[0])) {
        if (position.has(d)) assert.ok((position.get(d) ?? 0) < (position.get(p.name) ?? 0), `${platform}: ${d} must come before ${p.name}`);
      }
    }
    assert.ok((position.get("python") ?? 99) < (position.get("pip") ?? 0), "python before the noarch packages");
  }
  const linux = explicitFile(LOCK, "linux-64").split("\n").filter((l) => l.startsWith("https://"));
  assert.match(linux[0] ?? "", /\/_libgcc_mutex-0\.1-conda_forge\.tar\.bz2#/, "ties are broken by name: '_' sorts first");
});

test("ties by name, dependencies first, cycles broken deterministically", () => {
  const names = (ps: ReturnType<typeof pkg>[]): string[] => installOrder(ps).map((p) => p.name);
  assert.deepEqual(names([pkg("c", "1", "0"), pkg("a", "1", "0"), pkg("b", "1", "0")]), ["a", "b", "c"]);
  assert.deepEqual(names([pkg("a", "1", "0", { depends: ["z >=1"] }), pkg("z", "1", "0"), pkg("m", "1", "0", { depends: ["a", "__glibc >=2.17"] })]), ["z", "a", "m"]);
  assert.deepEqual(names([pkg("b", "1", "0", { depends: ["a"] }), pkg("a", "1", "0", { depends: ["b"] }), pkg("c", "1", "0", { depends: ["a"] })]), ["a", "b", "c"]);
  // The cycle is broken inside the cycle: b, which depends on x, still comes after x although "b" sorts first.
  assert.deepEqual(names([pkg("x", "1", "0", { depends: ["y"] }), pkg("y", "1", "0", { depends: ["x"] }), pkg("b", "1", "0", { depends: ["x"] })]), ["x", "b", "y"]);
});

test("parseExplicit reads back what explicitFile writes", () => {
  const list = parseExplicit("linux-64.txt", explicitFile(LOCK, "osx-arm64"));
  assert.equal(list.platform, "osx-arm64");
  const conda = LOCK.packages.filter((p) => p.platform === "osx-arm64" && p.manager === "conda");
  assert.equal(list.urls.length, conda.length);
  for (const u of list.urls) assert.equal(u.sha256, conda.find((p) => p.url === u.url)?.sha256);
});

test("parseExplicit accepts md5, sha256 and sha256: fragments, bare URLs, comments, blank lines and CRLF", () => {
  const md5 = "62ee74e96c5ebb0af99386de58cf9553";
  const list = parseExplicit("env.txt", `# comment\r\n# platform: linux-64\r\n@EXPLICIT\r\n\r\n${URL1}#${md5}\r\n${URL1}#sha256:${SHA}\r\n${URL1}#${SHA}\r\n  ${URL1}\r\n`);
  assert.deepEqual(list, {
    platform: "linux-64",
    urls: [{ url: URL1, md5 }, { url: URL1, sha256: SHA }, { url: URL1, sha256: SHA }, { url: URL1 }],
  });
  assert.deepEqual(parseExplicit("env.txt", "@EXPLICIT\n"), { urls: [] });
});

test("junk lines are errors at their line and column, saying what is expected", () => {
  const junk = rejection(`@EXPLICIT\n${URL1}#${SHA}\nnumpy=1.26.4=py311h64a7726_0\n`);
  assert.equal(junk.format(), 'env.txt:3:1: "numpy=1.26.4=py311h64a7726_0" is not a package URL; each line after @EXPLICIT is <channel>/<subdir>/<file>.conda or .tar.bz2, optionally followed by #<md5> or #<sha256>');
  const before = rejection(`${URL1}\n@EXPLICIT\n`);
  assert.match(before.message, /comes before the @EXPLICIT line/);
  assert.equal(before.position?.line, 1);
  const none = rejection("name: ml\ndependencies: [python]\n");
  assert.match(none.message, /"name: ml" comes before the @EXPLICIT line/);
  assert.match(rejection("# only comments\n").message, /no @EXPLICIT line/);
  const badHash = rejection(`@EXPLICIT\n${URL1}#abc123\n`);
  assert.match(badHash.message, /"#abc123" is not a checksum/);
  assert.deepEqual([badHash.position?.line, badHash.position?.column], [2, URL1.length + 1]);
  assert.match(rejection(`@EXPLICIT\n${URL1}#${SHA.toUpperCase()}\n`).message, /not a checksum/);
  assert.match(rejection("@EXPLICIT\nhttps://files.pythonhosted.org/packages/certifi-2023.7.22-py3-none-any.whl\n").message, /is not a conda package \(.conda or .tar.bz2\)/);
  assert.match(rejection(`@EXPLICIT\n${URL1} extra\n`).message, /is not a package URL/);
});

test("credentials in an explicit file are refused without repeating them", () => {
  const e = rejection("@EXPLICIT\nhttps://me:hunter2@conda.example.org/c/linux-64/x-1-h_0.conda\n");
  assert.equal(e.position?.line, 2);
  assert.doesNotMatch(e.format(), /hunter2/);
  const t = rejection("@EXPLICIT\nhttps://conda.anaconda.org/t/hunter2/c/linux-64/x-1-h_0.conda\n");
  assert.doesNotMatch(t.format(), /hunter2/);
});

test("a platform the lock does not have is an input error naming the ones it has", () => {
  assert.throws(() => explicitFile(lockOf([pkg("a", "1", "0")]), "win-64"), (e: unknown) => e instanceof InputError && e.code === "lock.platform-missing" && /it has: linux-64/.test(e.message));
});
