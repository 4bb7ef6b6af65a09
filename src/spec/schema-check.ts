/**
 * JSON Schema validation (ajv, draft 2020-12) of a parsed YAML file, with every error turned into
 * a Finding at the file, line and column of the offending key or value, in words a person reads
 * ("unknown key "chanels" (allowed: name, channels, ...)") rather than ajv's
 * ("must NOT have additional properties").
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "ajv";
import type { Finding } from "./finding.ts";
import type { YamlPath, YamlSource } from "./yaml-source.ts";

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
// Our own annotation keywords: words for messages, so a pattern error says what was expected.
ajv.addVocabulary(["x-pattern-description", "x-contains-description"]);
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

function pathOf(instancePath: string): (string | number)[] {
  if (instancePath === "") return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `dependencies[3]`, `variables.CUDA`: how a place in the file is named in messages. */
export function describePath(path: YamlPath): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  return out === "" ? "the file" : `"${out}"`;
}

const TYPE_WORDS: Record<string, string> = {
  object: "a mapping (key: value lines)",
  array: "a list (lines starting with -)",
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
};

function typeWords(t: unknown): string {
  const types = Array.isArray(t) ? t : [t];
  return types.map((x) => TYPE_WORDS[String(x)] ?? String(x)).join(" or ");
}

function describe(e: ErrorObject, value: unknown, schemaAt: (path: string) => Record<string, unknown> | undefined): { message: string; path: YamlPath; which: "key" | "value" } {
  const path = pathOf(e.instancePath);
  const where = describePath(path);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(p.additionalProperty);
      const props = Object.keys((schemaAt(e.schemaPath.replace(/\/additionalProperties$/, "/properties")) as Record<string, unknown> | undefined) ?? {});
      const allowed = props.length ? ` (allowed: ${props.join(", ")})` : "";
      return { message: `unknown key "${key}" in ${where}${allowed}`, path: [...path, key], which: "key" };
    }
    case "required":
      return { message: `${where} is missing the required key "${String(p.missingProperty)}"`, path, which: "value" };
    case "type": {
      const hint = p.type === "string" && (typeof value === "number" || typeof value === "boolean") ? ` (quote it: "${String(value)}")` : "";
      return { message: `${where} must be ${typeWords(p.type)}${hint}`, path, which: "value" };
    }
    case "enum":
      return { message: `${where} must be one of: ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(", ")}`, path, which: "value" };
    case "const":
      return { message: `${where} must be ${JSON.stringify(p.allowedValue)}`, path, which: "value" };
    case "pattern": {
      const desc = schemaAt(e.schemaPath.replace(/\/pattern$/, ""))?.["x-pattern-description"];
      return { message: `${where} is ${JSON.stringify(value)}, which is not ${typeof desc === "string" ? desc : `of the form ${String(p.pattern)}`}`, path, which: "value" };
    }
    case "propertyNames":
      return { message: `${where} has an invalid key "${String(p.propertyName)}"`, path: [...path, String(p.propertyName)], which: "key" };
    case "maxItems":
      return { message: `${where} has more than ${String(p.limit)} entries`, path, which: "value" };
    case "minItems":
      return { message: `${where} must have at least ${String(p.limit)} ${p.limit === 1 ? "entry" : "entries"}`, path, which: "value" };
    case "maxProperties":
      return { message: `${where} has more than ${String(p.limit)} keys`, path, which: "value" };
    case "maxLength":
      return { message: `${where} is longer than ${String(p.limit)} characters`, path, which: "value" };
    case "minLength":
      return { message: `${where} must not be empty`, path, which: "value" };
    case "uniqueItems": {
      const [a, b] = [Number(p.i), Number(p.j)].sort((x, y) => x - y) as [number, number];
      return { message: `${where} lists the same entry twice (entries ${a + 1} and ${b + 1})`, path: [...path, b], which: "value" };
    }
    case "contains":
      return { message: `${where} has more than ${String(p.maxContains)} ${String(schemaAt(e.schemaPath.replace(/\/contains$/, ""))?.["x-contains-description"] ?? "matching entries")}`, path, which: "value" };
    case "minimum":
    case "maximum":
      return { message: `${where} must be ${e.keyword === "minimum" ? "at least" : "at most"} ${String(p.limit)}`, path, which: "value" };
    default:
      return { message: `${where} ${e.message ?? "is invalid"}`, path, which: "value" };
  }
}

function getAt(root: unknown, path: YamlPath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/**
 * Validates `source.value` against `schema`. Returns findings (empty when valid), one per problem,
 * at the most specific place. `oneOf`/`anyOf` branch noise is folded into one finding per place.
 */
export function checkSchema(source: YamlSource, schema: object, rulePrefix = "schema"): Finding[] {
  const validate = validatorFor(schema);
  if (validate(source.value)) return [];
  const errors = validate.errors ?? [];
  const schemaAt = (pointer: string): Record<string, unknown> | undefined => {
    const parts = pointer.replace(/^#\/?/, "").split("/").filter(Boolean);
    let node: unknown = schema;
    for (const part of parts) {
      if (node === null || typeof node !== "object") return undefined;
      node = (node as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return node as Record<string, unknown> | undefined;
  };
  const findings: Finding[] = [];
  const seen = new Set<string>();
  // Branching keywords report the branches' failures too; keep the branch errors (more specific)
  // unless the only errors at a place are the branching ones.
  const branching = new Set(["oneOf", "anyOf", "if", "not"]);
  const placesWithDetail = new Set(errors.filter((e) => !branching.has(e.keyword)).map((e) => e.instancePath));
  // An unknown key usually is a misspelt required one: say only the former.
  const placesWithUnknownKey = new Set(errors.filter((e) => e.keyword === "additionalProperties").map((e) => e.instancePath));
  for (const e of errors) {
    if (branching.has(e.keyword) && placesWithDetail.has(e.instancePath)) continue;
    if (e.keyword === "required" && placesWithUnknownKey.has(e.instancePath)) continue;
    // propertyNames reports the key's own failure too (with `propertyName` set): keep one.
    if (e.propertyName !== undefined && e.keyword !== "propertyNames") continue;
    const d = describe(e, getAt(source.value, pathOf(e.instancePath)), schemaAt);
    const pos = source.locate(d.path, d.which);
    const key = `${pos.line}:${pos.column}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push({ file: source.file, line: pos.line, column: pos.column, rule: `${rulePrefix}.${e.keyword}`, message: d.message, severity: "error" });
  }
  return findings;
}
