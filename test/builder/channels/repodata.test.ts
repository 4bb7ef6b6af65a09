import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRepodata, serialiseRepodata } from "../../../src/builder/channels/repodata.ts";
import { authorize, credentialFor, secretsOf } from "../../../src/builder/channels/credentials.ts";
import { redactText, redactUrl } from "../../../src/builder/channels/redact.ts";
import { InfraError } from "../../../src/errors.ts";

const label = { channel: "https://conda.example/cf", subdir: "linux-64" };
const sha = "a".repeat(64);

test("repodata records are read from packages and packages.conda, timestamps normalised to ms", () => {
  const r = parseRepodata(JSON.stringify({
    info: { subdir: "linux-64" },
    packages: { "a-1-0.tar.bz2": { name: "a", version: "1", build: "0", build_number: 0, depends: ["b"], timestamp: 1700000000 } },
    "packages.conda": { "a-2-0.conda": { name: "a", version: "2", build: "0", build_number: 1, depends: [], sha256: sha.toUpperCase(), timestamp: 1700000000123 } },
  }), label);
  assert.deepEqual(r.records.map((x) => [x.fn, x.timestamp, x.sha256]), [["a-1-0.tar.bz2", 1700000000000, undefined], ["a-2-0.conda", 1700000000123, sha]]);
});

test("malformed repodata is an infrastructure error naming channel and subdir", () => {
  const cases: [string, RegExp][] = [
    ['{"packages": {"a', /not valid JSON \(truncated download\?\)/],
    ["[]", /not a JSON object/],
    ['{"packages": []}', /"packages" is not an object/],
    ['{"packages": {"x.tar.bz2": {"name": "x"}}}', /record "x.tar.bz2" lacks name, version or build/],
    ['{"packages": {"../x.tar.bz2": {"name": "x", "version": "1", "build": "0"}}}', /unsafe file name/],
    ['{"packages": {"x.tar.bz2": {"name": "x", "version": "1", "build": "0", "depends": "y"}}}', /depends that is not a list/],
    ['{"packages": {"x.tar.bz2": {"name": "x", "version": "1", "build": "0", "sha256": "zz"}}}', /invalid sha256/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseRepodata(text, label), (e: unknown) => e instanceof InfraError && e.exitCode === 3 && message.test(e.message) && e.message.includes("https://conda.example/cf/linux-64"), text);
  }
});

test("serialised repodata carries base_url so solved URLs are the real channel's", () => {
  const doc = JSON.parse(serialiseRepodata("noarch", [{ name: "a", version: "1", build: "0", build_number: 0, depends: [], subdir: "noarch", fn: "a-1-0.conda" }], "https://conda.example/cf/noarch/"));
  assert.equal(doc.info.base_url, "https://conda.example/cf/noarch/");
  assert.deepEqual(Object.keys(doc["packages.conda"]), ["a-1-0.conda"]);
});

test("credentials: longest prefix wins; token in the path, bearer header, or basic auth", () => {
  const creds = [
    { prefix: "https://conda.example", bearer: false, token: "tok-short" },
    { prefix: "https://conda.example/private", bearer: false, token: "tok/long" },
    { prefix: "https://prefix.example", bearer: true, token: "bear" },
    { prefix: "https://art.example", bearer: false, username: "u", password: "p@ss" },
  ];
  assert.equal(credentialFor("https://conda.example/private/linux-64/repodata.json", creds)?.token, "tok/long");
  assert.equal(credentialFor("https://conda.example/privateer/x", creds)?.token, "tok-short", "prefixes match whole path segments");
  assert.equal(credentialFor("https://other.example/x", creds), undefined);
  assert.deepEqual(authorize("https://conda.example/private/noarch/repodata.json", creds[1]), { url: "https://conda.example/t/tok%2Flong/private/noarch/repodata.json", headers: {} });
  assert.deepEqual(authorize("https://prefix.example/c/noarch/x", creds[2]), { url: "https://prefix.example/c/noarch/x", headers: { authorization: "Bearer bear" } });
  assert.deepEqual(authorize("https://art.example/c/x", creds[3]).headers, { authorization: `Basic ${Buffer.from("u:p@ss").toString("base64")}` });
  assert.deepEqual(secretsOf(creds).sort(), ["bear", "p@ss", "tok%2Flong", "tok-short", "tok/long"].sort());
});

test("redaction removes user-info and /t/<token>/ from URLs and known secrets from text", () => {
  assert.equal(redactUrl("https://user:pw@conda.example/t/abc123/cf/noarch"), "https://conda.example/t/***/cf/noarch");
  assert.equal(redactUrl("postgres://u:p@ss@db.example:5432/condaops"), "postgres://db.example:5432/condaops", "an unencoded @ in the password");
  assert.equal(redactText("connect postgres://u:p@ss@db/x failed"), "connect postgres://db/x failed");
  assert.equal(redactText("GET https://u:secretpw@h/x failed: token=supersecret", ["supersecret"]), "GET https://h/x failed: token=***");
});
