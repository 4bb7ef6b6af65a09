/**
 * A fake GitHub REST API for tests: a real HTTP server on 127.0.0.1 (ephemeral port) speaking the
 * subset the Action uses, with GitHub-shaped JSON payloads, Link-header pagination, 401 without a
 * token, 404 with GitHub's error JSON for unknown routes, and scripted failures (`failNext`).
 *
 * Routes:
 *   POST  /repos/{owner}/{repo}/statuses/{sha}
 *   GET   /repos/{owner}/{repo}/commits/{ref}/statuses
 *   GET   /repos/{owner}/{repo}/issues/{issue_number}/comments        (paginated)
 *   POST  /repos/{owner}/{repo}/issues/{issue_number}/comments
 *   GET   /repos/{owner}/{repo}/issues/comments/{comment_id}
 *   PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}
 *   GET   /repos/{owner}/{repo}/pulls/{pull_number}
 *   GET   /repos/{owner}/{repo}/pulls/{pull_number}/reviews           (paginated)
 *   GET   /orgs/{org}/teams/{team_slug}/memberships/{username}
 *
 * A leading `/api/v3` (GitHub Enterprise Server's API root) is accepted and ignored.
 *
 * Every token acts as an identity (`identities`; any other accepted token is `actor`, by default
 * `github-actions[bot]`, a Bot): statuses and comments created through the API are that
 * identity's; editing someone else's comment is a 403, as on GitHub; a `readOnly` identity (a
 * fork PR's GITHUB_TOKEN) gets 403 on every write; one without `orgAccess` (GITHUB_TOKEN) gets
 * 404 for team memberships, as GitHub answers when the token cannot see the org's teams.
 *
 * State is plain data: records carry their routing keys (`repo` as "owner/name", `sha`,
 * `issue_number`, `pull_number`) next to the API fields; responses omit the routing keys.
 */
import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** The path without the query string, e.g. `/repos/o/r/statuses/abc`. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when there was none; the raw text when it was not JSON). */
  body: unknown;
  /** The status the fake answered with. */
  status: number;
}

export interface FakeUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  url: string;
  html_url: string;
  type: "User" | "Bot";
  site_admin: boolean;
}

export type FakeStatusState = "pending" | "success" | "failure" | "error";

export interface FakeStatus {
  /** routing: "owner/name" */
  repo: string;
  sha: string;
  id: number;
  node_id: string;
  url: string;
  avatar_url: string;
  state: FakeStatusState;
  description: string | null;
  target_url: string | null;
  context: string;
  created_at: string;
  updated_at: string;
  creator: FakeUser;
}

export interface FakeComment {
  repo: string;
  issue_number: number;
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: FakeUser;
  created_at: string;
  updated_at: string;
  author_association: string;
}

export type FakeReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";

export interface FakeReview {
  repo: string;
  pull_number: number;
  id: number;
  node_id: string;
  user: FakeUser;
  body: string;
  state: FakeReviewState;
  html_url: string;
  pull_request_url: string;
  commit_id: string;
  /** absent on PENDING reviews, as on GitHub */
  submitted_at?: string;
  author_association: string;
}

export interface FakePull {
  repo: string;
  number: number;
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  state: "open" | "closed";
  title: string;
  body: string | null;
  user: FakeUser;
  head: { label: string; ref: string; sha: string; user: FakeUser };
  base: { label: string; ref: string; sha: string; user: FakeUser };
  draft: boolean;
  merged: boolean;
  created_at: string;
  updated_at: string;
}

export interface FakeGitHubState {
  statuses: FakeStatus[];
  comments: FakeComment[];
  reviews: FakeReview[];
  /** "org/slug" → active members' logins */
  teams: Record<string, string[]>;
  /** "org/slug" → logins invited but not yet active (membership state "pending") */
  pendingTeamMembers: Record<string, string[]>;
  pulls: FakePull[];
}

/** A scripted failure for the next matching request(s). */
export type FailureSpec =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: "secondary-rate-limit"; status?: 403 | 429; retryAfter?: number }
  | { kind: "rate-limit"; status?: 403 | 429; resetInSeconds?: number }
  /** answers normally, but only after `ms` (for client timeouts) */
  | { kind: "delay"; ms: number };

export interface FailureMatch {
  method?: string;
  /** the request path must equal this string, or match this RegExp */
  path?: string | RegExp;
}

export interface FakeIdentity {
  /** The login acting through the token (`…[bot]` logins are of type Bot). */
  login: string;
  /** Can read org team memberships (default true); false answers 404 as for GITHUB_TOKEN. */
  orgAccess?: boolean;
  /** Every write (POST, PATCH) is refused with 403, as for a fork PR's token. */
  readOnly?: boolean;
}

export interface FakeGitHubOptions {
  /** When set, only these tokens are accepted (others get 401 "Bad credentials"). Any token is accepted otherwise. */
  tokens?: string[];
  /** The login that acts through tokens not in `identities`: the creator of statuses, the author of comments. */
  actor?: string;
  /** Token → identity. */
  identities?: Record<string, FakeIdentity>;
}

export interface AddCommentInput {
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  user?: string;
  createdAt?: string;
}

export interface AddReviewInput {
  owner: string;
  repo: string;
  pullNumber: number;
  user: string;
  state: FakeReviewState;
  commitId: string;
  body?: string;
  submittedAt?: string;
}

export interface AddPullInput {
  owner: string;
  repo: string;
  number: number;
  headSha: string;
  baseSha: string;
  headRef?: string;
  baseRef?: string;
  author?: string;
  title?: string;
}

export interface FakeGitHub {
  /** Base URL to use as GITHUB_API_URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  url: string;
  requests: RecordedRequest[];
  state: FakeGitHubState;
  addComment(input: AddCommentInput): FakeComment;
  addReview(input: AddReviewInput): FakeReview;
  addPull(input: AddPullInput): FakePull;
  setTeam(org: string, slug: string, members: string[], pending?: string[]): void;
  /** The next `n` requests (matching `match`, when given) fail as described. */
  failNext(n: number, failure: FailureSpec, match?: FailureMatch): void;
  /** Requests recorded so far matching method and path (string: equal; RegExp: test). */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[];
  close(): Promise<void>;
}

const DOCS = "https://docs.github.com/rest";

let nextId = 1_000_000;
const newId = (): number => nextId++;
const nodeId = (prefix: string, id: number): string => `${prefix}_kw${Buffer.from(String(id)).toString("base64url")}`;
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const userId = (login: string): number => {
  let h = 0;
  for (const c of login) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return (h % 90_000_000) + 1_000;
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const forbidden = (): HttpError => new HttpError(403, "Resource not accessible by integration", { documentation_url: DOCS, status: "403" });
const notFound = (): HttpError => new HttpError(404, "Not Found", { documentation_url: DOCS, status: "404" });
const validation = (resource: string, field: string, code: string, message: string): HttpError =>
  new HttpError(422, "Validation Failed", { errors: [{ resource, field, code, message }], documentation_url: DOCS, status: "422" });

function stripRouting<T extends object>(record: T, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!keys.includes(k)) out[k] = v;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const actor = options.actor ?? "github-actions[bot]";
  const requests: RecordedRequest[] = [];
  const state: FakeGitHubState = { statuses: [], comments: [], reviews: [], teams: {}, pendingTeamMembers: {}, pulls: [] };
  const failures: { failure: FailureSpec; match?: FailureMatch }[] = [];
  let base = "";
  let remaining = 5000;

  const user = (login: string): FakeUser => {
    const id = userId(login);
    return {
      login,
      id,
      node_id: nodeId("U", id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      url: `${base}/users/${encodeURIComponent(login)}`,
      html_url: `https://github.com/${login}`,
      type: login.endsWith("[bot]") ? "Bot" : "User",
      site_admin: false,
    };
  };

  const fake: FakeGitHub = {
    url: "",
    requests,
    state,
    addComment(input) {
      const repo = `${input.owner}/${input.repo}`;
      const id = newId();
      const at = input.createdAt ?? now();
      const c: FakeComment = {
        repo,
        issue_number: input.issueNumber,
        id,
        node_id: nodeId("IC", id),
        url: `${base}/repos/${repo}/issues/comments/${id}`,
        html_url: `https://github.com/${repo}/pull/${input.issueNumber}#issuecomment-${id}`,
        issue_url: `${base}/repos/${repo}/issues/${input.issueNumber}`,
        body: input.body,
        user: user(input.user ?? actor),
        created_at: at,
        updated_at: at,
        author_association: (input.user ?? actor).endsWith("[bot]") ? "NONE" : "MEMBER",
      };
      state.comments.push(c);
      return c;
    },
    addReview(input) {
      const repo = `${input.owner}/${input.repo}`;
      const id = newId();
      const r: FakeReview = {
        repo,
        pull_number: input.pullNumber,
        id,
        node_id: nodeId("PRR", id),
        user: user(input.user),
        body: input.body ?? "",
        state: input.state,
        html_url: `https://github.com/${repo}/pull/${input.pullNumber}#pullrequestreview-${id}`,
        pull_request_url: `${base}/repos/${repo}/pulls/${input.pullNumber}`,
        commit_id: input.commitId,
        ...(input.state === "PENDING" ? {} : { submitted_at: input.submittedAt ?? now() }),
        author_association: "MEMBER",
      };
      state.reviews.push(r);
      return r;
    },
    addPull(input) {
      const repo = `${input.owner}/${input.repo}`;
      const id = newId();
      const author = user(input.author ?? "octocat");
      const owner = user(input.owner);
      const headRef = input.headRef ?? `change-${input.number}`;
      const baseRef = input.baseRef ?? "main";
      const at = now();
      const p: FakePull = {
        repo,
        number: input.number,
        id,
        node_id: nodeId("PR", id),
        url: `${base}/repos/${repo}/pulls/${input.number}`,
        html_url: `https://github.com/${repo}/pull/${input.number}`,
        state: "open",
        title: input.title ?? `Change #${input.number}`,
        body: null,
        user: author,
        head: { label: `${author.login}:${headRef}`, ref: headRef, sha: input.headSha, user: author },
        base: { label: `${input.owner}:${baseRef}`, ref: baseRef, sha: input.baseSha, user: owner },
        draft: false,
        merged: false,
        created_at: at,
        updated_at: at,
      };
      state.pulls = state.pulls.filter((x) => !(x.repo === repo && x.number === input.number));
      state.pulls.push(p);
      return p;
    },
    setTeam(org, slug, members, pending = []) {
      state.teams[`${org}/${slug}`] = [...members];
      state.pendingTeamMembers[`${org}/${slug}`] = [...pending];
    },
    failNext(n, failure, match) {
      for (let i = 0; i < n; i++) failures.push({ failure, ...(match ? { match } : {}) });
    },
    requestsTo(method, path) {
      return requests.filter((r) => r.method === method.toUpperCase() && (typeof path === "string" ? r.path === path : path.test(r.path)));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };

  const takeFailure = (method: string, path: string): FailureSpec | undefined => {
    const i = failures.findIndex(
      ({ match }) =>
        !match ||
        ((match.method === undefined || match.method.toUpperCase() === method) &&
          (match.path === undefined || (typeof match.path === "string" ? match.path === path : match.path.test(path)))),
    );
    if (i < 0) return undefined;
    const [f] = failures.splice(i, 1);
    return f?.failure;
  };

  const failureError = (f: Exclude<FailureSpec, { kind: "delay" }>): HttpError => {
    if ("kind" in f && f.kind === "secondary-rate-limit") {
      return new HttpError(
        f.status ?? 403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:4444.",
        { documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", status: String(f.status ?? 403) },
        { "retry-after": String(f.retryAfter ?? 1) },
      );
    }
    if ("kind" in f) {
      const reset = Math.floor(Date.now() / 1000) + (f.resetInSeconds ?? 1);
      return new HttpError(
        f.status ?? 403,
        "API rate limit exceeded for installation ID 1234567.",
        { documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit", status: String(f.status ?? 403) },
        { "x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-reset": String(reset) },
      );
    }
    const body = f.body ?? { message: f.status >= 500 ? "Server Error" : "Error" };
    const message = isRecord(body) && typeof body["message"] === "string" ? body["message"] : "Error";
    const extra = isRecord(body) ? stripRouting(body, ["message"]) : {};
    return new HttpError(f.status, message, extra, f.headers ?? {});
  };

  const paginate = <T>(items: readonly T[], url: URL): { page: T[]; link?: string } => {
    const perPage = Math.min(100, Math.max(1, Number.parseInt(url.searchParams.get("per_page") ?? "30", 10) || 30));
    const page = Math.max(1, Number.parseInt(url.searchParams.get("page") ?? "1", 10) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const at = (p: number): string => {
      const u = new URL(url.pathname, base);
      for (const [k, v] of url.searchParams) if (k !== "page" && k !== "per_page") u.searchParams.set(k, v);
      u.searchParams.set("per_page", String(perPage));
      u.searchParams.set("page", String(p));
      return u.toString();
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${at(page - 1)}>; rel="prev"`);
    if (page < last) links.push(`<${at(page + 1)}>; rel="next"`);
    if (page < last) links.push(`<${at(last)}>; rel="last"`);
    if (page > 1) links.push(`<${at(1)}>; rel="first"`);
    return { page: items.slice((page - 1) * perPage, page * perPage), ...(links.length ? { link: links.join(", ") } : {}) };
  };

  type Reply = { status: number; body: unknown; headers?: Record<string, string> };

  const route = (method: string, url: URL, body: unknown, who: FakeIdentity): Reply => {
    if (who.readOnly && method !== "GET" && method !== "HEAD") throw forbidden();
    const seg = url.pathname.replace(/^\/api\/v3(?=\/)/, "").split("/").slice(1).map(decodeURIComponent);
    const is = (m: string, ...pattern: string[]): boolean =>
      method === m && seg.length === pattern.length && pattern.every((p, i) => p.startsWith(":") || p === seg[i]);
    const s = (i: number): string => seg[i] ?? "";
    const num = (i: number): number => {
      const n = Number(s(i));
      if (!Number.isInteger(n) || n <= 0) throw notFound();
      return n;
    };
    // The authenticated user: a person's token answers; an app installation token (GITHUB_TOKEN) cannot.
    if (is("GET", "user")) {
      if (who.login.endsWith("[bot]")) throw forbidden();
      return { status: 200, body: user(who.login) };
    }
    const input = (): Record<string, unknown> => {
      if (!isRecord(body)) throw new HttpError(400, "Problems parsing JSON", { documentation_url: DOCS, status: "400" });
      return body;
    };

    if (is("POST", "repos", ":o", ":r", "statuses", ":sha")) {
      const repo = `${s(1)}/${s(2)}`;
      const b = input();
      const st = b["state"];
      if (st !== "pending" && st !== "success" && st !== "failure" && st !== "error")
        throw validation("Status", "state", "custom", "state is not included in the list");
      const context = typeof b["context"] === "string" && b["context"] !== "" ? b["context"] : "default";
      const description = typeof b["description"] === "string" ? b["description"] : null;
      if (description !== null && description.length > 140)
        throw validation("Status", "description", "custom", "description is too long (maximum is 140 characters)");
      const id = newId();
      const at = now();
      const rec: FakeStatus = {
        repo,
        sha: s(4),
        id,
        node_id: nodeId("SC", id),
        url: `${base}/repos/${repo}/statuses/${s(4)}`,
        avatar_url: user(who.login).avatar_url,
        state: st,
        description,
        target_url: typeof b["target_url"] === "string" ? b["target_url"] : null,
        context,
        created_at: at,
        updated_at: at,
        creator: user(who.login),
      };
      state.statuses.push(rec);
      return { status: 201, body: stripRouting(rec, ["repo", "sha"]) };
    }
    if (is("GET", "repos", ":o", ":r", "commits", ":ref", "statuses")) {
      const repo = `${s(1)}/${s(2)}`;
      const all = state.statuses.filter((x) => x.repo === repo && x.sha === s(4)).reverse();
      const { page, link } = paginate(all, url);
      return { status: 200, body: page.map((x) => stripRouting(x, ["repo", "sha"])), ...(link ? { headers: { link } } : {}) };
    }
    if (is("GET", "repos", ":o", ":r", "issues", ":n", "comments")) {
      const repo = `${s(1)}/${s(2)}`;
      const n = num(4);
      const all = state.comments.filter((c) => c.repo === repo && c.issue_number === n).sort((a, b) => a.id - b.id);
      const { page, link } = paginate(all, url);
      return { status: 200, body: page.map((c) => stripRouting(c, ["repo", "issue_number"])), ...(link ? { headers: { link } } : {}) };
    }
    if (is("POST", "repos", ":o", ":r", "issues", ":n", "comments")) {
      const b = input();
      if (typeof b["body"] !== "string" || b["body"] === "") throw validation("IssueComment", "body", "missing_field", "body is missing");
      if (b["body"].length > 65536) throw validation("IssueComment", "body", "custom", "Body is too long (maximum is 65536 characters)");
      const c = fake.addComment({ owner: s(1), repo: s(2), issueNumber: num(4), body: b["body"], user: who.login });
      return { status: 201, body: stripRouting(c, ["repo", "issue_number"]) };
    }
    if (is("GET", "repos", ":o", ":r", "issues", "comments", ":id") || is("PATCH", "repos", ":o", ":r", "issues", "comments", ":id")) {
      const repo = `${s(1)}/${s(2)}`;
      const id = num(5);
      const c = state.comments.find((x) => x.repo === repo && x.id === id);
      if (!c) throw notFound();
      if (method === "PATCH") {
        if (c.user.login.toLowerCase() !== who.login.toLowerCase()) throw forbidden();
        const b = input();
        if (typeof b["body"] !== "string" || b["body"] === "") throw validation("IssueComment", "body", "missing_field", "body is missing");
        if (b["body"].length > 65536) throw validation("IssueComment", "body", "custom", "Body is too long (maximum is 65536 characters)");
        c.body = b["body"];
        c.updated_at = now();
      }
      return { status: 200, body: stripRouting(c, ["repo", "issue_number"]) };
    }
    if (is("GET", "repos", ":o", ":r", "pulls", ":n")) {
      const repo = `${s(1)}/${s(2)}`;
      const n = num(4);
      const p = state.pulls.find((x) => x.repo === repo && x.number === n);
      if (!p) throw notFound();
      return { status: 200, body: stripRouting(p, ["repo"]) };
    }
    if (is("GET", "repos", ":o", ":r", "pulls", ":n", "reviews")) {
      const repo = `${s(1)}/${s(2)}`;
      const n = num(4);
      const all = state.reviews.filter((r) => r.repo === repo && r.pull_number === n).sort((a, b) => a.id - b.id);
      const { page, link } = paginate(all, url);
      return { status: 200, body: page.map((r) => stripRouting(r, ["repo", "pull_number"])), ...(link ? { headers: { link } } : {}) };
    }
    if (is("GET", "orgs", ":org", "teams", ":slug", "memberships", ":user")) {
      if (who.orgAccess === false) throw notFound();
      const key = `${s(1)}/${s(3)}`;
      const login = s(5).toLowerCase();
      const active = (state.teams[key] ?? []).some((m) => m.toLowerCase() === login);
      const pending = (state.pendingTeamMembers[key] ?? []).some((m) => m.toLowerCase() === login);
      if (!active && !pending) throw notFound();
      return {
        status: 200,
        body: { url: `${base}/teams/${userId(key)}/memberships/${s(5)}`, role: "member", state: active ? "active" : "pending" },
      };
    }
    throw notFound();
  };

  const send = (res: ServerResponse, reply: Reply): void => {
    remaining = Math.max(0, remaining - 1);
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      "content-type": "application/json; charset=utf-8",
      "x-github-request-id": `FAKE:${newId().toString(16).toUpperCase()}`,
      "x-github-api-version-selected": "2022-11-28",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-resource": "core",
      ...(reply.headers ?? {}),
    });
    res.end(text);
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  const server = createServer((req, res) => {
    void (async () => {
      const method = (req.method ?? "GET").toUpperCase();
      const url = new URL(req.url ?? "/", base);
      const raw = await readBody(req);
      let body: unknown = undefined;
      let badJson = false;
      if (raw !== "") {
        try {
          body = JSON.parse(raw) as unknown;
        } catch {
          body = raw;
          badJson = true;
        }
      }
      const recorded: RecordedRequest = {
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        status: 0,
      };
      requests.push(recorded);
      let reply: Reply;
      try {
        const auth = req.headers.authorization ?? "";
        const m = /^(?:token|bearer)\s+(\S+)$/i.exec(auth);
        if (!m) throw new HttpError(401, "Requires authentication", { documentation_url: DOCS, status: "401" });
        if (options.tokens && !options.tokens.includes(m[1] ?? "")) throw new HttpError(401, "Bad credentials", { documentation_url: DOCS, status: "401" });
        const failure = takeFailure(method, url.pathname);
        if (failure && "kind" in failure && failure.kind === "delay") await new Promise((r) => setTimeout(r, failure.ms));
        else if (failure) throw failureError(failure);
        if (badJson) throw new HttpError(400, "Problems parsing JSON", { documentation_url: DOCS, status: "400" });
        reply = route(method, url, body, options.identities?.[m[1] ?? ""] ?? { login: actor });
      } catch (e) {
        if (e instanceof HttpError) reply = { status: e.status, body: { message: e.message, ...e.extra }, headers: e.headers };
        else reply = { status: 500, body: { message: `fake-github: ${e instanceof Error ? e.message : String(e)}` } };
      }
      recorded.status = reply.status;
      send(res, reply);
    })();
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  fake.url = base;
  return fake;
}
