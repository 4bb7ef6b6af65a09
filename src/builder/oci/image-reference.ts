/**
 * Image references (`host[:port]/repository[:tag][@sha256:...]`), read with the grammar of the
 * distribution project that Docker, skopeo and registries share: Docker Hub short names expand
 * (`ubuntu` -> `docker.io/library/ubuntu`), repository components are lowercase, tags are at most
 * 128 characters. References come from configuration and become URL paths, so anything outside
 * the grammar (spaces, `..`, uppercase, control characters) is refused before any request.
 */
import { InputError } from "../../errors.ts";
import { DIGEST_RE } from "./digest.ts";

export interface ImageReference {
  /** `host[:port]` as written; `docker.io` for Docker Hub. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::([0-9]{1,5}))?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const MAX_NAME = 255;

export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The text for messages: user-info someone put in front of a host (`user:secret@host`) is masked. */
function shown(text: string): string {
  let t = text.slice(0, 200);
  const at = t.indexOf("@");
  const slash = t.indexOf("/");
  if (at >= 0 && (slash < 0 || at < slash) && !t.startsWith("sha256:", at + 1)) t = `***${t.slice(at)}`;
  return JSON.stringify(t);
}

function bad(text: string, why: string, hint = "write it as host[:port]/repository[:tag] or host[:port]/repository@sha256:<digest>"): InputError {
  return new InputError("oci.reference", `invalid image reference ${shown(text)}: ${why}`, { hint });
}

/** Checks a registry `host[:port]`. */
export function checkRegistryHost(host: string, text = host): void {
  const m = DOMAIN_RE.exec(host);
  if (!m || (m[1] !== undefined && Number(m[1]) > 65535)) throw bad(text, `${JSON.stringify(host)} is not a registry host[:port]`);
}

/** Checks a repository path (`team/env`): lowercase components separated by `/`. */
export function checkRepository(repository: string, text = repository): void {
  if (repository === "" || !repository.split("/").every((c) => PATH_COMPONENT_RE.test(c))) {
    throw bad(text, `repository ${JSON.stringify(repository.slice(0, 200))} must be lowercase letters and digits separated by "/", ".", "_", "__" or "-"`);
  }
}

export function checkTag(tag: string, text = tag): void {
  if (!TAG_RE.test(tag)) throw bad(text, `tag ${JSON.stringify(tag.slice(0, 200))} must be up to 128 letters, digits, "_", "." or "-" (not starting with "." or "-")`);
}

/** Whether the first path component names a registry rather than a Docker Hub user. */
const isRegistry = (first: string): boolean => first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[");

export function parseImageReference(text: string): ImageReference {
  if (text === "" || /[\s\x00-\x1f\x7f]/.test(text)) throw bad(text, "empty, or contains spaces or control characters");
  let name = text;
  let digest: string | undefined;
  const at = text.indexOf("@");
  if (at >= 0) {
    name = text.slice(0, at);
    digest = text.slice(at + 1);
    if (!DIGEST_RE.test(digest)) throw bad(text, "the digest must be sha256:<64 lowercase hex digits>");
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    checkTag(tag, text);
  }
  const slash = name.indexOf("/");
  let registry = DOCKER_HUB;
  let repository = name;
  if (slash >= 0 && isRegistry(name.slice(0, slash))) {
    registry = name.slice(0, slash);
    repository = name.slice(slash + 1);
    checkRegistryHost(registry, text);
  }
  if (DOCKER_HUB_ALIASES.has(registry)) {
    registry = DOCKER_HUB;
    if (!repository.includes("/")) repository = `library/${repository}`;
  }
  checkRepository(repository, text);
  if (registry.length + 1 + repository.length > MAX_NAME) throw bad(text, `the name is longer than ${MAX_NAME} characters`);
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

export function formatImageReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** The host an API request goes to (Docker Hub's API is not at docker.io). */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? "registry-1.docker.io" : registry;
}

/** Whether a configured host (credentials, insecure registries) names `registry`. */
export function sameRegistry(configured: string, registry: string): boolean {
  const a = configured.trim().toLowerCase().replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const b = registry.toLowerCase();
  return a === b || (DOCKER_HUB_ALIASES.has(a) && DOCKER_HUB_ALIASES.has(b));
}

/**
 * Where an environment's image is pushed: `<push>/<namespace>/<name>:<tag>`, `push` being
 * `host[:port][/path]`. Names are lowercased (registries allow no uppercase); anything still
 * outside the grammar is refused.
 */
export function pushReference(push: string, namespace: string, name: string, tag: string): ImageReference & { tag: string } {
  const trimmed = push.replace(/\/+$/, "");
  if (trimmed === "" || /[\s\x00-\x1f\x7f@]/.test(trimmed) || trimmed.includes("://")) {
    throw bad(push, "oci.push must be host[:port] or host[:port]/path", "set oci.push to a registry and an optional path, such as registry.example.org/condaops");
  }
  const slash = trimmed.indexOf("/");
  const registry = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const path = slash < 0 ? "" : trimmed.slice(slash + 1);
  checkRegistryHost(registry, push);
  const repository = [path, namespace.toLowerCase(), name.toLowerCase()].filter((s) => s !== "").join("/");
  checkRepository(repository, `${trimmed}/${namespace}/${name}`);
  checkTag(tag);
  if (registry.length + 1 + repository.length > MAX_NAME) throw bad(`${trimmed}/${namespace}/${name}`, `the name is longer than ${MAX_NAME} characters`);
  return { registry, repository, tag };
}
