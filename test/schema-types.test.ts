import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { platformNames } from "@conda-org/rattler";
import { generate } from "../scripts/generate-schema-types.ts";
import environmentSchema from "../schemas/environment.schema.json" with { type: "json" };
import policySchema from "../schemas/policy.schema.json" with { type: "json" };

test("the TypeScript types in src/schema-types/ are generated from the current schemas", async () => {
  for (const [path, expected] of Object.entries(await generate(process.cwd()))) {
    assert.equal(await readFile(path, "utf8"), expected, `${path} is stale: run npm run schemas:types`);
  }
});

test("the schemas' platform lists are rattler's target platforms", () => {
  const targets = platformNames.filter((p) => p !== "noarch" && p !== "unknown");
  assert.deepEqual(environmentSchema.properties.platforms.items.enum, targets);
  assert.deepEqual(policySchema.$defs.platforms.items.enum, targets);
});
