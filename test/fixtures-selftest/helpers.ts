// Shared bits of the fixture self-tests: run a CLI, hash a file, extract a package like `tar xjf`.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

/** Runs a command; throws with its stderr unless it exits 0 (or `allowFail`). */
export function run(cmd: string, args: string[], opts: { input?: Buffer; cwd?: string; allowFail?: boolean } = {}): { stdout: Buffer; stderr: string; status: number | null } {
  const r = spawnSync(cmd, args, { input: opts.input, cwd: opts.cwd, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${String(r.stderr)}`);
  return { stdout: r.stdout, stderr: String(r.stderr), status: r.status };
}

export const sh = (script: string, cwd?: string): string => run("sh", ["-ec", script], { cwd }).stdout.toString();

export function digests(path: string): { sha256: string; md5: string; size: number } {
  const b = readFileSync(path);
  return { sha256: createHash("sha256").update(b).digest("hex"), md5: createHash("md5").update(b).digest("hex"), size: b.length };
}

/** A temporary folder removed after the test file. */
export function tempDir(prefix = "condaops-selftest-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Extracts a whole package (info/ included) into `dest` with the system tools only. */
export function extract(pkg: string, dest: string): void {
  if (pkg.endsWith(".tar.bz2")) sh(`mkdir -p "${dest}" && tar -xjf "${pkg}" -C "${dest}"`);
  else sh(`mkdir -p "${dest}/.z" && cd "${dest}/.z" && python3 -m zipfile -e "${pkg}" . && for f in *.tar.zst; do zstd -qdc "$f" | tar -x -C "${dest}"; done && rm -r "${dest}/.z"`);
}
