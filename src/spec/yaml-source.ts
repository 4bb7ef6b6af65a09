/**
 * Reading untrusted YAML (specs, policies, configs, locks) into plain values, keeping source
 * positions so every later error can name file, line and column.
 *
 * Everything hostile is refused here, before any other code sees the value: files over the size
 * limit, bytes that are not UTF-8, several documents in one file, duplicate keys, unknown tags
 * (`!!python/object`), and alias expansion beyond a small budget (billion laughs).
 */
import { LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument } from "yaml";
import type { Node } from "yaml";
import { InputError } from "../errors.ts";

export interface YamlLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Largest number of alias expansions (`*anchor`) in one document. */
  maxAliases: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = { maxBytes: 1024 * 1024, maxAliases: 64 };

export interface Position {
  line: number;
  column: number;
}

export type YamlPath = readonly (string | number)[];

export interface YamlSource {
  file: string;
  text: string;
  /** The document as plain JSON-like data. */
  value: unknown;
  /**
   * Where a value (or, with `"key"`, the key of a mapping entry) stands in the file. Falls back
   * to the nearest ancestor that exists, then to 1:1.
   */
  locate(path: YamlPath, which?: "key" | "value"): Position;
}

function offsetToPosition(lc: LineCounter, offset: number): Position {
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Binary search for the longest valid prefix (streaming decode tolerates a cut sequence) so
    // the error points at the first bad byte.
    let lo = 0;
    let hi = bytes.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        lo = mid;
      } catch {
        hi = mid - 1;
      }
    }
    const ok = lo;
    const prefix = new TextDecoder("utf-8").decode(bytes.subarray(0, ok));
    const lines = prefix.split("\n");
    throw new InputError("yaml.encoding", "file is not valid UTF-8 text", {
      position: { file, line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 },
      hint: "save it as UTF-8",
    });
  }
}

export function parseYaml(file: string, input: Uint8Array | string, limits: YamlLimits = DEFAULT_YAML_LIMITS): YamlSource {
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.byteLength;
  if (size > limits.maxBytes) {
    throw new InputError("yaml.too-large", `file is ${size} bytes, more than the limit of ${limits.maxBytes}`, {
      position: { file },
      hint: "a spec or policy this large is almost certainly a mistake",
    });
  }
  const text = typeof input === "string" ? input : decodeUtf8(file, input);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
    schema: "core",
    customTags: [],
    version: "1.2",
  });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const pos = offsetToPosition(lineCounter, problem.pos[0]);
    throw new InputError("yaml.syntax", describeYamlProblem(problem.code, problem.message), {
      position: { file, ...pos },
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: limits.maxAliases });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/alias/i.test(message)) {
      throw new InputError("yaml.aliases", `too many alias expansions (limit ${limits.maxAliases})`, {
        position: { file, line: 1, column: 1 },
        hint: "remove the anchors and aliases (&x / *x); they are not needed in a spec",
      });
    }
    throw new InputError("yaml.syntax", message, { position: { file, line: 1, column: 1 } });
  }
  if (value === null || value === undefined) {
    throw new InputError("yaml.empty", "file is empty", { position: { file, line: 1, column: 1 } });
  }

  const locate = (path: YamlPath, which: "key" | "value" = "value"): Position => {
    let node: unknown = doc.contents;
    let best: Position = { line: 1, column: 1 };
    const rangeStart = (n: unknown): number | undefined => (isNode(n) && n.range ? n.range[0] : undefined);
    const start = rangeStart(node);
    if (start !== undefined) best = offsetToPosition(lineCounter, start);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      let next: unknown;
      let keyNode: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        next = pair.value;
      } else if (isSeq(node) && typeof seg === "number") {
        next = node.items[seg];
        if (next === undefined) break;
      } else {
        break;
      }
      const last = i === path.length - 1;
      const target = last && which === "key" && keyNode !== undefined ? keyNode : (next ?? keyNode);
      const s = rangeStart(target);
      if (s !== undefined) best = offsetToPosition(lineCounter, s);
      node = next as Node;
    }
    return best;
  };

  return { file, text, value, locate };
}

/** The yaml package's messages are terse; say what to do for the common ones. */
function describeYamlProblem(code: string, message: string): string {
  const first = message.split("\n")[0] ?? message;
  switch (code) {
    case "DUPLICATE_KEY":
      return "duplicate key (each key may appear once in a mapping)";
    case "TAB_AS_INDENT":
      return "tab used for indentation (YAML indents with spaces)";
    case "TAG_RESOLVE_FAILED":
      return `unknown YAML tag (${first}); custom tags are not allowed`;
    case "MULTIPLE_DOCS":
      return "more than one YAML document in the file (remove the `---` separators)";
    default:
      return `invalid YAML: ${first}`;
  }
}
