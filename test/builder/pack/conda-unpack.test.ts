import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { condaUnpackScript, printfLiteral, shellQuote } from "../../../src/builder/pack/conda-unpack.ts";
import { MANIFEST_FORMAT } from "../../../src/builder/pack/pack-manifest.ts";
import type { PackManifest } from "../../../src/builder/pack/pack-manifest.ts";
import { pycSource } from "../../../src/builder/pack/pack-archive.ts";

const SHELLS = ["dash", "bash"].filter((s) => spawnSync(s, ["-c", "true"]).status === 0);

test("quoted names reach commands byte for byte, whatever they contain", () => {
  const names = ["plain", "it's", "$(touch x)", "`id`", "a\nb", "\\n", "'", "''", "-rf", "é ü", "a\tb\x01c"];
  for (const shell of SHELLS) {
    for (const n of names) {
      const out = execFileSync(shell, ["-c", `printf '%s' ${shellQuote(n)}`], { encoding: "utf8" });
      assert.equal(out, n, `${shell}: ${JSON.stringify(n)}`);
    }
  }
});

test("printf formats print every byte but NUL exactly", () => {
  const bytes = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));
  const format = printfLiteral(bytes);
  assert.doesNotMatch(format, /['%]/);
  for (const shell of SHELLS) {
    const out = execFileSync(shell, ["-c", `LC_ALL=C printf '${format}%s' "$1"`, "sh", "%s\\n"]);
    assert.deepEqual(out, Buffer.concat([bytes, Buffer.from("%s\\n")]), shell);
  }
});

test("the generated script is valid sh, names every file once and carries no prefix", () => {
  const manifest: PackManifest = {
    format: MANIFEST_FORMAT,
    condaops: "0.0.0",
    label: "ns/env@abc\n$(evil) (linux-64)",
    text: [{ path: "bin/it's $(x)", mode: 0o755, shebang: true }],
    binary: [{ path: "lib/a.so", mode: 0o644, fromPackage: true, regions: [{ offset: 10, length: 30, segments: [Buffer.alloc(0), Buffer.from("/lib%s'\\")] }] }],
    pyc: [{ path: "x/__pycache__/m.cpython-311.pyc", source: "x/m.py" }],
    relinked: [],
    maxPrefix: { bytes: 21, path: "lib/a.so" },
  };
  const script = condaUnpackScript(manifest);
  for (const shell of SHELLS) assert.equal(spawnSync(shell, ["-n"], { input: script }).status, 0, `${shell} -n`);
  assert.match(script, /^text '\.\/bin\/it'\\''s \$\(x\)' 755 shebang$/m);
  assert.match(script, /^cstr '\.\/lib\/a\.so' 644 10 30 8 1 '%s\/lib\\045s\\047\\134'$/m);
  assert.match(script, /^# {3}ns\/env@abc\?\$\(evil\) \(linux-64\)$/m, "the label cannot leave its comment line");
  assert.match(script, /can hold a path of at most 21 bytes/);
});

test("bytecode maps back to its source", () => {
  assert.equal(pycSource("lib/python3.11/site-packages/requests/__pycache__/cli.cpython-311.pyc"), "lib/python3.11/site-packages/requests/cli.py");
  assert.equal(pycSource("a/__pycache__/m.cpython-312.opt-1.pyc"), "a/m.py");
  assert.equal(pycSource("__pycache__/m.cpython-312.pyc"), "m.py");
  assert.equal(pycSource("lib/old.pyc"), "lib/old.py");
});
