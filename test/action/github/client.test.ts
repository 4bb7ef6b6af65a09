import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import {
  COMMENT_BODY_LIMIT,
  GitHubApiError,
  PERMISSIONS_HINT,
  commentBody,
  createGitHubClient,
} from "../../../src/action/github/client.ts";
import type { GitHubClientOptions } from "../../../src/action/github/client.ts";
import type { GitHubApi } from "../../../src/action/github/types.ts";
import { InfraError, UsageError } from "../../../src/errors.ts";
import { startFakeGitHub } from "../../support/fake-github.ts";
import type { FakeGitHub, FakeGitHubOptions } from "../../support/fake-github.ts";

const TOKEN = "ghs_S3cr3tT0k3nValue0123456789abcdef";
const MARKER = "<!-- condaops:pr-report -->";
const repo = { owner: "acme", repo: "envs" };
const SHA = "0123456789abcdef0123456789abcdef01234567";

const servers: FakeGitHub[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()?.close();
});

async function setup(
  fakeOptions: FakeGitHubOptions = {},
  clientOptions: Partial<GitHubClientOptions> = {},
): Promise<{ gh: FakeGitHub; api: GitHubApi; lines: string[] }> {
  const gh = await startFakeGitHub(fakeOptions);
  servers.push(gh);
  const lines: string[] = [];
  const api = createGitHubClient({
    token: TOKEN,
    baseUrl: gh.url,
    log: (l) => lines.push(l),
    retry: { baseDelayMs: 10 },
    minWriteIntervalMs: 0,
    ...clientOptions,
  });
  return { gh, api, lines };
}

async function rejection(p: Promise<unknown>): Promise<GitHubApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GitHubApiError, `expected a GitHubApiError, got ${inspect(e)}`);
    return e;
  }
  assert.fail("expected a rejection");
}

/** Everything an error could show a user or a log. */
function exposed(e: Error): string {
  return [e.message, e.stack, (e as { hint?: string }).hint, JSON.stringify(e), inspect(e, { depth: 10, showHidden: true }), String(e.cause)].join("\n");
}

test("setCommitStatus posts the status with a truncated description and the token", async () => {
  const { gh, api } = await setup();
  const status = await api.setCommitStatus({
    ...repo,
    sha: SHA,
    state: "failure",
    context: "condaops/policy",
    description: `2 errors: ${"blocked package ".repeat(20)}`,
    targetUrl: "https://example.org/run/1",
  });
  assert.equal(status.state, "failure");
  assert.equal(status.context, "condaops/policy");
  assert.ok(status.description.length <= 140);
  const [req] = gh.requestsTo("POST", `/repos/acme/envs/statuses/${SHA}`);
  assert.ok(req);
  assert.equal(req.headers.authorization, `token ${TOKEN}`);
  assert.match(String(req.headers["user-agent"]), /condaops-action/);
  const body = req.body as Record<string, string>;
  assert.equal(body["state"], "failure");
  assert.equal(body["context"], "condaops/policy");
  assert.equal(body["target_url"], "https://example.org/run/1");
  assert.equal(body["description"]?.length, 140);
  assert.ok(body["description"]?.endsWith("…"));
  assert.equal(gh.state.statuses.length, 1);
  assert.equal(gh.state.statuses[0]?.creator.login, "github-actions[bot]");
});

test("upsertComment creates the comment, then edits it in place", async () => {
  const { gh, api } = await setup();
  gh.addComment({ ...repo, issueNumber: 7, body: "LGTM", user: "alice" });
  const first = await api.upsertComment({ ...repo, issueNumber: 7, marker: MARKER, body: "## condaops\n1 package added" });
  assert.equal(first.created, true);
  assert.match(first.url, /#issuecomment-\d+$/);
  const second = await api.upsertComment({ ...repo, issueNumber: 7, marker: MARKER, body: `${MARKER}\n## condaops\n2 packages added` });
  assert.deepEqual(second, { ...first, created: false });
  const ours = gh.state.comments.filter((c) => c.body.includes(MARKER));
  assert.equal(ours.length, 1);
  assert.equal(ours[0]?.body, `${MARKER}\n## condaops\n2 packages added`);
  assert.equal(gh.requestsTo("POST", "/repos/acme/envs/issues/7/comments").length, 1);
  const patches = gh.requestsTo("PATCH", `/repos/acme/envs/issues/comments/${first.id}`);
  assert.equal(patches.length, 1);
  assert.deepEqual(patches[0]?.body, { body: `${MARKER}\n## condaops\n2 packages added` });
  const found = await api.findComment({ ...repo, issueNumber: 7, marker: MARKER });
  assert.equal(found?.id, first.id);
  assert.equal(found?.user, "github-actions[bot]");
});

test("a reply that quotes the marker is not taken for the report", async () => {
  const { gh, api } = await setup();
  gh.addComment({ ...repo, issueNumber: 3, body: `> ${MARKER}\n> 1 package added\n\nWhy numpy?`, user: "bob" });
  assert.equal(await api.findComment({ ...repo, issueNumber: 3, marker: MARKER }), undefined);
  const r = await api.upsertComment({ ...repo, issueNumber: 3, marker: MARKER, body: "report" });
  assert.equal(r.created, true);
  assert.equal(gh.state.comments.find((c) => c.user.login === "bob")?.body.startsWith("> "), true);
});

test("only a bot's comment (or commentAuthor's) that starts with the marker is adopted; the fake refuses editing others' comments", async () => {
  const { gh, api } = await setup();
  const human = gh.addComment({ ...repo, issueNumber: 21, body: `${MARKER}\n## condaops: ✅ all good`, user: "mallory" });
  const mention = gh.addComment({ ...repo, issueNumber: 21, body: `our report is the one with ${MARKER} in it` });
  assert.equal(await api.findComment({ ...repo, issueNumber: 21, marker: MARKER }), undefined);
  const r = await api.upsertComment({ ...repo, issueNumber: 21, marker: MARKER, body: "the report" });
  assert.equal(r.created, true);
  assert.equal(gh.state.comments.find((c) => c.id === human.id)?.body, `${MARKER}\n## condaops: ✅ all good`);
  assert.equal(gh.state.comments.find((c) => c.id === mention.id)?.body, `our report is the one with ${MARKER} in it`);
  assert.equal(gh.state.comments.find((c) => c.id === r.id)?.user.login, "github-actions[bot]", "created as the token's identity");
  assert.equal((await api.findComment({ ...repo, issueNumber: 21, marker: MARKER }))?.id, r.id);

  // GitHub refuses to let one identity edit another's comment.
  const res = await fetch(`${gh.url}/repos/acme/envs/issues/comments/${human.id}`, { method: "PATCH", headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ body: "hijacked" }) });
  assert.equal(res.status, 403);
  assert.equal(gh.state.comments.find((c) => c.id === human.id)?.body, `${MARKER}\n## condaops: ✅ all good`);

  // A personal access token: its user's comments are ours when named as commentAuthor.
  const pat = await setup({ identities: { [TOKEN]: { login: "ci-user" } } }, { commentAuthor: "CI-User" });
  const mine = pat.gh.addComment({ ...repo, issueNumber: 3, body: `${MARKER}\nold`, user: "ci-user" });
  pat.gh.addComment({ ...repo, issueNumber: 3, body: `${MARKER}\nfake`, user: "mallory" });
  const updated = await pat.api.upsertComment({ ...repo, issueNumber: 3, marker: MARKER, body: "new" });
  assert.deepEqual([updated.id, updated.created], [mine.id, false]);
  assert.equal(pat.gh.state.comments.find((c) => c.id === mine.id)?.body, `${MARKER}\nnew`);

  // Without commentAuthor, a personal token's user is found through GET /user: a second run edits, not adds.
  const auto = await setup({ identities: { [TOKEN]: { login: "ci-user" } } });
  const first = await auto.api.upsertComment({ ...repo, issueNumber: 4, marker: MARKER, body: "one" });
  const second = await auto.api.upsertComment({ ...repo, issueNumber: 4, marker: MARKER, body: "two" });
  assert.deepEqual([first.created, second.created, second.id], [true, false, first.id]);
  assert.equal(auto.gh.state.comments.filter((c) => c.issue_number === 4).length, 1);
  assert.equal(auto.gh.requestsTo("GET", "/user").length, 1, "asked once");
});

test("comments are paginated 100 at a time until the marker is found", async () => {
  const { gh, api } = await setup();
  for (let i = 0; i < 249; i++) gh.addComment({ ...repo, issueNumber: 12, body: `comment ${i}`, user: i % 2 ? "alice" : "bob" });
  const mine = gh.addComment({ ...repo, issueNumber: 12, body: `${MARKER}\nold report` });
  gh.addComment({ ...repo, issueNumber: 99, body: `${MARKER}\nother PR` });
  const found = await api.findComment({ ...repo, issueNumber: 12, marker: MARKER });
  assert.equal(found?.id, mine.id);
  assert.equal(found?.body, `${MARKER}\nold report`);
  const gets = gh.requestsTo("GET", "/repos/acme/envs/issues/12/comments");
  assert.deepEqual(
    gets.map((r) => [r.query["per_page"], r.query["page"] ?? "1"]),
    [["100", "1"], ["100", "2"], ["100", "3"]],
  );
  const r = await api.upsertComment({ ...repo, issueNumber: 12, marker: MARKER, body: "new report" });
  assert.deepEqual([r.id, r.created], [mine.id, false]);
  assert.equal(gh.state.comments.filter((c) => c.issue_number === 12).length, 250);
  assert.equal(gh.state.comments.find((c) => c.id === mine.id)?.body, `${MARKER}\nnew report`);
});

test("findComment stops paginating at the first page that has the marker", async () => {
  const { gh, api } = await setup();
  gh.addComment({ ...repo, issueNumber: 5, body: `${MARKER}\nfirst` });
  for (let i = 0; i < 150; i++) gh.addComment({ ...repo, issueNumber: 5, body: `c${i}` });
  assert.equal((await api.findComment({ ...repo, issueNumber: 5, marker: MARKER }))?.body, `${MARKER}\nfirst`);
  assert.equal(gh.requestsTo("GET", "/repos/acme/envs/issues/5/comments").length, 1);
});

test("an over-long report is truncated under GitHub's limit, keeping the marker", async () => {
  const { gh, api } = await setup();
  const huge = `## diff\n\`\`\`diff\n${"+ some-package 1.0.0 conda-forge\n".repeat(3000)}\`\`\`\n`;
  assert.ok(huge.length > COMMENT_BODY_LIMIT);
  const r = await api.upsertComment({ ...repo, issueNumber: 8, marker: MARKER, body: huge });
  assert.equal(r.created, true);
  const posted = gh.state.comments[0]?.body ?? "";
  assert.ok(posted.length <= COMMENT_BODY_LIMIT, `${posted.length}`);
  assert.ok(posted.startsWith(MARKER));
  assert.match(posted, /truncated/);
  assert.equal((posted.match(/^```/gm) ?? []).length % 2, 0, "the code fence is closed");
  // A marker placed at the very end of a huge body is kept too.
  const tail = commentBody(`${"x".repeat(70000)}\n${MARKER}`, MARKER);
  assert.ok(tail.length <= COMMENT_BODY_LIMIT && tail.includes(MARKER));
});

test("listReviews returns every review, paginated, in API order", async () => {
  const { gh, api } = await setup();
  for (let i = 0; i < 130; i++) gh.addReview({ ...repo, pullNumber: 4, user: `user${i}`, state: i % 3 ? "COMMENTED" : "APPROVED", commitId: i < 100 ? "aaa" : "bbb" });
  const pending = gh.addReview({ ...repo, pullNumber: 4, user: "carol", state: "PENDING", commitId: "bbb" });
  const reviews = await api.listReviews({ ...repo, pullNumber: 4 });
  assert.equal(reviews.length, 131);
  assert.deepEqual(reviews.slice(0, 2).map((r) => [r.user, r.state, r.commitId]), [["user0", "APPROVED", "aaa"], ["user1", "COMMENTED", "aaa"]]);
  assert.equal(reviews[129]?.user, "user129");
  assert.equal(typeof reviews[0]?.submittedAt, "string");
  assert.deepEqual(reviews[130], { id: pending.id, user: "carol", state: "PENDING", commitId: "bbb" });
  assert.deepEqual(
    gh.requestsTo("GET", "/repos/acme/envs/pulls/4/reviews").map((r) => r.query["page"] ?? "1"),
    ["1", "2"],
  );
});

test("getPull maps head, base and author", async () => {
  const { gh, api } = await setup();
  gh.addPull({ ...repo, number: 42, headSha: "h".repeat(40), baseSha: "b".repeat(40), headRef: "add-sklearn", baseRef: "main", author: "ada" });
  assert.deepEqual(await api.getPull({ ...repo, pullNumber: 42 }), {
    number: 42,
    headSha: "h".repeat(40),
    baseSha: "b".repeat(40),
    baseRef: "main",
    headRef: "add-sklearn",
    author: "ada",
  });
  const e = await rejection(api.getPull({ ...repo, pullNumber: 43 }));
  assert.equal(e.status, 404);
  assert.equal(e.message, "GitHub API GET /repos/acme/envs/pulls/43 failed: 404 Not Found");
  assert.equal(gh.requestsTo("GET", "/repos/acme/envs/pulls/43").length, 1, "a 404 is not retried");
});

test("isTeamMember: active member true; non-member, pending member, unknown team false; 403 throws", async () => {
  const { gh, api } = await setup();
  gh.setTeam("acme", "data-science", ["Alice", "bob"], ["carol"]);
  assert.equal(await api.isTeamMember({ org: "acme", teamSlug: "data-science", user: "alice" }), true);
  assert.equal(await api.isTeamMember({ org: "acme", teamSlug: "data-science", user: "bob" }), true);
  assert.equal(await api.isTeamMember({ org: "acme", teamSlug: "data-science", user: "mallory" }), false);
  assert.equal(await api.isTeamMember({ org: "acme", teamSlug: "data-science", user: "carol" }), false);
  assert.equal(await api.isTeamMember({ org: "acme", teamSlug: "nope", user: "alice" }), false);
  assert.equal(gh.requestsTo("GET", "/orgs/acme/teams/data-science/memberships/alice").length, 1);
  gh.failNext(1, { status: 403, body: { message: "Resource not accessible by integration", documentation_url: "https://docs.github.com/rest" } });
  const e = await rejection(api.isTeamMember({ org: "acme", teamSlug: "data-science", user: "alice" }));
  assert.equal(e.status, 403);
  assert.equal(e.message, "GitHub API GET /orgs/acme/teams/data-science/memberships/alice failed: 403 Resource not accessible by integration");
  assert.equal(e.hint, PERMISSIONS_HINT);
});

test("502 twice, then success: retried with backoff and one log line per retry", async () => {
  const { gh, api, lines } = await setup();
  gh.failNext(2, { status: 502 });
  await api.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "condaops/policy", description: "checking" });
  const path = `/repos/acme/envs/statuses/${SHA}`;
  assert.deepEqual(gh.requestsTo("POST", path).map((r) => r.status), [502, 502, 201]);
  assert.deepEqual(lines, [
    `GitHub API 502 on POST ${path}, retrying in 10 ms (1/3)`,
    `GitHub API 502 on POST ${path}, retrying in 40 ms (2/3)`,
  ]);
  assert.equal(gh.state.statuses.length, 1);
});

test("a secondary rate limit (403 or 429 with retry-after) is waited out and retried", async () => {
  const { gh, api, lines } = await setup();
  gh.failNext(1, { kind: "secondary-rate-limit", retryAfter: 2 });
  const r = await api.upsertComment({ ...repo, issueNumber: 1, marker: MARKER, body: "x" });
  assert.equal(r.created, true);
  assert.deepEqual(gh.requestsTo("GET", "/repos/acme/envs/issues/1/comments").map((x) => x.status), [403, 200]);
  assert.deepEqual(lines, ["GitHub API 403 (secondary rate limit) on GET /repos/acme/envs/issues/1/comments, retrying in 20 ms (1/3)"]);

  gh.failNext(1, { kind: "secondary-rate-limit", status: 429 }, { method: "PATCH" });
  assert.equal((await api.upsertComment({ ...repo, issueNumber: 1, marker: MARKER, body: "y" })).created, false);
  assert.deepEqual(gh.requestsTo("PATCH", `/repos/acme/envs/issues/comments/${r.id}`).map((x) => x.status), [429, 200]);
  assert.equal(lines[1], `GitHub API 429 (secondary rate limit) on PATCH /repos/acme/envs/issues/comments/${r.id}, retrying in 10 ms (1/3)`);

  // A 403 that carries only `retry-after` (no message) counts as a secondary limit too.
  gh.failNext(1, { status: 403, body: { message: "Forbidden" }, headers: { "retry-after": "1" } });
  await api.getPull({ ...repo, pullNumber: 1 }).catch(() => undefined);
  assert.deepEqual(gh.requestsTo("GET", "/repos/acme/envs/pulls/1").map((x) => x.status), [403, 404]);
});

test("a primary rate limit that resets soon is waited out", async () => {
  const { gh, api, lines } = await setup();
  gh.failNext(1, { kind: "rate-limit", resetInSeconds: 1 });
  await api.listReviews({ ...repo, pullNumber: 2 });
  assert.deepEqual(gh.requestsTo("GET", "/repos/acme/envs/pulls/2/reviews").map((x) => x.status), [403, 200]);
  assert.match(lines[0] ?? "", /^GitHub API 403 \(rate limit used up\) on GET \/repos\/acme\/envs\/pulls\/2\/reviews, retrying in \d+ ms \(1\/3\)$/);
});

test("a primary rate limit far from its reset fails at once with the reset time", async () => {
  const { gh, api } = await setup();
  gh.failNext(1, { kind: "rate-limit", resetInSeconds: 3600 });
  const e = await rejection(api.listReviews({ ...repo, pullNumber: 2 }));
  assert.equal(e.status, 403);
  assert.match(e.hint ?? "", /rate limit is used up \(it resets at \d{4}-/);
  assert.equal(gh.requests.length, 1);
});

test("consecutive 502s past the retry cap: InfraError github.api", async () => {
  const { gh, api, lines } = await setup();
  gh.failNext(10, { status: 502 });
  const e = await rejection(api.setCommitStatus({ ...repo, sha: SHA, state: "success", context: "condaops/policy", description: "ok" }));
  assert.ok(e instanceof InfraError);
  assert.equal(e.code, "github.api");
  assert.equal(e.exitCode, 3);
  assert.equal(e.status, 502);
  assert.equal(e.message, `GitHub API POST /repos/acme/envs/statuses/${SHA} failed: 502 Server Error (gave up after 3 retries)`);
  assert.match(e.hint ?? "", /githubstatus/);
  assert.equal(gh.requests.length, 4, "the first attempt and 3 retries");
  assert.equal(lines.length, 3);
  assert.match(lines[2] ?? "", /retrying in 90 ms \(3\/3\)$/);
});

test("the retry cap is configurable", async () => {
  const { gh, api } = await setup({}, { retry: { retries: 1, baseDelayMs: 1 } });
  gh.failNext(5, { status: 503 });
  const e = await rejection(api.getPull({ ...repo, pullNumber: 1 }));
  assert.equal(e.status, 503);
  assert.equal(gh.requests.length, 2);
  assert.match(e.message, /gave up after 1 retries/);
});

test("secondary rate limits past the retry cap fail with a hint", async () => {
  const { gh, api } = await setup();
  gh.failNext(10, { kind: "secondary-rate-limit" });
  const e = await rejection(api.getPull({ ...repo, pullNumber: 1 }));
  assert.equal(e.status, 403);
  assert.match(e.message, /^GitHub API GET \/repos\/acme\/envs\/pulls\/1 failed: 403 You have exceeded a secondary rate limit/);
  assert.match(e.hint ?? "", /secondary rate limit/);
  assert.equal(gh.requests.length, 4);
});

test("401: not retried, InfraError with the permissions hint", async () => {
  const { gh, api } = await setup({ tokens: ["ghs_the-right-one"] });
  const e = await rejection(api.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "c", description: "d" }));
  assert.ok(e instanceof InfraError);
  assert.equal(e.code, "github.api");
  assert.equal(e.status, 401);
  assert.equal(e.message, `GitHub API POST /repos/acme/envs/statuses/${SHA} failed: 401 Bad credentials`);
  assert.ok(e.hint?.includes(PERMISSIONS_HINT));
  assert.equal(gh.requests.length, 1);
});

test("422 validation errors are spelled out", async () => {
  const { gh, api } = await setup();
  gh.failNext(1, {
    status: 422,
    body: { message: "Validation Failed", errors: [{ resource: "Status", field: "state", code: "custom", message: "state is not included in the list" }] },
  });
  const e = await rejection(api.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "c", description: "d" }));
  assert.equal(e.message, `GitHub API POST /repos/acme/envs/statuses/${SHA} failed: 422 Validation Failed: state is not included in the list`);
});

test("a hanging attempt times out and is retried", async () => {
  const { gh, api, lines } = await setup({}, { timeoutMs: 100 });
  gh.failNext(1, { kind: "delay", ms: 1000 });
  gh.addPull({ ...repo, number: 9, headSha: "h", baseSha: "b" });
  assert.equal((await api.getPull({ ...repo, pullNumber: 9 })).number, 9);
  assert.equal(gh.requests.length, 2);
  assert.deepEqual(lines, ["GitHub API network error (no response within 100 ms) on GET /repos/acme/envs/pulls/9, retrying in 10 ms (1/3)"]);
});

test("network errors are retried, then fail with the API URL in the hint", async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const lines: string[] = [];
  const api = createGitHubClient({ token: TOKEN, baseUrl: `http://127.0.0.1:${port}`, log: (l) => lines.push(l), retry: { baseDelayMs: 1 } });
  const e = await rejection(api.getPull({ ...repo, pullNumber: 1 }));
  assert.equal(e.status, undefined);
  assert.match(e.message, /^GitHub API GET \/repos\/acme\/envs\/pulls\/1 failed: network error: .*ECONNREFUSED.* \(gave up after 3 retries\)$/);
  assert.ok(e.hint?.includes(`http://127.0.0.1:${port}`));
  assert.equal(lines.length, 3);
});

test("the token never appears in errors or log lines", async () => {
  const { gh, api, lines } = await setup();
  const errors: Error[] = [];
  const collect = async (p: Promise<unknown>): Promise<void> => {
    errors.push(await rejection(p));
  };
  // A server that echoes the token back in its error body.
  gh.failNext(10, { status: 500, body: { message: `internal error for token ${TOKEN}` } });
  await collect(api.getPull({ ...repo, pullNumber: 1 }));
  gh.failNext(1, { status: 403, body: { message: `Resource not accessible by integration (Authorization: token ${TOKEN})` } });
  await collect(api.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "c", description: "d" }));
  gh.failNext(10, { kind: "secondary-rate-limit" });
  await collect(api.upsertComment({ ...repo, issueNumber: 1, marker: MARKER, body: "b" }));
  gh.failNext(1, { status: 502 });
  gh.failNext(1, { status: 404, body: { message: "Not Found" } });
  await collect(api.listReviews({ ...repo, pullNumber: 1 }));

  const wrong = await startFakeGitHub({ tokens: ["other"] });
  servers.push(wrong);
  const api401 = createGitHubClient({ token: TOKEN, baseUrl: wrong.url, log: (l) => lines.push(l), retry: { baseDelayMs: 1 }, minWriteIntervalMs: 0 });
  await collect(api401.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "c", description: "d" }));
  await collect(api401.isTeamMember({ org: "acme", teamSlug: "t", user: "u" }));

  assert.equal(errors.length, 6);
  // The token did reach the server, so the test would notice a leak.
  assert.ok(gh.requests.every((r) => r.headers.authorization === `token ${TOKEN}`));
  for (const e of errors) {
    assert.equal(e.cause, undefined, "octokit's error (with the request headers) is not attached");
    const text = exposed(e);
    assert.ok(!text.includes(TOKEN), `token leaked in: ${text}`);
    assert.ok(!text.includes(TOKEN.slice(4)), "not even partially");
  }
  assert.ok(lines.length > 0);
  for (const l of lines) assert.ok(!l.includes(TOKEN), l);
  assert.match(errors[0]?.message ?? "", /internal error for token \*\*\*/);
});

test("GitHub Enterprise: the base URL's path is kept and GITHUB_API_URL is the default", async () => {
  const gh = await startFakeGitHub();
  servers.push(gh);
  for (let i = 0; i < 120; i++) gh.addComment({ ...repo, issueNumber: 2, body: `c${i}` });
  const saved = process.env["GITHUB_API_URL"];
  process.env["GITHUB_API_URL"] = `${gh.url}/api/v3`;
  try {
    const api = createGitHubClient({ token: TOKEN, retry: { baseDelayMs: 1 }, minWriteIntervalMs: 0, log: () => {} });
    assert.equal(await api.findComment({ ...repo, issueNumber: 2, marker: MARKER }), undefined);
    assert.deepEqual(gh.requests.map((r) => r.path), ["/api/v3/repos/acme/envs/issues/2/comments", "/api/v3/repos/acme/envs/issues/2/comments"]);
    gh.failNext(10, { status: 500 });
    const e = await rejection(api.getPull({ ...repo, pullNumber: 1 }));
    assert.match(e.message, /^GitHub API GET \/repos\/acme\/envs\/pulls\/1 failed: 500/);
  } finally {
    if (saved === undefined) delete process.env["GITHUB_API_URL"];
    else process.env["GITHUB_API_URL"] = saved;
  }
});

test("writes are spaced by minWriteIntervalMs", async () => {
  const { gh, api } = await setup({}, { minWriteIntervalMs: 150 });
  const t0 = Date.now();
  await api.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "a", description: "" });
  await api.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "b", description: "" });
  await api.setCommitStatus({ ...repo, sha: SHA, state: "pending", context: "c", description: "" });
  assert.ok(Date.now() - t0 >= 280, `${Date.now() - t0} ms`);
  assert.equal(gh.state.statuses.length, 3);
});

test("a missing token or a bad API URL is a usage error", () => {
  assert.throws(() => createGitHubClient({ token: "" }), (e: unknown) => e instanceof UsageError && e.code === "github.token");
  assert.throws(() => createGitHubClient({ token: TOKEN, baseUrl: "not a url" }), (e: unknown) => e instanceof UsageError && e.code === "github.base-url");
});

test("the fake answers like GitHub without a token and on unknown routes", async () => {
  const gh = await startFakeGitHub();
  servers.push(gh);
  const anon = await fetch(`${gh.url}/repos/acme/envs/pulls/1`);
  assert.equal(anon.status, 401);
  assert.equal(((await anon.json()) as { message: string }).message, "Requires authentication");
  const unknown = await fetch(`${gh.url}/repos/acme/envs/deployments`, { headers: { authorization: "Bearer x" } });
  assert.equal(unknown.status, 404);
  assert.deepEqual(Object.keys((await unknown.json()) as object).sort(), ["documentation_url", "message", "status"]);
  const page = await fetch(`${gh.url}/repos/acme/envs/issues/1/comments?per_page=2`, { headers: { authorization: "token x" } });
  assert.deepEqual(await page.json(), []);
  assert.equal(page.headers.get("link"), null);
});
