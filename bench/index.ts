/**
 * `npm run bench -- <area>`: speed is a feature, measured here and printed as ratios against a
 * baseline run in the same process. Never asserted in `npm test`.
 */
const AREAS: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  solve: () => import("./solve.ts"),
  install: () => import("./install.ts"),
  artifacts: () => import("./artifacts.ts"),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((a) => !(a in AREAS));
if (unknown.length > 0 || wanted.length === 0) {
  console.error(`usage: npm run bench -- <${Object.keys(AREAS).join("|")}>${unknown.length ? ` (unknown: ${unknown.join(", ")})` : ""}`);
  process.exit(2);
}
for (const area of wanted) {
  console.log(`== bench ${area}`);
  await (await (AREAS[area] as () => Promise<{ run(): Promise<void> }>)()).run();
}
