/**
 * Loading the configuration: the file (`--config`, else `$CONDAOPS_CONFIG`, else
 * `condaops.config.yaml` in the current folder if present), then `CONDAOPS_*` variables over it,
 * then defaults. Secrets named by `*_env` / `*_file` are read here and nowhere else (plus the
 * standard `AWS_*` variables for S3 storage configured without keys). The schema checks shapes;
 * what it cannot say (a bucket without an endpoint, `5GiB` as a number) is checked here, with the
 * key named and no secret value ever in a message.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { checkObjectKey } from "../blobs/object-key.ts";
import { InputError, UsageError } from "../errors.ts";
import { parseByteSize } from "../byte-size.ts";
import { parseYaml } from "../spec/yaml-source.ts";
import { checkSchema } from "../spec/schema-check.ts";
import { formatFinding } from "../spec/finding.ts";
import type { RawConfig } from "../schema-types/config.ts";
import configSchema from "../../schemas/config.schema.json" with { type: "json" };
import { applyEnvOverrides } from "./env-overrides.ts";
import { DEFAULT_MIN_FREE_SPACE, DEFAULT_S3_PART_SIZE, DEFAULT_S3_REGION, DEFAULT_VIRTUAL_PACKAGES } from "./types.ts";
import type { ChannelCredential, Config, OciConfig, OciRegistryCredential, StorageConfig } from "./types.ts";

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
    storage: await loadStorage(c.storage ?? {}, state, env, cwd, options.warn),
    build: {
      ...(c.build?.permissions !== undefined ? { permissions: Number.parseInt(c.build.permissions.replace(/^0o?/, ""), 8) } : {}),
      ...(c.build?.uid !== undefined ? { uid: c.build.uid } : {}),
      ...(c.build?.gid !== undefined ? { gid: c.build.gid } : {}),
      minFreeSpace: c.build?.min_free_space === undefined ? DEFAULT_MIN_FREE_SPACE : byteSizeSetting("build.min_free_space", c.build.min_free_space),
    },
    oci: await loadOci(c.oci ?? {}, env, cwd),
    install: {
      installer: c.install?.installer ?? "condaops",
      concurrency: c.install?.concurrency ?? 8,
      linkScripts: c.install?.link_scripts ?? false,
      compilePython: c.install?.compile_python ?? false,
    },
    ...(file !== undefined ? { source: file } : {}),
  };
}

const invalid = (message: string, hint: string): InputError => new InputError("config.invalid", message, { hint });

/** A size setting (`build.min_free_space`): bytes, or a size with a unit (src/byte-size.ts). */
function byteSizeSetting(key: string, raw: number | string): number {
  const bytes = parseByteSize(raw);
  if (bytes === undefined) {
    throw invalid(`${key} is ${JSON.stringify(raw)}, which is not a size in bytes`, "write a whole number of bytes or a size with a unit: 5GiB, 500MB, 1073741824; 0 turns the check off");
  }
  return bytes;
}

/** An `http(s)://host[:port]` URL without path, query or user-info, as the S3 client takes it. */
function checkEndpoint(key: string, raw: string): string {
  const hint = "write the scheme and host only, e.g. https://s3.amazonaws.com or http://127.0.0.1:9000; keys go in storage.access_key_id_env and storage.secret_access_key_env";
  // Never echo a value holding "@": it may be user:password@ (even one no URL parser reads).
  if (raw.includes("@")) throw invalid(`${key} must not hold credentials (user:password@)`, hint);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") throw invalid(`${key} is ${JSON.stringify(raw)}, which is not an http:// or https:// URL`, hint);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    throw invalid(`${key} is ${JSON.stringify(raw)}, which has a path, query or fragment; S3 endpoints are a scheme and host[:port] only`, hint);
  }
  return `${url.protocol}//${url.host}`;
}

const S3_ONLY_KEYS = [
  "endpoint",
  "public_endpoint",
  "bucket",
  "region",
  "prefix",
  "access_key_id",
  "access_key_id_env",
  "access_key_id_file",
  "secret_access_key",
  "secret_access_key_env",
  "secret_access_key_file",
  "session_token_env",
  "path_style",
  "create_bucket",
  "part_size",
] as const;

type RawStorage = NonNullable<RawConfig["storage"]>;

async function loadStorage(s: RawStorage, state: string, env: NodeJS.ProcessEnv, cwd: string, warn: ((message: string) => void) | undefined): Promise<StorageConfig> {
  const s3Keys = S3_ONLY_KEYS.filter((k) => s[k] !== undefined);
  if (s.kind !== "s3") {
    if (s.kind === undefined && s3Keys.length > 0) {
      throw invalid(`storage.${s3Keys[0] as string} is set but storage.kind is not s3`, "add kind: s3 to storage (CONDAOPS_STORAGE_KIND=s3), or remove the S3 settings to keep artifacts in a local folder");
    }
    if (s3Keys.length > 0) warn?.(`warning: storage.kind is local: storage.${s3Keys.join(", storage.")} ignored`);
    return { kind: "local", path: resolve(cwd, s.path ?? resolve(state, "blobs")) };
  }
  if (s.path !== undefined) warn?.("warning: storage.kind is s3: storage.path ignored");
  if (s.endpoint === undefined) {
    throw invalid("storage.kind is s3 but storage.endpoint is not set", "set storage.endpoint to the S3 server's URL, e.g. https://s3.amazonaws.com or https://minio.example.org:9000");
  }
  if (s.bucket === undefined) throw invalid("storage.kind is s3 but storage.bucket is not set", "set storage.bucket to the bucket artifacts go to");
  const endpoint = checkEndpoint("storage.endpoint", s.endpoint);
  const publicEndpoint = s.public_endpoint === undefined ? undefined : checkEndpoint("storage.public_endpoint", s.public_endpoint);
  const prefix = (s.prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix !== "") {
    try {
      checkObjectKey(prefix);
    } catch (e) {
      throw invalid(`storage.prefix is not a usable key prefix: ${e instanceof Error ? e.message : String(e)}`, "a prefix is a /-separated folder such as condaops/ci");
    }
  }

  // Keys from the configuration; else, as every S3 tool does, the standard AWS variables.
  const configured = s.access_key_id !== undefined || s.access_key_id_env !== undefined || s.access_key_id_file !== undefined || s.secret_access_key !== undefined || s.secret_access_key_env !== undefined || s.secret_access_key_file !== undefined;
  let accessKey: string | undefined;
  let secretKey: string | undefined;
  let sessionToken: string | undefined;
  if (configured) {
    accessKey = await readSecret("storage.access_key_id", s.access_key_id, s.access_key_id_env, s.access_key_id_file, env, cwd);
    secretKey = await readSecret("storage.secret_access_key", s.secret_access_key, s.secret_access_key_env, s.secret_access_key_file, env, cwd);
    if (accessKey === undefined) throw invalid("storage has a secret access key but no access key ID", "set storage.access_key_id (or access_key_id_env, access_key_id_file)");
    if (secretKey === undefined) throw invalid("storage has an access key ID but no secret access key", "set storage.secret_access_key_env (or secret_access_key_file)");
  } else {
    const id = env.AWS_ACCESS_KEY_ID || undefined;
    const secret = env.AWS_SECRET_ACCESS_KEY || undefined;
    if ((id === undefined) !== (secret === undefined)) {
      throw invalid(`${id === undefined ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"} is set but ${id === undefined ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"} is not`, "set both, or configure storage.access_key_id_env and storage.secret_access_key_env");
    }
    accessKey = id;
    secretKey = secret;
    if (id !== undefined && s.session_token_env === undefined) sessionToken = env.AWS_SESSION_TOKEN || undefined;
  }
  if (s.session_token_env !== undefined) {
    sessionToken = await readSecret("storage.session_token", undefined, s.session_token_env, undefined, env, cwd);
    if (accessKey === undefined) throw invalid("storage.session_token_env is set but there are no keys it belongs to", "set storage.access_key_id_env and storage.secret_access_key_env too");
  }

  return {
    kind: "s3",
    endpoint,
    ...(publicEndpoint !== undefined ? { publicEndpoint } : {}),
    bucket: s.bucket,
    region: s.region ?? DEFAULT_S3_REGION,
    prefix,
    ...(accessKey !== undefined ? { accessKey } : {}),
    ...(secretKey !== undefined ? { secretKey } : {}),
    ...(sessionToken !== undefined ? { sessionToken } : {}),
    pathStyle: s.path_style ?? true,
    createBucket: s.create_bucket ?? false,
    partSize: s.part_size ?? DEFAULT_S3_PART_SIZE,
  };
}

type RawOci = NonNullable<RawConfig["oci"]>;

/** `oci-layout:<dir>[:<tag>]` with the folder made absolute (a tag has no `/` and follows the last `:`). */
function resolveOciLayout(ref: string, cwd: string): string {
  const rest = ref.slice("oci-layout:".length);
  const m = /^(.*[^:]):([A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/.exec(rest);
  const [dir, tag] = m ? [m[1] as string, m[2]] : [rest, undefined];
  if (dir === "") throw invalid(`oci.base is ${JSON.stringify(ref)}, which names no folder`, "write oci-layout:<folder>[:<tag>], e.g. oci-layout:./base-image:latest");
  return `oci-layout:${resolve(cwd, dir)}${tag !== undefined ? `:${tag}` : ""}`;
}

async function loadOci(o: RawOci, env: NodeJS.ProcessEnv, cwd: string): Promise<OciConfig> {
  const credentials: OciRegistryCredential[] = [];
  const seen = new Set<string>();
  for (const cr of o.credentials ?? []) {
    const host = cr.host.toLowerCase();
    if (seen.has(host)) throw invalid(`oci.credentials lists the registry ${host} twice`, "keep one entry per registry host");
    seen.add(host);
    const password = await readSecret("oci.credentials[].password", cr.password, cr.password_env, cr.password_file, env, cwd);
    credentials.push({ host, ...(cr.username !== undefined ? { username: cr.username } : {}), ...(password !== undefined ? { password } : {}) });
  }
  return {
    ...(o.base !== undefined ? { base: o.base.startsWith("oci-layout:") ? resolveOciLayout(o.base, cwd) : o.base } : {}),
    ...(o.push !== undefined ? { push: o.push.replace(/\/+$/, "") } : {}),
    credentials,
    insecureRegistries: [...new Set((o.insecure_registries ?? []).map((h) => h.toLowerCase()))],
  };
}
