/**
 * Whose approval a change needs, from the policy at the change's base (so a pull request cannot
 * drop the rule that judges it). Changes to policy.yaml always need an admin; the policy's
 * `approval.rules` add owners' or admins' approval for the events below. Pure: the caller passes
 * what the specs contain at the base and at the head.
 */
import { ownersOf } from "./policy.ts";
import type { ApprovalEvent, EnvironmentRef, Policy } from "./types.ts";

/** What approval rules need to know of one spec file at one side of the change. */
export interface SpecSnapshot extends EnvironmentRef {
  path: string;
  /** Conda package names, and pip project names as `pip:<name>`. */
  packages: string[];
  /** Channel URLs. */
  channels: string[];
}

export interface ApprovalRequirement {
  event: ApprovalEvent | "policy-change";
  /** The namespace whose owners approve; undefined for admin-only events. */
  namespace?: string;
  /** GitHub users and @org/teams, any of whom may approve; empty when the policy names nobody. */
  approvers: string[];
  count: number;
  /** Why, in words: `adds "torch", which no environment used before`. */
  reason: string;
  files: string[];
}

export interface ApprovalInput {
  policy: Policy;
  base: readonly SpecSnapshot[];
  head: readonly SpecSnapshot[];
  /** Spec paths changed between base and head (added, modified or deleted). */
  changedSpecs: readonly string[];
  policyChanged: boolean;
}

const quoteList = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(", ");

export function requiredApprovals(input: ApprovalInput): ApprovalRequirement[] {
  const { policy } = input;
  const out: ApprovalRequirement[] = [];
  if (input.policyChanged) {
    out.push({ event: "policy-change", approvers: policy.admins, count: 1, reason: "changes policy.yaml", files: ["policy.yaml"] });
  }
  const baseByPath = new Map(input.base.map((s) => [s.path, s]));
  const headByPath = new Map(input.head.map((s) => [s.path, s]));
  const usedPackages = new Set(input.base.flatMap((s) => s.packages));
  const usedChannels = new Set(input.base.flatMap((s) => s.channels));

  for (const path of [...input.changedSpecs].sort()) {
    const before = baseByPath.get(path);
    const after = headByPath.get(path);
    const spec = after ?? before;
    if (!spec) continue;
    const events: { event: ApprovalEvent; reason: string }[] = [{ event: "any-change", reason: `changes ${spec.namespace}/${spec.name}` }];
    if (!before) events.push({ event: "new-environment", reason: `adds the environment ${spec.namespace}/${spec.name}` });
    if (!after) events.push({ event: "removed-environment", reason: `removes the environment ${spec.namespace}/${spec.name}` });
    if (after) {
      const newPackages = after.packages.filter((p) => !usedPackages.has(p));
      if (newPackages.length > 0) {
        const s = newPackages.length === 1;
        events.push({ event: "new-package", reason: `adds ${quoteList(newPackages)}, which no environment used before${s ? "" : ""}` });
      }
      const newChannels = after.channels.filter((c) => !usedChannels.has(c));
      if (newChannels.length > 0) events.push({ event: "new-channel", reason: `uses the channel${newChannels.length === 1 ? "" : "s"} ${quoteList(newChannels)}, which no environment used before` });
    }
    for (const { event, reason } of events) {
      for (const rule of policy.approval.filter((r) => r.when === event)) {
        const approvers = rule.require === "owners" ? ownersOf(policy, spec.namespace) : policy.admins;
        const existing = out.find((r) => r.event === event && r.namespace === spec.namespace && r.approvers.join() === approvers.join());
        if (existing) {
          existing.count = Math.max(existing.count, rule.count);
          if (!existing.files.includes(path)) existing.files.push(path);
          if (!existing.reason.includes(reason)) existing.reason += `; ${reason}`;
        } else {
          out.push({ event, namespace: spec.namespace, approvers, count: rule.count, reason, files: [path] });
        }
      }
    }
  }
  return out;
}

export function formatApproval(a: ApprovalRequirement): string {
  const who = a.approvers.length > 0 ? a.approvers.join(", ") : "a reviewer (the policy names no owners or admins)";
  const n = a.count > 1 ? `${a.count} approvals` : "approval";
  return `${a.files.join(", ")}: ${a.reason}: needs ${n} from ${who}`;
}
