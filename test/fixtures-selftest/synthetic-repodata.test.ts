import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Repodata } from "../fixtures/channel.ts";
import { syntheticRepodata, writeSyntheticRepodata } from "../fixtures/synthetic-repodata.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();

test("100k records streamed to disk: exact count, ~10k names, realistic fan-out, builds and timestamps", async () => {
  const path = join(tmp, "repodata.json");
  const started = Date.now();
  const written = await writeSyntheticRepodata(path, { records: 100_000, seed: 42 });
  assert.ok(Date.now() - started < 10_000, "generation stays within seconds");
  assert.equal(written.records, 100_000);
  const r = JSON.parse(readFileSync(path, "utf8")) as Repodata;
  const records = [...Object.values(r.packages), ...Object.values(r["packages.conda"])];
  assert.equal(records.length, 100_000);
  assert.ok(Object.keys(r.packages).length > 10_000 && Object.keys(r["packages.conda"]).length > 50_000);
  const names = new Set(records.map((x) => x.name));
  assert.ok(names.size > 9_000 && names.size <= 10_000, `${names.size} names`);
  assert.ok(names.has("python") && names.has("python_abi"));
  const fanOut = records.filter((x) => x.name !== "python" && x.name !== "python_abi").map((x) => x.depends.filter((d) => !/^python(_abi)? /.test(d)).length);
  assert.ok(fanOut.filter((n) => n >= 3).length / fanOut.length > 0.99);
  assert.ok(Math.max(...fanOut) <= 10);
  assert.ok(records.some((x) => /^py31[012]h[0-9a-f]{7}_\d+$/.test(x.build) && x.depends.some((d) => /^python_abi 3\.1[012]\.\* \*_cp31[012]$/.test(d))));
  assert.ok(records.some((x) => /^[<>=]/.test(x.depends[0]?.split(" ")[1] ?? "")));
  const years = new Set(records.map((x) => new Date(x.timestamp ?? 0).getUTCFullYear()));
  assert.deepEqual([...years].sort(), [2020, 2021, 2022, 2023, 2024]);
  assert.equal(r.repodata_version, 1);
  assert.deepEqual(r.info, { subdir: "linux-64" });
});

test("deterministic for a seed; the in-memory object equals the streamed file", async () => {
  const a = syntheticRepodata({ records: 2_000, seed: 7 });
  const b = syntheticRepodata({ records: 2_000, seed: 7 });
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.notEqual(JSON.stringify(syntheticRepodata({ records: 2_000, seed: 8 })), JSON.stringify(a));
  const path = join(tmp, "small.json");
  await writeSyntheticRepodata(path, { records: 2_000, seed: 7 });
  assert.deepEqual(JSON.parse(readFileSync(path, "utf8")), a);
  const noarch = syntheticRepodata({ records: 500, seed: 1, subdir: "noarch" });
  const all = [...Object.values(noarch.packages), ...Object.values(noarch["packages.conda"])];
  assert.equal(all.length, 500);
  assert.ok(all.every((x) => x.subdir === "noarch" && (x.noarch === "python" || x.noarch === "generic")));
});
