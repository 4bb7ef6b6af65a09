/**
 * Parsing one entry of a spec's `pip:` list: a PEP 508 requirement or one of the few pip options
 * condaops supports. Pure, so `validate` can point at a bad entry before any build runs, and the
 * builder gets canonical text (normalised names, sorted extras) that hashes the same however it
 * was written. Everything pip would accept but cannot be built reproducibly from a reviewed spec
 * (editable installs, requirement files, bare paths) is refused with a one-line reason; URLs
 * with credentials are refused without echoing the secret.
 */
import { validRange } from "@renovatebot/pep440";

export interface PipRequirement {
  kind: "requirement";
  /** PEP 503-normalised name: lower case, runs of -_. replaced by "-" */
  name: string;
  /** sorted, normalised */
  extras: string[];
  /** PEP 440 specifier set as written but whitespace-normalised, e.g. ">=1.2,<2" ("" when none) */
  specifier: string;
  /** `name @ https://...` */
  url?: string;
  /** text after ";" trimmed, validated */
  marker?: string;
  /** canonical text: `name[extras]specifier ; marker` or `name[extras] @ url ; marker` */
  text: string;
}

export interface PipOption {
  kind: "option";
  option: "--index-url" | "--extra-index-url" | "--trusted-host";
  value: string;
  /** canonical "--index-url https://..." */
  text: string;
}

export type PipEntry = PipRequirement | PipOption;
export type PipEntryResult = { ok: true; entry: PipEntry } | { ok: false; reason: string };

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const SUPPORTED = ["--index-url", "--extra-index-url", "--trusted-host"] as const;
const URL_SCHEMES = ["https:", "http:", "file:", "git+https:"];
const ARCHIVE = /\.(?:whl|tar\.gz|tgz|tar\.bz2|tar\.xz|tar|zip)$/i;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function normalizePipName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

export function parsePipEntry(text: string): PipEntryResult {
  const s = text.trim();
  if (s === "") return fail("empty pip entry");
  if (s.startsWith("-")) return parseOption(s);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s)) {
    return hasUserinfo(s) ? credentials(s) : fail(`"${s}" has no package name; write it as "name @ ${s}"`);
  }
  const first = /^[^\s[\]()<>=!~;@,]*/.exec(s)?.[0] ?? "";
  if (/^[.~/\\]|^[A-Za-z]:[\\/]/.test(s) || /[/\\]/.test(first) || ARCHIVE.test(first)) {
    return fail(`"${first}" is a path, not a requirement; write it as "name @ file:///absolute/path"`);
  }
  return parseRequirement(s);
}

function parseRequirement(s: string): PipEntryResult {
  const semi = s.indexOf(";");
  const head = semi < 0 ? s : s.slice(0, semi);
  const perReq = /\s(--?[A-Za-z][\w-]*)/.exec(head);
  if (perReq) return fail(`per-requirement options ("${perReq[1]}") are not supported`);

  const at = head.indexOf("@");
  const namePart = at < 0 ? head : head.slice(0, at);
  if (count(namePart, "[") !== count(namePart, "]")) return fail("unbalanced brackets");
  if (count(namePart, "(") !== count(namePart, ")")) return fail("unbalanced parentheses");

  const token = /^[^\s[\]()<>=!~;@,]*/.exec(namePart)?.[0] ?? "";
  if (token === "") return fail("missing package name");
  if (!NAME.test(token)) return fail(`invalid package name "${token}" (letters, digits, and . _ - between them)`);
  const name = normalizePipName(token);
  let rest = namePart.slice(token.length).trim();

  let extras: string[] = [];
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    const inner = rest.slice(1, close).trim();
    const raw = inner === "" ? [] : inner.split(",").map((e) => e.trim());
    const bad = raw.find((e) => !NAME.test(e));
    if (bad !== undefined) return fail(`invalid extra "${bad}"`);
    extras = [...new Set(raw.map(normalizePipName))].sort();
    rest = rest.slice(close + 1).trim();
  }
  if (/^[[\]]/.test(rest)) return fail("unbalanced brackets");

  let marker: string | undefined;
  if (semi >= 0) {
    marker = s.slice(semi + 1).trim();
    if (marker === "") return fail('empty marker after ";"');
    const err = checkMarker(marker);
    if (err) return fail(`invalid marker: ${err}`);
  }
  const extrasText = extras.length ? `[${extras.join(",")}]` : "";
  const tail = marker === undefined ? "" : ` ; ${marker}`;

  if (at >= 0) {
    if (rest !== "") return fail(`expected "@ URL" or a version specifier after "${token}", not both`);
    const url = head.slice(at + 1).trim();
    if (url === "") return fail('missing URL after "@"');
    if (/\s/.test(url)) return fail(`unexpected text after the URL "${url.split(/\s/)[0] ?? ""}"`);
    if (semi >= 0 && !/\s$/.test(head)) return fail('put a space between the URL and ";"');
    const urlErr = checkUrl(url, URL_SCHEMES);
    if (urlErr) return { ok: false, reason: urlErr };
    return { ok: true, entry: { kind: "requirement", name, extras, specifier: "", url, ...(marker !== undefined && { marker }), text: `${name}${extrasText} @ ${url}${tail}` } };
  }

  if (rest !== "" && !/^[(<>=!~]/.test(rest)) {
    return fail(`expected a version specifier, "@ URL" or "; marker" after "${token}", got "${rest}"`);
  }
  if (rest.startsWith("(")) {
    if (!rest.endsWith(")")) return fail("unbalanced parentheses");
    rest = rest.slice(1, -1).trim();
  }
  const clauses: string[] = [];
  if (rest !== "") {
    for (const raw of rest.split(",")) {
      const clause = checkClause(raw.trim());
      if (!clause.ok) return fail(clause.reason);
      clauses.push(clause.text);
    }
  }
  const specifier = clauses.join(",");
  return { ok: true, entry: { kind: "requirement", name, extras, specifier, ...(marker !== undefined && { marker }), text: `${name}${extrasText}${specifier}${tail}` } };
}

function checkClause(raw: string): { ok: true; text: string } | { ok: false; reason: string } {
  const m = /^(===|~=|==|!=|<=|>=|<|>)\s*(.*)$/.exec(raw);
  const op = m?.[1] ?? "";
  const version = m?.[2] ?? "";
  const text = m ? `${op}${version}` : raw;
  if (m && version !== "" && !/\s/.test(version) && validRange(text)) return { ok: true, text };
  let hint = "";
  if (op === "~=" && /^(?:\d+!)?v?\d+(?:$|[^.\d])/i.test(version)) hint = " (~= needs at least two release segments, e.g. ~=1.0)";
  else if (version.includes("*") && op !== "==" && op !== "!=") hint = " (.* is allowed only with == and !=)";
  return { ok: false, reason: `bad version specifier "${text}"${hint}` };
}

function parseOption(s: string): PipEntryResult {
  const flag = s.startsWith("--") ? (/^--[^\s=]*/.exec(s)?.[0] ?? "--") : s.slice(0, 2);
  let rest = s.slice(flag.length);
  if (flag.startsWith("--") && rest.startsWith("=")) rest = rest.slice(1);
  const value = rest.trim();
  if (flag === "-e" || flag === "--editable") return fail("editable installs (-e/--editable) cannot be built reproducibly; list the package by name");
  if (["-r", "--requirement", "-c", "--constraint"].includes(flag)) {
    return fail(`requirement files outside the spec (${flag}) are not supported; list the packages in the spec`);
  }
  const option = SUPPORTED.find((o) => o === flag);
  if (!option) {
    const hint = flag === "-i" ? " (write --index-url)" : "";
    return fail(`unsupported pip option "${flag}"${hint}; supported: ${SUPPORTED.join(", ")}`);
  }
  if (value === "") return fail(`${option} needs a ${option === "--trusted-host" ? "host" : "URL"}`);
  if (/\s/.test(value)) return fail(`${option} takes one value`);
  if (option === "--trusted-host") {
    if (value.includes("@")) return credentials(value.replace(/^[^@]*@/, "***@"));
    if (!HOST.test(value)) return fail(`--trusted-host takes a host name with an optional :port, not "${value}"`);
  } else {
    const err = checkUrl(value, ["https:", "http:"]);
    if (err) return { ok: false, reason: err };
  }
  return { ok: true, entry: { kind: "option", option, value, text: `${option} ${value}` } };
}

/** Reason the URL is unacceptable, or undefined. */
function checkUrl(url: string, schemes: string[]): string | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || !schemes.includes(scheme)) {
    return redact(`unsupported URL "${url}"; use ${schemes.map((x) => `${x}//`).join(", ")}`);
  }
  if (hasUserinfo(url)) return credentials(url).reason;
  if (!URL.canParse(url)) return redact(`invalid URL "${url}"`);
  return undefined;
}

function hasUserinfo(url: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*@/.test(url);
}

function credentials(url: string): { ok: false; reason: string } {
  return fail(`credentials do not belong in a spec committed to git; put them in condaops' configuration ("${url}")`);
}

/** Replaces every URL's userinfo with `***`, so no reason ever repeats a secret. */
function redact(s: string): string {
  return s.replace(/(:\/\/)[^\s/?#"]*@/g, "$1***@");
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason: redact(reason) };
}

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

// --- PEP 508 markers: a recursive-descent check of the grammar ---------------------------------

const ENV_VARS = new Set([
  "python_version", "python_full_version", "os_name", "sys_platform", "platform_release", "platform_system",
  "platform_version", "platform_machine", "platform_python_implementation", "implementation_name",
  "implementation_version", "extra",
]);
const MARKER_OPS = new Set(["<", "<=", "!=", "==", ">=", ">", "~=", "==="]);

interface Token {
  kind: "str" | "id" | "op" | "(" | ")";
  value: string;
}

class MarkerError extends Error {}

function tokenize(m: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < m.length) {
    const c = m.charAt(i);
    if (/\s/.test(c)) i++;
    else if (c === "(" || c === ")") {
      tokens.push({ kind: c, value: c });
      i++;
    } else if (c === "'" || c === '"') {
      const end = m.indexOf(c, i + 1);
      if (end < 0) throw new MarkerError("unterminated string");
      tokens.push({ kind: "str", value: m.slice(i + 1, end) });
      i = end + 1;
    } else {
      const run = /^(?:[A-Za-z_][A-Za-z0-9_.]*|[<>=!~]+)/.exec(m.slice(i))?.[0];
      if (run === undefined) throw new MarkerError(`unexpected "${c}"`);
      const isOp = /^[<>=!~]/.test(run);
      if (isOp && !MARKER_OPS.has(run)) throw new MarkerError(`unknown operator "${run}"`);
      tokens.push({ kind: isOp ? "op" : "id", value: run });
      i += run.length;
    }
  }
  return tokens;
}

/** Error message for an invalid marker, or undefined when it follows PEP 508. */
function checkMarker(marker: string): string | undefined {
  try {
    const tokens = tokenize(marker);
    let pos = 0;
    const peek = (): Token | undefined => tokens[pos];
    const isWord = (w: string): boolean => peek()?.kind === "id" && peek()?.value === w;
    const describe = (t: Token | undefined): string => (t === undefined ? "end of marker" : `"${t.value}"`);

    const variable = (): void => {
      const t = peek();
      if (t?.kind === "str") pos++;
      else if (t?.kind === "id" && !["and", "or", "in", "not"].includes(t.value)) {
        if (!ENV_VARS.has(t.value)) throw new MarkerError(`unknown variable "${t.value}"`);
        pos++;
      } else throw new MarkerError(`expected a variable or quoted string, got ${describe(t)}`);
    };
    const operator = (): void => {
      if (peek()?.kind === "op" || isWord("in")) pos++;
      else if (isWord("not") && tokens[pos + 1]?.kind === "id" && tokens[pos + 1]?.value === "in") pos += 2;
      else throw new MarkerError(`expected a comparison operator, got ${describe(peek())}`);
    };
    const expr = (): void => {
      if (peek()?.kind === "(") {
        pos++;
        or();
        if (peek()?.kind !== ")") throw new MarkerError("unbalanced parentheses");
        pos++;
      } else {
        variable();
        operator();
        variable();
      }
    };
    const and = (): void => {
      expr();
      while (isWord("and")) {
        pos++;
        expr();
      }
    };
    const or = (): void => {
      and();
      while (isWord("or")) {
        pos++;
        and();
      }
    };

    or();
    const t = peek();
    if (t?.kind === ")") throw new MarkerError("unbalanced parentheses");
    if (t) throw new MarkerError(`unexpected ${describe(t)}`);
    return undefined;
  } catch (e) {
    if (e instanceof MarkerError) return e.message;
    throw e;
  }
}
