/**
 * Reading one environment spec (`<namespace>/<name>.yaml`): schema first, then every match spec
 * and pip entry through its real parser, so the rest of condaops gets typed values and the user
 * gets every problem of the file at once, each at its line and column.
 */
import type { RawEnvironmentSpec } from "../schema-types/environment.ts";
import environmentSchema from "../../schemas/environment.schema.json" with { type: "json" };
import { findingAt } from "./finding.ts";
import type { Finding } from "./finding.ts";
import { formatMatchSpec, parseMatchSpec } from "./match-spec.ts";
import { parsePipEntry } from "./pip-requirement.ts";
import { checkSchema } from "./schema-check.ts";
import type { CondaDependency, EnvironmentRef, EnvironmentSpec, PipDependency } from "./types.ts";
import type { YamlPath, YamlSource } from "./yaml-source.ts";

export interface SpecResult {
  /** Undefined when the file has errors. */
  spec?: EnvironmentSpec;
  findings: Finding[];
}

export function readEnvironmentSpec(source: YamlSource, ref: EnvironmentRef): SpecResult {
  const schemaFindings = checkSchema(source, environmentSchema);
  if (schemaFindings.length > 0) return { findings: schemaFindings };
  // The schema check above makes this cast true.
  const raw = source.value as RawEnvironmentSpec;
  const findings: Finding[] = [];

  if (raw.name !== undefined && raw.name !== ref.name) {
    findings.push(findingAt(source, ["name"], "spec.name-mismatch", `name "${raw.name}" does not match the file name "${ref.name}"; rename the file or change the name (or remove the name: line)`));
  }

  const dependencies: CondaDependency[] = [];
  let pip: PipDependency[] | undefined;
  const firstLine = new Map<string, number>();
  raw.dependencies.forEach((dep, i) => {
    if (typeof dep !== "string") {
      pip = [];
      const seen = new Map<string, number>();
      dep.pip.forEach((text, j) => {
        const path: YamlPath = ["dependencies", i, "pip", j];
        const r = parsePipEntry(text);
        if (!r.ok) {
          findings.push(findingAt(source, path, "spec.pip-requirement", `"${text}" is not a valid pip requirement (${r.reason})`));
          return;
        }
        if (r.entry.kind === "requirement") {
          const earlier = seen.get(r.entry.name);
          if (earlier !== undefined) {
            findings.push(findingAt(source, path, "spec.duplicate-pip", `pip package "${r.entry.name}" is listed twice (also at line ${earlier}); combine the two into one requirement`));
            return;
          }
          seen.set(r.entry.name, source.locate(path).line);
        }
        pip?.push({ text, entry: r.entry, path });
      });
      return;
    }
    const path: YamlPath = ["dependencies", i];
    const r = parseMatchSpec(dep);
    if (!r.ok) {
      findings.push(findingAt(source, path, "spec.match-spec", `"${dep}" is not a valid match spec (${r.reason})`));
      return;
    }
    const earlier = firstLine.get(r.spec.name);
    if (earlier !== undefined) {
      findings.push(findingAt(source, path, "spec.duplicate-package", `"${r.spec.name}" is listed twice (also at line ${earlier}); combine the two into one match spec, e.g. "${r.spec.name} >=1,<2"`));
      return;
    }
    firstLine.set(r.spec.name, source.locate(path).line);
    dependencies.push({ text: dep, spec: r.spec, path });
  });

  if (findings.length > 0) return { findings };
  const spec: EnvironmentSpec = {
    ...(raw.name !== undefined ? { name: raw.name } : {}),
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    channels: raw.channels ?? [],
    dependencies,
    ...(pip !== undefined ? { pip } : {}),
    variables: raw.variables ?? {},
    ...(raw.platforms !== undefined ? { platforms: raw.platforms } : {}),
  };
  return { spec, findings };
}

/** The canonical text of a conda dependency (what the effective spec and the hash use). */
export function canonicalDependency(dep: CondaDependency): string {
  return formatMatchSpec(dep.spec);
}
