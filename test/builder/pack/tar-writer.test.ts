import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { TarWriter } from "../../../src/builder/pack/tar-writer.ts";

async function writeTar(path: string, fill: (t: TarWriter) => Promise<void>): Promise<void> {
  const out = createWriteStream(path);
  const done = finished(out);
  const t = new TarWriter(out);
  await fill(t);
  await t.finish();
  out.end();
  await done;
}

test("long, non-ASCII and odd names, long link targets and chunked files extract with the system tar", async () => {
  const work = await mkdtemp(join(tmpdir(), "condaops-tar-"));
  try {
    const deep = `${"d".repeat(90)}/${"e".repeat(90)}`;
    const names = [
      "plain.txt",
      `${deep}/split-into-ustar-prefix.txt`, // fits ustar's prefix + name
      `${"x".repeat(120)}.txt`, // no slash to split at: pax
      `${deep}/${"f".repeat(90)}/${"g".repeat(90)}.txt`, // over 255: pax
      "ünïcödé/naïve.txt",
      "new\nline.txt",
      "quote's \"and\" $dollar.txt",
    ];
    const tarPath = join(work, "t.tar");
    const big = Buffer.alloc(3 * 65536 + 17, 7);
    await writeTar(tarPath, async (t) => {
      const mtime = 1_700_000_000;
      await t.directory({ path: deep.split("/")[0] as string, mode: 0o755, mtime });
      for (const n of names) await t.file({ path: n, mode: 0o640, mtime }, Buffer.from(`content of ${n}`));
      await t.symlink({ path: "link", mode: 0o777, mtime }, `${"../".repeat(2)}${"t".repeat(150)}`);
      let left = big.length;
      await t.fileFrom({ path: "big.bin", mode: 0o755, mtime }, big.length, () => {
        const n = Math.min(65536, left);
        left -= n;
        return big.subarray(big.length - left - n, big.length - left);
      });
    });
    assert.equal((await stat(tarPath)).size % 512, 0);
    const dir = join(work, "x");
    execFileSync("mkdir", [dir]);
    execFileSync("tar", ["-xf", tarPath, "-C", dir]);
    for (const n of names) assert.equal(await readFile(join(dir, n), "utf8"), `content of ${n}`, JSON.stringify(n));
    assert.equal(((await stat(join(dir, names[0] as string))).mode & 0o777), 0o640);
    assert.equal(await readlink(join(dir, "link")), `../../${"t".repeat(150)}`);
    assert.deepEqual(await readFile(join(dir, "big.bin")), big);
    const listing = execFileSync("tar", ["--numeric-owner", "--utc", "-tvf", tarPath], { encoding: "utf8" });
    for (const line of listing.trim().split("\n")) if (!line.startsWith(" ")) assert.match(line, / 0\/0 .* 2023-11-14 22:13 /, line);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test("a file that does not deliver its size fails the entry", async () => {
  const work = await mkdtemp(join(tmpdir(), "condaops-tar-"));
  try {
    await assert.rejects(
      writeTar(join(work, "t.tar"), (t) => t.fileFrom({ path: "short", mode: 0o644, mtime: 0 }, 10, () => Buffer.alloc(0))),
      /short changed while it was packed \(0 bytes read, 10 expected\)/,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
