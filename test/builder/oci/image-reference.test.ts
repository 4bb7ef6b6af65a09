// Image references: Docker's grammar, Docker Hub short names, push targets, hostile text refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatImageReference, parseImageReference, pushReference, sameRegistry } from "../../../src/builder/oci/image-reference.ts";
import { InputError } from "../../../src/errors.ts";

const D = `sha256:${"ab".repeat(32)}`;

test("references with registry, port, path, tag and digest", () => {
  assert.deepEqual(parseImageReference("registry.example.org:5000/team/base:1.2"), { registry: "registry.example.org:5000", repository: "team/base", tag: "1.2" });
  assert.deepEqual(parseImageReference(`127.0.0.1:5000/base@${D}`), { registry: "127.0.0.1:5000", repository: "base", digest: D });
  assert.deepEqual(parseImageReference(`localhost/a/b:t@${D}`), { registry: "localhost", repository: "a/b", tag: "t", digest: D });
  assert.deepEqual(parseImageReference("ghcr.io/org/my_image-x.y"), { registry: "ghcr.io", repository: "org/my_image-x.y" });
  assert.equal(formatImageReference(parseImageReference(`ghcr.io/o/i:1@${D}`)), `ghcr.io/o/i:1@${D}`);
});

test("Docker Hub names expand as docker does", () => {
  assert.deepEqual(parseImageReference("ubuntu:24.04"), { registry: "docker.io", repository: "library/ubuntu", tag: "24.04" });
  assert.deepEqual(parseImageReference("condaforge/miniforge3"), { registry: "docker.io", repository: "condaforge/miniforge3" });
  assert.deepEqual(parseImageReference("index.docker.io/debian"), { registry: "docker.io", repository: "library/debian" });
  assert.ok(sameRegistry("index.docker.io", "docker.io"));
  assert.ok(sameRegistry("https://127.0.0.1:5000/", "127.0.0.1:5000"));
  assert.ok(!sameRegistry("127.0.0.1:5001", "127.0.0.1:5000"));
});

test("bad characters, traversal and bad digests are refused; user-info is never echoed", () => {
  for (const bad of ["", "Ubuntu", "host.org/Team/x", "host.org/a/../b", "host.org/a b", "host.org/a\nb", "host.org/a:bad tag", "host.org/a//b", `host.org/a@sha256:${"x".repeat(64)}`, "host.org/a@md5:abc", "host.org:99999/a", "-host.org/a", `a:${"t".repeat(129)}`]) {
    assert.throws(() => parseImageReference(bad), (e: unknown) => e instanceof InputError && e.code === "oci.reference", JSON.stringify(bad));
  }
  assert.throws(
    () => parseImageReference("user:s3cret@registry.example.org/a"),
    (e: unknown) => e instanceof InputError && !e.message.includes("s3cret"),
  );
});

test("push targets: <push>/<namespace>/<name>:<commit>, lowercased", () => {
  const commit = "0123456789abcdef0123456789abcdef01234567";
  assert.deepEqual(pushReference("registry.example.org/condaops/", "Data-Science", "Analysis", commit), { registry: "registry.example.org", repository: "condaops/data-science/analysis", tag: commit });
  assert.deepEqual(pushReference("127.0.0.1:5000", "team", "env_1", commit), { registry: "127.0.0.1:5000", repository: "team/env_1", tag: commit });
  assert.throws(() => pushReference("https://registry.example.org", "t", "e", commit), (e: unknown) => e instanceof InputError);
  assert.throws(() => pushReference("user:pw@registry.example.org", "t", "e", commit), (e: unknown) => e instanceof InputError && !e.message.includes("pw@"));
  assert.throws(() => pushReference("registry.example.org", "t", "bad name", commit), (e: unknown) => e instanceof InputError);
});
