/**
 * `condaops lock SPEC [--platform P]... [--channel-alias URL] [--as-of DATE] [--previous LOCK | --fresh] [-o FILE]`:
 * policy applied, solved with rattler, written as a conda-lock v1 file (atomically).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { isPlatform } from "@conda-org/rattler";
import { loadConfig } from "../../config/index.ts";
import { InputError, UsageError } from "../../errors.ts";
import { writeFileAtomic } from "../../fs/write-atomic.ts";
import { worktree } from "../../git/worktree.ts";
import { createRepodataGateway } from "../../builder/channels/repodata-gateway.ts";
import { parseCondaLock, serializeCondaLock } from "../../builder/lock/conda-lock-v1.ts";
import { environmentHash } from "../../builder/lock/environment-hash.ts";
import { explicitFile } from "../../builder/lock/explicit.ts";
import { pinnedEnvironmentYaml } from "../../builder/lock/pinned-yaml.ts";
import type { Lock } from "../../builder/lock/types.ts";
import { solveEnvironment } from "../../builder/solve/solve.ts";
import { formatFinding, hasErrors } from "../../spec/finding.ts";
import { validateRepository } from "../../spec/validate-repo.ts";
import type { CommandModule } from "../command.ts";
import { checkRepoDir, repoOfFile, toRepoPath } from "../repo-paths.ts";

interface LockOptions {
  platform?: string[];
  channelAlias?: string;
  asOf?: string;
  previous?: string;
  fresh?: boolean;
  output?: string;
  repo?: string;
  kind?: string[];
}

/** conda-lock's `--kind`: the unified lock, `@EXPLICIT` files, pinned environment.yml files. */
const KINDS = ["lock", "explicit", "env"] as const;
type Kind = (typeof KINDS)[number];

/** `2024-06-01`, `2024-06-01T12:00:00Z`, or a date with an offset; a date alone means the end of that day (UTC). */
export function parseAsOf(text: string): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const d = new Date(dateOnly ? `${text}T23:59:59.999Z` : text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime())) {
    throw new UsageError("lock.as-of", `--as-of "${text}" is not a date`, { hint: "use 2024-06-01 or 2024-06-01T12:00:00Z" });
  }
  return d;
}

/** A path as the user would type it: relative to the current folder when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") ? path : rel;
}

async function readLock(file: string): Promise<Lock> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError("lock.previous-missing", `cannot read the lock ${file}`);
  }
  return parseCondaLock(file, text);
}

export const lockCommand: CommandModule = {
  name: "lock",
  define: (cmd) =>
    cmd
      .description("solve a spec (policy applied) and write a conda-lock v1 file")
      .argument("<spec>", "the spec file, <repo>/<namespace>/<name>.yaml")
      .option("--repo <dir>", "environments repository (default: the folder holding the namespace)")
      .option("--platform <platform...>", "target platforms (default: the spec's, else the policy's)")
      .option("--channel-alias <url>", "where bare channel names live (a mirror), overriding the policy and the configuration")
      .option("--as-of <date>", "only packages published at or before DATE (2024-06-01 or an ISO time)")
      .option("--previous <lock>", "keep this lock's versions wherever the spec allows (default: the output file, if it exists)")
      .option("--fresh", "ignore any previous lock: newest versions")
      .option("-o, --output <file>", "where to write the lock (default: <namespace>/<name>.lock.yml next to the spec)")
      .option("--kind <kind...>", "what to write: lock (conda-lock v1), explicit (<name>.<platform>.explicit.txt), env (<name>.<platform>.pinned.yaml)", ["lock"]),
  run: async (cmd, globals, out) => {
    const o = cmd.opts<LockOptions>();
    const [specFile] = cmd.args;
    if (specFile === undefined) throw new UsageError("lock.no-spec", "name the spec file to lock");
    if (o.previous && o.fresh) throw new UsageError("lock.previous-and-fresh", "--previous and --fresh contradict each other");
    for (const p of o.platform ?? []) {
      if (!isPlatform(p) || p === "noarch" || p === "unknown") throw new UsageError("lock.platform", `"${p}" is not a conda platform`, { hint: "e.g. linux-64, osx-arm64, win-64" });
    }
    if (o.channelAlias !== undefined && !/^(https?|file):\/\//.test(o.channelAlias)) {
      throw new UsageError("lock.channel-alias", `--channel-alias "${o.channelAlias}" is not an http(s):// or file:// URL`);
    }
    const kinds = new Set<Kind>();
    for (const k of o.kind ?? ["lock"]) {
      if (!(KINDS as readonly string[]).includes(k)) throw new UsageError("lock.kind", `--kind "${k}" is not one of ${KINDS.join(", ")}`);
      kinds.add(k as Kind);
    }
    const asOf = o.asOf === undefined ? undefined : parseAsOf(o.asOf);
    const config = await loadConfig({ ...(globals.config ? { file: globals.config } : {}), warn: (m) => out.error(m) });

    const repo = checkRepoDir(o.repo ?? repoOfFile(specFile));
    const path = toRepoPath(repo, specFile);
    const report = await validateRepository(worktree(repo), { only: [path] });
    for (const f of report.findings) out.error(formatFinding(f));
    const effective = report.specs[0]?.effective;
    if (hasErrors(report.findings) || !effective) throw new InputError("lock.invalid-spec", `${path} is not valid; fix the errors above`);

    const output = o.output ?? join(repo, path.replace(/\.yaml$/, ".lock.yml"));
    const previousFile = o.fresh ? undefined : (o.previous ?? (existsSync(output) ? output : undefined));
    const previous = previousFile ? await readLock(previousFile) : undefined;
    if (previous && previousFile) out.progress(`keeping the versions of ${shown(previousFile)} where the spec allows (--fresh for the newest)`);

    const gateway = createRepodataGateway({ cacheDir: config.cacheDir, credentials: config.channelCredentials, log: (l) => out.progress(l) });
    const alias = o.channelAlias ?? config.channelAlias;
    const { lock, stats } = await solveEnvironment(effective, {
      gateway,
      virtualPackages: config.virtualPackages,
      ...(o.platform ? { platforms: o.platform } : {}),
      ...(alias ? { channelAlias: alias } : {}),
      ...(asOf ? { asOf } : {}),
      ...(previous ? { previous } : {}),
      sources: [path],
      metadata: { "condaops.spec-hash": report.specs[0]?.specHash ?? "" },
      log: (l) => out.progress(l),
    });
    // The previous lock is read before anything is written, and each file is replaced atomically.
    const written: string[] = [];
    const base = output.replace(/\.lock\.ya?ml$|\.ya?ml$/, "");
    if (kinds.has("lock")) {
      await writeFileAtomic(output, serializeCondaLock(lock));
      written.push(output);
    }
    for (const platform of lock.platforms) {
      if (kinds.has("explicit")) {
        const file = `${base}.${platform}.explicit.txt`;
        await writeFileAtomic(file, explicitFile(lock, platform));
        written.push(file);
      }
      if (kinds.has("env")) {
        const file = `${base}.${platform}.pinned.yaml`;
        await writeFileAtomic(file, pinnedEnvironmentYaml(lock, platform, { name: effective.name, channelAlias: alias ?? effective.channelAlias, variables: effective.variables }));
        written.push(file);
      }
    }

    const perPlatform = Object.fromEntries(lock.platforms.map((p) => [p, { packages: lock.packages.filter((x) => x.platform === p).length, environmentHash: environmentHash(lock, p) }]));
    out.result({ ok: true, output, written, specHash: report.specs[0]?.specHash, platforms: perPlatform, stats });
    for (const [p, v] of Object.entries(perPlatform)) out.info(`${p}: ${v.packages} packages (environment hash ${v.environmentHash.slice(0, 12)})`);
    for (const f of written) out.info(`wrote ${shown(f)}`);
    return 0;
  },
};
