/**
 * Retention: a build whose prefix and non-kept artifacts were removed is marked `pruned_at`. Its
 * row, packages and kept artifacts (lock, yaml, sbom, build.json ...) stay, so `ns/name@commit`
 * still tells what it was and where its lock is, years later.
 */
import type { Migration } from "./index.ts";

const sql = /* sql */ `
ALTER TABLE builds ADD COLUMN pruned_at timestamptz;
CREATE INDEX builds_prefix_live ON builds (prefix) WHERE pruned_at IS NULL;
`;

const migration: Migration = { id: "0002-retention", sql };
export default migration;
