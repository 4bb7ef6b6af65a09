/**
 * Package link scripts (`bin/.<name>-post-link.sh` and friends) run as conda's `core/link.py`
 * `run_script` runs them: bash, conda's variables (PREFIX, PKG_NAME, PKG_VERSION, PKG_BUILDNUM,
 * SOURCE_DIR for pre-link), the script's bin folder first on PATH, and the `.messages.txt` a
 * script leaves in the prefix collected and removed. Unlike conda, output is captured (for the
 * build log, never the terminal), a timeout kills the script's whole process group, and a failure
 * is an InputError carrying the output. They execute package code: the caller decides whether
 * they run at all (DESIGN.md: off by default).
 */
import { constants } from "node:fs";
import { access, readFile, rm } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { execa } from "execa";
import { InputError } from "../../errors.ts";
import type { ExtractedPackage } from "./types.ts";

export type LinkScriptKind = "pre-link" | "post-link" | "pre-unlink";

export interface LinkScriptOptions {
  /** The prefix the package is linked into now: where post-link/pre-unlink scripts are, and $PREFIX. */
  prefix: string;
  timeoutMs: number;
  log?(line: string): void;
}

export interface LinkScriptResult {
  ran: boolean;
  /** stdout and stderr, interleaved. */
  output: string;
  /** What the script left in `$PREFIX/.messages.txt` (conda shows it to the user), if anything. */
  messages?: string;
}

const MAX_OUTPUT_IN_ERROR = 8000;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Collects and removes `$PREFIX/.messages.txt`, as conda does after each script. */
async function takeMessages(prefix: string): Promise<string | undefined> {
  const file = join(prefix, ".messages.txt");
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  } finally {
    await rm(file, { force: true });
  }
}

/** Runs the package's `kind` script if it has one (`ran: false` otherwise). Unix only: `.bat` scripts are not run. */
export async function runLinkScript(kind: LinkScriptKind, pkg: ExtractedPackage, opts: LinkScriptOptions): Promise<LinkScriptResult> {
  const r = pkg.record;
  // pre-link runs before the package's files are in the prefix: conda runs it from the package cache.
  const script = join(kind === "pre-link" ? pkg.dir : opts.prefix, "bin", `.${r.name}-${kind}.sh`);
  if (!(await exists(script))) return { ran: false, output: "" };
  const label = `${r.name}-${r.version}-${r.build}`;
  const env: Record<string, string> = {
    PREFIX: opts.prefix,
    PKG_NAME: r.name,
    PKG_VERSION: r.version,
    PKG_BUILDNUM: String(r.buildNumber),
    PATH: [join(opts.prefix, "bin"), process.env.PATH ?? ""].filter(Boolean).join(delimiter),
  };
  if (kind === "pre-link") env.SOURCE_DIR = pkg.dir;
  opts.log?.(`${label}: running ${kind} script`);

  // Own process group, so that a timeout kills what the script started too (the output pipe would stay open otherwise).
  const sub = execa("/bin/bash", [script], { cwd: dirname(script), env, extendEnv: true, stdin: "ignore", all: true, reject: false, detached: true, buffer: true, stripFinalNewline: false });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (sub.pid !== undefined) process.kill(-sub.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutMs);
  let pending = "";
  sub.all?.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) opts.log?.(`${label} ${kind}: ${line}`);
  });
  const result = await sub;
  clearTimeout(timer);
  if (pending) opts.log?.(`${label} ${kind}: ${pending}`);

  const output = typeof result.all === "string" ? result.all : "";
  const messages = await takeMessages(opts.prefix);
  if (messages) opts.log?.(`${label} ${kind} message: ${messages.trimEnd()}`);
  if (timedOut || result.failed) {
    const why = timedOut ? `did not finish within ${opts.timeoutMs} ms and was killed` : result.exitCode !== undefined ? `exited with ${result.exitCode}` : `failed (${result.signal ?? result.shortMessage})`;
    const shown = output.length > MAX_OUTPUT_IN_ERROR ? `…${output.slice(-MAX_OUTPUT_IN_ERROR)}` : output;
    throw new InputError("install.link-script", `the ${kind} script of ${label} ${why}${shown.trim() ? `; its output:\n${shown.trimEnd()}` : " without output"}`, {
      hint: `bin/.${r.name}-${kind}.sh failed; fix or drop the package, or turn link scripts off (install.link_scripts: false)`,
    });
  }
  return { ran: true, output, ...(messages ? { messages } : {}) };
}
