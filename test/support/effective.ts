/** A minimal EffectiveSpec for solver tests, without going through a spec file and a policy. */
import type { EffectiveSpec } from "../../src/spec/types.ts";

export function effectiveSpec(channelRoot: string, dependencies: string[], extra: Partial<EffectiveSpec> = {}): EffectiveSpec {
  return {
    namespace: "test",
    name: "env",
    channels: [`${channelRoot}/conda-forge`],
    channelAlias: channelRoot,
    dependencies,
    constraints: [],
    blocked: [],
    pip: { requirements: [], options: [] },
    variables: {},
    platforms: ["linux-64"],
    ...extra,
  };
}
