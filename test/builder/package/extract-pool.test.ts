// Extraction in worker threads: the same trees as in this thread, the same refusals (errors cross
// the thread boundary with their kind, code and message), queueing beyond the pool's size, and a
// fallback to this thread when workers cannot start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { extractArchive } from "../../../src/builder/package/extract.ts";
import { ExtractPool, extractPool, fromWire } from "../../../src/builder/package/extract-pool.ts";
import { toWire } from "../../../src/builder/package/extract-worker.ts";
import { InfraError, InputError } from "../../../src/errors.ts";
import { buildPackage } from "../../fixtures/conda-package.ts";
import type { PackageFormat } from "../../fixtures/conda-package.ts";
import { hostileArchive } from "../../fixtures/hostile-archive.ts";
import { listing, tempDir } from "./helpers.ts";

const tmp = tempDir("condaops-pool-");
let seq = 0;
const dest = (): string => join(tmp, "out", `d${seq++}`);

async function archive(name: string, format: PackageFormat, files = 20): Promise<string> {
  const built = await buildPackage(
    { name, version: "1.0", subdir: "linux-64", files: Array.from({ length: files }, (_, i) => ({ path: `lib/${name}/m${i}.py`, content: `print(${i})\n`.repeat(i + 1) })) },
    join(tmp, "channel"),
    format,
  );
  return built.path;
}

test("the pool extracts both formats exactly as extractArchive does in this thread", async () => {
  const pool = extractPool(2);
  for (const format of ["conda", "tar.bz2"] as const) {
    const path = await archive(`same-${format.replace(".", "")}`, format);
    const here = dest();
    const there = dest();
    const a = await extractArchive(path, here);
    const b = await pool.extract(path, there);
    assert.deepEqual(b, a, format);
    assert.deepEqual(await listing(there), await listing(here), format);
  }
  assert.ok(pool.workers >= 1, "a worker thread did the work");
});

test("refusals cross the thread boundary as the same errors, and nothing is left behind", async () => {
  const pool = extractPool(2);
  for (const format of ["conda", "tar.bz2"] as const) {
    for (const kind of ["dotdot", "symlink-escape", "device", "bomb", "truncated"] as const) {
      const built = await hostileArchive(kind, join(tmp, "hostile", format), { format, bombBytes: 64 << 20 });
      const here = dest();
      const there = dest();
      const expected = await extractArchive(built.path, here).then(
        () => assert.fail(`${kind} was extracted`),
        (e: unknown) => e,
      );
      await assert.rejects(pool.extract(built.path, there), (e: unknown) => {
        assert.ok(e instanceof InputError, `${format} ${kind}: ${String(e)}`);
        assert.ok(expected instanceof InputError);
        assert.equal(e.code, expected.code);
        assert.equal(e.message, expected.message);
        assert.equal(e.hint, expected.hint);
        return true;
      });
      assert.equal(existsSync(there), false, `${format} ${kind}: nothing left`);
    }
  }
  await assert.rejects(pool.extract(join(tmp, "missing-1.0-0.conda"), dest()), (e: unknown) => e instanceof InfraError && e.exitCode === 3 && e.code === "package.read");
});

test("more archives than workers are queued and all extracted", async () => {
  const pool = new ExtractPool(2);
  const paths = await Promise.all(Array.from({ length: 12 }, (_, i) => archive(`many${i}`, i % 2 ? "conda" : "tar.bz2", 5)));
  const outs = paths.map(() => dest());
  const stats = await Promise.all(paths.map((p, i) => pool.extract(p, outs[i] as string)));
  assert.ok(stats.every((s) => s.files === 5 + 4), JSON.stringify(stats)); // + info/ files
  assert.ok(pool.workers <= 2);
  for (const out of outs) assert.ok(readdirSync(join(out, "lib")).length === 1);
});

test("a pool of size 0 extracts in this thread; errors as data keep their kind", async () => {
  const pool = new ExtractPool(0);
  const path = await archive("inline", "conda");
  const s = await pool.extract(path, dest());
  assert.equal(s.files, 20 + 4);
  assert.equal(pool.workers, 0);
  const input = fromWire(toWire(new InputError("package.x", "refused", { hint: "h", position: { file: "f", line: 2 } })));
  assert.ok(input instanceof InputError && input.code === "package.x" && input.hint === "h" && input.position?.line === 2);
  const infra = fromWire(toWire(Object.assign(new Error("EIO: i/o error"), { code: "EIO" })));
  assert.ok(infra instanceof InfraError && /EIO/.test(infra.message));
});
