import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixShebang, MAX_SHEBANG_LENGTH, replaceBinary, replaceText, rewritePrefix } from "../../../src/builder/install/prefix-replace.ts";
import { InputError } from "../../../src/errors.ts";

const PH = "/opt/anaconda1anaconda2anaconda3";
const b = (s: string): Buffer => Buffer.from(s, "latin1");
const s = (x: Buffer): string => x.toString("latin1");

test("text: every occurrence is replaced, lengths change freely", () => {
  const out = replaceText(b(`prefix=${PH}\nlib=${PH}/lib:${PH}/lib64\n`), PH, "/envs/a");
  assert.equal(s(out), "prefix=/envs/a\nlib=/envs/a/lib:/envs/a/lib64\n");
  assert.equal(s(replaceText(b("no placeholder here"), PH, "/x")), "no placeholder here");
  // a longer prefix is fine in text mode
  assert.equal(s(replaceText(b(`"${PH}"`), PH, `/${"x".repeat(100)}`)), `"/${"x".repeat(100)}"`);
});

test("binary: the C string is rewritten and NUL-padded to its length; other bytes do not move", () => {
  const input = b(`\x7fELF..${PH}/share/data\0tail\0`);
  const out = replaceBinary(input, PH, "/envs/a");
  assert.equal(out.length, input.length);
  const pad = PH.length - "/envs/a".length;
  assert.equal(s(out), `\x7fELF../envs/a/share/data${"\0".repeat(pad)}\0tail\0`);
});

test("binary: several occurrences in one C string are all replaced and the padding is their sum", () => {
  const input = b(`xx${PH}/bin:${PH}/lib:${PH}\0after\0${PH}/etc\0`);
  const out = replaceBinary(input, PH, "/p");
  const per = PH.length - 2;
  assert.equal(s(out), `xx/p/bin:/p/lib:/p${"\0".repeat(per * 3)}\0after\0/p/etc${"\0".repeat(per)}\0`);
  assert.equal(out.length, input.length);
});

test("binary: the rattler vector (PATH=...) and a placeholder with no NUL after it (not a C string) left alone", () => {
  const out = replaceBinary(b("beginrandomdataPATH=/placeholder/etc/share:/placeholder/bin/:\0somemoretext"), "/placeholder", "/target");
  assert.equal(s(out), `beginrandomdataPATH=/target/etc/share:/target/bin/:${"\0".repeat(10)}\0somemoretext`);
  assert.equal(s(replaceBinary(b(`abc${PH}`), PH, "/p")), `abc${PH}`);
});

test("binary: a prefix longer than the placeholder is an InputError; equal length is fine", () => {
  assert.throws(() => replaceBinary(b(`${PH}\0`), PH, `${PH}/longer`), (e: unknown) => e instanceof InputError && /longer than the package's binary placeholder/.test(e.message));
  const same = "/" + "y".repeat(PH.length - 1);
  assert.equal(s(replaceBinary(b(`${PH}\0`), PH, same)), `${same}\0`);
  // nothing to replace: nothing to refuse
  assert.equal(s(replaceBinary(b("plain\0"), PH, `${PH}/longer`)), "plain\0");
});

test("shebang: short and space-free lines are kept", () => {
  const text = b("#!/envs/a/bin/python3.11 -E\nprint(1)\n");
  assert.equal(fixShebang(text, "/envs/a"), text);
  const notOurs = b(`#!/usr/bin/env ${"x".repeat(200)}\n`);
  assert.equal(fixShebang(notOurs, "/envs/a"), notOurs);
});

test("shebang: a python line over 127 bytes becomes the /bin/sh + '''exec' form, options kept", () => {
  const prefix = `/very/${"long/".repeat(25)}env`;
  const line = `#!${prefix}/bin/python3.11 -E`;
  assert.ok(Buffer.byteLength(line) > MAX_SHEBANG_LENGTH);
  const out = s(fixShebang(b(`${line}\nimport sys\n`), prefix));
  assert.equal(out, `#!/bin/sh\n'''exec' "${prefix}/bin/python3.11" -E "$0" "$@" #'''\nimport sys\n`);
});

test("shebang: exactly 127 bytes is kept, 128 is rewritten", () => {
  const mk = (n: number): string => {
    const exe = "/bin/perl";
    return `/${"p".repeat(n - 2 - exe.length - 1)}`;
  };
  const p127 = mk(127);
  const l127 = `#!${p127}/bin/perl`;
  assert.equal(Buffer.byteLength(l127), 127);
  assert.equal(s(fixShebang(b(`${l127}\n`), p127)), `${l127}\n`);
  const p128 = mk(128);
  assert.equal(s(fixShebang(b(`#!${p128}/bin/perl -w\nprint 1;\n`), p128)), "#!/usr/bin/env perl -w\nprint 1;\n");
});

test("shebang: a prefix with spaces: python gets the exec form, others /usr/bin/env", () => {
  const prefix = "/home/me/my envs/a";
  assert.equal(s(fixShebang(b(`#!${prefix}/bin/python\nx\n`), prefix)), `#!/bin/sh\n'''exec' "${prefix}/bin/python" "$0" "$@" #'''\nx\n`);
  assert.equal(s(fixShebang(b(`#!${prefix}/bin/bash -e\necho\n`), prefix)), "#!/usr/bin/env bash -e\necho\n");
});

test("rewritePrefix: text replacement then the shebang fix; binary padding; Windows rules", () => {
  const prefix = `/p/${"q".repeat(130)}`;
  const out = s(rewritePrefix(b(`#!${PH}/bin/python3.12\nhome = "${PH}"\n`), { placeholder: PH, prefix, mode: "text", platform: "linux-64" }));
  assert.equal(out, `#!/bin/sh\n'''exec' "${prefix}/bin/python3.12" "$0" "$@" #'''\nhome = "${prefix}"\n`);
  assert.equal(s(rewritePrefix(b(`x=${PH}\n`), { placeholder: PH, prefix: "C:\\envs\\a", mode: "text", platform: "win-64" })), "x=C:/envs/a\n");
  const bin = b(`${PH}\0`);
  assert.equal(rewritePrefix(bin, { placeholder: PH, prefix: "C:\\a", mode: "binary", platform: "win-64" }), bin);
});

test("the /bin/sh + '''exec' form really runs python from a long prefix", { skip: process.platform === "win32" }, () => {
  const root = mkdtempSync(join(tmpdir(), "condaops-shebang-"));
  try {
    const prefix = join(root, "x".repeat(140));
    mkdirSync(join(prefix, "bin"), { recursive: true });
    const python3 = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
    symlinkSync(python3, join(prefix, "bin", "python3.11"));
    const script = join(prefix, "bin", "hello");
    writeFileSync(script, rewritePrefix(b(`#!${PH}/bin/python3.11\nimport sys\nprint("args", sys.argv[1:])\n`), { placeholder: PH, prefix, mode: "text", platform: "linux-64" }));
    chmodSync(script, 0o755);
    assert.equal(execFileSync(script, ["a b", "c"], { encoding: "utf8" }), "args ['a b', 'c']\n");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
