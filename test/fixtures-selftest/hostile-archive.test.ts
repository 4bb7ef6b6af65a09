import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { hostileArchive } from "../fixtures/hostile-archive.ts";
import type { HostileKind } from "../fixtures/hostile-archive.ts";
import { digests, run, tempDir } from "./helpers.ts";

const tmp = tempDir();

// Python's tarfile lists members as stored (GNU tar would strip ../ and leading / while listing).
const LIST = `import sys, tarfile
for m in tarfile.open(fileobj=sys.stdin.buffer, mode="r|*"):
    print(m.type.decode(), m.name, m.linkname, m.size, f"{m.devmajor},{m.devminor}")`;

/** One line per payload member: type name linkname size major,minor (the whole tar for .tar.bz2, the pkg tar for .conda). */
function payloadListing(path: string): string {
  const tar = path.endsWith(".tar.bz2")
    ? run("bzip2", ["-dc", path]).stdout
    : run("sh", ["-ec", `python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.stdout.buffer.write(z.read([n for n in z.namelist() if n.startswith("pkg-")][0]))' "${path}" | zstd -qdc`]).stdout;
  return run("python3", ["-c", LIST], { input: tar }).stdout.toString();
}

const expected: [HostileKind, RegExp][] = [
  ["dotdot", /^0 \.\.\/escape\.txt {2}8 /m],
  ["absolute", /^0 \/tmp\/condaops-hostile-absolute\.txt {2}9 /m],
  ["symlink-escape", /^2 share\/passwd \.\.\/\.\.\/etc\/passwd 0 /m],
  ["symlink-write-through", /^2 share\/up \.\.\/\.\.\/\.\. 0 .*\n0 share\/up\/escaped\.txt {2}26 /m],
  ["hardlink-escape", /^1 share\/hard \.\.\/\.\.\/etc\/passwd 0 /m],
  ["device", /^3 share\/null {2}0 1,3\n6 share\/fifo {2}0 /m],
  ["duplicate", /^0 share\/dup\.txt {2}6 .*\n0 share\/dup\.txt {2}30 /m],
];

for (const format of ["tar.bz2", "conda"] as const) {
  test(`hostile ${format}: each payload is really in the archive, and the digests are the file's`, async () => {
    for (const [kind, re] of expected) {
      const built = await hostileArchive(kind, join(tmp, format), { format });
      assert.deepEqual(digests(built.path), { sha256: built.sha256, md5: built.md5, size: built.size }, kind);
      assert.equal(built.record.sha256, built.sha256);
      assert.equal(built.record.name, `hostile-${kind}`);
      assert.match(payloadListing(built.path), re, kind);
    }
  });

  test(`hostile ${format}: a truncated archive fails to decompress`, async () => {
    const built = await hostileArchive("truncated", join(tmp, format), { format });
    assert.deepEqual(digests(built.path), { sha256: built.sha256, md5: built.md5, size: built.size });
    const r = format === "tar.bz2" ? run("tar", ["-tjf", built.path], { allowFail: true }) : run("python3", ["-m", "zipfile", "-t", built.path], { allowFail: true });
    assert.notEqual(r.status, 0);
  });

  test(`hostile ${format}: a bomb is tiny on disk and huge unpacked`, async () => {
    const bombBytes = 64 << 20;
    const built = await hostileArchive("bomb", join(tmp, format), { format, bombBytes });
    assert.ok(built.size < 200_000, `${built.size} bytes`);
    assert.match(payloadListing(built.path), new RegExp(`^0 share/zeros\\.bin  ${bombBytes} `, "m"));
  });
}
