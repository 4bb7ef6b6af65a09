/**
 * Loading the configuration: the file (`--config`, else `$CONDAOPS_CONFIG`, else
 * `condaops.config.yaml` in the current folder if present), then `CONDAOPS_*` variables over it,
 * then defaults. Secrets named by `*_env` / `*_file` are read here and nowhere else.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { InputError, UsageError } from "../errors.ts";
import { parseYaml } from "../spec/yaml-source.ts";
import { checkSchema } from "../spec/schema-check.ts";
import { formatFinding } from "../spec/finding.ts";
import type { RawConfig } from "../schema-types/config.ts";
import configSchema from "../../schemas/config.schema.json" with { type: "json" };
import { applyEnvOverrides } from "./env-overrides.ts";
import { DEFAULT_MIN_FREE_SPACE, DEFAULT_VIRTUAL_PACKAGES } from "./types.ts";
import type { ChannelCredential, Config } from "./types.ts";

export const DEFAULT_CONFIG_FILE = "condaops.config.yaml";

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** `--state DIR`: flags win over the file and the variables. */
  state?: string;
  /** Called with warnings (unknown CONDAOPS_* variables). */
  warn?: (message: string) => void;
}

async function readSecret(kind: string, direct: string | undefined, envName: string | undefined, file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Promise<string | undefined> {
  if (direct !== undefined) return direct;
  if (envName !== undefined) {
    const v = env[envName];
    if (v === undefined || v === "") {
      throw new InputError("config.secret", `the ${kind} variable ${envName} is not set`, { hint: `export ${envName} or remove ${kind}_env from the configuration` });
    }
    return v;
  }
  if (file !== undefined) {
    try {
      return (await readFile(resolve(cwd, file), "utf8")).trim();
    } catch {
      throw new InputError("config.secret", `cannot read the ${kind} file ${file}`, { hint: "check the path and its permissions" });
    }
  }
  return undefined;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.CONDAOPS_CONFIG;
  let file: string | undefined;
  if (explicit !== undefined) {
    file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new UsageError("config.missing", `configuration file ${explicit} does not exist`);
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    file = resolve(cwd, DEFAULT_CONFIG_FILE);
  }

  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    const source = parseYaml(explicit ?? DEFAULT_CONFIG_FILE, await readFile(file));
    const findings = checkSchema(source, configSchema);
    const first = findings[0];
    if (first) {
      throw new InputError("config.invalid", findings.map(formatFinding).join("\n"), {
        hint: "see schemas/config.schema.json for the keys",
        position: undefined,
      });
    }
    raw = source.value as Record<string, unknown>;
  }
  const { value, unknown } = applyEnvOverrides(raw, configSchema, env);
  for (const name of unknown) options.warn?.(`warning: ${name} is not a condaops setting (ignored)`);
  // Settings from variables are untrusted too: check them against the same schema.
  const envFindings = checkSchema(parseYaml("(environment)", JSON.stringify(value)), configSchema);
  if (envFindings[0]) {
    throw new InputError("config.invalid", `CONDAOPS_* variables give an invalid configuration: ${envFindings.map((f) => f.message).join("; ")}`);
  }
  // Checked against the schema just above.
  const c = value as RawConfig;

  const state = resolve(cwd, options.state ?? c.state ?? ".condaops");
  const credentials: ChannelCredential[] = [];
  for (const cr of c.channels?.credentials ?? []) {
    const token = await readSecret("token", cr.token, cr.token_env, cr.token_file, env, cwd);
    const password = await readSecret("password", cr.password, cr.password_env, cr.password_file, env, cwd);
    credentials.push({
      prefix: cr.prefix.replace(/\/+$/, ""),
      bearer: cr.bearer ?? false,
      ...(token !== undefined ? { token } : {}),
      ...(cr.username !== undefined ? { username: cr.username } : {}),
      ...(password !== undefined ? { password } : {}),
    });
  }

  const databaseUrl = await readSecret("database url", c.database?.url, c.database?.url_env, c.database?.url_file, env, cwd);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new InputError("config.database-url", "database.url must start with postgres:// or postgresql://", { hint: "e.g. postgres://condaops@db.example.org:5432/condaops" });
  }

  return {
    state,
    cacheDir: resolve(cwd, c.cache_dir ?? resolve(state, "cache")),
    ...(c.channel_alias !== undefined ? { channelAlias: c.channel_alias.replace(/\/+$/, "") } : {}),
    channelCredentials: credentials,
    virtualPackages: { ...DEFAULT_VIRTUAL_PACKAGES, ...(c.solve?.virtual_packages ?? {}) },
    database: databaseUrl !== undefined ? { url: databaseUrl } : {},
    storage: { kind: "local", path: resolve(cwd, c.storage?.path ?? resolve(state, "blobs")) },
    build: {
      ...(c.build?.permissions !== undefined ? { permissions: Number.parseInt(c.build.permissions.replace(/^0o?/, ""), 8) } : {}),
      ...(c.build?.uid !== undefined ? { uid: c.build.uid } : {}),
      ...(c.build?.gid !== undefined ? { gid: c.build.gid } : {}),
      minFreeSpace: DEFAULT_MIN_FREE_SPACE,
    },
    oci: { credentials: [], insecureRegistries: [] },
    install: {
      installer: c.install?.installer ?? "condaops",
      concurrency: c.install?.concurrency ?? 8,
      linkScripts: c.install?.link_scripts ?? false,
      compilePython: c.install?.compile_python ?? false,
    },
    ...(file !== undefined ? { source: file } : {}),
  };
}
