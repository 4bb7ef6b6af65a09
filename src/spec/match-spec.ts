/**
 * Conda match specs as written in environment.yml `dependencies`. Strict on purpose: a spec conda
 * would half-understand, or rattler would read differently, is rejected at review time with a
 * one-line reason instead of failing later in the solver with a parser dump. Versions are
 * normalised by rattler so that policy checks and hashes see one spelling per meaning.
 */
import { VersionSpec, isPackageName, isPlatform } from "@conda-org/rattler";

export interface MatchSpec {
  /** Lower-cased package name; may be a virtual package like "__cuda". */
  name: string;
  /** Normalised by rattler's VersionSpec(...).toString(): ">=1.2,<2", "1.2.*", "==1.2". Absent = any. */
  version?: string;
  /** Build string or glob: "py311*", "cuda*". Absent = any. */
  build?: string;
  /** "conda-forge" or a URL, from `channel::name`, `channel/subdir::name` or [channel=...]. */
  channel?: string;
  /** From `channel/subdir::name` or [subdir=...]. */
  subdir?: string;
  /** Other bracket keys kept verbatim: build_number, md5, sha256, license. */
  extra: Record<string, string>;
}

export type MatchSpecResult = { ok: true; spec: MatchSpec } | { ok: false; reason: string };

const OPERATORS = new Set(["<", ">", "<=", ">=", "==", "!=", "~=", "="]);
/** The bracket keys kept in `extra`, each with its check. */
const EXTRA: Record<string, [RegExp, string] | undefined> = {
  build_number: [/^\d+$/, "is not an integer"],
  md5: [/^[0-9a-fA-F]{32}$/, "is not 32 hex digits"],
  sha256: [/^[0-9a-fA-F]{64}$/, "is not 64 hex digits"],
  license: [/\S/, "is empty"],
};
const KEYS = ["build", "channel", "subdir", "version", ...Object.keys(EXTRA)].sort();

/** Thrown inside the parser only; parseMatchSpec turns it into `{ ok: false }`. */
class Rejected extends Error {}
function fail(reason: string): never {
  throw new Rejected(reason);
}

export function parseMatchSpec(text: string): MatchSpecResult {
  try {
    return { ok: true, spec: parse(text) };
  } catch (e) {
    if (e instanceof Rejected) return { ok: false, reason: e.message };
    throw e;
  }
}

/** Canonical text that rattler and conda parse to the same spec: `[channel[/subdir]::]name[ version[ build]][[k=v,...]]` (bracket keys sorted). parse(format(x)) deep-equals x. */
export function formatMatchSpec(spec: MatchSpec): string {
  let out = spec.name;
  if (spec.channel !== undefined) out = `${spec.channel}${spec.subdir === undefined ? "" : `/${spec.subdir}`}::${out}`;
  if (spec.version !== undefined || spec.build !== undefined) out += ` ${spec.version ?? "*"}`;
  if (spec.build !== undefined) out += ` ${spec.build}`;
  const keys: Record<string, string> = { ...spec.extra };
  if (spec.channel === undefined && spec.subdir !== undefined) keys.subdir = spec.subdir;
  const pairs = Object.keys(keys)
    .sort()
    .map((k) => `${k}=${quote(keys[k] ?? "")}`);
  return pairs.length === 0 ? out : `${out}[${pairs.join(",")}]`;
}

function quote(value: string): string {
  if (/^[A-Za-z0-9_.+*!/:-]+$/.test(value)) return value;
  return value.includes("'") ? `"${value}"` : `'${value}'`;
}

function parse(text: string): MatchSpec {
  const s = text.trim();
  if (s === "") fail("empty match spec");
  if (s.includes("#")) fail('"#" is not allowed (no comments in a match spec)');
  const fields = new Map<string, string>();
  const put = (key: string, value: string): void => {
    const before = fields.get(key);
    if (before !== undefined) fail(`${key} given twice ("${before}" and "${value}")`);
    fields.set(key, value);
  };

  const open = s.indexOf("[");
  let head = open < 0 ? s : s.slice(0, open).trimEnd();
  if (head.includes("]")) fail('unbalanced "]"');
  if (/['"]/.test(head)) fail("quotes are only allowed inside [...]");
  const pairs = open < 0 ? [] : parseBrackets(s.slice(open));
  for (const [key] of pairs) if (!KEYS.includes(key)) fail(`unknown key "${key}" (allowed: ${KEYS.join(", ")})`);

  const sep = head.lastIndexOf("::");
  if (sep >= 0) {
    putChannel(head.slice(0, sep), put);
    head = head.slice(sep + 2);
  }

  const rawName = /^[^\s=<>!~]*/.exec(head)?.[0] ?? "";
  const name = checkName(rawName);
  const rest = squeeze(head.slice(rawName.length));
  const parts = rest === "" ? [] : rest.split(/\s+/);
  if (parts.length > 2) fail("too many space-separated parts (expected: name version build)");
  let [version, build] = parts;
  if (version !== undefined) {
    if (/^[A-Za-z]/.test(version)) fail(`unexpected "${version}" after name "${rawName}"`);
    // conda's `name=version=build`, `name==version=build`, `name version=build`
    const eq = /^(.*[^=!|,<>~])=([^=,|<>~]+)$/.exec(version);
    if (eq) {
      if (build !== undefined) fail(`two build strings ("${eq[2]}" and "${build}")`);
      [version, build] = [eq[1] ?? "", eq[2]];
    }
    // conda: `=1.2` alone means 1.2.*, but `=1.2` with a build means exactly 1.2
    if (build !== undefined && /^=[^=,|]+$/.test(version)) version = version.slice(1);
    put("version", version);
  }
  if (build !== undefined) {
    if (/^[<>!~]/.test(build)) fail(`unexpected "${build}" (join version constraints with ",")`);
    put("build", build);
  }
  for (const [key, value] of pairs) {
    if (key === "channel") putChannel(value, put);
    else put(key, value);
  }

  const spec: MatchSpec = { name, extra: {} };
  for (const [key, value] of fields) {
    if (key === "version") {
      const v = checkVersion(value);
      if (v !== undefined) spec.version = v;
    } else if (key === "build") {
      if (!/^[A-Za-z0-9_.*+!]+$/.test(value)) fail(`build "${value}" has invalid characters (allowed: letters, digits, _ . * + !)`);
      if (value !== "*") spec.build = value;
    } else if (key === "channel") {
      spec.channel = value;
    } else if (key === "subdir") {
      if (!isPlatform(value)) fail(`unknown subdir "${value}"`);
      spec.subdir = value;
    } else {
      const check = EXTRA[key];
      if (check && !check[0].test(value)) fail(`${key} "${value}" ${check[1]}`);
      spec.extra[key] = value;
    }
  }
  return spec;
}

/** `[key=value, key='v,a,l', key="..."]` at the end of the spec, in order. */
function parseBrackets(s: string): [string, string][] {
  const pairs: [string, string][] = [];
  let i = 1;
  const skip = (): void => {
    while (i < s.length && /\s/.test(s[i] ?? "")) i++;
  };
  const end = (): string => (i >= s.length ? 'unbalanced "["' : `unexpected "${s[i]}" in [...]`);
  for (;;) {
    skip();
    if (s[i] === "]" && pairs.length === 0) fail("empty [...]");
    const key = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(s.slice(i))?.[0];
    if (key === undefined) fail(end());
    i += key.length;
    skip();
    if (s[i] !== "=") fail(i >= s.length ? 'unbalanced "["' : `missing "=" after "${key}" in [...]`);
    i++;
    skip();
    let value: string;
    const q = s[i];
    if (q === "'" || q === '"') {
      const close = s.indexOf(q, i + 1);
      if (close < 0) fail("unbalanced quote in [...]");
      value = s.slice(i + 1, close);
      i = close + 1;
    } else {
      const raw = /^[^,\]'"[]*/.exec(s.slice(i))?.[0] ?? "";
      value = raw.trim();
      i += raw.length;
    }
    if (value === "") fail(`empty value for "${key}"`);
    pairs.push([key, value]);
    skip();
    if (s[i] === ",") i++;
    else if (s[i] === "]") break;
    else fail(end());
  }
  if (s.slice(i + 1).trim() !== "") fail('unexpected text after "]"');
  return pairs;
}

function putChannel(raw: string, put: (key: string, value: string) => void): void {
  const channel = raw.trim().replace(/\/+$/, "");
  if (channel === "") fail('empty channel before "::"');
  const url = /^[a-z][a-z0-9+.-]*:\/\/[^\s'"[\]#]+$/i.test(channel);
  if (!url && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/.test(channel)) fail(`invalid channel "${channel}"`);
  const slash = channel.lastIndexOf("/");
  const last = channel.slice(slash + 1);
  if (slash > 0 && channel[slash - 1] !== "/" && isPlatform(last)) {
    put("channel", channel.slice(0, slash));
    put("subdir", last);
  } else put("channel", channel);
}

function checkName(raw: string): string {
  if (raw === "") fail("missing package name");
  if (raw.includes("*")) fail(`name "${raw}" has a wildcard (installing needs a concrete name)`);
  const sep = ["/", ":"].find((c) => raw.includes(c));
  if (sep !== undefined) fail(`name "${raw}" contains "${sep}" (write channel::name)`);
  if (!isPackageName(raw) || !/^[A-Za-z0-9_]/.test(raw)) fail(`invalid package name "${raw}"`);
  return raw.toLowerCase();
}

/** Drops whitespace after operators and around `,` and `|`: `>= 1.2 , <2` -> `>=1.2,<2`. */
function squeeze(text: string): string {
  return text
    .replace(/([<>=!~]+)\s+/g, "$1")
    .replace(/\s*([,|])\s*/g, "$1")
    .trim();
}

/** Rattler-normalised version spec, undefined for "any version". */
function checkVersion(raw: string): string | undefined {
  const text = squeeze(raw);
  for (const m of text.matchAll(/[<>=!~]+/g)) {
    const op = m[0];
    if (op === "!" && /[0-9A-Za-z]/.test(text[m.index - 1] ?? "")) continue; // epoch: 1!2.0
    if (!OPERATORS.has(op)) fail(`version operator "${op}"`);
  }
  const literals = text.split(/[,|]/).map((p) => p.replace(/^[(<>=!~]+/, ""));
  if (!/^[A-Za-z0-9_.+*!<>=~,|()-]+$/.test(text) || literals.some((p) => !/^[0-9*]/.test(p))) fail(`malformed version "${text}"`);
  let normalised: string;
  try {
    const spec = new VersionSpec(text, "lenient");
    normalised = spec.toString();
    spec.free();
  } catch {
    fail(`malformed version "${text}"`);
  }
  return normalised === "*" ? undefined : normalised;
}
