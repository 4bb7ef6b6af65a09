/**
 * `CONDAOPS_<KEY>` environment variables. The variable name is the key path joined by `_` in upper
 * case (`database.url` -> `CONDAOPS_DATABASE_URL`). Because keys themselves contain `_`, names are
 * matched against the leaf paths the schema declares rather than split on `_`. A value is read as
 * the leaf's type: a number, a boolean, a string, or JSON for lists and mappings; a leaf of several
 * types (`build.min_free_space`: a number or a string like `5GiB`) takes the first that fits.
 */
import { InputError } from "../errors.ts";

interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
}

export interface Leaf {
  path: string[];
  /** The first type the schema declares (`json` for lists and mappings). */
  type: string;
  /** Every type the schema declares, in its order. */
  types: string[];
}

export function schemaLeaves(schema: SchemaNode, prefix: string[] = []): Leaf[] {
  const out: Leaf[] = [];
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, key];
    if (node.properties) out.push(...schemaLeaves(node, path));
    else {
      const types = Array.isArray(node.type) ? node.type : [node.type ?? (node.enum ? "string" : "json")];
      out.push({ path, type: types[0] ?? "string", types });
    }
  }
  return out;
}

export function envName(path: readonly string[]): string {
  return `CONDAOPS_${path.join("_").toUpperCase()}`;
}

/** `true`/`yes`/`on`/`1` and their opposites, any case, as settings are written in variables and Action inputs; undefined otherwise. */
export function parseBoolean(raw: string): boolean | undefined {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  return undefined;
}

/** The value of a variable for a leaf of several types: the first non-string type `raw` reads as, else the string. */
function coerceAny(name: string, raw: string, types: readonly string[]): unknown {
  let failure: unknown;
  for (const type of types.filter((t) => t !== "string")) {
    try {
      return coerce(name, raw, type);
    } catch (e) {
      failure ??= e;
    }
  }
  if (types.includes("string")) return raw;
  throw failure;
}

function coerce(name: string, raw: string, type: string): unknown {
  switch (type) {
    case "integer":
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new InputError("config.env", `${name} must be a number, got "${raw}"`);
      return n;
    }
    case "boolean": {
      const b = parseBoolean(raw);
      if (b === undefined) throw new InputError("config.env", `${name} must be true or false, got "${raw}"`);
      return b;
    }
    case "string":
      return raw;
    default:
      // Lists and objects: JSON.
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new InputError("config.env", `${name} must be JSON (it sets a list or mapping)`, { hint: `for example ${name}='[...]'` });
      }
  }
}

/** Applies every CONDAOPS_* variable the schema knows to a copy of `raw`; unknown CONDAOPS_* names are returned for a warning. */
export function applyEnvOverrides(raw: Record<string, unknown>, schema: SchemaNode, env: NodeJS.ProcessEnv): { value: Record<string, unknown>; unknown: string[] } {
  const value = structuredClone(raw);
  const leaves = schemaLeaves(schema);
  const known = new Set(leaves.map((l) => envName(l.path)));
  for (const leaf of leaves) {
    const name = envName(leaf.path);
    const raw = env[name];
    if (raw === undefined) continue;
    let node: Record<string, unknown> = value;
    for (const seg of leaf.path.slice(0, -1)) {
      const next = node[seg];
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[seg] = {};
      node = node[seg] as Record<string, unknown>;
    }
    node[leaf.path.at(-1) as string] = leaf.types.length > 1 ? coerceAny(name, raw, leaf.types) : coerce(name, raw, leaf.type);
  }
  const ignored = new Set(["CONDAOPS_CONFIG", "CONDAOPS_TESTING", "CONDAOPS_ZSTD"]);
  const unknown = Object.keys(env).filter((k) => k.startsWith("CONDAOPS_") && !known.has(k) && !ignored.has(k));
  return { value, unknown };
}
