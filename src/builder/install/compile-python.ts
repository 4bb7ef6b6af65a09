/**
 * Optional byte-compilation of `noarch: python` packages (`install.compile_python`), as conda does
 * at install time: noarch packages ship only `.py` files, so the first import would otherwise
 * write `.pyc` files into a prefix that should stay immutable. Runs the environment's own python
 * (`compileall`); a failure is a warning, as in conda, never a failed install.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";

export async function compilePython(prefix: string, pythonVersion: string, log?: (line: string) => void, timeoutMs = 600_000): Promise<boolean> {
  const python = join(prefix, "bin", "python");
  const sitePackages = join(prefix, "lib", `python${pythonVersion}`, "site-packages");
  if (!existsSync(python) || !existsSync(sitePackages)) return false;
  const r = await execa(python, ["-m", "compileall", "-q", "-j", "0", sitePackages], { reject: false, all: true, timeout: timeoutMs, env: { PYTHONDONTWRITEBYTECODE: "" } });
  if (r.exitCode !== 0) {
    log?.(`warning: byte-compiling ${sitePackages} failed (exit ${r.exitCode ?? "?"}); packages still work, imports write their own .pyc`);
    for (const line of String(r.all ?? "").split("\n").slice(-20)) if (line.trim()) log?.(`  ${line}`);
    return false;
  }
  return true;
}
