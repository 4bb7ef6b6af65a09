/**
 * `CONDAOPS_<KEY>` environment variables. The variable name is the key path joined by `_` in upper
 * case (`database.url` -> `CONDAOPS_DATABASE_URL`). Because keys themselves contain `_`, names are
 * matched against the leaf paths the schema declares rather than split on `_`.
 */
import { InputError } from "../errors.ts";

interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
}

export interface Leaf {
  path: string[];
  type: string;
}

export function schemaLeaves(schema: SchemaNode, prefix: string[] = []): Leaf[] {
  const out: Leaf[] = [];
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, key];
    if (node.properties) out.push(...schemaLeaves(node, path));
    else out.push({ path, type: Array.isArray(node.type) ? (node.type[0] ?? "string") : (node.type ?? (node.enum ? "string" : "json")) });
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
    node[leaf.path.at(-1) as string] = coerce(name, raw, leaf.type);
  }
  const ignored = new Set(["CONDAOPS_CONFIG", "CONDAOPS_TESTING", "CONDAOPS_ZSTD"]);
  const unknown = Object.keys(env).filter((k) => k.startsWith("CONDAOPS_") && !known.has(k) && !ignored.has(k));
  return { value, unknown };
}
