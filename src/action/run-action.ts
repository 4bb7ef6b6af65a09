/**
 * The Action's entry logic: inputs and event in, a mode run, outputs and an exit code out.
 * `mode: check` runs on pull_request / pull_request_review, `mode: build` on pushes to the
 * default branch; other events are a no-op with a notice, so one workflow can list them all.
 * In check mode the configuration is the base commit's (check-config.ts), and both commit
 * statuses are set `pending` first and `error` if the check cannot finish.
 */
import { relative, resolve } from "node:path";
import { createRepodataGateway } from "../builder/channels/repodata-gateway.ts";
import { loadConfig } from "../config/index.ts";
import { parseBoolean } from "../config/env-overrides.ts";
import { UsageError } from "../errors.ts";
import { openRepository } from "../git/repository.ts";
import type { GitRepository } from "../git/repository.ts";
import { buildOnPush } from "./build-on-push.ts";
import { loadCheckConfig } from "./check-config.ts";
import { checkPullRequest, requireCommit } from "./check-pull-request.ts";
import { readEvent } from "./event.ts";
import { createGitHubClient } from "./github/client.ts";
import type { GitHubClientOptions } from "./github/client.ts";
import { pullRequestWriter } from "./pull-request-writer.ts";
import type { Runner } from "./runner.ts";

function booleanInput(runner: Runner, name: string, fallback: boolean): boolean {
  const v = runner.input(name).trim();
  if (v === "") return fallback;
  const b = parseBoolean(v);
  if (b !== undefined) return b;
  throw new UsageError("action.input", `input ${name} must be true or false, got "${v}"`);
}

/** The base branch's tip as fetched (`origin/<ref>`), when it is at or after the payload's base; else the payload's. */
async function currentBaseTip(repo: GitRepository, baseRef: string, payloadBase: string): Promise<string> {
  try {
    const tip = await repo.resolve(`refs/remotes/origin/${baseRef}`);
    return (await repo.isAncestor(payloadBase, tip)) ? tip : payloadBase;
  } catch {
    return payloadBase; // no such remote-tracking branch (a local checkout): the payload's
  }
}

export interface RunActionOptions {
  /** GitHub client tuning (tests: no write spacing, short retry delays). */
  github?: Pick<GitHubClientOptions, "minWriteIntervalMs" | "retry" | "commentAuthor">;
}

function checkChannelAlias(channelAlias: string | undefined): void {
  if (channelAlias !== undefined && !/^(https?|file):\/\//.test(channelAlias)) throw new UsageError("action.input", `input channel-alias "${channelAlias}" is not an http(s):// or file:// URL`);
}

export async function runAction(env: NodeJS.ProcessEnv, runner: Runner, options: RunActionOptions = {}): Promise<number> {
  const mode = runner.input("mode").trim() || "check";
  if (mode !== "check" && mode !== "build") throw new UsageError("action.input", `input mode must be check or build, got "${mode}"`);
  const token = runner.input("token").trim();
  if (token) runner.secret(token);
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const configFile = runner.input("config").trim();
  const repoDir = resolve(workspace, runner.input("path").trim() || ".");
  const event = await readEvent(env);

  if (mode === "check") {
    if (event.kind !== "pull_request" && event.kind !== "pull_request_review") {
      runner.info(`mode: check runs on pull_request and pull_request_review events; nothing to do on ${event.kind === "other" ? event.name : event.kind}`);
      runner.output("result", "skipped");
      runner.output("changed-environments", "[]");
      return 0;
    }
    if (!token) throw new UsageError("action.input", "input token is empty", { hint: "the default is ${{ github.token }}; the job needs permissions statuses: write and pull-requests: write" });
    const api = createGitHubClient({ token, baseUrl: env.GITHUB_API_URL ?? "https://api.github.com", log: (l: string) => runner.info(l), ...options.github });
    const writer = pullRequestWriter(api, event.pull, runner);
    const solve = booleanInput(runner, "solve", true);
    const comment = booleanInput(runner, "comment", true);
    await writer.started();
    try {
      const repo = await openRepository(repoDir);
      await requireCommit(repo, event.pull.baseSha, "base", event.pull.number);
      // The payload's base.sha is the base branch as of the PR's last push; a review event later
      // must be judged by the branch as it is now (a policy tightened since counts).
      const pull = { ...event.pull, baseSha: await currentBaseTip(repo, event.pull.baseRef, event.pull.baseSha) };
      if (pull.baseSha !== event.pull.baseSha) runner.info(`the base branch ${pull.baseRef} moved since the event: judging by ${pull.baseSha.slice(0, 12)}`);
      // The PR controls the working tree: the configuration comes from the base commit.
      const baseSha = pull.baseSha;
      const config = await loadCheckConfig({ repo, baseSha, workspace, ...(configFile ? { file: configFile } : {}), env, log: (l) => runner.info(l) });
      const channelAlias = runner.input("channel-alias").trim() || config.channelAlias;
      checkChannelAlias(channelAlias);
      const result = await checkPullRequest({
        repo,
        pull,
        api,
        writer,
        runner,
        comment,
        ...(channelAlias ? { channelAlias } : {}),
        ...(solve
          ? {
              solve: {
                gateway: createRepodataGateway({ cacheDir: config.cacheDir, credentials: config.channelCredentials, log: (l) => runner.info(l) }),
                virtualPackages: config.virtualPackages,
                ...(channelAlias ? { channelAlias } : {}),
                log: (l) => runner.info(l),
              },
            }
          : {}),
      });
      runner.output("changed-environments", JSON.stringify(result.changedEnvironments));
      runner.output("result", result.result);
      runner.info(`result: ${result.result} (approval: ${result.approval.description})`);
      return result.result === "failure" ? 1 : 0;
    } catch (e) {
      await writer.failed(e);
      throw e;
    }
  }

  // A push to the default branch: the merged tree is trusted, its configuration read as checked out.
  const config = await loadConfig({ ...(configFile ? { file: configFile } : {}), cwd: workspace, env, warn: (m) => runner.info(m) });
  const channelAlias = runner.input("channel-alias").trim() || config.channelAlias;
  checkChannelAlias(channelAlias);
  if (event.kind !== "push") {
    runner.info(`mode: build runs on push events; nothing to do on ${event.kind === "other" ? event.name : event.kind}`);
    runner.output("result", "skipped");
    runner.output("changed-environments", "[]");
    return 0;
  }
  if (event.ref !== `refs/heads/${event.defaultBranch}`) {
    runner.info(`${event.ref} is not the default branch (${event.defaultBranch}): builds are made from merged commits only`);
    runner.output("result", "skipped");
    runner.output("changed-environments", "[]");
    return 0;
  }
  const { reports, failed } = await buildOnPush({
    repoDir,
    sha: event.after,
    config: { ...config, ...(channelAlias ? { channelAlias } : {}) },
    runner,
    env,
    identity: `${(env.GITHUB_SERVER_URL ?? "https://github.com").replace(/\/+$/, "")}/${event.owner}/${event.repo}${repoDir === resolve(workspace) ? "" : `/${relative(workspace, repoDir).split("\\").join("/")}`}`,
  });
  const built = reports.flatMap((r) => [...r.retried, ...r.results]);
  runner.output("changed-environments", JSON.stringify([...new Set(built.map((r) => `${r.namespace}/${r.name}`))]));
  runner.output("result", failed > 0 ? "failure" : "success");
  return failed > 0 ? 1 : 0;
}
