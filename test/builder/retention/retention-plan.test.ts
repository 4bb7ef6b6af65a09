import { test } from "node:test";
import assert from "node:assert/strict";
import { planRetention } from "../../../src/builder/retention/retention-plan.ts";
import type { RetentionEnvironment } from "../../../src/builder/retention/retention-plan.ts";
import type { BuildState, BuildWithCommit } from "../../../src/store/types.ts";

let nextId = 1;
function build(commit: string, state: BuildState = "succeeded", extra: Partial<BuildWithCommit> = {}): BuildWithCommit {
  return {
    id: nextId++, environmentId: 1, namespace: "ns", name: "app", commit: commit.padEnd(40, "0"), attempt: 1, reason: "changed", state, specHash: "s",
    environmentHash: null, platform: null, prefix: null, worker: null, error: null, timings: {}, queuedAt: "", startedAt: null, finishedAt: null, heartbeatAt: null,
    prunedAt: null, committedAt: null, ...extra,
  };
}
const env = (builds: BuildWithCommit[], over: Partial<RetentionEnvironment> = {}): RetentionEnvironment => ({
  namespace: "ns", name: "app", removed: false, currentBuildId: builds[0]?.id ?? null, builds,
  settings: { keepLast: 2, keepOnDelete: ["lock"], pinned: [] }, ...over,
});
const verdicts = (e: RetentionEnvironment) => planRetention(e).map((d) => `${d.build.commit.slice(0, 2)}:${d.keep ? "keep" : "drop"}:${d.reason}`);

test("keep_last counts succeeded builds newest first; the current build is one of them", () => {
  const bs = [build("e1"), build("d1"), build("c1"), build("b1"), build("a1")];
  assert.deepEqual(verdicts(env(bs)), ["e1:keep:current", "d1:keep:recent", "c1:drop:old", "b1:drop:old", "a1:drop:old"]);
});

test("failed attempts between kept builds stay; those past the window go; active builds are never touched", () => {
  const bs = [build("e1", "building"), build("d1"), build("c1", "failed"), build("b1"), build("a1", "failed"), build("a2", "queued")];
  assert.deepEqual(verdicts(env(bs, { currentBuildId: bs[1]?.id as number })), ["e1:keep:active", "d1:keep:current", "c1:keep:recent", "b1:keep:recent", "a1:drop:old", "a2:keep:active"]);
});

test("the current build is kept even when it is not among the newest (an older commit was made current)", () => {
  const bs = [build("e1"), build("d1"), build("c1"), build("b1")];
  assert.deepEqual(verdicts(env(bs, { currentBuildId: bs[3]?.id as number, settings: { keepLast: 1, keepOnDelete: [], pinned: [] } })), ["e1:keep:recent", "d1:drop:old", "c1:drop:old", "b1:keep:current"]);
});

test("pinned commits (abbreviated, any case) are kept; no keep_last keeps everything; pruned builds are left alone", () => {
  const bs = [build("e1"), build("d1"), build("c1"), build("b1", "succeeded", { prunedAt: "2024-01-01T00:00:00Z" })];
  assert.deepEqual(verdicts(env(bs, { settings: { keepLast: 1, keepOnDelete: [], pinned: ["c1000"] } })), ["e1:keep:current", "d1:drop:old", "c1:keep:pinned", "b1:keep:already-pruned"]);
  assert.deepEqual(verdicts(env(bs, { settings: { keepOnDelete: [], pinned: [] } })), ["e1:keep:current", "d1:keep:no-limit", "c1:keep:no-limit", "b1:keep:already-pruned"]);
});

test("a deleted environment keeps only its pinned builds, current or not, when the policy asks for retention", () => {
  const bs = [build("e1"), build("d1")];
  assert.deepEqual(verdicts(env(bs, { removed: true, settings: { keepLast: 5, keepOnDelete: [], pinned: ["d1"] } })), ["e1:drop:environment-removed", "d1:keep:pinned"]);
  assert.deepEqual(verdicts(env(bs, { removed: true, settings: { keepOnDelete: [], pinned: [] } })), ["e1:keep:current", "d1:keep:no-limit"], "no keep_last: every build stays");
});
