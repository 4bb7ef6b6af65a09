/**
 * The Action's access to the GitHub REST API: `@octokit/rest` with plugin-retry (5xx and network
 * errors, quadratic backoff) and plugin-throttling (secondary and primary rate limits, write
 * pacing), behind the small `GitHubApi` interface. Every failure becomes a `GitHubApiError`
 * (an `InfraError`, code `github.api`) whose message is built here from the status and GitHub's
 * message: octokit's own errors carry the request (and its headers) and are never attached, and
 * every message and log line is redacted of the token.
 */
import { Octokit } from "@octokit/rest";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import type { ThrottlingOptions } from "@octokit/plugin-throttling";
import { InfraError, UsageError } from "../../errors.ts";
import { redactText } from "../../builder/channels/redact.ts";
import type {
  CommitStatus,
  CommitStatusState,
  FindCommentParams,
  GitHubApi,
  IssueComment,
  PullInfo,
  PullParams,
  PullReview,
  ReviewState,
  SetCommitStatusParams,
  TeamMembershipParams,
  UpsertCommentParams,
  UpsertCommentResult,
} from "./types.ts";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";
/** GitHub's limit on a commit status description. */
export const STATUS_DESCRIPTION_LIMIT = 140;
/** GitHub's limit on an issue comment body. */
export const COMMENT_BODY_LIMIT = 65536;

export const PERMISSIONS_HINT = "check the token's permissions: statuses: write, pull-requests: write, and for teams read:org";

export interface GitHubClientOptions {
  token: string;
  /** The REST API root (GitHub Enterprise: `https://HOST/api/v3`); defaults to GITHUB_API_URL, then https://api.github.com. */
  baseUrl?: string;
  /** One line per retry and per octokit warning; defaults to stderr. Lines never carry the token. */
  log?: (line: string) => void;
  retry?: {
    /** Retries after the first attempt, for 5xx/network errors and for rate limits each (default 3). */
    retries?: number;
    /**
     * The time unit in ms (default 1000). 5xx retries wait 1, 4, 9... units; rate-limited requests
     * wait `retry-after` units (a second each by default). Tests use ~10.
     */
    baseDelayMs?: number;
  };
  /** Minimum spacing of write requests (POST/PATCH), as GitHub asks of API clients (default 1000 ms; tests use 0). */
  minWriteIntervalMs?: number;
  /** Per-attempt timeout (default 30000 ms); a timed-out attempt counts as a 5xx and is retried. */
  timeoutMs?: number;
  /** Longest wait, in `baseDelayMs` units, accepted for a primary rate-limit reset before failing (default 60). */
  maxRateLimitWait?: number;
  /**
   * The login the report comment is posted as, when the token is not a bot's (a personal access
   * token). Comments by bots (GITHUB_TOKEN's github-actions[bot], GitHub Apps) are adopted anyway;
   * anyone else's comment is never edited, whatever it contains.
   */
  commentAuthor?: string;
}

/** A GitHub API failure: an `InfraError` (exit 3) with code `github.api` and the HTTP status when there was one. */
export class GitHubApiError extends InfraError {
  readonly method: string;
  readonly path: string;
  /** undefined for network errors and timeouts */
  readonly status?: number;

  constructor(method: string, path: string, status: number | undefined, message: string, hint?: string) {
    super("github.api", message, hint === undefined ? {} : { hint });
    this.name = "GitHubApiError";
    this.method = method;
    this.path = path;
    this.status = status;
  }
}

export function isGitHubApiError(e: unknown): e is GitHubApiError {
  return e instanceof GitHubApiError;
}

/** Cuts `text` to at most `limit` UTF-16 units without splitting a surrogate pair, ending in "…" when cut. */
function cut(text: string, limit: number, ellipsis = "…"): string {
  if (text.length <= limit) return text;
  let end = Math.max(0, limit - ellipsis.length);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end) + ellipsis;
}

/** The description as GitHub accepts it: one line, at most 140 characters. */
export function statusDescription(description: string): string {
  return cut(description.replace(/\s+/g, " ").trim(), STATUS_DESCRIPTION_LIMIT);
}

/**
 * The comment body as posted: starting with the marker (prepended when the body does not start
 * with it), and over GitHub's 65536 characters cut at a line end with an open code fence closed
 * and a note appended.
 */
export function commentBody(body: string, marker: string): string {
  const marked = body.startsWith(marker) ? body : `${marker}\n${body}`;
  if (marked.length <= COMMENT_BODY_LIMIT) return marked;
  const note = `\n\n---\n_This report was truncated: it exceeded GitHub's ${COMMENT_BODY_LIMIT}-character comment limit. The full report is in the job summary of this workflow run._\n`;
  const fenceClose = "\n```\n";
  let head = cut(marked, COMMENT_BODY_LIMIT - note.length - fenceClose.length, "");
  const lastNewline = head.lastIndexOf("\n");
  if (lastNewline > head.length / 2) head = head.slice(0, lastNewline);
  const fences = head.split("\n").filter((l) => /^\s*(```|~~~)/.test(l)).length;
  return `${head}${fences % 2 === 1 ? fenceClose : "\n"}${note}`;
}

// ---------------------------------------------------------------------------------------------

interface Config {
  token: string;
  baseUrl: string;
  log: (line: string) => void;
  retries: number;
  unit: number;
  timeoutMs: number;
  maxRateLimitWait: number;
}

type Hooked = Pick<Octokit, "hook" | "request">;
type HookOptions = Required<Parameters<Octokit["request"]["endpoint"]["parse"]>[0]>;

/** A throttling-plugin "group" that spaces jobs at least `intervalMs` apart (the plugin's default spaces writes 1 s apart process-wide). */
function intervalGroup(intervalMs: number): NonNullable<ThrottlingOptions["write"]> {
  let last = -Infinity;
  let gate: Promise<void> = Promise.resolve();
  const limiter = {
    schedule(...args: unknown[]): Promise<unknown> {
      const at = typeof args[0] === "function" ? 0 : 1;
      const fn = args[at] as (...a: unknown[]) => unknown;
      const rest = args.slice(at + 1);
      const turn = gate.then(async () => {
        const wait = last + intervalMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        last = Date.now();
      });
      gate = turn;
      return turn.then(() => fn(...rest));
    },
  };
  // Duck-typed: the plugin only calls `group.key(id).schedule(jobOptions, fn, ...args)`.
  return { key: () => limiter } as unknown as NonNullable<ThrottlingOptions["write"]>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function statusOf(e: unknown): number | undefined {
  return isObject(e) && typeof e["status"] === "number" ? e["status"] : undefined;
}

function responseOf(e: unknown): { headers: Record<string, string>; data: unknown } | undefined {
  if (!isObject(e) || !isObject(e["response"])) return undefined;
  const r = e["response"];
  const headers: Record<string, string> = {};
  if (isObject(r["headers"])) for (const [k, v] of Object.entries(r["headers"])) if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
  return { headers, data: r["data"] };
}

function isPrimaryRateLimit(status: number | undefined, headers: Record<string, string>): boolean {
  return (status === 403 || status === 429) && headers["x-ratelimit-remaining"] === "0";
}

function isSecondaryRateLimit(status: number | undefined, headers: Record<string, string>, message: string): boolean {
  if (status !== 403 && status !== 429) return false;
  if (isPrimaryRateLimit(status, headers)) return false;
  return /\bsecondary rate\b/i.test(message) || headers["retry-after"] !== undefined || status === 429;
}

function retryCountOf(options: HookOptions): number {
  const r: unknown = options.request;
  return isObject(r) && typeof r["retryCount"] === "number" ? r["retryCount"] : 0;
}

/** `/repos/o/r/...` from a full API URL (the base URL's own path, e.g. `/api/v3`, and the query dropped). */
function apiPath(url: string, baseUrl: string): string {
  try {
    const u = new URL(url, baseUrl);
    const basePath = new URL(baseUrl).pathname.replace(/\/+$/, "");
    return basePath && u.pathname.startsWith(basePath + "/") ? u.pathname.slice(basePath.length) : u.pathname;
  } catch {
    return url.split("?")[0] ?? url;
  }
}

/** Method and path of the request behind hook options. */
function describe(octokit: Hooked, options: HookOptions, baseUrl: string): { method: string; path: string } {
  try {
    const parsed = octokit.request.endpoint.parse(options);
    return { method: parsed.method, path: apiPath(parsed.url, baseUrl) };
  } catch {
    return { method: String(options.method), path: apiPath(String(options.url), baseUrl) };
  }
}

/** One line of GitHub's error text: JSON `message` (+ validation errors), or text/HTML reduced to words. */
function githubMessage(data: unknown, fallback: string): string {
  if (isObject(data) && typeof data["message"] === "string") {
    const errors = Array.isArray(data["errors"])
      ? data["errors"]
          .map((x: unknown) => (isObject(x) ? (typeof x["message"] === "string" ? x["message"] : [x["field"], x["code"]].filter(Boolean).join(" ")) : String(x)))
          .filter((s) => s !== "")
      : [];
    return errors.length ? `${data["message"]}: ${errors.join("; ")}` : data["message"];
  }
  if (typeof data === "string" && data.trim() !== "") {
    return cut(data.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim(), 200);
  }
  return fallback;
}

/**
 * The plugin that sees every attempt (registered before plugin-retry and plugin-throttling, so
 * it is inside both): per-attempt timeout, a log line for every 5xx/network retry (mirroring
 * plugin-retry's schedule), and rate-limit responses made recognisable to plugin-throttling.
 */
function attemptPlugin(cfg: Config, lastStatus: WeakMap<object, number>) {
  return (octokit: Hooked): void => {
    octokit.hook.wrap("request", async (request, options) => {
      const attempt = retryCountOf(options);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), cfg.timeoutMs);
      options.request = { ...options.request, signal: controller.signal };
      try {
        return await request(options);
      } catch (e) {
        let error: unknown = e;
        const { method, path } = describe(octokit, options, cfg.baseUrl);
        if (e instanceof Error && e.name === "AbortError") {
          // plugin-retry only retries errors that carry `request.request`; octokit rethrows aborts bare.
          error = Object.assign(new Error(`no response within ${cfg.timeoutMs} ms`), {
            name: "HttpError",
            status: 500,
            timedOut: true,
            request: { method, url: path, headers: {}, request: {} },
          });
        }
        const status = statusOf(error);
        const response = responseOf(error);
        if (status !== undefined) lastStatus.set(options, status);
        if (status !== undefined && status >= 500 && attempt < cfg.retries) {
          const why = response ? String(status) : `network error (${redactText(error instanceof Error ? error.message : String(error), [cfg.token])})`;
          const delay = (attempt + 1) ** 2 * cfg.unit;
          cfg.log(redactText(`GitHub API ${why} on ${method} ${path}, retrying in ${delay} ms (${attempt + 1}/${cfg.retries})`, [cfg.token]));
        }
        if (response && error instanceof Error && isSecondaryRateLimit(status, response.headers, error.message) && !/\bsecondary rate\b/i.test(error.message)) {
          // plugin-throttling recognises secondary limits by their message only.
          error.message = `${error.message} (secondary rate limit)`;
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
    });
  };
}

function toError(e: unknown, fallback: { method: string; path: string }, cfg: Config): Error {
  if (e instanceof GitHubApiError || e instanceof UsageError) return e;
  const status = statusOf(e);
  const response = responseOf(e);
  const rawMessage = e instanceof Error ? e.message : String(e);
  let method = fallback.method;
  let path = fallback.path;
  if (isObject(e) && isObject(e["request"])) {
    const req = e["request"];
    if (typeof req["method"] === "string") method = req["method"];
    if (typeof req["url"] === "string") path = apiPath(req["url"], cfg.baseUrl);
  }
  const retried = (status === undefined || status >= 500) && cfg.retries > 0 ? ` (gave up after ${cfg.retries} retries)` : "";
  let what: string;
  let hint: string | undefined;
  if (!response) {
    what = `network error: ${rawMessage}${retried}`;
    hint = `check that GITHUB_API_URL (${cfg.baseUrl}) is reachable from this runner, and https://www.githubstatus.com`;
  } else {
    const text = githubMessage(response.data, rawMessage);
    what = `${status} ${text}`;
    if (isPrimaryRateLimit(status, response.headers)) {
      const reset = Number(response.headers["x-ratelimit-reset"]);
      const when = Number.isFinite(reset) && reset > 0 ? ` (it resets at ${new Date(reset * 1000).toISOString()})` : "";
      hint = `the token's API rate limit is used up${when}; re-run the job after the reset`;
    } else if (isSecondaryRateLimit(status, response.headers, text)) {
      what += ` (still rate-limited after ${cfg.retries} retries)`;
      hint = "GitHub's secondary rate limit: wait a few minutes, then re-run the job";
    } else if (status === 401) {
      hint = `${PERMISSIONS_HINT} (a 401 means the token is missing, expired or invalid)`;
    } else if (status === 403) {
      hint = PERMISSIONS_HINT;
    } else if (status === 404) {
      hint = "check the owner, repository, number or team, and that the token can see them (GitHub answers 404 when the token lacks access)";
    } else if (status === 422) {
      hint = "GitHub rejected the request's content";
    } else if (status !== undefined && status >= 500) {
      what += retried;
      hint = "GitHub is failing: check https://www.githubstatus.com and re-run the job later";
    }
  }
  const message = redactText(`GitHub API ${method} ${path} failed: ${what}`, [cfg.token]);
  return new GitHubApiError(method, path, response ? status : undefined, message, hint === undefined ? undefined : redactText(hint, [cfg.token]));
}

function mapReviewState(s: string): ReviewState {
  const states: readonly ReviewState[] = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"];
  // Anything GitHub may add later counts as a plain comment: it never approves.
  return (states as readonly string[]).includes(s) ? (s as ReviewState) : "COMMENTED";
}

export function createGitHubClient(options: GitHubClientOptions): GitHubApi {
  const token = options.token?.trim() ?? "";
  if (token === "") {
    throw new UsageError("github.token", "no GitHub token", { hint: "set the Action's `token` input (it defaults to ${{ github.token }})" });
  }
  const baseUrl = (options.baseUrl || process.env["GITHUB_API_URL"] || DEFAULT_GITHUB_API_URL).replace(/\/+$/, "");
  let parsedBase: URL;
  try {
    parsedBase = new URL(baseUrl);
  } catch {
    throw new UsageError("github.base-url", `GitHub API URL is not a URL: ${redactText(baseUrl, [token])}`, { hint: "set GITHUB_API_URL to e.g. https://api.github.com or https://HOST/api/v3" });
  }
  if (parsedBase.protocol !== "https:" && parsedBase.protocol !== "http:") {
    throw new UsageError("github.base-url", `GitHub API URL must be http(s): ${redactText(baseUrl, [token])}`);
  }
  const rawLog = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const cfg: Config = {
    token,
    baseUrl,
    log: (line) => rawLog(redactText(line, [token])),
    retries: Math.max(0, Math.floor(options.retry?.retries ?? 3)),
    unit: Math.max(0, options.retry?.baseDelayMs ?? 1000),
    timeoutMs: options.timeoutMs ?? 30_000,
    maxRateLimitWait: options.maxRateLimitWait ?? 60,
  };
  const lastStatus = new WeakMap<object, number>();
  const writeInterval = Math.max(0, options.minWriteIntervalMs ?? 1000);
  const noop = (): void => {};

  const Client = Octokit.plugin(attemptPlugin(cfg, lastStatus), retry, throttling);
  const octokit = new Client({
    auth: token,
    baseUrl,
    userAgent: "condaops-action",
    log: { debug: noop, info: noop, warn: (m: string) => cfg.log(`GitHub API warning: ${m}`), error: noop },
    retry: {
      retries: cfg.retries,
      retryAfterBaseValue: cfg.unit,
      // Client errors are final; 403/429 rate limits are plugin-throttling's to retry.
      doNotRetry: Array.from({ length: 100 }, (_, i) => 400 + i),
    },
    throttle: {
      id: `condaops-${Math.random().toString(36).slice(2)}`,
      retryAfterBaseValue: cfg.unit,
      fallbackSecondaryRateRetryAfter: 60,
      write: intervalGroup(writeInterval),
      notifications: intervalGroup(writeInterval),
      onSecondaryRateLimit: (retryAfter, opts, _octokit, retryCount) => {
        if (retryCount >= cfg.retries) return false;
        const { method, path } = describe(octokit, opts, baseUrl);
        const status = lastStatus.get(opts) ?? 403;
        cfg.log(`GitHub API ${status} (secondary rate limit) on ${method} ${path}, retrying in ${retryAfter * cfg.unit} ms (${retryCount + 1}/${cfg.retries})`);
        return true;
      },
      onRateLimit: (retryAfter, opts, _octokit, retryCount) => {
        if (retryCount >= cfg.retries || retryAfter > cfg.maxRateLimitWait) return false;
        const { method, path } = describe(octokit, opts, baseUrl);
        const status = lastStatus.get(opts) ?? 403;
        cfg.log(`GitHub API ${status} (rate limit used up) on ${method} ${path}, retrying in ${retryAfter * cfg.unit} ms (${retryCount + 1}/${cfg.retries})`);
        return true;
      },
    },
  });

  async function call<T>(method: string, path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toError(e, { method, path }, cfg);
    }
  }

  const enc = encodeURIComponent;
  const configuredAuthor = options.commentAuthor?.trim().toLowerCase() || undefined;
  // Who our comments are by: a personal token's user (GET /user answers), else the app's bot
  // (an installation token such as GITHUB_TOKEN cannot read /user). Asked once.
  let author: Promise<string | undefined> | undefined;
  const commentAuthorOf = (): Promise<string | undefined> =>
    (author ??= configuredAuthor !== undefined
      ? Promise.resolve(configuredAuthor)
      : octokit.rest.users.getAuthenticated().then(
          ({ data }) => (data.type === "Bot" ? undefined : data.login.toLowerCase()),
          () => undefined,
        ));

  async function findComment(p: FindCommentParams): Promise<IssueComment | undefined> {
    if (p.marker.trim() === "") throw new UsageError("github.marker", "a comment marker must not be empty");
    const path = `/repos/${enc(p.owner)}/${enc(p.repo)}/issues/${p.issueNumber}/comments`;
    return call("GET", path, async () => {
      const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
        owner: p.owner,
        repo: p.repo,
        issue_number: p.issueNumber,
        per_page: 100,
      });
      for await (const page of pages) {
        for (const c of page.data) {
          // Ours only: the marker first (a quote or a mention of it does not count) and posted by a
          // bot or by the configured author; a human's comment that copies the marker is left alone.
          if (typeof c.body !== "string" || !c.body.startsWith(p.marker)) continue;
          // Who we are is asked only when a person's comment carries the marker (a personal token).
          const byUs = c.user?.type === "Bot" || (c.user !== null && c.user !== undefined && c.user.login.toLowerCase() === (await commentAuthorOf()));
          if (byUs) {
            return { id: c.id, url: c.html_url, body: c.body, user: c.user?.login ?? "ghost", createdAt: c.created_at, updatedAt: c.updated_at };
          }
        }
      }
      return undefined;
    });
  }

  return {
    async setCommitStatus(p: SetCommitStatusParams): Promise<CommitStatus> {
      const path = `/repos/${enc(p.owner)}/${enc(p.repo)}/statuses/${enc(p.sha)}`;
      return call("POST", path, async () => {
        const { data } = await octokit.rest.repos.createCommitStatus({
          owner: p.owner,
          repo: p.repo,
          sha: p.sha,
          state: p.state,
          context: p.context,
          description: statusDescription(p.description),
          ...(p.targetUrl ? { target_url: p.targetUrl } : {}),
        });
        return { id: data.id, state: data.state as CommitStatusState, context: data.context, description: data.description ?? "" };
      });
    },

    findComment,

    async upsertComment(p: UpsertCommentParams): Promise<UpsertCommentResult> {
      const body = commentBody(p.body, p.marker);
      const existing = await findComment(p);
      if (existing) {
        const path = `/repos/${enc(p.owner)}/${enc(p.repo)}/issues/comments/${existing.id}`;
        return call("PATCH", path, async () => {
          const { data } = await octokit.rest.issues.updateComment({ owner: p.owner, repo: p.repo, comment_id: existing.id, body });
          return { id: data.id, url: data.html_url, created: false };
        });
      }
      const path = `/repos/${enc(p.owner)}/${enc(p.repo)}/issues/${p.issueNumber}/comments`;
      return call("POST", path, async () => {
        const { data } = await octokit.rest.issues.createComment({ owner: p.owner, repo: p.repo, issue_number: p.issueNumber, body });
        return { id: data.id, url: data.html_url, created: true };
      });
    },

    async listReviews(p: PullParams): Promise<PullReview[]> {
      const path = `/repos/${enc(p.owner)}/${enc(p.repo)}/pulls/${p.pullNumber}/reviews`;
      return call("GET", path, async () => {
        const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, {
          owner: p.owner,
          repo: p.repo,
          pull_number: p.pullNumber,
          per_page: 100,
        });
        return reviews.map((r) => ({
          id: r.id,
          user: r.user?.login ?? "ghost",
          state: mapReviewState(r.state),
          commitId: r.commit_id ?? "",
          ...(r.submitted_at ? { submittedAt: r.submitted_at } : {}),
        }));
      });
    },

    async isTeamMember(p: TeamMembershipParams): Promise<boolean> {
      const path = `/orgs/${enc(p.org)}/teams/${enc(p.teamSlug)}/memberships/${enc(p.user)}`;
      try {
        return await call("GET", path, async () => {
          const { data } = await octokit.rest.teams.getMembershipForUserInOrg({ org: p.org, team_slug: p.teamSlug, username: p.user });
          return data.state === "active";
        });
      } catch (e) {
        if (e instanceof GitHubApiError && e.status === 404) return false;
        throw e;
      }
    },

    async getPull(p: PullParams): Promise<PullInfo> {
      const path = `/repos/${enc(p.owner)}/${enc(p.repo)}/pulls/${p.pullNumber}`;
      return call("GET", path, async () => {
        const { data } = await octokit.rest.pulls.get({ owner: p.owner, repo: p.repo, pull_number: p.pullNumber });
        return {
          number: data.number,
          headSha: data.head.sha,
          baseSha: data.base.sha,
          baseRef: data.base.ref,
          headRef: data.head.ref,
          author: data.user?.login ?? "ghost",
        };
      });
    },
  };
}
