/**
 * The first schema: repositories and their commits (for first-parent resolution of `ns/name@REF`),
 * namespaces and environments, effective specifications by hash, builds with their packages and
 * published artifacts. Integer identity ids (pg returns bigint as strings); timestamps are
 * timestamptz; commit shas are lowercase SHA-1 or SHA-256 hex, checked here so prefix lookups stay sound.
 */
import type { Migration } from "./index.ts";

const sql = /* sql */ `
CREATE TABLE repositories (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE commits (
  repository_id integer NOT NULL REFERENCES repositories (id),
  sha text NOT NULL CHECK (sha ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
  parents text[] NOT NULL DEFAULT '{}',
  -- The walk of "latest earlier commit that changed the environment" follows this column only.
  first_parent text GENERATED ALWAYS AS (parents[1]) STORED,
  author_name text NOT NULL,
  author_email text NOT NULL,
  committed_at timestamptz NOT NULL,
  message text NOT NULL,
  PRIMARY KEY (repository_id, sha)
);

CREATE TABLE namespaces (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repository_id integer NOT NULL REFERENCES repositories (id),
  name text NOT NULL,
  UNIQUE (repository_id, name)
);

CREATE TABLE environments (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace_id integer NOT NULL REFERENCES namespaces (id),
  name text NOT NULL,
  current_build_id integer,
  removed_at_commit text CHECK (removed_at_commit ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (namespace_id, name)
);

CREATE TABLE specifications (
  spec_hash text PRIMARY KEY,
  effective jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE builds (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  environment_id integer NOT NULL REFERENCES environments (id),
  commit_sha text NOT NULL CHECK (commit_sha ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
  attempt integer NOT NULL CHECK (attempt >= 1),
  reason text NOT NULL CHECK (reason IN ('changed', 'all', 'named', 'forced', 'retry')),
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'building', 'succeeded', 'failed', 'canceled')),
  spec_hash text NOT NULL CONSTRAINT builds_spec_hash_fkey REFERENCES specifications (spec_hash),
  environment_hash text,
  platform text,
  prefix text,
  worker text,
  error text,
  timings jsonb NOT NULL DEFAULT '{}',
  queued_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  heartbeat_at timestamptz,
  -- Also the index for "builds of this environment at this commit".
  CONSTRAINT builds_attempt_unique UNIQUE (environment_id, commit_sha, attempt),
  -- Target of environments' composite key: the current build belongs to that environment.
  UNIQUE (environment_id, id)
);
CREATE INDEX builds_state_idx ON builds (state, queued_at, id);
CREATE INDEX builds_environment_hash_idx ON builds (environment_hash) WHERE environment_hash IS NOT NULL;

ALTER TABLE environments
  ADD CONSTRAINT environments_current_build_fkey FOREIGN KEY (id, current_build_id) REFERENCES builds (environment_id, id);

CREATE TABLE build_packages (
  build_id integer NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
  platform text NOT NULL,
  name text NOT NULL,
  version text NOT NULL,
  build text NOT NULL,
  channel text NOT NULL,
  subdir text NOT NULL,
  sha256 text NOT NULL,
  license text,
  requested boolean NOT NULL
);
CREATE INDEX build_packages_build_idx ON build_packages (build_id, platform, name);
-- "Which builds carry package X (version Y)": the catalogue and vulnerability lookups.
CREATE INDEX build_packages_name_idx ON build_packages (name, version);

CREATE TABLE artifacts (
  build_id integer NOT NULL REFERENCES builds (id),
  kind text NOT NULL,
  key text NOT NULL,
  size bigint NOT NULL CHECK (size >= 0),
  sha256 text NOT NULL,
  platform text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (build_id, key)
);
`;

const migration: Migration = { id: "0001-initial", sql };
export default migration;
