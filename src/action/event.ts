/**
 * The event that started the workflow (`GITHUB_EVENT_PATH`), parsed at the edge into the few
 * typed fields the Action uses. The payload is untrusted input: anything missing or of the wrong
 * shape is an InputError naming the field, never a crash deeper in.
 */
import { readFile } from "node:fs/promises";
import { InputError, UsageError } from "../errors.ts";

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
  headSha: string;
  baseSha: string;
  baseRef: string;
  author: string;
  /**
   * The head branch lives in another repository (`pull_request.head.repo.full_name` differs from
   * `repository.full_name`, or the fork was deleted): on `pull_request` its token is read-only.
   */
  fromFork: boolean;
}

export type ActionEvent =
  | { kind: "pull_request"; action: string; pull: PullRequestRef }
  | { kind: "pull_request_review"; action: string; pull: PullRequestRef }
  | { kind: "push"; owner: string; repo: string; ref: string; after: string; defaultBranch: string }
  | { kind: "other"; name: string };

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

type Json = Record<string, unknown>;

function field(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Json)[key];
  }
  return cur;
}

function text(obj: unknown, path: string, pattern?: RegExp): string {
  const v = field(obj, path);
  if (typeof v !== "string" || v.length === 0 || v.length > 1024 || (pattern && !pattern.test(v))) {
    throw new InputError("action.event", `the event payload has no valid ${path}`, { hint: "run the Action on pull_request, pull_request_review or push events" });
  }
  return v;
}

function pullRequest(payload: unknown): PullRequestRef {
  const number = field(payload, "pull_request.number");
  if (typeof number !== "number" || !Number.isInteger(number) || number < 1) throw new InputError("action.event", "the event payload has no valid pull_request.number");
  return {
    owner: text(payload, "repository.owner.login"),
    repo: text(payload, "repository.name"),
    number,
    headSha: text(payload, "pull_request.head.sha", SHA),
    baseSha: text(payload, "pull_request.base.sha", SHA),
    baseRef: text(payload, "pull_request.base.ref"),
    author: text(payload, "pull_request.user.login"),
    fromFork: isFork(payload),
  };
}

function isFork(payload: unknown): boolean {
  const headRepo = field(payload, "pull_request.head.repo");
  if (headRepo === null) return true; // the fork was deleted
  const head = field(payload, "pull_request.head.repo.full_name");
  if (typeof head !== "string") return false;
  const own = field(payload, "repository.full_name");
  const base = typeof own === "string" ? own : `${String(field(payload, "repository.owner.login"))}/${String(field(payload, "repository.name"))}`;
  return head.toLowerCase() !== base.toLowerCase();
}

export function parseEvent(name: string, payload: unknown): ActionEvent {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new InputError("action.event", "the event payload is not a JSON object");
  const action = typeof field(payload, "action") === "string" ? (field(payload, "action") as string) : "";
  switch (name) {
    case "pull_request":
    case "pull_request_target":
      return { kind: "pull_request", action, pull: pullRequest(payload) };
    case "pull_request_review":
      return { kind: "pull_request_review", action, pull: pullRequest(payload) };
    case "push":
      return {
        kind: "push",
        owner: text(payload, "repository.owner.login"),
        repo: text(payload, "repository.name"),
        ref: text(payload, "ref"),
        after: text(payload, "after", SHA),
        defaultBranch: text(payload, "repository.default_branch"),
      };
    default:
      return { kind: "other", name };
  }
}

/** Reads GITHUB_EVENT_NAME and GITHUB_EVENT_PATH. */
export async function readEvent(env: NodeJS.ProcessEnv): Promise<ActionEvent> {
  const name = env.GITHUB_EVENT_NAME;
  const path = env.GITHUB_EVENT_PATH;
  if (!name || !path) throw new UsageError("action.not-in-actions", "GITHUB_EVENT_NAME and GITHUB_EVENT_PATH are not set: this runs as a GitHub Action step");
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch {
    throw new UsageError("action.event", `cannot read the event payload ${path}`);
  }
  if (raw.length > 25 * 1024 * 1024) throw new InputError("action.event", "the event payload is larger than 25 MiB");
  let payload: unknown;
  try {
    payload = JSON.parse(raw);
  } catch {
    throw new InputError("action.event", `the event payload ${path} is not JSON`);
  }
  return parseEvent(name, payload);
}
