/**
 * The error hierarchy. Every failure a user can meet is one of three kinds, and the kind is the
 * exit code (DESIGN.md, "The command"): 1 the input was rejected, 2 the command was misused,
 * 3 the infrastructure failed. `code` is a stable machine-readable name (`spec.match-spec`,
 * `repodata.fetch`), `position` the file/line/column where there is one, `hint` what to do.
 */
export type ExitCode = 0 | 1 | 2 | 3;

export interface SourcePosition {
  file: string;
  /** 1-based */
  line?: number;
  /** 1-based */
  column?: number;
}

export interface ErrorDetails {
  position?: SourcePosition;
  hint?: string;
  cause?: unknown;
}

export function formatPosition(p: SourcePosition): string {
  if (p.line === undefined) return p.file;
  return p.column === undefined ? `${p.file}:${p.line}` : `${p.file}:${p.line}:${p.column}`;
}

export abstract class CondaopsError extends Error {
  abstract readonly exitCode: 1 | 2 | 3;
  readonly code: string;
  readonly position?: SourcePosition;
  readonly hint?: string;

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.position = details.position;
    this.hint = details.hint;
  }

  /** `file:line:col: message (hint)` — the line a user reads. */
  format(): string {
    const where = this.position ? `${formatPosition(this.position)}: ` : "";
    return this.hint ? `${where}${this.message}; ${this.hint}` : `${where}${this.message}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      exitCode: this.exitCode,
      ...(this.position ? { position: this.position } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

/** The input (spec, policy, lock, archive, request) was rejected. Exit 1. */
export class InputError extends CondaopsError {
  readonly exitCode = 1 as const;
}

/** The command was called wrongly (unknown flag, missing argument). Exit 2. */
export class UsageError extends CondaopsError {
  readonly exitCode = 2 as const;
}

/** Something outside the input failed: network, database, storage, a missing tool. Exit 3. */
export class InfraError extends CondaopsError {
  readonly exitCode = 3 as const;
}

export function isCondaopsError(e: unknown): e is CondaopsError {
  return e instanceof CondaopsError;
}
